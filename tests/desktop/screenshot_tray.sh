#!/usr/bin/env bash
# Look at the real tray: run Switchboard under Xvfb with trayer as the tray host, open the tray
# menu with xdotool and save a screenshot. Not a test; run by hand:
#   xvfb-run -a -s "-screen 0 1280x800x24" bash tests/desktop/screenshot_tray.sh [OUT.png]
# Needs Debian packages: xvfb xauth trayer xdotool imagemagick.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/switchboard-tray.png}
home=$(mktemp -d)
export QT_QPA_PLATFORM=xcb SWITCHBOARD_ACCESS_KEY=sb-local-screenshot-key-000000000000
trayer --edge top --align right --widthtype pixel --width 200 --height 32 --SetDockType true \
       --tint 0x404040 --transparent true --alpha 0 >/dev/null 2>&1 &
tray_pid=$!
sleep 1
.venv/bin/switchboard --home "$home" --port 0 >"$home/app.log" 2>&1 &
app_pid=$!
cleanup() { kill "$app_pid" "$tray_pid" 2>/dev/null; wait "$app_pid" "$tray_pid" 2>/dev/null; rm -rf "$home"; }
trap cleanup EXIT
icon=""
for _ in $(seq 80); do   # the docked tray icon is the app's smallest window
  icon=$(for w in $(xdotool search --pid "$app_pid" 2>/dev/null); do
           eval "$(xdotool getwindowgeometry --shell "$w")"; echo "$((WIDTH*HEIGHT)) $X $Y $WIDTH $HEIGHT"
         done | sort -n | awk '$4 <= 64 && $5 <= 64 {print; exit}')
  [ -n "$icon" ] && break; sleep 0.1
done
[ -n "$icon" ] || { echo "FAIL: tray icon did not dock"; cat "$home/app.log"; import -window root "$out"; exit 1; }
read -r _ x y w h <<<"$icon"
sleep 1.5   # let the gateway start so the menu shows the endpoint
xdotool mousemove $((x + w/2)) $((y + h/2)) click 3
sleep 0.8
import -window root -crop 700x260+580+0 "$out"
echo "tray icon at ${x},${y} ${w}x${h}; screenshot: $out"
