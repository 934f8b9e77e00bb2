#!/usr/bin/env bash
# Builds the Windows executables on Debian, cross-compiling with mingw-w64:
#
#   scripts/build-windows.sh      (what `make windows` runs)
#
# writes lanmeet-server.exe and lanmeet-client.exe (release, x86_64) to
# ${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/release/. It installs
# the mingw-w64 packages (scripts/ensure-deps.sh windows) and Rust's
# standard library for the target (rustup) when they are missing, and
# stops with a plain message where the latter cannot be had.
#
# The executables are linked statically (-static): mingw's own runtime DLLs
# (libstdc++, libgcc, winpthread) are not on a Windows machine, so each
# .exe must need only the DLLs Windows itself ships. That is checked here.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
out="${CARGO_TARGET_DIR:-target}/$target/release"
cargo=${CARGO:-cargo}

scripts/ensure-deps.sh windows

# Rust's standard library for the target: rustup's rust-std component.
sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/$target/lib" ]; then
  if ! command -v rustup >/dev/null 2>&1; then
    echo "make windows: Rust's standard library for $target is not installed" \
      "($sysroot/lib/rustlib/$target is missing) and there is no rustup to fetch it." >&2
    echo "Install the toolchain with rustup, or the rust-std component for $target" \
      "of $(rustc --version), then run make windows again." >&2
    exit 1
  fi
  echo "installing Rust's standard library for $target: rustup target add $target"
  if ! rustup target add "$target"; then
    echo "make windows: rustup could not fetch Rust's standard library for $target" \
      "(the error is above). Nothing can be built for Windows without it." >&2
    echo "Run 'rustup target add $target' where rustup reaches its download server," \
      "then make windows again." >&2
    exit 1
  fi
fi

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="${CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS:--C link-arg=-static}"
"$cargo" build --release --target "$target" -p lanmeet-server -p lanmeet-client

for exe in lanmeet-server.exe lanmeet-client.exe; do
  dlls=$(x86_64-w64-mingw32-objdump -p "$out/$exe" | sed -n 's/^[[:space:]]*DLL Name: //p' | sort -fu)
  if grep -qiE '^(libstdc\+\+|libgcc|libwinpthread)' <<<"$dlls"; then
    echo "make windows: $out/$exe needs mingw's runtime DLLs, which Windows lacks:" >&2
    echo "$dlls" >&2
    exit 1
  fi
  echo "$out/$exe: $(du -h "$out/$exe" | cut -f1), needs $(echo "$dlls" | paste -sd' ')"
done
