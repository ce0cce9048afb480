#!/usr/bin/env bash
# Run a command with a private, unlocked GNOME Secret Service (real keychain for keyring tests).
# Usage: dbus-run-session -- bash .ci/with-secret-service.sh CMD [ARGS...]
# Needs Debian packages: dbus gnome-keyring. Without them, runs CMD without a Secret Service.
set -uo pipefail
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] || ! command -v gnome-keyring-daemon >/dev/null; then
  exec "$@"
fi
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data"
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME"; chmod 700 "$XDG_RUNTIME_DIR"
# --unlock reads the keyring password from stdin; --foreground keeps the daemon our child.
printf '%s' "${CI_KEYRING_PASSWORD:-ci-test}" \
  | gnome-keyring-daemon --foreground --unlock --components=secrets >"$tmp/gkd.log" 2>&1 &
gkd=$!
for _ in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.05
done
"$@"; rc=$?
kill "$gkd" 2>/dev/null; wait "$gkd" 2>/dev/null
rm -rf "$tmp"
exit $rc
