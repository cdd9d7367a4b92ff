// Benchmark app: every Next.js target of `npm run bench`, built once and started per target.
// It imports `next-downloadview` from this repository's dist/ (package self-reference), which lies
// outside the app's folder: Turbopack and file tracing must start at the repository root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** @type {import('next').NextConfig} */
const config = {
  turbopack: { root: repositoryRoot },
  outputFileTracingRoot: repositoryRoot,
};

export default config;
