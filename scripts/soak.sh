#!/usr/bin/env bash
# `npm run soak`: minutes of mixed traffic on next start and behind each proxy (bench/soak.ts), every
# body hashed against its source; writes bench/results/soak-latest.{json,md,svg}. Settings:
# SOAK_SECONDS (per target, default 60), SOAK_TARGETS (default direct,nginx,apache,lighttpd,caddy,remote,blob),
# SOAK_CONNECTIONS (default 16), SOAK_SEED. See docs/soak.md. Not part of `npm test` (a 10 s
# version is: test/e2e/soak.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
export NEXT_TELEMETRY_DISABLED=1

bash scripts/ensure-node-modules.sh
# Type-check the harness (the loader below only strips types).
node node_modules/typescript/bin/tsc -p bench/tsconfig.json
exec node --enable-source-maps --import ./bench/ts-loader.mjs bench/soak-cli.ts "$@"
