#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a real, unlocked
# gnome-keyring (Secret Service), in throwaway XDG folders, then cleans up.
#   scripts/test-session.sh cargo test --workspace
set -euo pipefail

if [ -z "${KW_TEST_SESSION:-}" ]; then
  export KW_TEST_SESSION=1
  KW_SESSION_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kw-session.XXXXXX")
  export KW_SESSION_DIR
  mkdir -p "$KW_SESSION_DIR/services"
  # A session bus that activates one service only, the Secret Service:
  # nothing else (desktop portals, the accessibility bus) is started
  # behind the tests' back — the document portal would mount a FUSE
  # folder in XDG_RUNTIME_DIR. gnome-keyring is started explicitly below;
  # the activation file is there for when it dies (see keyring-start).
  cat > "$KW_SESSION_DIR/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$KW_SESSION_DIR/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
XML
  # gnome-keyring-daemon 42 aborts now and then when clients come and go
  # quickly (GLib "assertion 'client' failed", upstream). A desktop
  # session's bus starts it again on the next call; so does this one,
  # with the same folders and password, and the keychain client retries
  # a call that met the dead daemon (keychain.rs). Restarts are counted.
  cat > "$KW_SESSION_DIR/keyring-start" <<SH
#!/bin/sh
echo restart >> "$KW_SESSION_DIR/keyring-restarts"
export XDG_DATA_HOME="$KW_SESSION_DIR/data" XDG_CONFIG_HOME="$KW_SESSION_DIR/config" XDG_CACHE_HOME="$KW_SESSION_DIR/cache" XDG_RUNTIME_DIR="$KW_SESSION_DIR/run"
printf %s "kw-test-session-$$" | exec gnome-keyring-daemon --unlock --foreground --components=secrets --control-directory="$KW_SESSION_DIR/run/keyring" >/dev/null 2>&1
SH
  chmod 700 "$KW_SESSION_DIR/keyring-start"
  printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$KW_SESSION_DIR/keyring-start" \
    > "$KW_SESSION_DIR/services/org.freedesktop.secrets.service"
  export KW_KEYRING_PASSWORD="kw-test-session-$$"
  # The folder goes once the bus is gone: removed under a running bus, its
  # service folder makes dbus-daemon reload a config that is no longer there.
  trap 'rm -rf "$KW_SESSION_DIR"' EXIT
  set +e
  dbus-run-session --config-file="$KW_SESSION_DIR/bus.conf" -- "$0" "$@"
  exit $?
fi

tmp=$KW_SESSION_DIR
cleanup() {
  pkill -u "$(id -u)" -f "gnome-keyring-daemon.*$tmp" 2>/dev/null || true
}
trap cleanup EXIT

# Not HOME: rustup and cargo live there.
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

# The login keyring is created with this throwaway password and unlocked.
# gnome-keyring 42 prints only GNOME_KEYRING_CONTROL (no PID), so the
# daemon is found by its control directory. It is left to daemonize:
# run with --foreground as our child it aborted (GLib "assertion 'client'
# failed", upstream) in 2 of 4 runs of the CLI suite, against 0 of 6 so.
eval "$(printf %s "$KW_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets --control-directory="$tmp/run/keyring")"
export GNOME_KEYRING_CONTROL
unset GNOME_KEYRING_PID

for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    break
  fi
  sleep 0.1
done
dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true' \
  || { echo "test-session: gnome-keyring did not take org.freedesktop.secrets" >&2; exit 1; }

keyring_pid=$(pgrep -u "$(id -u)" -f "gnome-keyring-daemon.*$tmp" | head -n 1 || true)

set +e
"$@"
rc=$?
set -e
# The tests are the judge of whether a restarted keyring lost anything;
# the restarts are reported so that a crash never goes unseen.
if [ -f "$tmp/keyring-restarts" ]; then
  echo "test-session: gnome-keyring-daemon died and was started again by the bus $(wc -l < "$tmp/keyring-restarts") time(s) during '$*' (upstream abort; see scripts/test-session.sh)" >&2
elif [ -n "$keyring_pid" ] && ! kill -0 "$keyring_pid" 2>/dev/null; then
  echo "test-session: gnome-keyring-daemon (pid $keyring_pid) exited during '$*'" >&2
fi
exit "$rc"
