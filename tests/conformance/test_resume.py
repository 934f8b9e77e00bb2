"""Additions: feature negotiation, and section 14, resuming after a dropped
connection ("resume")."""

from conformance_support import ConformanceCase


class Features(ConformanceCase):

    def test_version_1_client_sees_no_additions(self):
        (h,) = self.meeting("Host")
        for field in ("features", "resume_token", "resumed"):
            self.assertNotIn(field, h.reply, f"a client naming no features got {field}")
        c = self.join(h.code, "New", features=[])
        self.assertIn("resume", c.reply["features"])
        self.assertNotIn("resume_token", c.reply)
        d = self.join(h.code, "Newer", features=["resume", "no-such-addition"])
        self.assertRegex(d.reply["resume_token"], r"^[0-9a-f]{32}$")
        self.assertNotIn("resumed", d.reply)


class Resume(ConformanceCase):

    def resumer(self, name="Ann"):
        a = self.create(name, features=["resume"])
        b = self.join(a.code, "Bob")
        a.recv("user_joined", client_id=b.id)
        return a, b

    def resume(self, token, name="again"):
        c = self.conn(name)
        c.send({"type": "resume_meeting", "version": 1, "resume_token": token,
                "features": ["resume"]})
        return c, c.recv()

    def test_resume_while_the_old_connection_is_open(self):
        a, b = self.resumer()
        a.send({"type": "raise_hand", "state": True})
        b.recv("participant_hand_state", client_id=a.id)
        c, r = self.resume(a.reply["resume_token"])
        self.assertEqual((r["type"], r.get("resumed")), ("join_success", True), r)
        self.assertEqual(r["client_id"], a.id)
        self.assertIs(r["is_host"], True)
        self.assertNotEqual(r["udp_token"], a.reply["udp_token"])
        self.assertNotEqual(r["resume_token"], a.reply["resume_token"])
        self.assertEqual([p["client_id"] for p in r["participants"]], [b.id])
        self.assertTrue(a.wait_closed(), "the old connection is closed")
        b.ping()
        self.settle()
        self.assert_none(b, "user_left")
        self.assert_none(b, "user_joined")
        # Still the same participant, hand up, to a joiner.
        d = self.join(a.code, "Dave")
        entry = {p["client_id"]: p for p in d.reply["participants"]}[a.id]
        self.assertIs(entry["hand_raised"], True)
        self.assertIs(entry["is_host"], True)
        c.send({"type": "chat", "message": "back"})
        b.recv("chat", message="back", client_id=a.id)

    def test_resume_after_the_server_saw_the_close(self):
        a, b = self.resumer()
        a.close()
        b.recv("user_left", client_id=a.id)
        b.recv("host_changed", client_id=b.id)
        c, r = self.resume(a.reply["resume_token"])
        self.assertEqual((r["type"], r.get("resumed")), ("join_success", True), r)
        self.assertEqual(r["client_id"], a.id)
        self.assertIs(r["is_host"], True, "the host role comes back")
        b.recv("user_joined", client_id=a.id, username="Ann")
        b.recv("host_changed", client_id=a.id)
        c.recv("host_changed", client_id=a.id)

    def test_resume_expired(self):
        a, b = self.resumer()
        a.send({"type": "leave"})
        b.recv("user_left", client_id=a.id)
        for token in (a.reply["resume_token"], "0123456789abcdef" * 2):
            c, r = self.resume(token)
            self.expect_handshake_error(c, r, "resume_expired")
        c, r = self.resume("not a token")
        self.expect_handshake_error(c, r, "bad_request")
