"""Section 11: video layers and subscriptions ("layers"): the 'T' kind,
video_subscribe (default, overrides, last_n), the fall-back, switches at
frame boundaries, video_layers_wanted, and version 1 clients unchanged."""

import time

from conformance_support import (
    AudioSender, ConformanceCase, SETTLE, TIMEOUT, parse_udp, udp_packet, video_body)


def frame(sender, kind, frame_seq, count=3):
    """The datagrams of one frame of layer `kind` ('V' or 'T')."""
    return [udp_packet(kind, sender.id, video_body(frame_seq, i, count, bytes([i]) * 200))
            for i in range(count)]


def got(u, kind, sender=None):
    """(frame_seq, frag_index) of every `kind` datagram `u` received."""
    out = []
    for _, d in u.packets(kind):
        _, cid, body = parse_udp(d)
        if sender is None or cid == sender.id:
            out.append((int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:6], "big")))
    return out


class Layers(ConformanceCase):

    def enter(self, code, name, features=("layers", "speaking")):
        kw = {} if features is None else {"features": list(features)}
        c = self.create(name, **kw) if code is None else self.join(code, name, **kw)
        return c, self.udp(c)

    def subscribe(self, conn, **sub):
        conn.send({"type": "video_subscribe", **sub})
        conn.ping()  # processed before any datagram sent after this

    def send(self, u, frags):
        for d in frags:
            u.send(d)

    def settled(self, u, kind, n):
        """Waits for `n` datagrams of `kind`, then a little more."""
        u.wait_for(lambda: u.count(kind) >= n, TIMEOUT)
        self.settle(SETTLE)

    def test_the_server_names_layers_and_a_version_1_client_sees_no_features(self):
        a, _ = self.enter(None, "A")
        self.assertIn("layers", a.reply["features"])
        self.assertIn("speaking", a.reply["features"])
        c, _ = self.enter(a.code, "Old", features=None)
        self.assertNotIn("features", c.reply)

    def test_without_a_subscription_every_full_layer_and_no_thumbnail(self):
        a, ua = self.enter(None, "A")
        b, ub = self.enter(a.code, "B")
        c, uc = self.enter(a.code, "Old", features=None)
        self.send(ua, frame(a, "T", 1))
        self.send(ua, frame(a, "V", 1))
        self.settled(uc, "V", 3)
        self.assertEqual(got(ub, "V"), [(1, 0), (1, 1), (1, 2)])
        self.assertEqual(got(uc, "V"), [(1, 0), (1, 1), (1, 2)])
        self.assertEqual(ub.count("T") + uc.count("T"), 0, "a thumbnail nobody asked for")
        # Someone else's subscription changes nothing for the others.
        self.subscribe(b, default="thumb")
        self.send(ua, frame(a, "T", 2))
        self.send(ua, frame(a, "V", 2))
        self.settled(uc, "V", 6)
        self.assertEqual(uc.count("T"), 0)
        self.assertEqual(got(ub, "T"), [(2, 0), (2, 1), (2, 2)])
        self.assertEqual(got(ub, "V"), [(1, 0), (1, 1), (1, 2)])
        # A version 1 client's own 'T' is not relayed.
        self.send(uc, frame(c, "T", 1))
        self.settle()
        self.assertEqual(ua.count("T") + ub.count("T"), 3)

    def test_none_and_overrides(self):
        r, ur = self.enter(None, "R")
        s = [self.enter(r.code, f"S{i}") for i in range(3)]
        (s0, u0), (s1, u1), (s2, u2) = s
        self.send(u2, frame(s2, "T", 1))  # s2 sends a thumbnail layer
        self.subscribe(r, default="none", overrides={s0.id: "full", s2.id: "thumb",
                                                     "c99999": "full"})
        for i, (who, u) in enumerate(s):
            self.send(u, frame(who, "V", 5))
            self.send(u, frame(who, "T", 5))
        self.settle()

        def of_5(kind, who):
            # s2's frame 1 may reach the server after the subscription, and
            # then rightly goes to r: look at frame 5 only.
            return [x for x in got(ur, kind, who) if x[0] == 5]

        self.assertEqual(of_5("V", s0), [(5, 0), (5, 1), (5, 2)])
        self.assertEqual(of_5("T", s0), [])
        self.assertEqual(of_5("V", s1) + of_5("T", s1), [], "default none")
        self.assertEqual(of_5("T", s2), [(5, 0), (5, 1), (5, 2)])
        self.assertEqual(of_5("V", s2), [])

    def test_a_missing_layer_falls_back_to_the_other(self):
        a, ua = self.enter(None, "A")
        b, ub = self.enter(a.code, "B")
        c, uc = self.enter(a.code, "C")
        self.subscribe(b, default="thumb")
        self.subscribe(c, default="full")
        self.send(ua, frame(a, "V", 1))   # no thumbnail: b gets full
        self.send(ub, frame(b, "T", 1))   # no full: c gets the thumbnail
        self.settled(ub, "V", 3)
        self.assertEqual(got(ub, "V", a), [(1, 0), (1, 1), (1, 2)])
        self.assertEqual(got(uc, "T", b), [(1, 0), (1, 1), (1, 2)])

    def test_a_switch_happens_at_frame_boundaries(self):
        a, ua = self.enter(None, "A")
        b, ub = self.enter(a.code, "B")
        self.send(ua, frame(a, "T", 1))           # a sends both layers
        self.send(ua, frame(a, "V", 1))
        full2, thumb2 = frame(a, "V", 2), frame(a, "T", 2)
        ua.send(full2[0])
        ua.send(thumb2[0])
        self.settled(ub, "V", 4)
        self.subscribe(b, default="thumb")
        self.send(ua, full2[1:])                  # the full frame begun: finished
        self.send(ua, thumb2[1:])                 # the thumbnail begun before: not
        self.send(ua, frame(a, "V", 3))           # old layer, new frame: not
        self.send(ua, frame(a, "T", 3))           # new layer from fragment 0
        self.settle()
        self.assertEqual(got(ub, "V"), [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)])
        self.assertEqual(got(ub, "T"), [(3, 0), (3, 1), (3, 2)])

    def test_last_n_follows_who_spoke_last(self):
        r, ur = self.enter(None, "R")
        s = [self.enter(r.code, f"S{i}") for i in range(3)]
        for who, u in s:
            self.send(u, frame(who, "V", 1))
        self.subscribe(r, default="full", last_n=1, overrides={s[2][0].id: "full"})

        def senders_seen(seq):
            ur.clear()
            for who, u in s:
                self.send(u, frame(who, "V", seq))
            self.settle()
            # Only this frame: datagrams of an earlier one may still be on their way.
            return sorted({cid for _, cid, body in (parse_udp(d) for _, d in ur.packets("V"))
                           if int.from_bytes(body[0:4], "big") == seq})

        # Nobody spoke: join order (S0), plus the override (S2).
        self.assertEqual(senders_seen(2), sorted([s[0][0].id, s[2][0].id]))
        # S1 speaks: S1 replaces S0.
        voice = AudioSender(s[1][1], s[1][0].id, 3000, 0.3)
        voice.start()
        r.recv("speaking", pred=lambda m: s[1][0].id in m["client_ids"])
        voice.join()
        self.assertEqual(senders_seen(3), sorted([s[1][0].id, s[2][0].id]))
        # last_n 0: the override only.
        self.subscribe(r, default="thumb", last_n=0, overrides={s[2][0].id: "full"})
        self.assertEqual(senders_seen(4), [s[2][0].id])

    def test_video_layers_wanted_on_join_and_on_change(self):
        a, ua = self.enter(None, "A")
        first = a.recv("video_layers_wanted")
        self.assertEqual((first["full"], first["thumb"]), (False, False), "alone: nothing wanted")
        b, ub = self.enter(a.code, "B")
        c, uc = self.enter(a.code, "Old", features=None)
        a.recv("video_layers_wanted", full=True, thumb=False)
        self.subscribe(b, default="thumb")
        # A sends no thumbnail yet, so full stays wanted for b too.
        a.recv("video_layers_wanted", full=True, thumb=True)
        # Several changes in a burst: the latest state arrives.
        for d in ("none", "full", "none", "thumb", "none"):
            self.subscribe(b, default=d)
        c.send({"type": "leave"})
        self.settle(0.6)
        wanted = a.take_all("video_layers_wanted")
        self.assertTrue(wanted, "no video_layers_wanted after the changes")
        self.assertEqual((wanted[-1]["full"], wanted[-1]["thumb"]), (False, False),
                         f"the latest state was not sent last: {wanted}")
        self.assert_none(c, "video_layers_wanted")
        # Rate: at most 4 a second.
        a.clear()
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            for d in ("thumb", "none"):
                self.subscribe(b, default=d)
        self.settle(0.3)
        wanted = a.take_all("video_layers_wanted")
        self.assertLessEqual(len(wanted), 7, f"{len(wanted)} video_layers_wanted in ~1.3 s")
        self.assertEqual((wanted[-1]["full"], wanted[-1]["thumb"]), (False, False))

    def test_bad_subscriptions_are_bad_requests_and_keep_the_connection(self):
        a, _ = self.enter(None, "A")
        many = {f"c{i}": "full" for i in range(65)}
        for sub in ({"default": "big"}, {"default": "FULL"}, {}, {"default": 1},
                    {"default": "full", "last_n": 65}, {"default": "full", "last_n": -1},
                    {"default": "full", "last_n": 1.5}, {"default": "full", "overrides": many},
                    {"default": "full", "overrides": {a.id: "small"}},
                    {"default": "full", "overrides": [a.id]}):
            a.send({"type": "video_subscribe", **sub})
            self.expect_error(a, "bad_request")
        self.assert_kept(a)
        # A client that did not name "layers" may not subscribe.
        c, _ = self.enter(a.code, "Old", features=None)
        c.send({"type": "video_subscribe", "default": "thumb"})
        self.expect_error(c, "bad_request")
        self.assert_kept(c)
