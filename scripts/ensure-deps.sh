#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when they are missing.
#
#   scripts/ensure-deps.sh test     what `make test` needs beyond Rust
#   scripts/ensure-deps.sh client   what building the desktop client needs
#   scripts/ensure-deps.sh all      everything above
#   scripts/ensure-deps.sh windows  cross-building the Windows executables (make windows)
#   scripts/ensure-deps.sh dist     packing the release archives (make dist)
#   scripts/ensure-deps.sh wine     running the Windows executables here (make test-windows)
#
# The server needs none of these. Runs apt-get only when something is
# missing, as root or through sudo; see shared notes in the README.
set -euo pipefail

# Build dependencies of the client's crates (cpal: ALSA; nokhwa: bindgen
# over V4L2; xcap: PipeWire/Wayland/EGL; fltk: CMake and X11/Pango).
client_pkgs=(build-essential pkg-config cmake libclang-dev libasound2-dev
  libpipewire-0.3-dev libwayland-dev libegl-dev libgbm-dev
  libx11-dev libxft-dev libxinerama-dev libxcursor-dev libpango1.0-dev)
# Stand-ins for a display and a sound card on machines with neither, for
# the GUI and device tests, and the tools the tests use to look at them.
test_pkgs=(python3 xvfb xauth x11-apps x11-utils netpbm xdotool pulseaudio pulseaudio-utils
  libasound2-plugins)
# The mingw-w64 cross compilers for x86_64-pc-windows-gnu (Rust links with
# x86_64-w64-mingw32-gcc; fltk-sys builds FLTK with CMake and the g++),
# git, with which fltk-sys applies its patch to FLTK's Windows code, and a
# host C compiler for the build scripts.
windows_pkgs=(build-essential gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 binutils-mingw-w64-x86-64 cmake git)
# The archives and their licence notices (scripts/notices.py).
dist_pkgs=(zip python3)
# Wine runs the Windows executables; the smoke test drives them with the
# test tools (display, screenshots, a Python checker).
wine_pkgs=(wine wine64 fonts-wine python3 xvfb xauth x11-apps netpbm xdotool)

want=()
add_missing() {
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || want+=("$pkg")
  done
}

case "${1:-all}" in
  test) add_missing "${client_pkgs[@]}" "${test_pkgs[@]}" ;;
  client) add_missing "${client_pkgs[@]}" ;;
  all) add_missing "${client_pkgs[@]}" "${test_pkgs[@]}" ;;
  windows) add_missing "${windows_pkgs[@]}" ;;
  dist) add_missing "${dist_pkgs[@]}" ;;
  wine) add_missing "${wine_pkgs[@]}" ;;
  *) echo "usage: $0 test|client|all|windows|dist|wine" >&2; exit 2 ;;
esac

[ ${#want[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing packages: ${want[*]}; install them with your system's package manager" >&2
  exit 1
fi
echo "installing: ${want[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "missing packages (${want[*]}) and no root or sudo to install them" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
