#!/usr/bin/env bash
# Takes the screenshots in docs/screenshots/ of the desktop client: a real
# window on a virtual display, in a meeting with headless clients as the
# other participants.
#
#   scripts/screenshots.sh            (needs Xvfb, xdotool, x11-apps, netpbm)
#
#   join.png          the join window
#   settings.png      the settings dialog (test sources: LANMEET_TEST_SOURCES=1)
#   meeting.png       a 4-person meeting: tiles, a camera-off placeholder,
#                     a raised hand, the active speaker, chat
#   files.png         the files tab: an offer and a finished download
#   host-menu.png     the host's menu on a participant
#   screen-share.png  someone presents: the screen large, the people in a strip
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

stage_server "$server"

stage_window_env
printf 'host=127.0.0.1\nport=%s\nname=Ada Lovelace\n' "$port" >"$XDG_CONFIG_HOME/lanmeet/last.txt"

# 1. The join window, as a returning user sees it.
"$client" --host 127.0.0.1 --port "$port" 2>"$work/gui-join.err" &
gui=$!
pids+=($gui)
xdotool search --sync --name "lanmeet - join" >/dev/null
sleep 1
shot join.png "lanmeet - join"
click 90 522           # Settings...
xdotool search --sync --name "^Settings$" >/dev/null
sleep 0.5
shot settings.png "^Settings$"
kill "$gui"

# 2. Ada creates a meeting from the window; three others join headless.
LANMEET_AUTOJOIN="127.0.0.1:$port:Ada Lovelace:create" "$client" 2>"$work/gui.err" &
pids+=($!)
code=$(code_of "Ada Lovelace")
head -c 2400000 /dev/urandom >"$work/design-notes.pdf"
headless() { "$client" --headless --host 127.0.0.1 --port "$port" --join "$code" --seconds 120 \
  --log-dir "$work/logs" "$@" >/dev/null 2>&1 & pids+=($!); sleep 0.7; }
headless --name "Bob Marley" --video test --size 320x240 --fps 10 --audio tone \
  --say "Hello everyone, can you hear me?"
headless --name "Carol Shaw" --say "Morning! I will share the slides in a minute."
headless --name "Dan Abramov" --video test --size 320x240 --fps 10 \
  --offer "$work/design-notes.pdf" --say "The design notes are in Files."
sleep 7                # the join notices fade
click 457 741          # Raise hand
click 560 741 0.4      # React...
xdotool key Down Return  # ...with the first one
sleep 1
shot meeting.png

# 3. Files: download Dan's offer (saved without asking: LANMEET_DOWNLOAD_DIR).
click 1096 15          # Files tab
click 1205 132 7       # Download (and let the "Saved" notice fade)
shot files.png

# 4. The host's menu on Carol.
click 1028 15          # People tab
click 1020 104 1       # Carol's row (hands first, then host, then names)
shot host-menu.png
xdotool key Escape
sleep 0.5

# 5. Eve presents a picture of the join window.
pngtopnm "$out/join.png" | pnmscale -xsize 1000 >"$work/slide.ppm"
headless --name "Eve Online" --share-image "$work/slide.ppm"
click 960 15           # Chat tab
sleep 7                # the first pictures arrive, the notice fades
shot screen-share.png
