"""The data path's outcomes through the real daemon: what happens to mail a
scan limit left unchecked (unchecked_action, the X-Virus-Scanned line),
and the SMTP listener's one reply when some recipients fail: a tempfail
known before storing stores nothing for anyone; a recipient whose Maildir
vanished after RCPT gets a DSN through the relay (Postfix's smtp-sink,
started here) or, with no relay, the message is deferred.
"""

import base64
import os
import shutil
import smtplib
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402


def nested_eicar(levels):
    """EICAR at the bottom of `levels` nested multipart/mixed parts."""
    att = base64.encodebytes(h.EICAR.encode()).decode()
    inner = ("Content-Type: application/octet-stream; name=\"e.com\"\n"
             "Content-Transfer-Encoding: base64\n\n" + att)
    for n in range(levels):
        b = "b%d" % n
        inner = ("Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n%s\n--%s--\n"
                 % (b, b, inner, b))
    return h.crlf("From: <a@example.test>\nTo: <b@example.test>\n"
                  "Subject: nested\nMessage-ID: <nested@example.test>\n"
                  "MIME-Version: 1.0\n" + inner)


class UncheckedCase(h.DaemonTestCase):
    action = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lmtpscan-pipe-")
        cls.db = h.make_test_signatures(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def daemon_args(self):
        extra = ""
        if self.action:
            extra = "[policy default]\nunchecked_action = %s\n" % self.action
        return {"overrides": {"clamav": {"enabled": "yes", "database": self.db,
                                         "reload_check": "0", "max_recursion": "8"}},
                "extra": extra}

    def send_nested(self):
        with self.d.lmtp() as c:
            return h.lmtp_send(c, "a@example.test", ["u@example.test"], nested_eicar(30))


class UncheckedDeliver(UncheckedCase):
    def test_limit_is_delivered_marked_unchecked(self):
        _, _, dr = self.send_nested()
        self.assertReplyRe(dr[0], h.delivered_re("u@example.test"))
        stored = self.d.stored("u@example.test")
        self.assertEqual(len(stored), 1)
        scanned = h.header_values(h.read_file(stored[0]), "X-Virus-Scanned")
        self.assertEqual(len(scanned), 1, scanned)
        self.assertRegex(scanned[0], r"^lmtpscan\s+\(ClamAV [0-9.]+\)\s+unchecked:\s+\S+\s+at\s")
        self.assertNotIn("signatures", scanned[0])
        self.assertIn("verdict=unchecked action=deliver", self.d.stderr())


class UncheckedQuarantine(UncheckedCase):
    action = "quarantine"

    def test_limit_is_quarantined(self):
        _, _, dr = self.send_nested()
        self.assertReplyRe(dr[0], r"250 2\.7\.0 <u@example\.test> quarantined %s" % h.MAIL_ID_RE)
        self.assertEqual(self.d.stored("u@example.test"), [])
        self.assertEqual(len([f for f in os.listdir(self.d.quarantine)
                              if f.endswith(".eml")]), 1)


class UncheckedReject(UncheckedCase):
    action = "reject"

    def test_limit_is_rejected(self):
        _, _, dr = self.send_nested()
        self.assertReplyRe(dr[0], r"554 5\.7\.0 <u@example\.test> rejected: unchecked: .+")
        self.assertEqual(self.d.stored("u@example.test"), [])


def smtp_send(port, rcpts, msg, sender="s@example.test"):
    """One SMTP transaction; returns (code, text) of the reply after DATA."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    try:
        s.ehlo("client.example.test")
        code, _ = s.mail(sender)
        assert code == 250
        for r in rcpts:
            code, _ = s.rcpt(r)
            assert code == 250, (r, code)
        code, text = s.data(msg)
        return code, text.decode()
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


class SmtpEarlyTempfail(h.DaemonTestCase):
    """spamd down: one policy tempfails, the other passes. Over SMTP the
    message gets 451 and nothing is stored for either recipient, so the
    retry makes no duplicate."""

    def daemon_args(self):
        dead = h.free_port()  # nothing listens there
        return {"overrides": {"spamd": {"enabled": "yes",
                                        "address": "inet:127.0.0.1:%d" % dead,
                                        "timeout": "5s"}},
                "extra": "[policy lenient]\nscan_error_action = pass\n"
                         "[recipients]\nlenient@example.test = lenient\n"}

    def test_nothing_stored_for_anyone(self):
        code, text = smtp_send(self.d.smtp_port, ["lenient@example.test", "strict@example.test"],
                               h.simple_message("early tempfail"))
        self.assertEqual(code, 451, text)
        self.assertEqual(self.d.stored("lenient@example.test"), [])
        self.assertEqual(self.d.stored("strict@example.test"), [])
        self.assertEqual(self.d.message_files(), [])

    def test_lmtp_still_delivers_the_passing_recipient(self):
        with self.d.lmtp() as c:
            _, _, dr = h.lmtp_send(c, "s@example.test",
                                   ["lenient@example.test", "strict@example.test"],
                                   h.simple_message("lmtp tempfail"))
        self.assertReplyRe(dr[0], h.delivered_re("lenient@example.test"))
        self.assertReply(dr[1], "451 4.3.0 <strict@example.test> scan failed, try again later")


SmtpSink = h.SmtpSink


class VanishedMaildirCase(h.DaemonTestCase):
    """maildir_create = no; bob's Maildir vanishes between RCPT and DATA
    while alice's stays: over SMTP bob is owed a bounce."""

    relay = True

    def daemon_args(self):
        self.sink = None
        overrides = {"deliver": {"maildir_create": "no", "relay": ""}}
        if self.relay:
            top = tempfile.mkdtemp(prefix="lmtpscan-sink-")
            self.addCleanup(shutil.rmtree, top, True)
            self.sink = SmtpSink(os.path.join(top, "sink"))
            self.addCleanup(self.sink.stop)
            overrides["deliver"]["relay"] = "inet:127.0.0.1:%d" % self.sink.port
        return {"overrides": overrides}

    def transaction(self):
        for who in ("alice", "bob"):
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.d.maildir(who + "@example.test"), sub))
        s = smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=60)
        s.ehlo("client.example.test")
        self.assertEqual(s.mail("sender@example.test")[0], 250)
        self.assertEqual(s.rcpt("alice@example.test")[0], 250)
        self.assertEqual(s.rcpt("bob@example.test")[0], 250)
        shutil.rmtree(self.d.maildir("bob@example.test"))
        code, text = s.data(h.simple_message("vanished"))
        s.quit()
        return code, text.decode()


class VanishedMaildir(VanishedMaildirCase):
    def test_dsn_through_the_relay(self):
        code, text = self.transaction()
        self.assertEqual(code, 250, text + self._ctx())
        self.assertEqual(len(self.d.stored("alice@example.test")), 1)
        mails = self.sink.mails()
        self.assertEqual(len(mails), 1, "one DSN expected")
        dsn = mails[0]
        self.assertIn(b"multipart/report", dsn)
        self.assertIn(b"Final-Recipient: rfc822; bob@example.test", dsn)
        self.assertIn(b"Status: 5.1.1", dsn)
        self.assertNotIn(b"Remote-MTA", dsn)


class VanishedMaildirNoRelay(VanishedMaildirCase):
    relay = False

    def test_message_deferred(self):
        code, text = self.transaction()
        self.assertEqual(code, 451, text)
        self.assertIn("DSN owed", self.d.stderr())


if __name__ == "__main__":
    h.main()
