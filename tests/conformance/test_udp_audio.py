"""Section 9: the N-1 audio mixer (arithmetic, clamping, muting, one frame
per source per 10 ms tick, rate, per-recipient seq)."""

import time
from collections import Counter

from conformance_support import (AudioSender, ConformanceCase, SAMPLES_PER_FRAME,
                                 audio_body, udp_packet)

RAMP = [1000 + i for i in range(SAMPLES_PER_FRAME)]  # catches sample order/byte order


def const(v):
    return (v,) * SAMPLES_PER_FRAME


class Mixer(ConformanceCase):

    def run_senders(self, senders, duration):
        threads = [AudioSender(u, conn.id, samples, duration) for conn, u, samples in senders]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(duration + 5)
        time.sleep(0.15)  # let the last ticks drain
        return t0, threads

    def frames(self, u, since):
        fr = u.audio_frames(since)
        for t, cid, seq, samples in fr:
            self.assertIsNotNone(samples, "mixed frame has the wrong length")
            self.assertEqual(cid, "", "mixed audio has an empty id")
        return fr

    def check_seq(self, fr, who):
        seqs = [s for _, _, s, _ in fr]
        self.assertEqual(seqs, sorted(set(seqs)), f"{who}: mixed seq must count up")
        if len(seqs) > 1:
            steps = Counter(b - a for a, b in zip(seqs, seqs[1:]))
            self.assertGreaterEqual(steps[1], 0.9 * (len(seqs) - 1),
                                    f"{who}: seq should count up by one: {steps}")

    def test_n_minus_one_arithmetic(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        ua, ub, uc = self.udp(a), self.udp(b), self.udp(c)
        t0, _ = self.run_senders([(a, ua, RAMP), (b, ub, const(2000))], 1.5)
        steady = t0 + 0.3
        fa, fb, fc = (self.frames(u, steady) for u in (ua, ub, uc))
        self.assertGreater(len(fc), 50, f"Carol got only {len(fc)} mixed frames")
        both = tuple(x + 2000 for x in RAMP)
        a_only, b_only = tuple(RAMP), const(2000)
        kinds = Counter()
        for _, _, _, s in fc:
            self.assertIn(s, (both, a_only, b_only), f"Carol heard an unexpected mix: {s[:4]}...")
            kinds["both" if s == both else "one"] += 1
        self.assertGreater(kinds["both"], 0.5 * len(fc),
                           f"Carol should mostly hear both: {kinds}")
        # Alice hears only Bob; Bob hears only Alice. A tick where only the
        # listener had a frame sends it nothing, so no other values appear.
        self.assertGreater(len(fa), 50)
        self.assertGreater(len(fb), 50)
        for _, _, _, s in fa:
            self.assertEqual(s, b_only, f"Alice must hear exactly Bob (2000): {s[:4]}...")
        for _, _, _, s in fb:
            self.assertEqual(s, a_only, f"Bob must hear exactly Alice's ramp: {s[:4]}...")
        for fr, who in ((fa, "Alice"), (fb, "Bob"), (fc, "Carol")):
            self.check_seq(fr, who)

    def test_clamping(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        d, e, f = self.meeting("Dan", "Erin", "Frank")
        ua, ub, uc = self.udp(a), self.udp(b), self.udp(c)
        ud, ue, uf = self.udp(d), self.udp(e), self.udp(f)
        t0, _ = self.run_senders([(a, ua, const(30000)), (b, ub, const(30000)),
                                  (d, ud, const(-30000)), (e, ue, const(-30000))], 1.0)
        fc, ff = self.frames(uc, t0 + 0.2), self.frames(uf, t0 + 0.2)
        self.assertGreater(len(fc), 30)
        self.assertGreater(len(ff), 30)
        hi = Counter(s[0] for _, _, _, s in fc)
        lo = Counter(s[0] for _, _, _, s in ff)
        for _, _, _, s in fc:
            self.assertIn(s, (const(32767), const(30000)), f"positive clamp: {s[:4]}")
        for _, _, _, s in ff:
            self.assertIn(s, (const(-32768), const(-30000)), f"negative clamp: {s[:4]}")
        self.assertGreater(hi[32767], 0.5 * len(fc), f"30000+30000 must clamp to 32767: {hi}")
        self.assertGreater(lo[-32768], 0.5 * len(ff), f"-30000-30000 must clamp to -32768: {lo}")
        # Each sender hears the other one only: 30000, never clamped.
        for u in (ua, ub):
            for _, _, _, s in self.frames(u, t0 + 0.2):
                self.assertEqual(s, const(30000))

    def test_muted_sources_excluded(self):
        h, a, b, d = self.meeting("Host", "Alice", "Bob", "Dave")
        uh, ua, ub, ud = self.udp(h), self.udp(a), self.udp(b), self.udp(d)
        a.send({"type": "audio_state", "muted": True})            # self mute
        h.send({"type": "mute_participant", "target_client_id": d.id})  # host mute
        h.recv("participant_audio_state", client_id=a.id, muted=True)
        h.recv("participant_muted", client_id=d.id)
        t0, _ = self.run_senders([(a, ua, const(1000)), (b, ub, const(2000)),
                                  (d, ud, const(4000))], 1.0)
        fh = self.frames(uh, t0 + 0.2)
        self.assertGreater(len(fh), 30)
        for _, _, _, s in fh:
            self.assertEqual(s, const(2000), f"muted audio leaked into the mix: {s[:4]}")
        # Bob is the only unmuted source: a tick where only he had a frame
        # sends him nothing. Ambiguity: "no one but r had a frame" could be
        # read as counting muted senders' frames too; the mixer "takes at most
        # one frame from each unmuted source's queue", so a muted source has no
        # frame in the tick, and Bob must get nothing.
        fb = self.frames(ub, t0 + 0.2)
        self.assertEqual(len(fb), 0, f"Bob got {len(fb)} frames though only he was audible")
        # Alice and Dave, although muted, still hear Bob.
        for u in (ua, ud):
            fr = self.frames(u, t0 + 0.2)
            self.assertGreater(len(fr), 30)
            for _, _, _, s in fr:
                self.assertEqual(s, const(2000))
        # Alice unmutes herself: she is mixed again.
        a.send({"type": "audio_state", "muted": False})
        h.recv("participant_audio_state", client_id=a.id, muted=False)
        t1, _ = self.run_senders([(a, ua, const(1000)), (b, ub, const(2000))], 0.8)
        fh = self.frames(uh, t1 + 0.2)
        self.assertGreater(sum(1 for *_, s in fh if s == const(3000)), 0.4 * len(fh))

    def test_burst_mixed_one_frame_per_tick(self):
        a, c = self.meeting("Alice", "Carol")
        ua, uc = self.udp(a), self.udp(c)
        # Five frames at once (within the queue's 5): five ticks, in order.
        values = [100, 200, 300, 400, 500]
        for i, v in enumerate(values):
            ua.send(udp_packet("A", a.id, audio_body(i, v)))
        uc.wait_for(lambda: uc.count("A") >= 5, 2.0)
        time.sleep(0.1)
        fr = self.frames(uc, 0)
        got = [s[0] for *_, s in fr]
        for *_, s in fr:
            self.assertEqual(len(set(s)), 1)
        self.assertEqual(got, values, "each burst frame is mixed alone, one per tick, in order")
        span = fr[-1][0] - fr[0][0]
        self.assertGreater(span, 0.025, f"5 frames arrived within {span * 1000:.1f} ms: "
                                        "not one per 10 ms tick")
        # Twelve at once: the queue keeps at most 5 (older ones dropped).
        uc.clear()
        values = [1000 + 10 * i for i in range(12)]
        for i, v in enumerate(values):
            ua.send(udp_packet("A", a.id, audio_body(100 + i, v)))
        time.sleep(0.3)
        got = [s[0] for *_, s in self.frames(uc, 0)]
        self.assertTrue(got, "nothing mixed from the burst")
        self.assertLessEqual(len(got), 8, f"queue should hold at most 5 frames: heard {got}")
        self.assertGreaterEqual(len(got), 5, f"heard {got}")
        self.assertEqual(got[-1], values[-1], "the newest frames are kept")
        self.assertEqual(got, sorted(got))
        self.assertTrue(set(got) <= set(values), f"frames were summed: {got}")

    def test_rate_about_100_per_second(self):
        a, c = self.meeting("Alice", "Carol")
        ua, uc = self.udp(a), self.udp(c)
        t0, (snd,) = self.run_senders([(a, ua, const(700))], 2.0)
        fr = self.frames(uc, 0)
        window = [f for f in fr if t0 + 0.5 <= f[0] < t0 + 1.5]
        self.assertGreaterEqual(len(window), 75, f"{len(window)} mixed frames in 1 s")
        self.assertLessEqual(len(window), 125, f"{len(window)} mixed frames in 1 s")
        # Never more mixed frames than frames sent (one per source per tick).
        self.assertLessEqual(len(fr), snd.sent)
        # Alice alone: nothing is sent back to her.
        self.assertEqual(ua.count("A"), 0, "a lone speaker must not receive mixed audio")
        self.check_seq(fr, "Carol")

    def test_spoofed_and_unbound_audio_not_mixed(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        ua, ub, uc = self.udp(a), self.udp(b), self.udp(c)
        # Bob's bound socket sends audio claiming to be Alice.
        for i in range(20):
            ub.send(udp_packet("A", a.id, audio_body(i, 5000)))
            time.sleep(0.005)
        time.sleep(0.2)
        self.assertEqual(uc.count("A"), 0, "spoofed audio was mixed")
        self.assertEqual(ua.count("A"), 0)

    def test_malformed_audio_ignored(self):
        a, c = self.meeting("Alice", "Carol")
        ua, uc = self.udp(a), self.udp(c)
        ua.send(udp_packet("A", a.id, b"\x00\x00\x00\x01" + b"\x00" * 100))  # short body
        ua.send(udp_packet("A", a.id, b"\x00\x00\x00\x02"))
        time.sleep(0.2)
        self.assertEqual(uc.count("A"), 0, "a malformed audio frame was mixed")
        ua.send(udp_packet("A", a.id, audio_body(3, 1234)))
        self.assertTrue(uc.wait_for(lambda: uc.count("A") >= 1, 2.0))

    def test_mute_all_excludes_from_mix_until_unmute_all(self):
        h, b = self.meeting("Host", "Bob")
        uh, ub = self.udp(h), self.udp(b)
        h.send({"type": "mute_all", "lock": False})
        b.recv("muted_by_host")
        d = self.join(h.code, "Dave")  # muted as a later joiner
        d.recv("muted_by_host")
        ud = self.udp(d)
        t0, _ = self.run_senders([(b, ub, const(1000)), (d, ud, const(2000))], 0.6)
        self.assertEqual(self.frames(uh, t0), [], "audio muted by mute_all reached the host")
        h.send({"type": "unmute_all"})
        for t in (b, d):
            t.recv("unmuted_by_host")
        h.ping()
        t1, _ = self.run_senders([(b, ub, const(1000)), (d, ud, const(2000))], 0.8)
        fh = self.frames(uh, t1 + 0.2)
        self.assertGreater(len(fh), 30, "after unmute_all the host hears nothing")
        self.assertGreater(sum(1 for *_, s in fh if s == const(3000)), 0.4 * len(fh))
