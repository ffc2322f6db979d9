#!/usr/bin/env bash
# make bundle: the release .deb and .rpm through the Tauri bundler, a
# minisign signature (.sig, `tauri signer sign`) of each when a signing key
# is in the environment, and SHA256SUMS over all of it.
#   TAURI_SIGNING_PRIVATE_KEY (the key, or TAURI_SIGNING_PRIVATE_KEY_PATH)
#   TAURI_SIGNING_PRIVATE_KEY_PASSWORD
# The key is never in the repository; without it the packages are built
# unsigned and the script says so.
#   scripts/bundle.sh --sign-only   signs the packages already built in
#   target/release/bundle (the same signing step; make test-bundle uses it
#   so the test does not build the same packages twice).
set -euo pipefail
cd "$(dirname "$0")/.."
tauri="$PWD/ui/node_modules/.bin/tauri"
out=target/release/bundle

signing=
if [ -n "${TAURI_SIGNING_PRIVATE_KEY:-}${TAURI_SIGNING_PRIVATE_KEY_PATH:-}" ]; then
  signing=yes
fi

if [ "${1:-}" = --sign-only ]; then
  [ -n "$signing" ] || { echo "bundle: --sign-only needs TAURI_SIGNING_PRIVATE_KEY or TAURI_SIGNING_PRIVATE_KEY_PATH" >&2; exit 2; }
  ls "$out"/deb/*.deb "$out"/rpm/*.rpm >/dev/null 2>&1 || { echo "bundle: --sign-only: no packages in $out; run make bundle first" >&2; exit 2; }
  rm -f "$out"/deb/*.sig "$out"/rpm/*.sig "$out/SHA256SUMS"
else
  rm -rf "$out/deb" "$out/rpm" "$out/SHA256SUMS"
  # kw is packaged beside the app (tauri.conf.json bundle.linux.*.files).
  cargo build --locked --release -p keywarden-cli
  # The UI was built by `make ui`; the bundler's own updater artifacts stay
  # off (the packages are signed below, the same minisign format).
  "$tauri" build --ci --bundles deb,rpm \
    --config '{"build":{"beforeBuildCommand":""},"bundle":{"createUpdaterArtifacts":false}}'

  # The bundler compresses the .deb with gzip (10.4 MiB); xz, what Debian's
  # own packages use, brings it to about half. Same files, same control data.
  deb=$(ls "$out"/deb/*.deb)
  rm -rf "$out/deb/repack"
  dpkg-deb -R "$deb" "$out/deb/repack"
  dpkg-deb -Zxz -z9 --root-owner-group -b "$out/deb/repack" "$deb" >/dev/null
  rm -rf "$out/deb/repack"
fi

packages=$(cd "$out" && ls deb/*.deb rpm/*.rpm)
if [ -n "$signing" ]; then
  # The signer reads the password from the environment, never from its
  # command line (which `ps` shows); it may be empty, and then nobody is
  # asked. The version goes into the signed (trusted) comment, so a
  # signature cannot be passed off for another release.
  export TAURI_SIGNING_PRIVATE_KEY_PASSWORD="${TAURI_SIGNING_PRIVATE_KEY_PASSWORD:-}"
  version=$(python3 -c 'import json; print(json.load(open("tauri.conf.json"))["version"])')
  for p in $packages; do
    "$tauri" signer sign --app-version "$version" "$out/$p" >/dev/null
  done
fi
(cd "$out" && sha256sum $packages $( [ -n "$signing" ] && for p in $packages; do echo "$p.sig"; done ) > SHA256SUMS)

echo
for p in $packages; do
  echo "bundle: $out/$p ($(stat -c %s "$out/$p") bytes)"
done
echo "bundle: $out/SHA256SUMS"
if [ -n "$signing" ]; then
  echo "bundle: signed: each package has a .sig beside it (verify: README, 'Verifying a package')"
else
  echo "bundle: UNSIGNED: TAURI_SIGNING_PRIVATE_KEY is not set, so the packages carry no .sig; set it and TAURI_SIGNING_PRIVATE_KEY_PASSWORD to sign" >&2
fi
