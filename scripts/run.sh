#!/usr/bin/env bash
# Installs what sealtrace needs, builds it, and runs the main job:
#   with a desktop ($DISPLAY set):  sealtrace up   (embedded vault + recorder of your desktop)
#   without one:                    sealtrace demo (private Xvfb desktop, scripted session)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
if [[ -n "${DISPLAY:-}" ]]; then
  exec build/src/cli/sealtrace up "$@"
else
  exec build/src/cli/sealtrace demo "$@"
fi
