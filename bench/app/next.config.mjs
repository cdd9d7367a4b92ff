// Benchmark app: every Next.js target of `npm run bench`. Like a user's app it installs the packed
// library (scripts/consumer-app.mjs builds it outside the repository) and keeps Next's defaults.
/** @type {import('next').NextConfig} */
const config = {};

export default config;
