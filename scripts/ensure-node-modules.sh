#!/usr/bin/env bash
# Installs the npm dependencies from the lockfile when they are missing or older than it, so the
# README's commands work on a fresh clone. Run by test.sh, example.sh and bench.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
