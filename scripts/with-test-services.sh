#!/usr/bin/env bash
# Runs a command with a virtual display and a virtual sound card, for the
# GUI and device tests on machines that have neither (CI, servers):
#
#   scripts/with-test-services.sh cargo test --workspace
#
# - Xvfb on a free display, with -noreset (without it the X server resets
#   whenever its last client leaves, and screen captures slow down and fail);
# - a user-mode PulseAudio with a null sink and a null source at 48 kHz, so
#   audio devices open and run at the real rate.
# Both are stopped when the command ends. DISPLAY, PULSE_SERVER and
# LANMEET_TEST_SERVICES=1 are set for the command. Where Xvfb or PulseAudio
# is missing, the command runs without it (the tests that need it say so).
set -uo pipefail

workdir=$(mktemp -d /tmp/lanmeet-services.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

if command -v Xvfb >/dev/null 2>&1; then
  # -displayfd picks a free display number and writes it when ready.
  Xvfb -displayfd 3 -screen 0 1600x1000x24 -noreset -nolisten tcp 3>"$workdir/display" 2>"$workdir/xvfb.log" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$workdir/display" ] && break; sleep 0.1; done
  if [ -s "$workdir/display" ]; then
    export DISPLAY=":$(cat "$workdir/display")"
    echo "test services: Xvfb on $DISPLAY"
  else
    echo "test services: Xvfb did not start (see $workdir/xvfb.log)" >&2
  fi
fi

if command -v pulseaudio >/dev/null 2>&1; then
  export XDG_RUNTIME_DIR="$workdir/runtime"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse.sock"
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit --system=false \
    --load="module-native-protocol-unix socket=$XDG_RUNTIME_DIR/pulse.sock auth-anonymous=1" \
    --load="module-null-sink sink_name=lanmeet_null_sink rate=48000" \
    --load="module-null-source source_name=lanmeet_null_source rate=48000" \
    --load="module-always-sink" \
    >"$workdir/pulse.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/pulse.sock" ] && break; sleep 0.1; done
  if [ -S "$XDG_RUNTIME_DIR/pulse.sock" ]; then
    pactl set-default-sink lanmeet_null_sink >/dev/null 2>&1
    pactl set-default-source lanmeet_null_source >/dev/null 2>&1
    echo "test services: PulseAudio on $PULSE_SERVER"
  else
    echo "test services: PulseAudio did not start (see $workdir/pulse.log)" >&2
  fi
fi

export LANMEET_TEST_SERVICES=1
"$@"
