/**
 * The tarball `npm pack` makes from this checkout (its `prepare` script builds dist/) is the
 * library a user installs: exactly the built modules the exports map reaches, their type
 * declarations, README, LICENSE and package.json; publint (strict) and arethetypeswrong
 * (ESM-only profile) find nothing in it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packLibrary, repositoryRoot, type PackedLibrary } from '../../scripts/consumer-app.mjs';

const run = promisify(execFile);
let packed: PackedLibrary;
let unpacked: string;

beforeAll(async () => {
  packed = await packLibrary();
  unpacked = mkdtempSync(path.join(tmpdir(), 'dv-unpacked-'));
  await run('tar', ['-xzf', packed.tarball, '-C', unpacked, '--strip-components=1']);
}, 600_000);

afterAll(() => {
  if (unpacked) rmSync(unpacked, { recursive: true, force: true });
});

/** Module paths under src/ without extension (`proxies/nginx`). */
function sourceModules(dir = path.join(repositoryRoot, 'src'), prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceModules(full, `${prefix}${name}/`);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [`${prefix}${name.slice(0, -3)}`] : [];
  });
}

/** Relative specifiers a shipped module imports or re-exports (static and dynamic). */
function relativeImports(file: string): string[] {
  const source = readFileSync(path.join(unpacked, file), 'utf8');
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => path.posix.join(path.posix.dirname(file), specifier));
}

/** Every `types`/`default` target of the exports map, plus main and types. */
function entryTargets(manifest: PackedLibrary['manifest']): string[] {
  const targets = [manifest.main, manifest.types];
  for (const value of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) {
    targets.push(...(typeof value === 'string' ? [value] : Object.values(value)));
  }
  return targets.map((target: string) => path.posix.normalize(target));
}

describe('npm pack', () => {
  it('ships dist/ built from every module in src/, README, LICENSE and package.json, nothing else', () => {
    const expected = ['LICENSE', 'README.md', 'package.json', ...sourceModules().flatMap((module) => [`dist/${module}.js`, `dist/${module}.d.ts`])];
    expect([...packed.files].sort()).toEqual(expected.sort());
  });

  it('resolves main, types and every exports target to a shipped file', () => {
    const targets = entryTargets(packed.manifest);
    expect(targets).toContain('dist/index.js');
    expect(targets).toContain('dist/index.d.ts');
    for (const target of targets) expect(packed.files, target).toContain(target);
  });

  it('reaches every shipped module from an entry point, and ships everything they import', () => {
    // A module is its .js and .d.ts; either one importing another module reaches all of it (a
    // type-only module is reached through declarations, its empty .js comes with it).
    const moduleOf = (file: string) => file.replace(/\.(js|d\.ts)$/, '');
    const reached = new Set<string>();
    const queue = entryTargets(packed.manifest).filter((target) => /\.(js|d\.ts)$/.test(target)).map(moduleOf);
    while (queue.length > 0) {
      const module = queue.shift()!;
      if (reached.has(module)) continue;
      reached.add(module);
      for (const file of [`${module}.js`, `${module}.d.ts`]) {
        expect(packed.files, `${file} (imported, not shipped)`).toContain(file);
        queue.push(...relativeImports(file).map(moduleOf));
      }
    }
    const shipped = new Set(packed.files.filter((file) => /\.(js|d\.ts)$/.test(file)).map(moduleOf));
    expect([...shipped].filter((module) => !reached.has(module))).toEqual([]);
  });

  it('points at no source maps or sources that are not shipped', () => {
    for (const file of packed.files.filter((name) => name.startsWith('dist/'))) {
      const text = readFileSync(path.join(unpacked, file), 'utf8');
      expect(text, file).not.toMatch(/sourceMappingURL|\.\.\/src\//);
    }
  });

  it('is MIT licensed in package.json and in LICENSE', () => {
    expect(packed.manifest.license).toBe('MIT');
    const license = readFileSync(path.join(unpacked, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n/);
    expect(license).toContain('Permission is hereby granted, free of charge');
  });

  it('declares what an installing app checks: ESM, Node and Next ranges, no side effects', () => {
    const { manifest } = packed;
    expect(manifest.type).toBe('module');
    expect(manifest.engines).toEqual({ node: '>=20.9.0' });
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.peerDependencies).toEqual({ next: '^15.5.0 || ^16.0.0' });
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.exports)).toEqual(['.', './instrumentation', './proxy', './testing', './package.json']);
  });
});

describe('publint --strict', () => {
  it('reports no error, warning or suggestion on the tarball', async () => {
    const tarball = readFileSync(packed.tarball);
    const { messages, pkg } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, strict: true, level: 'suggestion' });
    expect(messages.map((message) => `${message.type}: ${formatMessage(message, pkg) ?? message.code}`)).toEqual([]);
  });
});

describe('arethetypeswrong --profile esm-only', () => {
  it('resolves every entry point with types under node16 (ESM) and bundler resolution', async () => {
    const cli = path.join(repositoryRoot, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    const attw = (format: string) =>
      run(process.execPath, [cli, packed.tarball, '--profile', 'esm-only', '--format', format], { env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 }).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
      );
    const table = await attw('table');
    expect(table.code, table.output).toBe(0);
    // The profile ignores node10 and require() from CommonJS (an ESM-only package); nothing else may show.
    const { analysis } = JSON.parse((await attw('json')).output) as { analysis: { problems: { kind: string; resolutionKind?: string }[]; entrypoints: Record<string, unknown> } };
    const counted = analysis.problems.filter((problem) => problem.resolutionKind !== 'node10' && problem.resolutionKind !== 'node16-cjs');
    expect(counted, table.output).toEqual([]);
    expect(Object.keys(analysis.entrypoints)).toEqual(['.', './instrumentation', './proxy', './testing', './package.json']);
  });
});
