#!/usr/bin/env bash
# `npm run example`: the example app as a user's app meets the library: the checkout is packed
# (`npm pack`), example-app/ is copied outside the repository, installs that tarball with Next and
# React, is built there (scripts/consumer-app.mjs; a second run with nothing changed reuses it),
# and serves with `next start` on 127.0.0.1:${PORT:-3000}: filesystem source over
# example-app/media (MEDIA_ROOT overrides), no proxy (streamed by the app).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
app=$(node scripts/consumer-app.mjs example-app)
export NEXT_TELEMETRY_DISABLED=1
export MEDIA_ROOT="${MEDIA_ROOT:-$PWD/example-app/media}"
echo "example: $app (files from $MEDIA_ROOT)" >&2
cd "$app"
exec node node_modules/next/dist/bin/next start -H 127.0.0.1 -p "${PORT:-3000}"
