import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { headers } from 'next/headers';
import { mediaRoot } from '../lib/config';
import { allInvoices, recentDownloads } from '../lib/db';
import { SHARE_SECONDS } from '../lib/links';
import { BLOB_KEY, URL_KEY } from '../lib/remote';
import { userFromCookieHeader } from '../lib/session';
import { mayRead, users } from '../lib/users';

export const dynamic = 'force-dynamic';

const href = (key: string, route = 'files') => `/${route}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** The files below users/ and shared/, as keys (`users/alice/notes.txt`). */
async function mediaKeys(): Promise<string[]> {
  const keys: string[] = [];
  for (const top of ['users', 'shared']) {
    const entries = await readdir(path.join(/* turbopackIgnore: true */ mediaRoot, top), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isFile() && !entry.name.startsWith('.')) keys.push(path.relative(mediaRoot, path.join(entry.parentPath, entry.name)));
    }
  }
  return keys.sort();
}

export default async function Home({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const query = await searchParams;
  const user = await userFromCookieHeader((await headers()).get('cookie'));
  const [keys, invoices, downloads] = await Promise.all([mediaKeys(), allInvoices(), recentDownloads()]);
  const shared = typeof query.shared === 'string' && query.shared.startsWith('/files/') ? query.shared : undefined;

  return (
    <main>
      <h1>next-downloadview example</h1>
      <p>Protected downloads: your own files, invoices from a database, a generated CSV, files from a Blob store and a URL, and links you can share for {SHARE_SECONDS} seconds.</p>

      {query.signin === 'required' && <p role="alert" id="notice">Sign in to download that file.</p>}
      {query.share === 'refused' && <p role="alert" id="notice">You can only share your own files.</p>}

      <section>
        {user ? (
          <form method="post" action="/auth/sign-out">
            Signed in as <strong id="user">{user.name}</strong> <button type="submit">Sign out</button>
          </form>
        ) : (
          <form method="post" action="/auth/sign-in">
            Not signed in.{' '}
            {users.map((each) => (
              <button key={each.id} type="submit" name="user" value={each.id}>
                Sign in as {each.name}
              </button>
            ))}
          </form>
        )}
      </section>

      {shared && (
        <section id="shared">
          <h2>Shared link</h2>
          <p>
            Anyone with this link can download the file for {SHARE_SECONDS} s, signed in or not:{' '}
            <a id="shared-link" href={shared}>{decodeURIComponent(shared.split('?')[0]!)}</a>
          </p>
        </section>
      )}

      <section>
        <h2>Files</h2>
        <ul>
          {keys.map((key) => {
            const yours = user !== undefined && mayRead(user, key);
            return (
              <li key={key}>
                <a href={href(key)} data-key={key}>{key}</a>
                {user && !yours && <em> (not yours: you will be refused)</em>}
                {yours && key.startsWith('users/') && (
                  <form method="post" action="/share" style={{ display: 'inline', marginLeft: '0.5em' }}>
                    <input type="hidden" name="key" value={key} />
                    <button type="submit" data-share={key}>Share for {SHARE_SECONDS} s</button>
                  </form>
                )}
              </li>
            );
          })}
        </ul>
      </section>

      <section>
        <h2>Remote files</h2>
        <ul>
          <li>
            <a href={href(BLOB_KEY, 'blob')} data-remote="blob">{BLOB_KEY}</a> from a Vercel Blob store (
            {!process.env.BLOB_READ_WRITE_TOKEN ? 'not configured: set BLOB_READ_WRITE_TOKEN' : process.env.VERCEL_BLOB_API_URL ? 'the local Blob-compatible store' : 'your store'})
          </li>
          <li>
            <a href={href(URL_KEY, 'url')} data-remote="url">{URL_KEY}</a> from an HTTP URL the app names (
            {process.env.EXAMPLE_UPSTREAM_URL ? 'the local upstream' : 'not configured: set EXAMPLE_UPSTREAM_URL'})
          </li>
        </ul>
      </section>

      <section>
        <h2>Invoices (from the database)</h2>
        <ul>
          {invoices.map((invoice) => (
            <li key={invoice.id}>
              <a href={`/invoices/${invoice.id}`} data-invoice={invoice.id}>Rechnung {invoice.number}.pdf</a>
              {user && invoice.owner !== user.id && <em> (not yours: looks missing, 404)</em>}
            </li>
          ))}
        </ul>
        <p>
          <a href="/reports/invoices.csv" id="report">Your invoices as CSV</a> (generated per request)
        </p>
      </section>

      <section>
        <h2>Recent downloads (the onDownload hook)</h2>
        <table id="downloads">
          <tbody>
            {downloads.map((row, index) => (
              <tr key={index}>
                <td>{row.user}</td>
                <td>{row.path}</td>
                <td>{row.outcome}</td>
                <td>{row.status}</td>
                <td>{row.bytes} bytes</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
