import { describe, expect, it } from 'vitest';
import { blockingCalls, callsFor, ioModeFor, threadpoolCalls } from '../../../src/sources/filesystem-io.js';
import { filesystem } from '../../../src/index.js';

describe('ioModeFor (what io: auto picks)', () => {
  it.each([
    ['ext4', 0xef53],
    ['xfs', 0x58465342],
    ['btrfs', 0x9123683e],
    ['zfs', 0x2fc12fc1],
    ['tmpfs', 0x01021994],
    ['overlayfs', 0x794c7630],
  ])('blocks on local %s', (_, type) => {
    expect(ioModeFor(type, 'linux')).toBe('blocking');
  });

  it.each([
    ['nfs', 0x6969],
    ['cifs', 0xff534d42],
    ['smb2', 0xfe534d42],
    ['fuse (sshfs, s3fs, virtiofs)', 0x65735546],
    ['9p', 0x01021997],
    ['ceph', 0x00c36400],
    ['lustre', 0x0bd00bd0],
    ['unknown', 0x12345678],
  ])('keeps the threadpool on %s', (_, type) => {
    expect(ioModeFor(type, 'linux')).toBe('threadpool');
  });

  it('never blocks off Linux, where f_type numbers mean something else', () => {
    expect(ioModeFor(0xef53, 'darwin')).toBe('threadpool');
    expect(ioModeFor(0xef53, 'win32')).toBe('threadpool');
  });
});

describe('callsFor', () => {
  it('honours an explicit mode without looking at the filesystem', async () => {
    expect(await callsFor('blocking', '/nonexistent')).toBe(blockingCalls);
    expect(await callsFor('threadpool', '/nonexistent')).toBe(threadpoolCalls);
  });

  it('fails for auto on a root that does not exist (the source retries later)', async () => {
    await expect(callsFor('auto', '/nonexistent/root')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('filesystem({ io })', () => {
  it('rejects an unknown mode at factory time', () => {
    expect(() => filesystem({ root: '/srv', io: 'sync' as never })).toThrow(/filesystem\.io.*auto, blocking, threadpool/);
  });
});
