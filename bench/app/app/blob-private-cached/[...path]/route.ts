// lib-redirect with the metadata cache on (docs/remote.md, `metadataCache`): a hot blob costs no
// API call per download, so the redirect is a local presign, as in the hand-written reference.
import { blob, downloadHandler } from 'next-downloadview';
import { BLOB_PREFIX, blobToken } from '../../remote';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({ source: blob({ access: 'private', token: blobToken, prefix: BLOB_PREFIX.private, metadataCache: { maxAge: 60_000 } }) });
