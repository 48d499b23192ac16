#!/usr/bin/env bash
# Runs the dashboard's browser tests (playwright-core + Debian's chromium).
#   bash tests/dashboard/run.sh PATH/TO/dashboard_test_server [PATH/TO/sealtrace]
# dashboard.test.mjs runs against dashboard_test_server (a seeded vault with a
# movable clock); recorder.test.mjs, when the sealtrace binary is given, runs
# against the real `sealtrace server` (TLS) with a real recording agent.
# Exits 77 (CTest: skipped) with a clear message only when node or chromium is
# missing. Never downloads a browser. UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node/npm not installed (apt-get install nodejs npm); browser tests not run"
  exit 77
fi
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$CHROMIUM" ]]; then
  echo "SKIPPED: chromium not found at $CHROMIUM (apt-get install chromium); browser tests not run"
  exit 77
fi
server=$(realpath "${1:?usage: run.sh PATH/TO/dashboard_test_server [PATH/TO/sealtrace]}")
files=(dashboard.test.mjs)
if [[ -n "${2:-}" ]]; then
  export SEALTRACE_BIN=$(realpath "$2")
  files+=(recorder.test.mjs)
fi
if [[ ! -f "$here/node_modules/playwright-core/package.json" ]]; then
  # playwright-core only (no browser download; it has no install scripts anyway).
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts)
fi
export DASHBOARD_TEST_SERVER=$server CHROMIUM PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd "$here"
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
