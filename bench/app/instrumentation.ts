// The Content-Length hook, for the targets that start with BENCH_LENGTH_HOOK=1 (the offload
// targets): with it the library's empty offload responses carry `Content-Length: 0`, so the proxy
// can keep its connection to the app, as the README recommends behind a proxy.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs' && process.env.BENCH_LENGTH_HOOK === '1') {
    const { registerContentLength } = await import('next-downloadview/instrumentation');
    registerContentLength();
  }
}
