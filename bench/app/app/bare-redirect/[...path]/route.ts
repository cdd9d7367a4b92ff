// The reference for the redirect backend (lib-redirect): a bare hand-written redirect answering
// what the library answers, the same Location (a URL presigned with @vercel/blob for the request's
// method, `download=1`) and the same headers, after the same work: one `head()` of the blob (so a
// missing blob is a 404 here too, not a redirect to nothing), as the library's blob() source does
// without `metadataCache`. Presigned as the library does: one store-wide delegation per process,
// then a local signature per request.
import { BlobNotFoundError, head, issueSignedToken, presignUrl } from '@vercel/blob';
import { blobPathname, blobToken, encodePathname } from '../../remote';

export const runtime = 'nodejs';

const EXPIRES_IN_MS = 300_000;
let delegation: ReturnType<typeof issueSignedToken> | undefined;
const lengthHint = Symbol.for('next-downloadview.length-hint');

async function location(pathname: string, method: 'GET' | 'HEAD'): Promise<string> {
  delegation ??= issueSignedToken({ token: blobToken, operations: ['get', 'head'], validUntil: Date.now() + 3_600_000 });
  const { presignedUrl } = await presignUrl(await delegation, { operation: method === 'HEAD' ? 'head' : 'get', pathname, access: 'private', validUntil: Date.now() + EXPIRES_IN_MS });
  const url = new URL(presignedUrl);
  const query = new URLSearchParams([...url.searchParams].filter(([name]) => name.startsWith('vercel-blob-')));
  query.set('download', '1');
  return `${url.origin}/${encodePathname(pathname)}?${query}`;
}

async function answer(request: Request, { params }: { params: Promise<{ path?: string[] }> }): Promise<Response> {
  const pathname = blobPathname('private', (await params).path);
  if (!pathname) return new Response(null, { status: 404 });
  try {
    await head(pathname, { token: blobToken });
  } catch (error) {
    if (error instanceof BlobNotFoundError) return new Response(null, { status: 404 });
    throw error;
  }
  const headers = new Headers({ location: await location(pathname, request.method === 'HEAD' ? 'HEAD' : 'GET'), 'cache-control': 'private, no-store', 'referrer-policy': 'no-referrer' });
  // The library's empty answers carry the Content-Length hook's hint when the hook is installed.
  const state = (globalThis as { [lengthHint]?: { token: string; installed: boolean } })[lengthHint];
  if (state?.installed) headers.set('x-downloadview-length', `0;${state.token}`);
  return new Response(null, { status: 302, headers });
}

export { answer as GET, answer as HEAD };
