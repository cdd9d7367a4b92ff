/**
 * What `npm run bench` measures, declared as data: the targets (a route on a server stack), the
 * sessions that load them in interleaved samples, the comparisons read from those samples (with the
 * targets the issue sets), and the memory tests. bench/run.ts executes this plan; bench/summary.ts
 * judges it; the plan is stored in latest.json, so a report is always read against the plan it ran.
 *
 * Adding a target pair (as the remote targets of issue #16 were) is three entries: a target below (a stack
 * from bench/stacks.ts and its paths), its id in a session's `small`/`large` sides next to its
 * reference, and a comparison naming that session. `checkPlan` (run by the unit tests) refuses a
 * plan whose comparisons name sides their session does not load.
 */
import { PROXY_KINDS, type ProxyKind } from '../test/helpers/proxies.js';

/** Which file a load requests: the 1 KiB one (req/s) or the 100 MiB one (MB/s). */
export type Load = 'small' | 'large';

export interface TargetSpec {
  id: string;
  label: string;
  /** The server stack serving it (bench/stacks.ts); targets on one stack share its processes. */
  stack: string;
  /** Path serving the 1 KiB file (or the same 1 KiB from memory). */
  small: string;
  /** Path prefix serving every generated file (`${files}100m.bin`); absent for 1-KiB-only targets. */
  files?: string;
  /** Whether it implements Range (checked with one 206 before timing). */
  range: boolean;
  /** Its app answers with an empty offload response (checked on the app's own port). */
  offload?: boolean;
  /**
   * It answers with a redirect to storage (no `files`): loaded, every response must be that 302 with
   * an empty body; byte checks follow the Location (the 1 KiB file, and one Range when `range`).
   */
  redirect?: boolean;
  /** Record, before timing, whether it honours Range and If-None-Match (reported, not judged). */
  semantics?: boolean;
  /**
   * Record the bytes the Next process tree reads and writes (/proc/<pid>/io) during one 100 MiB
   * download: an offload target must move next to none of them (a problem above 1% of the body).
   */
  appBytes?: boolean;
}

export interface SessionSpec {
  id: string;
  title: string;
  /** Judged sessions run in every round (BENCH_ROUNDS fresh stacks), the others in the first BENCH_INFO_ROUNDS. */
  judged: boolean;
  /** Sides loaded in turn, one sample each per cycle; small loads run before large ones. */
  small?: string[];
  large?: string[];
}

export interface ComparisonSpec {
  /** The target and its reference, both sides of `session`'s `load`. */
  id: string;
  referenceId: string;
  session: string;
  load: Load;
  /** `throughput`: req/s or MB/s; `cpu`: requests per CPU-second of the serving processes. */
  metric: 'throughput' | 'cpu';
  /** The ratio the issue requires (judged comparisons only): PASS when the whole 95% interval is at or above it. */
  minimum?: number;
  /** What the ratio answers, as the report prints it. */
  question: string;
  /**
   * Before timing, the two sides' 1 KiB answers must carry the same headers, framing included (all
   * but Date): 'front' as clients get them, 'app' on the Next server's own port behind the proxy
   * (the offload answers, which the proxy replaces).
   */
  sameHeaders?: 'front' | 'app';
}

export interface MemorySpec {
  /** Every memory target, measured on a fresh stack per run. */
  targets: { id: string; judged: boolean; huge: boolean; warm: boolean }[];
  /** Growth of `id` minus growth of `referenceId` in the same round must stay at or below `slackMiB`. */
  comparisons: { id: string; referenceId: string; slackMiB: number; question: string }[];
}

export interface Plan {
  targets: TargetSpec[];
  sessions: SessionSpec[];
  comparisons: ComparisonSpec[];
  memory: MemorySpec;
}

const proxyName: Record<ProxyKind, string> = { nginx: 'nginx', apache: 'Apache', lighttpd: 'lighttpd', caddy: 'Caddy' };

/** Where bench/stacks.ts exposes the media root on a proxy stack, served by the proxy itself. */
export const STATIC_PREFIX = '/_bench_static/';
/** Where the nginx remote stack proxies the public objects directly (bench/proxy-static.ts). */
export const REMOTE_DIRECT_PREFIX = '/_bench_remote/';

const nextTargets: TargetSpec[] = [
  { id: 'lib-direct', label: 'library, filesystem, streamed by Next (io auto)', stack: 'next', small: '/files/1k.bin', files: '/files/', range: true },
  { id: 'lib-direct-threadpool', label: "library, filesystem, io 'threadpool'", stack: 'next', small: '/files-threadpool/1k.bin', files: '/files-threadpool/', range: true },
  { id: 'lib-virtual', label: 'library, virtual source (1 KiB in memory)', stack: 'next', small: '/virtual', range: true },
  { id: 'next-minimal-fs', label: 'minimal inline file handler on [...path] (lstat + cached pread)', stack: 'next', small: '/minimal-fs/1k.bin', range: false },
  { id: 'next-bare', label: 'bare handler, fixed route (1 KiB in memory)', stack: 'next', small: '/bare', range: false },
  { id: 'next-bare-param', label: 'bare handler on [...path] (1 KiB in memory)', stack: 'next', small: '/bare-param/1k.bin', range: false },
  { id: 'next-bare-headers', label: "bare handler on [...path] with the library's headers", stack: 'next', small: '/bare-headers/1k.bin', range: false },
  { id: 'next-public', label: 'Next public/', stack: 'next', small: '/1k.bin', files: '/', range: true },
  { id: 'next-readfile', label: 'new Response(await readFile())', stack: 'next', small: '/readfile/1k.bin', files: '/readfile/', range: false },
  { id: 'next-toweb', label: 'toWeb(createReadStream()), 64 KiB chunks (default)', stack: 'next', small: '/toweb/1k.bin', files: '/toweb/', range: false },
  { id: 'next-toweb-256k', label: 'toWeb(createReadStream()), 256 KiB chunks (the library\'s)', stack: 'next', small: '/toweb-256k/1k.bin', files: '/toweb-256k/', range: false },
  { id: 'lib-direct-malloc', label: 'library streamed, glibc trim 128 MiB / mmap 1 MiB', stack: 'next-malloc', small: '/files/1k.bin', files: '/files/', range: true },
];

const proxyTargets: TargetSpec[] = PROXY_KINDS.flatMap((kind): TargetSpec[] => [
  { id: `lib-${kind}`, label: `library + ${proxyName[kind]} offload`, stack: `next-${kind}`, small: '/files/1k.bin', files: '/files/', range: true, offload: true },
  { id: `offload-${kind}`, label: `hand-written ${proxyName[kind]} offload handler`, stack: `next-${kind}`, small: '/offload/1k.bin', files: '/offload/', range: true, offload: true },
  { id: `static-${kind}`, label: `${proxyName[kind]} serving the file itself`, stack: `next-${kind}`, small: `${STATIC_PREFIX}1k.bin`, files: STATIC_PREFIX, range: true },
]);

const referenceTargets: TargetSpec[] = [
  { id: 'nginx-static', label: 'nginx static (bench/nginx-static.conf)', stack: 'nginx-static', small: '/1k.bin', files: '/', range: true },
  { id: 'node-send', label: 'Node http + send', stack: 'node-send', small: '/1k.bin', files: '/', range: true },
];

// Remote sources (issue #16) against the bench's Blob store (bench/remote-store.ts), each with a
// hand-written reference in bench/app on the same stack.
const remoteTargets: TargetSpec[] = [
  { id: 'lib-blob', label: 'library, public blob, streamed by Next', stack: 'next-remote', small: '/blob/1k.bin', files: '/blob/', range: true, semantics: true, appBytes: true },
  { id: 'naive-blob', label: 'naive route: new Response((await fetch(url)).body)', stack: 'next-remote', small: '/naive-blob/1k.bin', files: '/naive-blob/', range: false, semantics: true },
  { id: 'lib-redirect', label: "library, private blob, DOWNLOADVIEW_BACKEND=redirect (302 to a presigned URL)", stack: 'next-redirect', small: '/blob-private/1k.bin', range: true, redirect: true },
  { id: 'lib-redirect-cached', label: 'lib-redirect with metadataCache (no API call per request)', stack: 'next-redirect', small: '/blob-private-cached/1k.bin', range: true, redirect: true },
  { id: 'bare-redirect', label: 'bare hand-written redirect (head() + presign + 302, same Location and headers)', stack: 'next-redirect', small: '/bare-redirect/1k.bin', range: true, redirect: true },
  { id: 'lib-nginx-remote', label: 'library + nginx remote offload (public blob)', stack: 'next-nginx-remote', small: '/blob/1k.bin', files: '/blob/', range: true, offload: true, semantics: true, appBytes: true },
  { id: 'nginx-remote-direct', label: 'the same nginx proxying the object directly', stack: 'next-nginx-remote', small: `${REMOTE_DIRECT_PREFIX}1k.bin`, files: REMOTE_DIRECT_PREFIX, range: true, semantics: true },
];

const sessions: SessionSpec[] = [
  // The targets, each in its own session of two sides on one stack: the same processes,
  // the same warm-up, samples back to back.
  { id: 'direct', title: 'Streamed by Next: library against the minimal inline handler (1 KiB) and public/ (100 MiB)', judged: true, small: ['lib-direct', 'next-minimal-fs'], large: ['lib-direct', 'next-public'] },
  ...PROXY_KINDS.map((kind) => ({
    id: `offload-${kind}`,
    title: `Offloaded to ${proxyName[kind]}: library against a hand-written offload handler (1 KiB) and ${proxyName[kind]} serving the file itself (100 MiB), one Next and one ${proxyName[kind]}`,
    judged: true,
    small: [`lib-${kind}`, `offload-${kind}`],
    large: [`lib-${kind}`, `static-${kind}`],
  })),
  { id: 'remote-stream', title: 'Remote, streamed by Next: library against a naive fetch() pass-through of the same public blob (one Next, one store)', judged: true, small: ['lib-blob', 'naive-blob'], large: ['lib-blob', 'naive-blob'] },
  { id: 'remote-redirect', title: 'Remote, redirected: library against a bare hand-written redirect to the same private blob (one Next)', judged: true, small: ['lib-redirect', 'bare-redirect'] },
  { id: 'remote-nginx', title: 'Remote, offloaded to nginx: library against the same nginx proxying the object directly (one Next, one nginx, one store)', judged: true, large: ['lib-nginx-remote', 'nginx-remote-direct'] },
  // Informational: where the 1 KiB time goes, and how other ways of streaming compare.
  {
    id: 'direct-floor',
    title: 'Where a streamed 1 KiB download spends its time (one Next, seven routes)',
    judged: false,
    small: ['lib-direct', 'next-minimal-fs', 'next-bare', 'next-bare-param', 'next-bare-headers', 'lib-virtual', 'lib-direct-threadpool'],
  },
  { id: 'streaming', title: 'Streaming 100 MiB in Next: library, toWeb at 64 and 256 KiB chunks, io threadpool (one Next)', judged: false, large: ['lib-direct', 'next-toweb', 'next-toweb-256k', 'lib-direct-threadpool'] },
  { id: 'malloc', title: 'The glibc heap-threshold knob (two Next processes)', judged: false, large: ['lib-direct-malloc', 'lib-direct'] },
  {
    id: 'references',
    title: 'Reference servers: nginx static, Node + send, Next public/, readFile, toWeb and the library (three servers)',
    judged: false,
    small: ['nginx-static', 'node-send', 'next-public', 'lib-direct', 'next-readfile', 'next-toweb'],
    large: ['nginx-static', 'node-send', 'next-public', 'lib-direct', 'next-readfile', 'next-toweb'],
  },
  { id: 'remote-redirect-cache', title: "Redirect with the blob's metadata cached, against the bare redirect and the default (one Next)", judged: false, small: ['lib-redirect-cached', 'bare-redirect', 'lib-redirect'] },
  { id: 'offload-vs-bare', title: "Offloaded 1 KiB against Next's cheapest handler without a proxy (five stacks)", judged: false, small: ['next-bare', ...PROXY_KINDS.map((kind) => `lib-${kind}`)] },
];

/** A comparison of `id` against `referenceId` in `session`'s `load`; `extra` adds a target, the CPU metric or a header check. */
const compare = (id: string, referenceId: string, session: string, load: Load, question: string, extra: Partial<ComparisonSpec> = {}): ComparisonSpec => ({
  id,
  referenceId,
  session,
  load,
  metric: 'throughput',
  question,
  ...extra,
});

const comparisons: ComparisonSpec[] = [
  compare('lib-direct', 'next-minimal-fs', 'direct', 'small', 'Direct 1 KiB req/s vs a minimal inline file handler (same route kind, same process)', { minimum: 0.95, sameHeaders: 'front' }),
  ...PROXY_KINDS.map((kind) =>
    compare(`lib-${kind}`, `offload-${kind}`, `offload-${kind}`, 'small', `Offloaded 1 KiB req/s vs a hand-written offload handler, behind the same ${proxyName[kind]}`, { minimum: 0.95, sameHeaders: 'app' }),
  ),
  ...PROXY_KINDS.map((kind) => compare(`lib-${kind}`, `static-${kind}`, `offload-${kind}`, 'large', `Offloaded 100 MiB MB/s vs ${proxyName[kind]} serving the file itself`, { minimum: 0.95 })),
  compare('lib-direct', 'next-public', 'direct', 'large', 'Direct 100 MiB MB/s vs Next public/ (same process)', { minimum: 1.0 }),
  compare('lib-blob', 'naive-blob', 'remote-stream', 'large', 'Remote blob streamed, 100 MiB MB/s vs a naive fetch() pass-through', { minimum: 1.0 }),
  compare('lib-redirect', 'bare-redirect', 'remote-redirect', 'small', 'Redirect to a private blob, req/s vs a bare hand-written redirect', { minimum: 0.95, sameHeaders: 'front' }),
  compare('lib-nginx-remote', 'nginx-remote-direct', 'remote-nginx', 'large', 'nginx remote offload, 100 MiB MB/s vs nginx proxying the object directly', { minimum: 0.9 }),
  // Informational remote figures: the small body (the library asks the store for metadata first), and CPU.
  compare('lib-blob', 'naive-blob', 'remote-stream', 'small', 'Remote blob streamed, 1 KiB req/s vs a naive fetch() pass-through (metadata call included)'),
  compare('lib-redirect', 'bare-redirect', 'remote-redirect', 'small', 'Redirect, server CPU per request vs the bare redirect', { metric: 'cpu' }),
  compare('lib-redirect-cached', 'bare-redirect', 'remote-redirect-cache', 'small', 'Redirect with metadataCache, req/s vs the bare redirect'),
  compare('lib-redirect-cached', 'lib-redirect', 'remote-redirect-cache', 'small', 'Redirect with metadataCache vs without'),
  // The same judged pairs in server CPU per request, which a shared machine disturbs less.
  compare('lib-direct', 'next-minimal-fs', 'direct', 'small', 'Direct 1 KiB, server CPU per request vs the minimal inline file handler', { metric: 'cpu' }),
  ...PROXY_KINDS.map((kind) => compare(`lib-${kind}`, `offload-${kind}`, `offload-${kind}`, 'small', `Offloaded 1 KiB, CPU per request (Next + ${proxyName[kind]}) vs the hand-written offload handler`, { metric: 'cpu' })),
  ...(
    [
      ['lib-direct', 'next-bare', "Direct 1 KiB vs a bare handler on a fixed route (Next's floor)"],
      ['lib-virtual', 'next-bare', 'Virtual 1 KiB vs a bare handler on a fixed route'],
      ['next-bare-param', 'next-bare', 'What [...path] routing costs a bare handler'],
      ['next-bare-headers', 'next-bare-param', "What the library's eight response headers cost Next"],
      ['next-minimal-fs', 'next-bare-param', 'What reading the file at all costs (minimal handler vs bare handler, same route)'],
      ['lib-direct', 'next-bare-headers', 'The library vs a bare handler sending the same headers'],
      ['lib-direct-threadpool', 'lib-direct', "io 'threadpool' vs io auto (blocking on a local disk), 1 KiB"],
    ] as const
  ).map(([id, referenceId, question]) => compare(id, referenceId, 'direct-floor', 'small', question)),
  ...(
    [
      ['lib-direct', 'next-toweb', 'Library vs toWeb(createReadStream()) at its default 64 KiB chunks, 100 MiB'],
      ['lib-direct', 'next-toweb-256k', 'Library vs toWeb(createReadStream()) at the same 256 KiB chunks, 100 MiB'],
      ['next-toweb-256k', 'next-toweb', 'toWeb at 256 KiB vs 64 KiB chunks, 100 MiB'],
      ['lib-direct-threadpool', 'lib-direct', "io 'threadpool' vs io auto, 100 MiB"],
    ] as const
  ).map(([id, referenceId, question]) => compare(id, referenceId, 'streaming', 'large', question)),
  compare('lib-direct-malloc', 'lib-direct', 'malloc', 'large', 'glibc trim/mmap thresholds 128 MiB / 1 MiB vs the defaults, 100 MiB'),
  ...['node-send', 'next-public', 'lib-direct', 'next-readfile', 'next-toweb'].flatMap((id) => [
    compare(id, 'nginx-static', 'references', 'small', `${id} vs nginx static, 1 KiB`),
    compare(id, 'nginx-static', 'references', 'large', `${id} vs nginx static, 100 MiB`),
  ]),
  ...PROXY_KINDS.map((kind) => compare(`lib-${kind}`, 'next-bare', 'offload-vs-bare', 'small', `Offloaded through ${proxyName[kind]} vs a bare handler on a fixed route without a proxy, 1 KiB`)),
];

const memory: MemorySpec = {
  targets: [
    { id: 'lib-direct', judged: true, huge: true, warm: true },
    { id: 'next-public', judged: true, huge: true, warm: true },
    { id: 'node-send', judged: false, huge: true, warm: false },
    { id: 'next-toweb', judged: false, huge: true, warm: false },
    { id: 'next-toweb-256k', judged: false, huge: true, warm: false },
    { id: 'lib-direct-malloc', judged: false, huge: true, warm: false },
    // readFile holds every body whole: 8 x 100 MiB only (8 x 1 GiB is 8 GiB of RSS and minutes).
    { id: 'next-readfile', judged: false, huge: false, warm: false },
    // The store holds its objects in memory (test/servers/blob-server.ts): 100 MiB only.
    { id: 'lib-blob', judged: true, huge: false, warm: false },
    { id: 'naive-blob', judged: true, huge: false, warm: false },
  ],
  comparisons: [
    { id: 'lib-direct', referenceId: 'next-public', slackMiB: 4, question: "RSS growth streaming to concurrent clients, fresh server, vs Next public/'s growth in the same round" },
    { id: 'lib-blob', referenceId: 'naive-blob', slackMiB: 4, question: "RSS growth streaming a remote blob to concurrent clients, fresh server, vs the naive fetch() pass-through's growth in the same round" },
  ],
};

export const plan: Plan = { targets: [...nextTargets, ...proxyTargets, ...referenceTargets, ...remoteTargets], sessions, comparisons, memory };

/** The problems that make a plan unrunnable or its report meaningless (empty when consistent). */
export function checkPlan(candidate: Plan): string[] {
  const problems: string[] = [];
  const targetIds = new Set<string>();
  for (const target of candidate.targets) {
    if (targetIds.has(target.id)) problems.push(`target ${target.id} is declared twice`);
    targetIds.add(target.id);
    // A redirect's body is empty: there is no 100 MiB body to time, only storage's.
    if (target.redirect && target.files !== undefined) problems.push(`target ${target.id} redirects but declares files to load`);
    if (target.appBytes && target.files === undefined) problems.push(`target ${target.id} asks for an app-bytes check but serves no files`);
  }
  const sessionIds = new Set(candidate.sessions.map((session) => session.id));
  if (sessionIds.size !== candidate.sessions.length) problems.push('two sessions share an id');
  for (const session of candidate.sessions) {
    for (const load of ['small', 'large'] as const) {
      const sides = session[load] ?? [];
      if (new Set(sides).size !== sides.length) problems.push(`session ${session.id} loads a side twice (${load})`);
      for (const id of sides) {
        const target = candidate.targets.find((entry) => entry.id === id);
        if (!target) problems.push(`session ${session.id} names unknown target ${id}`);
        else if (load === 'large' && target.files === undefined) problems.push(`session ${session.id} loads ${id} with 100 MiB, which it does not serve`);
      }
    }
  }
  for (const comparison of candidate.comparisons) {
    const session = candidate.sessions.find((entry) => entry.id === comparison.session);
    const sides = session?.[comparison.load] ?? [];
    for (const id of [comparison.id, comparison.referenceId]) {
      if (!sides.includes(id)) problems.push(`comparison ${comparison.id} / ${comparison.referenceId}: session ${comparison.session} has no ${comparison.load} side ${id}`);
    }
    if (comparison.minimum !== undefined && !session?.judged) problems.push(`comparison ${comparison.id} / ${comparison.referenceId} has a target but its session is not judged`);
  }
  for (const entry of candidate.memory.targets) {
    const target = candidate.targets.find((candidateTarget) => candidateTarget.id === entry.id);
    if (!target?.files) problems.push(`memory target ${entry.id} is unknown or serves no files`);
  }
  for (const comparison of candidate.memory.comparisons) {
    for (const id of [comparison.id, comparison.referenceId]) {
      if (!candidate.memory.targets.some((entry) => entry.id === id && entry.judged)) problems.push(`memory comparison names ${id}, which is not a judged memory target`);
    }
  }
  return problems;
}
