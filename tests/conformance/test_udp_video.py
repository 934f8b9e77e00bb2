"""Section 9: UDP hello, tokens, video relay, spoofing, datagram size."""

import os
import time

from conformance_support import (ConformanceCase, Server, Udp, TIMEOUT, parse_udp,
                                 udp_packet, video_body)

OK = b"I\x00\x00ok"


class UdpHello(ConformanceCase):

    def test_valid_hello_answered_each_time(self):
        (a,) = self.meeting("Alice")
        u = self.udp(a, hello=False)
        for i in range(3):
            u.hello()
        oks = [d for _, d in u.packets("I")]
        self.assertEqual(len(oks), 3)
        for d in oks:
            self.assertEqual(d, OK, "the answer is 'I', empty id, body 'ok'")

    def test_invalid_tokens_silently_dropped(self):
        a, b = self.meeting("Alice", "Bob")
        u = self.udp(a, hello=False)
        good = a.reply["udp_token"]
        flipped = ("0" if good[0] != "0" else "1") + good[1:]
        for token in (flipped, b.reply["udp_token"][:16] + good[16:], "", "zz" * 16,
                      good[:31], good + "0"):
            u.send(udp_packet("I", a.id, token.encode()))
        time.sleep(0.5)
        self.assertEqual(u.count(), 0, "invalid hellos must get no answer")
        # The address was not bound: media from it is not relayed.
        ub = self.udp(b)
        u.send(udp_packet("V", a.id, video_body(1, 0, 1, b"\xff\xd8data")))
        time.sleep(0.3)
        self.assertEqual(ub.count("V"), 0)
        a.ping()
        self.assertFalse(a.closed)

    def test_token_invalid_after_leave(self):
        a, b = self.meeting("Alice", "Bob")
        ua = self.udp(a)
        ub = self.udp(b)
        a.send({"type": "leave"})
        b.recv("user_left", client_id=a.id)
        ua.clear()
        ua.hello(expect_ok=False)
        ua.send(udp_packet("V", a.id, video_body(1, 0, 1, b"ghost")))
        time.sleep(0.4)
        self.assertEqual(ua.count("I"), 0, "a hello with the token of a client that left was answered")
        self.assertEqual(ub.count("V"), 0, "media of a client that left was relayed")

    def test_hello_token_of_other_meeting_member(self):
        # A token binds the client it was issued to, whatever id the header
        # names; a hello is never answered for an unknown token.
        (a,) = self.meeting("Alice")
        u = self.udp(a, hello=False)
        u.send(udp_packet("I", a.id, b"0" * 32))
        time.sleep(0.3)
        self.assertEqual(u.count(), 0)


class VideoRelay(ConformanceCase):

    def setup_three(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        return (a, b, c), (self.udp(a), self.udp(b), self.udp(c))

    def wait_count(self, u, kind, n):
        return u.wait_for(lambda: u.count(kind) >= n, TIMEOUT)

    def test_fragments_relayed_unchanged_to_others_only(self):
        (a, b, c), (ua, ub, uc) = self.setup_three()
        maxd = a.reply["max_datagram"]
        head = len(udp_packet("V", a.id, video_body(7, 0, 3, b"")))
        payload = [os.urandom(maxd - head), os.urandom(500), os.urandom(1)]
        sent = [udp_packet("V", a.id, video_body(7, i, 3, p)) for i, p in enumerate(payload)]
        self.assertEqual(len(sent[0]), maxd)
        for d in sent:
            ua.send(d)
        for u in (ub, uc):
            self.assertTrue(self.wait_count(u, "V", 3), f"got {u.count('V')} of 3 fragments")
            got = [d for _, d in u.packets("V")]
            self.assertEqual(sorted(got), sorted(sent), "fragments must be byte-identical")
        time.sleep(0.2)
        self.assertEqual(ua.count("V"), 0, "the sender gets no copy of its own video")

    def test_relay_stays_in_meeting(self):
        (a, b, c), (ua, ub, uc) = self.setup_three()
        (x,) = self.meeting("Xavier")
        ux = self.udp(x)
        ua.send(udp_packet("V", a.id, video_body(1, 0, 1, b"jpeg")))
        self.assertTrue(self.wait_count(ub, "V", 1))
        time.sleep(0.2)
        self.assertEqual(ux.count("V"), 0)

    def test_spoofed_client_id_dropped(self):
        (a, b, c), (ua, ub, uc) = self.setup_three()
        # Carol's bound socket claims to be Alice.
        uc.send(udp_packet("V", a.id, video_body(1, 0, 1, b"spoof")))
        # A stranger's socket claims to be Alice.
        stranger = Udp(self.server)
        self.addCleanup(stranger.close)
        stranger.send(udp_packet("V", a.id, video_body(2, 0, 1, b"spoof2")))
        stranger.send(udp_packet("V", b.id, video_body(3, 0, 1, b"spoof3")))
        time.sleep(0.4)
        for u in (ua, ub, uc):
            self.assertEqual(u.count("V"), 0, "spoofed video was relayed")
        # The genuine sender still gets through.
        ua.send(udp_packet("V", a.id, video_body(4, 0, 1, b"real")))
        self.assertTrue(self.wait_count(ub, "V", 1))
        self.assertEqual(parse_udp(ub.packets("V")[0][1])[2][8:], b"real")

    def test_oversized_datagram_dropped(self):
        (a, b, c), (ua, ub, uc) = self.setup_three()
        maxd = a.reply["max_datagram"]
        head = len(udp_packet("V", a.id, video_body(1, 0, 1, b"")))
        too_big = udp_packet("V", a.id, video_body(1, 0, 1, os.urandom(maxd + 1 - head)))
        self.assertEqual(len(too_big), maxd + 1)
        ua.send(too_big)
        ua.send(udp_packet("V", a.id, video_body(1, 0, 1, os.urandom(9000))))
        time.sleep(0.4)
        self.assertEqual(ub.count("V"), 0, "datagrams over max_datagram must be dropped")
        exact = udp_packet("V", a.id, video_body(2, 0, 1, os.urandom(maxd - head)))
        ua.send(exact)
        self.assertTrue(self.wait_count(ub, "V", 1))
        self.assertEqual(ub.packets("V")[0][1], exact)

    def test_rebind_moves_address(self):
        (a, b, c), (ua, ub, uc) = self.setup_three()
        ua2 = self.udp(a)  # a second hello with the same token re-binds
        ua.send(udp_packet("V", a.id, video_body(1, 0, 1, b"old address")))
        time.sleep(0.3)
        self.assertEqual(ub.count("V"), 0, "media from the previous address must be dropped")
        ua2.send(udp_packet("V", a.id, video_body(2, 0, 1, b"new address")))
        self.assertTrue(self.wait_count(ub, "V", 1))
        # Video for Alice now goes to the new address.
        ub.send(udp_packet("V", b.id, video_body(1, 0, 1, b"to alice")))
        self.assertTrue(self.wait_count(ua2, "V", 1))
        time.sleep(0.2)
        self.assertEqual(ua.count("V"), 0)

    def test_unbound_participant_gets_nothing_but_bound_do(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        ua, ub = self.udp(a), self.udp(b)
        # Carol never says hello; Alice's video still reaches Bob.
        for i in range(5):
            ua.send(udp_packet("V", a.id, video_body(i, 0, 1, b"f%d" % i)))
        self.assertTrue(self.wait_count(ub, "V", 5))

    def test_malformed_datagrams_ignored(self):
        (a, b, c), (ua, ub, uc) = self.setup_three()
        for junk in (b"", b"V", b"V\x00", b"V\x00\x09ab", b"X\x00\x00hello",
                     b"\xff\xff\xff\xff"):
            ua.send(junk)
        time.sleep(0.2)
        # The server still works.
        ua.send(udp_packet("V", a.id, video_body(1, 0, 1, b"after junk")))
        self.assertTrue(self.wait_count(ub, "V", 1))
        ua.hello()


class LargerDatagrams(ConformanceCase):
    """A server of its own started with --max-datagram 9000."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--max-datagram", "9000")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_max_datagram_option(self):
        a, b = self.meeting("Alice", "Bob")
        self.assertEqual(a.reply["max_datagram"], 9000)
        self.assertEqual(b.reply["max_datagram"], 9000)
        ua, ub = self.udp(a), self.udp(b)
        head = len(udp_packet("V", a.id, video_body(1, 0, 1, b"")))
        ua.send(udp_packet("V", a.id, video_body(1, 0, 1, os.urandom(9001 - head))))
        time.sleep(0.3)
        self.assertEqual(ub.count("V"), 0, "a 9001-byte datagram was relayed")
        exact = udp_packet("V", a.id, video_body(2, 0, 1, os.urandom(9000 - head)))
        ua.send(exact)
        self.assertTrue(ub.wait_for(lambda: ub.count("V") >= 1, TIMEOUT))
        self.assertEqual(ub.packets("V")[0][1], exact)
