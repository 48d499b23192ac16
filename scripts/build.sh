#!/usr/bin/env bash
# Configures and builds sealtrace.
#   scripts/build.sh                 release build in build/
#   scripts/build.sh --sanitize      clang ASan+UBSan build in build-asan/: every test
#                                    and every libFuzzer target (fuzz/) from one compile
#   scripts/build.sh --fuzz          only the libFuzzer targets of that same build
set -euo pipefail
cd "$(dirname "$0")/.."
mode=release
[[ "${1:-}" == "--sanitize" ]] && mode=asan
[[ "${1:-}" == "--fuzz" ]] && mode=fuzz
jobs=$(nproc)
# ccache (installed by install-deps.sh) makes rebuilds of unchanged files free;
# CCACHE_BASEDIR lets two clones of the tree share one cache.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# The sanitizer stage of scripts/test.sh runs every test except these labels,
# so the sanitizer build does not compile them either.
asan_skip="bench;scale;pg;browser"
case "$mode" in
  release)
    # -O2 without debug info: full -g costs about a third of the compile time
    # (measured on access/http_api.cc: 43 s -> 30 s user); backtraces keep
    # function names. Configure build/ yourself with RelWithDebInfo to debug.
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
      -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" "${launcher[@]}" >/dev/null
    cmake --build build -j"$jobs" ;;
  asan|fuzz)
    # One clang build serves the sanitizer tests and the fuzzers: the code is
    # instrumented for libFuzzer's coverage as well (fuzzer-no-link), so the
    # fuzz stage only links. clang also compiles this build about 1.5-1.9x
    # faster than g++ with the same sanitizers (measured on exporter_test.cc,
    # 56 s -> 29-35 s; http_api.cc 34 s -> 21-23 s).
    CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_C_FLAGS=-O1 -DSEALTRACE_SANITIZE=ON -DSEALTRACE_FUZZ=ON \
      -DSEALTRACE_BENCH=OFF -DSEALTRACE_SKIP_TEST_LABELS="$asan_skip" "${launcher[@]}" >/dev/null
    if [[ "$mode" == fuzz ]]; then
      cmake --build build-asan -j"$jobs" --target \
        $(sed -n 's/^sealtrace_fuzzer(\([a-z_0-9]*\).*/\1_fuzz/p' fuzz/CMakeLists.txt)
    else
      cmake --build build-asan -j"$jobs"
    fi ;;
esac
