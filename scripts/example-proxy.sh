#!/usr/bin/env bash
# `npm run example:proxy -- <nginx|apache|lighttpd|caddy>`: the example app behind a real proxy
# started from the shipped config in example-app/deploy/, on http://127.0.0.1:${PORT:-8080}.
# The app runs `next start` on a free port with DOWNLOADVIEW_BACKEND set to that proxy, so files
# are offloaded (the generated CSV is still streamed by the app). Ctrl-C stops both.
# Needs the proxy installed (scripts/install-system-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  nginx | apache | lighttpd | caddy) ;;
  *) echo "usage: npm run example:proxy -- nginx|apache|lighttpd|caddy" >&2; exit 2 ;;
esac
export PATH="$PATH:/usr/sbin:/sbin"
export NEXT_TELEMETRY_DISABLED=1
bash scripts/ensure-node-modules.sh
source scripts/example-secret.sh
exec node --enable-source-maps --import ./bench/ts-loader.mjs scripts/example-proxy.ts "$1"
