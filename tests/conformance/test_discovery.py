"""Section 18: meeting titles, listing and discovery ("discovery").

Probes go to 127.0.0.1 (any address may be probed); a second test sends
a real broadcast inside a network namespace of its own, where the system
lets an unprivileged user make one (`unshare -rn`), and is skipped with
the reason where it does not.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import unittest

from conformance_support import TIMEOUT, ConformanceCase, Server, server_binary

PROBE = b"D\x00\x00" + b"lanmeet?".ljust(256, b"\x00")


def answer_of(data):
    """The JSON body of a discovery answer."""
    assert data[:3] == b"D\x00\x00", data[:16]
    return json.loads(data[3:].decode("utf-8"))


class Discovery(ConformanceCase):
    """A server of its own: answers are limited per source address, and
    every probe here comes from 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--name", "Conformance lab")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        time.sleep(1.05)  # a fresh second of answers for 127.0.0.1
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(TIMEOUT)
        self.addCleanup(self.sock.close)

    def probe(self, data=PROBE):
        self.sock.sendto(data, ("127.0.0.1", self.server.udp_port))

    def answers(self, wait=0.5):
        got = []
        self.sock.settimeout(wait)
        try:
            while True:
                got.append(self.sock.recv(65536))
        except socket.timeout:
            return got

    def test_title_in_the_join_reply(self):
        h = self.create("Host", title="CS101 lab", features=["discovery"])
        self.assertEqual(h.reply["title"], "CS101 lab")
        j = self.join(h.code, "Ann", features=["discovery"])
        self.assertEqual(j.reply["title"], "CS101 lab")
        old = self.join(h.code, "Old")
        self.assertNotIn("title", old.reply, "a version 1 client gets no title")
        plain = self.create("Other", features=["discovery"])
        self.assertIn("title", plain.reply)
        self.assertIsNone(plain.reply["title"])
        for bad in ("", "x" * 81, 5):
            c, r = self.handshake({"type": "create_meeting", "version": 1, "username": "B",
                                   "title": bad}, "bad")
            self.expect_handshake_error(c, r, "bad_request")
        c, r = self.handshake({"type": "create_meeting", "version": 1, "username": "B",
                               "listed": "yes"}, "bad")
        self.expect_handshake_error(c, r, "bad_request")

    def test_a_probe_lists_listed_meetings_only(self):
        listed = self.create("Host", title="CS101 lab", listed=True, password="pw")
        self.join(listed.code, "Ann", password="pw")
        hidden = self.create("Other", title="Not listed")
        untitled = self.create("Third", listed=True)
        self.probe()
        (data,) = self.answers()
        self.assertLessEqual(len(data), 1400)
        a = answer_of(data)
        self.assertEqual((a["name"], a["version"], a["tcp_port"], a["udp_port"]),
                         ("Conformance lab", 1, self.server.tcp_port, self.server.udp_port))
        codes = {m["meeting_code"]: m for m in a["meetings"]}
        self.assertNotIn(hidden.code, codes)
        self.assertEqual(codes[listed.code], {"meeting_code": listed.code, "title": "CS101 lab",
                                              "participants": 2, "password": True,
                                              "locked": False})
        self.assertIsNone(codes[untitled.code]["title"])
        listed.send({"type": "lock_meeting", "locked": True})
        listed.recv("meeting_locked")
        time.sleep(1.05)
        self.probe()
        (data,) = self.answers()
        locked = [m for m in answer_of(data)["meetings"] if m["meeting_code"] == listed.code]
        self.assertTrue(locked[0]["locked"])

    def test_short_and_wrong_probes_get_no_answer(self):
        self.probe(PROBE[:-1])                     # body of 255 bytes
        self.probe(b"D\x00\x00lanmeet?")           # not padded
        self.probe(b"D\x00\x01x" + PROBE[3:])      # an id
        self.probe(b"D\x00\x00" + b"other???".ljust(256, b"\x00"))
        self.assertEqual(self.answers(), [])

    def test_five_answers_a_second_per_source_address(self):
        for _ in range(12):
            self.probe()
        self.assertEqual(len(self.answers(0.6)), 5)
        # Another port of the same address shares the limit.
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(("127.0.0.1", 0))
        other.settimeout(0.4)
        self.addCleanup(other.close)
        other.sendto(PROBE, ("127.0.0.1", self.server.udp_port))
        with self.assertRaises(socket.timeout):
            other.recv(65536)
        time.sleep(1.05)
        self.probe()
        self.assertEqual(len(self.answers()), 1, "a second later it answers again")

    def test_the_answer_fits_one_datagram(self):
        for i in range(40):
            self.create(f"H{i}", title=f"Meeting number {i} with a long title to fill it",
                        listed=True)
        self.probe()
        (data,) = self.answers()
        self.assertLessEqual(len(data), 1400)
        meetings = answer_of(data)["meetings"]
        self.assertGreater(len(meetings), 0)
        self.assertLess(len(meetings), 40, "fewer meetings listed so that it fits")


NAMESPACE_SCRIPT = textwrap.dedent("""
    import json, socket, subprocess, sys, time
    binary = sys.argv[1]
    server = subprocess.Popen([binary, "--bind", "0.0.0.0", "--port", "0", "--name", "ns",
                               "--log-dir", sys.argv[2]], stdout=subprocess.PIPE)
    line = server.stdout.readline().decode()
    udp = int(line.split("udp=")[1].split(":")[1].split()[0])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("0.0.0.0", 0))
    s.settimeout(3)
    s.sendto(b"D\\x00\\x00" + b"lanmeet?".ljust(256, b"\\x00"), ("10.99.0.255", udp))
    data, addr = s.recvfrom(65536)
    print(json.dumps({"from": addr[0], "answer": json.loads(data[3:].decode())}))
    server.kill()
""")


class DiscoveryBroadcast(unittest.TestCase):
    """A real broadcast: inside a new network namespace, an address with a
    broadcast address on the loopback interface, the probe sent to that
    broadcast address with SO_BROADCAST."""

    def test_a_broadcast_probe_is_answered(self):
        if not shutil.which("unshare") or not shutil.which("ip"):
            self.skipTest("needs unshare and ip (util-linux, iproute2)")
        setup = "ip link set lo up && ip addr add 10.99.0.1/24 brd 10.99.0.255 dev lo"
        check = subprocess.run(["unshare", "-rn", "sh", "-c", setup],
                               capture_output=True, timeout=10)
        if check.returncode != 0:
            self.skipTest("this system does not let an unprivileged user make a network "
                          f"namespace: {check.stderr.decode(errors='replace').strip()}")
        log_dir = os.path.join("/tmp", f"lanmeet-ns-{os.getpid()}")
        os.makedirs(log_dir, exist_ok=True)
        self.addCleanup(shutil.rmtree, log_dir, True)
        run = subprocess.run(
            ["unshare", "-rn", "sh", "-c",
             f'{setup} && exec "$0" -c "$1" "$2" "$3"',
             sys.executable, NAMESPACE_SCRIPT, server_binary(), log_dir],
            capture_output=True, timeout=30)
        self.assertEqual(run.returncode, 0, run.stderr.decode(errors="replace"))
        got = json.loads(run.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(got["answer"]["name"], "ns")
        self.assertEqual(got["from"], "10.99.0.1")
