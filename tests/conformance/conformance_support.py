"""Shared helpers for the lanmeet protocol conformance suite.

Everything here is derived from PROTOCOL.md (wire protocol, version 1):

* ``Server`` starts a server binary on loopback with ``--port 0`` and parses
  the first stdout line ``listening tcp=IP:PORT udp=IP:PORT``.
* ``Conn`` is one TCP control connection: 4-byte big-endian length framing
  around one JSON object per frame.  A reader thread puts every frame the
  server sends into an inbox; tests wait for a matching message with a
  timeout, so no test can hang on a socket read.
* ``Udp`` is one UDP media socket: kind byte, u16 id length, id, body.
* ``ConformanceCase`` is the base class of every test: it gives fresh
  meetings per test and closes every socket it opened.

Only the Python 3.11 standard library is used.
"""

import atexit
import json
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Seconds to wait for a message that must arrive.
TIMEOUT = float(os.environ.get("LANMEET_TIMEOUT", "5"))
# Seconds to wait before concluding that a message did not arrive.
SETTLE = float(os.environ.get("LANMEET_SETTLE", "0.4"))

MAX_CLIENT_FRAME = 4 * 1024 * 1024  # section 1
MAX_SERVER_FRAME = 8 * 1024 * 1024  # section 1
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # section 2
SAMPLES_PER_FRAME = 480  # section 9: 10 ms at 48 kHz, mono


def server_binary():
    path = os.environ.get("LANMEET_SERVER", "target/debug/lanmeet-server")
    if not os.path.isabs(path):
        path = os.path.join(REPO_ROOT, path)
    return path


# ---------------------------------------------------------------------------
# Server process
# ---------------------------------------------------------------------------

class Server:
    """A server process listening on 127.0.0.1 with kernel-chosen ports."""

    def __init__(self, *extra_args):
        binary = server_binary()
        if not os.path.exists(binary):
            raise RuntimeError(
                f"server binary not found: {binary} (build it with "
                "`cargo build -p lanmeet-server` or set LANMEET_SERVER)")
        self.work_dir = tempfile.mkdtemp(prefix="lanmeet-conformance-")
        self.log_dir = os.path.join(self.work_dir, "logs")
        os.makedirs(self.log_dir)
        self.stderr_path = os.path.join(self.work_dir, "stderr.txt")
        self._stderr = open(self.stderr_path, "wb")
        self.args = [binary, "--bind", "127.0.0.1", "--port", "0",
                     "--log-dir", self.log_dir, *extra_args]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        try:
            line = self._first_line(15.0)
        except Exception:
            self.stop()
            raise
        m = re.search(r"tcp=(\S+):(\d+)\s+udp=(\S+):(\d+)", line)
        if not m or not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"unexpected first stdout line: {line!r}")
        self.first_line = line
        self.host = "127.0.0.1"
        self.tcp_port = int(m.group(2))
        self.udp_port = int(m.group(4))
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _first_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"server printed no first line in {timeout}s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1)
                if not chunk:
                    raise RuntimeError(
                        f"server exited before printing its first line "
                        f"(rc={self.proc.poll()}, stderr in {self.stderr_path})")
                buf += chunk
        return buf.decode("utf-8", "replace").strip()

    def _drain(self):
        try:
            while self.proc.stdout.read(65536):
                pass
        except (OSError, ValueError):
            pass

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._stderr.close()
        if os.environ.get("LANMEET_KEEP_LOGS"):
            print(f"server files kept in {self.work_dir}")
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)


_shared = None
_shared_lock = threading.Lock()
_idle_probe = None


def shared_server():
    """The server shared by all tests (started on first use, killed at exit)."""
    global _shared, _idle_probe
    with _shared_lock:
        if _shared is None:
            _shared = Server()
            atexit.register(_shared.stop)
            # The 30 s idle timeout is checked by the last test module; the
            # idle connection is opened now so that the wait overlaps the
            # rest of the suite.
            _idle_probe = IdleProbe(_shared)
        if not _shared.alive():
            raise RuntimeError("the shared server process has exited "
                               f"(rc={_shared.proc.poll()})")
        return _shared


def idle_probe():
    shared_server()
    return _idle_probe


# ---------------------------------------------------------------------------
# TCP control connection
# ---------------------------------------------------------------------------

def frame(obj):
    """Encode one message: 4-byte big-endian length + UTF-8 JSON."""
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode("utf-8")
    return struct.pack(">I", len(body)) + body


class Conn:
    """One TCP connection to the server with a background frame reader."""

    def __init__(self, server, name="?", rcvbuf=None, reader=True):
        self.server = server
        self.name = name
        self.id = None          # client_id after the handshake
        self.reply = None       # the join reply
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect((server.host, server.tcp_port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.inbox = []
        self.cond = threading.Condition()
        self.closed = False
        self.closed_at = None
        self.close_error = None
        self._stopping = False
        self._send_lock = threading.Lock()
        self.opened_at = time.monotonic()
        if reader:
            threading.Thread(target=self._reader, daemon=True).start()

    # -- sending ----------------------------------------------------------

    def send(self, obj):
        self.send_raw(frame(obj))

    def send_raw(self, data):
        with self._send_lock:
            self.sock.sendall(data)

    # -- receiving --------------------------------------------------------

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            except socket.timeout:
                if self._stopping:
                    return None
                continue
            except OSError as e:
                self.close_error = repr(e)
                return None
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _reader(self):
        while True:
            head = self._recv_exact(4)
            if head is None:
                break
            (n,) = struct.unpack(">I", head)
            if n > MAX_SERVER_FRAME:
                self.close_error = f"server frame of {n} bytes exceeds 8 MiB"
                break
            body = self._recv_exact(n)
            if body is None:
                break
            try:
                msg = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                msg = {"type": "__not_json__", "raw": body[:200]}
            if not isinstance(msg, dict):
                msg = {"type": "__not_object__", "raw": body[:200]}
            msg["_at"] = time.monotonic()
            with self.cond:
                self.inbox.append(msg)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.closed_at = time.monotonic()
            self.cond.notify_all()

    @staticmethod
    def _matches(msg, mtype, pred, fields):
        if mtype is not None and msg.get("type") != mtype:
            return False
        for k, v in fields.items():
            if k not in msg or msg[k] != v:
                return False
        return pred is None or pred(msg)

    def recv(self, mtype=None, timeout=None, pred=None, **fields):
        """Remove and return the first message matching type/fields/pred.

        Fails the test if none arrives within the timeout or the connection
        closes first."""
        timeout = TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, msg in enumerate(self.inbox):
                    if self._matches(msg, mtype, pred, fields):
                        return self.inbox.pop(i)
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    what = mtype or "any message"
                    if fields:
                        shown = {k: (v if len(repr(v)) < 80 else repr(v)[:60] + "...")
                                 for k, v in fields.items()}
                        what += f" with {shown}"
                    state = f"{timeout}s passed"
                    if self.closed:
                        state = "connection closed" + (
                            f" ({self.close_error})" if self.close_error else "")
                    raise AssertionError(
                        f"{self.name}: expected {what} but {state}; inbox: "
                        f"{self.summary()}")
                self.cond.wait(remaining)

    def find(self, mtype=None, pred=None, **fields):
        """All queued messages matching, without waiting or removing."""
        with self.cond:
            return [m for m in self.inbox if self._matches(m, mtype, pred, fields)]

    def take_all(self, mtype=None, pred=None, **fields):
        with self.cond:
            hit = [m for m in self.inbox if self._matches(m, mtype, pred, fields)]
            self.inbox = [m for m in self.inbox if not self._matches(m, mtype, pred, fields)]
            return hit

    def clear(self):
        with self.cond:
            self.inbox.clear()

    def summary(self, limit=12):
        with self.cond:
            items = []
            for m in self.inbox[:limit]:
                s = {k: v for k, v in m.items() if k != "_at"}
                text = json.dumps(s, default=str)
                items.append(text if len(text) < 160 else text[:157] + "...")
            more = len(self.inbox) - limit
            return "[" + ", ".join(items) + (f", ... {more} more" if more > 0 else "") + "]"

    def wait_closed(self, timeout=None):
        timeout = TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True

    def ping(self, timeout=None):
        """A ping/pong round trip: also a barrier, since the server handles
        one connection's frames in order and queues its replies in order."""
        self.send({"type": "ping"})
        return self.recv("pong", timeout=timeout)

    def close(self):
        self._stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# UDP media socket
# ---------------------------------------------------------------------------

def udp_packet(kind, client_id, body):
    cid = client_id.encode("utf-8")
    return kind.encode("ascii") + struct.pack(">H", len(cid)) + cid + body


def parse_udp(data):
    """-> (kind, client_id, body) or None when malformed."""
    if len(data) < 3:
        return None
    (id_len,) = struct.unpack(">H", data[1:3])
    if len(data) < 3 + id_len:
        return None
    return chr(data[0]), data[3:3 + id_len].decode("utf-8", "replace"), data[3 + id_len:]


def audio_body(seq, samples):
    """'A' body: seq u32 BE | 480 signed 16-bit little-endian samples."""
    if isinstance(samples, int):
        samples = [samples] * SAMPLES_PER_FRAME
    return struct.pack(">I", seq) + struct.pack("<480h", *samples)


def video_body(frame_seq, frag_index, frag_count, payload):
    return struct.pack(">IHH", frame_seq, frag_index, frag_count) + payload


class Udp:
    """A UDP socket for one participant, collecting every datagram it gets."""

    def __init__(self, server, conn=None):
        self.server = server
        self.conn = conn
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.received = []  # (monotonic time, bytes)
        self.cond = threading.Condition()
        self._stop = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while not self._stop:
            try:
                data = self.sock.recv(70000)
            except socket.timeout:
                continue
            except OSError:
                break
            with self.cond:
                self.received.append((time.monotonic(), data))
                self.cond.notify_all()

    def send(self, data):
        self.sock.sendto(data, (self.server.host, self.server.udp_port))

    def hello(self, token=None, client_id=None, expect_ok=True):
        token = self.conn.reply["udp_token"] if token is None else token
        client_id = self.conn.id if client_id is None else client_id
        before = self.count("I")
        self.send(udp_packet("I", client_id, token.encode("ascii")))
        if expect_ok:
            if not self.wait_for(lambda: self.count("I") > before, TIMEOUT):
                raise AssertionError(f"no 'I' ok answer to a valid hello from {client_id}")

    def wait_for(self, cond, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not cond():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True

    def packets(self, kind=None, since=0.0):
        with self.cond:
            out = []
            for t, d in self.received:
                if t < since:
                    continue
                if kind is None or (d[:1] == kind.encode("ascii")):
                    out.append((t, d))
            return out

    def count(self, kind=None):
        with self.cond:
            if kind is None:
                return len(self.received)
            k = kind.encode("ascii")
            return sum(1 for _, d in self.received if d[:1] == k)

    def clear(self):
        with self.cond:
            self.received.clear()

    def audio_frames(self, since=0.0):
        """Mixed audio received: list of (time, id, seq, samples tuple)."""
        out = []
        for t, d in self.packets("A", since):
            p = parse_udp(d)
            if p is None or len(p[2]) != 4 + 2 * SAMPLES_PER_FRAME:
                out.append((t, None, None, None))
                continue
            seq = struct.unpack(">I", p[2][:4])[0]
            samples = struct.unpack("<480h", p[2][4:])
            out.append((t, p[1], seq, samples))
        return out

    def close(self):
        self._stop = True
        self.sock.close()


class AudioSender(threading.Thread):
    """Sends one 'A' frame per 10 ms on an absolute schedule (catching up
    after a late wake-up, as a real microphone buffer would)."""

    def __init__(self, udp, client_id, samples, duration):
        super().__init__(daemon=True)
        self.udp, self.client_id = udp, client_id
        self.samples, self.duration = samples, duration
        self.sent = 0
        self.halt = False

    def run(self):
        start = time.monotonic()
        seq = 0
        while not self.halt:
            due = start + seq * 0.010
            now = time.monotonic()
            if due - start >= self.duration:
                break
            if due > now:
                time.sleep(due - now)
            self.udp.send(udp_packet("A", self.client_id, audio_body(seq, self.samples)))
            seq += 1
            self.sent = seq


# ---------------------------------------------------------------------------
# Idle probe (section 3: a connection that sends nothing for 30 s is closed)
# ---------------------------------------------------------------------------

class IdleProbe:
    def __init__(self, server):
        self.started = time.monotonic()
        # Never sends a single byte.
        self.silent = Conn(server, "silent")
        # Sends half a frame, then nothing.
        self.partial = Conn(server, "partial")
        self.partial.send_raw(struct.pack(">I", 100) + b'{"type":')
        self.watcher = Conn(server, "watcher")
        self.watcher.send({"type": "create_meeting", "version": 1, "username": "Watcher"})
        r = self.watcher.recv()
        self.error = None
        if r.get("type") != "meeting_created":
            self.error = f"create_meeting answered with {r}"
            return
        self.watcher.id = r["client_id"]
        self.idle = Conn(server, "idle")
        self.idle.send({"type": "join_meeting", "version": 1, "username": "Idle",
                        "meeting_code": r["meeting_code"]})
        r2 = self.idle.recv()
        if r2.get("type") != "join_success":
            self.error = f"join_meeting answered with {r2}"
            return
        self.idle.id = r2["client_id"]
        self.joined_at = time.monotonic()
        threading.Thread(target=self._keepalive, daemon=True).start()

    def _keepalive(self):
        # The watcher must not time out itself: one ping every 5 s.
        while not self.watcher.closed:
            time.sleep(5)
            try:
                self.watcher.send({"type": "ping"})
            except OSError:
                return


# ---------------------------------------------------------------------------
# Test base class
# ---------------------------------------------------------------------------

class ConformanceCase(unittest.TestCase):
    """Base class: fresh meetings per test, every socket closed afterwards."""

    server = None  # set in setUpClass (shared server unless overridden)

    @classmethod
    def setUpClass(cls):
        if cls.server is None:
            cls.server = shared_server()

    # -- connections ------------------------------------------------------

    def conn(self, name="?", **kw):
        c = Conn(self.server, name, **kw)
        self.addCleanup(c.close)
        return c

    def udp(self, conn=None, hello=True):
        u = Udp(self.server, conn)
        self.addCleanup(u.close)
        if hello and conn is not None:
            u.hello()
        return u

    def handshake(self, msg, name="?"):
        """Send a first frame; return (conn, first reply)."""
        c = self.conn(name)
        c.send(msg)
        return c, c.recv()

    def create(self, name="Host", password=None, **extra):
        msg = {"type": "create_meeting", "version": 1, "username": name, **extra}
        if password is not None:
            msg["password"] = password
        c, r = self.handshake(msg, name)
        self.assertEqual(r.get("type"), "meeting_created",
                         f"create_meeting as {name!r} answered with {r}")
        c.id, c.reply, c.code = r["client_id"], r, r["meeting_code"]
        return c

    def join(self, code, name, password=None, **extra):
        c, r = self.try_join(code, name, password, **extra)
        self.assertEqual(r.get("type"), "join_success",
                         f"join_meeting {code} as {name!r} answered with {r}")
        c.id, c.reply, c.code = r["client_id"], r, r["meeting_code"]
        return c

    def try_join(self, code, name, password=None, **extra):
        msg = {"type": "join_meeting", "version": 1, "username": name,
               "meeting_code": code, **extra}
        if password is not None:
            msg["password"] = password
        return self.handshake(msg, name)

    def meeting(self, *names, password=None):
        """Host names[0] creates, the others join in order. Every user_joined
        is consumed, so all inboxes start empty. Returns the connections."""
        names = names or ("Host",)
        host = self.create(names[0], password)
        members = [host]
        for n in names[1:]:
            c = self.join(host.code, n, password)
            for earlier in members:
                earlier.recv("user_joined", client_id=c.id)
            members.append(c)
        for m in members:
            m.clear()
        return members

    # -- assertions -------------------------------------------------------

    def expect_error(self, conn, code, timeout=None):
        e = conn.recv("error", timeout=timeout, pred=lambda m: True)
        self.assertEqual(e.get("code"), code, f"{conn.name}: error was {e}")
        self.assertIsInstance(e.get("message", ""), str)
        return e

    def expect_handshake_error(self, conn, reply, code):
        self.assertEqual(reply.get("type"), "error", f"expected error {code}, got {reply}")
        self.assertEqual(reply.get("code"), code, f"expected error {code}, got {reply}")
        self.assertIsInstance(reply.get("message"), str,
                              "handshake errors carry a string `message`")
        self.assertTrue(conn.wait_closed(TIMEOUT),
                        f"server did not close the connection after handshake error {code}")

    def assert_kept(self, conn):
        """The connection is still open and served: a ping gets its pong."""
        conn.ping()
        self.assertFalse(conn.closed)

    def assert_none(self, conn, mtype, pred=None, **fields):
        hit = conn.find(mtype, pred, **fields)
        self.assertEqual(hit, [], f"{conn.name} should not have received {mtype} {fields}")

    def settle(self, seconds=None):
        time.sleep(SETTLE if seconds is None else seconds)
