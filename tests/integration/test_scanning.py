"""Scanning through the real daemon: real libclamav with the test
signatures (built here by tests/make-test-signatures.sh from Debian's
clamav-testfiles), a real spamd -L started once for this file on a free
loopback port and stopped by PID.

Covers: ClamAV finds clam.mail, clam.exe.mbox.base64 and an EICAR
attachment; GTUBE is spam and lands in .Junk with the verdict headers;
forged verdict headers are removed; one transaction to three recipients
with three policies gets three different replies; spamd sees the right
User per recipient and one request per distinct user; spamd down gives
451 4.3.0, or with scan_error_action = pass delivery marked unchecked;
the subject tag; SIGHUP during a load loses nothing.
"""

import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

GTUBE = "/usr/share/doc/spamassassin/examples/sample-spam.txt"
HAM = "/usr/share/doc/spamassassin/examples/sample-nonspam.txt"
TESTFILES = "/usr/share/clamav-testfiles"
SPAMD_START_TIMEOUT = 90.0

SPAMD = {}


def spamd_answers(port):
    r = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(port), "-K"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=10)
    return r.returncode == 0


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="lmtpscan-scan-")
    SPAMD["tmp"] = tmp
    db = h.make_test_signatures(tmp)
    SPAMD["db"] = db
    port = h.free_port()
    log = os.path.join(tmp, "spamd.log")
    pidfile = os.path.join(tmp, "spamd.pid")
    subprocess.run(["spamd", "-L", "--listen=127.0.0.1:%d" % port, "-m", "2",
                    "-d", "--pidfile=" + pidfile, "-u", "nobody", "-s", log],
                   check=True, timeout=60, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + SPAMD_START_TIMEOUT
    while not (os.path.exists(pidfile) and spamd_answers(port)):
        if time.monotonic() > deadline:
            raise RuntimeError("spamd did not answer within %.0fs" % SPAMD_START_TIMEOUT)
        time.sleep(0.2)
    with open(pidfile) as f:
        SPAMD["pid"] = int(f.read().strip())
    SPAMD["port"] = port
    SPAMD["log"] = log


def tearDownModule():
    pid = SPAMD.get("pid")
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)


def spamd_users_since(offset):
    """The User of every spamd request logged after offset bytes."""
    with open(SPAMD["log"], "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return re.findall(r"spamd: result: .*?user=([^,]*),", text)


def spamd_log_size():
    return os.path.getsize(SPAMD["log"])




class ScanningCase(h.DaemonTestCase):
    policies = ""
    spamd_port = None
    spam_block = "2000"

    def daemon_args(self):
        port = self.spamd_port or SPAMD["port"]
        overrides = {
            "server": {"scan_timeout": "60s"},
            "clamav": {"enabled": "yes", "database": SPAMD["db"], "reload_check": "0"},
            "spamd": {"enabled": "yes", "address": "inet:127.0.0.1:%d" % port,
                      "timeout": "30s"},
        }
        extra = ("[policy default]\nspam_block_level = %s\n" % self.spam_block
                 + self.policies)
        return {"overrides": overrides, "extra": extra}

    def send(self, rcpts, msg, sender="sender@example.test"):
        with self.d.lmtp() as c:
            return h.lmtp_send(c, sender, rcpts, msg)


class TestClamAV(ScanningCase):
    def test_clam_mail_is_quarantined(self):
        msg = h.read_file(os.path.join(TESTFILES, "clam.mail"))
        _, _, data = self.send(["u@example.test"], h.crlf(msg))
        self.assertReplyRe(data[0], r"250 2\.7\.0 <u@example\.test> quarantined (%s)" % h.MAIL_ID_RE)
        mail_id = data[0].rsplit(" ", 1)[1]
        eml = os.path.join(self.d.quarantine, mail_id + ".eml")
        self.assertEqual(h.read_file(eml), h.crlf(msg))
        env = h.read_file(os.path.join(self.d.quarantine, mail_id + ".env")).decode()
        self.assertIn("rcpt: <u@example.test>", env)
        self.assertIn("ClamAV-Test-File.UNOFFICIAL", env)
        self.assertEqual(self.d.message_files(), [])

    def test_clam_exe_mbox_base64(self):
        msg = h.read_file(os.path.join(TESTFILES, "clam.exe.mbox.base64"))
        # an mbox: drop the "From " separator line so it is a message
        if msg.startswith(b"From "):
            msg = msg.split(b"\n", 1)[1]
        _, _, data = self.send(["u@example.test"], h.crlf(msg))
        self.assertReplyRe(data[0], r"250 2\.7\.0 <u@example\.test> quarantined %s" % h.MAIL_ID_RE)


class TestVirusReject(ScanningCase):
    def daemon_args(self):
        args = super().daemon_args()
        args["extra"] += "virus_action = reject\n"
        return args

    def test_eicar_attachment_rejected(self):
        _, _, data = self.send(["u@example.test"], h.eicar_message())
        self.assertReply(data[0],
                         "554 5.7.0 <u@example.test> rejected: virus Eicar-Test-Signature.UNOFFICIAL")
        self.assertEqual(self.d.message_files(), [])

    def test_smtp_rejection_gives_the_reason(self):
        """SMTP's one reply: when every recipient is refused for the same
        reason, the 554 carries that reason, not a generic text."""
        with smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=h.IO_TIMEOUT) as c:
            c.ehlo("client.test")
            c.mail("sender@example.test")
            for rcpt in ("u@example.test", "v@example.test"):
                self.assertEqual(c.rcpt(rcpt)[0], 250)
            code, text = c.data(h.eicar_message())
        self.assertEqual(code, 554)
        self.assertEqual(text.decode(), "5.7.0 <u@example.test> rejected: virus "
                         "Eicar-Test-Signature.UNOFFICIAL")
        self.assertEqual(self.d.message_files(), [])


class TestClamTmpDir(ScanningCase):
    """[clamav] tmp_dir: created at start-up and used for libclamav's
    per-scan directories (an unwritable one would fail the scan)."""

    def daemon_args(self):
        args = super().daemon_args()
        self.tmp_dir = os.path.join(tempfile.mkdtemp(prefix="lmtpscan-ctmp-"), "clamtmp")
        args["overrides"]["clamav"]["tmp_dir"] = self.tmp_dir
        return args

    def test_scans_use_tmp_dir(self):
        self.assertTrue(os.path.isdir(self.tmp_dir))
        _, _, data = self.send(["u@example.test"], h.eicar_message())
        self.assertReplyRe(data[0], r"250 2\.7\.0 <u@example\.test> quarantined %s" % h.MAIL_ID_RE)
        # libclamav removes what it made there once the scan is over
        self.assertEqual(os.listdir(self.tmp_dir), [])


class TestClamRuntimeDirectory(ScanningCase):
    """No tmp_dir, RUNTIME_DIRECTORY set (as systemd's RuntimeDirectory=
    does): libclamav's per-scan files go to RUNTIME_DIRECTORY/clamav,
    created at start-up, and the engine load names it in the log."""

    def daemon_args(self):
        args = super().daemon_args()
        self.run_dir = tempfile.mkdtemp(prefix="lmtpscan-rundir-")
        self.addCleanup(shutil.rmtree, self.run_dir, True)
        args["env"] = {"RUNTIME_DIRECTORY": self.run_dir + ":/nonexistent/second"}
        return args

    def test_scans_use_runtime_directory(self):
        clam_tmp = os.path.join(self.run_dir, "clamav")
        self.assertTrue(os.path.isdir(clam_tmp), self._ctx())
        self.assertRegex(self.d.stderr(),
                         r"clamav: temporary files in %s \((tmpfs|not a tmpfs: [^)]*)\)"
                         % re.escape(clam_tmp))
        _, _, data = self.send(["u@example.test"], h.eicar_message())
        self.assertReplyRe(data[0], r"250 2\.7\.0 <u@example\.test> quarantined %s" % h.MAIL_ID_RE)
        self.assertEqual(os.listdir(clam_tmp), [])
        # a reload reads the configuration again: the same directory
        line = "clamav: temporary files in %s (" % clam_tmp
        os.kill(self.d.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 60
        while self.d.stderr().count(line) < 2:
            self.assertLess(time.monotonic(), deadline, self._ctx())
            time.sleep(0.1)
        self.assertNotIn("temporary files in /tmp (", self.d.stderr())
        _, _, data = self.send(["v@example.test"], h.eicar_message())
        self.assertReplyRe(data[0], r"250 2\.7\.0 <v@example\.test> quarantined %s" % h.MAIL_ID_RE)
        self.assertEqual(os.listdir(clam_tmp), [])


class TestClamRuntimeDirectoryRelative(ScanningCase):
    """A relative RUNTIME_DIRECTORY is not systemd's: ignored, libclamav
    keeps its own choice ($TMPDIR here)."""

    def daemon_args(self):
        args = super().daemon_args()
        self.tmpdir = tempfile.mkdtemp(prefix="lmtpscan-tmpdir-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        args["env"] = {"RUNTIME_DIRECTORY": "relative", "TMPDIR": self.tmpdir}
        return args

    def test_relative_is_ignored(self):
        self.assertRegex(self.d.stderr(), r"clamav: temporary files in %s \("
                         % re.escape(self.tmpdir))
        self.assertNotIn("relative", self.d.stderr())
        self.assertFalse(os.path.exists(os.path.join(self.d.tmp, "relative")))
        _, _, data = self.send(["u@example.test"], h.eicar_message())
        self.assertReplyRe(data[0], r"250 2\.7\.0 <u@example\.test> quarantined %s" % h.MAIL_ID_RE)


class TestLargeScansGiveMemoryBack(ScanningCase):
    """Large messages scanned one after another, on whichever of the scan
    threads is free: the memory libclamav freed after one is given back,
    so the second thread's scan does not add its own on top (without it,
    peak RSS grew by one large scan per scan thread)."""

    policies = "spam_scan = no\n"

    def daemon_args(self):
        args = super().daemon_args()
        args["overrides"]["clamav"]["scan_threads"] = "2"
        return args

    @staticmethod
    def message(n):
        import base64
        import random
        rnd = random.Random(n)
        blob = base64.encodebytes(bytes(rnd.getrandbits(8) for _ in range(3 * 1024 * 1024)))
        return (b"From: <a@example.test>\r\nTo: <u@example.test>\r\n"
                b"Subject: large %d\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                b"--b\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" % n
                + blob.replace(b"\n", b"\r\n") + b"--b--\r\n")

    def test_peak_after_four_is_that_of_one(self):
        if h.SANITIZED:
            self.skipTest("AddressSanitizer keeps freed memory in quarantine: RSS says nothing")
        _, _, data = self.send(["u@example.test"], h.simple_message())
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        base = self.d.vmrss_kb()
        peaks = []
        for n in range(4):
            _, _, data = self.send(["u@example.test"], self.message(n))
            self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
            peaks.append(self.d.vmhwm_kb() - base)
        print("\nlarge scans: peak RSS growth after each: %s kB" % peaks)
        self.assertLess(peaks[-1], peaks[0] + 6 * 1024, peaks)


class TestSpam(ScanningCase):
    def daemon_args(self):
        args = super().daemon_args()
        args["extra"] += 'subject_tag = "[SPAM] "\n'
        return args

    def test_gtube_lands_in_junk_with_headers(self):
        msg = h.crlf(h.read_file(GTUBE))
        _, _, data = self.send(["u@example.test"], msg)
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        self.assertEqual(self.d.stored("u@example.test"), [])
        files = self.d.stored("u@example.test", "Junk")
        self.assertEqual(len(files), 1, self._ctx())
        maildir = self.d.maildir("u@example.test")
        self.assertTrue(os.path.exists(os.path.join(maildir, ".Junk", "maildirfolder")))
        got = h.read_file(files[0])
        # unfolded: a long rule list is folded, wherever it is
        self.assertEqual(h.header_value(got, "X-Spam-Flag"), "YES")
        status = h.header_value(got, "X-Spam-Status")
        self.assertRegex(status, r"^Yes, score=1\d\d\d\.\d required=5\.0 tests=")
        rules = h.spam_tests(status)
        self.assertIn("GTUBE", rules)
        # sorted by name as SpamAssassin's own header, whatever spamd's order
        self.assertEqual(rules, sorted(rules), status)
        self.assertRegex(h.header_value(got, "X-Spam-Score"), r"^1\d\d\d\.\d$")
        self.assertEqual(h.header_value(got, "X-Spam-Level"), "*" * 50)
        self.assertRegex(h.header_value(got, "X-Virus-Scanned"),
                         r"^lmtpscan \(ClamAV [0-9.]+, 2 signatures\) at %s$" % re.escape(h.HOST))
        self.assertEqual(len(h.header_values(got, "Subject")), 1)
        self.assertRegex(h.header_value(got, "Subject"), r"^\[SPAM\] \S")

    def test_ham_is_clean_and_forged_headers_removed(self):
        msg = h.crlf("X-Spam-Flag: YES\nX-Spam-Status: Yes, forged\n\tfolded\n"
                     "X-Virus-Scanned: forged\n") + h.crlf(h.read_file(HAM))
        _, _, data = self.send(["u@example.test"], msg)
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        files = self.d.stored("u@example.test")
        self.assertEqual(len(files), 1)
        got = h.read_file(files[0])
        self.assertNotIn(b"forged", got)
        self.assertNotIn(b"X-Spam-Flag", got)
        # everything else of the original is there, unchanged
        self.assertTrue(got.endswith(h.to_lf(h.crlf(h.read_file(HAM)))))
        self.assertRegex(self.d.log(), r"removed 3 incoming verdict header field")


class TestThreePolicies(ScanningCase):
    policies = ("\n[policy rejecting]\nspam_action = reject\nspam_block_level = 2000\n"
                "spamd_user = shared\n"
                "\n[policy discarding]\nspam_action = discard\nspam_block_level = 2000\n"
                "spamd_user = shared\n"
                "\n[recipients]\nb@example.test = rejecting\n@other.test = discarding\n")

    def test_three_recipients_three_replies_and_spamd_users(self):
        before = spamd_log_size()
        _, rcpt, data = self.send(["a@example.test", "b@example.test", "c@other.test"],
                                  h.crlf(h.read_file(GTUBE)))
        self.assertEqual([r[:3] for r in rcpt], ["250"] * 3)
        self.assertReplyRe(data[0], h.delivered_re("a@example.test"))
        self.assertReply(data[1], "554 5.7.1 <b@example.test> rejected: spam")
        self.assertReply(data[2], "250 2.7.0 <c@other.test> discarded")
        self.assertEqual(len(self.d.stored("a@example.test", "Junk")), 1)
        self.assertEqual(self.d.message_files(), self.d.stored("a@example.test", "Junk"))
        # one request per distinct spamd user: a@example.test and "shared"
        deadline = time.monotonic() + 10
        while len(spamd_users_since(before)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(sorted(spamd_users_since(before)), ["a@example.test", "shared"])


class TestSpamdDown(ScanningCase):
    spamd_port = 1  # nothing listens there

    def test_spamd_down_tempfails(self):
        _, _, data = self.send(["u@example.test"], h.simple_message())
        self.assertReply(data[0], "451 4.3.0 <u@example.test> scan failed, try again later")
        self.assertEqual(self.d.message_files(), [])


class TestSpamdDownPass(ScanningCase):
    spamd_port = 1

    def daemon_args(self):
        args = super().daemon_args()
        args["extra"] += "scan_error_action = pass\n"
        return args

    def test_spamd_down_pass_delivers_unchecked(self):
        _, _, data = self.send(["u@example.test"], h.simple_message())
        self.assertReplyRe(data[0], h.delivered_re("u@example.test"))
        self.assertEqual(len(self.d.stored("u@example.test")), 1)
        self.assertIn("verdict=unchecked", self.d.log())


class TestReloadUnderLoad(ScanningCase):
    def test_sighup_during_load_loses_nothing(self):
        n_threads, per_thread = 4, 8
        replies, errors = [], []
        lock = threading.Lock()

        def worker(k):
            try:
                with self.d.lmtp() as c:
                    for i in range(per_thread):
                        addr = "w%d-%d@example.test" % (k, i)
                        _, _, data = h.lmtp_send(c, "s@example.test", [addr],
                                                 h.simple_message("load %d %d" % (k, i)))
                        with lock:
                            replies.append((addr, data[0]))
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        for _ in range(3):
            time.sleep(0.3)
            os.kill(self.d.proc.pid, signal.SIGHUP)
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [], self._ctx())
        self.assertEqual(len(replies), n_threads * per_thread)
        for addr, reply in replies:
            self.assertReplyRe(reply, h.delivered_re(addr))
            self.assertEqual(len(self.d.stored(addr)), 1, addr)
        self.assertIn("reloaded", self.d.log())


class TestMetricsWithRealSpamd(ScanningCase):
    """GET /metrics after GTUBE and ham through the real spamd -L and
    EICAR through libclamav: promtool accepts it and the counters move by
    exactly what was sent (the scripted-engine variants are in
    test_metrics.py)."""

    def daemon_args(self):
        if shutil.which("promtool") is None:
            self.skipTest("promtool not installed (package prometheus)")
        args = super().daemon_args()
        self.mport = h.free_port()
        args["overrides"]["server"]["metrics_listen"] = "inet:127.0.0.1:%d" % self.mport
        return args

    def scrape(self):
        url = "http://127.0.0.1:%d/metrics" % self.mport
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def test_counters_after_real_spam_ham_and_virus(self):
        before = self.scrape()
        self.send(["spam@example.test"], h.crlf(h.read_file(GTUBE)))
        self.send(["ham@example.test"], h.crlf(h.read_file(HAM)))
        self.send(["virus@example.test"], h.eicar_message())
        after = self.scrape()
        L = 'protocol="lmtp"'
        for key, want in (
                ('lmtpscan_messages_total{%s,verdict="spam"}' % L, 1),
                ('lmtpscan_messages_total{%s,verdict="clean"}' % L, 1),
                ('lmtpscan_messages_total{%s,verdict="virus"}' % L, 1),
                ('lmtpscan_recipients_total{%s,verdict="spam",action="junk"}' % L, 1),
                ('lmtpscan_recipients_total{%s,verdict="clean",action="deliver"}' % L, 1),
                ('lmtpscan_recipients_total{%s,verdict="virus",action="quarantine"}' % L, 1),
                ('lmtpscan_replies_total{%s,class="2xx"}' % L, 3),
                ('lmtpscan_stage_duration_seconds_count{stage="spam"}', 3),
                ('lmtpscan_stage_duration_seconds_count{stage="clamav"}', 3),
                ('lmtpscan_scanner_failures_total{engine="spamd"}', 0)):
            self.assertEqual(after[key] - before.get(key, 0), want, key)


if __name__ == "__main__":
    h.main()
