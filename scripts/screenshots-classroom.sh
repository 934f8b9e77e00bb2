#!/usr/bin/env bash
# Takes the screenshots of the classroom features (PROTOCOL.md sections
# 15-18) in docs/screenshots/: a real window on a virtual display, with
# headless clients as the teacher or the students.
#
#   scripts/screenshots-classroom.sh   (needs Xvfb, xdotool, x11-apps, netpbm)
#
#   discovery.png     the join window listing a server and its listed meetings
#   poll-card.png     a student's window with the poll card
#   poll-host.png     the teacher's window: the poll card with live counts
#   poll-results.png  the results everyone sees once the poll closes
#   spotlight.png     a student's window: the spotlighted student large
#
# Every process it starts is stopped by its id when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

out=docs/screenshots
mkdir -p "$out"

. scripts/lib/stage.sh
stage_build debug
stage_work shots
stage_display 1280x800

# Discovery probes the UDP port next to the TCP port: pick a free pair.
port=$(python3 -c '
import socket
for _ in range(200):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()
')
stage_server "$server" --port "$port" --name "Lab 3 server"

stage_window_env
printf 'host=\nport=5001\nname=Sam Student\n' >"$XDG_CONFIG_HOME/lanmeet/last.txt"

headless() { "$client" --headless --host 127.0.0.1 --port "$port" --seconds 120 \
  --log-dir "$work/logs" "$@" >>"$work/headless.out" 2>&1 & pids+=($!); sleep 0.5; }

# 1. Two listed meetings and one that is not; the join window lists them.
headless --name "Dr Turing" --create --title "CS101 lab - sorting" --listed \
  --poll "Which of these sorts is stable?|Quicksort|Merge sort|Heapsort|Not sure" --video test --size 320x240 --fps 5
cs101=$(code_of "Dr Turing")
headless --name "Prof Noether" --create --title "Physics 2 - group B" --listed --password pw
headless --name "Private" --create --title "Not listed"
"$client" --host 127.0.0.1 --port "$port" 2>"$work/gui-join.err" &
gui=$!; pids+=($gui)
xdotool search --sync --name "lanmeet - join" >/dev/null
sleep 4                # the first round of probes (every 3 s)
xdotool mousemove 640 145 click --repeat 2 --delay 80 1   # double-click a meeting line
sleep 1
shot discovery.png "lanmeet - join"
kill "$gui"

# 2. A student's window in the CS101 lab: the poll card.
for name in "Ada Student" "Bob Student" "Cy Student"; do
  headless --name "$name" --join "$cs101" --video test --size 320x240 --fps 5 --vote $((RANDOM % 2 + 1))
done
LANMEET_AUTOJOIN="127.0.0.1:$port:Sam Student:$cs101" "$client" 2>"$work/gui-student.err" &
gui=$!; pids+=($gui)
xdotool search --sync --name "^Poll$" >/dev/null
sleep 3
shot poll-card.png
kill "$gui"

# 3. The teacher's window: a new poll, students voting, the live counts.
LANMEET_TITLE="CS102 lab" LANMEET_AUTOPOLL="Did the program compile?|Yes, first time|Yes, after fixes|Not yet" \
  LANMEET_AUTOJOIN="127.0.0.1:$port:Grace Teacher:create" "$client" 2>"$work/gui-host.err" &
gui=$!; pids+=($gui)
cs102=$(code_of "Grace Teacher")
votes=(0 1 1 0 2 1 0)
i=0
for name in Ana Ben Cleo Dev Eli Fay Gus; do
  headless --name "$name" --join "$cs102" --vote "${votes[$i]}"
  i=$((i + 1))
done
sleep 3
shot poll-host.png

# 4. The teacher closes the poll: everyone sees the results.
wid=$(xdotool search --name "^Poll$" | head -1)
eval "$(xdotool getwindowgeometry --shell "$wid")"
xdotool mousemove $((X + 460 - 16 - 230 + 55)) $((Y + HEIGHT - 50 + 17)) click 1   # Close poll
sleep 2
shot poll-results.png

kill "$gui"

# 5. A teacher spotlights a student: another student's window.
headless --name "Dr Hopper" --create --spotlight "Kim Student"
cs103=$(code_of "Dr Hopper")
headless --name "Kim Student" --join "$cs103" --video test --size 640x480 --fps 10
headless --name "Lee Student" --join "$cs103" --video test --size 320x240 --fps 5
LANMEET_AUTOJOIN="127.0.0.1:$port:Sam Student:$cs103" "$client" 2>"$work/gui-spot.err" &
gui=$!; pids+=($gui)
xdotool search --sync --name "lanmeet - meeting" >/dev/null
sleep 8               # pictures arrive, the notices fade
shot spotlight.png
