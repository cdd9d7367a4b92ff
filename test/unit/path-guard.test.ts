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
});
