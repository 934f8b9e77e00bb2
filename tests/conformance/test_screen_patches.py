"""Section 19 ("screen_patches"): patches in order to viewers that named the
feature, keyframe requests, slow viewers, late joiners, version 1 viewers.

A viewer written from the contract alone rebuilds the screen: it keeps the
last keyframe and paints every patch over it in order. The server relays
JPEG bytes without decoding them, so the pictures here are tagged blobs.
"""

import base64
import os
import threading
import time

from conformance_support import ConformanceCase

NAMED = ["screen_patches"]


def blob(tag, n=200):
    return base64.b64encode(b"\xff\xd8" + tag.encode() + b"|" + os.urandom(n)).decode()


def tag_of(data):
    return base64.b64decode(data)[2:].split(b"|")[0].decode()


def keyframe(tag, n=2000, width=1920, height=1080):
    return {"type": "screen_frame", "frame_data": blob(tag, n), "width": width, "height": height}


def patch(tag, n=200, x=64, y=128, w=64, h=64):
    return {"type": "screen_patch",
            "patches": [{"x": x, "y": y, "width": w, "height": h, "frame_data": blob(tag, n)}]}


class ScreenPatches(ConformanceCase):

    def presenting(self, *viewers):
        """Pam presents (named the feature); viewers join as (name, features)."""
        pam = self.create("Pam", features=NAMED)
        self.assertIn("screen_patches", pam.reply["features"])
        conns = []
        for name, features in viewers:
            extra = {} if features is None else {"features": features}
            v = self.join(pam.code, name, **extra)
            pam.recv("user_joined", client_id=v.id)
            conns.append(v)
        pam.send({"type": "request_screen_share"})
        pam.recv("screen_share_started")
        for v in conns:
            v.recv("screen_share_started")
        pam.send(keyframe("k0"))
        for v in conns:
            self.assertEqual(tag_of(v.recv("screen_frame")["frame_data"]), "k0")
        return pam, conns

    def test_patches_go_in_order_to_viewers_that_named_the_feature(self):
        pam, (vic,) = self.presenting(("Vic", NAMED))
        for i in range(10):
            pam.send(patch(f"p{i}"))
        for i in range(10):
            p = vic.recv("screen_patch")
            self.assertEqual(p["presenter_id"], pam.id)
            rect = p["patches"][0]
            self.assertEqual((rect["x"], rect["y"], rect["width"], rect["height"]),
                             (64, 128, 64, 64))
            self.assertEqual(tag_of(rect["frame_data"]), f"p{i}")
        pam.ping()
        self.assert_none(pam, "screen_patch")
        self.assert_none(pam, "screen_keyframe_request")

    def test_bad_patches_are_refused_and_not_forwarded(self):
        pam, (vic,) = self.presenting(("Vic", NAMED))
        vic.send(patch("x"))
        self.expect_error(vic, "not_presenter")
        for bad in (patch("x", x=1900),                      # outside 1920x1080
                    {"type": "screen_patch", "patches": []},
                    {"type": "screen_patch",
                     "patches": [patch("x")["patches"][0]] * 257},
                    patch("x", w=0),
                    {"type": "screen_patch", "patches": [{"x": 0, "y": 0, "width": 1,
                                                          "height": 1, "frame_data": ""}]}):
            pam.send(bad)
            self.expect_error(pam, "bad_request")
        vic.ping()
        self.assert_none(vic, "screen_patch")

    def test_a_patch_before_the_first_keyframe_or_without_the_feature_is_bad_request(self):
        pam = self.create("Pam", features=NAMED)
        old = self.join(pam.code, "Old")
        pam.recv("user_joined")
        pam.send({"type": "request_screen_share"})
        old.recv("screen_share_started")
        pam.send(patch("early"))
        self.expect_error(pam, "bad_request")
        pam.send({"type": "stop_screen_share"})
        old.recv("screen_share_stopped")
        old.send({"type": "request_screen_share"})
        old.recv("screen_share_started")
        old.send(keyframe("k"))
        pam.recv("screen_frame")
        old.send(patch("p"))
        self.expect_error(old, "bad_request")
        pam.ping()
        self.assert_none(pam, "screen_patch")

    def test_a_late_joiner_gets_the_keyframe_then_every_patch_since(self):
        pam, (vic,) = self.presenting(("Vic", NAMED))
        for i in range(5):
            pam.send(patch(f"p{i}"))
        vic.recv("screen_patch", pred=lambda m: tag_of(m["patches"][0]["frame_data"]) == "p4")
        late = self.join(pam.code, "Late", features=NAMED)
        self.assertEqual(tag_of(late.recv("screen_frame")["frame_data"]), "k0")
        for i in range(5):
            p = late.recv("screen_patch")
            self.assertEqual(tag_of(p["patches"][0]["frame_data"]), f"p{i}")
        pam.send(patch("p5"))
        self.assertEqual(tag_of(late.recv("screen_patch")["patches"][0]["frame_data"]), "p5")

    def test_a_version_1_viewer_gets_keyframes_only_within_a_second(self):
        pam, (old, vic) = self.presenting(("Old", None), ("Vic", NAMED))
        self.assertNotIn("features", old.reply)
        pam.send(patch("p0"))
        pam.recv("screen_keyframe_request")
        vic.recv("screen_patch")
        pam.send(patch("p1"))  # inside the second: no second request
        vic.recv("screen_patch")
        pam.ping()
        self.assertEqual(pam.take_all("screen_keyframe_request"), [])
        pam.send(keyframe("k1"))
        self.assertEqual(tag_of(old.recv("screen_frame")["frame_data"]), "k1")
        time.sleep(1.05)
        pam.send(patch("p2"))
        pam.recv("screen_keyframe_request")
        old.ping()
        self.assert_none(old, "screen_patch")

    def test_a_slow_viewer_is_sent_nothing_until_the_next_keyframe(self):
        pam, () = self.presenting()
        s = self.conn("Slow", rcvbuf=4096, reader=False)
        s.send({"type": "join_meeting", "version": 1, "username": "Slow",
                "meeting_code": pam.code, "features": NAMED})
        pam.recv("user_joined", username="Slow")
        # Slow reads nothing while 60 patches of about 130 KB come.
        for i in range(60):
            pam.send(patch(f"p{i}", n=100_000))
        pam.recv("screen_keyframe_request", timeout=20)
        pam.send({"type": "chat", "message": "flood over"})
        pam.ping()
        reader = threading.Thread(target=s._reader, daemon=True)
        reader.start()
        s.recv("chat", message="flood over", timeout=20)
        got = [tag_of(m["frame_data"] if m["type"] == "screen_frame"
                      else m["patches"][0]["frame_data"])
               for m in s.take_all(None) if m.get("type") in ("screen_frame", "screen_patch")]
        self.assertLess(len(got), 61, "screen data was dropped for the slow viewer")
        # What came is a run without a gap: k0, p0, p1, ...
        expected = ["k0"] + [f"p{i}" for i in range(60)]
        self.assertEqual(got, expected[:len(got)], got)
        # The keyframe brings it back.
        pam.send(keyframe("k1"))
        pam.send(patch("q"))
        self.assertEqual(tag_of(s.recv("screen_frame")["frame_data"]), "k1")
        self.assertEqual(tag_of(s.recv("screen_patch")["patches"][0]["frame_data"]), "q")
        self.assertFalse(s.closed)
