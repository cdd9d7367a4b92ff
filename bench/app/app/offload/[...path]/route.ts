// The reference for the library's offload (lib-<proxy>): a hand-written offload handler for the
// proxy named by DOWNLOADVIEW_BACKEND, the variable the library reads in the same process. Per
// request it does what next-minimal-fs does short of reading (segment check, lstat, the library's
// headers) and answers an empty 200 with the proxy's own header, as the library does.
import { fileHeaders, lookUp, notFound } from '../../handwritten';
import { mediaRoot } from '../../media';

export const runtime = 'nodejs';

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** The offload header each shipped config in example-app/deploy reads, and its value for a file. */
const offloadHeader: Record<string, (file: string) => [string, string]> = {
  nginx: (file) => ['x-accel-redirect', `/_protected/media${encodePath(file.slice(mediaRoot.length))}`],
  apache: (file) => ['x-sendfile', file],
  lighttpd: (file) => ['x-sendfile', encodePath(file)],
  caddy: (file) => ['x-accel-redirect', encodePath(file)],
};

// Next removes Content-Length from every route-handler response, and its compression sends an
// empty body chunked; the proxy then drops its connection to the app (nginx, Caddy). The only
// length this process can put on an empty answer is the Content-Length hook's, which trusts the
// per-process token the library keeps on globalThis: use it too, so both routes are framed alike.
// (bench/run.ts checks both answers on Next's own port before timing; a change here shows there.)
const lengthHint = Symbol.for('next-downloadview.length-hint');

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  const found = lookUp((await params).path ?? []);
  const header = offloadHeader[process.env.DOWNLOADVIEW_BACKEND ?? ''];
  if (!found || !header) return notFound();
  const [name, value] = header(found.file);
  const headers = new Headers(fileHeaders(request, found.name, found.stats));
  headers.set(name, value);
  const state = (globalThis as { [lengthHint]?: { token: string; installed: boolean } })[lengthHint];
  if (state?.installed) headers.set('x-downloadview-length', `0;${state.token}`);
  return new Response(null, { status: 200, headers });
}
