import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureLibraryBuilt } from '../helpers/fixture.js';
import { repositoryRoot } from '../helpers/next-server.js';

beforeAll(() => ensureLibraryBuilt(), 120_000);

describe('next-downloadview/testing under node:test', () => {
  it('passes its tests with the built package, imported by name', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', path.join(repositoryRoot, 'test/node/testing.test.mjs')], { cwd: repositoryRoot });
    expect(stdout).toMatch(/^# pass 4$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  }, 60_000);
});
