import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { headerDifferences, parseWrkReport, sampleProblems } from '../../../bench/measure.js';
import { checkPlan, plan, REMOTE_DIRECT_PREFIX, STATIC_PREFIX, type Plan } from '../../../bench/plan.js';
import { withRemoteDirectLocation, withStaticLocation } from '../../../bench/proxy-static.js';
import { REMOTE_STACKS, stacks } from '../../../bench/stacks.js';
import { PROXY_KINDS, renderTemplate, templateValuesFor, type ProxyKind } from '../../helpers/proxies.js';

/** wrk-report.lua's totals for a clean 1 KiB run of 1,000 responses on 32 connections. */
const clean = { requests: 1000, sent: 1020, bytes: 1000 * 1400, durationUs: 2_000_000, connect: 0, read: 0, write: 0, status: 0, timeout: 0, checked: true, ok200: 1000, other2xx: 0, s1xx: 0, s3xx: 0, s4xx: 0, s5xx: 0, wrongBody: 0, p50Us: 900, p99Us: 4000 };
const small = { connections: 32, bodyBytes: 1024 };

describe('sampleProblems', () => {
  it('accepts a run where every response was a 200 with the exact bytes', () => {
    const result = parseWrkReport(clean);
    expect(result.requestsPerSecond).toBe(500);
    expect(sampleProblems(result, small)).toEqual([]);
  });

  it('rejects socket errors, statuses other than 200 and 200s with other bytes', () => {
    expect(sampleProblems(parseWrkReport({ ...clean, read: 2 }), small)).toEqual(['2 socket read errors']);
    expect(sampleProblems(parseWrkReport({ ...clean, ok200: 990, s3xx: 4, s5xx: 5, wrongBody: 1, status: 5 }), small)).toEqual([
      '1 responses 200 with other bytes',
      '4 responses 3xx',
      '5 responses 5xx',
    ]);
    expect(sampleProblems(parseWrkReport({ ...clean, ok200: 999 }), small)).toEqual(['response counts do not add up to the completed requests']);
  });

  it('rejects requests that never completed: more written than completed beyond one in flight per connection', () => {
    expect(sampleProblems(parseWrkReport({ ...clean, sent: 1032 }), small)).toEqual([]);
    expect(sampleProblems(parseWrkReport({ ...clean, sent: 1035 }), small)).toEqual(['3 requests never completed (connection closed mid-response)']);
  });

  it('on unchecked (100 MiB) loads, counts wrk status errors and bytes short of the completed bodies', () => {
    const large = { connections: 4, bodyBytes: 100 * 1024 * 1024 };
    const base = { ...clean, checked: false, ok200: 0, requests: 10, sent: 14, bytes: 10 * (100 * 1024 * 1024 + 300) };
    expect(sampleProblems(parseWrkReport(base), large)).toEqual([]);
    expect(sampleProblems(parseWrkReport({ ...base, status: 1 }), large)).toEqual(['1 responses with status >= 400']);
    expect(sampleProblems(parseWrkReport({ ...base, bytes: 9 * 100 * 1024 * 1024 }), large)).toEqual([`${100 * 1024 * 1024} bytes fewer than 10 complete bodies hold`]);
    expect(sampleProblems(parseWrkReport({ ...base, requests: 0, sent: 4, bytes: 0 }), large)).toEqual(['no response completed']);
  });
});

describe('headerDifferences', () => {
  const answer = { 'content-type': 'application/octet-stream', etag: 'W/"400-1"', 'content-length': '0', 'x-accel-redirect': '/_protected/media/1k.bin', date: 'Mon', connection: 'close' };

  it('compares a presigned Location by origin, path and parameter names, not its signature', () => {
    const signed = (signature: string, until: number, path = 'bench-private/1k.bin') => ({
      location: `https://store.private.blob.vercel-storage.com/${path}?vercel-blob-delegation=d&vercel-blob-valid-until=${until}&vercel-blob-signature=${signature}&download=1`,
      'cache-control': 'private, no-store',
    });
    expect(headerDifferences(signed('abc', 1), signed('xyz', 2))).toEqual([]);
    expect(headerDifferences(signed('abc', 1), signed('abc', 1, 'bench-private/other.bin'))).toHaveLength(1);
    const { location } = signed('abc', 1);
    expect(headerDifferences(signed('abc', 1), { ...signed('abc', 1), location: location.replace('&download=1', '') })).toHaveLength(1);
  });

  it('ignores the per-response headers and names every other difference', () => {
    expect(headerDifferences(answer, { ...answer, date: 'Tue', connection: 'keep-alive' })).toEqual([]);
    const { 'content-length': _, ...chunked } = answer;
    expect(headerDifferences(answer, { ...chunked, 'transfer-encoding': 'chunked', etag: 'W/"400-2"' })).toEqual([
      'content-length: "0" vs null',
      'etag: "W/\\"400-1\\"" vs "W/\\"400-2\\""',
      'transfer-encoding: null vs "chunked"',
    ]);
  });
});

describe('checkPlan', () => {
  it('finds the shipped plan consistent', () => {
    expect(checkPlan(plan)).toEqual([]);
  });

  it('has the remote targets of issue #16 as judged pairs with the issue\'s targets, on stacks that exist', () => {
    const judged = plan.comparisons.filter((comparison) => comparison.minimum !== undefined).map((comparison) => [comparison.id, comparison.referenceId, comparison.load, comparison.minimum]);
    expect(judged).toContainEqual(['lib-blob', 'naive-blob', 'large', 1.0]);
    expect(judged).toContainEqual(['lib-redirect', 'bare-redirect', 'small', 0.95]);
    expect(judged).toContainEqual(['lib-nginx-remote', 'nginx-remote-direct', 'large', 0.9]);
    expect(plan.memory.comparisons.map((comparison) => [comparison.id, comparison.referenceId])).toContainEqual(['lib-blob', 'naive-blob']);
    for (const target of plan.targets) expect(Object.keys(stacks), target.id).toContain(target.stack);
    const remote = plan.targets.filter((target) => REMOTE_STACKS.includes(target.stack));
    expect(remote.filter((target) => target.appBytes).map((target) => target.id)).toEqual(['lib-blob', 'lib-nginx-remote']);
    expect(remote.filter((target) => target.semantics).map((target) => target.id)).toEqual(['lib-blob', 'naive-blob', 'lib-nginx-remote', 'nginx-remote-direct']);
  });

  it('refuses a redirect target with files to load and an app-bytes check without files', () => {
    const broken: Plan = { ...plan, targets: [...plan.targets, { id: 'x', label: '', stack: 'next', small: '/x', files: '/x/', range: false, redirect: true }, { id: 'y', label: '', stack: 'next', small: '/y', range: false, appBytes: true }] };
    expect(checkPlan(broken)).toEqual(['target x redirects but declares files to load', 'target y asks for an app-bytes check but serves no files']);
  });

  it('names comparisons whose sides their session does not load, and other slips', () => {
    const broken: Plan = {
      ...plan,
      targets: [...plan.targets, plan.targets[0]!],
      sessions: [...plan.sessions, { id: 'extra', title: '', judged: false, large: ['next-bare'] }],
      comparisons: [...plan.comparisons, { id: 'lib-direct', referenceId: 'next-bare', session: 'direct', load: 'small', metric: 'throughput', question: '', minimum: 0.95 }],
    };
    expect(checkPlan(broken)).toEqual([
      'target lib-direct is declared twice',
      'session extra loads next-bare with 100 MiB, which it does not serve',
      'comparison lib-direct / next-bare: session direct has no small side next-bare',
    ]);
  });
});

describe('withStaticLocation', () => {
  const mediaRoot = '/srv/bench-media';
  const rendered = (kind: ProxyKind): string =>
    renderTemplate(readFileSync(new URL(`../../../example-app/deploy/${{ nginx: 'nginx.conf', apache: 'apache.conf', lighttpd: 'lighttpd.conf', caddy: 'Caddyfile' }[kind]}`, import.meta.url), 'utf8'), templateValuesFor({ port: 8080, upstreamPort: 3000, mediaRoot, runtimeDir: '/tmp/run' }));

  it.each(PROXY_KINDS)('adds a location serving the media root to the shipped %s config and keeps the rest', (kind) => {
    const config = rendered(kind);
    const changed = withStaticLocation(kind, config, mediaRoot);
    expect(changed).toContain(STATIC_PREFIX);
    // Only additions: every line of the shipped config is still there, in order.
    const lines = changed.split('\n');
    let at = 0;
    for (const line of config.split('\n')) {
      at = lines.indexOf(line, at);
      expect(at, line).toBeGreaterThanOrEqual(0);
    }
  });

  it('copies nginx\'s offload location without `internal`, keeping the original internal', () => {
    const changed = withStaticLocation('nginx', rendered('nginx'), mediaRoot);
    const copy = changed.slice(changed.indexOf(`location ^~ ${STATIC_PREFIX} {`));
    const block = copy.slice(0, copy.indexOf('\n        }'));
    expect(block).toContain(`alias "${mediaRoot}/";`);
    expect(block).toContain('disable_symlinks on');
    expect(block).not.toMatch(/^\s*internal;/m);
    expect(changed.match(/^\s*internal;/gm)).toHaveLength(rendered('nginx').match(/^\s*internal;/gm)!.length);
  });

  it('excludes the static path from Apache\'s ProxyPass before the catch-all', () => {
    const changed = withStaticLocation('apache', rendered('apache'), mediaRoot);
    expect(changed.indexOf(`ProxyPass "${STATIC_PREFIX}" "!"`)).toBeLessThan(changed.indexOf('ProxyPass "/"'));
  });

  it('throws, naming the anchor, when a config no longer has it', () => {
    expect(() => withStaticLocation('nginx', 'events {}', mediaRoot)).toThrow(/location \^~ \/_protected\/media\//);
    expect(() => withStaticLocation('apache', 'Listen 1', mediaRoot)).toThrow(/mod_proxy/);
    expect(() => withStaticLocation('lighttpd', 'server.port = 1', mediaRoot)).toThrow(/proxy\.server/);
    expect(() => withStaticLocation('caddy', ':80 {}', mediaRoot)).toThrow(/reverse_proxy/);
  });
});

describe('withRemoteDirectLocation', () => {
  const config = renderTemplate(
    readFileSync(new URL('../../../example-app/deploy/nginx.conf', import.meta.url), 'utf8'),
    { ...templateValuesFor({ port: 8080, upstreamPort: 3000, mediaRoot: '/srv/media', runtimeDir: '/tmp/run' }), RESOLVER: '127.0.0.1:5353', CA_FILE: '/tmp/ca.pem' },
  );
  const origin = 'https://store.public.blob.vercel-storage.com';

  it("copies the shipped remote location's directives, public, proxying the object URL directly", () => {
    const changed = withRemoteDirectLocation(config, origin, 'bench/');
    const copy = changed.slice(changed.indexOf(`location ~ ^${REMOTE_DIRECT_PREFIX}`));
    const block = copy.slice(0, copy.indexOf('\n        }'));
    expect(block).toContain(`set $download_remote_url ${origin}/bench/$bench_object;`);
    expect(block).not.toMatch(/^\s*internal;/m);
    const original = config.slice(config.indexOf('location ^~ /_protected/remote/ {'));
    // Every directive of the shipped location but `internal` and the URL it reads from the app.
    for (const line of original.slice(0, original.indexOf('\n        }')).split('\n').slice(1)) {
      if (/internal;|x_accel_remote_url/.test(line)) continue;
      expect(block, line).toContain(line);
    }
    expect(changed.match(/^\s*internal;/gm)).toHaveLength(config.match(/^\s*internal;/gm)!.length);
  });

  it('throws when the shipped config no longer has the remote location or reads the URL otherwise', () => {
    expect(() => withRemoteDirectLocation('events {}', origin, 'bench/')).toThrow(/_protected\/remote/);
    expect(() => withRemoteDirectLocation(config.replace('$upstream_http_x_accel_remote_url', '$arg_url'), origin, 'bench/')).toThrow(/x_accel_remote_url/);
  });
});
