#!/usr/bin/env bash
# Look at the real tray app on a real X server. Not a test (pytest does not collect it); run by hand:
#
#   bash tests/desktop/screenshot_tray.sh [OUT.png]            # default /tmp/switchboard-tray.png
#   bash tests/desktop/screenshot_tray.sh --no-tray [OUT.png]  # the window shown without a tray
#
# Runs Switchboard under Xvfb (it starts one itself when DISPLAY is unset) with `trayer` as the
# tray host, with an isolated --home and any free port; sends three demo requests, opens the tray
# menu and its "Recent requests" submenu with xdotool, and saves the top right of the screen with
# an 8x view of the docked icon beside it (SUBMENU=models opens "Models" instead). Needs Debian packages:
#   apt-get install -y --no-install-recommends xvfb xauth trayer xdotool imagemagick x11-utils curl
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x800x24" bash "$0" "$@"
fi
mode=tray
if [ "${1:-}" = "--no-tray" ]; then mode=window; shift; fi
out=${1:-/tmp/switchboard-tray.png}
work=$(mktemp -d)
key=sb-local-screenshot-key-000000000000
export QT_QPA_PLATFORM=xcb SWITCHBOARD_ACCESS_KEY=$key
unset DBUS_SESSION_BUS_ADDRESS   # never reach a real keychain (a locked one would prompt and hang)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$work/app.log"; import -window root "$out"; exit 1; }

if [ "$mode" = tray ]; then
  trayer --edge top --align right --widthtype pixel --width 200 --height 32 --SetDockType true \
         --tint 0x404040 --transparent true --alpha 0 >/dev/null 2>&1 &
  pids+=($!)
  sleep 1
fi
.venv/bin/switchboard -v --home "$work/home" --port 0 >"$work/app.log" 2>&1 &
app_pid=$!
pids+=("$app_pid")

url=""
for _ in $(seq 100); do   # the app logs "gateway listening on URL" once it serves
  url=$(grep -o 'gateway listening on http://[0-9.:]*' "$work/app.log" | awk '{print $4}')
  [ -n "$url" ] && break; sleep 0.1
done
[ -n "$url" ] || fail "the gateway did not start"
for text in "Hello" "What is a switchboard?" "Bye"; do
  curl -fsS -o /dev/null "$url/v1/chat/completions" -H "Authorization: Bearer $key" \
       -H "Content-Type: application/json" \
       -d "{\"model\": \"demo\", \"messages\": [{\"role\": \"user\", \"content\": \"$text\"}]}" \
    || fail "request to $url failed"
done

if [ "$mode" = window ]; then
  sleep 1
  win=$(xdotool search --onlyvisible --pid "$app_pid" | head -1)
  [ -n "$win" ] || fail "no window"
  import -window "$win" "$out"
  echo "window screenshot: $out"
  exit 0
fi

icon=""
for _ in $(seq 80); do   # the docked tray icon is the app's smallest window
  icon=$(for w in $(xdotool search --pid "$app_pid" 2>/dev/null); do
           eval "$(xdotool getwindowgeometry --shell "$w")"; echo "$((WIDTH*HEIGHT)) $X $Y $WIDTH $HEIGHT"
         done | sort -n | awk '$4 <= 64 && $5 <= 64 {print; exit}')
  [ -n "$icon" ] && break; sleep 0.1
done
[ -n "$icon" ] || fail "tray icon did not dock"
read -r _ x y w h <<<"$icon"
sleep 0.3
import -window root "$work/icon-only.png"   # before the menu covers anything
xdotool mousemove $((x + w/2)) $((y + h/2)) click 3
sleep 0.6
# Menu: endpoint, Copy access key, Models, Recent requests, Quit (separators are skipped)
if [ "${SUBMENU:-recent}" = models ]; then xdotool key Down Down Down Right; else xdotool key Down Down Down Down Right; fi
sleep 0.6
import -window root "$work/menu.png"
convert "$work/icon-only.png" -crop "${w}x${h}+${x}+${y}" +repage -filter point -resize 800% \
        -bordercolor '#202020' -border 12 "$work/icon-zoom.png"
convert "$work/menu.png" -crop 820x300+460+0 +repage "$work/menu-crop.png"
convert "$work/menu-crop.png" "$work/icon-zoom.png" -background '#202020' -gravity north +append "$out"
echo "tray icon at ${x},${y} ${w}x${h}; gateway $url; screenshot: $out"
