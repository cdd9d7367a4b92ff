import { describe, expect, it } from 'vitest';
import { createBoundary, multipartLayout } from '../../../src/http/multipart.js';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Assemble the whole body from a layout and the representation's bytes. */
function assemble(layout: ReturnType<typeof multipartLayout>, data: string): string {
  let body = '';
  for (const part of layout.parts) body += decode(part.head) + data.slice(part.range.start, part.range.end + 1);
  return body + decode(layout.tail);
}

describe('multipartLayout', () => {
  describe('with two ranges', () => {
    const layout = multipartLayout(
      [
        { start: 0, end: 4 },
        { start: 20, end: 25 },
      ],
      26,
      'text/plain; charset=utf-8',
      'BOUNDARY',
    );

    it('names the boundary in the content type', () => {
      expect(layout.contentType).toBe('multipart/byteranges; boundary=BOUNDARY');
    });

    it('writes each part head with a leading CRLF, Content-Type and Content-Range', () => {
      expect(layout.parts.map((part) => decode(part.head))).toEqual([
        '\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/26\r\n\r\n',
        '\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 20-25/26\r\n\r\n',
      ]);
    });

    it('keeps the ranges in the order given', () => {
      expect(layout.parts.map((part) => part.range)).toEqual([
        { start: 0, end: 4 },
        { start: 20, end: 25 },
      ]);
    });

    it('closes with the close delimiter', () => {
      expect(decode(layout.tail)).toBe('\r\n--BOUNDARY--\r\n');
    });

    it('assembles the exact body', () => {
      expect(assemble(layout, 'abcdefghijklmnopqrstuvwxyz')).toBe(
        '\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/26\r\n\r\nabcde' +
          '\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 20-25/26\r\n\r\nuvwxyz' +
          '\r\n--BOUNDARY--\r\n',
      );
    });

    it('gives the exact length', () => {
      expect(layout.length).toBe(86 + 5 + 88 + 6 + 16);
      expect(layout.length).toBe(new TextEncoder().encode(assemble(layout, 'abcdefghijklmnopqrstuvwxyz')).byteLength);
    });
  });

  describe('with the RFC 9110 §14.6 example shape', () => {
    const layout = multipartLayout(
      [
        { start: 500, end: 999 },
        { start: 7000, end: 7999 },
      ],
      8000,
      'application/pdf',
      'THIS_STRING_SEPARATES',
    );

    it('writes the example part heads', () => {
      expect(decode(layout.parts[0]!.head)).toBe(
        '\r\n--THIS_STRING_SEPARATES\r\nContent-Type: application/pdf\r\nContent-Range: bytes 500-999/8000\r\n\r\n',
      );
      expect(decode(layout.parts[1]!.head)).toBe(
        '\r\n--THIS_STRING_SEPARATES\r\nContent-Type: application/pdf\r\nContent-Range: bytes 7000-7999/8000\r\n\r\n',
      );
    });

    it('counts heads, 1500 data bytes and the tail', () => {
      const heads = layout.parts.reduce((sum, part) => sum + part.head.byteLength, 0);
      expect(heads).toBe(95 + 97);
      expect(layout.tail.byteLength).toBe(29);
      expect(layout.length).toBe(95 + 97 + 1500 + 29);
    });
  });

  describe('with a single range', () => {
    it('still lays out one part and the tail', () => {
      const layout = multipartLayout([{ start: 0, end: 0 }], 1, 'application/octet-stream', 'b');
      expect(layout.parts).toHaveLength(1);
      expect(assemble(layout, 'x')).toBe(
        '\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--b--\r\n',
      );
      expect(layout.length).toBe(assemble(layout, 'x').length);
    });
  });

  describe('with no ranges', () => {
    it('is just the tail', () => {
      const layout = multipartLayout([], 10, 'text/plain', 'b');
      expect(layout.parts).toEqual([]);
      expect(layout.length).toBe(9);
    });
  });

  describe('with a large representation', () => {
    it('adds range lengths beyond 4 GiB exactly', () => {
      const layout = multipartLayout([{ start: 0, end: 2 ** 33 - 1 }], 2 ** 34, 'video/mp4', 'b');
      const head = '\r\n--b\r\nContent-Type: video/mp4\r\nContent-Range: bytes 0-8589934591/17179869184\r\n\r\n';
      expect(decode(layout.parts[0]!.head)).toBe(head);
      expect(layout.length).toBe(head.length + 2 ** 33 + '\r\n--b--\r\n'.length);
    });
  });

  describe('with an unsafe part content type', () => {
    it.each(['text/plain\r\nX-Injected: 1', 'text/plain\n', 'text/\u0000plain', 'text/plain; name="名前"', '', '   '])(
      'falls back to application/octet-stream for %j',
      (type) => {
        const layout = multipartLayout([{ start: 0, end: 0 }], 1, type, 'b');
        expect(decode(layout.parts[0]!.head)).toBe(
          '\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-0/1\r\n\r\n',
        );
      },
    );
  });

  describe('with the ranges array', () => {
    it('copies the ranges instead of aliasing them', () => {
      const ranges = [{ start: 1, end: 2 }];
      const layout = multipartLayout(ranges, 3, 'text/plain', 'b');
      ranges[0]!.end = 99;
      expect(layout.parts[0]!.range).toEqual({ start: 1, end: 2 });
    });
  });

  describe('with Headers', () => {
    it('gives a content type Headers accepts unchanged', () => {
      const boundary = createBoundary();
      const { contentType } = multipartLayout([{ start: 0, end: 0 }], 1, 'text/plain', boundary);
      expect(new Headers({ 'content-type': contentType }).get('content-type')).toBe(
        `multipart/byteranges; boundary=${boundary}`,
      );
    });
  });
});

describe('createBoundary', () => {
  it('is dv- and 32 lowercase hex digits', () => {
    expect(createBoundary()).toMatch(/^dv-[0-9a-f]{32}$/);
  });

  it('fits RFC 2046 (1 to 70 characters, no spaces) and is a token', () => {
    const boundary = createBoundary();
    expect(boundary.length).toBe(35);
    expect(boundary).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,70}$/);
  });

  it('differs between calls', () => {
    const boundaries = new Set(Array.from({ length: 100 }, () => createBoundary()));
    expect(boundaries.size).toBe(100);
  });
});
