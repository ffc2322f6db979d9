#!/usr/bin/env bash
# Installs the system packages Keywarden needs to build and test, skipping
# what is already there. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential pkg-config   # C toolchain for SQLCipher and libdbus
  gnome-keyring dbus-x11 libsecret-tools  # a real Secret Service for tests
)

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
