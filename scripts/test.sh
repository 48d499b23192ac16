#!/usr/bin/env bash
# Installs what sealtrace needs, builds it, and runs every test:
#   1. the full suite (unit, whole-process e2e and crash loops, real Xvfb, real
#      PostgreSQL and NATS where present, browser tests) on a release build;
#   2. the unit and e2e suites again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (clang; the same build also holds the libFuzzer targets);
#   3. every libFuzzer target briefly on its seed corpus.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
start=$(date +%s)
stage() { echo "== $1 (at $(( $(date +%s) - start )) s)"; }
stage "release build"
bash scripts/build.sh
stage "tests (release)"
(cd build && ctest --output-on-failure -j2 --timeout 900)
if [[ "${SEALTRACE_SKIP_ASAN:-0}" != 1 ]]; then
  stage "ASan+UBSan build"
  bash scripts/build.sh --sanitize
  stage "tests (ASan+UBSan)"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j2 --timeout 1200 -LE "bench|scale|pg|browser")
fi
if [[ "${SEALTRACE_SKIP_FUZZ:-0}" != 1 ]]; then
  stage "fuzzers (short runs on the seed corpora)"
  bash scripts/build.sh --fuzz  # nothing to compile after stage 2: links only
  for f in build-asan/fuzz/*_fuzz; do
    name=$(basename "$f" _fuzz)
    corpus="fuzz/corpus/$name"
    work=$(mktemp -d)
    echo "-- $name"
    "$f" -max_total_time="${SEALTRACE_FUZZ_SECONDS:-15}" -rss_limit_mb=2048 "$work" "$corpus" \
      2>&1 | tail -3
    rm -rf "$work"
  done
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
