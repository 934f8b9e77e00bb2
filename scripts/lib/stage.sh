# Sourced by the scripts that drive a real window (screenshots, the
# window's CPU): a work folder, a virtual display and a server, all gone
# when the script ends.
#
#   . scripts/lib/stage.sh
#   stage_build debug|release       builds the server and the client (not
#                                   with SKIP_BUILD set); sets $server and
#                                   $client, under CARGO_TARGET_DIR if set
#   stage_work NAME                 $work, removed on exit with every
#                                   process whose id is in $pids
#   stage_display WxH               Xvfb; exports DISPLAY
#   stage_server BIN [ARGS...]      a server on a free port (unless ARGS
#                                   name --port); sets $port
#   stage_window_env                the window's settings, state and
#                                   downloads in $work, its devices the
#                                   test sources (LANMEET_TEST_SOURCES)
#
# and the words the scripts drive the window with:
#
#   shot FILE [WINDOW-NAME]         a PNG of the screen, or of the first
#                                   window whose name matches, as $out/FILE
#   click X Y [PAUSE]               a click on the screen, then PAUSE
#                                   seconds (0.6) for the window to answer
#   code_of NAME                    prints the code of the meeting NAME
#                                   created, from the server's log (waits
#                                   up to 20 s; nothing if it never does)

stage_build() {
  local profile=()
  if [ "$1" = release ]; then profile=(--release); fi
  [ -n "${SKIP_BUILD:-}" ] || cargo build "${profile[@]}" -p lanmeet-server -p lanmeet-client
  local dir=${CARGO_TARGET_DIR:-target}/$1
  server=$dir/lanmeet-server
  client=$dir/lanmeet-client
}

stage_work() {
  work=$(mktemp -d "/tmp/lanmeet-$1.XXXXXX")
  pids=()
  trap stage_cleanup EXIT
}

stage_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

stage_display() {
  # -displayfd picks a free display number and writes it when ready.
  Xvfb -displayfd 3 -screen 0 "$1x24" -noreset -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
  export DISPLAY=":$(cat "$work/display")"
}

stage_server() {
  local bin=$1
  shift
  local args=(--bind 127.0.0.1 --port 0)
  if [[ " $* " == *" --port "* ]]; then args=(--bind 127.0.0.1); fi
  "$bin" "${args[@]}" "$@" --log-dir "$work/server" >"$work/server.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n "s/.*listening tcp=[^ ]*:\([0-9]*\) .*/\1/p" "$work/server.out" | head -1)
  [ -n "$port" ] || { echo "the server did not start: $(cat "$work/server.out")" >&2; exit 1; }
}

stage_window_env() {
  export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state"
  export LANMEET_TEST_SOURCES=1 LANMEET_DOWNLOAD_DIR="$work/downloads"
  mkdir -p "$XDG_CONFIG_HOME/lanmeet" "$LANMEET_DOWNLOAD_DIR"
}

shot() {
  local target=(-root)
  if [ -n "${2:-}" ]; then target=(-id "$(xdotool search --name "$2" | head -1)"); fi
  xwd "${target[@]}" -silent | xwdtopnm 2>/dev/null | pnmtopng -compression 9 >"$out/$1"
  echo "wrote $out/$1 ($(stat -c %s "$out/$1") bytes)"
}

click() { xdotool mousemove "$1" "$2" click 1; sleep "${3:-0.6}"; }

code_of() {
  local c
  for _ in $(seq 200); do
    c=$(sed -n "s/.*meeting \([A-Z0-9]*\): created by $1.*/\1/p" "$work"/server/*.log 2>/dev/null | head -1)
    [ -n "$c" ] && { echo "$c"; return; }
    sleep 0.1
  done
}
