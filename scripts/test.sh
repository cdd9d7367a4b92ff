#!/usr/bin/env bash
# `npm test`: installs what the tests need (npm packages; nginx, Apache + mod_xsendfile, lighttpd,
# Caddy and Chromium from Debian), builds the library, type-checks, and runs every test project:
# unit, in-process handler, and end-to-end against real `next start` and real proxies.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash scripts/install-system-deps.sh
npm run --silent build
npm run --silent typecheck
exec npx vitest run --config test/vitest.config.ts "$@"
