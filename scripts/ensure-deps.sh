#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when they are missing.
#
#   scripts/ensure-deps.sh test    what `make test` needs beyond Rust
#   scripts/ensure-deps.sh all     everything
#
# Runs apt-get only when something is missing, as root or through sudo.
set -euo pipefail

want=()
need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || want+=("$2")
}

case "${1:-all}" in
  test) need python3 python3 ;;
  all) need python3 python3 ;;
  *) echo "usage: $0 test|all" >&2; exit 2 ;;
esac

[ ${#want[@]} -eq 0 ] && exit 0

echo "installing: ${want[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "missing packages (${want[*]}) and no root or sudo to install them" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}"
