#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 20).
#
#   scripts/fuzz.sh 60
#
# Needs the nightly toolchain (libFuzzer's instrumentation is nightly-only)
# and cargo-fuzz, which it installs when missing. Each target starts from
# its committed seeds in fuzz/corpus/<target>/ and writes what it discovers
# to fuzz/work/<target>/ (not committed), so the seeds stay small. A crash
# leaves its input in fuzz/artifacts/<target>/; reproduce it with
#   cd fuzz && cargo +nightly fuzz run <target> artifacts/<target>/<file>
# and shrink it with `cargo +nightly fuzz tmin <target> <file>`.
set -euo pipefail

seconds="${1:-20}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/../fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzzing needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build

failed=()
for target in $(cargo +nightly fuzz list); do
  echo "== $target: ${seconds} s"
  mkdir -p "work/$target"
  # -timeout: one input taking over 10 s counts as a hang.
  if ! cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1; then
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "all fuzz targets ran ${seconds} s without a crash"
