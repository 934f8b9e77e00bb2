"""Section 5: presence (video, audio, hands, reactions) and who gets what."""

import time

from conformance_support import ConformanceCase


class Presence(ConformanceCase):

    def test_video_state_to_others_only(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "video_state", "state": "started"})
        for r in (a, c):
            m = r.recv("participant_video_state")
            self.assertEqual(m["client_id"], b.id)
            self.assertEqual(m["state"], "started")
        # Not marked * in the table: the sender gets no copy.
        b.ping()
        self.assert_none(b, "participant_video_state")
        d = self.join(a.code, "Dave")
        entry = {p["client_id"]: p for p in d.reply["participants"]}
        self.assertIs(entry[b.id]["video"], True)
        self.assertIs(entry[c.id]["video"], False)
        b.send({"type": "video_state", "state": "stopped"})
        for r in (a, c, d):
            r.recv("participant_video_state", client_id=b.id, state="stopped")

    def test_video_state_bad_values(self):
        (a,) = self.meeting("Alice")
        for st in ("paused", "", True, None):
            with self.subTest(state=st):
                a.send({"type": "video_state", "state": st})
                self.expect_error(a, "bad_request")
                self.assert_kept(a)

    def test_audio_state_to_everyone_including_sender(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "audio_state", "muted": True})
        for r in (a, b, c):
            m = r.recv("participant_audio_state")
            self.assertEqual(m["client_id"], b.id)
            self.assertIs(m["muted"], True)
        d = self.join(a.code, "Dave")
        entry = {p["client_id"]: p for p in d.reply["participants"]}
        self.assertIs(entry[b.id]["muted"], True)
        self.assertIs(entry[a.id]["muted"], False)
        b.send({"type": "audio_state", "muted": False})
        for r in (a, b, c, d):
            r.recv("participant_audio_state", client_id=b.id, muted=False)

    def test_raise_hand_ordered(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        before = time.time()
        c.send({"type": "raise_hand", "state": True})
        first = {}
        for r in (a, b, c):  # the sender too
            m = r.recv("participant_hand_state", client_id=c.id)
            self.assertEqual(m["username"], "Carol")
            self.assertIs(m["state"], True)
            self.assertIsInstance(m["raised_at"], (int, float))
            self.assertLess(abs(m["raised_at"] - before), 60, "raised_at is unix time")
            first[r.name] = m["raised_at"]
        self.assertEqual(len(set(first.values())), 1, "same raised_at for everyone")
        time.sleep(0.05)
        b.send({"type": "raise_hand", "state": True})
        m2 = a.recv("participant_hand_state", client_id=b.id)
        self.assertGreater(m2["raised_at"], first["Alice"],
                           "a later hand has a later raised_at")
        d = self.join(a.code, "Dave")
        entry = {p["client_id"]: p for p in d.reply["participants"]}
        self.assertIs(entry[c.id]["hand_raised"], True)
        self.assertEqual(entry[c.id]["raised_at"], first["Alice"])
        self.assertEqual(entry[b.id]["raised_at"], m2["raised_at"])
        self.assertIs(entry[a.id]["hand_raised"], False)
        self.assertIsNone(entry[a.id]["raised_at"])
        c.send({"type": "raise_hand", "state": False})
        for r in (a, b, c, d):
            m = r.recv("participant_hand_state", client_id=c.id, state=False)
            self.assertIsNone(m["raised_at"])
            self.assertEqual(m["username"], "Carol")

    def test_emoji_reaction(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        b.send({"type": "emoji_reaction", "emoji": "\U0001F44D"})
        for r in (a, b, c):  # the sender too
            m = r.recv("emoji_reaction")
            self.assertEqual(m["client_id"], b.id)
            self.assertEqual(m["username"], "Bob")
            self.assertEqual(m["emoji"], "\U0001F44D")
        # 16 bytes is the limit: 4 four-byte emoji pass, 5 do not.
        b.send({"type": "emoji_reaction", "emoji": "\U0001F44D" * 4})
        a.recv("emoji_reaction", emoji="\U0001F44D" * 4)
        for bad in ("\U0001F44D" * 5, "x" * 17, "", 5):
            with self.subTest(emoji=bad):
                b.send({"type": "emoji_reaction", "emoji": bad})
                self.expect_error(b, "bad_request")
                self.assert_kept(b)

    def test_presence_stays_in_meeting(self):
        a, b = self.meeting("Alice", "Bob")
        (x,) = self.meeting("Xavier")
        a.send({"type": "raise_hand", "state": True})
        a.send({"type": "emoji_reaction", "emoji": "!"})
        a.send({"type": "video_state", "state": "started"})
        a.send({"type": "audio_state", "muted": True})
        b.recv("participant_audio_state")
        self.settle(0.2)
        self.assertEqual(x.find(), [], "another meeting saw presence events")
