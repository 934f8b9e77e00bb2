"""Section 7: screen share arbitration, frame relay, late joiners."""

import base64
import json
import os
import threading

from conformance_support import MAX_CLIENT_FRAME, ConformanceCase, frame


def jpeg_b64(n=2000, tag=b""):
    # The server relays frames without decoding them; a JPEG-looking blob.
    return base64.b64encode(b"\xff\xd8\xff\xe0" + tag + os.urandom(n) + b"\xff\xd9").decode()


class ScreenShare(ConformanceCase):

    def test_arbitration(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "request_screen_share"})
        for m in (h, b, c):  # the sender included
            m.recv("screen_share_started", presenter_id=b.id)
        c.send({"type": "request_screen_share"})
        d = c.recv("screen_share_denied")
        self.assertEqual(d["current_presenter"], b.id)
        h.send({"type": "request_screen_share"})
        self.assertEqual(h.recv("screen_share_denied")["current_presenter"], b.id)
        self.settle(0.2)
        self.assert_none(b, "screen_share_started", presenter_id=c.id)
        # The presenter stops its own share; then anyone may present.
        b.send({"type": "stop_screen_share"})
        for m in (h, b, c):
            m.recv("screen_share_stopped", presenter_id=b.id)
        c.send({"type": "request_screen_share"})
        for m in (h, b, c):
            m.recv("screen_share_started", presenter_id=c.id)

    def test_frame_relay(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "request_screen_share"})
        for m in (h, b, c):
            m.recv("screen_share_started")
        data = jpeg_b64(50000)
        b.send({"type": "screen_frame", "frame_data": data, "width": 1280, "height": 720})
        for m in (h, c):
            f = m.recv("screen_frame")
            self.assertEqual(f["presenter_id"], b.id)
            self.assertEqual(f["frame_data"], data)
            self.assertEqual(f["width"], 1280)
            self.assertEqual(f["height"], 720)
        b.ping()
        self.assert_none(b, "screen_frame")

    def test_large_frame_relay(self):
        h, b = self.meeting("Alice", "Bob")
        b.send({"type": "request_screen_share"})
        b.recv("screen_share_started")
        data = jpeg_b64(2_500_000)  # about 3.3 MB of base64
        b.send({"type": "screen_frame", "frame_data": data, "width": 3840, "height": 2160})
        f = h.recv("screen_frame", timeout=10)
        self.assertEqual(f["frame_data"], data)

    def test_not_presenter(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        frame = {"type": "screen_frame", "frame_data": jpeg_b64(100), "width": 10, "height": 10}
        c.send(frame)  # nobody presents
        self.expect_error(c, "not_presenter")
        b.send({"type": "request_screen_share"})
        for m in (h, b, c):
            m.recv("screen_share_started")
        c.send(frame)  # someone else presents
        self.expect_error(c, "not_presenter")
        self.assert_kept(c)
        self.settle(0.2)
        self.assert_none(h, "screen_frame")
        self.assert_none(b, "screen_frame")

    def test_late_joiner_gets_presenter_and_latest_frame(self):
        h, b = self.meeting("Alice", "Bob")
        b.send({"type": "request_screen_share"})
        b.recv("screen_share_started")
        first, latest = jpeg_b64(3000, b"one"), jpeg_b64(3000, b"two")
        b.send({"type": "screen_frame", "frame_data": first, "width": 800, "height": 600})
        b.send({"type": "screen_frame", "frame_data": latest, "width": 640, "height": 480})
        # Ambiguity: Alice may see only the latest one. Section 7 lets the
        # server replace a queued frame with a newer one "when a receiver's
        # queue is backed up", without defining backed up; a frame still
        # waiting to be written when the next arrives is accepted as such.
        h.recv("screen_frame", frame_data=latest)
        c = self.join(h.code, "Carol")
        self.assertEqual(c.reply["presenter"], b.id)
        f = c.recv("screen_frame")
        self.assertEqual(f["frame_data"], latest)
        self.assertEqual(f["presenter_id"], b.id)
        self.assertEqual((f["width"], f["height"]), (640, 480))
        self.settle(0.2)
        self.assert_none(c, "screen_frame")

    def test_late_joiner_without_frame_yet(self):
        h, b = self.meeting("Alice", "Bob")
        b.send({"type": "request_screen_share"})
        b.recv("screen_share_started")
        c = self.join(h.code, "Carol")
        self.assertEqual(c.reply["presenter"], b.id)
        self.settle(0.2)
        self.assert_none(c, "screen_frame")

    def test_presenter_leaving_stops_share(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "request_screen_share"})
        for m in (h, b, c):
            m.recv("screen_share_started")
        b.send({"type": "screen_frame", "frame_data": jpeg_b64(100), "width": 1, "height": 1})
        h.recv("screen_frame")
        b.close()
        for m in (h, c):
            m.recv("screen_share_stopped", presenter_id=b.id)
        d = self.join(h.code, "Dave")
        self.assertIsNone(d.reply["presenter"])
        self.settle(0.2)
        self.assert_none(d, "screen_frame")
        c.send({"type": "request_screen_share"})
        for m in (h, c, d):
            m.recv("screen_share_started", presenter_id=c.id)

    def test_frame_field_types(self):
        h, b = self.meeting("Alice", "Bob")
        b.send({"type": "request_screen_share"})
        b.recv("screen_share_started")
        for bad in ({"type": "screen_frame", "frame_data": 5, "width": 1, "height": 1},
                    {"type": "screen_frame", "frame_data": "AAAA", "width": "1", "height": 1},
                    {"type": "screen_frame", "width": 1, "height": 1}):
            with self.subTest(msg=bad):
                b.send(bad)
                self.expect_error(b, "bad_request")
                self.assert_kept(b)
        self.settle(0.2)
        self.assert_none(h, "screen_frame")

    def test_4mib_client_frame_relayed_larger(self):
        # A client frame of exactly 4 MiB holding a screen frame: the relayed
        # frame (with presenter_id added) is a little larger than 4 MiB, which
        # the server must still send (clients accept up to 8 MiB).
        h, b = self.meeting("Alice", "Bob")
        b.send({"type": "request_screen_share"})
        h.recv("screen_share_started")
        empty = json.dumps({"type": "screen_frame", "frame_data": "", "width": 1,
                            "height": 1}).encode()
        room = MAX_CLIENT_FRAME - len(empty)
        data = "A" * (room - room % 4)
        body = json.dumps({"type": "screen_frame", "frame_data": data, "width": 1,
                           "height": 1}).encode()
        body = body.replace(b'"width"', b' ' * (MAX_CLIENT_FRAME - len(body)) + b'"width"', 1)
        self.assertEqual(len(body), MAX_CLIENT_FRAME)
        b.send_raw(frame(body))
        f = h.recv("screen_frame", timeout=15)
        self.assertEqual(len(f["frame_data"]), len(data))
        self.assertEqual(f["presenter_id"], b.id)
        self.assertFalse(b.closed)

    def test_simultaneous_requests_one_winner(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        req = frame({"type": "request_screen_share"})
        t1 = threading.Thread(target=b.send_raw, args=(req,))
        t2 = threading.Thread(target=c.send_raw, args=(req,))
        t1.start(), t2.start()
        t1.join(), t2.join()
        started = h.recv("screen_share_started")
        winner = started["presenter_id"]
        self.assertIn(winner, (b.id, c.id))
        loser = c if winner == b.id else b
        self.assertEqual(loser.recv("screen_share_denied")["current_presenter"], winner)
        self.settle(0.2)
        self.assert_none(h, "screen_share_started")

    def test_removed_presenter_stops_share(self):
        h, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "request_screen_share"})
        c.recv("screen_share_started")
        h.send({"type": "remove_participant", "target_client_id": b.id})
        for m in (h, c):
            m.recv("screen_share_stopped", presenter_id=b.id)
            m.recv("user_left", client_id=b.id, reason="removed")
