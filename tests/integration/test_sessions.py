"""Session life cycle: a connection dropped in the middle of DATA delivers
nothing and leaves no spool file, max_sessions (421 4.3.2), allow_from
(554 5.7.1 greeting on inet, unix socket unaffected), the idle timeout
(421 4.4.2), SIGTERM (exit 0, a session in progress may finish) and SIGHUP
(reload keeps serving; a bad new config is refused)."""

import base64
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

DATA_GO = "354 End data with <CR><LF>.<CR><LF>"


def wait_until(pred, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


class DropTest(h.DaemonTestCase):

    def deliver_ok(self, addr, where="lmtp"):
        c = self.d.raw(where)
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<%s>" % addr), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("after the drop")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re(addr))
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")
        self.assertOneStored(addr, msg)

    def dropped_session(self, rcpts, payload, reset=False, bdat=False):
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        for r in rcpts:
            self.assertReply(c.cmd("RCPT TO:<%s>" % r), "250 2.1.5 Ok")
        if bdat:
            c.send(b"BDAT %d LAST\r\n" % (len(payload) + 1000) + payload)
        else:
            self.assertReply(c.cmd("DATA"), DATA_GO)
            c.send(payload)
        # let the daemon take the bytes in before the connection goes
        time.sleep(0.2)
        if reset:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    def assertNothingDelivered(self, rcpts, allowed=()):
        """No file in any new/, cur/ or tmp/ (but the allowed recipients'
        Maildirs) and an empty spool, within a bounded wait."""
        keep = tuple(self.d.maildir(a) + os.sep for a in allowed)

        def files():
            return [p for p in self.d.message_files() if not p.startswith(keep)]

        def clean():
            return files() == [] and self.d.all_files(self.d.spool) == []
        wait_until(clean, 5.0)
        self.assertEqual(files(), [], self._ctx())
        self.assertSpoolEmpty()
        for r in rcpts:
            self.assertEqual(self.d.stored(r), [])

    def test_drop_in_data(self):
        rcpts = ["drop1@d.test", "drop2@d.test"]
        # LF . LF is not an end of data: the message is unfinished
        payload = h.simple_message("dropped") + b"x" * 200000 + b"\n.\nalmost\r\n"
        self.dropped_session(rcpts, payload)
        self.assertNothingDelivered(rcpts)
        self.deliver_ok("alive@d.test")
        self.assertNothingDelivered(rcpts, allowed=["alive@d.test"])

    def test_drop_after_crlf_dot(self):
        """CRLF "." without the final CRLF is not the end of data."""
        rcpts = ["drop3@d.test"]
        self.dropped_session(rcpts, h.simple_message("nearly ended") + b".")
        self.assertNothingDelivered(rcpts)
        self.deliver_ok("alive2@d.test")

    def test_reset_in_data(self):
        rcpts = ["drop4@d.test"]
        self.dropped_session(rcpts, b"Subject: rst\r\n\r\n" + b"y" * 300000, reset=True)
        self.assertNothingDelivered(rcpts)
        self.deliver_ok("alive3@d.test", "unix")

    def test_drop_in_bdat_chunk(self):
        rcpts = ["drop5@d.test"]
        self.dropped_session(rcpts, b"Subject: bdat drop\r\n\r\nshort\r\n", bdat=True)
        self.assertNothingDelivered(rcpts)
        self.deliver_ok("alive4@d.test")


class MaxSessionsTest(h.DaemonTestCase):
    config = {"server": {"max_sessions": "2"}}

    def open_two(self):
        """Two sessions with greetings; the readiness probe's session may
        still be winding down, so a 421 here is retried (bounded)."""
        deadline = time.monotonic() + 5.0
        while True:
            a = self.d.raw()
            b = self.d.raw()
            if a.greeting.startswith("220 ") and b.greeting.startswith("220 "):
                return a, b
            a.close()
            b.close()
            self.assertLess(time.monotonic(), deadline, "no two sessions: %r %r"
                            % (a.greeting, b.greeting))
            time.sleep(0.05)

    def test_slot_free_once_the_client_saw_the_end(self):
        """A client that read the end of its session (EOF after QUIT) and
        connects again is never refused for that old session: its slot is
        given back before the connection closes."""
        a, b = self.open_two()
        for i in range(100):
            for c in (a, b):
                self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")
                self.assertTrue(c.at_eof(), "no close after QUIT")
                c.close()
            a, b = self.d.raw(), self.d.raw()
            self.assertEqual((a.greeting[:4], b.greeting[:4]), ("220 ", "220 "),
                             "round %d: %r %r" % (i, a.greeting, b.greeting))

    def test_third_session_refused(self):
        a, b = self.open_two()
        self.assertReply(a.greeting, "220 %s LMTP lmtpscan ready" % h.HOST)
        c = self.d.raw()
        self.assertReply(c.greeting, "421 4.3.2 %s Too many sessions, try again later" % h.HOST)
        self.assertTrue(c.at_eof(), "no close after 421")
        # the unix socket counts toward the same limit
        u = self.d.raw("unix")
        self.assertReply(u.greeting, "421 4.3.2 %s Too many sessions, try again later" % h.HOST)
        self.assertTrue(u.at_eof())
        # the two sessions still work
        self.assertReply(a.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertReply(b.cmd("NOOP"), "250 2.0.0 Ok")
        # after one ends, a new one is accepted
        self.assertReply(a.cmd("QUIT"), "221 2.0.0 Bye")
        self.assertTrue(a.at_eof())
        ok = wait_until(lambda: self._greets(), 5.0, 0.05)
        self.assertTrue(ok, "no new session after one ended" + self._ctx())

    def _greets(self):
        c = self.d.raw()
        g = c.greeting
        c.close()
        return g.startswith("220 ")


class AllowFromTest(h.DaemonTestCase):
    config = {"server": {"allow_from": "10.0.0.0/8"}}

    def test_inet_client_refused(self):
        c = self.d.raw()
        self.assertReply(c.greeting, "554 5.7.1 %s Access denied" % h.HOST)
        self.assertTrue(c.at_eof(), "no close after 554")
        s = self.d.raw("smtp")
        self.assertReply(s.greeting, "554 5.7.1 %s Access denied" % h.HOST)
        self.assertTrue(s.at_eof())

    def test_unix_socket_allowed(self):
        conn = self.d.lmtp(unix=True)
        msg = h.simple_message("unix allowed")
        _, rr, dr = h.lmtp_send(conn, "s@x.test", ["unixok@d.test"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"])
        self.assertReplyRe(dr[0], h.delivered_re("unixok@d.test"))
        self.assertOneStored("unixok@d.test", msg)
        conn.quit()


class TimeoutTest(h.DaemonTestCase):
    config = {"server": {"timeout": "2s"}}

    def test_idle_client_gets_421(self):
        c = self.d.raw()
        t0 = time.monotonic()
        c.sock.settimeout(10)
        self.assertReply(c.reply(), "421 4.4.2 %s Error: timeout exceeded" % h.HOST)
        waited = time.monotonic() - t0
        self.assertTrue(c.at_eof(), "no close after 421")
        self.assertGreater(waited, 1.5)
        self.assertLess(waited, 6.0)

    def test_timeout_in_data(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<slow@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(b"Subject: slow\r\n\r\npartial")
        c.sock.settimeout(10)
        self.assertReply(c.reply(), "421 4.4.2 %s Error: timeout exceeded" % h.HOST)
        self.assertTrue(c.at_eof())
        self.assertEqual(self.d.message_files(), [])
        self.assertSpoolEmpty()

    def test_active_client_not_timed_out(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        for _ in range(4):  # 4 x 1 s > timeout, each command resets it
            time.sleep(1.0)
            self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")


class SignalTest(h.DaemonTestCase):

    def test_sigterm_exits_0(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        c.close()
        rc, killed = self.d.stop()
        self.assertFalse(killed)
        self.assertEqual(rc, 0, self.d.stderr())
        self.assertFalse(os.path.exists(self.d.sock_path) and self._connects())

    def _connects(self):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(self.d.sock_path)
            s.close()
            return True
        except OSError:
            return False

    def test_sigterm_lets_session_finish(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<term@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(b"Subject: term\r\n\r\nfirst half\r\n")
        self.d.stopped = True
        self.d.proc.send_signal(signal.SIGTERM)
        # listeners close: a new connection is refused soon
        self.assertTrue(wait_until(lambda: not self._inet_connects(), 5.0),
                        "listener still open after SIGTERM")
        c.send(b"second half\r\n.\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("term@d.test"))
        self.assertOneStored("term@d.test", b"Subject: term\r\n\r\nfirst half\r\nsecond half\r\n")
        try:
            c.send(b"QUIT\r\n")
            c.reply()
        except (OSError, EOFError):
            pass
        c.close()
        try:
            rc = self.d.proc.wait(h.STOP_TIMEOUT)
        except Exception:
            rc = None
        self.assertEqual(rc, 0, self.d.stderr())

    def _inet_connects(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.d.port), timeout=1)
            s.close()
            return True
        except OSError:
            return False

    def test_sighup_reload(self):
        # a good new config: max_recipients 1 applies to new sessions
        with open(self.d.conf_path) as f:
            text = f.read()
        old = self.d.raw()
        old.cmd("LHLO x")
        with open(self.d.conf_path, "w") as f:
            f.write(text.replace("max_recipients = 1000", "max_recipients = 1"))
        self.d.proc.send_signal(signal.SIGHUP)

        def reloaded():
            c = self.d.raw()
            c.cmd("LHLO x")
            c.cmd("MAIL FROM:<s@x.test>")
            c.cmd("RCPT TO:<h1@d.test>")
            r = c.cmd("RCPT TO:<h2@d.test>")
            c.close()
            return r == "452 4.5.3 Too many recipients"
        self.assertTrue(wait_until(reloaded, 5.0, 0.1), "reload not applied" + self._ctx())
        # the session opened before the reload was not dropped
        self.assertReply(old.cmd("NOOP"), "250 2.0.0 Ok")
        # a bad config is refused and the running one kept
        with open(self.d.conf_path, "w") as f:
            f.write(text + "\n[server]\nno_such_key = 1\n")
        self.d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertTrue(self.d.alive(), self.d.stderr())
        self.assertTrue(reloaded(), "bad config replaced the running one" + self._ctx())
        with open(self.d.conf_path, "w") as f:
            f.write(text)



# ---------------------------------------------------------------------------
# Session limits: nobody holds a slot for ever (session_timeout, max_errors,
# max_auth_failures, max_commands_before_auth, trusted_sessions)
# ---------------------------------------------------------------------------

def send_until_closed(c, line, limit):
    """Sends line (one at a time, so the daemon never closes with input
    unread) until a 421 or limit replies; returns the replies."""
    out = []
    for _ in range(limit):
        try:
            out.append(c.cmd(line))
        except (EOFError, OSError):
            break
        if out[-1].startswith("421 "):
            break
    return out


def make_sasldb(directory, users, realm):
    """A sasldb with users {name: password} and lmtpscan.conf for libsasl2."""
    db = os.path.join(directory, "sasldb2")
    for user, password in users.items():
        subprocess.run(["saslpasswd2", "-f", db, "-p", "-c", "-u", realm, user],
                       input=password.encode(), check=True, timeout=30)
    with open(os.path.join(directory, "lmtpscan.conf"), "w") as f:
        f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                "sasldb_path: %s\nmech_list: PLAIN LOGIN\n" % db)


class SessionTimeoutTest(h.DaemonTestCase):
    # the clients below are never idle for 10 s: only session_timeout ends them
    config = {"server": {"timeout": "10s", "session_timeout": "3s"}}

    def test_noop_forever_is_closed(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < 30:
            try:
                last = c.cmd("NOOP")
            except (EOFError, OSError):
                break
            if not last.startswith("250 "):
                break
            time.sleep(0.3)
        waited = time.monotonic() - t0
        self.assertReply(last, "421 4.4.2 %s session time limit exceeded, closing" % h.HOST)
        self.assertTrue(c.at_eof(), "no close after 421")
        self.assertLess(waited, 15.0)
        self.assertGreater(waited, 2.0)

    def test_transaction_under_way_finishes(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<late@d.test>"), "250 2.1.5 Ok")
        time.sleep(4.0)  # past session_timeout, within one idle timeout
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("late but whole")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("late@d.test"))
        self.assertOneStored("late@d.test", msg)
        self.assertReply(c.cmd("NOOP"),
                         "421 4.4.2 %s session time limit exceeded, closing" % h.HOST)
        self.assertTrue(c.at_eof())

    def test_command_a_byte_at_a_time_is_cut(self):
        """A command line that never ends, a byte every 0.5 s: each read is
        short, the line is not; the session ends two idle timeouts after
        session_timeout at the latest."""
        c = self.d.raw()
        c.cmd("LHLO x")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 60:
            try:
                c.send(b"N")
            except OSError:
                closed = True
                break
            if c.at_eof(0.5):
                closed = True
                break
        waited = time.monotonic() - t0
        self.assertTrue(closed, "a client sending a line a byte at a time kept its session "
                        "for 60 s" + self._ctx())
        self.assertLess(waited, 45.0)  # 3 s + 2 x 10 s, and slack

    def test_data_a_byte_at_a_time_is_cut(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<trickle@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 60:
            try:
                c.send(b"x")
            except OSError:
                closed = True
                break
            if c.at_eof(0.5):
                closed = True
                break
        waited = time.monotonic() - t0
        self.assertTrue(closed, "a trickling client kept its session for 60 s" + self._ctx())
        # session_timeout (3 s) plus one idle timeout of grace (10 s), and slack
        self.assertLess(waited, 40.0)
        self.assertEqual(self.d.message_files(), [])
        self.assertIn("session_timeout (3s) passed", self.d.stderr())


class MaxErrorsTest(h.DaemonTestCase):
    """The default max_errors (20) applies."""

    def test_closed_after_max_errors(self):
        c = self.d.raw()
        replies = send_until_closed(c, "BOGUS", 100)
        self.assertEqual(replies[:20], ["500 5.5.1 Unknown command"] * 20, self._ctx())
        self.assertEqual(replies[20:],
                         ["421 4.7.0 %s Error: too many errors, closing" % h.HOST], self._ctx())
        self.assertTrue(c.at_eof())

    def test_data_outcomes_are_not_errors(self):
        """Per-recipient replies after the data do not count."""
        d = h.Daemon(overrides={"server": {"max_errors": "2", "max_message_size": "1K"}})
        self.addCleanup(d.cleanup)
        d.start()
        c = d.raw()
        c.cmd("LHLO x")
        for i in range(3):
            c.cmd("MAIL FROM:<s@x.test>")
            c.cmd("RCPT TO:<a%d@d.test>" % i)
            c.cmd("RCPT TO:<b%d@d.test>" % i)
            self.assertReply(c.cmd("DATA"), DATA_GO)
            c.send(b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n.\r\n")
            self.assertEqual([r[:3] for r in c.replies(2)], ["552", "552"])
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        d.stop()


class UntrustedClientsTest(h.DaemonTestCase):
    """auth = yes and 127.0.0.1 outside allow_from: every inet client is
    untrusted; the unix socket is trusted."""
    config = {"server": {"auth": "yes", "allow_from": "10.0.0.0/8", "max_sessions": "4",
                         "trusted_sessions": "2"}}

    def greet_unix(self):
        deadline = time.monotonic() + 5
        while True:
            c = self.d.raw("unix")
            if c.greeting.startswith("220 ") or time.monotonic() > deadline:
                self.assertReply(c.greeting, "220 %s LMTP lmtpscan ready" % h.HOST)
                return c
            c.close()
            time.sleep(0.05)

    def test_untrusted_cannot_lock_out_trusted(self):
        held = []
        deadline = time.monotonic() + 10
        # as many untrusted sessions as the daemon allows at all
        while time.monotonic() < deadline and len(held) < 4:
            c = self.d.raw()
            if c.greeting.startswith("220 "):
                held.append(c)
            else:
                self.assertReply(c.greeting,
                                 "421 4.3.2 %s Too many sessions, try again later" % h.HOST)
                c.close()
                if len(held) >= 2:
                    break
                time.sleep(0.05)
        self.assertEqual(len(held), 2, "untrusted clients got %d of 4 slots" % len(held))
        for c in held:
            self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        # the trusted client still gets in, twice (a readiness probe's
        # session may still be winding down: retried within a bound)
        u1 = self.greet_unix()
        u2 = self.greet_unix()
        self.assertReply(u2.greeting, "220 %s LMTP lmtpscan ready" % h.HOST)
        self.assertReply(u1.cmd("LHLO x"), "\n".join(h.lhlo_lines(h.HOST, 50 * 1024 * 1024)))

    def test_commands_before_auth_limited(self):
        c = self.d.raw()
        replies = send_until_closed(c, "NOOP", 300)
        self.assertEqual(replies[:20], ["250 2.0.0 Ok"] * 20, self._ctx())
        self.assertEqual(replies[20:], ["421 4.7.0 %s Error: too many commands before "
                                        "authentication, closing" % h.HOST], self._ctx())
        self.assertTrue(c.at_eof())

    def test_trusted_client_has_no_command_limit(self):
        c = self.d.raw("unix")
        c.send(b"NOOP\r\n" * 100)
        self.assertEqual(c.replies(100), ["250 2.0.0 Ok"] * 100)


class SaslMixin:
    """A sasldb with user "client" (password "right") for libsasl2."""

    def setUp(self):
        if shutil.which("saslpasswd2") is None:
            self.skipTest("saslpasswd2 (sasl2-bin) missing")
        sasl_dir = tempfile.mkdtemp(prefix="lmtpscan-sasl-")
        self.addCleanup(shutil.rmtree, sasl_dir, True)
        make_sasldb(sasl_dir, {"client": "right"}, h.HOST)
        old = os.environ.get("SASL_CONF_PATH")
        os.environ["SASL_CONF_PATH"] = sasl_dir

        def restore():
            if old is None:
                os.environ.pop("SASL_CONF_PATH", None)
            else:
                os.environ["SASL_CONF_PATH"] = old
        self.addCleanup(restore)
        super().setUp()


class AuthFailuresTest(SaslMixin, h.DaemonTestCase):
    config = {"server": {"auth": "yes", "allow_from": "10.0.0.0/8"}}

    @staticmethod
    def plain(user, password):
        return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()

    def test_300_wrong_passwords(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        replies = []
        for i in range(300):
            try:
                replies.append(c.cmd("AUTH PLAIN " + self.plain("client", "wrong%d" % i)))
            except (EOFError, OSError):
                break
            if replies[-1].startswith("421 "):
                break
        self.assertEqual(replies[:3], ["535 5.7.8 Error: authentication failed"] * 3,
                         self._ctx())
        self.assertEqual(replies[3:], ["421 4.7.0 %s Error: too many failed authentications, "
                                       "closing" % h.HOST], self._ctx())
        self.assertTrue(c.at_eof())
        # the right password still works in a new session
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("AUTH PLAIN " + self.plain("client", "right")),
                         "235 2.7.0 Authentication successful")
        self.assertReply(c.cmd("MAIL FROM:<a@x.test>"), "250 2.1.0 Ok")



class ReloadInBackgroundTest(h.DaemonTestCase):
    """SIGHUP loads the signatures beside the accept loop: new clients are
    greeted at once while a large database loads."""

    N_SIGNATURES = 800000

    def daemon_args(self):
        self.db = tempfile.mkdtemp(prefix="lmtpscan-db-")
        self.addCleanup(shutil.rmtree, self.db, True)
        with open(os.path.join(self.db, "small.hdb"), "w") as f:
            f.write("%s:1234:Test.Small.UNOFFICIAL\n" % hashlib.md5(b"small").hexdigest())
        return {"overrides": {"clamav": {"enabled": "yes", "database": self.db,
                                         "reload_check": "0"}}}

    def test_greeting_during_sighup_load(self):
        with open(os.path.join(self.db, "big.hdb"), "w") as f:
            f.writelines("%s:%d:Test.Big.%d.UNOFFICIAL\n"
                         % (hashlib.md5(b"%d" % i).hexdigest(), 1000 + i, i)
                         for i in range(self.N_SIGNATURES))
        t0 = time.monotonic()
        self.d.proc.send_signal(signal.SIGHUP)
        latencies = []
        while "configuration %s reloaded" % self.d.conf_path not in self.d.stderr():
            self.assertLess(time.monotonic() - t0, 120, "no reload" + self._ctx())
            t = time.monotonic()
            c = self.d.raw()
            latencies.append(time.monotonic() - t)
            self.assertReply(c.greeting, "220 %s LMTP lmtpscan ready" % h.HOST)
            self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
            c.close()
            time.sleep(0.05)
        load = time.monotonic() - t0
        self.assertIn("%d signatures" % (self.N_SIGNATURES + 1), self.d.stderr())
        self.assertGreater(load, 1.0, "the load was too fast to tell")
        self.assertTrue(latencies, "no client connected during the load")
        self.assertLess(max(latencies), load / 2,
                        "greeting took %.2f s of a %.2f s load" % (max(latencies), load))



# ---------------------------------------------------------------------------
# Logs: what a client sends cannot forge key=value fields or put control
# bytes on the terminal
# ---------------------------------------------------------------------------

FORGED = b"mail_id=forged"


class LogEscapingTest(SaslMixin, h.DaemonTestCase):
    config = {"server": {"auth": "yes", "allow_from": "10.0.0.0/8"}}

    def assertLogClean(self):
        log = h.read_file(self.d.stderr_path)
        for ch in set(range(0x20)) - {0x0a}:
            self.assertNotIn(bytes([ch]), log, "raw control byte 0x%02x in the log:\n%r"
                             % (ch, log[-3000:]))
        self.assertNotIn(b"\x7f", log)
        for line in log.split(b"\n"):
            self.assertNotIn(FORGED, line.split(b" "), "forged field in %r" % line)
            self.assertNotIn(b"verdict=clean", line.split(b" "), "forged field in %r" % line)

    def test_auth_values_escaped(self):
        c = self.d.raw()
        c.cmd("LHLO x")
        # a mechanism name with ESC, CR, DEL, a quote and a bad UTF-8 byte
        mech = b"\x1b[2J\"\r\x7f\xff" + FORGED
        self.assertEqual(c.cmd(b"AUTH " + mech)[:4], "504 ")
        # a user name with blanks, quotes and control bytes
        user = b"x \x1b]0;pwn\x07 " + FORGED + b" verdict=clean\""
        resp = base64.b64encode(b"\0" + user + b"\0wrong")
        self.assertEqual(c.cmd(b"AUTH PLAIN " + resp)[:4], "535 ")
        c.cmd("QUIT")
        self.assertTrue(wait_until(lambda: "AUTH PLAIN failed" in self.d.stderr()), self._ctx())
        self.assertIn("AUTH \\x1B[2J\\\"\\x0D\\x7F\\xFF" + FORGED.decode() + " failed",
                      self.d.stderr())
        self.assertLogClean()

    def test_forged_sender_fields(self):
        conn = self.d.lmtp(unix=True)
        sender = '"x> rcpt=<v@x> verdict=clean %s"@d.test' % FORGED.decode()
        msg = h.simple_message("forged log fields")
        m, _, dr = h.lmtp_send(conn, sender, ["logged@d.test"], msg)
        self.assertEqual(m, "250 2.1.0 Ok")
        self.assertReplyRe(dr[0], h.delivered_re("logged@d.test"))
        conn.quit()
        self.assertTrue(wait_until(lambda: "rcpt=<logged@d.test>" in self.d.stderr()))
        self.assertLogClean()
        for line in h.read_file(self.d.stderr_path).split(b"\n"):
            self.assertNotIn(b"rcpt=<v@x>", line.split(b" "), "forged field in %r" % line)


if __name__ == "__main__":
    h.main()
