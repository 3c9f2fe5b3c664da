#!/usr/bin/env bash
# Every test, from a fresh clone: installs what is missing, builds, lints, runs the suites.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-deps.sh

ensure_debian_packages openssl gnupg skopeo tar make g++ python3
ensure_node_modules
npm run build
npm run lint

mkdir -p .test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=$?
node scripts/print-test-summary.mjs .test-results/vitest.json || status=1
exit $status
