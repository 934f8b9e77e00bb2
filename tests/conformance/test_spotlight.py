"""Section 17: spotlight ("spotlight")."""

from conformance_support import ConformanceCase

SPOT = ["spotlight"]


class Spotlight(ConformanceCase):

    def test_set_clear_and_joiners(self):
        host = self.create("Host", features=SPOT)
        ann = self.join(host.code, "Ann", features=SPOT)
        host.recv("user_joined")
        self.assertIsNone(ann.reply["spotlight"])
        host.send({"type": "spotlight", "client_id": ann.id})
        for c in (host, ann):
            got = c.recv("spotlight_changed")
            self.assertEqual((got["type"], got["client_id"]), ("spotlight_changed", ann.id))
        bob = self.join(host.code, "Bob", features=SPOT)
        self.assertEqual(bob.reply["spotlight"], ann.id)
        host.send({"type": "spotlight", "client_id": None})
        for c in (host, ann, bob):
            self.assertIsNone(c.recv("spotlight_changed")["client_id"])

    def test_only_the_host_and_only_someone_here(self):
        host = self.create("Host", features=SPOT)
        ann = self.join(host.code, "Ann", features=SPOT)
        host.recv("user_joined")
        ann.send({"type": "spotlight", "client_id": ann.id})
        self.expect_error(ann, "not_host")
        host.send({"type": "spotlight", "client_id": "c999999"})
        self.expect_error(host, "no_such_participant")
        host.send({"type": "spotlight", "client_id": 7})
        self.expect_error(host, "bad_request")
        self.assert_kept(host)

    def test_the_spotlighted_one_leaving_clears_it(self):
        host = self.create("Host", features=SPOT)
        ann = self.join(host.code, "Ann", features=SPOT)
        host.recv("user_joined")
        host.send({"type": "spotlight", "client_id": ann.id})
        host.recv("spotlight_changed", client_id=ann.id)
        ann.close()
        host.recv("user_left", client_id=ann.id)
        self.assertIsNone(host.recv("spotlight_changed")["client_id"])

    def test_a_version_1_client_hears_nothing(self):
        host = self.create("Host", features=SPOT)
        old = self.join(host.code, "Old")
        host.recv("user_joined")
        self.assertNotIn("spotlight", old.reply)
        host.send({"type": "spotlight", "client_id": old.id})
        host.recv("spotlight_changed")
        self.settle()
        self.assert_none(old, "spotlight_changed")
