/**
 * Configuration mistakes are refused when the factory is called, with a message naming the option
 * or environment variable (issue 18, error hygiene): never on the first request, never a bare
 * TypeError. One row per mistake, across every factory and DOWNLOADVIEW_* variable.
 */
import { describe, expect, it } from 'vitest';
import {
  apache,
  backendFromEnv,
  blob,
  caddy,
  DownloadError,
  downloadHandler,
  filesystem,
  lighttpd,
  nginx,
  record,
  redirect,
  remote,
  secretsFromEnv,
  signedLinks,
  virtual,
} from '../../src/index.js';
import { downloadPathGuard } from '../../src/proxy.js';

const source = virtual(() => null);
const handler = (options: object) => () => downloadHandler({ source, ...options } as never);
const SECRET = 'k8Jr2vQ9xW4mZ7pL1sT6yB3nC5hF0dGa';

// [what is wrong, the name the message must give, the factory call]
const mistakes: [string, string, () => unknown][] = [
  // downloadHandler
  ['no options', 'options', () => downloadHandler(undefined as never)],
  ['no source', 'source', () => downloadHandler({} as never)],
  ['a source that is not one', 'source', () => downloadHandler({ source: {} } as never)],
  ['authorize not a function', 'authorize', handler({ authorize: true })],
  ['onDownload not a function', 'onDownload', handler({ onDownload: 'log' })],
  ['onError not a function', 'onError', handler({ onError: 'console' })],
  ['onFallback not a function', 'onFallback', handler({ onFallback: {} })],
  ['cacheControl with CR LF', 'cacheControl', handler({ cacheControl: 'private\r\nx: y' })],
  ['cacheControl not a string', 'cacheControl', handler({ cacheControl: 60 })],
  ['maxRanges 0', 'maxRanges', handler({ maxRanges: 0 })],
  ['maxRanges fractional', 'maxRanges', handler({ maxRanges: 1.5 })],
  ['maxRanges a string', 'maxRanges', handler({ maxRanges: '16' })],
  ['contentType not a media type', 'contentType', handler({ contentType: 'pdf' })],
  ['contentType a number', 'contentType', handler({ contentType: 5 })],
  ['filename empty', 'filename', handler({ filename: '' })],
  ['attachment a string', 'attachment', handler({ attachment: 'yes' })],
  ['headers with a bad name', 'headers', handler({ headers: { 'bad name': 'x' } })],
  ['headers with a control character', 'headers', handler({ headers: { 'x-a': 'a\x01' } })],
  ['wwwAuthenticate with LF', 'wwwAuthenticate', handler({ wwwAuthenticate: 'Bearer\n' })],
  ['backend that is not one', 'backend', handler({ backend: { name: 'nginx' } })],
  // sources
  ['filesystem without root', 'filesystem.root', () => filesystem({} as never)],
  ['filesystem root empty', 'filesystem.root', () => filesystem({ root: '' })],
  ['filesystem root with NUL', 'filesystem.root', () => filesystem({ root: '/srv\0x' })],
  ['filesystem param empty', 'filesystem.param', () => filesystem({ root: '/srv', param: '' })],
  ['filesystem key not a function', 'filesystem.key', () => filesystem({ root: '/srv', key: 'path' } as never)],
  ['filesystem dotfiles a string', 'filesystem.dotfiles', () => filesystem({ root: '/srv', dotfiles: 'false' } as never)],
  ['filesystem io unknown', 'filesystem.io', () => filesystem({ root: '/srv', io: 'mmap' } as never)],
  ['filesystem openFileCache max 0', 'filesystem.openFileCache', () => filesystem({ root: '/srv', openFileCache: { max: 0 } })],
  ['filesystem openFileCache a number', 'filesystem.openFileCache', () => filesystem({ root: '/srv', openFileCache: 5 } as never)],
  ['filesystem verifyOpenedPath a string', 'filesystem.verifyOpenedPath', () => filesystem({ root: '/srv', verifyOpenedPath: 'yes' } as never)],
  ['virtual without a function', 'virtual', () => virtual({} as never)],
  ['record without find', 'record.find', () => record({ file: () => null } as never)],
  ['record without file', 'record.file', () => record({ find: () => null } as never)],
  ['remote without url', 'remote.url', () => remote({} as never)],
  ['remote base not a folder', 'remote.base', () => remote({ base: 'https://x/files' })],
  ['remote base and url', 'remote.url', () => remote({ base: 'https://x/', url: () => null } as never)],
  ['remote connectTimeout 0', 'remote.connectTimeout', () => remote({ url: () => 'https://x', connectTimeout: 0 })],
  ['remote headers invalid', 'remote.headers', () => remote({ url: () => 'https://x', headers: { 'a b': 'c' } })],
  ['remote followRedirects a string', 'remote.followRedirects', () => remote({ url: () => 'https://x', followRedirects: 'yes' } as never)],
  ['remote copyHeaders an offload header', 'remote.copyHeaders', () => remote({ url: () => 'https://x', copyHeaders: ['x-accel-redirect'] })],
  ['blob without access', 'blob.access', () => blob({} as never)],
  ['blob token a number', 'blob.token', () => blob({ access: 'private', token: 1 } as never)],
  ['blob prefix absolute', 'blob.prefix', () => blob({ access: 'private', prefix: '/x' })],
  ['blob presignExpiresIn too long', 'blob.presignExpiresIn', () => blob({ access: 'private', presignExpiresIn: 86_400 })],
  ['blob idleTimeout negative', 'blob.idleTimeout', () => blob({ access: 'private', idleTimeout: -1 })],
  // backends
  ['nginx without rules nor remote', 'nginx.rules', () => nginx({ remote: false })],
  ['nginx options not an object', 'nginx', () => nginx('x' as never)],
  ['nginx rules empty', 'nginx.rules', () => nginx({ rules: {} })],
  ['nginx rule relative', 'nginx.rules', () => nginx({ rules: { 'srv/media': '/_p' } })],
  ['nginx rule with ..', 'nginx.rules', () => nginx({ rules: { '/srv/../etc': '/_p' } })],
  ['nginx limitRate negative', 'nginx.limitRate', () => nginx({ rules: { '/srv': '/_p' }, limitRate: -1 })],
  ['nginx buffering a string', 'nginx.buffering', () => nginx({ rules: { '/srv': '/_p' }, buffering: 'no' } as never)],
  ['nginx charset with a space', 'nginx.charset', () => nginx({ rules: { '/srv': '/_p' }, charset: 'utf 8' })],
  ['nginx expires a word', 'nginx.expires', () => nginx({ rules: { '/srv': '/_p' }, expires: 'soon' } as never)],
  ['nginx remote location relative', 'nginx.remote.location', () => nginx({ rules: { '/srv': '/_p' }, remote: { location: '_r' } })],
  ['apache encoding unknown', 'apache.encoding', () => apache({ encoding: 'url' } as never)],
  ['apache options not an object', 'apache', () => apache('percent' as never)],
  ['apache rule relative', 'apache.rules', () => apache({ rules: { srv: '/srv' } })],
  ['lighttpd options not an object', 'lighttpd', () => lighttpd(null as never)],
  ['lighttpd rule location relative', 'lighttpd.rules', () => lighttpd({ rules: { '/srv': 'srv' } })],
  ['caddy options not an object', 'caddy', () => caddy(1 as never)],
  ['caddy rule with CR', 'caddy.rules', () => caddy({ rules: { '/srv\r': '/srv' } })],
  ['redirect status 301', 'redirect.status', () => redirect({ status: 301 } as never)],
  ['redirect public a string', 'redirect.public', () => redirect({ public: 'yes' } as never)],
  // environment (read when downloadHandler is called without `backend`)
  ['DOWNLOADVIEW_BACKEND unknown', 'DOWNLOADVIEW_BACKEND', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'haproxy' })],
  ['nginx without DOWNLOADVIEW_RULES', 'DOWNLOADVIEW_RULES', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'nginx' })],
  ['DOWNLOADVIEW_RULES without =', 'DOWNLOADVIEW_RULES', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: '/srv/media' })],
  ['DOWNLOADVIEW_RULES with two =', 'DOWNLOADVIEW_RULES', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'lighttpd', DOWNLOADVIEW_RULES: '/a=/b=/c' })],
  ['DOWNLOADVIEW_RULES relative', 'DOWNLOADVIEW_RULES', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'caddy', DOWNLOADVIEW_RULES: 'srv=/p' })],
  ['DOWNLOADVIEW_APACHE_ENCODING unknown', 'DOWNLOADVIEW_APACHE_ENCODING', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'apache', DOWNLOADVIEW_APACHE_ENCODING: 'utf8' })],
  ['DOWNLOADVIEW_REDIRECT_PUBLIC not 0/1', 'DOWNLOADVIEW_REDIRECT_PUBLIC', () => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'redirect', DOWNLOADVIEW_REDIRECT_PUBLIC: 'yes' })],
  ['DOWNLOADVIEW_SECRET missing', 'secret', () => secretsFromEnv({})],
  ['DOWNLOADVIEW_SECRET too short', 'secret', () => signedLinks({ secret: secretsFromEnv({ DOWNLOADVIEW_SECRET: 'short' }) })],
  // signed links and the path guard
  ['signedLinks secret a placeholder', 'secret', () => signedLinks({ secret: 'a'.repeat(40) })],
  ['signedLinks expiresIn 0', 'expiresIn', () => signedLinks({ secret: SECRET, expiresIn: 0 })],
  ['signedLinks expiredStatus 404', 'expiredStatus', () => signedLinks({ secret: SECRET, expiredStatus: 404 } as never)],
  ['signedLinks params clash', 'params', () => signedLinks({ secret: SECRET, params: { expires: 'x', signature: 'x' } })],
  ['path guard prefixes a string', 'prefixes', () => downloadPathGuard({ prefixes: '/files' } as never)],
  ['path guard prefix relative', 'prefixes', () => downloadPathGuard({ prefixes: ['files'] })],
];

describe('factory-time configuration errors', () => {
  it.each(mistakes)('%s: refused naming `%s`', (_, name, make) => {
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown, 'the factory accepted it').toBeInstanceOf(DownloadError);
    expect((thrown as DownloadError).code).toBe('invalid_options');
    expect((thrown as Error).message).toContain(`option \`${name}\``);
  });

  it('reads the environment when the handler is made, not on the first request', () => {
    const saved = process.env.DOWNLOADVIEW_BACKEND;
    process.env.DOWNLOADVIEW_BACKEND = 'haproxy';
    try {
      expect(() => downloadHandler({ source })).toThrow('option `DOWNLOADVIEW_BACKEND`');
      // An explicit backend wins and the variable is not read at all.
      expect(() => downloadHandler({ source, backend: redirect() })).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.DOWNLOADVIEW_BACKEND;
      else process.env.DOWNLOADVIEW_BACKEND = saved;
    }
  });
});
