import { describe, expect, it } from 'vitest';
import { downloadPathGuard, unsafePathReason } from '../../src/path-guard.js';

describe('unsafePathReason', () => {
  it.each([
    ['/files/%c0%af', 'malformed percent-encoding'],
    ['/files/%', 'malformed percent-encoding'],
    ['/files/%zz', 'malformed percent-encoding'],
    ['/files/a%2Fb', 'encoded path separator'],
    ['/files/a%5cb', 'encoded path separator'],
    ['/files/a%00b', 'NUL byte'],
    ['/files/%2e%2e/x', 'dot-segment'],
    ['/files/%2E/x', 'dot-segment'],
  ])('%s → %s', (path, reason) => {
    expect(unsafePathReason(path)).toBe(reason);
  });

  it.each(['/files/a.txt', '/files/r%C3%A9sum%C3%A9.pdf', '/files/100%25.txt', '/files/..a/b..'])('lets %s through', (path) => {
    expect(unsafePathReason(path)).toBeUndefined();
  });
});

describe('downloadPathGuard', () => {
  it('answers 400 for unsafe paths under its prefixes and passes everything else', async () => {
    const guard = downloadPathGuard({ prefixes: ['/files/'] });
    const refused = guard(new Request('http://localhost/files/%c0%af'));
    expect(refused?.status).toBe(400);
    expect(await refused?.text()).toBe('Bad Request\n');
    expect(guard(new Request('http://localhost/other/%c0%af'))).toBeUndefined();
    expect(guard(new Request('http://localhost/files/ok.txt'))).toBeUndefined();
  });

  it('matches prefixes on segment boundaries, like offload rules', () => {
    for (const prefixes of [['/files'], ['/files/'], ['/files//']]) {
      const guard = downloadPathGuard({ prefixes });
      expect(guard(new Request('http://localhost/files/%c0%af'))?.status, String(prefixes)).toBe(400);
      expect(guard(new Request('http://localhost/files'))).toBeUndefined();
      // A sibling sharing the string prefix is another route: not guarded.
      expect(guard(new Request('http://localhost/filesystem/%c0%af')), String(prefixes)).toBeUndefined();
      expect(guard(new Request('http://localhost/files.bak/%c0%af'))).toBeUndefined();
    }
    expect(downloadPathGuard({ prefixes: ['/'] })(new Request('http://localhost/anything/%c0%af'))?.status).toBe(400);
    expect(downloadPathGuard()(new Request('http://localhost/anything/%c0%af'))?.status).toBe(400);
  });

  it('sees dot-segments already resolved by URL parsing, as Next routes them', () => {
    const guard = downloadPathGuard({ prefixes: ['/files/'] });
    const request = new Request('http://localhost/files/a/%2E%2e/b.txt');
    expect(new URL(request.url).pathname).toBe('/files/b.txt');
    expect(guard(request)).toBeUndefined();
    // Resolved above the prefix: no longer a download path at all.
    expect(guard(new Request('http://localhost/files/%2e%2e/etc/passwd'))).toBeUndefined();
    expect(new URL('http://localhost/files/%2e%2e/etc/passwd').pathname).toBe('/etc/passwd');
  });
});
