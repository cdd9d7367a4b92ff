/** The leak scanner the corpus and remote suites rely on finds what it must, and passes clean answers. */
import { describe, expect, it } from 'vitest';
import { findLeaks } from '../helpers/hygiene.js';
import { repositoryRoot } from '../helpers/next-server.js';

const clean = { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'Not Found\n' };

describe('findLeaks', () => {
  it('passes a fixed error answer', () => {
    expect(findLeaks(clean, { paths: ['/srv/media'], urls: ['https://store.example'], secrets: ['tok_123'] })).toEqual([]);
  });

  it.each([
    ['a media path in the body', { body: 'ENOENT: no such file, open \'/srv/media/a.txt\'' }],
    ['the repository path', { body: `failed in ${repositoryRoot}/src/x.ts` }],
    ['a temp path in a header', { headers: { 'x-debug': '/tmp/dv-123/media/a.txt' } }],
    ['node_modules', { body: 'at node_modules/next/dist/server.js' }],
    ['a stack frame', { body: 'Error: boom\n    at serve (file:///app/dist/serve.js:10:5)' }],
    ['a source position', { body: 'handler.ts:42' }],
    ['an errno code', { body: 'EACCES' }],
    ['an upstream URL, percent-encoded too', { headers: { location: '/x?u=https%3A%2F%2Fstore.example%2Fa' } }],
    ['a token', { headers: { 'x-token': 'Bearer tok_123' } }],
    ['a secret in the status text', { statusText: 'tok_123' }],
    ['a non-ASCII path in a UTF-8 body', { body: Buffer.from('/srv/médias/a.txt') }],
  ])('finds %s', (label, change) => {
    const response = { ...clean, ...change, headers: { ...clean.headers, ...('headers' in change ? change.headers : {}) } };
    expect(findLeaks(response, { paths: ['/srv/media', '/srv/médias'], urls: ['https://store.example'], secrets: ['tok_123'] })).not.toEqual([]);
  });

  it('does not count what the client sent and gets echoed back (a redirect of its own path)', () => {
    const echoed = { status: 308, headers: { location: '/tmp/x/a.txt' } };
    expect(findLeaks(echoed, { reflected: '//tmp/x/a.txt' })).toEqual([]);
    expect(findLeaks(echoed)).not.toEqual([]);
  });

  it('skips a success body when asked, but never the headers', () => {
    expect(findLeaks({ status: 200, headers: {}, body: '/tmp/in-the-file' }, { skipBody: true })).toEqual([]);
    expect(findLeaks({ status: 200, headers: { 'x-sendfile': '/tmp/a' }, body: '' }, { skipBody: true })).not.toEqual([]);
  });
});
