/**
 * `next-downloadview/testing` is runner-agnostic: test/node/testing.test.mjs runs under `node --test`
 * inside an app that installed the packed tarball, importing the package by name as a user would.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/fixture.js';
import { repositoryRoot } from '../helpers/next-server.js';

const consumerApp = path.join(repositoryRoot, 'test/fixtures/consumer');
let testFile: string;
let installed: string;

beforeAll(async () => {
  installed = await ensureBuilt(consumerApp);
  mkdirSync(path.join(installed, 'node-test'), { recursive: true });
  testFile = path.join(installed, 'node-test/testing.test.mjs');
  copyFileSync(path.join(repositoryRoot, 'test/node/testing.test.mjs'), testFile);
});

describe('next-downloadview/testing under node:test', () => {
  it('passes its tests with the installed package, imported by name', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', testFile], { cwd: installed });
    expect(stdout).toMatch(/^# pass 4$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  }, 60_000);
});
