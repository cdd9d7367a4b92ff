// The example app's Next config: the settings an app serving downloads with next-downloadview
// wants (docs/deployment.md). Copy them into your own next.config.
/** @type {import('next').NextConfig} */
const config = {
  // Behind nginx, Apache or Caddy the proxy compresses; with Next's compression off, the empty
  // offload responses carry `Content-Length: 0` and the proxy keeps its connections to the app
  // (docs/proxies.md). Downloads are never compressed either way (Cache-Control: no-transform).
  compress: false,
  // `output: 'standalone'` copies the files a route touches into the bundle: keep the media out.
  outputFileTracingExcludes: { '/files/[...path]': ['./media/**'], '/invoices/[id]': ['./media/**'] },
  // The demo's own choice, not one to copy: sql.js is loaded by Node itself, so it finds its .wasm
  // file next to its own code.
  serverExternalPackages: ['sql.js'],
};

export default config;
