#!/usr/bin/env bash
# `npm run example`: builds the library and the example app, then serves it with `next start` on
# 127.0.0.1:${PORT:-3000}: sign in as Alice or Bob, download your files, invoices from the SQLite
# database the app creates in example-app/.data/ on first run, a generated CSV, and share a file
# for 60 s. No proxy (the app streams); `npm run example:proxy -- nginx` runs it behind a proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
npm run --silent build
source scripts/example-secret.sh
cd example-app
export NEXT_TELEMETRY_DISABLED=1
node ../node_modules/next/dist/bin/next build
exec node ../node_modules/next/dist/bin/next start -H 127.0.0.1 -p "${PORT:-3000}"
