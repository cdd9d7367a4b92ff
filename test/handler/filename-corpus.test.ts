/**
 * Issue 18: every hostile download name of test/corpora/filenames.ts, in process, through each way
 * a name reaches Content-Disposition: a virtual() name, a record() filename override, and a file on
 * disk named so (where Linux allows the name). Every response: header bytes 0x20-0x7E only, a
 * Content-Disposition an independent RFC 6266/8187 parser accepts, the expected download name
 * (the rule is stated in the corpus), the same headers for HEAD, no 500, nothing leaked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { downloadHandler, filesystem, record, virtual, virtualFile, type DownloadRouteHandler } from '../../src/index.js';
import { FILENAME_CASES, parseContentDisposition, type FilenameCase } from '../corpora/filenames.js';
import { assertResponseNoLeak } from '../helpers/hygiene.js';
import { call, releaseUnread } from './support.js';

afterEach(releaseUnread);

let root: string;
const onError = vi.fn();

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'dv-names-'));
  for (const entry of FILENAME_CASES) if (entry.onDisk) writeFileSync(path.join(root, entry.name), `bytes of ${entry.note}\n`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const byName = new Map(FILENAME_CASES.map((entry) => [entry.name, entry]));

const routes: Record<string, { handler: DownloadRouteHandler; params: (entry: FilenameCase) => Record<string, string | string[]> }> = {
  'virtual() name': {
    handler: downloadHandler({ source: virtual((request, { params }) => ({ name: String(params.name), body: 'bytes\n' })), onError }),
    params: (entry) => ({ name: entry.name }),
  },
  'record() filename': {
    handler: downloadHandler({
      source: record({
        find: (request, { params }) => byName.get(String(params.name)),
        file: (entry) => ({ file: virtualFile({ name: 'stored.bin', body: 'bytes\n' }), filename: entry.name }),
      }),
      onError,
    }),
    params: (entry) => ({ name: entry.name }),
  },
  'inline virtual() name': {
    handler: downloadHandler({ source: virtual((request, { params }) => ({ name: String(params.name), body: 'bytes\n' })), attachment: false, onError }),
    params: (entry) => ({ name: entry.name }),
  },
};

/** Header problems of one response: bytes outside 0x20-0x7E, an unparsable or wrong disposition. */
function dispositionProblems(response: Response, entry: FilenameCase, type: string): string[] {
  const problems: string[] = [];
  for (const [name, value] of response.headers) {
    if (/[^\x20-\x7e]/.test(value)) problems.push(`header ${name}: byte outside 0x20-0x7E in ${JSON.stringify(value)}`);
  }
  const header = response.headers.get('content-disposition');
  try {
    const disposition = parseContentDisposition(String(header));
    if (disposition.type !== type) problems.push(`type ${disposition.type}, expected ${type}`);
    if (disposition.filename !== entry.expected) problems.push(`name ${JSON.stringify(disposition.filename)}, expected ${JSON.stringify(entry.expected)}`);
    // The ASCII fallback alone must be a safe name too: no separator, no control, not empty.
    if (!/^[\x20-\x7e]+$/.test(disposition.params.filename ?? '') || /[/\\%?]/.test(disposition.params.filename ?? '')) {
      problems.push(`fallback filename ${JSON.stringify(disposition.params.filename)}`);
    }
  } catch (error) {
    problems.push(`${JSON.stringify(header)}: ${(error as Error).message}`);
  }
  return problems;
}

describe.each(Object.entries(routes))('%s', (label, { handler, params }) => {
  it(`all ${FILENAME_CASES.length} hostile names: valid headers, the expected name, HEAD alike`, async () => {
    const problems: string[] = [];
    for (const entry of FILENAME_CASES) {
      const response = await call(handler, params(entry));
      const head = await call(handler, params(entry), { method: 'HEAD' });
      const type = label.startsWith('inline') ? 'inline' : 'attachment';
      if (response.status !== 200) {
        problems.push(`${entry.note}: ${response.status}`);
        continue;
      }
      await assertResponseNoLeak(response, { paths: [root] }, entry.note);
      problems.push(...dispositionProblems(response, entry, type).map((problem) => `${entry.note}: ${problem}`));
      if (head.headers.get('content-disposition') !== response.headers.get('content-disposition')) problems.push(`${entry.note}: HEAD disposition differs`);
      expect(await response.text()).toBe('bytes\n');
    }
    expect(problems).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
  });
});

describe('filesystem() names on disk', () => {
  it('serves each name Linux allows under its expected download name, refuses backslash and dot names', async () => {
    const GET = downloadHandler({ source: filesystem({ root }), onError });
    const problems: string[] = [];
    for (const entry of FILENAME_CASES.filter((one) => one.onDisk)) {
      const response = await call(GET, { path: [entry.name] });
      await assertResponseNoLeak(response, { paths: [root] }, entry.note);
      if (entry.onDisk === 'refused') {
        if (response.status !== 404) problems.push(`${entry.note}: ${response.status}, expected 404`);
        continue;
      }
      if (response.status !== 200) {
        problems.push(`${entry.note}: ${response.status}`);
        continue;
      }
      problems.push(...dispositionProblems(response, entry, 'attachment').map((problem) => `${entry.note}: ${problem}`));
      expect(await response.text()).toBe(`bytes of ${entry.note}\n`);
    }
    expect(problems).toEqual([]);
  });
});
