/**
 * The example app clicked through in a real browser (Debian's Chromium driven by playwright-core):
 * sign in, download your files (plain, non-ASCII name, inline PDF, generated CSV), be refused
 * someone else's, share a file for 60 s and open the link signed out, open an expired link, and
 * the files from the local Blob store and URL upstream (test/servers/example-world.ts). Every
 * saved file is checked by name and sha256 against its source bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Download, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedLinks } from '../../src/signed-links.js';
import { ensureBuilt, exampleApp } from '../helpers/fixture.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { describeWith } from '../helpers/suites.js';
import { CHROMIUM_PATH } from '../helpers/system.js';
import { EXAMPLE_REMOTE_FILES, startExampleWorld, type ExampleWorld } from '../servers/example-world.js';


const SECRET = 'example-browser-test-secret-3b9f0c2e7a41d5';
const media = path.join(exampleApp, 'media');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const onDisk = (key: string) => readFileSync(path.join(media, key));

describeWith(['chromium'])('the example app in Chromium', () => {
  let server: RunningNext;
  let remote: ExampleWorld;
  let dataDir: string;
  let profile: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    await ensureBuilt(exampleApp);
    // A fresh data directory: the app must create its database on first run.
    dataDir = mkdtempSync(path.join(tmpdir(), 'dv-example-data-'));
    // The store on a free port, as for a user who may not bind 443: next start streams the Blob
    // file through the dispatcher preload's port mapping.
    remote = await startExampleWorld({ objectPort: 0 });
    server = await startNext(exampleApp, { ...remote.env, DOWNLOADVIEW_SECRET: SECRET, DATA_DIR: dataDir });
    profile = mkdtempSync(path.join(tmpdir(), 'dv-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      acceptDownloads: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    await remote?.stop();
    for (const dir of [dataDir, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Click what `selector` finds and return the download it starts, saved, with its bytes. */
  async function downloadBy(on: Page, selector: string): Promise<{ download: Download; bytes: Buffer }> {
    const [download] = await Promise.all([on.waitForEvent('download'), on.click(selector)]);
    expect(await download.failure()).toBeNull();
    return { download, bytes: readFileSync((await download.path())!) };
  }

  /** Put a link to `href` on the page, as a chat message would show it; its selector. */
  async function linkOnPage(on: Page, href: string): Promise<string> {
    await on.evaluate((target) => {
      const anchor = document.createElement('a');
      anchor.id = 'pasted-link';
      anchor.href = target;
      anchor.textContent = 'a link someone sent';
      document.body.append(anchor);
    }, href);
    return '#pasted-link';
  }

  /** Click a link that does not download; the status of the navigation to `path` and the text the browser then shows. */
  async function navigateBy(selector: string, path: string): Promise<{ status: number; text: string }> {
    const [response] = await Promise.all([
      page.waitForResponse((each) => each.request().isNavigationRequest() && new URL(each.url()).pathname === path),
      page.click(selector),
    ]);
    await page.waitForLoadState();
    return { status: response.status(), text: (await page.textContent('body')) ?? '' };
  }

  it('creates its database on first run and shows the page signed out', async () => {
    await page.goto(`${server.url}/`);
    expect(await page.textContent('body')).toContain('Not signed in.');
    expect(server.output()).toContain(`created ${path.join(dataDir, 'example.sqlite')} with 3 invoices`);
    expect(existsSync(path.join(dataDir, 'example.sqlite'))).toBe(true);
  });

  it('sends a signed-out click on a file to the sign-in form', async () => {
    const { status } = await navigateBy('a[data-key="users/alice/notes.txt"]', '/files/users/alice/notes.txt');
    expect(status).toBe(303);
    await page.waitForURL(`${server.url}/?signin=required`);
    expect(await page.textContent('#notice')).toBe('Sign in to download that file.');
  });

  it('signs in', async () => {
    await Promise.all([page.waitForNavigation(), page.click('button[value="alice"]')]);
    expect(await page.textContent('#user')).toBe('Alice');
  });

  it('downloads a plain file byte-exact', async () => {
    const { download, bytes } = await downloadBy(page, 'a[data-key="users/alice/notes.txt"]');
    expect(download.suggestedFilename()).toBe('notes.txt');
    expect(sha256(bytes)).toBe(sha256(onDisk('users/alice/notes.txt')));
  });

  it('downloads a non-ASCII name under that name', async () => {
    const { download, bytes } = await downloadBy(page, 'a[data-key="users/alice/Bericht für März.txt"]');
    expect(download.suggestedFilename()).toBe('Bericht für März.txt');
    expect(sha256(bytes)).toBe(sha256(onDisk('users/alice/Bericht für März.txt')));
  });

  it('shows an invoice PDF from the database inline', async () => {
    let downloads = 0;
    page.on('download', () => (downloads += 1));
    const [response] = await Promise.all([page.waitForResponse((each) => each.url().endsWith('/invoices/1')), page.click('a[data-invoice="1"]')]);
    try {
      expect(response.status()).toBe(200);
      const headers = response.headers();
      expect(headers['content-type']).toBe('application/pdf');
      expect(headers['content-disposition']).toBe('inline; filename="Rechnung 2026-001.pdf"');
      expect(page.url()).toBe(`${server.url}/invoices/1`);
      // Chromium's viewer reads the PDF in ranges of its own: the bytes are fetched once more, with the session.
      const fetched = await page.request.get(`${server.url}/invoices/1`);
      expect(sha256(await fetched.body())).toBe(sha256(onDisk('invoices/2026-001.pdf')));
      expect(downloads, 'shown, not saved').toBe(0);
    } finally {
      await page.goto(`${server.url}/`);
    }
  });

  it('downloads the generated CSV', async () => {
    const { download, bytes } = await downloadBy(page, '#report');
    expect(download.suggestedFilename()).toBe('invoices-alice.csv');
    expect(bytes.toString()).toBe('number,amount_eur,updated_at\n2026-001,120.00,2026-03-01T09:00:00Z\n2026-003,42.00,2026-04-01T09:00:00Z\n');
  });

  it('downloads the files from the Blob store and the URL upstream', async () => {
    for (const file of Object.values(EXAMPLE_REMOTE_FILES)) {
      const { download, bytes } = await downloadBy(page, `a[data-remote="${file.route}"]`);
      expect(download.suggestedFilename()).toBe(path.basename(file.key));
      expect(download.url()).toBe(`${server.url}/${file.route}/${file.key}`);
      expect(sha256(bytes)).toBe(sha256(readFileSync(file.file)));
    }
  });

  it('refuses someone else’s file and invoice, and the page says so', async () => {
    const file = await navigateBy('a[data-key="users/bob/plans.txt"]', '/files/users/bob/plans.txt');
    expect(file.status).toBe(403);
    expect(file.text.trim()).toBe('Forbidden');
    expect(file.text).not.toContain('Bob');
    await page.goto(`${server.url}/`);
    const invoice = await navigateBy('a[data-invoice="2"]', '/invoices/2');
    expect(invoice.status).toBe(404);
    expect(invoice.text.trim()).toBe('Not Found');
    await page.goto(`${server.url}/`);
  });

  it('shares a file for 60 s: the link works signed out, in another browser profile', async () => {
    await Promise.all([page.waitForNavigation(), page.click('button[data-share="users/alice/Bericht für März.txt"]')]);
    const link = await page.getAttribute('#shared-link', 'href');
    expect(link).toMatch(/^\/files\/users\/alice\/Bericht%20f%C3%BCr%20M%C3%A4rz\.txt\?expires=\d+&signature=[\w-]{43}$/);
    const expires = Number(new URL(link!, server.url).searchParams.get('expires'));
    expect(expires * 1000 - Date.now()).toBeGreaterThan(30_000);
    expect(expires * 1000 - Date.now()).toBeLessThanOrEqual(61_000);

    const stranger = await context.browser()?.newContext({ acceptDownloads: true });
    // A persistent context has no browser object: a second page with its cookies cleared stands in.
    const signedOut = stranger ?? context;
    const other = await signedOut.newPage();
    if (!stranger) await context.clearCookies();
    await other.goto(`${server.url}/`);
    expect(await other.textContent('body')).toContain('Not signed in.');
    const { download, bytes } = await downloadBy(other, await linkOnPage(other, link!));
    expect(download.suggestedFilename()).toBe('Bericht für März.txt');
    expect(sha256(bytes)).toBe(sha256(onDisk('users/alice/Bericht für März.txt')));
    await other.close();
    await stranger?.close();
  });

  it('refuses an expired shared link with a page that says it expired (its owner, signed in, still gets the file)', async () => {
    const links = signedLinks({ secret: SECRET });
    const expired = await links.sign('/files/users/alice/notes.txt', { expires: new Date(Date.now() - 10 * 60_000) });
    await page.goto(`${server.url}/`);
    const { bytes } = await downloadBy(page, await linkOnPage(page, expired));
    expect(sha256(bytes)).toBe(sha256(onDisk('users/alice/notes.txt')));
    await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
    expect(await page.textContent('body')).toContain('Not signed in.');
    const response = await page.goto(`${server.url}${expired}`);
    expect(response?.status()).toBe(410);
    expect(await page.textContent('#refused')).toBe('This link has expired. Ask for a new one.');
    const forged = await page.goto(`${server.url}${expired.replace(/expires=\d+/, `expires=${Math.floor(Date.now() / 1000) + 600}`)}`);
    expect(forged?.status()).toBe(403);
    expect(await page.textContent('#refused')).toBe('This link is not valid.');
  });

  it('lists what the onDownload hook recorded', async () => {
    await page.goto(`${server.url}/`);
    const rows = await page.$$eval('#downloads tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent).join(' | ')));
    expect(rows).toContain('alice | /files/users/alice/notes.txt | completed | 200 | 67 bytes');
    expect(rows).toContain('alice | /files/users/bob/plans.txt | refused | 403 | 0 bytes');
    expect(rows).toContain('shared link | /files/users/alice/Bericht für März.txt | completed | 200 | 49 bytes');
    for (const file of Object.values(EXAMPLE_REMOTE_FILES)) {
      expect(rows).toContain(`alice | /${file.route}/${file.key} | completed | 200 | ${readFileSync(file.file).length} bytes`);
    }
  });
});
