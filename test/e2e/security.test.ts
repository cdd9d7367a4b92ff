/**
 * Issue 14 through a real `next start`: a stalled upstream behind a virtual body is closed when
 * the client leaves (item 6); a root given as a symlink is followed when a deploy switches it
 * (item 7); symlinked files keep their requested name (item 8); a dotfile behind a symlink stays
 * hidden (item 5).
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, fixtureApp } from '../helpers/fixture.js';
import { rawGet } from '../helpers/http.js';
import { createMediaRoot } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { startStalledUpstream, type StalledUpstream } from '../helpers/stalled-upstream.js';

let media: ReturnType<typeof createMediaRoot>;
let deploy: string;
let upstream: StalledUpstream;
let server: RunningNext;

beforeAll(async () => {
  media = createMediaRoot('dv-security-');
  // MEDIA_ROOT is `<tmp>/current`, a symlink to a release, switched by the test like a deploy.
  deploy = path.dirname(media.root);
  for (const release of ['r1', 'r2']) {
    const dir = path.join(deploy, 'releases', release);
    mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    writeFileSync(path.join(dir, 'a.txt'), `${release} bytes\n`);
    writeFileSync(path.join(dir, 'blobs', '7f3a9c'), `%PDF-1.7 ${release}\n`);
    symlinkSync('blobs/7f3a9c', path.join(dir, 'invoice.pdf'));
    writeFileSync(path.join(dir, '.env'), 'SECRET=1\n');
    symlinkSync('.env', path.join(dir, 'env-link'));
  }
  symlinkSync('releases/r1', path.join(deploy, 'current'));
  upstream = await startStalledUpstream({ firstBytes: 64 * 1024 });
  await ensureBuilt(fixtureApp);
  server = await startNext(fixtureApp, { MEDIA_ROOT: path.join(deploy, 'current'), STALLED_UPSTREAM_URL: upstream.url });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
  media?.cleanup();
});

describe('a stalled upstream behind a virtual body (item 6)', () => {
  it('is closed within seconds of the client leaving mid-download', async () => {
    await leaveMidDownload('/stalled');
    await upstream.waitForClosed(1, 5000);
  });

  it('stays open when Next\'s fetch dedupe keeps a tee of the response (fetch without a signal): documented', async () => {
    const before = upstream.closed;
    await leaveMidDownload('/stalled?dedupe=1');
    await expect(upstream.waitForClosed(before + 1, 3000)).rejects.toThrow(/closed within/);
  });

  /** GET `target` raw, read until the upstream has stalled, then drop the connection. */
  async function leaveMidDownload(target: string): Promise<void> {
    const closedBefore = upstream.closed;
    const socket = connect(server.port, '127.0.0.1');
    let received = 0;
    const stalled = new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Nothing more for half a second after the first bytes: the upstream has stalled.
        clearTimeout(timer);
        timer = setTimeout(resolve, 500);
      });
      socket.on('error', reject);
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    await stalled;
    expect(received).toBeGreaterThan(64 * 1024);
    expect(upstream.closed).toBe(closedBefore);
    socket.destroy();
  }
});

describe('a root given as a symlink (item 7)', () => {
  it('serves the new release right after the switch, and still after the old one is deleted', async () => {
    const get = async (key: string) => {
      const response = await rawGet(server.port, `/files/${key}`);
      return `${response.status} ${response.body.toString()}`;
    };
    expect(await get('a.txt')).toBe('200 r1 bytes\n');
    symlinkSync('releases/r2', path.join(deploy, 'current.new'));
    renameSync(path.join(deploy, 'current.new'), path.join(deploy, 'current'));
    expect(await get('a.txt')).toBe('200 r2 bytes\n');
    rmSync(path.join(deploy, 'releases', 'r1'), { recursive: true });
    expect(await get('a.txt')).toBe('200 r2 bytes\n');
    expect(await get('invoice.pdf')).toBe('200 %PDF-1.7 r2\n');
  });
});

describe('symlinks inside the root', () => {
  it('sends a symlinked file under its requested name and type (item 8)', async () => {
    const response = await rawGet(server.port, '/files/invoice.pdf');
    expect(response.status).toBe(200);
    expect(response.headers['content-disposition']).toBe('attachment; filename="invoice.pdf"');
    expect(response.headers['content-type']).toBe('application/pdf');
  });

  it('keeps a dotfile behind a symlink hidden (item 5)', async () => {
    const response = await rawGet(server.port, '/files/env-link');
    expect(response.status).toBe(404);
    expect(response.body.toString()).not.toContain('SECRET');
  });
});
