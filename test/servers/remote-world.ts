/**
 * Everything remote sources talk to in a test or a benchmark, started together: a test CA, the Blob
 * server (control API + HTTPS object host on a random 127.x.y.z:443) and the fault-injecting HTTP
 * upstream. `nextEnv` is what a `next start` needs to reach them with the real @vercel/blob client.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LeakMarkers } from '../helpers/hygiene.js';
import { startBlobServer, type BlobServer } from './blob-server.js';
import { makeTestCertificates, type TestCertificates } from './test-ca.js';
import { startUpstreamServer, type UpstreamServer } from './upstream-server.js';

export const blobDispatcherPreload = fileURLToPath(new URL('./blob-dispatcher.mjs', import.meta.url));

export interface RemoteWorld {
  certificates: TestCertificates;
  blob: BlobServer;
  upstream: UpstreamServer;
  /** Environment for a process using @vercel/blob against this world (token passed separately). */
  nextEnv: Record<string, string>;
  close(): Promise<void>;
}

/** A loopback address other than the usual ones, so parallel runs each get their own :443. */
function randomLoopback(): string {
  return `127.${randomInt(100, 250)}.${randomInt(0, 250)}.${randomInt(2, 250)}`;
}

/** `objectPort`: the Blob object host's port (see BlobServerOptions); 443 unless given. */
export async function startRemoteWorld(options: { objectPort?: number } = {}): Promise<RemoteWorld> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const objectIp = randomLoopback();
    const certificates = makeTestCertificates(['*.public.blob.vercel-storage.com', '*.private.blob.vercel-storage.com'], ['127.0.0.1', objectIp]);
    try {
      const blob = await startBlobServer({ objectIp, cert: certificates.cert, key: certificates.key, ...options });
      const upstream = await startUpstreamServer();
      const nextEnv = {
        VERCEL_BLOB_API_URL: blob.apiUrl,
        VERCEL_BLOB_RETRIES: '0',
        DOWNLOADVIEW_TEST_BLOB_IP: objectIp,
        DOWNLOADVIEW_TEST_BLOB_CA: certificates.caFile,
        // Always set, so a value left in the environment by an earlier world never applies.
        DOWNLOADVIEW_TEST_BLOB_PORT: String(blob.objectPort),
        NODE_OPTIONS: `--import ${path.resolve(blobDispatcherPreload)}`,
      };
      return {
        certificates,
        blob,
        upstream,
        nextEnv,
        async close() {
          await Promise.all([blob.close(), upstream.close()]);
          certificates.cleanup();
        },
      };
    } catch (error) {
      certificates.cleanup();
      // Not allowed to bind 443 (not root): another address will not help.
      if ((error as NodeJS.ErrnoException).code === 'EACCES') throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** Point this process's @vercel/blob client at the world (for in-process tests). */
export async function useRemoteWorldHere(world: RemoteWorld): Promise<void> {
  for (const [name, value] of Object.entries(world.nextEnv)) if (name !== 'NODE_OPTIONS') process.env[name] = value;
  await import(blobDispatcherPreload);
}

/**
 * What no client response may hold about this world: the Blob API's and object hosts' addresses,
 * the upstream's, the store token and its secret part (test/helpers/hygiene.ts scans for them).
 */
export function worldLeakMarkers(world: Pick<RemoteWorld, 'blob' | 'upstream'>): Required<Pick<LeakMarkers, 'urls' | 'secrets'>> {
  return {
    urls: ['vercel-storage', world.blob.apiUrl, new URL(world.blob.apiUrl).host, ...upstreamLeakMarkers(world.upstream)],
    secrets: [world.blob.token, world.blob.token.split('_').at(-1)!],
  };
}

/** An HTTP upstream's addresses, as a client must never see them. */
export function upstreamLeakMarkers(upstream: Pick<UpstreamServer, 'url' | 'port'>): string[] {
  return [upstream.url, `127.0.0.1:${upstream.port}`];
}
