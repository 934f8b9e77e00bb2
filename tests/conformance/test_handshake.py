"""Section 2 (handshake) and the handshake half of section 1 (framing errors)."""

import json
import re
import struct

from conformance_support import CODE_ALPHABET, ConformanceCase, frame

PARTICIPANT_FIELDS = ("client_id", "username", "is_host", "video", "muted",
                      "mic_locked", "hand_raised", "raised_at")


class ReplyShape(ConformanceCase):

    def check_reply_fields(self, r, is_host):
        self.assertRegex(r["meeting_code"], f"^[{CODE_ALPHABET}]{{6}}$")
        self.assertIsInstance(r["client_id"], str)
        self.assertTrue(r["client_id"])
        self.assertIs(r["is_host"], is_host)
        self.assertEqual(r["udp_port"], self.server.udp_port,
                         "udp_port must be the server's UDP port")
        self.assertRegex(r["udp_token"], r"^[0-9a-fA-F]{32}$")
        self.assertIsInstance(r["max_datagram"], int)
        self.assertNotIsInstance(r["max_datagram"], bool)
        self.assertIn("presenter", r)
        self.assertIsInstance(r["locked"], bool)
        self.assertIsInstance(r["participants"], list)
        self.assertIsInstance(r["chat_history"], list)
        self.assertIsInstance(r["files"], list)

    def test_create_reply_fields(self):
        host = self.create("Alice")
        r = host.reply
        self.check_reply_fields(r, True)
        self.assertEqual(r["max_datagram"], 1400, "default max_datagram is 1400")
        self.assertEqual(r["participants"], [])
        self.assertIsNone(r["presenter"])
        self.assertIs(r["locked"], False)
        self.assertEqual(r["chat_history"], [])
        self.assertEqual(r["files"], [])

    def test_join_reply_fields_and_user_joined(self):
        host = self.create("Alice")
        bob = self.join(host.code, "Bob")
        r = bob.reply
        self.check_reply_fields(r, False)
        self.assertEqual(r["meeting_code"], host.code)
        self.assertNotEqual(r["client_id"], host.id)
        self.assertNotEqual(r["udp_token"], host.reply["udp_token"])
        self.assertEqual(len(r["participants"]), 1, "participants lists the others only")
        p = r["participants"][0]
        for f in PARTICIPANT_FIELDS:
            self.assertIn(f, p, f"participant entry lacks {f}: {p}")
        self.assertEqual(p["client_id"], host.id)
        self.assertEqual(p["username"], "Alice")
        self.assertIs(p["is_host"], True)
        self.assertIs(p["video"], False)
        self.assertIs(p["muted"], False)
        self.assertIs(p["mic_locked"], False)
        self.assertIs(p["hand_raised"], False)
        self.assertIsNone(p["raised_at"])
        uj = host.recv("user_joined")
        self.assertEqual(uj["client_id"], bob.id)
        self.assertEqual(uj["username"], "Bob")
        # A third joiner sees both others, and both get user_joined.
        carol = self.join(host.code, "Carol")
        ids = sorted(p["client_id"] for p in carol.reply["participants"])
        self.assertEqual(ids, sorted([host.id, bob.id]))
        host.recv("user_joined", client_id=carol.id, username="Carol")
        bob.recv("user_joined", client_id=carol.id, username="Carol")
        self.settle(0.2)
        self.assert_none(carol, "user_joined")

    def test_code_matched_ignoring_case(self):
        host = self.create("Alice")
        bob = self.join(host.code.lower(), "Bob")
        self.assertEqual(bob.reply["meeting_code"], host.code)

    def test_ids_unique_across_server(self):
        ids = set()
        tokens = set()
        codes = set()
        for i in range(4):
            h = self.create(f"H{i}")
            j = self.join(h.code, f"J{i}")
            ids.update([h.id, j.id])
            tokens.update([h.reply["udp_token"], j.reply["udp_token"]])
            codes.add(h.code)
        self.assertEqual(len(ids), 8, "client_id values are unique across the server")
        self.assertEqual(len(tokens), 8)
        self.assertEqual(len(codes), 4)

    def test_client_id_not_reused_after_leave(self):
        h = self.create("Alice")
        seen = {h.id}
        for i in range(3):
            j = self.join(h.code, f"Temp{i}")
            self.assertNotIn(j.id, seen, "a client_id was reused")
            seen.add(j.id)
            j.send({"type": "leave"})
            h.recv("user_left", client_id=j.id)

    def test_username_trimmed_and_unicode_length(self):
        h = self.create("  Alice  ")
        # 32 characters that are 2 bytes each in UTF-8: counted as 32.
        name = "\u00e9" * 32
        j = self.join(h.code, name)
        uj = h.recv("user_joined", client_id=j.id)
        self.assertEqual(uj["username"], name)
        # "Alice" after trimming is taken (names compare ignoring case).
        c, r = self.try_join(h.code, "alice")
        self.expect_handshake_error(c, r, "name_taken")
        # 32 characters after trimming is allowed even with padding around.
        j2 = self.join(h.code, "   " + "x" * 32 + "   ")
        self.assertTrue(j2.id)
        # Ambiguity: the contract does not say whether the stored name is the
        # trimmed one; the reasonable reading (trimmed) is accepted, and so is
        # the raw one.
        entry = [p for p in j2.reply["participants"] if p["client_id"] == h.id][0]
        self.assertIn(entry["username"], ("Alice", "  Alice  "))


class HandshakeErrors(ConformanceCase):

    def test_version_mismatch(self):
        c, r = self.handshake({"type": "create_meeting", "version": 2, "username": "A"})
        self.expect_handshake_error(c, r, "version_mismatch")
        h = self.create("Alice")
        c, r = self.handshake({"type": "join_meeting", "version": 99, "username": "B",
                               "meeting_code": h.code})
        self.expect_handshake_error(c, r, "version_mismatch")

    def test_bad_request_variants_close(self):
        h = self.create("Alice")
        bad_usernames = ["", "   ", "x" * 33, "bad\nname", "bad\x07name", "bad\x7fname",
                         "bad\u0085name", "\x00", 5, None]
        for u in bad_usernames:
            with self.subTest(username=u):
                c, r = self.handshake({"type": "join_meeting", "version": 1,
                                       "username": u, "meeting_code": h.code})
                self.expect_handshake_error(c, r, "bad_request")
        for u in ["", "x" * 33, "a\tb"]:
            with self.subTest(create_username=u):
                c, r = self.handshake({"type": "create_meeting", "version": 1, "username": u})
                self.expect_handshake_error(c, r, "bad_request")
        cases = {
            "missing username": {"type": "create_meeting", "version": 1},
            "missing code": {"type": "join_meeting", "version": 1, "username": "B"},
            "version as string": {"type": "create_meeting", "version": "1", "username": "B"},
            "code not a string": {"type": "join_meeting", "version": 1, "username": "B",
                                  "meeting_code": 123456},
            "password not a string": {"type": "create_meeting", "version": 1,
                                      "username": "B", "password": 5},
            "ping first": {"type": "ping"},
            "chat first": {"type": "chat", "message": "hi"},
            "leave first": {"type": "leave"},
            "unknown type": {"type": "no_such_message_type"},
            "type not a string": {"type": 7},
            "no type": {"version": 1, "username": "B"},
        }
        for label, msg in cases.items():
            with self.subTest(label):
                c, r = self.handshake(msg)
                self.expect_handshake_error(c, r, "bad_request")

    def test_bad_request_non_json_and_non_object(self):
        for label, body in {
            "not json": b"hello there",
            "json array": b"[1,2,3]",
            "json string": b"\"create_meeting\"",
            "empty frame": b"",
            "invalid utf-8": b"{\"type\":\"create_meeting\",\"username\":\"\xff\xfe\"}",
            "truncated json": b"{\"type\":\"create_meeting\",",
        }.items():
            with self.subTest(label):
                c = self.conn()
                c.send_raw(struct.pack(">I", len(body)) + body)
                r = c.recv()
                self.expect_handshake_error(c, r, "bad_request")

    def test_version_missing(self):
        # Ambiguity: a missing `version` is a missing field (bad_request); a
        # server could also read it as a version mismatch. Both accepted.
        c, r = self.handshake({"type": "create_meeting", "username": "A"})
        self.assertEqual(r.get("type"), "error")
        self.assertIn(r.get("code"), ("bad_request", "version_mismatch"))
        self.assertTrue(c.wait_closed())

    def test_invalid_code(self):
        c, r = self.handshake({"type": "join_meeting", "version": 1, "username": "B",
                               "meeting_code": "ZZZZZZ"})
        # "ZZZZZZ" is well formed; make sure it is not a live meeting by
        # construction is impossible, but 32^6 makes a clash negligible.
        self.expect_handshake_error(c, r, "invalid_code")
        # Malformed codes. Ambiguity: a code of the wrong length or with
        # letters outside the alphabet is both "a value outside its range"
        # (bad_request) and an invalid code; both are accepted.
        for code in ["ABC", "ABCDEFG", "ABCDE1", ""]:
            with self.subTest(code=code):
                c, r = self.handshake({"type": "join_meeting", "version": 1,
                                       "username": "B", "meeting_code": code})
                self.assertEqual(r.get("type"), "error", r)
                self.assertIn(r.get("code"), ("invalid_code", "bad_request"), r)
                self.assertTrue(c.wait_closed())

    def test_meeting_deleted_when_last_leaves(self):
        h = self.create("Alice")
        code = h.code
        h.send({"type": "leave"})
        self.assertTrue(h.wait_closed(), "after leave the server closes the connection")
        c, r = self.try_join(code, "Bob")
        self.expect_handshake_error(c, r, "invalid_code")

    def test_meeting_deleted_when_last_disconnects(self):
        h = self.create("Alice")
        code = h.code
        h.close()
        self.settle(0.3)
        c, r = self.try_join(code, "Bob")
        self.expect_handshake_error(c, r, "invalid_code")

    def test_meeting_locked(self):
        h = self.create("Alice")
        h.send({"type": "lock_meeting", "locked": True})
        h.recv("meeting_locked", locked=True)
        c, r = self.try_join(h.code, "Bob")
        self.expect_handshake_error(c, r, "meeting_locked")
        h.send({"type": "lock_meeting", "locked": False})
        h.recv("meeting_locked", locked=False)
        self.join(h.code, "Bob")

    def test_passwords(self):
        h = self.create("Alice", password="s3cret")
        c, r = self.try_join(h.code, "Bob", password="wrong")
        self.expect_handshake_error(c, r, "wrong_password")
        # Ambiguity: a missing password on a protected meeting is most
        # naturally wrong_password; bad_request (missing required field) is
        # also accepted.
        c, r = self.try_join(h.code, "Bob")
        self.assertEqual(r.get("type"), "error", r)
        self.assertIn(r.get("code"), ("wrong_password", "bad_request"), r)
        self.assertTrue(c.wait_closed())
        b = self.join(h.code, "Bob", password="s3cret")
        self.assertIs(b.reply["is_host"], False)

    def test_password_ignored_when_meeting_has_none(self):
        # Ambiguity: the contract does not say what a password on a join to
        # an open meeting does. Joining successfully or wrong_password are
        # both accepted.
        h = self.create("Alice")
        c, r = self.try_join(h.code, "Bob", password="anything")
        self.assertIn(r.get("type"), ("join_success", "error"), r)
        if r.get("type") == "error":
            self.assertEqual(r.get("code"), "wrong_password", r)

    def test_name_taken(self):
        h = self.create("Alice")
        self.join(h.code, "Bob")
        for name in ["Alice", "ALICE", "bob", " Bob "]:
            with self.subTest(name=name):
                c, r = self.try_join(h.code, name)
                self.expect_handshake_error(c, r, "name_taken")
        # The same name in another meeting is fine.
        h2 = self.create("Alice")
        self.join(h2.code, "bob")

    def test_name_taken_ignoring_case_beyond_ascii(self):
        # "unique in the meeting ignoring case": Unicode letters have case too.
        h = self.create("\u00c9mile")
        c, r = self.try_join(h.code, "\u00e9mile")
        self.expect_handshake_error(c, r, "name_taken")
        h2 = self.create("\u0394\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2")
        c, r = self.try_join(h2.code, "\u03b4\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2")
        self.expect_handshake_error(c, r, "name_taken")

    def test_name_free_again_after_leave(self):
        h = self.create("Alice")
        b = self.join(h.code, "Bob")
        b.send({"type": "leave"})
        h.recv("user_left", client_id=b.id)
        self.join(h.code, "bob")

    def test_second_handshake_is_bad_request_and_kept(self):
        h = self.create("Alice")
        h.send({"type": "create_meeting", "version": 1, "username": "Again"})
        self.expect_error(h, "bad_request")
        self.assert_kept(h)
        h.send({"type": "join_meeting", "version": 1, "username": "Again",
                "meeting_code": h.code})
        self.expect_error(h, "bad_request")
        self.assert_kept(h)

    def test_too_large_during_handshake(self):
        c = self.conn()
        c.send_raw(struct.pack(">I", 4 * 1024 * 1024 + 1))
        r = c.recv()
        self.assertEqual(r.get("type"), "error", r)
        self.assertEqual(r.get("code"), "too_large", r)
        self.assertTrue(c.wait_closed(), "server must close after too_large")

    def test_handshake_frame_at_most_64_kib(self):
        # Clarified in the additions: the first frame of a connection is at
        # most 64 KiB; a longer length gets too_large and the connection is
        # closed without the body being read.
        base = {"type": "create_meeting", "version": 1, "username": "Pad", "pad": ""}
        overhead = len(json.dumps(base).encode())
        exact = dict(base, pad="x" * (64 * 1024 - overhead))
        body = json.dumps(exact).encode()
        self.assertEqual(len(body), 64 * 1024)
        c, r = self.handshake(body)
        self.assertEqual(r.get("type"), "meeting_created", r)
        c = self.conn("big")
        c.send_raw(struct.pack(">I", 64 * 1024 + 1))
        r = c.recv()
        self.assertEqual((r.get("type"), r.get("code")), ("error", "too_large"), r)
        self.assertTrue(c.wait_closed(), "server must close after too_large")
