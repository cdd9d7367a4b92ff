import { describe, expect, it } from 'vitest';
import { contentTypeFor, isValidMediaType } from '../../../src/http/content-type.js';

describe('contentTypeFor', () => {
  describe('from the file name', () => {
    it.each([
      ['report.pdf', 'application/pdf'],
      ['photo.png', 'image/png'],
      ['movie.mp4', 'video/mp4'],
      ['data.json', 'application/json'],
      ['feed.xml', 'application/xml'],
      ['archive.tar.gz', 'application/gzip'],
      ['bundle.zip', 'application/zip'],
      ['drawing.svg', 'image/svg+xml'],
      ['REPORT.PDF', 'application/pdf'],
      ['reports/2026/q3.pdf', 'application/pdf'],
      ['C:\\files\\q3.pdf', 'application/pdf'],
      ['名前.pdf', 'application/pdf'],
    ])('%j is %s', (name, type) => {
      expect(contentTypeFor(name)).toBe(type);
    });
  });

  describe('with a text type from the file name', () => {
    it.each([
      ['notes.txt', 'text/plain; charset=utf-8'],
      ['page.html', 'text/html; charset=utf-8'],
      ['page.HTML', 'text/html; charset=utf-8'],
      ['table.csv', 'text/csv; charset=utf-8'],
      ['readme.md', 'text/markdown; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['app.js', 'text/javascript; charset=utf-8'],
      ['cal.ics', 'text/calendar; charset=utf-8'],
    ])('%j is %s', (name, type) => {
      expect(contentTypeFor(name)).toBe(type);
    });
  });

  describe('when the name gives no type', () => {
    it.each([
      'README',
      'html',
      'txt',
      'pdf',
      'dir.d/Makefile',
      'dir.txt/binary',
      'file.unknownext',
      'file.',
      '',
      'a\\b.d\\noext',
    ])('%j is application/octet-stream', (name) => {
      expect(contentTypeFor(name)).toBe('application/octet-stream');
    });
  });

  describe('with a valid override', () => {
    it.each([
      ['application/pdf', 'application/pdf'],
      ['application/vnd.ms-excel', 'application/vnd.ms-excel'],
      ['image/svg+xml', 'image/svg+xml'],
      ['application/json; charset=utf-8', 'application/json; charset=utf-8'],
      ['  application/pdf  ', 'application/pdf'],
      ['TEXT/CSV', 'TEXT/CSV; charset=utf-8'],
      ['text/plain', 'text/plain; charset=utf-8'],
      ['text/plain; charset=iso-8859-1', 'text/plain; charset=iso-8859-1'],
      ['text/plain;charset="us-ascii"', 'text/plain;charset="us-ascii"'],
      ['text/plain; CHARSET=utf-16', 'text/plain; CHARSET=utf-16'],
      ['text/plain; format=flowed', 'text/plain; format=flowed; charset=utf-8'],
      ['text/plain; x="a; charset=b"', 'text/plain; x="a; charset=b"; charset=utf-8'],
      ['text/plain; xcharset=b', 'text/plain; xcharset=b; charset=utf-8'],
    ])('%j gives %j', (override, type) => {
      expect(contentTypeFor('file.bin', override)).toBe(type);
    });

    it('wins over the file name', () => {
      expect(contentTypeFor('page.html', 'text/plain')).toBe('text/plain; charset=utf-8');
      expect(contentTypeFor('notes.txt', 'application/octet-stream')).toBe('application/octet-stream');
    });
  });

  describe('with an invalid override', () => {
    it.each([
      '',
      'pdf',
      'text',
      'text/',
      '/plain',
      'text/plain/extra',
      'text /plain',
      'text/plain\r\nX-Injected: 1',
      'text/plain\n',
      'text/plain\u0000',
      'text/plain; charset',
      'text/plain; charset=',
      'text/plain; charset="utf-8',
      'text/plain; =utf-8',
      'text/plain; a=b c',
      'tëxt/plain',
      'text/plain; name="名前"',
      'text/plain, text/html',
    ])('ignores %j and uses the name', (override) => {
      expect(contentTypeFor('report.pdf', override)).toBe('application/pdf');
    });
  });

  describe('with Headers', () => {
    it.each([
      ['notes.txt', undefined],
      ['x.bin', 'text/plain; x="quoted \\" value"'],
      ['page.html', 'text/plain\r\nbad'],
    ])('%j with %j round-trips unchanged', (name, override) => {
      const value = contentTypeFor(name, override);
      expect(new Headers({ 'content-type': value }).get('content-type')).toBe(value);
    });
  });
});

describe('isValidMediaType', () => {
  describe('with valid media types (RFC 9110 §8.3.1)', () => {
    it.each([
      'text/html',
      'text/html;charset=utf-8',
      'text/html; charset=utf-8',
      'Text/HTML;Charset="utf-8"',
      'text/html ; charset=utf-8',
      'text/html;\tcharset=utf-8',
      'text/html;',
      'text/html; ;charset=utf-8',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
      'multipart/form-data; boundary=----abc',
      'text/plain; x="a\\"b"',
      'text/plain; x=""',
      "application/x-my!#$%&'*+.^_`|~type",
      ' text/plain ',
    ])('%j', (value) => {
      expect(isValidMediaType(value)).toBe(true);
    });
  });

  describe('with invalid values', () => {
    it.each([
      '',
      ' ',
      'text',
      'text/',
      '/html',
      'text//html',
      'text/html/x',
      'text /html',
      'text/ html',
      'te(xt/html',
      'text/html; charset',
      'text/html; charset =utf-8',
      'text/html; charset= utf-8',
      'text/html; charset="utf-8',
      'text/html; a=b=c',
      'text/html\r\n',
      'text/html\rx',
      'text/html\nx',
      'text/html\u0000',
      'text/html; x="\r\n"',
      'text/html; x="\u00e9"',
      'text/html, text/plain',
      '*/*; q=0.5, text/html',
      'text/html\u000b',
    ])('%j', (value) => {
      expect(isValidMediaType(value)).toBe(false);
    });
  });
});
