// This library on a public Vercel Blob store. The backend comes from DOWNLOADVIEW_BACKEND: streamed
// by Next when unset (lib-blob), offloaded to nginx under `nginx` (lib-nginx-remote).
import { blob, downloadHandler } from 'next-downloadview';
import { BLOB_PREFIX, blobToken } from '../../remote';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({ source: blob({ access: 'public', token: blobToken, prefix: BLOB_PREFIX.public }) });
