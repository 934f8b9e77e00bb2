# Sourced by the scripts that drive a real window (screenshots, the
# window's CPU): a work folder, a virtual display and a server, all gone
# when the script ends.
#
#   . scripts/lib/stage.sh
#   stage_work NAME                 $work, removed on exit with every
#                                   process whose id is in $pids
#   stage_display WxH               Xvfb; exports DISPLAY
#   stage_server BIN [ARGS...]      a server on a free port (unless ARGS
#                                   name --port); sets $port

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
