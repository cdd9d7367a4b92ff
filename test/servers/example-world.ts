/**
 * The example app's remote files (example-app/remote-files/), served where the app's Blob and URL
 * routes find them: by `npm run example`, `npm run example:proxy` and the example's tests.
 * - Blob: with BLOB_READ_WRITE_TOKEN set, the user's own store (nothing is started or uploaded);
 *   otherwise the project's Blob-compatible server (remote-world.ts), seeded with the demo object by
 *   the real @vercel/blob client, and the app pointed at it as docs/remote.md says
 *   (VERCEL_BLOB_API_URL, the token, the dispatcher preload).
 * - URL: always a local HTTP upstream serving the demo file (EXAMPLE_UPSTREAM_URL).
 * No test framework inside (scripts import it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { startRemoteWorld, useRemoteWorldHere, type RemoteWorld } from './remote-world.js';
import { startUpstreamServer, storedObject, type UpstreamServer } from './upstream-server.js';

const remoteFiles = (name: string) => fileURLToPath(new URL(`../../example-app/remote-files/${name}`, import.meta.url));

/** The demo's remote files: the key the page links (below /blob/ or /url/) and the bytes' source. */
export const EXAMPLE_REMOTE_FILES = {
  blob: { route: 'blob', key: 'shared/from-blob.txt', file: remoteFiles('from-blob.txt') },
  url: { route: 'url', key: 'shared/from-url.txt', file: remoteFiles('from-url.txt'), upstreamPath: '/from-url.txt' },
} as const;

const TEXT = 'text/plain; charset=utf-8';

export interface ExampleWorld {
  /** Where the Blob file comes from: the local server, or the store of the user's token. */
  blobStore: 'local' | 'token';
  /** The local Blob server and upstream (no `blob` side when the user's token is set). */
  world?: RemoteWorld;
  upstream: UpstreamServer;
  /** Environment for the example's `next start`. */
  env: Record<string, string>;
  /** nginx template values for its remote location: a resolver and CA that reach the Blob store. */
  nginxValues: Record<string, string>;
  stop(): Promise<void>;
}

/** The first nameserver of /etc/resolv.conf (nginx's resolver for a real store), else systemd's. */
function systemResolver(): string {
  const conf = (() => {
    try {
      return readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      return '';
    }
  })();
  const found = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(conf);
  return found?.[1] ?? '127.0.0.53';
}

/**
 * The local store on port 443 (where nginx, like every client, reaches a Blob host); where that
 * is not allowed (not root), on a free port that Node clients reach through the dispatcher preload.
 */
async function startLocalStore(objectPort: number | undefined): Promise<RemoteWorld> {
  if (objectPort !== undefined) return startRemoteWorld({ objectPort });
  try {
    return await startRemoteWorld();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    console.error('[example] may not bind port 443: the local Blob store takes another port (the app reaches it; nginx cannot, so behind nginx the Blob file fails)');
    return startRemoteWorld({ objectPort: 0 });
  }
}

/**
 * Start what the example's remote files need. `nginx: true` also starts a DNS server so a real
 * nginx resolves the local store's object hosts (see nginxValues). `objectPort` forces the local
 * store's port (default: 443, else a free one).
 */
export async function startExampleWorld(options: { nginx?: boolean; objectPort?: number } = {}): Promise<ExampleWorld> {
  const blobBytes = readFileSync(EXAMPLE_REMOTE_FILES.blob.file);
  const urlBytes = readFileSync(EXAMPLE_REMOTE_FILES.url.file);
  const ownToken = process.env.BLOB_READ_WRITE_TOKEN;
  let world: RemoteWorld | undefined;
  let dns: DnsServer | undefined;
  let upstream: UpstreamServer;
  const savedEnv = new Map<string, string | undefined>();
  const env: Record<string, string> = {};
  const nginxValues: Record<string, string> = { RESOLVER: systemResolver(), CA_FILE: '/etc/ssl/certs/ca-certificates.crt' };
  if (ownToken) {
    upstream = await startUpstreamServer();
  } else {
    world = await startLocalStore(options.objectPort);
    upstream = world.upstream;
    try {
      // Seed with the real client, through the same settings the app gets (undone by stop(): the
      // e2e files share one process, and a later world must not inherit this one's settings).
      for (const name of Object.keys(world.nextEnv)) savedEnv.set(name, process.env[name]);
      await useRemoteWorldHere(world);
      const { put } = await import('@vercel/blob');
      await put(EXAMPLE_REMOTE_FILES.blob.key, blobBytes, { access: 'private', token: world.blob.token, contentType: TEXT });
      if (options.nginx) {
        dns = await startDnsServer('.blob.vercel-storage.com', world.blob.objectIp);
        Object.assign(nginxValues, { RESOLVER: `127.0.0.1:${dns.port}`, CA_FILE: world.certificates.caFile });
      }
    } catch (error) {
      await world.close();
      throw error;
    }
    Object.assign(env, world.nextEnv, { BLOB_READ_WRITE_TOKEN: world.blob.token });
  }
  upstream.routes.set(EXAMPLE_REMOTE_FILES.url.upstreamPath, { object: storedObject(urlBytes, TEXT) });
  env.EXAMPLE_UPSTREAM_URL = upstream.url;
  return {
    blobStore: ownToken ? 'token' : 'local',
    ...(world ? { world } : {}),
    upstream,
    env,
    nginxValues,
    async stop() {
      await dns?.close();
      await (world ? world.close() : upstream.close());
      for (const [name, value] of savedEnv) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}
