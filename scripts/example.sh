#!/usr/bin/env bash
# `npm run example`: builds the library and the example app, then serves it with `next start` on
# 127.0.0.1:${PORT:-3000} — filesystem source over example-app/media, no proxy (streamed by the app).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
npm run --silent build
cd example-app
export NEXT_TELEMETRY_DISABLED=1
node ../node_modules/next/dist/bin/next build
exec node ../node_modules/next/dist/bin/next start -H 127.0.0.1 -p "${PORT:-3000}"
