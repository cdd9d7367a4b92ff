// The demo's remote files: one in a Vercel Blob store and one behind a plain HTTP URL. `npm run
// example` seeds both on local servers (a Blob-compatible store when BLOB_READ_WRITE_TOKEN is unset,
// and an HTTP upstream at EXAMPLE_UPSTREAM_URL); with your own token the Blob file comes from your
// store, at the pathname below.
import { blob, remote } from 'next-downloadview';

/** Keys of the demo's remote files, as the page links them (below /blob/ and /url/). */
export const BLOB_KEY = 'shared/from-blob.txt';
export const URL_KEY = 'shared/from-url.txt';

/**
 * The Blob store: the token comes from BLOB_READ_WRITE_TOKEN, as on Vercel. Private, so that the
 * redirect backend hands out short-lived presigned URLs (a public blob's URL never expires).
 */
export const store = blob({ access: 'private' });

/** The catalogue of URL files: a key the client names → the upstream path the app chose. */
const upstreamPaths: Record<string, string> = { [URL_KEY]: '/from-url.txt' };

/**
 * The URL source. The app builds every upstream URL itself from a key it knows (never from a
 * client's URL: that would be a server-side request forgery); anything else is a 404.
 */
export const upstream = remote({
  url: (request, { params }) => {
    const base = process.env.EXAMPLE_UPSTREAM_URL;
    const key = Array.isArray(params.path) ? params.path.join('/') : '';
    const upstreamPath = Object.hasOwn(upstreamPaths, key) ? upstreamPaths[key] : undefined;
    return base && upstreamPath ? new URL(upstreamPath, base) : null;
  },
});

/** The key a /url/… request names (target.key is the upstream URL, which users never see). */
export const urlKey = (request: Request): string => decodeURIComponent(new URL(request.url).pathname.replace(/^\/url\//, ''));
