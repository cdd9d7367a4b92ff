#!/usr/bin/env bash
# `npm run bench`: install bench/app with the packed library (as the e2e apps do), then run bench/plan.ts (bench/README.md has the
# BENCH_* settings, the full-run command and a smoke run).
# Needs nginx, apache2 + mod_xsendfile, lighttpd, caddy, wrk and curl: scripts/install-system-deps.sh.
# Not part of `npm test`. Writes bench/results/latest.{json,md,svg} and the section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
export NEXT_TELEMETRY_DISABLED=1

for bin in wrk curl nginx apache2 lighttpd caddy; do
  command -v "$bin" >/dev/null 2>&1 || { echo "bench: $bin is missing; run scripts/install-system-deps.sh" >&2; exit 1; }
done

bash scripts/ensure-node-modules.sh
# Type-check the harness (the loader below only strips types).
node node_modules/typescript/bin/tsc -p bench/tsconfig.json
exec node --enable-source-maps --import ./bench/ts-loader.mjs bench/run.ts "$@"
