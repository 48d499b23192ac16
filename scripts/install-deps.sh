#!/usr/bin/env bash
# Installs every Debian package sealtrace needs to build, test and run.
# Idempotent and non-interactive: safe to run again on a machine that has them.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-14-dev
  # core libraries
  libsodium-dev libzstd-dev libsqlite3-dev sqlite3 libpq-dev libssl-dev
  libprotobuf-dev protobuf-compiler libabsl-dev
  libcpp-httplib-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libtomlplusplus-dev
  libvectorscan-dev libpng-dev libnats-dev libcbor-dev ccache
  # X11 capture
  libxcb1-dev libxcb-xinput-dev libxcb-xkb-dev libxcb-ewmh-dev libxcb-icccm4-dev
  libxcb-shm0-dev libxcb-res0-dev libxkbcommon-dev libxkbcommon-x11-dev
  # test and demo desktop
  xvfb openbox xdotool xterm x11-utils python3-pynput
  # hidden-input detection: AT-SPI helper and GTK test windows
  libatspi2.0-dev at-spi2-core dbus-user-session zenity gtk-3-examples
  # keys in an HSM: PKCS#11 headers and a real software token for the tests
  libp11-kit-dev softhsm2
  # distributed backends
  postgresql nats-server
  # dashboard e2e
  chromium
)
# Node.js for the dashboard's browser tests: use the machine's node/npm when present
# (Debian's npm conflicts with other Node.js builds), otherwise Debian's.
if ! command -v npm >/dev/null 2>&1; then PKGS+=(nodejs npm); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
