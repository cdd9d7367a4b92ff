// This library on a private Vercel Blob store: under DOWNLOADVIEW_BACKEND=redirect (lib-redirect),
// a 302 to a URL presigned for the request's method, after the blob's metadata (one API call).
import { blob, downloadHandler } from 'next-downloadview';
import { BLOB_PREFIX, blobToken } from '../../remote';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({ source: blob({ access: 'private', token: blobToken, prefix: BLOB_PREFIX.private }) });
