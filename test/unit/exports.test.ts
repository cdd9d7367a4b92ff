import { describe, expect, it } from 'vitest';
import * as main from '../../src/index.js';
import * as proxy from '../../src/proxy.js';
import * as testing from '../../src/testing/index.js';

// A snapshot of the public runtime API: removing or renaming an export is a breaking change
// and must show up here.
describe('public exports', () => {
  it('next-downloadview', () => {
    expect(Object.keys(main).sort()).toEqual([
      'DownloadError',
      'apache',
      'backendFromEnv',
      'blob',
      'caddy',
      'canonicalPath',
      'downloadHandler',
      'filesystem',
      'lighttpd',
      'nginx',
      'none',
      'record',
      'redirect',
      'remote',
      'representationOf',
      'secretsFromEnv',
      'serveFile',
      'signedLinks',
      'virtual',
      'virtualFile',
    ]);
  });

  it('next-downloadview/proxy', () => {
    expect(Object.keys(proxy).sort()).toEqual(['DEFAULT_STRIPPED_HEADERS', 'canonicalPath', 'downloadPathGuard', 'downloadProxy', 'secretsFromEnv', 'signedLinks', 'unsafePathReason']);
  });

  it('next-downloadview/testing', () => {
    expect(Object.keys(testing).sort()).toEqual(['assertDownload', 'assertOffload', 'callRoute', 'paramsFromUrl', 'parseContentDisposition']);
  });
});
