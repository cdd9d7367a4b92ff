import { describe, expect, it } from 'vitest';
import { apache, backendFromEnv, caddy, lighttpd, nginx, redirect } from '../../../src/index.js';
import type { DownloadFile, PlanContext, RemoteObject } from '../../../src/index.js';

const asked: string[] = [];
function remoteFile(kind: 'blob' | 'remote', remote: Partial<RemoteObject> = {}): DownloadFile {
  return {
    kind,
    name: 'report.pdf',
    size: 10,
    etag: '"v1"',
    open: () => Promise.reject(new Error('not opened in these tests')),
    remote: {
      url: async (method) => {
        asked.push(method);
        return `https://store.private.blob.vercel-storage.com/docs/report.pdf?sig=${method}`;
      },
      permanent: false,
      redirectable: kind === 'blob',
      offloadable: true,
      filename: 'report.pdf',
      contentType: 'application/pdf',
      contentDisposition: 'inline; filename="report.pdf"',
      ...remote,
    },
  };
}
const context = (extra: Partial<PlanContext> = {}): PlanContext => ({ method: 'GET', disposition: 'attachment', filename: 'report.pdf', contentType: 'application/pdf', ...extra });

async function locationOf(plan: ReturnType<ReturnType<typeof redirect>['plan']>): Promise<string> {
  if (plan.kind !== 'offload') throw new Error(`streamed: ${plan.reason}`);
  return typeof plan.location === 'string' ? plan.location : plan.location();
}

describe('redirect()', () => {
  it('redirects a private blob to a URL presigned for the method, with download=1 for attachments', async () => {
    const backend = redirect();
    expect(await locationOf(backend.plan(remoteFile('blob'), context()))).toBe('https://store.private.blob.vercel-storage.com/docs/report.pdf?sig=GET&download=1');
    expect(await locationOf(backend.plan(remoteFile('blob'), context({ method: 'HEAD', disposition: 'inline' })))).toBe('https://store.private.blob.vercel-storage.com/docs/report.pdf?sig=HEAD');
  });

  it('answers with 302, no-store, no-referrer and nothing else of the file', async () => {
    const response = redirect().respond('https://example.test/x', new Headers({ etag: '"v1"', 'content-disposition': 'attachment' }));
    expect(response.status).toBe(302);
    expect([...response.headers].sort()).toEqual([
      ['cache-control', 'private, no-store'],
      ['location', 'https://example.test/x'],
      ['referrer-policy', 'no-referrer'],
    ]);
    expect(redirect({ status: 307 }).respond('https://example.test/x', new Headers()).status).toBe(307);
  });

  it('streams, with a reason, whatever the storage would answer differently', () => {
    const backend = redirect();
    const reason = (file: DownloadFile, extra: Partial<PlanContext> = {}) => {
      const plan = backend.plan(file, context(extra));
      return plan.kind === 'stream' ? plan.reason : 'offload';
    };
    expect(reason(remoteFile('blob'), { filename: 'other.pdf' })).toMatch(/download name/);
    expect(reason(remoteFile('blob'), { contentType: 'text/plain' })).toMatch(/Content-Type/);
    expect(reason(remoteFile('blob', { contentDisposition: 'attachment; filename="report.pdf"' }), { disposition: 'inline' })).toMatch(/inline/);
    expect(reason(remoteFile('blob', { permanent: true }))).toMatch(/public blobs/);
    expect(reason(remoteFile('remote'))).toMatch(/redirect cannot send clients to remote files/);
    expect(reason({ ...remoteFile('blob'), kind: 'filesystem', remote: undefined })).toMatch(/filesystem/);
    expect(redirect({ public: true }).plan(remoteFile('blob', { permanent: true }), context()).kind).toBe('offload');
    expect(reason(remoteFile('blob'), { contentType: 'application/pdf; charset=binary' })).toBe('offload');
  });

  it('refuses bad options at factory time', () => {
    expect(() => redirect({ public: 'yes' as unknown as boolean })).toThrow(/redirect\.public/);
    expect(() => redirect({ status: 301 as 302 })).toThrow(/redirect\.status/);
  });
});

describe('nginx() remote offload', () => {
  const rules = { '/srv/media': '/_protected/media' };

  it('offloads a blob or URL to the internal location, with the URL presigned for the method in its own header', async () => {
    const backend = nginx({ rules });
    const plan = backend.plan(remoteFile('blob'), context({ method: 'HEAD' }));
    const response = backend.respond(await locationOf(plan), new Headers({ 'content-type': 'application/pdf' }));
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/remote/');
    expect(response.headers.get('x-accel-remote-url')).toMatch(/sig=HEAD$/);
    expect(response.headers.get('content-type')).toBe('application/pdf');
  });

  it('honours another location and header, or streams remote files with remote: false', async () => {
    const custom = nginx({ rules, remote: { location: '/_storage/', header: 'X-Accel-Storage-Url' } });
    const response = custom.respond(await locationOf(custom.plan(remoteFile('remote'), context())), new Headers());
    expect(response.headers.get('x-accel-redirect')).toBe('/_storage/');
    expect(response.headers.get('x-accel-storage-url')).toMatch(/^https:/);
    expect(nginx({ rules, remote: false }).plan(remoteFile('blob'), context())).toMatchObject({ kind: 'stream', reason: expect.stringMatching(/nginx cannot fetch blob files/) });
    expect(() => nginx({ rules, remote: { header: 'x-remote-url' } })).toThrow(/nginx\.remote\.header/);
    expect(() => nginx({ rules, remote: { location: '../x' } })).toThrow(/nginx\.remote\.location/);
  });

  it('streams a URL that needs the app credentials, and remote files behind the other proxies', () => {
    expect(nginx({ rules }).plan(remoteFile('remote', { offloadable: false }), context())).toMatchObject({ kind: 'stream', reason: expect.stringMatching(/credentials/) });
    for (const backend of [apache(), lighttpd(), caddy()]) {
      expect(backend.plan(remoteFile('blob'), context())).toMatchObject({ kind: 'stream', reason: expect.stringMatching(/cannot fetch blob files/) });
    }
  });
});

describe('backendFromEnv: redirect', () => {
  it('selects redirect(), public blobs only with DOWNLOADVIEW_REDIRECT_PUBLIC=1', () => {
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'redirect' }).name).toBe('redirect');
    const publicFile = remoteFile('blob', { permanent: true });
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'redirect' }).plan(publicFile, context()).kind).toBe('stream');
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'redirect', DOWNLOADVIEW_REDIRECT_PUBLIC: '1' }).plan(publicFile, context()).kind).toBe('offload');
    expect(() => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'redirect', DOWNLOADVIEW_REDIRECT_PUBLIC: 'yes' })).toThrow(/DOWNLOADVIEW_REDIRECT_PUBLIC/);
  });
});
