/**
 * Symlinks and the filesystem source: dotfiles reached through a symlink (issue 14, item 5), a root
 * that is a symlink switched by a deploy (item 7), a symlinked file's name (item 8), and the
 * verifyOpenedPath option.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { downloadHandler, filesystem, nginx } from '../../src/index.js';
import { bodyOf, call, releaseUnread, segments } from './support.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'dv-symlinks-'));
});
afterEach(releaseUnread);
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A fresh directory below the test's temp folder. */
function folder(name: string): string {
  const dir = path.join(base, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('dotfiles: false through a symlink inside the root (issue 14, item 5)', () => {
  let root: string;
  beforeAll(() => {
    root = folder('dotfiles');
    writeFileSync(path.join(root, '.env'), 'SECRET=1\n');
    mkdirSync(path.join(root, '.git'));
    writeFileSync(path.join(root, '.git', 'config'), '[core]\n');
    mkdirSync(path.join(root, 'docs'));
    writeFileSync(path.join(root, 'docs', 'a.txt'), 'docs\n');
    symlinkSync('.env', path.join(root, 'link'));
    symlinkSync('.git', path.join(root, 'gitdir'));
    symlinkSync(path.join(root, '.git', 'config'), path.join(root, 'config-link'));
    symlinkSync('docs', path.join(root, 'docs-link'));
  });

  it.each([['link'], ['gitdir/config'], ['config-link']])('404s %s and names no dotfile in an offload header', async (key) => {
    for (const backend of [undefined, nginx({ rules: { [root]: '/_protected' } })]) {
      const source = filesystem({ root });
      onTestFinished(() => source.closeOpenFiles());
      const response = await call(downloadHandler({ source, backend }), segments(key));
      expect(response.status).toBe(404);
      expect(response.headers.get('x-accel-redirect')).toBeNull();
    }
  });

  it('still serves a symlink whose real path has no dotfile component', async () => {
    const response = await call(downloadHandler({ source: filesystem({ root }) }), segments('docs-link/a.txt'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('docs\n');
  });

  it('serves them with dotfiles: true', async () => {
    const handler = downloadHandler({ source: filesystem({ root, dotfiles: true }) });
    expect(await (await call(handler, segments('link'))).text()).toBe('SECRET=1\n');
    expect(await (await call(handler, segments('gitdir/config'))).text()).toBe('[core]\n');
  });

  it('ignores dots in the root’s own path', async () => {
    const dotted = folder('.hidden-parent/media');
    writeFileSync(path.join(dotted, 'a.txt'), 'a');
    symlinkSync('a.txt', path.join(dotted, 'b.txt'));
    const handler = downloadHandler({ source: filesystem({ root: dotted }) });
    expect((await call(handler, segments('a.txt'))).status).toBe(200);
    expect((await call(handler, segments('b.txt'))).status).toBe(200);
  });
});

describe('a root that is a symlink switched by a deploy (issue 14, item 7)', () => {
  it.each([['blocking' as const], ['threadpool' as const]])('serves the new release at once, and still after the old one is deleted (io %s)', async (io) => {
    const deploy = folder(`deploy-${io}`);
    const releases = ['r1', 'r2'].map((release) => {
      const dir = folder(`deploy-${io}/releases/${release}`);
      writeFileSync(path.join(dir, 'a.txt'), `${release} bytes\n`);
      mkdirSync(path.join(dir, 'sub'));
      writeFileSync(path.join(dir, 'sub', 'b.txt'), `${release} nested\n`);
      // A symlinked key inside the release (resolved with realpath, checked against the real root).
      symlinkSync('sub/b.txt', path.join(dir, 'alias.txt'));
      return dir;
    });
    const current = path.join(deploy, 'current');
    symlinkSync('releases/r1', current);
    const source = filesystem({ root: current, io });
    onTestFinished(() => source.closeOpenFiles());
    const onError = vi.fn();
    const handler = downloadHandler({ source, onError });
    const text = async (key: string) => {
      const response = await call(handler, segments(key));
      return `${response.status} ${await response.text()}`;
    };
    expect(await text('a.txt')).toBe('200 r1 bytes\n');
    expect(await text('alias.txt')).toBe('200 r1 nested\n');
    // `ln -sfn releases/r2 current` done atomically, as deploy tools do.
    symlinkSync('releases/r2', `${current}.new`);
    renameSync(`${current}.new`, current);
    expect(await text('a.txt')).toBe('200 r2 bytes\n');
    expect(await text('sub/b.txt')).toBe('200 r2 nested\n');
    expect(await text('alias.txt')).toBe('200 r2 nested\n');
    rmSync(releases[0]!, { recursive: true });
    expect(await text('a.txt')).toBe('200 r2 bytes\n');
    expect(await text('alias.txt')).toBe('200 r2 nested\n');
    expect(onError).not.toHaveBeenCalled();
  });

  it('follows a symlink among the root’s parents too, and offloads below the root as configured', async () => {
    const deploy = folder('parents');
    for (const release of ['r1', 'r2']) {
      mkdirSync(path.join(deploy, release, 'media'), { recursive: true });
      writeFileSync(path.join(deploy, release, 'media', 'a.txt'), release);
    }
    symlinkSync('r1', path.join(deploy, 'current'));
    const root = path.join(deploy, 'current', 'media');
    const handler = downloadHandler({ source: filesystem({ root }) });
    expect(await (await call(handler, segments('a.txt'))).text()).toBe('r1');
    symlinkSync('r2', path.join(deploy, 'current.new'));
    renameSync(path.join(deploy, 'current.new'), path.join(deploy, 'current'));
    expect(await (await call(handler, segments('a.txt'))).text()).toBe('r2');
    const offloaded = await call(downloadHandler({ source: filesystem({ root }), backend: nginx({ rules: { [root]: '/_protected' } }) }), segments('a.txt'));
    expect(offloaded.headers.get('x-accel-redirect')).toBe('/_protected/a.txt');
  });
});

describe('a symlinked file (issue 14, item 8)', () => {
  it('is sent under the name it was asked by, with the type of that name, never the target’s', async () => {
    const root = folder('named');
    mkdirSync(path.join(root, 'blobs'));
    writeFileSync(path.join(root, 'blobs', '7f3a9c'), '%PDF-1.7\n');
    symlinkSync('blobs/7f3a9c', path.join(root, 'invoice.pdf'));
    mkdirSync(path.join(root, 'by-id'));
    symlinkSync('../blobs', path.join(root, 'by-id', 'files'));
    const handler = downloadHandler({ source: filesystem({ root }) });
    const response = await call(handler, segments('invoice.pdf'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="invoice.pdf"');
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect((await bodyOf(response)).toString()).toBe('%PDF-1.7\n');
    // Through a symlinked directory the last segment is the file's own name anyway.
    const viaDir = await call(handler, segments('by-id/files/7f3a9c'));
    expect(viaDir.headers.get('content-disposition')).toBe('attachment; filename="7f3a9c"');
    // Offloaded, the proxy still gets the real file's place (the shipped configs refuse symlinks).
    const offloaded = await call(downloadHandler({ source: filesystem({ root }), backend: nginx({ rules: { [root]: '/_p' } }) }), segments('invoice.pdf'));
    expect(offloaded.headers.get('x-accel-redirect')).toBe('/_p/blobs/7f3a9c');
    expect(offloaded.headers.get('content-disposition')).toBe('attachment; filename="invoice.pdf"');
  });
});

describe('filesystem({ verifyOpenedPath })', () => {
  const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
  const pretend = (name: string) => {
    Object.defineProperty(process, 'platform', { ...platform, value: name });
    onTestFinished(() => {
      Object.defineProperty(process, 'platform', platform);
    });
  };

  it('is refused where /proc/self/fd does not exist, naming the option', () => {
    pretend('darwin');
    expect(() => filesystem({ root: base, verifyOpenedPath: true })).toThrow(/verifyOpenedPath.*darwin/);
    expect(() => filesystem({ root: base, verifyOpenedPath: 'yes' as unknown as boolean })).toThrow(/verifyOpenedPath/);
  });

  it('is off by default elsewhere, said once with a warning (not silently); false says nothing', async () => {
    vi.resetModules();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    onTestFinished(() => warn.mockRestore());
    pretend('darwin');
    const fresh = await import('../../src/sources/filesystem.js');
    fresh.filesystem({ root: base, verifyOpenedPath: false });
    expect(warn).not.toHaveBeenCalled();
    fresh.filesystem({ root: base });
    fresh.filesystem({ root: base });
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/darwin.*symlink.*docs\/security\.md/);
  });

  it('is on by default on Linux, and serves files as usual with it', async () => {
    const root = folder('verified');
    writeFileSync(path.join(root, 'a.txt'), 'a');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    onTestFinished(() => warn.mockRestore());
    const handler = downloadHandler({ source: filesystem({ root, openFileCache: false }) });
    expect(await (await call(handler, segments('a.txt'))).text()).toBe('a');
    expect(warn).not.toHaveBeenCalled();
  });
});
