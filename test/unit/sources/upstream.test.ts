import { describe, expect, it } from 'vitest';
import { checkReply, quoteETag, type UpstreamReply } from '../../../src/sources/upstream.js';

const reply = (status: number, headers: Record<string, string>): UpstreamReply => ({ status, headers: new Headers(headers), body: null });
const expected = { size: 1000, etag: '"v1"' };

describe('checkReply', () => {
  it('accepts a 200 for the whole object and a 206 for exactly the range', () => {
    expect(() => checkReply(reply(200, { etag: '"v1"', 'content-length': '1000' }), undefined, expected)).not.toThrow();
    expect(() => checkReply(reply(206, { etag: '"v1"', 'content-range': 'bytes 10-19/1000', 'content-length': '10' }), { start: 10, end: 19 }, expected)).not.toThrow();
  });

  it('refuses another version: ETag, Content-Range total, 412 and 404 are file_changed (503)', () => {
    expect(() => checkReply(reply(200, { etag: '"v2"' }), undefined, expected)).toThrow(expect.objectContaining({ code: 'file_changed' }));
    expect(() => checkReply(reply(206, { etag: '"v1"', 'content-range': 'bytes 10-19/2000' }), { start: 10, end: 19 }, expected)).toThrow(expect.objectContaining({ code: 'file_changed' }));
    expect(() => checkReply(reply(412, {}), undefined, expected)).toThrow(expect.objectContaining({ status: 503 }));
    expect(() => checkReply(reply(404, {}), undefined, expected)).toThrow(expect.objectContaining({ status: 503 }));
    expect(() => checkReply(reply(200, { 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }), undefined, { size: 1000, lastModified: 'Wed, 02 Dec 2026 00:00:00 GMT' })).toThrow(expect.objectContaining({ code: 'file_changed' }));
  });

  it('refuses unusable replies as upstream errors (502): a coded body, a 200 for a range, 5xx, 403', () => {
    expect(() => checkReply(reply(200, { etag: '"v1"', 'content-encoding': 'gzip' }), undefined, expected)).toThrow(expect.objectContaining({ status: 502 }));
    expect(() => checkReply(reply(200, { etag: '"v1"' }), { start: 10, end: 19 }, expected)).toThrow(expect.objectContaining({ status: 502 }));
    expect(() => checkReply(reply(503, {}), undefined, expected)).toThrow(expect.objectContaining({ status: 502 }));
    expect(() => checkReply(reply(403, {}), undefined, expected)).toThrow(expect.objectContaining({ status: 502 }));
  });

  it('refuses a Content-Length other than the bytes expected (502)', () => {
    expect(() => checkReply(reply(200, { etag: '"v1"', 'content-length': '999' }), undefined, expected)).toThrow(expect.objectContaining({ code: 'upstream_error', status: 502 }));
  });
});

describe('quoteETag', () => {
  it('keeps a valid entity-tag and quotes a bare one from JSON metadata', () => {
    expect(quoteETag('"abc"')).toBe('"abc"');
    expect(quoteETag('W/"abc"')).toBe('W/"abc"');
    expect(quoteETag('abc')).toBe('"abc"');
    expect(quoteETag('a"b')).toBeUndefined();
    expect(quoteETag(null)).toBeUndefined();
  });
});
