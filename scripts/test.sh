#!/usr/bin/env bash
# `npm test`: installs what the tests need (npm packages; nginx, Apache + mod_xsendfile, lighttpd,
# Caddy and Chromium from Debian when run as root, see install-system-deps.sh), type-checks, and
# runs every test project: unit, in-process handler, the setup scripts, the packed tarball
# (contents, publint, attw), and end to end against real `next start` (Next 16 and 15) and real
# proxies. The e2e apps install the tarball `npm pack` makes (its `prepare` builds dist/), outside
# the repository: see scripts/consumer-app.mjs. Suites whose programs are missing are skipped with
# the reason printed, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash scripts/install-system-deps.sh
npm run --silent typecheck
exec npx vitest run --config test/vitest.config.ts "$@"
