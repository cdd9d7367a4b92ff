/** Layout of a `multipart/byteranges` body (RFC 9110 §14.6): part heads, tail, exact length. */

import type { ByteRange } from '../types.js';
import { contentRange } from './range.js';

/** One body part: its head bytes, then the bytes of `range` from the representation. */
export interface MultipartPart {
  head: Uint8Array;
  range: ByteRange;
}

/** A whole `multipart/byteranges` body, described without its data bytes. */
export interface MultipartLayout {
  /** The response `Content-Type`, e.g. `multipart/byteranges; boundary=dv-…`. */
  contentType: string;
  /** Parts in the order given; send each `head` then its range's bytes. */
  parts: MultipartPart[];
  /** The close delimiter, sent after the last part. */
  tail: Uint8Array;
  /** Exact body length in bytes (heads + range bytes + tail), for `Content-Length`. */
  length: number;
}

const FALLBACK_PART_TYPE = 'application/octet-stream';
// Visible ASCII and SP/HTAB only: anything else inside a part head would break its framing.
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

/**
 * Lay out a `multipart/byteranges` body for `ranges` of a `size`-byte representation.
 * Every part head starts with CRLF (the first one too, so the body opens with an empty
 * preamble, as nginx and Apache send it): `\r\n--b\r\nContent-Type: t\r\nContent-Range: bytes s-e/size\r\n\r\n`.
 * The tail is `\r\n--b--\r\n`. A `partContentType` that is empty or holds characters unsafe in a
 * header is replaced by `application/octet-stream`. `boundary` must be a valid RFC 2046 boundary
 * without spaces, such as one from {@link createBoundary}.
 * @example multipartLayout([{ start: 0, end: 0 }, { start: 9, end: 9 }], 10, 'text/plain', createBoundary())
 */
export function multipartLayout(
  ranges: ByteRange[],
  size: number,
  partContentType: string,
  boundary: string,
): MultipartLayout {
  const encoder = new TextEncoder();
  const partType = partContentType.trim() !== '' && HEADER_SAFE.test(partContentType) ? partContentType : FALLBACK_PART_TYPE;
  // RFC 9110 §14.6: each part carries its own Content-Range, and Content-Type when the
  // representation has one. RFC 2046 §5.1.1: the CRLF before "--boundary" belongs to the delimiter.
  const parts = ranges.map((range) => ({
    head: encoder.encode(
      `\r\n--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: ${contentRange(range, size)}\r\n\r\n`,
    ),
    range: { start: range.start, end: range.end },
  }));
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  let length = tail.byteLength;
  for (const part of parts) length += part.head.byteLength + (part.range.end - part.range.start + 1);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length };
}

/**
 * A fresh random boundary: `dv-` and 32 lowercase hex digits (35 characters). It is a token, so
 * it needs no quoting in `Content-Type`, and fits RFC 2046 §5.1.1 (1 to 70 bchars, no space).
 * @example createBoundary() // 'dv-3f2b1c…'
 */
export function createBoundary(): string {
  return `dv-${crypto.randomUUID().replaceAll('-', '')}`;
}
