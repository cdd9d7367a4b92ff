/**
 * Meets the library the way a user's app does: `npm pack` this checkout (its `prepare` script
 * builds dist/), copy an app to a directory outside the repository, install the tarball there
 * with Next and React, and `next build` it. Nothing in the installed app can reach src/, dist/ or
 * the repository's node_modules: it resolves `next-downloadview` from its own node_modules like any
 * other dependency.
 *
 * The app's lockfile is cut from the repository's own package-lock.json (the entries reachable from
 * next, react, react-dom, typescript, @types/* and the library's dependencies), so the app gets
 * exactly the versions the repository pins, and `npm ci --prefer-offline` installs it from the npm
 * cache the root `npm ci` filled: no registry request on a machine that ran `npm ci`. Next 15 comes
 * from the `next-15` devDependency alias (`npm:next@15.5.x`), installed in the app as `next`.
 *
 * Everything is cached by content: the tarball by the files it is built from, each installed app
 * by the tarball, its own files, its lockfile and this script. A second call with nothing changed
 * costs a few hashes. Work lives in `<os.tmpdir()>/next-downloadview-<hash of this checkout>/`;
 * concurrent callers (vitest workers, two terminals) take a lock per item.
 *
 * CLI: `node scripts/consumer-app.mjs <app-dir> [--next <major>]` prepares the app and prints the
 * installed directory on stdout (progress goes to stderr). Used by `npm run example`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The directory holding this checkout's packs and installed apps (outside the repository). */
export const workDirectory = path.join(tmpdir(), `next-downloadview-${sha256(repositoryRoot).slice(0, 10)}`);

/** Files and folders never copied from an app nor hashed: build output and installs. */
const SKIPPED = new Set(['node_modules', '.next', 'next-env.d.ts', 'package-lock.json', 'tsconfig.tsbuildinfo']);
/** What `npm pack` builds the tarball from (dist/ comes from src/ through `prepare`). */
const PACK_INPUTS = ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE'];
/** Packages every consumer app installs besides the library: what a Next app with TypeScript has. */
const APP_PACKAGES = ['react', 'react-dom', 'typescript', '@types/react', '@types/node'];
/** Written last into an installed app: its presence with the right key means "ready". */
const READY_MARKER = '.consumer-app-ready';

/**
 * @typedef {object} PackedLibrary
 * @property {string} tarball absolute path of the .tgz
 * @property {string} fileName its file name (`next-downloadview-<version>.tgz`)
 * @property {string} integrity `sha512-<base64>` of the tarball, as a lockfile records it
 * @property {Record<string, any>} manifest the package.json inside the tarball
 * @property {string[]} files every path inside the tarball, relative to `package/`
 */

/**
 * @typedef {object} InstalledApp
 * @property {string} dir the installed, built app (outside the repository)
 * @property {number} nextMajor the Next major it was installed with
 * @property {string} nextVersion the exact Next version
 */

/** @param {string | Uint8Array} data */
function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** @param {...string} args */
function log(...args) {
  process.stderr.write(`[consumer-app] ${args.join(' ')}\n`);
}

/**
 * A content hash of files and folders (paths relative to `base`, skipping build output).
 * @param {string} base
 * @param {readonly string[]} entries
 */
function hashTree(base, entries) {
  const hash = createHash('sha256');
  /** @param {string} relative */
  const visit = (relative) => {
    const full = path.join(base, relative);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).sort()) if (!SKIPPED.has(name)) visit(path.join(relative, name));
      return;
    }
    hash.update(`${relative}\0`);
    hash.update(readFileSync(full));
    hash.update('\0');
  };
  for (const entry of entries) visit(entry);
  return hash.digest('hex');
}

/**
 * The environment for a nested npm or next: without the variables an outer `npm test` exports
 * (npm_config_local_prefix would point the nested npm back at the repository), and without the
 * library's own settings, which belong to `next start` (a DOWNLOADVIEW_BACKEND left in the shell
 * must not reach `next build`, which loads the route modules).
 */
function childEnv() {
  /** @type {NodeJS.ProcessEnv} */
  const env = { NEXT_TELEMETRY_DISABLED: '1' };
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile', 'npm_config_registry']);
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) && !keep.has(name.toLowerCase())) continue;
    if (name === 'INIT_CWD' || name === 'NODE_ENV' || name.startsWith('DOWNLOADVIEW_')) continue;
    env[name] = value;
  }
  return env;
}

/**
 * Run a command, collecting its output; rejects with that output when it fails.
 * @param {string} command
 * @param {string[]} args
 * @param {string} cwd
 */
function run(command, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed in ${cwd} (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}

/**
 * Run `task` holding a lock directory (atomic mkdir) named `name`; a lock left by a process that
 * no longer exists is taken over.
 * @template T
 * @param {string} name
 * @param {() => Promise<T>} task
 * @returns {Promise<T>}
 */
async function withLock(name, task) {
  mkdirSync(workDirectory, { recursive: true });
  const lock = path.join(workDirectory, `${name}.lock`);
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
      let owner = 0;
      try {
        owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // the owner has not written its pid yet, or just released the lock
      }
      if (owner > 0 && !isAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`consumer-app: ${lock} is held by pid ${owner} for over 20 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await task();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Remove `<workDirectory>/<prefix>*` except `keep` (older packs or installs of the same item). */
function removeSiblings(/** @type {string} */ prefix, /** @type {string} */ keep) {
  if (!existsSync(workDirectory)) return;
  for (const name of readdirSync(workDirectory)) {
    if (name.startsWith(prefix) && name !== keep && !name.endsWith('.lock')) rmSync(path.join(workDirectory, name), { recursive: true, force: true });
  }
}

/** @param {string} tarball */
function describeTarball(tarball) {
  const bytes = readFileSync(tarball);
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((entry) => entry.replace(/^package\//, ''));
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  return {
    tarball,
    fileName: path.basename(tarball),
    integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    manifest,
    files,
  };
}

/**
 * `npm pack` of this checkout, as `npm publish` would make it (the `prepare` script builds dist/
 * from a clean slate). Cached by the content of everything the tarball is built from.
 * @returns {Promise<PackedLibrary>}
 */
export async function packLibrary() {
  const key = hashTree(repositoryRoot, PACK_INPUTS).slice(0, 16);
  const name = `pack-${key}`;
  const dir = path.join(workDirectory, name);
  const ready = path.join(dir, READY_MARKER);
  if (!existsSync(ready)) {
    await withLock('pack', async () => {
      if (existsSync(ready)) return;
      removeSiblings('pack-', name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      log('npm pack (prepare builds dist/) ...');
      const started = Date.now();
      await run('npm', ['pack', '--pack-destination', dir, '--no-audit', '--no-fund'], repositoryRoot);
      log(`packed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      writeFileSync(ready, key);
    });
  }
  const tarballs = readdirSync(dir).filter((file) => file.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`consumer-app: expected one tarball in ${dir}, found ${tarballs.length}`);
  return describeTarball(path.join(dir, /** @type {string} */ (tarballs[0])));
}

/**
 * @typedef {Record<string, any>} LockEntry
 * @typedef {{ packages: Record<string, LockEntry>, [key: string]: unknown }} Lockfile
 */

/** @returns {Lockfile} */
function rootLockfile() {
  return JSON.parse(readFileSync(path.join(repositoryRoot, 'package-lock.json'), 'utf8'));
}

/**
 * The Next versions the repository pins, by major: `next` itself and any `npm:next@...` alias
 * among the root's devDependencies (`next-15`), each with the lockfile path it is installed at.
 * @returns {Map<number, { alias: string, version: string }>}
 */
export function pinnedNextVersions() {
  const { packages } = rootLockfile();
  /** @type {Map<number, { alias: string, version: string }>} */
  const versions = new Map();
  const root = packages[''] ?? {};
  for (const alias of Object.keys({ ...root.dependencies, ...root.devDependencies })) {
    const entry = packages[`node_modules/${alias}`];
    if (!entry || (entry.name ?? alias) !== 'next') continue;
    versions.set(Number(String(entry.version).split('.')[0]), { alias, version: entry.version });
  }
  return versions;
}

/**
 * The lockfile path a package `name` required from `from` resolves to (Node's lookup: the
 * nearest node_modules up the tree), or undefined.
 * @param {Record<string, LockEntry>} packages
 * @param {string} from
 * @param {string} name
 */
function locate(packages, from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent === -1 ? '' : base.slice(0, parent);
  }
}

/**
 * A package-lock.json for an app depending on `roots` (name → lockfile path in the repository's
 * lock) and on the packed library: every entry reachable from them, copied from the repository's
 * lockfile with the same versions and integrity hashes. An alias root (`node_modules/next-15`) and
 * everything below it move to the real name (`node_modules/next`).
 * @param {string} appName
 * @param {Map<string, string>} roots
 * @param {PackedLibrary} library
 */
function consumerLockfile(appName, roots, library) {
  const { packages } = rootLockfile();
  /** @type {Map<string, boolean>} lockfile path → reached through required edges only */
  const reached = new Map();
  /** @type {[string, boolean][]} */
  const queue = [];
  /** @param {string} from @param {Record<string, string> | undefined} deps @param {boolean} required */
  const follow = (from, deps, required, /** @type {Record<string, { optional?: boolean }>} */ meta = {}) => {
    for (const name of Object.keys(deps ?? {})) {
      if (meta[name]?.optional) continue; // optional peers are the app's choice
      const found = locate(packages, from, name);
      if (!found) {
        if (required) throw new Error(`consumer-app: ${name} (needed by ${from || 'the app'}) is not in package-lock.json`);
        continue;
      }
      if (reached.get(found) === true || (reached.has(found) && !required)) continue;
      reached.set(found, required);
      queue.push([found, required]);
    }
  };
  for (const lockPath of roots.values()) {
    reached.set(lockPath, true);
    queue.push([lockPath, true]);
  }
  const { dependencies: libraryDependencies, optionalDependencies, peerDependencies, peerDependenciesMeta } = library.manifest;
  follow('', libraryDependencies, true);
  follow('', optionalDependencies, false);
  // A peer the app already has as a root (next) is that root, not the repository's copy.
  const otherPeers = Object.fromEntries(Object.entries(peerDependencies ?? {}).filter(([name]) => !roots.has(name)));
  follow('', otherPeers, true, peerDependenciesMeta);
  while (queue.length > 0) {
    const [lockPath, required] = /** @type {[string, boolean]} */ (queue.shift());
    const entry = /** @type {LockEntry} */ (packages[lockPath]);
    follow(lockPath, entry.dependencies, required);
    follow(lockPath, entry.optionalDependencies, false);
    follow(lockPath, entry.peerDependencies, required, entry.peerDependenciesMeta);
  }

  /** Lockfile paths of alias roots, renamed to the package's real name. */
  const renames = [...roots].filter(([name, lockPath]) => lockPath !== `node_modules/${name}`);
  /** @param {string} lockPath */
  const renamed = (lockPath) => {
    for (const [name, from] of renames) {
      if (lockPath === from || lockPath.startsWith(`${from}/`)) return `node_modules/${name}${lockPath.slice(from.length)}`;
    }
    return lockPath;
  };

  /** @type {Record<string, string>} */
  const dependencies = {};
  for (const [name, lockPath] of roots) dependencies[name] = /** @type {LockEntry} */ (packages[lockPath]).version;
  dependencies[library.manifest.name] = `file:${library.fileName}`;
  /** @type {Record<string, LockEntry>} */
  const appPackages = { '': { name: appName, dependencies } };
  for (const [lockPath, required] of [...reached].sort(([a], [b]) => a.localeCompare(b))) {
    const target = renamed(lockPath);
    if (appPackages[target]) throw new Error(`consumer-app: two packages at ${target} in the app's lockfile`);
    // Flags describe the repository's tree (dev, peer); in the app only "optional" matters: npm ci
    // skips an optional package built for another platform instead of failing on it.
    const { dev, devOptional, peer, optional, name, ...entry } = /** @type {LockEntry} */ (packages[lockPath]);
    if (name !== undefined && target !== `node_modules/${name}` && !target.endsWith(`/node_modules/${name}`)) entry.name = name;
    appPackages[target] = required ? entry : { ...entry, optional: true };
  }
  const { name, version, license, engines } = library.manifest;
  appPackages[`node_modules/${name}`] = {
    version,
    resolved: `file:${library.fileName}`,
    integrity: library.integrity,
    license,
    ...(libraryDependencies ? { dependencies: libraryDependencies } : {}),
    ...(engines ? { engines } : {}),
    ...(optionalDependencies ? { optionalDependencies } : {}),
    ...(peerDependencies ? { peerDependencies } : {}),
    ...(peerDependenciesMeta ? { peerDependenciesMeta } : {}),
  };
  return {
    packageJson: { name: appName, version: '0.0.0', private: true, dependencies },
    lockfile: { name: appName, version: '0.0.0', lockfileVersion: 3, requires: true, packages: appPackages },
  };
}

/**
 * Next 16 renamed `middleware.ts` to `proxy.ts` and its export `middleware` to `proxy`
 * (nextjs.org/docs/messages/middleware-to-proxy). Next 15 knows only the old names, and reads
 * `config` from the file itself, so a re-export would not do: the installed copy gets the file
 * under the old name with the export renamed.
 * @param {string} dir
 */
function proxyToMiddleware(dir) {
  for (const base of [dir, path.join(dir, 'src')]) {
    const proxy = path.join(base, 'proxy.ts');
    if (!existsSync(proxy)) continue;
    const source = readFileSync(proxy, 'utf8');
    const pattern = /^export (const|function|async function) proxy\b/m;
    if (!pattern.test(source)) throw new Error(`consumer-app: ${proxy} must export \`proxy\` as a const or function to run on Next 15`);
    writeFileSync(path.join(base, 'middleware.ts'), source.replace(pattern, 'export $1 middleware'));
    rmSync(proxy);
  }
}

/**
 * Packages an app needs beyond Next, React and TypeScript, named in its own package.json (its
 * `dependencies` and `devDependencies`; the versions written there are ignored): each is installed
 * at the version the repository's lockfile pins, so it must be one of the repository's
 * dependencies or devDependencies too.
 * @param {string} source
 * @returns {string[]}
 */
function declaredPackages(source) {
  const file = path.join(source, 'package.json');
  if (!existsSync(file)) return [];
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => name !== 'next' && name !== 'next-downloadview');
}

/**
 * A short name for an app directory: its path in the repository, e.g. `test-fixtures-app`.
 * @param {string} sourceDir
 */
function appNameOf(sourceDir) {
  const relative = path.relative(repositoryRoot, sourceDir);
  const name = (relative.startsWith('..') ? path.basename(sourceDir) : relative).replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return name.toLowerCase() || 'app';
}

/**
 * Install the app in `sourceDir` as a consumer of the packed library and `next build` it, once per
 * content: the same app, tarball and Next version give the same directory, already built.
 * @param {string} sourceDir an app folder (app/, next.config.*, tsconfig.json, ...); a package.json
 *   there may name further packages the app needs (see declaredPackages)
 * @param {{ nextMajor?: number }} [options] the Next major to install (default: the repository's `next`)
 * @returns {Promise<InstalledApp>}
 */
export async function installApp(sourceDir, options = {}) {
  const source = path.resolve(sourceDir);
  const pinned = pinnedNextVersions();
  const { packages } = rootLockfile();
  const defaultMajor = Number(String(packages['node_modules/next']?.version).split('.')[0]);
  const nextMajor = options.nextMajor ?? defaultMajor;
  const next = pinned.get(nextMajor);
  if (!next) throw new Error(`consumer-app: no Next ${nextMajor} is pinned in package.json (have: ${[...pinned.keys()].join(', ')})`);

  const library = await packLibrary();
  const appName = appNameOf(source);
  /** @type {Map<string, string>} */
  const roots = new Map([['next', `node_modules/${next.alias}`], ...APP_PACKAGES.map((name) => /** @type {[string, string]} */ ([name, `node_modules/${name}`]))]);
  for (const name of declaredPackages(source)) {
    if (!packages[`node_modules/${name}`]) throw new Error(`consumer-app: ${source}/package.json needs ${name}, which the repository does not pin: add it to the root devDependencies`);
    roots.set(name, `node_modules/${name}`);
  }
  const { packageJson, lockfile } = consumerLockfile(appName, roots, library);
  const key = sha256(
    [library.integrity, hashTree(source, ['.']), JSON.stringify(lockfile), readFileSync(fileURLToPath(import.meta.url), 'utf8')].join('\n'),
  ).slice(0, 16);
  const prefix = `${appName}-next${nextMajor}-`;
  const name = `${prefix}${key}`;
  const dir = path.join(workDirectory, name);
  const ready = path.join(dir, READY_MARKER);
  const result = { dir, nextMajor, nextVersion: next.version };
  if (existsSync(ready)) return result;

  return withLock(`${appName}-next${nextMajor}`, async () => {
    if (existsSync(ready)) return result;
    removeSiblings(prefix, name);
    // Built in a staging folder and renamed into place, so a half-installed app is never taken
    // for a ready one (the marker is written last, too).
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    cpSync(source, staging, { recursive: true, filter: (from) => !SKIPPED.has(path.basename(from)) });
    if (nextMajor < 16) proxyToMiddleware(staging);
    cpSync(library.tarball, path.join(staging, library.fileName));
    writeFileSync(path.join(staging, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
    writeFileSync(path.join(staging, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);

    let started = Date.now();
    log(`${appName}: npm ci (Next ${next.version}, ${library.fileName}) in ${staging} ...`);
    await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], staging);
    log(`${appName}: installed in ${((Date.now() - started) / 1000).toFixed(1)} s; next build ...`);
    started = Date.now();
    renameSync(staging, dir);
    // Built in its final place: Next records absolute paths (distDir, tracing root) in .next.
    await run(process.execPath, [path.join(dir, 'node_modules/next/dist/bin/next'), 'build'], dir);
    log(`${appName}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    writeFileSync(ready, key);
    return result;
  });
}

// CLI: node scripts/consumer-app.mjs <app-dir> [--next <major>]
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const nextFlag = args.indexOf('--next');
  const nextMajor = nextFlag === -1 ? undefined : Number(args.splice(nextFlag, 2)[1]);
  const [appDir] = args;
  if (!appDir || (nextMajor !== undefined && !Number.isInteger(nextMajor))) {
    process.stderr.write('usage: node scripts/consumer-app.mjs <app-dir> [--next <major>]\n');
    process.exit(2);
  }
  installApp(appDir, nextMajor === undefined ? {} : { nextMajor }).then(
    (app) => process.stdout.write(`${app.dir}\n`),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
