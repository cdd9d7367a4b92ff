import { readdir } from 'node:fs/promises';
import path from 'node:path';

export const dynamic = 'force-dynamic';

const mediaRoot = process.env.MEDIA_ROOT ?? path.join(process.cwd(), 'media');

/** Lists the files the download route serves, with links that go through it. */
export default async function Home() {
  const entries = await readdir(/* turbopackIgnore: true */ mediaRoot, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => path.relative(mediaRoot, path.join(entry.parentPath, entry.name)))
    .sort();
  return (
    <main>
      <h1>next-downloadview example</h1>
      <p>Files under <code>{mediaRoot}</code>, served by <code>app/files/[...path]/route.ts</code>.</p>
      <ul>
        {files.map((file) => (
          <li key={file}>
            <a href={`/files/${file.split('/').map(encodeURIComponent).join('/')}`}>{file}</a>
          </li>
        ))}
      </ul>
    </main>
  );
}
