"""Section 1: "It never panics on input." Hostile and random input, after
which the server must still serve everyone."""

import json
import random
import struct
import time

from conformance_support import ConformanceCase, frame, udp_packet

SEED = 20261121

TEMPLATES = [
    {"type": "chat", "message": "hi", "to": "c1"},
    {"type": "video_state", "state": "started"},
    {"type": "audio_state", "muted": True},
    {"type": "raise_hand", "state": True},
    {"type": "emoji_reaction", "emoji": "!"},
    {"type": "mute_participant", "target_client_id": "c1"},
    {"type": "mute_all", "lock": True},
    {"type": "lock_meeting", "locked": False},
    {"type": "request_screen_share"},
    {"type": "screen_frame", "frame_data": "AAAA", "width": 1, "height": 1},
    {"type": "file_offer", "file_id": "f", "filename": "n", "filesize": 1, "sha256": "0" * 64},
    {"type": "file_request", "sender_id": "c1", "file_id": "f"},
    {"type": "file_chunk", "transfer_id": "t1", "offset": 0, "data": "AAAA"},
    {"type": "file_ack", "transfer_id": "t1", "offset": 0},
    {"type": "file_end", "transfer_id": "t1", "sha256": "0" * 64},
    {"type": "file_cancel", "transfer_id": "t1"},
    {"type": "file_unoffer", "file_id": "f"},
]

ODD_VALUES = [None, True, False, 0, -1, 2 ** 63, -2 ** 63, 2 ** 70, 1e308, -0.0, 3.5,
              "", "x" * 5000, "\u0000", "\U0001F600", [], [1, [2]], {}, {"a": {}},
              "c0", "t0", "../../etc/passwd"]


class HostileInput(ConformanceCase):

    def assert_server_fine(self, *conns):
        self.assertTrue(self.server.alive(), "the server process died")
        for c in conns:
            self.assertFalse(c.closed, f"{c.name} was disconnected")
            c.ping()

    def test_random_field_values(self):
        h, b = self.meeting("Host", "Bob")
        rnd = random.Random(SEED)
        for _ in range(600):
            msg = dict(rnd.choice(TEMPLATES))
            for _ in range(rnd.randint(1, 2)):
                key = rnd.choice(list(msg.keys()) + ["extra"])
                if key == "type" and rnd.random() < 0.7:
                    continue
                msg[key] = rnd.choice(ODD_VALUES)
            if rnd.random() < 0.2:
                msg.pop(rnd.choice(list(msg.keys())))
            rnd.choice((h, b)).send(msg)
        # Whatever happened to the meeting, both are still served.
        h.send({"type": "ping"})
        b.send({"type": "ping"})
        h.recv("pong", timeout=15)
        b.recv("pong", timeout=15)
        self.assert_server_fine(h, b)
        for m in h.find("error") + b.find("error"):
            self.assertIsInstance(m.get("code"), str)

    def test_deeply_nested_json(self):
        (h,) = self.meeting("Host")
        depth = 200_000
        body = b'{"type":"ping","x":' + b"[" * depth + b"]" * depth + b"}"
        h.send_raw(frame(body))
        # Either it is parsed (unknown field ignored: pong) or refused
        # (bad_request); the server must survive and keep the connection.
        h.send({"type": "ping"})
        h.recv("pong", timeout=10)
        self.assert_server_fine(h)
        c, r = self.handshake(b'{"type":"create_meeting","version":1,"username":"N","x":'
                              + b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000 + b"}")
        self.assertIn(r.get("type"), ("meeting_created", "error"))
        self.assert_server_fine(h)

    def test_invalid_unicode_escapes(self):
        (h,) = self.meeting("Host")
        for body in (b'{"type":"chat","message":"\\ud800"}',
                     b'{"type":"chat","message":"\\udc00\\ud800"}',
                     b'{"type":"chat","message":"\\u00"}',
                     b'{"type":"chat","message":"a\x00b"}',
                     b'\xef\xbb\xbf{"type":"ping"}',
                     b'{"type":"ping"} trailing',
                     b'{"type":"ping","type":"chat"}'):
            h.send_raw(struct.pack(">I", len(body)) + body)
        h.send({"type": "ping"})
        h.recv("pong", timeout=10)
        self.assert_server_fine(h)

    def test_random_bytes_tcp_after_handshake(self):
        rnd = random.Random(SEED + 1)
        h, b = self.meeting("Host", "Bob")
        for _ in range(200):
            body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 60)))
            b.send_raw(struct.pack(">I", len(body)) + body)
        b.send({"type": "ping"})
        b.recv("pong", timeout=10)
        self.assertEqual({e["code"] for e in b.take_all("error")}, {"bad_request"})
        self.assert_server_fine(h, b)

    def test_random_udp(self):
        h, b = self.meeting("Host", "Bob")
        ub = self.udp(b)
        uh = self.udp(h)
        rnd = random.Random(SEED + 2)
        for i in range(400):
            n = rnd.randint(0, 1500)
            junk = bytes(rnd.getrandbits(8) for _ in range(n))
            if i % 3 == 0:
                junk = rnd.choice(b"IVA") .to_bytes(1, "big") + junk[1:]
            if i % 5 == 0:  # a plausible header with a lying id length
                junk = udp_packet(rnd.choice("IVA"), b.id, junk)[:3] + junk
            ub.send(junk)
        time.sleep(0.2)
        self.assert_server_fine(h, b)
        ub.hello()
