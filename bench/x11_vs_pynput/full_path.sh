#!/usr/bin/env bash
# The issue's side-by-side benchmark with the FULL sealtrace path on: the
# recorder is `sealtrace agent --source x11` (X11 source -> privacy gate ->
# sealing -> fsync'd spool), against the pynput recorder, on one Xvfb and the
# same xdotool workload (run.sh).
#
#   [BENCH_KEY_BATCH_MS=8] [BENCH_RUNS=3] bench/x11_vs_pynput/full_path.sh [BUILD_DIR]
#
# Three rounds by default (about 2.5 minutes): one round's ratio moves by
# +-15 % on a shared machine; the summary gives the median and the worst.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
BIN=$BUILD/src/cli/sealtrace
[[ -x "$BIN" ]] || { echo "full_path.sh: $BIN not built" >&2; exit 2; }
WORK=$(mktemp -d /tmp/x11full.XXXXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
"$BIN" server --data "$WORK/vault" --listen "127.0.0.1:$PORT" --allow-plain-http >"$WORK/vault.log" 2>&1 &
VPID=$!
trap 'kill $VPID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
"$BIN" enroll --server "http://127.0.0.1:$PORT" --name bench --config "$WORK/agent/agent.toml" \
  --secret-file "$WORK/vault/enroll.secret" --accept-scope >/dev/null
# BENCH_KEY_BATCH_MS=N sets the agent's capture.key_batch_ms (docs/BENCHMARKS.md).
if [[ -n "${BENCH_KEY_BATCH_MS:-}" ]]; then
  printf '\n[capture]\nkey_batch_ms = %d\n' "$BENCH_KEY_BATCH_MS" >> "$WORK/agent/agent.toml"
fi
# --no-upload keeps the comparison to what runs on the device: capture, gate,
# seal, spool. (Uploading adds one HTTP request per second.)
export SEALTRACE_RECORDER_CMD="$BIN agent --config $WORK/agent/agent.toml --source x11 --no-upload --summary-json"
export BENCH_READY_WAIT=${BENCH_READY_WAIT:-3}
export BENCH_RUNS=${BENCH_RUNS:-3}
bash "$HERE/run.sh" "$BUILD"
