#!/usr/bin/env bash
# Measures the desktop client's CPU while it shows a meeting of N others
# with their cameras on (protocol section 11: what the window shows is what
# it subscribes to and decodes): a release build on a virtual display, N
# headless clients sending the test pattern, the window's CPU time read
# from /proc over a fixed time.
#
#   scripts/with-test-services.sh scripts/measure-grid-cpu.sh [N] [SECONDS]
#                                                 (default 25 others, 20 s)
#
# Run it under with-test-services.sh (or with PulseAudio running), so that
# the window's microphone and speaker are measured too: without a sound
# server (or card) it has neither.
#
#   CLIENT=path/to/lanmeet-client   another build of the window to measure
#                                   (e.g. an older one, for a before/after)
#   VIEW=speaker                    speaker view instead of the grid
#   SIZE=640x480 FPS=20             the senders' camera
#
# The senders subscribe to nothing themselves (a headless client decodes
# what it receives) and run at a lower priority than the window, so that
# on a small machine the window is measured, not the senders' encoders.
# It prints the window's CPU as a percentage of one core, and the frames
# the senders managed (on 2 cores, 25 encoders at 640x480 and 20 fps do
# not all keep up: compare runs at the same sender rate). Needs Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

others=${1:-25}
seconds=${2:-20}
size=${SIZE:-640x480}
fps=${FPS:-20}

. scripts/lib/stage.sh
stage_build release
sender=$client
client=${CLIENT:-$sender}
stage_work cpu
stage_display 1280x800

stage_server "$server"

export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state"
mkdir -p "$XDG_CONFIG_HOME"
# The window creates the meeting; its code is in the server's log.
LANMEET_VIEW=${VIEW:-grid} LANMEET_AUTOJOIN="127.0.0.1:$port:Teacher:create" \
  "$client" 2>"$work/window.err" &
window=$!
pids+=($window)
code=$(code_of Teacher)
[ -n "$code" ] || { echo "the window did not create a meeting" >&2; exit 1; }

warmup=10
for i in $(seq "$others"); do
  nice -n 10 "$sender" --headless --host 127.0.0.1 --port "$port" --name "Student $i" \
    --join "$code" --video test --size "$size" --fps "$fps" --subscribe default=none \
    --seconds $((warmup + seconds + 5)) --log-dir "$work/logs" >"$work/sender-$i.out" 2>/dev/null &
  pids+=($!)
done

ticks() { awk '{print $14 + $15}' "/proc/$window/stat"; }
threads() {  # per thread: name/id (a library's threads take their creator's name), CPU ticks
  for t in /proc/$window/task/*; do
    printf '%s/%s %s\n' "$(tr ' ' _ <"$t/comm")" "${t##*/}" "$(awk '{print $14 + $15}' "$t/stat")"
  done 2>/dev/null | sort
}
sleep "$warmup"
t0=$(ticks)
threads >"$work/threads0"
sleep "$seconds"
t1=$(ticks)
threads >"$work/threads1"
hz=$(getconf CLK_TCK)
echo "window: $(( (t1 - t0) * 100 / hz / seconds ))% of one core over ${seconds} s," \
  "showing $others others ($size at $fps fps, ${VIEW:-grid} view)"
# Where it went, by thread (the UI thread is the one named after the binary).
join "$work/threads0" "$work/threads1" 2>/dev/null |
  awk -v hz="$hz" -v s="$seconds" '{ p = ($3 - $2) * 100 / hz / s; if (p >= 1) printf "  %-24s %3d%%\n", $1, p }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# What the senders managed: their stats lines come when they leave.
wait "${pids[@]:3}" 2>/dev/null || true
python3 - "$work" "$others" "$((warmup + seconds + 5))" <<'EOF'
import glob, json, sys
work, others, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
full = thumb = 0
for path in glob.glob(f"{work}/sender-*.out"):
    for line in open(path):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if v.get("event") == "stats":
            full += v.get("video_frames_sent", 0)
            thumb += v.get("thumb_frames_sent", 0)
print(f"senders: {full / others / secs:.1f} full and {thumb / others / secs:.1f} thumbnail frames/s each (average over their {secs:.0f} s)")
EOF
