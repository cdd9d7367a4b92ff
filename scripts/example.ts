// Started by scripts/example.sh with the installed app's directory: starts what the Blob and URL
// downloads read from (test/servers/example-world.ts: a local Blob-compatible store unless
// BLOB_READ_WRITE_TOKEN is set, and a local HTTP upstream), then `next start` in the app with their
// settings. Stops them when next exits; Ctrl-C or SIGTERM stops next first.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startExampleWorld } from '../test/servers/example-world.js';

const appDir = process.argv[2];
if (!appDir) throw new Error('usage: scripts/example.ts <installed app dir>');
const port = process.env.PORT ?? '3000';

// The demo's other files do not need these servers: if they cannot start (no openssl, say), the
// page shows the Blob and URL files as not configured and everything else works.
const remote = await startExampleWorld().catch((error: unknown) => {
  console.error(`[example] Blob and URL files off: their local servers did not start (${error instanceof Error ? error.message : String(error)})`);
  return undefined;
});
if (remote) {
  console.error(
    remote.blobStore === 'local'
      ? `[example] Blob file from a local Blob-compatible store (set BLOB_READ_WRITE_TOKEN to use yours); URL file from ${remote.upstream.url}`
      : `[example] Blob file from your store (BLOB_READ_WRITE_TOKEN); URL file from ${remote.upstream.url}`,
  );
}
const next = spawn(process.execPath, [path.join(appDir, 'node_modules/next/dist/bin/next'), 'start', '-H', '127.0.0.1', '-p', port], {
  cwd: appDir,
  env: { ...process.env, ...remote?.env },
  stdio: 'inherit',
});

// Ctrl-C reaches next too (same process group); a SIGTERM to this script is passed on.
let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signalled = true;
    if (next.exitCode === null) next.kill(signal);
  });
}
next.on('exit', (code, signal) => {
  void Promise.resolve(remote?.stop()).finally(() => {
    console.error('[example] next start and the local servers stopped');
    process.exit(signalled ? 0 : (code ?? (signal ? 1 : 0)));
  });
});
