#!/usr/bin/env python3
"""The Windows programs under wine, in meetings with the Linux programs.

    make test-windows        (builds both, then runs this)
    python3 scripts/wine_smoke.py [--out DIR]

Needs the Windows executables from `make windows`, the Linux debug build
of the server and client, and the packages of `scripts/ensure-deps.sh wine`.
Everything runs on loopback with ports the system picks, in a fresh wine
prefix in a temporary folder, and every process started here is stopped
by its id at the end. The checks:

1. devices:   lanmeet-client.exe --list-devices runs (WASAPI, Media
              Foundation and GDI through wine) and exits 0.
2. client:    the Windows headless client joins a meeting held by the Linux
              server and sends a test pattern, a 660 Hz tone and its screen
              (xcap on wine's display); a Linux headless client gets its
              video frames, screen frames and chat line, and the recording
              of what it hears is that tone.
3. server:    the Windows server holds a meeting between two Linux headless
              clients: video, a chat line and a 440 Hz tone get across.
4. window:    the Windows desktop client, on a virtual display (Xvfb), opens
              its join form, which is filled in and submitted with xdotool;
              the Linux host of the meeting sees it join and gets its video.
              Screenshots of the form and of the meeting go to --out
              (default: $CARGO_TARGET_DIR/wine-smoke, else target/wine-smoke).

Prints one line per check and `N passed, M failed` at the end.
"""

import argparse
import json
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.abspath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"))
WIN_DIR = os.path.join(TARGET, "x86_64-pc-windows-gnu", "release")
LIN_DIR = os.path.join(TARGET, "debug")


class Failed(Exception):
    """A check did not hold; the message says what was seen."""


class Proc:
    """A started program: its stdout lines kept (JSON parsed where it is),
    its stderr in a file."""

    def __init__(self, name, argv, work, env):
        self.name = name
        self.err_path = os.path.join(work, f"{name}.err")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.err, stdin=subprocess.DEVNULL,
            env=env, cwd=work,
        )
        self.lines = []
        self.events = []
        self.fresh = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict):
                self.events.append(event)
            self.fresh.put(line)
        self.fresh.put(None)

    def wait_line(self, pattern, timeout, what):
        """The first stdout line matching `pattern` (a regex)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if re.search(pattern, line):
                    return line
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0 or not self.reader.is_alive() and self.fresh.empty():
                raise Failed(f"{self.name}: no {what} within {timeout} s{self.tail()}")
            try:
                self.fresh.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def wait_event(self, match, timeout, what):
        """The first JSON event for which `match(event)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            for event in list(self.events):
                if match(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0 or not self.reader.is_alive() and self.fresh.empty():
                raise Failed(f"{self.name}: no {what} within {timeout} s{self.tail()}")
            try:
                self.fresh.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def finish(self, timeout):
        """Waits for the program to end by itself; returns its exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"{self.name}: still running after {timeout} s{self.tail()}")
        self.reader.join(timeout=5)
        return code

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()

    def tail(self):
        out = "\n    ".join(self.lines[-8:])
        try:
            with open(self.err_path, "rb") as f:
                err = f.read()[-1500:].decode("utf-8", "replace").strip()
        except OSError:
            err = ""
        text = ""
        if out:
            text += f"\n  last stdout lines:\n    {out}"
        if err:
            text += f"\n  stderr ({self.err_path}):\n    " + err.replace("\n", "\n    ")
        return text

    def count(self, match):
        return sum(1 for e in self.events if match(e))


def tone_strength(path, hz):
    """How much of the recording is a clean tone at `hz`: the number of
    100 ms blocks that are loud (RMS > 1000 of 32767) with at least 70% of
    their amplitude at `hz` (Goertzel), and the number of blocks."""
    with wave.open(path, "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    if width != 2 or channels != 1:
        raise Failed(f"{path}: {channels} channels of {8 * width} bits, expected 16-bit mono")
    samples = memoryview(raw).cast("h")
    block = rate // 10
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    clean = 0
    blocks = len(samples) // block
    for b in range(blocks):
        s1 = s2 = 0.0
        energy = 0
        for x in samples[b * block:(b + 1) * block]:
            s1, s2 = x + coeff * s1 - s2, s1
            energy += x * x
        rms = math.sqrt(energy / block)
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        amplitude = 2 * math.sqrt(max(power, 0.0)) / block
        if rms > 1000 and amplitude > 0.7 * rms * math.sqrt(2):
            clean += 1
    return clean, blocks


def check_tone(path, hz, who):
    clean, blocks = tone_strength(path, hz)
    if clean < 20:
        raise Failed(f"{who} heard {clean} clean 100 ms blocks of {hz} Hz out of {blocks}"
                     " (expected at least 20)")
    return f"{clean}/{blocks} blocks of 100 ms are the {hz} Hz tone"


class Smoke:
    def __init__(self, out):
        self.out = out
        self.work = tempfile.mkdtemp(prefix="lanmeet-wine.")
        self.procs = []
        self.xvfb = None
        self.linux_port = None
        self.env = dict(os.environ)
        self.env.update(
            WINEPREFIX=os.path.join(self.work, "prefix"),
            WINEDEBUG="-all",
            # No Mono or Gecko: wine would offer to download them.
            WINEDLLOVERRIDES="mscoree,mshtml=",
        )
        self.env.pop("LANMEET_TEST_SOURCES", None)
        self.server_exe = os.path.join(WIN_DIR, "lanmeet-server.exe")
        self.client_exe = os.path.join(WIN_DIR, "lanmeet-client.exe")
        self.server_bin = os.path.join(LIN_DIR, "lanmeet-server")
        self.client_bin = os.path.join(LIN_DIR, "lanmeet-client")

    # -- processes ---------------------------------------------------------

    def start(self, name, argv, env=None):
        p = Proc(name, argv, self.work, env or self.env)
        self.procs.append(p)
        return p

    def wine(self, name, exe, args, env=None):
        return self.start(name, ["wine", exe, *args], env)

    def linux_server(self, name):
        server = self.start(name, [self.server_bin, "--bind", "127.0.0.1", "--port", "0",
                                   "--log-dir", os.path.join(self.work, name)])
        return server, self.port_of(server)

    def shared_linux_server(self):
        """The port of one Linux server for the checks that need one."""
        if self.linux_port is None:
            _, self.linux_port = self.linux_server("linux-server")
        return self.linux_port

    def port_of(self, server):
        line = server.wait_line(r"^listening tcp=", 60, "'listening' line")
        return int(re.search(r"tcp=[0-9.]+:(\d+)", line).group(1))

    def headless(self, name, exe_argv, port, *args):
        return self.start(name, [*exe_argv, "--headless", "--host", "127.0.0.1",
                                 "--port", str(port), *args,
                                 "--log-dir", os.path.join(self.work, name + "-logs")])

    def cleanup(self):
        for p in self.procs:
            p.stop()
        subprocess.run(["wineserver", "-k"], env=self.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if self.xvfb:
            self.xvfb.terminate()
            self.xvfb.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    # -- set-up ------------------------------------------------------------

    def prepare(self):
        for path in (self.server_exe, self.client_exe):
            if not os.path.isfile(path):
                raise Failed(f"{path} is missing: run make windows")
        for path in (self.server_bin, self.client_bin):
            if not os.path.isfile(path):
                raise Failed(f"{path} is missing: cargo build -p lanmeet-server -p lanmeet-client")
        if not shutil.which("wine"):
            raise Failed("wine is not installed: scripts/ensure-deps.sh wine")
        # A display for the window (and for wine's own windows, if any).
        display_file = os.path.join(self.work, "display")
        with open(display_file, "w") as fd:
            self.xvfb = subprocess.Popen(
                ["Xvfb", "-displayfd", str(fd.fileno()), "-screen", "0", "1280x800x24",
                 "-noreset", "-nolisten", "tcp"],
                pass_fds=(fd.fileno(),), stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.getsize(display_file) > 0:
                break
            time.sleep(0.1)
        with open(display_file) as f:
            self.env["DISPLAY"] = ":" + f.read().strip()
        started = time.monotonic()
        subprocess.run(["wineboot", "--init"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=300)
        version = subprocess.run(["wine", "--version"], env=self.env, capture_output=True,
                                 text=True).stdout.strip()
        note = self.add_bcryptprimitives()
        return f"{version}, prefix made in {time.monotonic() - started:.0f} s{note}"

    def add_bcryptprimitives(self):
        """Wine before 8.13 lacks bcryptprimitives.dll, which Rust programs
        need (scripts/wine/bcryptprimitives.c says why): build the stand-in
        into the prefix."""
        system32 = os.path.join(self.env["WINEPREFIX"], "drive_c", "windows", "system32")
        dll = os.path.join(system32, "bcryptprimitives.dll")
        if os.path.exists(dll):
            return ""
        source = os.path.join(ROOT, "scripts", "wine", "bcryptprimitives.c")
        subprocess.run(["x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", dll, source,
                        "-ladvapi32"], check=True)
        return ", with the bcryptprimitives.dll stand-in (this wine lacks it)"

    # -- the checks --------------------------------------------------------

    def devices(self):
        p = self.wine("win-devices", self.client_exe, ["--list-devices"])
        code = p.finish(120)
        if code != 0:
            raise Failed(f"--list-devices exited {code}{p.tail()}")
        text = " | ".join(line.strip() for line in p.lines if line.strip())
        return f"exit 0: {text[:300]}"

    def windows_client(self):
        port = self.shared_linux_server()
        wav = os.path.join(self.work, "heard-660.wav")
        listener = self.headless("linux-listener", [self.client_bin], port,
                                 "--name", "Linux Listener", "--create",
                                 "--record-audio", wav, "--seconds", "40")
        joined = listener.wait_event(lambda e: e.get("event") == "joined", 30, "joined event")
        code = joined["meeting_code"]
        sender = self.headless("win-sender", ["wine", self.client_exe], port,
                               "--name", "Windows Sender", "--join", code,
                               "--video", "test", "--size", "320x240", "--fps", "10",
                               "--audio", "tone:660", "--say", "hello from windows",
                               "--share-screen", "--seconds", "12")
        sender.wait_event(lambda e: e.get("event") == "joined", 60, "joined event")
        peer = listener.wait_event(
            lambda e: e.get("event") == "participant_joined"
            and e.get("username") == "Windows Sender", 60, "Windows Sender joining")
        wid = peer["client_id"]
        listener.wait_event(lambda e: e.get("event") == "chat" and e.get("client_id") == wid
                            and e.get("message") == "hello from windows", 30,
                            "chat line from Windows")
        status = sender.finish(60)
        if status != 0:
            raise Failed(f"the Windows client exited {status}{sender.tail()}")
        listener.finish(60)
        frames = listener.count(lambda e: e.get("event") == "video_frame"
                                and e.get("client_id") == wid and e.get("width") == 320
                                and e.get("height") == 240)
        if frames < 30:
            raise Failed(f"the Linux client got {frames} 320x240 video frames from Windows"
                         f" (expected at least 30 of ~120){listener.tail()}")
        tone = check_tone(wav, 660, "the Linux client")
        shots = [e for e in listener.events if e.get("event") == "screen_frame"
                 and e.get("presenter_id") == wid]
        if not shots:
            raise Failed(f"the Linux client got no screen frame from Windows{sender.tail()}")
        size = f"{shots[-1]['width']}x{shots[-1]['height']}"
        return (f"{frames} video frames and {len(shots)} {size} screen frames from Windows,"
                f" chat line, {tone}")

    def windows_server(self):
        server = self.wine("win-server", self.server_exe,
                           ["--bind", "127.0.0.1", "--port", "0",
                            "--log-dir", os.path.join(self.work, "win-server-logs")])
        port = self.port_of(server)
        host = self.headless("linux-a", [self.client_bin], port, "--name", "Linux A",
                             "--create", "--video", "test", "--size", "320x240", "--fps", "10",
                             "--audio", "tone:440", "--seconds", "20")
        joined = host.wait_event(lambda e: e.get("event") == "joined", 60, "joined event")
        aid = joined["client_id"]
        wav = os.path.join(self.work, "heard-440.wav")
        guest = self.headless("linux-b", [self.client_bin], port, "--name", "Linux B",
                              "--join", joined["meeting_code"], "--say", "hello via windows",
                              "--record-audio", wav, "--seconds", "12")
        guest.wait_event(lambda e: e.get("event") == "joined", 30, "joined event")
        host.wait_event(lambda e: e.get("event") == "chat" and e.get("message")
                        == "hello via windows", 30, "Linux B's chat line")
        for p in (guest, host):
            status = p.finish(60)
            if status != 0:
                raise Failed(f"{p.name} exited {status}{p.tail()}")
        frames = guest.count(lambda e: e.get("event") == "video_frame"
                             and e.get("client_id") == aid)
        if frames < 30:
            raise Failed(f"Linux B got {frames} video frames from Linux A through the Windows"
                         f" server (expected at least 30 of ~120){guest.tail()}")
        tone = check_tone(wav, 440, "Linux B")
        if server.proc.poll() is not None:
            raise Failed(f"the Windows server ended{server.tail()}")
        server.stop()
        return f"{frames} video frames A->B, chat B->A, {tone}"

    def window(self):
        port = self.shared_linux_server()
        host = self.headless("linux-host", [self.client_bin], port, "--name", "Linux Host",
                             "--create", "--video", "test", "--size", "320x240", "--fps", "10",
                             "--seconds", "90")
        code = host.wait_event(lambda e: e.get("event") == "joined", 30,
                               "joined event")["meeting_code"]
        env = dict(self.env)
        # The window's camera and microphone are the synthetic ones, so the
        # host can check that media from the window arrives.
        env.update(LANMEET_TEST_SOURCES="1", XDG_CONFIG_HOME=os.path.join(self.work, "config"),
                   XDG_STATE_HOME=os.path.join(self.work, "state"))
        self.wine("win-window", self.client_exe, ["--host", "127.0.0.1", "--port", str(port)],
                  env)
        wid = self.xdotool("search", "--sync", "--name", "lanmeet - join", timeout=120).split()[0]
        time.sleep(2)
        self.click(wid, 310, 146)   # Your name
        self.xdotool("key", "ctrl+a")
        self.xdotool("type", "--delay", "30", "Wine Student")
        self.click(wid, 160, 216)   # Join with a code
        self.click(wid, 230, 248)   # Meeting code
        self.xdotool("type", "--delay", "30", code)
        time.sleep(1)
        self.shot("windows-join.png", wid)
        self.click(wid, 410, 502)   # Join
        peer = host.wait_event(lambda e: e.get("event") == "participant_joined"
                               and e.get("username") == "Wine Student", 60,
                               "the window joining as Wine Student")
        gid = peer["client_id"]
        host.wait_event(lambda e: e.get("event") == "video_frame"
                        and e.get("client_id") == gid, 30, "video from the window")
        time.sleep(6)  # the window shows the host's video; join notices fade
        self.shot("windows-meeting.png")
        frames = host.count(lambda e: e.get("event") == "video_frame"
                            and e.get("client_id") == gid)
        return (f"joined meeting {code} as Wine Student; the host got {frames} video frames"
                f" from the window; screenshots in {self.out}")

    # -- display helpers ---------------------------------------------------

    def xdotool(self, *args, timeout=20):
        try:
            r = subprocess.run(["xdotool", *args], env=self.env, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"xdotool {' '.join(args)}: no answer in {timeout} s")
        if r.returncode != 0:
            raise Failed(f"xdotool {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def click(self, wid, x, y):
        self.xdotool("mousemove", "--window", wid, str(x), str(y), "click", "1")
        time.sleep(0.4)

    def shot(self, name, wid=None):
        os.makedirs(self.out, exist_ok=True)
        path = os.path.join(self.out, name)
        target = ["-id", wid] if wid else ["-root"]
        xwd = subprocess.run(["xwd", *target, "-silent"], env=self.env, capture_output=True,
                             check=True).stdout
        pnm = subprocess.run(["xwdtopnm"], input=xwd, capture_output=True, check=True).stdout
        png = subprocess.run(["pnmtopng", "-compression", "9"], input=pnm,
                             capture_output=True, check=True).stdout
        with open(path, "wb") as f:
            f.write(png)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(TARGET, "wine-smoke"),
                    help="where the screenshots go")
    args = ap.parse_args()
    smoke = Smoke(os.path.abspath(args.out))
    passed = failed = 0
    started = time.monotonic()
    try:
        try:
            print(f"wine smoke: {smoke.prepare()}", flush=True)
        except (Failed, subprocess.SubprocessError, OSError) as e:
            print(f"wine smoke: cannot start: {e}", flush=True)
            print("0 passed, 1 failed")
            return 1
        for name, check in (("devices", smoke.devices), ("windows client", smoke.windows_client),
                            ("windows server", smoke.windows_server),
                            ("windows window", smoke.window)):
            t = time.monotonic()
            try:
                detail = check()
                passed += 1
                print(f"ok   {name} ({time.monotonic() - t:.0f} s): {detail}", flush=True)
            except (Failed, subprocess.SubprocessError, OSError) as e:
                failed += 1
                print(f"FAIL {name} ({time.monotonic() - t:.0f} s): {e}", flush=True)
    finally:
        smoke.cleanup()
    print(f"wine smoke took {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
