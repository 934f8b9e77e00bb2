#!/usr/bin/env python3
"""A small lanmeet client: chat, presence and mixed audio, standard library only.

It shows the whole wire protocol (version 1) a client needs:

  TCP  every message is a frame: a 4-byte big-endian length, then that many
       bytes of UTF-8 JSON holding one object with a string "type".
  UDP  every datagram is: kind (1 ASCII byte) | id_len (u16 BE) | client_id
       | body.  'I' hello carries our udp_token, 'A' carries audio.

Usage:
    python3 lanmeet_client.py --name Alice --create
    python3 lanmeet_client.py --name Bob --join K7Q2XZ --record bob.wav

Type a line to send it as public chat. Commands:
    /to CLIENT_ID text   private message        /hand   raise or lower your hand
    /emoji 👍            reaction                /quit   leave the meeting
"""

import argparse
import json
import math
import socket
import struct
import sys
import threading
import time
import wave

MAX_SERVER_FRAME = 8 * 1024 * 1024   # clients accept server frames up to 8 MiB
SAMPLE_RATE = 48000                  # mixed audio: 48 kHz mono, 16-bit
SAMPLES_PER_FRAME = 480              # one 'A' datagram = 10 ms


# ---------------------------------------------------------------- TCP framing

def send_msg(sock, lock, msg):
    """Encode one message as a frame and send it (the lock keeps frames whole
    when several threads send)."""
    body = json.dumps(msg).encode("utf-8")
    with lock:
        sock.sendall(struct.pack(">I", len(body)) + body)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return bytes(buf)


def recv_msg(sock):
    """Read one frame and decode its JSON object."""
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    if length > MAX_SERVER_FRAME:
        raise ConnectionError(f"server frame too large: {length} bytes")
    return json.loads(recv_exact(sock, length).decode("utf-8"))


# ------------------------------------------------------------------ UDP header

def udp_packet(kind, client_id, body):
    cid = client_id.encode("utf-8")
    return kind.encode("ascii") + struct.pack(">H", len(cid)) + cid + body


def parse_udp(data):
    """Split a datagram into (kind, client_id, body); None if malformed."""
    if len(data) < 3:
        return None
    (id_len,) = struct.unpack(">H", data[1:3])
    if len(data) < 3 + id_len:
        return None
    return chr(data[0]), data[3:3 + id_len].decode("utf-8", "replace"), data[3 + id_len:]


# ---------------------------------------------------------------------- client

class Client:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.send_lock = threading.Lock()
        self.names = {}          # client_id -> username, to print events nicely
        self.hand_up = False
        self.muted = False       # a muted client sends no audio
        self.wav = None
        self.audio_frames = 0

    def handshake(self):
        a = self.args
        self.tcp = socket.create_connection((a.host, a.port), timeout=10)
        # The very first frame is create_meeting or join_meeting.
        if a.create:
            msg = {"type": "create_meeting", "version": 1, "username": a.name}
        else:
            msg = {"type": "join_meeting", "version": 1, "username": a.name,
                   "meeting_code": a.join}
        if a.password:
            msg["password"] = a.password
        send_msg(self.tcp, self.send_lock, msg)
        reply = recv_msg(self.tcp)
        if reply["type"] == "error":       # the server closes after this
            sys.exit(f"cannot enter: {reply['code']}: {reply.get('message', '')}")
        self.tcp.settimeout(None)          # the reader thread blocks from now on
        self.me = reply["client_id"]
        self.token = reply["udp_token"]
        self.udp_addr = (a.host, reply["udp_port"])
        # Every datagram we send must fit in max_datagram bytes; hellos and
        # 10 ms audio frames (967 bytes plus our id) always do at 1400.
        self.max_datagram = reply["max_datagram"]
        for p in reply["participants"]:    # the others, not us
            self.names[p["client_id"]] = p["username"]
        print(f"* meeting {reply['meeting_code']} as {a.name} ({self.me})"
              f"{' - you are the host' if reply['is_host'] else ''}")
        for p in reply["participants"]:
            print(f"* here: {p['username']} ({p['client_id']})"
                  f"{' [host]' if p['is_host'] else ''}{' [muted]' if p['muted'] else ''}")
        if reply["presenter"]:
            print(f"* {self.who(reply['presenter'])} is presenting")
        for m in reply["chat_history"]:   # last 100 public messages, oldest first
            self.show_chat(m)
        for f in reply["files"]:
            print(f"* file offered by {f['username']}: {f['filename']} ({f['filesize']} bytes)")

    def who(self, cid):
        return self.names.get(cid, cid)

    def show_chat(self, m):
        stamp = time.strftime("%H:%M:%S", time.localtime(m["timestamp"]))
        private = " (private)" if m.get("private") else ""
        print(f"[{stamp}] {m['username']}{private}: {m['message']}")

    # -------------------------------------------------------- TCP reader

    def tcp_reader(self):
        try:
            while not self.stop.is_set():
                self.handle(recv_msg(self.tcp))
        except (OSError, ConnectionError, ValueError) as e:
            if not self.stop.is_set():
                print(f"* connection lost: {e}")
        self.stop.set()

    def handle(self, m):
        t = m["type"]
        if t == "chat":
            self.show_chat(m)
        elif t == "user_joined":
            self.names[m["client_id"]] = m["username"]
            print(f"* {m['username']} joined")
        elif t == "user_left":
            print(f"* {m['username']} left ({m['reason']})")
        elif t == "host_changed":
            print(f"* {'you are' if m['client_id'] == self.me else self.who(m['client_id']) + ' is'} now the host")
        elif t == "participant_audio_state":
            if m["client_id"] == self.me:
                self.muted = m["muted"]
            print(f"* {self.who(m['client_id'])} {'muted' if m['muted'] else 'unmuted'}")
        elif t == "participant_video_state":
            print(f"* {self.who(m['client_id'])} camera {m['state']}")
        elif t == "participant_hand_state":
            print(f"* {m['username']} {'raised' if m['state'] else 'lowered'} a hand")
        elif t == "emoji_reaction":
            print(f"* {m['username']} reacts {m['emoji']}")
        elif t in ("muted_by_host", "mic_locked", "mic_unlocked", "unmuted_by_host"):
            if t in ("muted_by_host", "unmuted_by_host"):
                self.muted = t == "muted_by_host"
            print(f"* host: {t.replace('_', ' ')}")
        elif t == "screen_share_started":
            print(f"* {self.who(m['presenter_id'])} started presenting")
        elif t == "screen_share_stopped":
            print(f"* {self.who(m['presenter_id'])} stopped presenting")
        elif t == "file_offer":
            print(f"* {m['username']} offers {m['filename']} ({m['filesize']} bytes)")
        elif t == "removed":
            print(f"* removed from the meeting by {self.who(m['by'])}")
        elif t == "error":
            print(f"* error {m['code']}: {m.get('message', '')}")
        # pong, screen_frame and the rest are not shown by this small client.

    # -------------------------------------------------------------- UDP

    def udp_loop(self):
        """Send the hello now and every 2 s; receive the mixed audio."""
        hello = udp_packet("I", self.me, self.token.encode("ascii"))
        next_hello = 0.0
        media_ok = False
        while not self.stop.is_set():
            if time.monotonic() >= next_hello:
                self.udp.sendto(hello, self.udp_addr)
                next_hello = time.monotonic() + 2.0
            try:
                data = self.udp.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                break
            p = parse_udp(data)
            if p is None:
                continue
            kind, sender, body = p
            if kind == "I" and body == b"ok" and not media_ok:
                media_ok = True              # the server answered our hello
                print("* UDP media path works")
            elif kind == "A" and sender == "" and len(body) == 4 + 2 * SAMPLES_PER_FRAME:
                # Mixed audio: seq u32 BE | 480 samples, 16-bit little-endian.
                self.audio_frames += 1
                if self.wav:
                    self.wav.writeframes(body[4:])   # already LE 16-bit PCM
            # 'V' video fragments from others are ignored here.

    def tone_loop(self):
        """Play the microphone: one 'A' datagram per 10 ms carrying a sine
        tone (seq u32 BE | 480 signed 16-bit little-endian samples)."""
        seq, phase = 0, 0.0
        step = 2 * math.pi * self.args.tone / SAMPLE_RATE
        start = time.monotonic()
        while not self.stop.is_set():
            samples = []
            for _ in range(SAMPLES_PER_FRAME):
                samples.append(int(8000 * math.sin(phase)))
                phase += step
            body = struct.pack(">I", seq) + struct.pack("<480h", *samples)
            if not self.muted:   # the server would discard it anyway
                self.udp.sendto(udp_packet("A", self.me, body), self.udp_addr)
            seq += 1
            # An absolute schedule: frame n leaves at start + n * 10 ms.
            delay = start + seq * 0.010 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    # ------------------------------------------------------------- input

    def pinger(self):
        while not self.stop.wait(10):        # at least every 10 s
            self.send({"type": "ping"})

    def send(self, msg):
        try:
            send_msg(self.tcp, self.send_lock, msg)
        except OSError:
            self.stop.set()

    def stdin_loop(self):
        line = ""
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            if line == "/quit":
                break
            if line == "/hand":
                self.hand_up = not self.hand_up
                self.send({"type": "raise_hand", "state": self.hand_up})
            elif line.startswith("/emoji "):
                self.send({"type": "emoji_reaction", "emoji": line[7:].strip()})
            elif line.startswith("/to "):
                parts = line.split(" ", 2)
                if len(parts) == 3:
                    self.send({"type": "chat", "to": parts[1], "message": parts[2]})
            else:
                self.send({"type": "chat", "message": line[:4000]})
        # EOF or /quit: leave, unless a scripted run waits for --seconds.
        if self.args.seconds is None or line == "/quit":
            self.stop.set()

    def run(self):
        self.handshake()
        if self.args.record:
            self.wav = wave.open(self.args.record, "wb")
            self.wav.setnchannels(1)
            self.wav.setsampwidth(2)
            self.wav.setframerate(SAMPLE_RATE)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.settimeout(0.2)
        tasks = [self.tcp_reader, self.udp_loop, self.pinger, self.stdin_loop]
        if self.args.tone:
            tasks.append(self.tone_loop)
        threads = {t.__name__: threading.Thread(target=t, daemon=True) for t in tasks}
        for th in threads.values():
            th.start()
        deadline = None if self.args.seconds is None else time.monotonic() + self.args.seconds
        try:
            while not self.stop.wait(0.2):
                if deadline and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            pass
        self.stop.set()
        threads["udp_loop"].join(1.0)   # no more WAV writes after this
        self.leave()

    def leave(self):
        """Say goodbye; the server closes the connection after `leave`."""
        try:
            send_msg(self.tcp, self.send_lock, {"type": "leave"})
            self.tcp.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.tcp.close()
        if self.wav:
            self.wav.close()
            print(f"* wrote {self.audio_frames} audio frames "
                  f"({self.audio_frames / 100:.1f} s) to {self.args.record}")
        print("* left the meeting")


def main():
    ap = argparse.ArgumentParser(description="Example lanmeet client (chat, presence, audio)")
    ap.add_argument("--host", default="127.0.0.1", help="server address")
    ap.add_argument("--port", type=int, default=5001, help="server TCP port")
    ap.add_argument("--name", required=True, help="your display name (1..32 characters)")
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--create", action="store_true", help="create a new meeting")
    who.add_argument("--join", metavar="CODE", help="join the meeting with this code")
    ap.add_argument("--password", help="meeting password (sets one on --create)")
    ap.add_argument("--record", metavar="WAV", help="write the mixed audio to this WAV file")
    ap.add_argument("--seconds", type=float, help="leave after this many seconds")
    ap.add_argument("--tone", type=float, metavar="HZ",
                    help="send a sine tone as microphone audio (shows 'A' sending)")
    Client(ap.parse_args()).run()


if __name__ == "__main__":
    main()
