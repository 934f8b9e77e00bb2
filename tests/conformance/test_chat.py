"""Section 4: chat, private messages, history."""

import time

from conformance_support import ConformanceCase, frame


class Chat(ConformanceCase):

    def test_public_chat_to_everyone_else(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        before = time.time()
        b.send({"type": "chat", "message": "Hello"})
        for r in (a, c):
            m = r.recv("chat")
            self.assertEqual(m["client_id"], b.id)
            self.assertEqual(m["username"], "Bob")
            self.assertEqual(m["message"], "Hello")
            self.assertIs(m["private"], False)
            self.assertIsInstance(m["timestamp"], (int, float))
            self.assertLess(abs(m["timestamp"] - before), 60,
                            "timestamp is the server's unix time")
        b.ping()
        self.assert_none(b, "chat")  # the sender shows its own copy

    def test_server_stamps_identity(self):
        a, b = self.meeting("Alice", "Bob")
        b.send({"type": "chat", "message": "spoof", "client_id": a.id,
                "username": "Alice", "timestamp": 1.0, "private": True})
        m = a.recv("chat")
        self.assertEqual(m["client_id"], b.id)
        self.assertEqual(m["username"], "Bob")
        self.assertNotEqual(m["timestamp"], 1.0)
        self.assertIs(m["private"], False)

    def test_private_chat(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        a.send({"type": "chat", "message": "psst", "to": c.id})
        m = c.recv("chat")
        self.assertEqual(m["client_id"], a.id)
        self.assertEqual(m["username"], "Alice")
        self.assertEqual(m["message"], "psst")
        self.assertIs(m["private"], True)
        self.assertIsInstance(m["timestamp"], (int, float))
        a.ping()
        self.settle(0.2)
        self.assert_none(b, "chat")
        self.assert_none(a, "chat")
        # Private messages are not kept in the history.
        a.send({"type": "chat", "message": "public one"})
        b.recv("chat", message="public one")
        d = self.join(a.code, "Dave")
        msgs = [h["message"] for h in d.reply["chat_history"]]
        self.assertEqual(msgs, ["public one"])

    def test_private_to_unknown_or_other_meeting(self):
        a, b = self.meeting("Alice", "Bob")
        x = self.create("Xavier")
        for target in ("c-does-not-exist", x.id):
            with self.subTest(to=target):
                a.send({"type": "chat", "message": "hi", "to": target})
                self.expect_error(a, "no_such_participant")
                self.assert_kept(a)
        self.settle(0.2)
        self.assert_none(x, "chat")
        self.assert_none(b, "chat")

    def test_message_length_limits(self):
        a, b = self.meeting("Alice", "Bob")
        # 4000 characters is fine, counted in Unicode scalar values.
        long_ascii = "x" * 4000
        long_wide = "\U0001F600" * 4000  # 4 bytes each in UTF-8
        for msg in (long_ascii, long_wide):
            a.send({"type": "chat", "message": msg})
            m = b.recv("chat")
            self.assertEqual(m["message"], msg)
        for msg in ("x" * 4001, "\u00e9" * 4001, ""):
            with self.subTest(length=len(msg)):
                a.send({"type": "chat", "message": msg})
                self.expect_error(a, "bad_request")
                self.assert_kept(a)
        self.settle(0.2)
        self.assert_none(b, "chat")

    def test_wrong_types(self):
        a, b = self.meeting("Alice", "Bob")
        for msg in ({"type": "chat", "message": 12},
                    {"type": "chat", "message": ["a"]},
                    {"type": "chat", "message": "hi", "to": 7},
                    {"type": "chat"}):
            with self.subTest(msg=msg):
                a.send(msg)
                self.expect_error(a, "bad_request")
                self.assert_kept(a)

    def test_history_last_100_oldest_first(self):
        a, b = self.meeting("Alice", "Bob")
        for i in range(104):
            a.send({"type": "chat", "message": f"m{i}"})
        b.recv("chat", message="m103")
        b.send({"type": "chat", "message": "m104"})
        a.recv("chat", message="m104")
        c = self.join(a.code, "Carol")
        hist = c.reply["chat_history"]
        self.assertEqual(len(hist), 100)
        self.assertEqual([h["message"] for h in hist], [f"m{i}" for i in range(5, 105)])
        for i, h in zip(range(5, 105), hist):
            self.assertEqual(h["client_id"], b.id if i == 104 else a.id)
            self.assertEqual(h["username"], "Bob" if i == 104 else "Alice")
            self.assertIsInstance(h["timestamp"], (int, float))
            if "private" in h:
                self.assertIs(h["private"], False)
        stamps = [h["timestamp"] for h in hist]
        self.assertEqual(stamps, sorted(stamps))

    def test_history_empty_for_new_meeting_and_survives_leaver(self):
        a, b = self.meeting("Alice", "Bob")
        b.send({"type": "chat", "message": "from bob"})
        a.recv("chat")
        b.send({"type": "leave"})
        a.recv("user_left", client_id=b.id)
        c = self.join(a.code, "Carol")
        hist = c.reply["chat_history"]
        self.assertEqual([h["message"] for h in hist], ["from bob"])
        self.assertEqual(hist[0]["username"], "Bob")

    def test_large_history_in_join_reply(self):
        # 100 messages of 4000 four-byte characters: a join reply of 1.6 MB
        # or more (server frames may exceed 4 MiB, up to 8 MiB).
        a, b = self.meeting("Alice", "Bob")
        big = "\U0001F600" * 4000
        for i in range(100):
            a.send({"type": "chat", "message": f"{i:03d}" + big[3:]})
        b.recv("chat", pred=lambda m: m["message"].startswith("099"), timeout=15)
        c = self.join(a.code, "Carol")
        hist = c.reply["chat_history"]
        self.assertEqual(len(hist), 100)
        self.assertEqual(hist[0]["message"], "000" + big[3:])
        self.assertEqual(hist[-1]["message"], "099" + big[3:])

    def test_delivered_in_order(self):
        # Section 7: everything but screen frames is delivered in order.
        # 190 lines: within the burst the chat rate limit allows.
        a, b = self.meeting("Alice", "Bob")
        for i in range(190):
            a.send({"type": "chat", "message": f"n{i}"})
            if i % 50 == 0:
                a.send({"type": "emoji_reaction", "emoji": str(i % 10)})
        b.recv("chat", message="n189", timeout=10)
        got = [m["message"] for m in b.inbox if m["type"] == "chat"] + ["n189"]
        self.assertEqual(got, [f"n{i}" for i in range(190)])
        a.ping()
        self.assert_none(a, "error")


class ChatRateLimit(ConformanceCase):
    """Clarified in the additions: more than 50 messages or 256 KiB a second
    (bursts of up to 200 messages or 2 MiB), public and private together,
    gets error{code:"rate_limited"} for each message over the limit, which
    is not delivered."""

    def flood(self, sender, messages):
        """Sends all at once; returns (delivered to Bob, rate_limited count,
        seconds the server may have had to refill)."""
        start = time.monotonic()
        sender.send_raw(b"".join(frame(m) for m in messages))
        sender.ping(timeout=15)
        elapsed = time.monotonic() - start
        return elapsed, len(sender.take_all("error", code="rate_limited"))

    def test_message_count_limit(self):
        a, b, c = self.meeting("Alice", "Bob", "Carol")
        n = 260
        msgs = [{"type": "chat", "message": f"r{i}"} if i % 2 else
                {"type": "chat", "message": f"r{i}", "to": b.id} for i in range(n)]
        elapsed, limited = self.flood(a, msgs)
        b.ping(timeout=15)
        got = [m["message"] for m in b.take_all("chat")]
        self.assertEqual(len(got) + limited, n,
                         f"{len(got)} delivered and {limited} refused of {n}")
        self.assertGreaterEqual(len(got), 200, "a burst of 200 is allowed")
        self.assertLessEqual(len(got), 200 + 50 * elapsed + 1,
                             f"{len(got)} delivered in {elapsed:.2f} s")
        self.assertEqual(got, sorted(got, key=lambda t: int(t[1:])), "in order")
        self.assertEqual(len(a.find("error")), 0, a.summary())
        # Public ones not delivered are not in the history either.
        d = self.join(a.code, "Dave")
        kept = {h["message"] for h in d.reply["chat_history"]}
        self.assertTrue(kept <= set(got))
        # Others are not limited by Alice's flood, and Alice's budget comes
        # back with time.
        c.send({"type": "chat", "message": "from carol"})
        b.recv("chat", message="from carol")
        time.sleep(0.1)
        a.send({"type": "chat", "message": "again"})
        b.recv("chat", message="again")

    def test_byte_limit(self):
        a, b = self.meeting("Alice", "Bob")
        # 4000 four-byte characters: 16 000 bytes, so 2 MiB holds 131.
        n = 150
        big = "\U0001F600" * 3996
        msgs = [{"type": "chat", "message": f"{i:04d}" + big} for i in range(n)]
        elapsed, limited = self.flood(a, msgs)
        b.ping(timeout=15)
        got = b.take_all("chat")
        self.assertEqual(len(got) + limited, n)
        self.assertGreaterEqual(len(got), 131, "a burst of 2 MiB is allowed")
        self.assertLessEqual(len(got), 131 + elapsed * 256 * 1024 / 16000 + 1,
                             f"{len(got)} delivered in {elapsed:.2f} s")
