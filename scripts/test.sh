#!/usr/bin/env bash
# `npm test`: installs what the tests need (npm packages; nginx, Apache + mod_xsendfile, lighttpd,
# Caddy and Chromium from Debian when run as root, see install-system-deps.sh), builds the library,
# type-checks, and runs every test project: unit, in-process handler, the setup scripts, and end to
# end against real `next start` and real proxies. Suites whose programs are missing are skipped
# with the reason printed, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash scripts/install-system-deps.sh
npm run --silent build
npm run --silent typecheck
exec npx vitest run --config test/vitest.config.ts "$@"
