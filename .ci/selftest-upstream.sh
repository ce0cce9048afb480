#!/usr/bin/env bash
# The selftest's TLS round trip against a local HTTPS fake with a throwaway CA, trusted only
# through SSL_CERT_FILE (the OS trust store's own variable on Linux):
#   bash .ci/selftest-upstream.sh SWITCHBOARD_COMMAND...
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
.venv/bin/python -m tests.fakes.https_upstream --ca-out "$tmp/ca.pem" > "$tmp/out" &
fake=$!
trap 'kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^fake upstream listening on //p' "$tmp/out")
[ -n "$url" ] || { echo "selftest-upstream: the HTTPS fake did not start" >&2; exit 1; }
(cd / && env -u DISPLAY SSL_CERT_FILE="$tmp/ca.pem" "$@" --selftest --upstream "$url")
