#!/usr/bin/env bash
# make test-bundle (inside scripts/test-session.sh: a real gnome-keyring and
# throwaway XDG folders): builds the packages unsigned and then signed with
# a throwaway key, verifies signatures and checksums, checks sizes and
# metadata, installs the .deb into this machine, drives the installed app
# (Xvfb + tauri-driver) and kw, upgrades, purges, and checks that the
# user's vault and keychain item survive.
set -euo pipefail
cd "$(dirname "$0")/.."
root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { echo "test-bundle: FAILED: $*" >&2; exit 1; }
say() { echo "test-bundle: $*"; }
tauri="$PWD/ui/node_modules/.bin/tauri"
out=target/release/bundle

if dpkg -s keywarden >/dev/null 2>&1; then
  fail "a keywarden package is already installed on this machine; this test installs and purges its own, so remove it first (dpkg --purge keywarden)"
fi
command -v minisign >/dev/null || fail "minisign is missing: run scripts/bootstrap.sh --test"

test_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/kw-bundle.XXXXXX")
policy_made=
# Whatever happened, leave the machine as it was: the throwaway key first,
# then the package and the test policy; say so when that fails, loudly.
cleanup() {
  rm -rf "$work" || echo "test-bundle: WARNING: could not remove $work (it holds a throwaway key)" >&2
  if dpkg -s keywarden >/dev/null 2>&1; then
    root dpkg --purge keywarden >/dev/null 2>&1 \
      || echo "test-bundle: WARNING: could not purge the keywarden package; run: sudo dpkg --purge keywarden" >&2
  fi
  if [ -n "$policy_made" ]; then
    root rm -rf /etc/keywarden || echo "test-bundle: WARNING: could not remove /etc/keywarden (the test policy)" >&2
  fi
}
trap cleanup EXIT
# A signing key in the caller's environment must not sign the test builds.
unset TAURI_SIGNING_PRIVATE_KEY TAURI_SIGNING_PRIVATE_KEY_PATH TAURI_SIGNING_PRIVATE_KEY_PASSWORD

# 1. Unsigned: built, and it says so; no .sig anywhere.
start=$(date +%s)
scripts/bundle.sh > "$work/unsigned.log" 2>&1 || { cat "$work/unsigned.log"; fail "make bundle (unsigned) failed"; }
unsigned_s=$(( $(date +%s) - start ))
grep -q "UNSIGNED" "$work/unsigned.log" || fail "an unsigned build must say so"
[ -z "$(find "$out" -name '*.sig')" ] || fail "an unsigned build left .sig files: $(find "$out" -name '*.sig')"
say "unsigned bundle built in ${unsigned_s} s and says so"

# 2. Signed with a throwaway key (never committed; gone with $work): the
# signing step of make bundle, on the packages just built (building them
# again would only cost CI time: the build does not depend on the key).
pw="kw-bundle-$$-$RANDOM"
"$tauri" signer generate --ci -p "$pw" -w "$work/kw.key" -f >/dev/null
start=$(date +%s)
TAURI_SIGNING_PRIVATE_KEY_PATH="$work/kw.key" TAURI_SIGNING_PRIVATE_KEY_PASSWORD="$pw" \
  scripts/bundle.sh --sign-only > "$work/signed.log" 2>&1 || { cat "$work/signed.log"; fail "make bundle (signing) failed"; }
grep -q "bundle: signed" "$work/signed.log" || fail "a signed run must say so"
signed_s=$(( $(date +%s) - start ))
deb=$(ls "$out"/deb/*.deb)
rpm=$(ls "$out"/rpm/*.rpm)
say "packages signed in ${signed_s} s: $(basename "$deb"), $(basename "$rpm")"

# 3. Verification as IT does it (README): checksums, then minisign.
(cd "$out" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
grep -q "deb/.*\.deb\.sig" "$out/SHA256SUMS" || fail "SHA256SUMS lists no signature"
base64 -d "$work/kw.key.pub" > "$work/keywarden.pub"
version=$(dpkg-deb -f "$deb" Version)
for p in "$deb" "$rpm"; do
  base64 -d "$p.sig" > "$work/pkg.minisig"
  minisign -V -p "$work/keywarden.pub" -m "$p" -x "$work/pkg.minisig" > "$work/verify.out" \
    || fail "signature of $(basename "$p") does not verify"
  grep -q "version:$version" "$work/verify.out" || fail "the signature of $(basename "$p") does not name version $version: $(cat "$work/verify.out")"
  cp "$p" "$work/tampered"; printf 'x' >> "$work/tampered"
  if minisign -Vq -p "$work/keywarden.pub" -m "$work/tampered" -x "$work/pkg.minisig" 2>/dev/null; then
    fail "a tampered $(basename "$p") verified"
  fi
done
say "SHA256SUMS and both .sig verify with minisign and name version $version; a tampered copy does not"

# 4. Size and metadata.
deb_bytes=$(stat -c %s "$deb")
installed_kib=$(dpkg-deb -f "$deb" Installed-Size)
[ "$deb_bytes" -le 10000000 ] || fail ".deb is $deb_bytes bytes, over the 10 MB budget"
[ "$installed_kib" -le 39062 ] || fail "installed size is $installed_kib KiB, over the 40 MB budget"
for field in Package Version Maintainer Depends Recommends Section Description; do
  [ -n "$(dpkg-deb -f "$deb" "$field")" ] || fail ".deb has no $field"
done
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libdbus-1-3 libayatana-appindicator3-1; do
  [[ "$depends" == *"$dep"* ]] || fail ".deb Depends lacks $dep: $depends"
done
# The tray's library comes from Tauri's own list (its tray-icon feature):
# named once, not again by ours.
twice=$(tr ',' '\n' <<<"$depends" | sed 's/^ *//' | sort | uniq -d)
[ -z "$twice" ] || fail ".deb Depends names $twice more than once: $depends"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/keywarden ./usr/bin/kw ./usr/share/applications/Keywarden.desktop ./usr/share/icons/hicolor/128x128/apps/keywarden.png; do
  grep -q " $f\$" <<<"$contents" || fail ".deb lacks $f"
done
say ".deb $deb_bytes bytes, installed size $installed_kib KiB; Depends: $depends; Recommends: $(dpkg-deb -f "$deb" Recommends)"

# 5. Install, and the installed kw on the user's default vault.
root dpkg -i "$deb" >/dev/null
[ -x /usr/bin/keywarden ] && [ -x /usr/bin/kw ] || fail "the package did not install both programs"
desktop_exec=$(grep '^Exec=' /usr/share/applications/Keywarden.desktop)
[ "$desktop_exec" = "Exec=keywarden" ] || fail "desktop entry: $desktop_exec"
vault="$XDG_DATA_HOME/keywarden/vault"
/usr/bin/kw init >/dev/null
printf 'pk_live_bundlesmoke0001' | /usr/bin/kw credential add "Pleo payroll" --type api-key >/dev/null
/usr/bin/kw credential list | grep -q "Pleo payroll" || fail "installed kw does not list the credential"
vault_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vault_id"])' "$vault/vault.json")
secret-tool lookup service keywarden username "$vault_id" >/dev/null || fail "no keychain item for the vault"
say "installed kw made the vault at $vault (keychain item for $vault_id)"
# Test mode (a moved clock, plain-http checks) is for debug builds only.
[ "$(/usr/bin/kw credential list)" = "$(KEYWARDEN_TEST_MODE=1 KEYWARDEN_TEST_NOW=2099-01-01T00:00:00Z /usr/bin/kw credential list)" ] \
  || fail "the installed kw let KEYWARDEN_TEST_MODE move its clock"
say "installed kw ignores KEYWARDEN_TEST_MODE"

# The release build reads only /etc/keywarden/policy.toml.
if [ ! -e /etc/keywarden ]; then
  policy_made=yes
  root mkdir -p /etc/keywarden
  printf '# test-bundle\nexport_allowed = false\n' | root tee /etc/keywarden/policy.toml >/dev/null
  set +e
  /usr/bin/kw export -o "$work/export.json" 2> "$work/export.err"; rc=$?
  set -e
  [ "$rc" = 11 ] && grep -q "managed by your organization" "$work/export.err" || fail "installed kw did not obey /etc/keywarden/policy.toml (exit $rc: $(cat "$work/export.err"))"
  /usr/bin/kw policy show | grep -q "/etc/keywarden/policy.toml:2" || fail "kw policy show does not name the line"
  KEYWARDEN_POLICY_FILE=/nonexistent /usr/bin/kw policy show | grep -q "/etc/keywarden/policy.toml:2" \
    || fail "a release kw must not let KEYWARDEN_POLICY_FILE replace the system policy"
  root rm -rf /etc/keywarden; policy_made=
  say "installed kw obeys /etc/keywarden/policy.toml and ignores KEYWARDEN_POLICY_FILE"
else
  say "/etc/keywarden exists on this machine: the system-policy check is left out, not to touch it"
fi

# 6. The installed app under Xvfb through tauri-driver: open the vault, list.
KEYWARDEN_APP_BIN=/usr/bin/keywarden KEYWARDEN_SMOKE_VAULT="$vault" KEYWARDEN_SMOKE_CREDENTIAL="Pleo payroll" \
  cargo test --locked --test e2e installed_package_opens_the_vault_and_lists_it -- --ignored --exact 2>&1 \
  | tee "$work/smoke.log" | grep -E "^test |test result" || true
grep -q "test result: ok. 1 passed" "$work/smoke.log" || { cat "$work/smoke.log"; fail "the installed app did not open the vault and list it"; }

# 7. Upgrade to a newer version of the same package: the vault stays.
dpkg-deb -R "$deb" "$work/up"
sed -i "s/^Version: .*/Version: ${version}+upgrade1/" "$work/up/DEBIAN/control"
dpkg-deb -b --root-owner-group "$work/up" "$work/upgrade.deb" >/dev/null
root dpkg -i "$work/upgrade.deb" >/dev/null
[ "$(dpkg-query -W -f '${Version}' keywarden)" = "${version}+upgrade1" ] || fail "the upgrade did not install"
/usr/bin/kw credential list | grep -q "Pleo payroll" || fail "after the upgrade the vault does not open"
say "upgraded $version -> ${version}+upgrade1; the vault opens"

# 8. Purge: the programs go; the vault and the keychain item stay.
before=$(cd "$vault" && ls)
root dpkg --purge keywarden >/dev/null
[ ! -e /usr/bin/keywarden ] && [ ! -e /usr/bin/kw ] || fail "purge left the programs"
[ "$(cd "$vault" && ls)" = "$before" ] || fail "purge changed the vault folder"
secret-tool lookup service keywarden username "$vault_id" >/dev/null || fail "purge removed the keychain item"
target/release/kw credential list | grep -q "Pleo payroll" || fail "after the purge the vault does not open"
say "purged: the programs are gone; the vault and its keychain item are intact and open"
say "all checks passed (bundle build ${unsigned_s} s, signing ${signed_s} s, whole test $(( $(date +%s) - test_start )) s, .deb $deb_bytes bytes, installed $installed_kib KiB)"
echo "test-bundle: 8 passed, 0 failed"
