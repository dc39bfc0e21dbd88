"""rspamd as the second spam engine, through the real daemon: a real
rspamd from Debian (scripts/rspamd-trial.sh: its own configuration and
directories, only the normal worker on a free loopback port, no Redis,
network modules off) and a real spamd -L, both started once for this file
and stopped by PID.

Covers: rspamd's GTUBE and the SpamAssassin sample spam are spam, the
sample ham is ham, with headers and the report as for spamd (rules sorted
by name, <scan engine="rspamd"> with one <rule> per symbol, valid against
conf/report.xsd) and the log naming the engine; rspamd sees the envelope
and XFORWARD data and never waits on DNS, not even for the PTR of a
Received header's address when there is no XFORWARD; per-user settings
through Deliver-To (conf/rspamd-settings.conf) with spam_mark_level =
spamd (the engine's own verdict); one transaction with a spamd recipient
and an rspamd recipient; rspamd down, hanging (accepts and never answers) or
answering garbage gives scan_error_action; verdict reuse hits for an
identical message sent again and misses for another user, another engine
and a changed byte.
"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

SPAM = "/usr/share/doc/spamassassin/examples/sample-spam.txt"
HAM = "/usr/share/doc/spamassassin/examples/sample-nonspam.txt"
NS = {"r": "urn:lmtpscan:report:1"}
XSD = os.path.join(h.SOURCE_DIR, "conf", "report.xsd")
START_TIMEOUT = 120.0
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

ENV = {}


def gtube_message(subject="gtube"):
    return h.crlf("From: <a@example.test>\nTo: <b@example.test>\nSubject: %s\n"
                  "Message-ID: <%s@example.test>\n\n%s\n" % (subject, subject, GTUBE))


def rspamd_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            body = b"Subject: ping\r\n\r\nping\r\n"
            s.sendall(b"POST /checkv2 HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            s.settimeout(10)
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def spamd_answers(port):
    r = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(port), "-K"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    return r.returncode == 0


def stop_pid(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def setUpModule():
    if shutil.which("rspamd") is None:
        raise unittest.SkipTest("rspamd is not installed (scripts/install-deps.sh)")
    tmp = tempfile.mkdtemp(prefix="lmtpscan-rspamd-")
    os.chmod(tmp, 0o755)
    ENV["tmp"] = tmp
    ENV["db"] = h.make_test_signatures(tmp)
    # rspamd: its own directory, the shipped per-user settings example
    rdir = os.path.join(tmp, "rspamd")
    port = h.free_port()
    os.makedirs(os.path.join(rdir, "local.d"))
    shutil.copy(os.path.join(h.SOURCE_DIR, "conf", "rspamd-settings.conf"),
                os.path.join(rdir, "local.d", "settings.conf"))
    out = subprocess.run([os.path.join(h.SOURCE_DIR, "scripts", "rspamd-trial.sh"), rdir,
                          str(port)], check=True, timeout=60, stdout=subprocess.PIPE)
    cmd = out.stdout.decode().split()
    ENV["rspamd_log"] = os.path.join(rdir, "log", "rspamd.log")
    ENV["rspamd"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(tmp, "rspamd.stderr"), "wb"))
    ENV["rspamd_port"] = port
    # spamd, as test_scanning starts it
    sport = h.free_port()
    pidfile = os.path.join(tmp, "spamd.pid")
    subprocess.run(["spamd", "-L", "--listen=127.0.0.1:%d" % sport, "-m", "2", "-d",
                    "--pidfile=" + pidfile, "-u", "nobody", "-s",
                    os.path.join(tmp, "spamd.log")],
                   check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ENV["spamd_port"] = sport
    deadline = time.monotonic() + START_TIMEOUT
    while not rspamd_answers(port):
        if ENV["rspamd"].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("rspamd did not answer on port %d" % port)
        time.sleep(0.3)
    while not (os.path.exists(pidfile) and spamd_answers(sport)):
        if time.monotonic() > deadline:
            raise RuntimeError("spamd did not answer within %.0fs" % START_TIMEOUT)
        time.sleep(0.2)
    with open(pidfile) as f:
        ENV["spamd_pid"] = int(f.read().strip())


def tearDownModule():
    if ENV.get("rspamd") is not None:
        stop_pid(ENV["rspamd"].pid)
        ENV["rspamd"].wait(timeout=30)
    if ENV.get("spamd_pid"):
        stop_pid(ENV["spamd_pid"])


def rspamd_log_lines(offset=0):
    """rspamd's task log lines (one per scanned message) after offset."""
    with open(ENV["rspamd_log"], "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return [l for l in text.splitlines() if "rspamd_task_write_log" in l]


def rspamd_log_size():
    return os.path.getsize(ENV["rspamd_log"])


class FakeRspamd:
    """A listener on a free port that accepts and then, per mode, never
    answers ("hang") or answers garbage."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.mode == "garbage":
                try:
                    c.settimeout(5)
                    c.recv(65536)
                    body = b"{\"score\": \"lots\", x: }"
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                              + body)
                    c.close()
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class RspamdCase(h.DaemonTestCase):
    policy = "spam_engine = rspamd\nspam_block_level = 2000\n"
    policies = ""
    rspamd_port = None
    rspamd_timeout = "30s"
    scan = None

    def daemon_args(self):
        overrides = {
            "server": {"scan_timeout": "60s"},
            "clamav": {"enabled": "yes", "database": ENV["db"], "reload_check": "0"},
            "spamd": {"enabled": "yes", "address": "inet:127.0.0.1:%d" % ENV["spamd_port"]},
            "rspamd": {"enabled": "yes",
                       "address": "inet:127.0.0.1:%d" % (self.rspamd_port or ENV["rspamd_port"]),
                       "timeout": self.rspamd_timeout},
        }
        if self.scan:
            overrides["scan"] = self.scan
        return {"overrides": overrides,
                "extra": "[policy default]\n" + self.policy + self.policies}

    def send(self, rcpts, msg, sender="sender@example.test", xforward=None):
        with self.d.lmtp() as c:
            if xforward:
                c.ehlo()
                code, text = c.docmd("XFORWARD", xforward)
                self.assertEqual(code, 250, text)
            return h.lmtp_send(c, sender, rcpts, msg)

    def report(self, mail_id):
        paths = glob.glob(os.path.join(self.d.reports, "*", mail_id + ".xml"))
        self.assertEqual(len(paths), 1, "report of %s: %r" % (mail_id, paths))
        r = subprocess.run(["xmllint", "--noout", "--schema", XSD, paths[0]],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout.decode())
        return ET.parse(paths[0]).getroot()

    def scans(self, root, engine):
        return [s for s in root.findall("r:scan", NS) if s.get("engine") == engine]


def mail_id_of(reply):
    m = re.search(r"\b(%s)\b" % h.MAIL_ID_RE, reply.split(">", 1)[1])
    return m.group(1)


class TestRspamdVerdicts(RspamdCase):
    def test_gtube_is_spam_with_headers_report_and_log(self):
        _, _, data = self.send(["u@example.test"], gtube_message())
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        files = self.d.stored("u@example.test", "Junk")
        self.assertEqual(len(files), 1, self._ctx())
        got = h.read_file(files[0])
        self.assertEqual(h.header_value(got, "X-Spam-Flag"), "YES")
        self.assertEqual(h.header_value(got, "X-Spam-Status"),
                         "Yes, score=15.0 required=5.0 tests=GTUBE")
        self.assertEqual(h.header_value(got, "X-Spam-Level"), "*" * 15)
        root = self.report(mail_id_of(data[0]))
        (scan,) = self.scans(root, "rspamd")
        self.assertEqual(scan.get("user"), "u@example.test")
        self.assertEqual(scan.get("result"), "spam")
        self.assertEqual(scan.get("score"), "15")
        self.assertEqual(scan.get("required"), "15")
        self.assertEqual(scan.get("action"), "reject")
        self.assertRegex(scan.get("version"), r"^rspamd/\d")
        self.assertEqual([r.get("name") for r in scan.findall("r:rule", NS)], ["GTUBE"])
        self.assertEqual(self.scans(root, "spamd"), [])
        self.assertEqual(len(self.scans(root, "clamav")), 1)
        self.assertRegex(self.d.log(), r"rcpt=<u@example\.test> verdict=spam action=junk "
                         r"score=15\.0/15\.0 spam_engine=rspamd virus=-")

    def test_corpus_spam_is_spam(self):
        _, _, data = self.send(["u@example.test"], h.crlf(h.read_file(SPAM)))
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        self.assertEqual(len(self.d.stored("u@example.test", "Junk")), 1, self._ctx())
        (scan,) = self.scans(self.report(mail_id_of(data[0])), "rspamd")
        self.assertEqual(scan.get("result"), "spam")

    def test_ham_is_ham_and_symbols_reach_the_report(self):
        _, _, data = self.send(["u@example.test"], h.crlf(h.read_file(HAM)))
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        files = self.d.stored("u@example.test")
        self.assertEqual(len(files), 1, self._ctx())
        got = h.read_file(files[0])
        self.assertEqual(h.header_values(got, "X-Spam-Flag"), [])
        status = h.header_value(got, "X-Spam-Status")
        self.assertRegex(status, r"^No, score=-?\d+\.\d required=5\.0 tests=")
        tests = h.spam_tests(status)
        self.assertGreater(len(tests), 3, status)
        self.assertEqual(tests, sorted(tests))
        (scan,) = self.scans(self.report(mail_id_of(data[0])), "rspamd")
        self.assertEqual(scan.get("result"), "ham")
        self.assertEqual(scan.get("action"), "no action")
        rules = scan.findall("r:rule", NS)
        # the header's tests= and the report's rules are the same symbols
        self.assertEqual([r.get("name") for r in rules], tests)
        self.assertTrue(all(r.get("score") is not None for r in rules))

    def test_envelope_reaches_rspamd_and_no_dns(self):
        before = rspamd_log_size()
        _, _, data = self.send(["u@example.test", "v@example.test"], h.crlf(h.read_file(HAM)),
                               xforward="ADDR=192.0.2.7 NAME=mx.example.net "
                                        "HELO=mx.example.net IDENT=QID4711")
        self.assertEqual(len(data), 2)
        lines = rspamd_log_lines(before)
        self.assertEqual(len(lines), 2, lines)  # one request per user
        for line in lines:
            self.assertIn("qid: <QID4711>", line)
            self.assertIn("ip: 192.0.2.7", line)
            self.assertIn("from: <sender@example.test>", line)
            self.assertIn("dns req: 0", line)
        rcpts = sorted(re.search(r"rcpts: <([^>]*)>", l).group(1) for l in lines)
        self.assertEqual(rcpts, ["u@example.test", "v@example.test"])

    def test_no_dns_for_the_received_address_without_xforward(self):
        # No XFORWARD, so no IP request header: rspamd takes the client
        # address from the top Received header, which names no host; its
        # once_received module would look up the PTR and wait out the
        # resolver's timeout on every such message.
        msg = h.crlf("Received: from helo.example.net ([192.0.2.55])\n"
                     "\tby mx.example.test (Postfix) with ESMTP id 4D2;\n"
                     "\tSat, 5 Dec 2026 10:00:00 +0000\n"
                     "From: <a@example.net>\nTo: <u@example.test>\nSubject: ptr\n"
                     "Message-ID: <ptr@example.net>\nDate: Sat, 5 Dec 2026 10:00:00 +0000\n"
                     "\nhello\n")
        before = rspamd_log_size()
        _, _, data = self.send(["u@example.test"], msg)
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        (line,) = rspamd_log_lines(before)
        self.assertIn("ip: 192.0.2.55", line)
        self.assertIn("dns req: 0", line)


class TestPerUserSettings(RspamdCase):
    """conf/rspamd-settings.conf as shipped: picky@example.com gets "add
    header" from 1 point; with spam_mark_level = spamd that is spam."""

    policy = "spam_engine = rspamd\nspam_mark_level = spamd\nspam_block_level = 2000\n"

    def test_deliver_to_selects_rspamd_settings(self):
        msg = h.crlf(h.read_file(HAM))
        _, _, data = self.send(["picky@example.com", "other@example.com"], msg)
        self.assertReplyRe(data[0], h.delivered_re("picky@example.com"))
        self.assertReplyRe(data[1], h.delivered_re("other@example.com"))
        self.assertEqual(len(self.d.stored("picky@example.com", "Junk")), 1, self._ctx())
        self.assertEqual(len(self.d.stored("other@example.com")), 1, self._ctx())
        scans = {s.get("user"): s for s in self.scans(self.report(mail_id_of(data[0])), "rspamd")}
        self.assertEqual(scans["picky@example.com"].get("action"), "add header")
        self.assertEqual(scans["picky@example.com"].get("result"), "spam")
        self.assertEqual(scans["other@example.com"].get("action"), "no action")
        self.assertEqual(scans["other@example.com"].get("result"), "ham")
        # the same score, two verdicts
        self.assertEqual(scans["picky@example.com"].get("score"),
                         scans["other@example.com"].get("score"))


class TestMixedEngines(RspamdCase):
    policies = ("\n[policy sa]\nspam_engine = spamd\nspam_block_level = 2000\n"
                "\n[recipients]\nsa@example.test = sa\n")

    def test_one_spamd_and_one_rspamd_recipient(self):
        msg = h.crlf(h.read_file(SPAM))
        _, _, data = self.send(["sa@example.test", "rs@example.test"], msg)
        for addr, reply in zip(("sa@example.test", "rs@example.test"), data):
            self.assertReplyRe(reply, h.delivered_re(addr))
        sa = h.read_file(self.d.stored("sa@example.test", "Junk")[0])
        rs = h.read_file(self.d.stored("rs@example.test", "Junk")[0])
        self.assertRegex(h.header_value(sa, "X-Spam-Status"), r"^Yes, score=1\d\d\d\.\d ")
        self.assertEqual(h.header_value(rs, "X-Spam-Status"),
                         "Yes, score=15.0 required=5.0 tests=GTUBE")
        root = self.report(mail_id_of(data[0]))
        self.assertEqual([s.get("user") for s in self.scans(root, "spamd")], ["sa@example.test"])
        self.assertEqual([s.get("user") for s in self.scans(root, "rspamd")], ["rs@example.test"])
        log = self.d.log()
        self.assertRegex(log, r"rcpt=<sa@example\.test> .* spam_engine=spamd ")
        self.assertRegex(log, r"rcpt=<rs@example\.test> .* spam_engine=rspamd ")


class FailureCase(RspamdCase):
    mode = None
    rspamd_timeout = "3s"

    def setUp(self):
        if self.mode == "down":
            self.rspamd_port = h.free_port()  # nothing listens there
        else:
            self.fake = FakeRspamd(self.mode)
            self.addCleanup(self.fake.close)
            self.rspamd_port = self.fake.port
        super().setUp()

    def check_tempfail_and_pass(self):
        start = time.monotonic()
        _, _, data = self.send(["u@example.test"], gtube_message())
        elapsed = time.monotonic() - start
        self.assertReplyRe(data[0], r"451 4\.3\.0 <u@example\.test> .*")
        self.assertLess(elapsed, 20.0)  # the 3s timeout, not scan_timeout
        self.assertEqual(self.d.message_files(), [])
        mail_id = re.findall(r"mail_id=(%s) .*rcpt=<u@example\.test> verdict=unchecked "
                             r"action=tempfail" % h.MAIL_ID_RE, self.d.log())[-1]
        (scan,) = self.scans(self.report(mail_id), "rspamd")
        self.assertEqual(scan.get("result"), "error")
        self.assertTrue(scan.get("reason"))
        return scan.get("reason")


class TestRspamdDown(FailureCase):
    mode = "down"

    def test_down_tempfails(self):
        self.assertIn("connect", self.check_tempfail_and_pass())


class TestRspamdHangs(FailureCase):
    mode = "hang"

    def test_hanging_tempfails_within_its_timeout(self):
        self.assertIn("timeout", self.check_tempfail_and_pass())


class TestRspamdGarbage(FailureCase):
    mode = "garbage"

    def test_garbage_tempfails(self):
        self.assertIn("JSON", self.check_tempfail_and_pass())


class TestRspamdGarbagePass(FailureCase):
    mode = "garbage"
    policy = ("spam_engine = rspamd\nspam_block_level = 2000\n"
              "scan_error_action = pass\n")

    def test_garbage_with_pass_delivers_unchecked(self):
        _, _, data = self.send(["u@example.test"], gtube_message())
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        files = self.d.stored("u@example.test")
        self.assertEqual(len(files), 1)  # not junk: no verdict
        self.assertEqual(h.header_values(h.read_file(files[0]), "X-Spam-Status"), [])
        self.assertRegex(self.d.log(), r"rcpt=<u@example\.test> verdict=unchecked action=deliver")


class TestVerdictReuse(RspamdCase):
    scan = {"verdict_reuse": "10m"}
    # sa@ asks spamd under the very identity u@ asks rspamd with: only the
    # engine differs
    policies = ("\n[policy sa]\nspam_engine = spamd\nspam_block_level = 2000\n"
                "spamd_user = u@example.test\n"
                "\n[recipients]\nsa@example.test = sa\n")

    def scan_of(self, reply, engine):
        (scan,) = self.scans(self.report(mail_id_of(reply)), engine)
        return scan

    def test_reuse_hits_and_misses(self):
        msg = h.crlf(h.read_file(HAM))
        before = rspamd_log_size()
        _, _, first = self.send(["u@example.test"], msg)
        first_id = mail_id_of(first[0])
        self.assertIsNone(self.scan_of(first[0], "rspamd").get("reused-from"))
        self.assertEqual(len(rspamd_log_lines(before)), 1)

        # the same bytes again, to the same user: reused, rspamd not asked
        before = rspamd_log_size()
        _, _, again = self.send(["u@example.test"], msg)
        scan = self.scan_of(again[0], "rspamd")
        self.assertEqual(scan.get("reused-from"), first_id)
        self.assertEqual(scan.get("result"), "ham")
        self.assertTrue(scan.findall("r:rule", NS))
        self.assertRegex(self.d.log(), r"mail_id=%s .*spam_engine=rspamd reused_from=%s "
                         % (mail_id_of(again[0]), first_id))
        # the copy carries the same verdict headers
        files = sorted(self.d.stored("u@example.test"))
        self.assertEqual(len(files), 2)
        self.assertEqual(h.header_value(h.read_file(files[0]), "X-Spam-Status"),
                         h.header_value(h.read_file(files[1]), "X-Spam-Status"))

        # another user of the same engine: asked
        _, _, other = self.send(["v@example.test"], msg)
        self.assertIsNone(self.scan_of(other[0], "rspamd").get("reused-from"))
        # another engine, the same user: asked
        _, _, sa = self.send(["sa@example.test"], msg)
        scan = self.scan_of(sa[0], "spamd")
        self.assertEqual(scan.get("user"), "u@example.test")
        self.assertIsNone(scan.get("reused-from"))
        # one changed byte: asked
        changed = msg.replace(b"TBTF", b"TBTG", 1)
        self.assertNotEqual(changed, msg)
        _, _, ch = self.send(["u@example.test"], changed)
        self.assertIsNone(self.scan_of(ch[0], "rspamd").get("reused-from"))
        self.assertEqual(len(rspamd_log_lines(before)), 2)  # v@ and the changed one


class TestNoReuseByDefault(RspamdCase):
    def test_off_by_default(self):
        msg = h.crlf(h.read_file(HAM))
        before = rspamd_log_size()
        for _ in range(2):
            _, _, data = self.send(["u@example.test"], msg)
            (scan,) = self.scans(self.report(mail_id_of(data[0])), "rspamd")
            self.assertIsNone(scan.get("reused-from"))
        self.assertEqual(len(rspamd_log_lines(before)), 2)


if __name__ == "__main__":
    h.main()
