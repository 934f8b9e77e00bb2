#!/usr/bin/env bash
# Packs the release archives (what `make dist` runs, after `make windows`):
#
#   dist/lanmeet-VERSION-linux-x86_64.tar.gz
#   dist/lanmeet-VERSION-windows-x86_64.zip
#
# Each holds lanmeet-server and lanmeet-client, FIRST-RUN.txt (start the
# server, open the firewall, join) and NOTICES.txt, the licence notices of
# the code linked into the programs (scripts/notices.py, from cargo
# metadata and the crates' sources). VERSION is the workspace's version.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
export CARGO="$cargo"
tdir="${CARGO_TARGET_DIR:-target}"
wtarget=x86_64-pc-windows-gnu
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "dist: no version in Cargo.toml [workspace.package]" >&2; exit 1; }

for exe in lanmeet-server.exe lanmeet-client.exe; do
  [ -f "$tdir/$wtarget/release/$exe" ] || {
    echo "dist: $tdir/$wtarget/release/$exe is missing: run make windows first" >&2; exit 1; }
done

scripts/ensure-deps.sh dist
scripts/ensure-deps.sh client
"$cargo" build --release -p lanmeet-server -p lanmeet-client

stage=$(mktemp -d /tmp/lanmeet-dist.XXXXXX)
trap 'rm -rf "$stage"' EXIT
linux="lanmeet-$version-linux-x86_64"
windows="lanmeet-$version-windows-x86_64"
mkdir -p "$stage/$linux" "$stage/$windows" dist

# Linux: the programs, and the Debian packages of the shared libraries the
# client names (its NEEDED entries; found from the binary itself, so the
# list stays true). Those packages bring in what they need themselves.
cp "$tdir/release/lanmeet-server" "$tdir/release/lanmeet-client" "$stage/$linux/"
client_bin="$tdir/release/lanmeet-client"
runtime=$(readelf -d "$client_bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
  while read -r lib; do ldd "$client_bin" | awk -v l="$lib" '$1 == l {print $3}'; done |
  xargs -r realpath | xargs -r dpkg -S 2>/dev/null | cut -d: -f1 | sort -u |
  grep -v -x -E 'libc6|libgcc-s1|libstdc\+\+6' | paste -sd' ' | fold -s -w 66 | sed 's/ *$//; 2,$s/^/   /' || true)
cat >"$stage/$linux/FIRST-RUN.txt" <<EOF
lanmeet $version for Linux (x86_64)

  lanmeet-server   the meeting server (needs only the C library)
  lanmeet-client   the desktop client; --headless --help for scripts
  NOTICES.txt      licences of the libraries built into the programs

1. Start the server on one machine of the room's network:

     ./lanmeet-server

   It listens on TCP 5001 and UDP 5002 on every interface and prints
   "listening". Its address for the others: hostname -I (the LAN one,
   e.g. 192.168.1.20, not 127.0.0.1). --help lists the options.

2. Open the firewall for those ports, if the machine runs one:

     sudo ufw allow 5001/tcp && sudo ufw allow 5002/udp

   Without UDP 5002 people can chat and share files but get no video
   or sound.

3. On each participant's machine start the client:

     ./lanmeet-client

   Type the server's address and your name. The first person chooses
   "Start a new meeting" and reads out the meeting code shown in the
   status bar; everyone else chooses "Join with a code".

   The client uses these system libraries (Debian/Ubuntu package names):
   $runtime

Windows participants use $windows.zip and join the same
server; a Windows machine can also run the server.
EOF

# Windows: the programs, with the texts in Windows line endings.
cp "$tdir/$wtarget/release/lanmeet-server.exe" "$tdir/$wtarget/release/lanmeet-client.exe" \
  "$stage/$windows/"
sed 's/$/\r/' >"$stage/$windows/FIRST-RUN.txt" <<EOF
lanmeet $version for Windows (x86_64, Windows 10 or later)

  lanmeet-server.exe   the meeting server
  lanmeet-client.exe   the desktop client; --headless --help for scripts
  NOTICES.txt          licences of the libraries built into the programs

Unzip the folder first (Extract all...); do not run the programs from
inside the zip.

The programs are not signed. The first time, Windows SmartScreen may say
"Windows protected your PC": click "More info", then "Run anyway".

1. Start the server on one machine of the room's network: double-click
   lanmeet-server.exe. Its console window is the server: leave it open,
   close it to end every meeting. It listens on TCP 5001 and UDP 5002.

   Windows Defender Firewall asks whether lanmeet-server may communicate
   on networks: tick "Private networks" and click "Allow access". (On a
   network Windows calls Public, tick that too, or make the network
   Private in Settings > Network.) Without the prompt, an administrator
   can open the ports in a Command Prompt:

     netsh advfirewall firewall add rule name="lanmeet TCP" dir=in action=allow protocol=TCP localport=5001
     netsh advfirewall firewall add rule name="lanmeet UDP" dir=in action=allow protocol=UDP localport=5002

   The server's address for the others: run ipconfig and take the
   "IPv4 Address" of the room's network (e.g. 192.168.1.20).

2. On each participant's machine double-click lanmeet-client.exe (a
   console window opens beside the window: it shows the client's
   messages). If the firewall asks about lanmeet-client, allow it on
   Private networks.

   Type the server's address and your name. The first person chooses
   "Start a new meeting" and reads out the meeting code shown in the
   status bar; everyone else chooses "Join with a code".

Linux machines use $linux.tar.gz and join the same server.
EOF

python3 scripts/notices.py --target x86_64-unknown-linux-gnu --out "$stage/$linux/NOTICES.txt"
mingw_notice=/usr/share/doc/mingw-w64-common/copyright
python3 scripts/notices.py --target "$wtarget" --out "$stage/$windows/NOTICES.txt" \
  --extra "The mingw-w64 runtime (startup code and winpthreads, linked in statically)=$mingw_notice"
sed -i 's/$/\r/' "$stage/$windows/NOTICES.txt"

rm -f "dist/$linux.tar.gz" "dist/$windows.zip"
tar -C "$stage" --owner=0 --group=0 --sort=name -czf "dist/$linux.tar.gz" "$linux"
(cd "$stage" && zip -q -X -r "$OLDPWD/dist/$windows.zip" "$windows")
for f in "dist/$linux.tar.gz" "dist/$windows.zip"; do
  echo "$f: $(du -h "$f" | cut -f1)"
done
