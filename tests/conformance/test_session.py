"""Section 1 (framing after the handshake) and section 3 (liveness, leaving,
host handover)."""

import json
import os
import struct
import time

from conformance_support import ConformanceCase, MAX_CLIENT_FRAME, frame


class Liveness(ConformanceCase):

    def test_ping_pong(self):
        (h,) = self.meeting("Alice")
        h.send({"type": "ping"})
        p = h.recv("pong")
        self.assertEqual(p["type"], "pong")
        # Unknown fields are ignored.
        h.send({"type": "ping", "extra": {"nested": [1, 2]}, "n": 5})
        h.recv("pong")

    def test_leave_message(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "leave"})
        self.assertTrue(b.wait_closed(), "after leave the server closes the connection")
        for other in (h, c):
            ul = other.recv("user_left", client_id=b.id)
            self.assertEqual(ul["username"], "Bob")
            self.assertEqual(ul["reason"], "left")

    def test_socket_close_leaves(self):
        h, b = self.meeting("Alice", "Bob")
        b.close()
        ul = h.recv("user_left", client_id=b.id)
        self.assertEqual(ul["username"], "Bob")
        # Ambiguity: closing the socket "leaves the meeting"; the reason is
        # naturally `left`, but an abrupt close may be reported as `error`.
        self.assertIn(ul["reason"], ("left", "error"))

    def test_host_handover_to_earliest_joiner(self):
        h, b, c, d = self.meeting("Alice", "Bob", "Carol", "Dave")
        h.send({"type": "leave"})
        for other in (b, c, d):
            other.recv("user_left", client_id=h.id, reason="left")
            other.recv("host_changed", client_id=b.id)
        # The new host can use host commands; the others cannot.
        c.send({"type": "lock_meeting", "locked": True})
        self.expect_error(c, "not_host")
        b.send({"type": "lock_meeting", "locked": True})
        for m in (b, c, d):
            m.recv("meeting_locked", locked=True)
        # A new joiner sees Bob as host in its participants list.
        b.send({"type": "lock_meeting", "locked": False})
        b.recv("meeting_locked", locked=False)
        e = self.join(b.code, "Eve")
        hosts = [p["client_id"] for p in e.reply["participants"] if p["is_host"]]
        self.assertEqual(hosts, [b.id])

    def test_host_handover_on_disconnect(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        # Bob leaves first: Carol is then the earliest remaining joiner.
        b.send({"type": "leave"})
        h.recv("user_left", client_id=b.id)
        c.recv("user_left", client_id=b.id)
        h.close()
        c.recv("user_left", client_id=h.id)
        c.recv("host_changed", client_id=c.id)

    def test_handover_after_make_host_then_leave(self):
        # The earliest remaining joiner (by join order, not host order).
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        h.send({"type": "make_host", "target_client_id": c.id})
        for m in (h, b, c):
            m.recv("host_changed", client_id=c.id)
        c.send({"type": "leave"})
        for m in (h, b):
            m.recv("user_left", client_id=c.id)
            m.recv("host_changed", client_id=h.id)


class FramingAfterHandshake(ConformanceCase):

    def test_bad_request_keeps_connection(self):
        (h,) = self.meeting("Alice")
        bodies = {
            "not json": b"this is not json",
            "json array": b"[]",
            "json number": b"42",
            "empty frame": b"",
            "invalid utf-8": b"{\"type\":\"chat\",\"message\":\"\xff\"}",
            "no type": b"{\"message\":\"hi\"}",
            "type not string": b"{\"type\":1}",
            "unknown type": b"{\"type\":\"warp_drive\"}",
            "wrong field type": json.dumps({"type": "chat", "message": 5}).encode(),
            "missing field": json.dumps({"type": "chat"}).encode(),
            "bool as string": json.dumps({"type": "audio_state", "muted": "yes"}).encode(),
            "unknown enum": json.dumps({"type": "video_state", "state": "paused"}).encode(),
            "raise_hand not bool": json.dumps({"type": "raise_hand", "state": 1}).encode(),
            "empty chat": json.dumps({"type": "chat", "message": ""}).encode(),
        }
        for label, body in bodies.items():
            with self.subTest(label):
                h.send_raw(struct.pack(">I", len(body)) + body)
                self.expect_error(h, "bad_request")
                self.assert_kept(h)

    def test_bad_request_is_not_broadcast(self):
        h, b = self.meeting("Alice", "Bob")
        h.send({"type": "video_state", "state": "sideways"})
        self.expect_error(h, "bad_request")
        h.ping()
        self.settle(0.2)
        self.assert_none(b, "participant_video_state")

    def test_too_large_after_handshake(self):
        h, b = self.meeting("Alice", "Bob")
        # Only the header: the server must answer without reading a body.
        h.send_raw(struct.pack(">I", MAX_CLIENT_FRAME + 1))
        e = h.recv("error")
        self.assertEqual(e["code"], "too_large", e)
        self.assertTrue(h.wait_closed(), "server must close after too_large")
        ul = b.recv("user_left", client_id=h.id)
        self.assertIn(ul["reason"], ("error", "left"))

    def test_exactly_4mib_frame_accepted(self):
        (h,) = self.meeting("Alice")
        head = b'{"type":"ping","pad":"'
        tail = b'"}'
        body = head + b"x" * (MAX_CLIENT_FRAME - len(head) - len(tail)) + tail
        self.assertEqual(len(body), MAX_CLIENT_FRAME)
        h.send_raw(frame(body))
        h.recv("pong", timeout=10)
        self.assertFalse(h.closed)

    def test_frame_split_across_writes(self):
        (h,) = self.meeting("Alice")
        data = frame({"type": "ping"}) * 3
        for i in range(len(data)):
            h.send_raw(data[i:i + 1])
            if i % 7 == 0:
                time.sleep(0.002)
        for _ in range(3):
            h.recv("pong")


class ServerLog(ConformanceCase):

    def test_log_file_written(self):
        # Section 10: the server logs to logs/server/<start time>.log. The
        # suite passes --log-dir, so a .log file is expected somewhere under
        # that directory (directly in it or in a server/ subfolder).
        found = []
        for root, _dirs, files in os.walk(self.server.log_dir):
            found += [os.path.join(root, f) for f in files if f.endswith(".log")]
        self.assertTrue(found, f"no .log file under {self.server.log_dir}")


class NonHostLeaving(ConformanceCase):

    def test_former_host_leaving_changes_nothing(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        a.send({"type": "make_host", "target_client_id": b.id})
        for m in (a, b, c):
            m.recv("host_changed", client_id=b.id)
        a.send({"type": "leave"})
        for m in (b, c):
            m.recv("user_left", client_id=a.id, reason="left")
        self.settle(0.3)
        for m in (b, c):
            for hc in m.find("host_changed"):
                self.assertEqual(hc["client_id"], b.id,
                                 "a non-host leaving must not move the host role")
        c.send({"type": "lock_meeting", "locked": True})
        self.expect_error(c, "not_host")
