"""Section 10: meeting size limits, slow receivers, screen frame coalescing."""

import base64
import json
import resource
import socket
import struct
import os
import threading
import time

from conformance_support import Conn, ConformanceCase, Server, frame


class SmallMeetingLimit(ConformanceCase):
    """A server of its own started with --max-participants 3."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--max-participants", "3")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_server_full_for_full_meeting(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        x, r = self.try_join(h.code, "Dave")
        self.expect_handshake_error(x, r, "server_full")
        self.settle(0.2)
        self.assert_none(h, "user_joined")
        # Another meeting on the same server is unaffected.
        self.meeting("Xavier", "Yvonne")
        # A place frees up when someone leaves.
        c.send({"type": "leave"})
        h.recv("user_left", client_id=c.id)
        self.join(h.code, "Dave")


class DefaultMeetingLimit(ConformanceCase):

    def test_64_participants_per_meeting(self):
        host = self.create("P0")
        members = [host]
        for i in range(1, 64):
            members.append(self.join(host.code, f"P{i}"))
        x, r = self.try_join(host.code, "P64")
        self.expect_handshake_error(x, r, "server_full")
        last = members[-1]
        self.assertEqual(len(last.reply["participants"]), 63)


class SlowReceivers(ConformanceCase):

    def test_slow_receiver_disconnected_others_stay_fast(self):
        # Eight flooders, each within the chat rate limit of the additions
        # (a burst of up to 2 MiB), together queue about 15 MB for S.
        o, p, *flooders = self.meeting("Olga", "Pete", *[f"F{k}" for k in range(8)])
        # S joins and then never reads its socket again.
        s = self.conn("Slow", rcvbuf=4096, reader=False)
        s.send({"type": "join_meeting", "version": 1, "username": "Slow",
                "meeting_code": o.code})
        sid = o.recv("user_joined", username="Slow")["client_id"]
        for m in [p, *flooders]:
            m.recv("user_joined", client_id=sid)
        text = "\U0001F600" * 4000  # 16 000 bytes of UTF-8
        flood = frame({"type": "chat", "message": text, "to": sid}) * 120

        def flooder(f):
            try:
                f.send_raw(flood)
            except OSError:
                pass

        threads = [threading.Thread(target=flooder, args=(f,), daemon=True)
                   for f in flooders]
        for t in threads:
            t.start()
        # Meanwhile Pete and Olga chat; each round trip must stay fast.
        worst = 0.0
        for i in range(5):
            start = time.monotonic()
            p.send({"type": "chat", "message": f"ping {i}", "to": o.id})
            o.recv("chat", message=f"ping {i}", timeout=5)
            o.send({"type": "chat", "message": f"pong {i}", "to": p.id})
            p.recv("chat", message=f"pong {i}", timeout=5)
            worst = max(worst, time.monotonic() - start)
            time.sleep(0.05)
        self.assertLess(worst, 1.0, f"chat round trip took {worst:.2f}s during the flood")
        ul = o.recv("user_left", client_id=sid, timeout=20)
        self.assertEqual(ul["reason"], "error",
                         f"a slow receiver is disconnected with reason error: {ul}")
        p.recv("user_left", client_id=sid)
        for t in threads:
            t.join(20)
        # The flooders are still members in good standing.
        for f in flooders:
            f.ping()
            self.assertFalse(f.closed)
            self.assert_none(f, "error", code="rate_limited")
        p.send({"type": "chat", "message": "after", "to": o.id})
        o.recv("chat", message="after")

    def test_screen_frames_coalesced_for_slow_receiver(self):
        o, pres = self.meeting("Olga", "Presenter")
        pres.send({"type": "request_screen_share"})
        o.recv("screen_share_started")
        pres.recv("screen_share_started")
        s = self.conn("Slow", rcvbuf=4096, reader=False)
        s.send({"type": "join_meeting", "version": 1, "username": "Slow",
                "meeting_code": o.code})
        sid = o.recv("user_joined", username="Slow")["client_id"]
        n = 150
        blobs = [base64.b64encode(b"%06d" % i + os.urandom(100_000)).decode()
                 for i in range(n)]
        for i, data in enumerate(blobs):
            pres.send({"type": "screen_frame", "frame_data": data, "width": 100, "height": i})
        o.recv("screen_frame", height=n - 1, timeout=20)
        self.settle(1.0)
        self.assert_none(o, "user_left", client_id=sid)
        # Now S reads: it gets far fewer frames than were sent, and the last
        # one it gets is the newest.
        reader = threading.Thread(target=s._reader, daemon=True)
        reader.start()
        s.recv("join_success")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not s.find("screen_frame", height=n - 1):
            time.sleep(0.1)
        frames = s.take_all("screen_frame")
        self.assertTrue(frames, "the slow receiver got no screen frame at all")
        self.assertEqual(frames[-1]["frame_data"], blobs[-1], "the newest frame is delivered last")
        self.assertLess(len(frames), n, "screen frames were queued, not coalesced")
        heights = [f["height"] for f in frames]
        self.assertEqual(heights, sorted(heights))
        self.assertFalse(s.closed)


class ServerConnectionLimit(ConformanceCase):
    """A server of its own, filled with 1024 connections."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def raw_handshake(self, msg):
        s = socket.create_connection((self.server.host, self.server.tcp_port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(frame(msg))
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                raise AssertionError("connection closed during the handshake")
            head += chunk
        (n,) = struct.unpack(">I", head)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                raise AssertionError("connection closed during the handshake")
            body += chunk
        return s, json.loads(body)

    def test_1024_connections_per_server(self):
        # Ambiguity: whether connections still in the handshake count toward
        # the 1024 is not stated; all connections here complete a handshake
        # (16 meetings of 64), so either reading gives the same answer.
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1200:
            self.skipTest("file descriptor limit too low for 1024 connections")
        socks = []
        for m in range(16):
            s, r = self.raw_handshake({"type": "create_meeting", "version": 1,
                                       "username": "H"})
            self.assertEqual(r["type"], "meeting_created", r)
            socks.append(s)
            for i in range(63):
                s2, r2 = self.raw_handshake({"type": "join_meeting", "version": 1,
                                             "username": f"P{i}",
                                             "meeting_code": r["meeting_code"]})
                self.assertEqual(r2["type"], "join_success", r2)
                socks.append(s2)
        self.assertEqual(len(socks), 1024)
        s, r = self.raw_handshake({"type": "create_meeting", "version": 1, "username": "X"})
        self.assertEqual(r.get("type"), "error", r)
        self.assertEqual(r.get("code"), "server_full", r)
        # One leaves: there is room again.
        socks[5].close()
        deadline = time.monotonic() + 5
        while True:
            s, r = self.raw_handshake({"type": "create_meeting", "version": 1, "username": "Y"})
            if r.get("type") == "meeting_created" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.get("type"), "meeting_created", r)


class JoinReplySize(ConformanceCase):

    def test_join_reply_within_8mib_with_many_offers(self):
        # Clients accept server frames up to 8 MiB (section 1), so a join
        # reply must stay within 8 MiB however many offers a meeting holds.
        # The contract sets no limit on offers; a server may refuse offers
        # past some bound or leave some out of the reply, but a joiner must
        # be able to join. 7 000 offers with 255-character (1 020-byte)
        # names are about 9 MB as JSON.
        (a,) = self.meeting("Alice")
        name = "\U0001F4C4" * 255
        sha = "0" * 64
        batch = b"".join(
            frame({"type": "file_offer", "file_id": f"{i:064d}", "filename": name,
                   "filesize": i, "sha256": sha})
            for i in range(7000))
        a.send_raw(batch)
        a.ping(timeout=30)
        c, r = self.try_join(a.code, "Bob")
        self.assertEqual(r.get("type"), "join_success", r.get("code"))
        c.id = r["client_id"]
        a.recv("user_joined", client_id=c.id, timeout=10)


class Drainer:
    """A participant that reads its socket as fast as possible and throws
    away everything but pongs (so a big meeting costs little Python time)."""

    def __init__(self, server, first):
        self.sock = socket.create_connection((server.host, server.tcp_port), timeout=30)
        self.sock.sendall(frame(first))
        self.file = self.sock.makefile("rb")
        self.reply = self._read(parse=True)
        self.pongs = threading.Semaphore(0)
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self, parse=False):
        head = self.file.read(4)
        if len(head) < 4:
            return None
        (n,) = struct.unpack(">I", head)
        body = self.file.read(n)
        if len(body) < n:
            return None
        if parse or n < 40:
            return json.loads(body)
        return {}

    def _drain(self):
        try:
            while True:
                m = self._read()
                if m is None:
                    return
                if m.get("type") == "pong":
                    self.pongs.release()
        except (OSError, ValueError):
            return

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class JoinReplySizeFullMeeting(ConformanceCase):

    def test_join_reply_within_8mib_full_meeting(self):
        # Every field at its limit, all legal: 100 chat messages of 4 000
        # four-byte characters (1.6 MB of history), and 48 participants with
        # 32-character names each offering 100 files (the server's own cap
        # per participant) with 64-character ids and 255-character names, all
        # four-byte characters: about 1.6 KB per offer, 7.5 MB in all. The
        # join reply then needs over 9 MB, but clients accept at most 8 MiB
        # (section 1). The contract sets no limit on offers, so the server has
        # to keep the reply deliverable some other way.
        members = []
        self.addCleanup(lambda: [m.close() for m in members])
        emoji = "\U0001F600"

        def name(k):
            return chr(0x1F400 + k) * 32

        creator = Drainer(self.server, {"type": "create_meeting", "version": 1,
                                        "username": name(0)})
        members.append(creator)
        self.assertEqual(creator.reply["type"], "meeting_created")
        code = creator.reply["meeting_code"]
        chats = b"".join(frame({"type": "chat", "message": f"{i:03d}" + emoji * 3997})
                         for i in range(100))
        creator.sock.sendall(chats + frame({"type": "ping"}))
        # Lower bounds of the reply's parts, as compact UTF-8 JSON.
        offer_size = len(json.dumps(
            {"sender_id": "c1", "username": name(1), "file_id": "000" + emoji * 61,
             "filename": emoji * 255, "filesize": 1, "sha256": "0" * 64},
            ensure_ascii=False, separators=(",", ":")).encode())
        history_size = 100 * len(json.dumps(
            {"client_id": "c1", "username": name(0), "message": "000" + emoji * 3997,
             "timestamp": 1.0}, ensure_ascii=False, separators=(",", ":")).encode())
        self.assertTrue(creator.pongs.acquire(timeout=20))
        for k in range(48):
            if k:
                d = Drainer(self.server, {"type": "join_meeting", "version": 1,
                                          "username": name(k), "meeting_code": code})
                members.append(d)
                self.assertIsNotNone(
                    d.reply, f"joiner {k} was disconnected without a join reply; the "
                    f"meeting held {100 * k} offers and 100 chat messages, so the reply "
                    f"needed at least {(100 * k * offer_size + history_size) / 2**20:.2f} MiB")
                self.assertEqual(d.reply.get("type"), "join_success",
                                 f"joiner {k} got {d.reply.get('type')} {d.reply.get('code')}")
            d = members[k]
            offers = b"".join(
                frame({"type": "file_offer", "file_id": f"{i:03d}" + emoji * 61,
                       "filename": emoji * 255, "filesize": 1, "sha256": "0" * 64})
                for i in range(100))
            d.sock.sendall(offers + frame({"type": "ping"}))
        for k, d in enumerate(members):
            self.assertTrue(d.pongs.acquire(timeout=60), f"participant {k} got no pong")
        c, r = self.try_join(code, "Last")
        self.assertEqual(r.get("type"), "join_success", r.get("code"))
