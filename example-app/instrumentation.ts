// Gives streamed downloads their Content-Length back under plain `next start` (Next strips it
// from route-handler responses). Responses Next compresses, and other routes, stay as they are.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { registerContentLength } = await import('next-downloadview/instrumentation');
    registerContentLength();
  }
}
