"""Section 16: attendance ("attendance")."""

import csv
import glob
import io
import os
import re
import time

from conformance_support import TIMEOUT, ConformanceCase

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Attendance(ConformanceCase):

    def test_rows_per_stay_for_the_host(self):
        before = time.time()
        host = self.create("Host", features=["attendance"])
        ann = self.join(host.code, "Ann")
        host.recv("user_joined")
        ann.send({"type": "attendance_request"})
        self.expect_error(ann, "not_host")
        ann.send({"type": "leave"})
        host.recv("user_left", client_id=ann.id)
        bob = self.join(host.code, "Bob")
        host.recv("user_joined")
        host.send({"type": "attendance_request"})
        a = host.recv("attendance")
        self.assertEqual(a["meeting_code"], host.code)
        self.assertGreaterEqual(a["started_at"], before - 5)
        rows = a["rows"]
        self.assertEqual([r["username"] for r in rows], ["Host", "Ann", "Bob"])
        self.assertEqual([r["client_id"] for r in rows], [host.id, ann.id, bob.id])
        self.assertEqual((rows[1]["reason"], rows[0]["reason"], rows[0]["left_at"]),
                         ("left", None, None))
        self.assertLessEqual(rows[1]["joined_at"], rows[1]["left_at"])
        self.assertLessEqual(a["started_at"], rows[0]["joined_at"])

    def test_a_resume_continues_the_row(self):
        host = self.create("Host", features=["attendance"])
        ann = self.join(host.code, "Ann", features=["resume"])
        host.recv("user_joined")
        ann.close()  # dropped, not left
        host.recv("user_left", client_id=ann.id)
        again = self.conn("again")
        again.send({"type": "resume_meeting", "version": 1,
                    "resume_token": ann.reply["resume_token"], "features": ["resume"]})
        self.assertTrue(again.recv().get("resumed"))
        host.send({"type": "attendance_request"})
        rows = host.recv("attendance")["rows"]
        self.assertEqual(len(rows), 2, rows)
        self.assertEqual((rows[1]["client_id"], rows[1]["left_at"], rows[1]["reason"]),
                         (ann.id, None, None))

    def test_the_csv_is_written_when_the_meeting_ends(self):
        host = self.create("Host, \"the\" teacher", features=["attendance"])
        ann = self.join(host.code, "=Ann")
        host.recv("user_joined")
        ann.send({"type": "leave"})
        host.recv("user_left")
        pattern = os.path.join(self.server.log_dir, "attendance", f"{host.code}-*.csv")
        self.assertEqual(glob.glob(pattern), [], "no CSV while the meeting goes on")
        host.send({"type": "leave"})
        deadline = time.monotonic() + TIMEOUT
        while not glob.glob(pattern) and time.monotonic() < deadline:
            time.sleep(0.05)
        (path,) = glob.glob(pattern)
        self.assertRegex(os.path.basename(path),
                         rf"^{host.code}-\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.csv$")
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(io.StringIO(f.read())))
        self.assertEqual(rows[0], ["username", "client_id", "joined_at", "left_at", "reason"])
        self.assertEqual(rows[1][:2], ["Host, \"the\" teacher", host.id])
        self.assertEqual(rows[2][:2], ["'=Ann", ann.id], "a formula-like name is defused")
        for r in rows[1:]:
            self.assertRegex(r[2], ISO)
            self.assertRegex(r[3], ISO)
            self.assertEqual(r[4], "left")
