#!/usr/bin/env bash
# `npm run example`: the example app as a user's app meets the library: the checkout is packed
# (`npm pack`), example-app/ is copied outside the repository, installs that tarball with Next and
# React, is built there (scripts/consumer-app.mjs; a second run with nothing changed reuses it),
# and serves with `next start` on 127.0.0.1:${PORT:-3000}: sign in as Alice or Bob, download your
# files, invoices from the SQLite database the app creates in example-app/.data/ on first run, a
# generated CSV, a file from a Vercel Blob store and one from a URL, and share a file for 60 s.
# Without BLOB_READ_WRITE_TOKEN the Blob file comes from a local Blob-compatible store, and the URL
# file always from a local HTTP server; scripts/example.ts starts both and stops them on exit.
# No proxy (the app streams); `npm run example:proxy -- nginx` runs it behind a proxy.
# MEDIA_ROOT and DATA_DIR override the folders.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
source scripts/example-secret.sh
app=$(node scripts/consumer-app.mjs example-app)
export NEXT_TELEMETRY_DISABLED=1
export MEDIA_ROOT="${MEDIA_ROOT:-$PWD/example-app/media}"
export DATA_DIR="${DATA_DIR:-$PWD/example-app/.data}"
echo "example: $app (files from $MEDIA_ROOT, data in $DATA_DIR)" >&2
exec node --enable-source-maps --import ./bench/ts-loader.mjs scripts/example.ts "$app"
