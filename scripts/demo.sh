#!/usr/bin/env bash
# The demo from a fresh clone: installs what is missing, builds, runs `sovereign demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-deps.sh

ensure_debian_packages openssl make g++ python3
ensure_node_modules
npm run build --silent
exec node cli/bin/sovereign.js demo "$@"
