#!/usr/bin/env bash
# Side-by-side capture cost on one Xvfb: the same xdotool workload (>= 2,000
# typed characters plus pointer moves, clicks and scrolls) recorded once by a
# minimal pynput recorder (pynput_recorder.py, appends JSON lines to a file)
# and once by the sealtrace recorder.
#
#   bench/x11_vs_pynput/run.sh [BUILD_DIR]
#
# The sealtrace side runs $SEALTRACE_RECORDER_CMD if set (e.g.
#   SEALTRACE_RECORDER_CMD='build/sealtrace agent --source x11 ...'
# "{READY}" in it is replaced by a file the recorder creates when listening;
# without it the harness waits $BENCH_READY_WAIT s), else x11_record_probe
# (X11Source alone, every event serialized and discarded).
# Reports, per recorder: CPU seconds (all threads, from /proc/*/task/*/schedstat,
# while the workload runs), CPU s per 1,000 events, peak RSS (VmHWM, summed
# over the recorder's session), events captured by kind and missed events.
#
# Knobs: BENCH_CHARS (2400) BENCH_MOVES (600) BENCH_CLICKS (60)
#        BENCH_SCROLLS (60) BENCH_TYPE_DELAY_MS (4) BENCH_READY_WAIT (3)
#        BENCH_RUNS (1): rounds of (pynput, sealtrace) on the same display; with
#        more than one, each round is reported and then the median and the
#        worst of the per-round ratios (a shared machine's noise moves both
#        recorders of a round together, and single rounds vary by +-15 %).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
CHARS=${BENCH_CHARS:-2400}
MOVES=${BENCH_MOVES:-600}
CLICKS=${BENCH_CLICKS:-60}
SCROLLS=${BENCH_SCROLLS:-60}
TYPE_DELAY_MS=${BENCH_TYPE_DELAY_MS:-4}
READY_WAIT=${BENCH_READY_WAIT:-3}
RUNS=${BENCH_RUNS:-1}
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: BENCH_RUNS must be a whole number >= 1" >&2; exit 2; }
SYS_PY=/usr/bin/python3   # python3-pynput lives only here

for tool in Xvfb openbox xterm xdotool xprop; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 2; }
done
if [[ -z "${SEALTRACE_RECORDER_CMD:-}" ]]; then
  PROBE=${X11_RECORD_PROBE:-$(find "$BUILD" -name x11_record_probe -type f -perm -u+x 2>/dev/null | head -1)}
  [[ -x "$PROBE" ]] || { echo "run.sh: x11_record_probe not found under $BUILD (build it or set X11_RECORD_PROBE)" >&2; exit 2; }
  RECORDER_CMD="$PROBE --ready-file {READY}"
  RECORDER_NAME="sealtrace X11Source (x11_record_probe)"
else
  RECORDER_CMD=$SEALTRACE_RECORDER_CMD
  RECORDER_NAME="sealtrace ($SEALTRACE_RECORDER_CMD)"
fi

WORK=$(mktemp -d /tmp/x11bench.XXXXXX)
PIDS=()
cleanup() {
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- X server, window manager, target window -------------------------------
DISPLAY_NUM=""
for n in $(seq 90 120); do
  [[ -e /tmp/.X$n-lock ]] && continue
  : > "$WORK/displayfd"
  Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp -displayfd 3 3>"$WORK/displayfd" >/dev/null 2>&1 &
  xpid=$!
  for _ in $(seq 100); do
    [[ -s "$WORK/displayfd" ]] && break
    kill -0 "$xpid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -s "$WORK/displayfd" ]]; then PIDS+=("$xpid"); DISPLAY_NUM=$n; break; fi
  kill "$xpid" 2>/dev/null || true
done
[[ -n "$DISPLAY_NUM" ]] || { echo "run.sh: no free display in :90..:120" >&2; exit 1; }
export DISPLAY=":$DISPLAY_NUM"
openbox --sm-disable >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q "window id" && break
  sleep 0.1
done
xterm -T bench-target -geometry 100x40 -e sh -c "trap '' INT QUIT TSTP; exec cat >/dev/null" >/dev/null 2>&1 &
PIDS+=($!)
WIN=$(timeout 20 xdotool search --sync --onlyvisible --name '^bench-target$' | head -1)
xdotool windowactivate --sync "$WIN"
eval "$(xdotool getwindowgeometry --shell "$WIN")"
CX=$((X + WIDTH / 2)); CY=$((Y + HEIGHT / 2))

# --- workload ------------------------------------------------------------------
# Deterministic text: letters, digits, punctuation (many shifted), spaces.
TEXT=$(awk -v n="$CHARS" 'BEGIN {
  srand(42); s = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?()-_+=@#$%&*[]{}<>/|~\"x";
  for (i = 0; i < n; i++) printf "%s", substr(s, int(rand() * length(s)) + 1, 1) }')
SHIFTED=$(printf '%s' "$TEXT" | tr -cd 'A-Z:!?()_+@#$%&*{}<>|~"' | wc -c)
POINTER_ARGS=()
for ((i = 0; i < MOVES; i++)); do
  if (( (i / 20) % 2 == 0 )); then POINTER_ARGS+=(mousemove_relative -- 3 2); else POINTER_ARGS+=(mousemove_relative -- -3 -2); fi
  POINTER_ARGS+=(sleep 0.004)
  if (( i % (MOVES / CLICKS) == 0 )); then POINTER_ARGS+=(click 1); fi
  if (( i % (MOVES / SCROLLS) == 5 )); then
    if (( (i / 10) % 2 == 0 )); then POINTER_ARGS+=(click 5); else POINTER_ARGS+=(click 4); fi
  fi
done
workload() {
  xdotool windowactivate --sync "$WIN" mousemove "$CX" "$CY"
  xdotool type --delay "$TYPE_DELAY_MS" -- "$TEXT"
  xdotool "${POINTER_ARGS[@]}"
}

# CPU nanoseconds of every thread of every process in session $1.
cpu_ns() {
  local total=0 p t v
  for p in $(ps -o pid= --sid "$1" 2>/dev/null); do
    for t in /proc/$p/task/*/schedstat; do
      read -r v _ < "$t" 2>/dev/null && total=$((total + v))
    done
  done
  echo "$total"
}
peak_rss_kb() {
  local total=0 p v
  for p in $(ps -o pid= --sid "$1" 2>/dev/null); do
    v=$(awk '/^VmHWM:/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# measure NAME CMD... : starts CMD in its own session, runs the workload,
# writes NAME.cpu_ns / NAME.rss_kb / NAME.wall_s and the recorder's stdout
# into $OUT (the current round's directory).
measure() {
  local name=$1; shift
  local ready="$OUT/$name.ready"
  rm -f "$ready"
  local cmd=("${@//\{READY\}/$ready}")
  setsid "${cmd[@]}" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
  local pid=$!
  if printf '%s\n' "$@" | grep -q '{READY}'; then
    for _ in $(seq 200); do [[ -e "$ready" ]] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [[ -e "$ready" ]] || { echo "run.sh: $name did not start:"; cat "$OUT/$name.stderr"; exit 1; } >&2
  else
    sleep "$READY_WAIT"
  fi
  sleep 0.5
  local c0 t0 c1 t1
  c0=$(cpu_ns "$pid"); t0=$(date +%s.%N)
  workload
  sleep 1  # let the recorder drain
  c1=$(cpu_ns "$pid"); t1=$(date +%s.%N)
  peak_rss_kb "$pid" > "$OUT/$name.rss_kb"
  echo $((c1 - c0)) > "$OUT/$name.cpu_ns"
  echo "$t1 - $t0" | bc > "$OUT/$name.wall_s"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

echo "display $DISPLAY; workload: $CHARS typed chars ($SHIFTED shifted), $MOVES relative moves, $CLICKS clicks, $SCROLLS scrolls"
ROUNDS=()
for ((round = 1; round <= RUNS; round++)); do
  OUT="$WORK/round$round"
  mkdir -p "$OUT"
  ROUNDS+=("$OUT")
  measure pynput "$SYS_PY" "$HERE/pynput_recorder.py" "$OUT/pynput.jsonl" "{READY}"
  # shellcheck disable=SC2086
  measure sealtrace $RECORDER_CMD
done

"$SYS_PY" - "$CHARS" "$SHIFTED" "$MOVES" "$CLICKS" "$SCROLLS" "$RECORDER_NAME" "${ROUNDS[@]}" <<'PY'
import json, statistics, sys
chars, shifted, moves, clicks, scrolls, name = sys.argv[1:7]
rounds = sys.argv[7:]
chars, shifted, moves, clicks, scrolls = map(int, (chars, shifted, moves, clicks, scrolls))
exp = {"key_down": chars + shifted, "key_up": chars + shifted, "button_down": clicks,
       "button_up": clicks, "scroll": scrolls}
inputs = 2 * (chars + shifted) + 2 * clicks + scrolls + moves  # what xdotool generated
cpu_ratios, rss_ratios, missed_seal = [], [], []


def report(work, title):
    def rd(n, f): return open(f"{work}/{n}.{f}").read().strip()
    res = {}
    # pynput: count the lines it appended.
    c = dict(key_down=0, key_up=0, button_down=0, button_up=0, scroll=0, move=0)
    for line in open(f"{work}/pynput.jsonl"):
        e = json.loads(line); a = e["action"]
        if a == "press": c["key_down"] += 1
        elif a == "release": c["key_up"] += 1
        elif a == "click": c["button_down" if e["pressed"] else "button_up"] += 1
        elif a == "scroll": c["scroll"] += 1
        elif a == "move": c["move"] += 1
    c["events"] = sum(c.values())
    res["pynput"] = c
    s = None
    for line in rd("sealtrace", "stdout").splitlines():
        line = line.strip()
        if line.startswith("{") and '"events"' in line:
            s = json.loads(line)
    res["sealtrace"] = s
    if title:
        print(f"\n== {title}")
    print(f"\n{'recorder':44s} {'CPU s':>7s} {'CPU s/1k ev':>11s} {'CPU s/1k inputs':>15s} {'peak RSS MB':>11s} {'events':>7s} {'missed':>6s}")
    cpu, rss, missed_by = {}, {}, {}
    for key, label in (("pynput", "pynput recorder (JSON lines to a file)"), ("sealtrace", name)):
        cpu[key] = int(rd(key, "cpu_ns")) / 1e9
        rss[key] = int(rd(key, "rss_kb")) / 1024
        r = res[key]
        ev = r["events"] if r else None
        missed = sum(max(0, exp[k] - r.get(k, 0)) for k in exp) if r else None
        missed_by[key] = missed
        per_ev = f"{cpu[key] / ev * 1000:.4f}" if ev else "n/a"
        print(f"{label[:44]:44s} {cpu[key]:7.3f} {per_ev:>11s} {cpu[key] / inputs * 1000:15.4f} {rss[key]:11.1f} {ev if ev is not None else 'n/a':>7} {missed if missed is not None else 'n/a':>6}")
    print(f"\nxdotool generated {inputs} input events: expected {exp}, {moves} raw moves")
    for key in ("pynput", "sealtrace"):
        if res[key]:
            print(f"{key:9s} captured: " + ", ".join(f"{k}={res[key].get(k, 0)}" for k in ("key_down", "key_up", "button_down", "button_up", "scroll", "move", "events")))
    if res["sealtrace"] and "typed_chars" in res["sealtrace"]:
        print(f"sealtrace typed_chars={res['sealtrace']['typed_chars']} (workload typed {chars})")
    if cpu["sealtrace"] > 0:
        cpu_ratios.append(cpu["pynput"] / cpu["sealtrace"])
        print(f"\nratio CPU per input event, pynput / sealtrace: {cpu_ratios[-1]:.1f}x (goal >= 10x)")
    if rss["sealtrace"] > 0 and rss["pynput"] > 0:
        rss_ratios.append(rss["sealtrace"] / rss["pynput"])
        print(f"ratio peak RSS, sealtrace / pynput: {rss_ratios[-1]:.2f} (goal < 0.5)")
    missed_seal.append(missed_by["sealtrace"])


for i, work in enumerate(rounds):
    report(work, f"round {i + 1} of {len(rounds)}" if len(rounds) > 1 else "")
if len(rounds) > 1:
    print(f"\n== {len(rounds)} rounds")
    if cpu_ratios:
        print(f"ratio CPU per input event, pynput / sealtrace: median {statistics.median(cpu_ratios):.1f}x, "
              f"worst {min(cpu_ratios):.1f}x, rounds " + ", ".join(f"{r:.1f}x" for r in cpu_ratios) + " (goal >= 10x)")
    if rss_ratios:
        print(f"ratio peak RSS, sealtrace / pynput: median {statistics.median(rss_ratios):.2f}, "
              f"worst {max(rss_ratios):.2f} (goal < 0.5)")
    print("sealtrace missed events per round: " + ", ".join(str(m) for m in missed_seal))
PY
