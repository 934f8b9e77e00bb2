"""Section 13: video loss recovery ("nack"): the 'N' datagram, the server's
500 ms cache and re-sends, and its requests to the sender."""

import struct
import time

from conformance_support import ConformanceCase, SETTLE, TIMEOUT, parse_udp, udp_packet, video_body


def nack_body(sender, frame_seq, frag_count, missing, layer="V"):
    """'N' body: layer | sender_len u8 | sender | frame_seq u32 BE |
    frag_count u16 BE | bitmap (bit i = fragment i missing)."""
    sid = sender.encode("utf-8")
    bitmap = bytearray((frag_count + 7) // 8)
    for i in missing:
        bitmap[i // 8] |= 1 << (i % 8)
    return (layer.encode("ascii") + bytes([len(sid)]) + sid
            + struct.pack(">IH", frame_seq, frag_count) + bytes(bitmap))


def parse_nack(body):
    """-> (layer, sender, frame_seq, frag_count, [missing indices])."""
    layer = chr(body[0])
    n = body[1]
    sender = body[2:2 + n].decode("utf-8")
    frame_seq, frag_count = struct.unpack(">IH", body[2 + n:8 + n])
    bitmap = body[8 + n:8 + n + (frag_count + 7) // 8]
    missing = [i for i in range(frag_count) if bitmap[i // 8] & (1 << (i % 8))]
    return layer, sender, frame_seq, frag_count, missing


class Nack(ConformanceCase):

    def nack_meeting(self, receiver_features=("nack",), sender_features=("nack",)):
        """Sender a, receiver b (features as given), and a version 1
        client c; all three with bound UDP sockets."""
        a = self.create("Sender", features=list(sender_features))
        b = self.join(a.code, "Receiver", features=list(receiver_features))
        c = self.join(a.code, "Old")
        for who in (a, b, c):
            who.clear()
        return (a, b, c), (self.udp(a), self.udp(b), self.udp(c))

    def frame(self, sender, frame_seq, count):
        """The datagrams of one frame, each fragment's payload distinct."""
        return [udp_packet("V", sender.id, video_body(
            frame_seq, i, count, bytes([i, frame_seq % 256]) * 300)) for i in range(count)]

    def send_frame(self, u, frags, skip=()):
        for i, d in enumerate(frags):
            if i not in skip:
                u.send(d)

    def wait_count(self, u, kind, n, timeout=None):
        return u.wait_for(lambda: u.count(kind) >= n, timeout or TIMEOUT)

    def test_the_server_names_nack_and_a_version_1_client_never_sees_it(self):
        (a, b, c), _ = self.nack_meeting()
        self.assertIn("nack", a.reply["features"])
        self.assertNotIn("features", c.reply)

    def test_held_fragments_are_resent_to_the_asker_only_byte_for_byte_at_most_twice(self):
        (a, b, c), (ua, ub, uc) = self.nack_meeting()
        frags = self.frame(a, 7, 5)
        self.send_frame(ua, frags)
        self.assertTrue(self.wait_count(ub, "V", 5), "the frame was not relayed")
        self.assertTrue(self.wait_count(uc, "V", 5), "the frame was not relayed to a version 1 client")
        ask = udp_packet("N", b.id, nack_body(a.id, 7, 5, [1, 3]))
        for n in (1, 2):
            ub.send(ask)
            self.assertTrue(self.wait_count(ub, "V", 5 + 2 * n),
                            f"request {n}: fragments 1 and 3 not re-sent")
        ub.send(ask)  # a third time: nothing
        self.settle(SETTLE)
        got = [d for _, d in ub.packets("V")]
        self.assertEqual(len(got), 9, "re-sent more than twice per fragment and receiver")
        self.assertEqual(got[5:], [frags[1], frags[3], frags[1], frags[3]],
                         "re-sends must be the relayed datagrams, byte for byte")
        self.assertEqual(uc.count("V"), 5, "a re-send went to someone who did not ask")
        self.assertEqual(ua.count("V") + ua.count("N"), 0, "the sender got something")

    def test_a_fragment_never_received_is_asked_of_the_sender_once(self):
        (a, b, c), (ua, ub, uc) = self.nack_meeting()
        frags = self.frame(a, 3, 4)
        self.send_frame(ua, frags, skip=(2,))
        self.assertTrue(self.wait_count(ub, "V", 3))
        ub.send(udp_packet("N", b.id, nack_body(a.id, 3, 4, [0, 2])))
        self.assertTrue(self.wait_count(ua, "N", 1), "the sender was not asked for fragment 2")
        self.assertTrue(self.wait_count(ub, "V", 4), "held fragment 0 was not re-sent")
        kind, cid, body = parse_udp(ua.packets("N")[0][1])
        self.assertEqual(cid, "", "the server's request has an empty id")
        self.assertEqual(parse_nack(body), ("V", a.id, 3, 4, [2]))
        ub.send(udp_packet("N", b.id, nack_body(a.id, 3, 4, [2])))
        self.settle(SETTLE)
        self.assertEqual(ua.count("N"), 1, "the sender was asked twice for one fragment")
        # The sender's re-send is relayed as usual, to everyone.
        ua.send(frags[2])
        self.assertTrue(self.wait_count(ub, "V", 5))
        self.assertTrue(self.wait_count(uc, "V", 4))

    def test_unknown_frames_senders_layers_and_garbage_get_nothing(self):
        (a, b, c), (ua, ub, uc) = self.nack_meeting()
        self.send_frame(ua, self.frame(a, 1, 3))
        self.assertTrue(self.wait_count(ub, "V", 3))
        for body in (nack_body(a.id, 2, 3, [0]),            # a frame never sent
                     nack_body(a.id, 1, 4, [0]),            # another count
                     nack_body("c999", 1, 3, [0]),          # nobody
                     nack_body(a.id, 1, 3, [0], layer="T"),  # no thumbnail layer sent
                     nack_body(a.id, 1, 3, [0])[:-1],       # cut short
                     b"X\x00"):
            ub.send(udp_packet("N", b.id, body))
        self.settle(SETTLE)
        self.assertEqual(ub.count("V"), 3)
        self.assertEqual(ua.count("N"), 0)
        b.ping()
        self.assertFalse(b.closed)

    def test_a_client_that_named_no_nack_may_not_ask(self):
        (a, b, c), (ua, ub, uc) = self.nack_meeting()
        self.send_frame(ua, self.frame(a, 1, 3))
        self.assertTrue(self.wait_count(uc, "V", 3))
        uc.send(udp_packet("N", c.id, nack_body(a.id, 1, 3, [0, 1, 2])))
        self.settle(SETTLE)
        self.assertEqual(uc.count("V"), 3, "a version 1 client's 'N' was answered")

    def test_a_version_1_sender_is_never_sent_an_N(self):
        (a, b, c), (ua, ub, uc) = self.nack_meeting(sender_features=())
        self.send_frame(ua, self.frame(a, 5, 3), skip=(1,))
        self.assertTrue(self.wait_count(ub, "V", 2))
        ub.send(udp_packet("N", b.id, nack_body(a.id, 5, 3, [0, 1])))
        self.assertTrue(self.wait_count(ub, "V", 3), "held fragment 0 was not re-sent")
        self.settle(SETTLE)
        self.assertEqual(ua.count("N"), 0, "a sender that named no nack got an 'N'")

    def test_fragments_are_kept_500_ms(self):
        (a, b, c), (ua, ub, uc) = self.nack_meeting()
        self.send_frame(ua, self.frame(a, 9, 2))
        self.assertTrue(self.wait_count(ub, "V", 2))
        ub.send(udp_packet("N", b.id, nack_body(a.id, 9, 2, [1])))
        self.assertTrue(self.wait_count(ub, "V", 3), "not re-sent within 500 ms")
        time.sleep(0.7)
        ub.send(udp_packet("N", b.id, nack_body(a.id, 9, 2, [0])))
        self.settle(SETTLE)
        self.assertEqual(ub.count("V"), 3, "a fragment was re-sent after 500 ms")
