// The testing helpers under node:test, imported by package name as a user would (no vitest here):
// proof that `next-downloadview/testing` is runner-agnostic. Run by test/e2e/node-test.test.ts inside an installed app.
import assert, { AssertionError } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { downloadHandler, filesystem, nginx } from 'next-downloadview';
import { assertDownload, assertOffload, callRoute } from 'next-downloadview/testing';

/** @type {string} */
let root = '';
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'dv-node-test-'));
  writeFileSync(path.join(root, 'Bericht für März.txt'), 'Grüße\n');
});
after(() => rmSync(root, { recursive: true, force: true }));

const route = '/files/[...path]';

test('a streamed download: name, type, bytes', async () => {
  const GET = downloadHandler({ source: filesystem({ root }) });
  const response = await callRoute(GET, '/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt', { route });
  const body = await assertDownload(response, { filename: 'Bericht für März.txt', disposition: 'attachment', contentType: 'text/plain', body: 'Grüße\n' });
  assert.equal(body.length, 8);
});

test('a ranged request', async () => {
  const GET = downloadHandler({ source: filesystem({ root }) });
  await assertDownload(await callRoute(GET, '/files/Bericht für März.txt', { route, headers: { range: 'bytes=0-3' } }), { status: 206, body: 'Grü' });
});

test('an offload to nginx', async () => {
  const GET = downloadHandler({ source: filesystem({ root }), backend: nginx({ rules: { [root]: '/_protected/media' }, limitRate: 1000 }) });
  await assertOffload(await callRoute(GET, '/files/Bericht für März.txt', { route }), { backend: 'nginx', location: '/_protected/media/Bericht für März.txt', accel: { limitRate: 1000 } });
});

test('a difference is an AssertionError that says what differed', async () => {
  const GET = downloadHandler({ source: filesystem({ root }), authorize: () => false });
  await assert.rejects(assertDownload(await callRoute(GET, '/files/Bericht für März.txt', { route })), (error) => {
    assert.ok(error instanceof AssertionError);
    assert.match(error.message, /status: expected 200, got 403 \(body "Forbidden\\n"\)/);
    return true;
  });
});
