#!/usr/bin/env bash
# Takes the screenshots of the stage's views in docs/screenshots/: a real
# window on a virtual display in a class of 30 (29 headless students with
# test-pattern cameras, one of them speaking), in grid view and in
# speaker view.
#
#   scripts/screenshots-views.sh   (needs Xvfb, xdotool, x11-apps, netpbm)
#
#   classroom-grid.png   grid view: 30 small tiles, each a thumbnail
#                        (section 11), the speaker outlined (section 12)
#   speaker-view.png     speaker view: the speaker large (full layer), the
#                        others in a strip ending in "+N"
#
#   MIN_WIDTH_SHOT=file.png   also the window of a host (all nine toolbar
#                             buttons and Leave) at its minimum width,
#                             860x560, to check that nothing overlaps
#
# Every process it starts is stopped by its id when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

out=docs/screenshots
mkdir -p "$out"

. scripts/lib/stage.sh
# A release build: 30 clients with cameras are a load for a small machine.
stage_build release
stage_work views
stage_display 1280x800

stage_server "$server"

stage_window_env

# The students receive nothing themselves (--subscribe default=none): 29
# decoders would only load the machine.
student() { "$client" --headless --host 127.0.0.1 --port "$port" --seconds 300 \
  --log-dir "$work/logs" --subscribe default=none "$@" >>"$work/headless.out" 2>&1 &
  pids+=($!); sleep 0.2; }

student --name "Dr Lamport" --create --title "Distributed systems" \
  --video test --size 640x480 --fps 4
code=$(code_of "Dr Lamport")
names=(Ada Ben Cleo Dev Eli Fay Gus Hana Ivo Jun Kai Lea Max Nia Oto Pia Quin
  Rui Sol Tao Uma Vic Wen Xia Yan Zoe Abe)
for name in "${names[@]}"; do
  student --name "$name" --join "$code" --video test --size 640x480 --fps 4
done
# One student talks: the server's speaking list outlines her and speaker
# view puts her large. (A steady tone is what noise suppression removes:
# it is off for her.)
student --name "Mia Speaker" --join "$code" --video test --size 640x480 --fps 4 --audio tone \
  --no-noise-suppression

LANMEET_AUTOJOIN="127.0.0.1:$port:Sam Student:$code" "$client" 2>"$work/gui-grid.err" &
gui=$!; pids+=($gui)
xdotool search --sync --name "lanmeet - meeting" >/dev/null
sleep 10               # thumbnails arrive, the join notices fade
shot classroom-grid.png
kill "$gui"

LANMEET_VIEW=speaker LANMEET_AUTOJOIN="127.0.0.1:$port:Sam Student:$code" "$client" 2>"$work/gui-speaker.err" &
gui=$!; pids+=($gui)
xdotool search --sync --name "lanmeet - meeting" >/dev/null
sleep 10
shot speaker-view.png

if [ -n "${MIN_WIDTH_SHOT:-}" ]; then
  kill "$gui"; wait "$gui" 2>/dev/null || true
  LANMEET_AUTOJOIN="127.0.0.1:$port:Hostess:create" "$client" 2>"$work/gui-narrow.err" &
  gui=$!; pids+=($gui)
  win=$(xdotool search --sync --name "lanmeet - meeting" | head -1)
  xdotool windowmove "$win" 0 0 windowsize "$win" 860 560
  sleep 3
  xwd -root -silent | xwdtopnm 2>/dev/null | pnmcut -left 0 -top 0 -width 860 -height 560 |
    pnmtopng -compression 9 >"$MIN_WIDTH_SHOT"
  echo "wrote $MIN_WIDTH_SHOT"
fi
