/**
 * The storage behind the remote targets (issue #16): the project's Blob-compatible server with its
 * HTTPS object host, test CA and DNS server (test/servers/remote-world.ts), started once per bench
 * run like a real store that outlives the app, with the bench's files uploaded by the real
 * `@vercel/blob` client, public under `bench/` and private under `bench-private/`. The Next and nginx processes of the
 * remote stacks are fresh per round (bench/stacks.ts); this harness process reaches the object host
 * too (the redirect targets' byte checks follow the Location).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { put } from '@vercel/blob';
import { startDnsServer, type DnsServer } from '../test/servers/dns-server.js';
import { startRemoteWorld, useRemoteWorldHere, type RemoteWorld } from '../test/servers/remote-world.js';

export interface BenchStore {
  world: RemoteWorld;
  /** nginx's resolver for the object hosts. */
  dns: DnsServer;
  /** What a `next start` of the bench app needs to reach the store (dispatcher preload, API URL, token). */
  nextEnv: Record<string, string>;
  publicOrigin: string;
  close(): Promise<void>;
}

/** Where the uploaded files live, per access (bench/app/app/remote.ts reads the same; the store keys blobs by pathname alone). */
export const BLOB_PREFIX = { public: 'bench/', private: 'bench-private/' } as const;

/**
 * Start the store and upload `names` from `mediaRoot`, once per access in `prefixes` (by default
 * each as a public and a private blob under BLOB_PREFIX; the soak uploads private ones only, under
 * the prefix of the fixture app's blob route).
 */
export async function startBenchStore(mediaRoot: string, names: readonly string[], prefixes: Partial<Record<'public' | 'private', string>> = BLOB_PREFIX): Promise<BenchStore> {
  const world = await startRemoteWorld();
  let dns: DnsServer | undefined;
  try {
    await useRemoteWorldHere(world);
    dns = await startDnsServer('.blob.vercel-storage.com', world.blob.objectIp);
    const token = world.blob.token;
    for (const name of names) {
      const bytes = readFileSync(path.join(mediaRoot, name));
      for (const [access, prefix] of Object.entries(prefixes) as ['public' | 'private', string][]) {
        await put(`${prefix}${name}`, bytes, { access, token, contentType: 'application/octet-stream', addRandomSuffix: false, allowOverwrite: true });
      }
    }
    const publicOrigin = world.blob.objectOrigin('public');
    const running = dns;
    return {
      world,
      dns: running,
      nextEnv: { ...world.nextEnv, BENCH_BLOB_TOKEN: token, BENCH_BLOB_PUBLIC_ORIGIN: publicOrigin },
      publicOrigin,
      async close() {
        await running.close();
        await world.close();
      },
    };
  } catch (error) {
    await dns?.close();
    await world.close();
    throw error;
  }
}
