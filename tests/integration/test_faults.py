"""Faults against a running lmtpscand (Maildir mode, scanners off):

(a) kill -9 in the middle of a load of 200 messages at concurrency 8: every
    recipient that got a 250 has exactly one complete copy in new/, every
    file in any new/ is a complete copy (tmp/ may keep leftovers, as Maildir
    intends), the spool holds nothing, and a restarted daemon takes the
    retries (duplicates allowed, never loss);
(b) a Maildir on a full file system (a 256 KiB tmpfs; skipped where mount
    is not permitted): a big message gets 452 4.3.1 with nothing left
    behind, and a small one is delivered afterwards;
(c) a slow client (one byte per 0.2 s) does not hold up other sessions;
(d) max_sessions = 2: the third connection gets 421 4.3.2, and once one
    session ends a new one is served;
(e) SIGHUP repeated under load loses nothing, and a bad configuration on
    SIGHUP is refused (logged) while the running one stays in force;
(f) SIGTERM under load: exit status 0 and every 250 stored.

Messages are synthetic: sizes from 2 KiB to 100 KiB (some over the spool's
64 KiB memory part), lines that need dot-stuffing, one recipient each.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

N_MESSAGES = 200
CONCURRENCY = 8
BUSY_421 = "421 4.3.2 %s Too many sessions, try again later" % h.HOST


def make_message(i, tag):
    """Message i of a load: unique subject and body, size by i."""
    if i % 10 == 3:
        size = 100 * 1024
    else:
        size = 2048 + (i * 397) % 4096
    head = ("From: <load@example.test>\r\nTo: <%s-%03d@load.test>\r\n"
            "Subject: %s message %d\r\nMessage-ID: <%s.%d@lmtpscan.test>\r\n\r\n"
            % (tag, i, tag, i, tag, i)).encode()
    lines = [b".leading dot in message %d" % i, b"..two dots", b"."]
    n = 0
    body = bytearray()
    while len(head) + len(body) < size:
        if n % 7 == 0:
            body += lines[n // 7 % len(lines)] + b"\r\n"
        else:
            body += b"line %05d of message %03d: the quick brown fox jumps\r\n" % (n, i)
        n += 1
    return head + bytes(body)


class Client(h.RawClient):
    """A RawClient whose failed connect leaves no open socket behind."""

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=h.IO_TIMEOUT)
        self.buf = b""
        self.greeting = None


class Load:
    """N messages over `concurrency` LMTP sessions, one recipient each.

    replies[i] is the final reply to message i ("250 ..."), an "ERR ..."
    string when the session broke before it, or None when never tried.
    A worker whose connection fails reconnects once; when that fails too
    (daemon gone or refusing), it stops.
    """

    def __init__(self, d, n, concurrency, tag, only=None):
        self.d = d
        only = range(n) if only is None else only
        self.addrs = ["%s-%03d@load.test" % (tag, i) for i in only]
        self.msgs = [make_message(i, tag) for i in only]
        self.replies = [None] * len(self.addrs)
        self.next = 0
        self.lock = threading.Lock()
        self.ok = 0
        self.threads = [threading.Thread(target=self._worker, daemon=True)
                        for _ in range(concurrency)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout=120.0):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def wait_ok(self, count, timeout=60.0):
        """Waits until `count` messages got a 250 (or the load ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.ok >= count:
                    return True
            if not any(t.is_alive() for t in self.threads):
                return False
            time.sleep(0.005)
        return False

    def _take(self):
        with self.lock:
            if self.next >= len(self.msgs):
                return None
            i = self.next
            self.next += 1
            return i

    def _connect(self):
        c = Client(("127.0.0.1", self.d.port))
        try:
            g = c.reply()
            if not g.startswith("220 "):
                raise ConnectionError(g)
            r = c.cmd("LHLO load.test")
            if not r.startswith("250"):
                raise ConnectionError(r)
        except BaseException:
            c.close()
            raise
        return c

    def _worker(self):
        c = None
        retried = False
        while True:
            if c is None:
                try:
                    c = self._connect()
                except (OSError, EOFError, ConnectionError):
                    return
            i = self._take()
            if i is None:
                break
            try:
                reply = self._send(c, i)
            except (OSError, EOFError) as e:
                reply = "ERR %s" % e
                c.close()
                c = None
                if retried:
                    with self.lock:
                        self.replies[i] = reply
                    return
                retried = True
            with self.lock:
                self.replies[i] = reply
                if reply.startswith("250 "):
                    self.ok += 1
            if reply.startswith("421 ") and c is not None:
                c.close()  # the server closes after 421
                c = None
        try:
            c.cmd("QUIT")
        except (OSError, EOFError):
            pass
        c.close()

    def _send(self, c, i):
        r = c.cmd("MAIL FROM:<load@example.test>")
        if not r.startswith("250"):
            return r
        r = c.cmd("RCPT TO:<%s>" % self.addrs[i])
        if not r.startswith("250"):
            c.cmd("RSET")
            return r
        r = c.cmd("DATA")
        if not r.startswith("354"):
            return r
        c.send(h.dot_stuff(self.msgs[i]) + b".\r\n")
        return c.reply()

    def acknowledged(self):
        return [i for i, r in enumerate(self.replies) if r and r.startswith("250 ")]


class FaultTestCase(h.DaemonTestCase):

    def check_new_dirs(self, load, acked_must_be_one=True):
        """Every file in any new/ is a complete copy of its recipient's
        message; every acknowledged recipient has exactly one."""
        want = {a: m for a, m in zip(load.addrs, load.msgs)}
        acked = set(load.addrs[i] for i in load.acknowledged())
        for i in load.acknowledged():
            self.assertReplyRe(load.replies[i], h.delivered_re(load.addrs[i]))
        for addr in load.addrs:
            files = self.d.stored(addr)
            if addr in acked and acked_must_be_one:
                self.assertEqual(len(files), 1, "%s acknowledged, files %r%s"
                                 % (addr, files, self._ctx()))
            for path in files:
                self.assertStored(path, want[addr])
        # no file in a new/ that belongs to no recipient of the load
        for path in self.d.message_files():
            if os.path.basename(os.path.dirname(path)) != "new":
                continue
            parts = path.split(os.sep)
            domain, local = parts[-5], parts[-4]
            self.assertIn("%s@%s" % (local, domain), want, path)

    def wait_exit(self, timeout):
        try:
            return self.d.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class KillTest(FaultTestCase):

    def test_kill_9_under_load(self):
        load = Load(self.d, N_MESSAGES, CONCURRENCY, "kill").start()
        self.assertTrue(load.wait_ok(N_MESSAGES // 3), "load did not get going" + self._ctx())
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(10)
        self.assertTrue(load.join(60), "load threads hang after kill -9")
        acked = load.acknowledged()
        report("kill -9", load)
        self.assertGreaterEqual(len(acked), N_MESSAGES // 3)
        self.assertLess(len(acked), N_MESSAGES, "the kill came after the whole load")
        self.check_new_dirs(load)
        self.assertEqual(self.d.all_files(self.d.spool), [], "spool not empty after kill -9")

        # Postfix retries what was not acknowledged on a restarted daemon:
        # everyone then has at least one complete copy (never loss).
        self.d.start()
        todo = [i for i in range(N_MESSAGES) if i not in set(acked)]
        retry = Load(self.d, N_MESSAGES, CONCURRENCY, "kill", only=todo).start()
        self.assertTrue(retry.join(120), "retry load hangs" + self._ctx())
        self.assertEqual(len(retry.acknowledged()), len(todo),
                         "retries not all 250: %r%s" % (
                             [r for r in retry.replies if not (r or "").startswith("250 ")][:5],
                             self._ctx()))
        for addr, msg in zip(load.addrs, load.msgs):
            files = self.d.stored(addr)
            self.assertGreaterEqual(len(files), 1, "%s lost" % addr)
            self.assertLessEqual(len(files), 2, "%s: %r" % (addr, files))
            for path in files:
                self.assertStored(path, msg)


class DiskFullTest(FaultTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700",
                            "tmpfs", self.d.mail_root],
                           check=True, capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as e:
            self.skipTest("cannot mount a tmpfs here: %s" % e)
        self.addCleanup(subprocess.run, ["umount", "-l", self.d.mail_root],
                        capture_output=True, timeout=10)
        try:
            self.d.start()
        except h.DaemonError as e:
            self.fail(str(e))

    def test_full_maildir_452_then_small_ok(self):
        conn = self.d.lmtp()
        big = h.crlf("Subject: big\n\n" + ("y" * 76 + "\n") * 6000)  # ~460 KiB
        _m, rr, dr = h.lmtp_send(conn, "s@example.test", ["full@disk.test"], big)
        self.assertEqual(rr, ["250 2.1.5 Ok"], self._ctx())
        self.assertReply(dr[0], "452 4.3.1 <full@disk.test> insufficient system storage")
        self.assertEqual(self.d.stored("full@disk.test"), [])
        self.assertEqual([p for p in self.d.message_files()], [],
                         "a failed delivery left files behind")
        small = h.simple_message("small after full", "fits.\n")
        _m, rr, dr = h.lmtp_send(conn, "s@example.test", ["full@disk.test"], small)
        self.assertReplyRe(dr[0], h.delivered_re("full@disk.test"))
        self.assertOneStored("full@disk.test", small)
        # a second session is served as well
        c2 = self.d.lmtp()
        _m, rr, dr = h.lmtp_send(c2, "s@example.test", ["other@disk.test"], small)
        self.assertReplyRe(dr[0], h.delivered_re("other@disk.test"))
        self.assertSpoolEmpty()


class SlowClientTest(FaultTestCase):

    def test_slow_client_does_not_block_others(self):
        slow = self.d.raw()
        # pipelined commands, then the data one byte per 0.2 s (about 5 s)
        slow.send(b"LHLO slow.test\r\nMAIL FROM:<slow@example.test>\r\n"
                  b"RCPT TO:<slow@slow.test>\r\nDATA\r\n")
        first = slow.replies(4)
        self.assertTrue(first[0].startswith("250-"), first)
        self.assertEqual(first[1:], ["250 2.1.0 Ok", "250 2.1.5 Ok",
                                     "354 End data with <CR><LF>.<CR><LF>"], self._ctx())
        body = b"Subject: slow\r\n\r\nbyte by byte\r\n.\r\n"
        errors = []

        def dribble():
            try:
                for b in body:
                    slow.send(bytes([b]))
                    time.sleep(0.2)
            except OSError as e:
                errors.append(e)

        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        try:
            time.sleep(0.5)  # the slow session is in the middle of a command
            times = []
            for k in range(5):
                c = self.d.lmtp()
                msg = h.simple_message("fast %d" % k)
                t0 = time.monotonic()
                _m, _rr, dr = h.lmtp_send(c, "f@example.test", ["fast%d@fast.test" % k], msg)
                c.quit()
                times.append(time.monotonic() - t0)
                self.assertReplyRe(dr[0], h.delivered_re("fast%d@fast.test" % k))
                self.assertOneStored("fast%d@fast.test" % k, msg)
                time.sleep(0.3)
            self.assertTrue(t.is_alive(), "the slow client finished too early to matter")
            limit = 1.0 if not h.SANITIZED else 3.0
            self.assertLess(max(times), limit, "deliveries took %r" % times)
        finally:
            t.join(60)
        self.assertEqual(errors, [])
        # the slow session itself completes
        self.assertReplyRe(slow.reply(), h.delivered_re("slow@slow.test"))
        self.assertOneStored("slow@slow.test", b"Subject: slow\r\n\r\nbyte by byte\r\n")


class MaxSessionsFaultTest(FaultTestCase):
    config = {"server": {"max_sessions": "2"}}

    def test_third_refused_then_served(self):
        deadline = time.monotonic() + 5.0
        while True:  # the readiness probe's session may still be ending
            a, b = self.d.raw(), self.d.raw()
            if a.greeting.startswith("220 ") and b.greeting.startswith("220 "):
                break
            a.close()
            b.close()
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        a.cmd("LHLO a")
        b.cmd("LHLO b")
        c = self.d.raw()
        self.assertReply(c.greeting, BUSY_421)
        self.assertTrue(c.at_eof(), "no close after 421")
        self.assertReply(a.cmd("QUIT"), "221 2.0.0 Bye")
        self.assertTrue(a.at_eof())
        # a new session is served (the slot frees when the thread ends)
        deadline = time.monotonic() + 5.0
        while True:
            n = self.d.raw()
            if n.greeting.startswith("220 "):
                break
            self.assertReply(n.greeting, BUSY_421)
            n.close()
            self.assertLess(time.monotonic(), deadline, "no new session after one ended")
            time.sleep(0.05)
        msg = h.simple_message("after 421")
        n.cmd("LHLO n")
        self.assertReply(n.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(n.cmd("RCPT TO:<third@ms.test>"), "250 2.1.5 Ok")
        self.assertReply(n.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
        n.send(h.dot_stuff(msg) + b".\r\n")
        self.assertReplyRe(n.reply(), h.delivered_re("third@ms.test"))
        self.assertOneStored("third@ms.test", msg)
        self.assertReply(b.cmd("NOOP"), "250 2.0.0 Ok")


class ReloadTest(FaultTestCase):

    def test_sighup_under_load_loses_nothing(self):
        with open(self.d.conf_path) as f:
            text = f.read()
        load = Load(self.d, N_MESSAGES, CONCURRENCY, "hup").start()
        self.assertTrue(load.wait_ok(10), "load did not get going" + self._ctx())
        for k in range(6):
            # alternate between two valid configurations
            new = text.replace("max_recipients = 1000",
                               "max_recipients = %d" % (1000 - (k % 2)))
            with open(self.d.conf_path, "w") as f:
                f.write(new)
            self.d.proc.send_signal(signal.SIGHUP)
            time.sleep(0.15)
        self.assertTrue(load.join(180), "load hangs" + self._ctx())
        self.assertTrue(self.d.alive(), self.d.stderr())
        bad = [(load.addrs[i], r) for i, r in enumerate(load.replies)
               if not (r or "").startswith("250 ")]
        self.assertEqual(bad, [], "not delivered across SIGHUP" + self._ctx())
        self.check_new_dirs(load)
        self.assertGreaterEqual(self.d.log().count("reloaded"), 1, self._ctx())

        # A bad configuration is refused; the running one stays.
        with open(self.d.conf_path, "w") as f:
            f.write(text.replace("max_recipients = 1000", "max_recipients = 1")
                    + "\n[server]\nno_such_key = 1\n")
        before = self.d.log().count("refused")
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(h_wait(lambda: self.d.log().count("refused") > before, 5.0),
                        "no 'refused' in the log" + self._ctx())
        self.assertTrue(self.d.alive())
        self.assertRegex(self.d.log(), r"reload refused.*no_such_key")
        c = self.d.lmtp()
        msg = h.simple_message("after bad reload")
        _m, rr, dr = h.lmtp_send(c, "s@example.test", ["r1@bad.test", "r2@bad.test"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"] * 2, "max_recipients = 1 applied" + self._ctx())
        self.assertReplyRe(dr[0], h.delivered_re("r1@bad.test"))
        self.assertReplyRe(dr[1], h.delivered_re("r2@bad.test"))
        with open(self.d.conf_path, "w") as f:
            f.write(text)


class TermTest(FaultTestCase):

    def test_sigterm_under_load(self):
        load = Load(self.d, N_MESSAGES, CONCURRENCY, "term").start()
        self.assertTrue(load.wait_ok(N_MESSAGES // 4), "load did not get going" + self._ctx())
        self.d.stopped = True  # this test checks the exit itself
        self.d.proc.send_signal(signal.SIGTERM)
        rc = self.wait_exit(h.STOP_TIMEOUT + 30)
        self.assertEqual(rc, 0, "exit status after SIGTERM" + self._ctx())
        self.assertTrue(load.join(60), "load threads hang after SIGTERM")
        acked = load.acknowledged()
        report("SIGTERM", load)
        self.assertGreaterEqual(len(acked), N_MESSAGES // 4)
        self.check_new_dirs(load)
        # what was not acknowledged got a 421 or a closed connection
        for r in load.replies:
            if r is not None and not r.startswith("250 "):
                self.assertRegex(r, r"^(421 |ERR )", r)
        self.assertEqual(self.d.all_files(self.d.spool), [])
        # leave no tmp/ files either: the sessions that stored finished cleanly
        tmp_left = [p for p in self.d.message_files()
                    if os.path.basename(os.path.dirname(p)) == "tmp"]
        self.assertEqual(tmp_left, [], "tmp/ leftovers after a clean stop")


def report(what, load):
    """One line on stderr for the test log: how the load ended."""
    kinds = {}
    for r in load.replies:
        k = "untried" if r is None else r[:3]
        kinds[k] = kinds.get(k, 0) + 1
    in_new = sum(len(load.d.stored(a)) for a in load.addrs)
    sys.stderr.write("\n%s: replies %r, files in new/: %d\n" % (what, kinds, in_new))


def h_wait(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


if __name__ == "__main__":
    h.main()
