"""Section 12: who is speaking ("speaking"): the list from the mix, newest
speaker first, an empty list when the room falls quiet, at most 5 a
second, and nothing for a client that did not name it."""

import time

from conformance_support import AudioSender, ConformanceCase, SETTLE


class Speaking(ConformanceCase):

    def room(self):
        a = self.create("A", features=["speaking"])
        b = self.join(a.code, "B", features=["speaking", "layers"])
        c = self.join(a.code, "Old")
        us = [self.udp(w) for w in (a, b, c)]
        for w in (a, b, c):
            w.clear()
        return (a, b, c), us

    def voice(self, u, who, level, seconds):
        v = AudioSender(u, who.id, level, seconds)
        v.start()
        return v

    def test_a_speaker_is_listed_then_the_list_empties(self):
        (a, b, c), (ua, ub, uc) = self.room()
        v = self.voice(ua, a, 3000, 0.5)
        m = b.recv("speaking", pred=lambda m: m["client_ids"] == [a.id])
        self.assertEqual({k for k in m if not k.startswith("_")}, {"type", "client_ids"})
        a.recv("speaking", pred=lambda m: m["client_ids"] == [a.id])
        v.join()
        b.recv("speaking", pred=lambda m: m["client_ids"] == [])
        self.settle()
        self.assert_none(c, "speaking")

    def test_the_newest_speaker_comes_first(self):
        (a, b, c), (ua, ub, uc) = self.room()
        va = self.voice(ua, a, 3000, 1.2)
        b.recv("speaking", pred=lambda m: m["client_ids"] == [a.id])
        time.sleep(0.3)
        vb = self.voice(ub, b, -3000, 0.6)
        m = b.recv("speaking", pred=lambda m: len(m["client_ids"]) == 2)
        self.assertEqual(m["client_ids"], [b.id, a.id])
        va.join()
        vb.join()
        b.recv("speaking", pred=lambda m: m["client_ids"] == [])

    def test_quiet_audio_is_not_speaking(self):
        (a, b, c), (ua, ub, uc) = self.room()
        # Amplitude 60 is about -54.7 dBFS: under the -50 dBFS threshold.
        self.voice(ua, a, 60, 0.5).join()
        self.settle()
        self.assert_none(b, "speaking")

    def test_at_most_5_a_second(self):
        (a, b, c), (ua, ub, uc) = self.room()
        start = time.monotonic()
        # Speaking in bursts that change the set faster than 5 times a second.
        while time.monotonic() - start < 1.5:
            self.voice(ua, a, 3000, 0.02).join()
            time.sleep(0.35)
            self.voice(ub, b, 3000, 0.02).join()
            time.sleep(0.35)
        self.settle(0.5)
        got = b.take_all("speaking")
        self.assertGreater(len(got), 0)
        self.assertLessEqual(len(got), 5 * 2 + 2, f"{len(got)} speaking messages in ~2 s")
        self.assertEqual(got[-1]["client_ids"], [], "the latest state (quiet) was not sent")
