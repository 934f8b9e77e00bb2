"""Section 15: polls ("polls")."""

import time

from conformance_support import ConformanceCase

POLLS = ["polls"]


def strip(msg):
    """A message without the receive time the support adds."""
    return {k: v for k, v in msg.items() if k != "_at"}


class Polls(ConformanceCase):

    def classroom(self, *names, features=POLLS):
        """The first creates, the others join; all name `features`."""
        host = self.create(names[0], features=features)
        members = [host]
        for n in names[1:]:
            c = self.join(host.code, n, features=features)
            for earlier in members:
                earlier.recv("user_joined", client_id=c.id)
            members.append(c)
        for m in members:
            m.clear()
        return members

    def start(self, host, others, anonymous=False, multiple=False,
              options=("Yes", "No", "Not sure")):
        host.send({"type": "poll_create", "question": "Ready?", "options": list(options),
                   "anonymous": anonymous, "multiple": multiple})
        started = strip(host.recv("poll_started"))
        for o in others:
            self.assertEqual(strip(o.recv("poll_started")), started)
        self.assertIsInstance(started["poll_id"], str)
        self.assertEqual((started["question"], started["options"], started["by"]),
                         ("Ready?", list(options), host.id))
        self.assertEqual((started["anonymous"], started["multiple"]), (anonymous, multiple))
        return started["poll_id"]

    def test_a_poll_from_start_to_results(self):
        host, ann, bob = self.classroom("Host", "Ann", "Bob")
        pid = self.start(host, [ann, bob])
        ann.send({"type": "poll_vote", "poll_id": pid, "choices": [0]})
        up = host.recv("poll_update")
        self.assertEqual((up["poll_id"], up["counts"], up["voters"]), (pid, [1, 0, 0], 1))
        bob.send({"type": "poll_vote", "poll_id": pid, "choices": [2]})
        ann.send({"type": "poll_vote", "poll_id": pid, "choices": [2]})  # changes her vote
        host.recv("poll_update", pred=lambda m: m["counts"] == [0, 0, 2] and m["voters"] == 2)
        self.assert_none(ann, "poll_update")
        self.assert_none(bob, "poll_update")
        host.send({"type": "poll_close", "poll_id": pid})
        for c in (host, ann, bob):
            r = c.recv("poll_results")
            self.assertEqual((r["poll_id"], r["question"], r["options"], r["counts"], r["voters"]),
                             (pid, "Ready?", ["Yes", "No", "Not sure"], [0, 0, 2], 2))
            self.assertEqual(r["votes"], {ann.id: {"username": "Ann", "choices": [2]},
                                          bob.id: {"username": "Bob", "choices": [2]}})
        ann.send({"type": "poll_vote", "poll_id": pid, "choices": [0]})
        self.expect_error(ann, "bad_request")

    def test_anonymous_multiple_choice(self):
        host, ann = self.classroom("Host", "Ann")
        pid = self.start(host, [ann], anonymous=True, multiple=True, options=("a", "b"))
        ann.send({"type": "poll_vote", "poll_id": pid, "choices": [1, 0]})
        host.send({"type": "poll_vote", "poll_id": pid, "choices": [1]})  # the host votes too
        host.recv("poll_update", pred=lambda m: m["counts"] == [1, 2] and m["voters"] == 2)
        host.send({"type": "poll_close", "poll_id": pid})
        r = ann.recv("poll_results")
        self.assertEqual(r["counts"], [1, 2])
        self.assertNotIn("votes", r, "an anonymous poll's results name no voters")

    def test_only_the_host_and_only_one_open_poll(self):
        host, ann = self.classroom("Host", "Ann")
        ann.send({"type": "poll_create", "question": "Q", "options": ["a", "b"],
                  "anonymous": False, "multiple": False})
        self.expect_error(ann, "not_host")
        pid = self.start(host, [ann])
        host.send({"type": "poll_create", "question": "Q2", "options": ["a", "b"],
                   "anonymous": False, "multiple": False})
        self.expect_error(host, "bad_request")
        ann.send({"type": "poll_close", "poll_id": pid})
        self.expect_error(ann, "not_host")
        self.assert_kept(ann)

    def test_bad_polls_and_votes_are_bad_requests(self):
        host, ann = self.classroom("Host", "Ann")
        for bad in [
            {"question": "", "options": ["a", "b"]},
            {"question": "x" * 501, "options": ["a", "b"]},
            {"question": "Q", "options": ["a"]},
            {"question": "Q", "options": [str(i) for i in range(11)]},
            {"question": "Q", "options": ["a", ""]},
            {"question": "Q", "options": ["a", "x" * 201]},
            {"question": "Q", "options": "a,b"},
        ]:
            host.send({"type": "poll_create", "anonymous": False, "multiple": False, **bad})
            self.expect_error(host, "bad_request")
        pid = self.start(host, [ann])
        for choices in ([], [3], [-1], [0, 1], [0, 0], "0", [0.5]):
            ann.send({"type": "poll_vote", "poll_id": pid, "choices": choices})
            self.expect_error(ann, "bad_request")
        ann.send({"type": "poll_vote", "poll_id": "no-such-poll", "choices": [0]})
        self.expect_error(ann, "bad_request")
        self.assert_kept(ann)

    def test_updates_at_most_four_a_second_and_the_latest_always(self):
        names = ["Host"] + [f"S{i}" for i in range(8)]
        host, *students = self.classroom(*names)
        pid = self.start(host, students, options=("a", "b"))
        for s in students:
            s.send({"type": "poll_vote", "poll_id": pid, "choices": [0]})
        for s in students[:4]:
            s.send({"type": "poll_vote", "poll_id": pid, "choices": [1]})
        last = host.recv("poll_update", timeout=3,
                         pred=lambda m: m["counts"] == [4, 4] and m["voters"] == 8)
        self.assertEqual(last["poll_id"], pid)
        self.settle(0.6)
        updates = host.take_all("poll_update")
        self.assertLessEqual(len(updates), 1, "nothing changed after the latest state")

    def test_a_joiner_gets_the_open_poll_and_the_next_host_keeps_it(self):
        host, ann = self.classroom("Host", "Ann")
        self.assertIsNone(ann.reply["poll"], "no open poll: poll is null")
        pid = self.start(host, [ann])
        bob = self.join(host.code, "Bob", features=POLLS)
        self.assertEqual(bob.reply["poll"]["poll_id"], pid)
        self.assertEqual(bob.reply["poll"]["options"], ["Yes", "No", "Not sure"])
        bob.send({"type": "poll_vote", "poll_id": pid, "choices": [1]})
        host.recv("poll_update", pred=lambda m: m["counts"] == [0, 1, 0])
        host.send({"type": "leave"})
        ann.recv("host_changed", client_id=ann.id)
        ann.recv("poll_update", timeout=3, pred=lambda m: m["counts"] == [0, 1, 0])
        ann.send({"type": "poll_close", "poll_id": pid})
        self.assertEqual(bob.recv("poll_results")["counts"], [0, 1, 0])

    def test_a_version_1_client_hears_nothing_of_polls(self):
        host = self.create("Host", features=POLLS)
        old = self.join(host.code, "Old")
        host.recv("user_joined")
        self.assertNotIn("poll", old.reply)
        self.start(host, [])
        self.settle()
        self.assert_none(old, "poll_started")
        time.sleep(0.1)
