// The remote targets' store (bench/stacks.ts starts it once per run: test/servers/remote-world.ts):
// the same bytes as the files in the media root, public under `bench/` and private under
// `bench-private/`. The token is the store's, passed explicitly as the tests do.
export const blobToken = process.env.BENCH_BLOB_TOKEN;
/** `https://<store>.public.blob.vercel-storage.com`, where the public objects are. */
export const publicOrigin = process.env.BENCH_BLOB_PUBLIC_ORIGIN ?? 'https://nonexistent.invalid';
export const BLOB_PREFIX = { public: 'bench/', private: 'bench-private/' } as const;

/** A pathname as a URL path, segment by segment (as the library does). */
export const encodePathname = (pathname: string): string => pathname.split('/').map(encodeURIComponent).join('/');

/** `[...path]` segments as a blob pathname below the prefix (unsafe segments refused: a naive handler, but not an open one). */
export function blobPathname(access: 'public' | 'private', segments: string[] = []): string | undefined {
  if (segments.length === 0 || segments.some((segment) => segment === '' || segment.startsWith('.') || segment.includes('\0'))) return undefined;
  return BLOB_PREFIX[access] + segments.join('/');
}
