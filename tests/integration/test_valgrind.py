"""lmtpscand under valgrind (memcheck) for one integration pass: start with
libclamav on a tiny test signature database and spamd (a canned SPAMC/1.5
peer in this file), deliver over LMTP a small mail to two recipients, a
mail over 64 KiB (the spool's file part), a virus (quarantine), a BDAT
mail, a mail over the SMTP listener, reload on SIGHUP, then SIGTERM. The
run fails on any memcheck error or any definitely lost block
(--errors-for-leak-kinds=definite --error-exitcode=99); "still reachable"
and "possibly lost" (libclamav's and glibc's own caches, thread stacks) do
not count.

Skipped (exit 77) when valgrind is not installed. Not part of the normal
integration run: label "valgrind" (it takes about a minute).
"""

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

# Everything is some 20-50 times slower under memcheck.
h.START_TIMEOUT = 180.0
h.STOP_TIMEOUT = 120.0
h.IO_TIMEOUT = 120.0

HAM_REPORT = (b"Spam detection software has checked this message.\r\n\r\n"
              b"Content analysis details:   (1.2 points, 5.0 required)\r\n\r\n"
              b" pts rule name              description\r\n"
              b"---- ---------------------- ------------------------------------\r\n"
              b" 1.2 MISSING_DATE           Missing Date: header\r\n"
              b"-0.0 NO_RELAYS              Informational: message was not relayed\r\n")


class FakeSpamd:
    """Answers every SPAMC request with a fixed REPORT reply (ham, 1.2)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.settimeout(h.IO_TIMEOUT)
            if h.read_spamc_request(conn) is None:
                return
            self.requests += 1
            conn.sendall(b"SPAMD/1.1 0 EX_OK\r\nContent-length: %d\r\n"
                         b"Spam: False ; 1.2 / 5.0\r\n\r\n" % len(HAM_REPORT) + HAM_REPORT)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


class ValgrindTest(h.DaemonTestCase):
    start_daemon = False

    def setUp(self):
        if shutil.which("valgrind") is None:
            self.skipTest("valgrind not installed (package valgrind)")
        if h.SANITIZED:
            self.skipTest("valgrind cannot run a sanitizer build")
        self.tmp = tempfile.mkdtemp(prefix="lmtpscan-vg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        db = h.make_test_signatures(self.tmp)
        self.spamd = FakeSpamd()
        self.addCleanup(self.spamd.close)
        self.vg_log = os.path.join(self.tmp, "valgrind.log")
        wrapper = os.path.join(self.tmp, "lmtpscand-valgrind")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec valgrind --quiet --leak-check=full "
                    "--errors-for-leak-kinds=definite --show-leak-kinds=definite "
                    "--error-exitcode=99 --track-fds=no --num-callers=30 "
                    "--log-file='%s' '%s' \"$@\"\n" % (self.vg_log, h.daemon_path()))
        os.chmod(wrapper, 0o755)
        old = os.environ.get("LMTPSCAND")
        os.environ["LMTPSCAND"] = wrapper
        self.addCleanup(self._restore_env, old)
        self.config = {
            "clamav": {"enabled": "yes", "database": db, "reload_check": "0"},
            "spamd": {"enabled": "yes", "address": "inet:127.0.0.1:%d" % self.spamd.port,
                      "timeout": "60s"},
            "server": {"timeout": "120s", "scan_timeout": "120s"},
        }
        super().setUp()

    @staticmethod
    def _restore_env(old):
        if old is None:
            os.environ.pop("LMTPSCAND", None)
        else:
            os.environ["LMTPSCAND"] = old

    def vg_report(self):
        try:
            with open(self.vg_log, errors="replace") as f:
                text = f.read()
        except OSError:
            text = "(no valgrind log)"
        return "\n--- valgrind ---\n%s\n--- lmtpscand stderr ---\n%s" % (
            text[-20000:], self.d.stderr()[-6000:])

    def test_one_pass_under_valgrind(self):
        try:
            self.d.start()
        except h.DaemonError as e:
            self.fail(str(e) + self.vg_report())
        exe = os.readlink("/proc/%d/exe" % self.d.proc.pid)
        self.assertIn("memcheck", os.path.basename(exe), "not under valgrind: %s" % exe)

        conn = self.d.lmtp()
        small = h.simple_message("vg small", "Hello.\n.leading dot\n")
        _m, rr, dr = h.lmtp_send(conn, "s@example.test", ["a@vg.test", "b@vg.test"], small)
        self.assertEqual(rr, ["250 2.1.5 Ok"] * 2, self.vg_report())
        self.assertReplyRe(dr[0], h.delivered_re("a@vg.test"))
        self.assertReplyRe(dr[1], h.delivered_re("b@vg.test"))

        big = h.simple_message("vg big", ("z" * 70 + "\n") * 1500)  # ~105 KiB
        self.assertGreater(len(big), 64 * 1024)
        _m, _rr, dr = h.lmtp_send(conn, "s@example.test", ["big@vg.test"], big)
        self.assertReplyRe(dr[0], h.delivered_re("big@vg.test"))
        self.assertOneStored("big@vg.test", big)

        virus = h.simple_message("vg virus", h.EICAR + "\n")
        _m, _rr, dr = h.lmtp_send(conn, "s@example.test", ["v@vg.test"], virus)
        self.assertReplyRe(dr[0], r"250 2\.7\.0 <v@vg\.test> quarantined %s" % h.MAIL_ID_RE)
        conn.quit()

        c = self.d.raw()
        c.cmd("LHLO vg.test")
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<bdat@vg.test>"), "250 2.1.5 Ok")
        part1 = b"Subject: vg bdat\r\n\r\nfirst chunk\r\n"
        part2 = b"second chunk\r\n"
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertReply(c.reply(), "250 2.0.0 %d bytes received" % len(part1))
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        self.assertReplyRe(c.reply(), h.delivered_re("bdat@vg.test"))
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")

        s = self.d.raw("smtp")
        s.cmd("EHLO vg.test")
        s.cmd("MAIL FROM:<s@example.test>")
        s.cmd("RCPT TO:<smtp@vg.test>")
        self.assertReply(s.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
        s.send(h.dot_stuff(small) + b".\r\n")
        self.assertReplyRe(s.reply(), r"250 2\.0\.0 Ok: queued as %s" % h.MAIL_ID_RE)
        s.cmd("QUIT")

        # a reload swaps the configuration and rebuilds the engine
        self.d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 120
        while "reloaded" not in self.d.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn("reloaded", self.d.stderr(), self.vg_report())
        conn = self.d.lmtp()
        _m, _rr, dr = h.lmtp_send(conn, "s@example.test", ["after@vg.test"], small)
        self.assertReplyRe(dr[0], h.delivered_re("after@vg.test"))
        conn.quit()
        self.assertGreaterEqual(self.spamd.requests, 5)

        rc, killed = self.d.stop()
        self.assertFalse(killed, "did not stop under valgrind" + self.vg_report())
        self.assertEqual(rc, 0, "valgrind found errors or definite leaks (status %s)%s"
                         % (rc, self.vg_report()))
        with open(self.vg_log, errors="replace") as f:
            log = f.read()
        self.assertNotIn("definitely lost", log, self.vg_report())
        self.assertNotRegex(log, r"Invalid (read|write|free)", self.vg_report())


if __name__ == "__main__":
    h.main()
