#!/usr/bin/env bash
# Cold start of the tray app: time to "listening" and to the tray icon docked, under Xvfb with
# trayer as the tray host. Not a test; run by hand after building (packaging/build-linux.sh):
#
#   bash tests/bench/startup_bench.sh [EXECUTABLE] [RUNS]   # default dist/switchboard/switchboard, 5
#
# Needs: xvfb xauth trayer xdotool (Debian packages).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x800x24" bash "$0" "$@"
fi
exe=${1:-dist/switchboard/switchboard}
runs=${2:-5}
export QT_QPA_PLATFORM=xcb SWITCHBOARD_ACCESS_KEY=sb-local-bench-key-0000000000000000
unset DBUS_SESSION_BUS_ADDRESS
trayer --edge top --align right --widthtype pixel --width 200 --height 32 --SetDockType true >/dev/null 2>&1 &
tray_pid=$!
sleep 1
now() { date +%s.%N; }
results=$(mktemp)
for run in $(seq "$runs"); do
  work=$(mktemp -d)
  : >"$work/app.log"
  t0=$(now)
  "$exe" -v --home "$work/home" --port 0 >"$work/app.log" 2>&1 &
  pid=$!
  listening="" docked=""
  for _ in $(seq 400); do
    if [ -z "$listening" ] && grep -q "gateway listening on" "$work/app.log"; then listening=$(now); fi
    if [ -z "$docked" ]; then
      for w in $(xdotool search --pid "$pid" 2>/dev/null); do
        eval "$(xdotool getwindowgeometry --shell "$w" 2>/dev/null)"
        if [ "${WIDTH:-999}" -le 64 ] && [ "${HEIGHT:-999}" -le 64 ] && [ "${Y:-999}" -lt 40 ]; then docked=$(now); fi
      done
    fi
    [ -n "$listening" ] && [ -n "$docked" ] && break
    sleep 0.025
  done
  if [ -z "$listening" ] || [ -z "$docked" ]; then
    echo "run $run: FAILED (listening: ${listening:+yes}${listening:-no}, docked: ${docked:+yes}${docked:-no}) within 10 s"
  else
    l=$(echo "$listening - $t0" | bc) d=$(echo "$docked - $t0" | bc)
    printf 'run %d: listening %.2f s, tray icon docked %.2f s\n' "$run" "$l" "$d"
    echo "$l $d" >>"$results"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$work"
done
kill "$tray_pid"
sort -n -k1 "$results" | awk '{l[NR]=$1} END {printf "median listening %.2f s", l[int((NR+1)/2)]}'
sort -n -k2 "$results" | awk '{d[NR]=$2} END {printf ", median tray icon docked %.2f s (%d runs; %s)\n", d[int((NR+1)/2)], NR, load}' \
  load="load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$results"
