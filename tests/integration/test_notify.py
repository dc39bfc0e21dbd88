#!/usr/bin/env python3
"""Notices (SPEC section 13), end to end: lmtpscand with the test
signatures quarantines an EICAR mail and sends the admin and the recipient
a notice through a real SMTP server (Postfix's smtp-sink): from the null
sender, the right header fields, no content of the held mail, and a
hostile Subject (CR/LF in an encoded word) adds no header field. With the
server down the notice is kept in queue_dir and sent once the server is
back, also across a kill -9 of the daemon; a 5xx drops it with a log line.
A notice never changes the mail's reply. The daemon runs in maildir mode
(notices through [notify] method), and in relay mode with method empty
(notices through the relay).
"""

import email
import email.policy
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

HOSTILE = "=?UTF-8?Q?hi=0D=0ABcc:_victim@example.test=0D=0AX-Evil:_1?="
QUARANTINED_RE = r"250 2\.7\.0 <%s> quarantined " + h.MAIL_ID_RE


def setUpModule():
    STATE["tmp"] = tempfile.mkdtemp(prefix="lmtpscan-notify-")
    os.chmod(STATE["tmp"], 0o755)  # smtp-sink writes as nobody below it
    STATE["db"] = h.make_test_signatures(STATE["tmp"])


def tearDownModule():
    shutil.rmtree(STATE.get("tmp", ""), ignore_errors=True)


STATE = {}


def split_dump(raw):
    """smtp-sink's dump: its own X-* lines about the envelope, then the
    message. Returns (envelope dict, message bytes)."""
    env = {}
    lines = raw.split(b"\n")
    i = 0
    while i < len(lines) and re.match(rb"^X-(Client|Helo|Mail|Rcpt)-", lines[i]):
        k, _, v = lines[i].partition(b":")
        env.setdefault(k.decode(), []).append(v.strip().decode())
        i += 1
    return env, b"\n".join(lines[i:])


class NoticeCase(h.DaemonTestCase):
    sink_args = ()
    sink_up = True

    def daemon_args(self):
        top = tempfile.mkdtemp(prefix="lmtpscan-notify-", dir=STATE["tmp"])
        os.chmod(top, 0o755)
        self.sink_dir = os.path.join(top, "sink")
        self.queue_dir = os.path.join(top, "queue")
        os.makedirs(self.queue_dir)
        self.sink = None
        if self.sink_up:
            self.start_sink()
            self.sink_port = self.sink.port
        else:
            self.sink_port = h.free_port()
        return {"overrides": {
            "clamav": {"enabled": "yes", "database": STATE["db"], "reload_check": "0"},
            "notify": {
                "method": "inet:127.0.0.1:%d" % self.sink_port,
                "from": "postmaster",
                "admin": "admin@example.test",
                "admin_on": "virus",
                "recipient_on": "virus, spam",
                "queue_dir": self.queue_dir,
            },
        }}

    def start_sink(self):
        port = getattr(self, "sink_port", None)
        self.sink = h.SmtpSink(self.sink_dir, port=port, args=self.sink_args)
        self.addCleanup(self.sink.stop)

    def send_virus(self, subject="eicar", rcpts=("bob@example.test",)):
        with self.d.lmtp() as c:
            _m, _r, replies = h.lmtp_send(c, "mallory@evil.test", list(rcpts),
                                          h.eicar_message(subject))
        for r, addr in zip(replies, rcpts):
            self.assertRegex(r, QUARANTINED_RE % re.escape(addr), self._ctx())
        return re.search(h.MAIL_ID_RE + "$", replies[0]).group(0)

    def queued(self):
        return sorted(f for f in os.listdir(self.queue_dir) if not f.startswith("."))

    def wait_queue_empty(self, timeout):
        deadline = time.monotonic() + timeout
        while self.queued() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.queued()

    def notices(self, count, timeout=15.0):
        mails = self.sink.mails(timeout=timeout, count=count)
        self.assertEqual(len(mails), count, "notices received" + self._ctx())
        out = []
        for raw in mails:
            env, msg = split_dump(raw)
            out.append((env, msg, email.message_from_bytes(msg, policy=email.policy.default)))
        return out


class Delivered(NoticeCase):
    def test_admin_and_recipient_notices(self):
        mail_id = self.send_virus(HOSTILE)
        got = self.notices(2)
        by_rcpt = {}
        for env, raw, msg in got:
            # the null sender; never to the sender of the held mail
            self.assertEqual(len(env.get("X-Mail-Args", [])), 1, env)
            self.assertEqual(env["X-Mail-Args"][0].split()[0], "<>", env)
            self.assertEqual(len(env.get("X-Rcpt-Args", [])), 1, env)
            self.assertNotIn("mallory", env["X-Rcpt-Args"][0])
            by_rcpt[env["X-Rcpt-Args"][0]] = (raw, msg)
        self.assertEqual(sorted(by_rcpt), ["<admin@example.test>", "<bob@example.test>"])

        for rcpt, (raw, msg) in by_rcpt.items():
            self.assertEqual(h.header_value(raw, "Auto-Submitted"), "auto-generated")
            self.assertEqual(h.header_value(raw, "From"),
                             "Mail filter <postmaster@%s>" % h.HOST)
            self.assertEqual(h.header_value(raw, "To"), rcpt)
            self.assertIn("text/plain", msg["Content-Type"])
            self.assertEqual(msg.get_content_charset(), "utf-8")
            self.assertEqual(h.header_value(raw, "X-Lmtpscan-Mail-ID"), mail_id)
            # the hostile Subject added no field
            self.assertEqual(h.header_values(raw, "Bcc"), [])
            self.assertEqual(h.header_values(raw, "X-Evil"), [])
            self.assertEqual(len(h.header_values(raw, "Subject")), 1)
            self.assertIn("Bcc: victim", str(msg["Subject"]))  # shown, as text
            body = msg.get_content()
            self.assertIn("Mail ID:    " + mail_id, body)
            self.assertIn("Verdict:    virus", body)
            self.assertRegex(body, r"Reason:     virus \S*Eicar")
            self.assertIn("<eicar@example.test>", body)  # original Message-ID
            self.assertIn("a@example.test", body)        # original From
            # nothing of the held mail's content
            self.assertNotIn(h.EICAR.encode(), raw)
            self.assertNotIn(b"see attachment", raw)
            self.assertNotIn(b"WDVPIVAlQEFQ", raw)  # EICAR in base64
        admin = by_rcpt["<admin@example.test>"][1].get_content()
        self.assertIn("lmtpscan quarantine release " + mail_id, admin)
        user = by_rcpt["<bob@example.test>"][1].get_content()
        self.assertIn("only by the administrator", user)
        self.assertEqual(self.wait_queue_empty(5), [])


class ServerDown(NoticeCase):
    sink_up = False

    def test_kept_retried_and_survives_kill(self):
        # 1. down: queued, the reply unchanged; back: sent within the
        #    first retry (10 s) and a bit
        self.send_virus("first")
        self.assertEqual(len(self.queued()), 2, self._ctx())
        deadline = time.monotonic() + 5
        while "deferred" not in self.d.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("deferred", self.d.stderr(), "a first attempt failed")
        t0 = time.monotonic()
        self.assertEqual(len(self.queued()), 2, "kept while the server is down" + self._ctx())
        self.start_sink()
        self.notices(2, timeout=15)
        self.assertLess(time.monotonic() - t0, 12, "the first retry comes within 10 s")
        self.assertEqual(self.wait_queue_empty(5), [])

        # 2. down again, the daemon killed with SIGKILL: nothing lost
        self.sink.stop()
        shutil.rmtree(self.sink_dir)
        self.send_virus("second")
        self.assertEqual(len(self.queued()), 2, self._ctx())
        self.d.kill()
        self.assertEqual(len(self.queued()), 2, "queue after kill -9")
        self.start_sink()
        self.d.start()
        got = self.notices(2, timeout=15)
        for _env, _raw, msg in got:
            self.assertIn("second", str(msg["Subject"]))
        self.assertEqual(self.wait_queue_empty(5), [])


class Refused(NoticeCase):
    sink_args = ("-f", "RCPT")

    def test_5xx_drops_with_a_log_line(self):
        self.send_virus()
        self.assertEqual(self.wait_queue_empty(10), [], self._ctx())
        # the entry is removed before its log line is written: wait for both
        want = [r"notice \S+-a dropped: <admin@example.test> refused: 5\d\d",
                r"notice \S+-r0 dropped: <bob@example.test> refused: 5\d\d"]
        deadline = time.monotonic() + 10
        while (not all(re.search(w, self.d.log()) for w in want)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        log = self.d.log()
        for w in want:
            self.assertRegex(log, w)


class RelayMode(NoticeCase):
    """Relay mode with method empty: the notices go to the relay."""

    def daemon_args(self):
        args = super().daemon_args()
        args["overrides"]["notify"]["method"] = ""
        args["overrides"]["deliver"] = {"mode": "relay",
                                        "relay": "inet:127.0.0.1:%d" % self.sink_port}
        return args

    def test_through_the_relay(self):
        mail_id = self.send_virus()
        got = self.notices(2)
        self.assertEqual(sorted(env["X-Rcpt-Args"][0] for env, _r, _m in got),
                         ["<admin@example.test>", "<bob@example.test>"])
        for env, raw, _msg in got:
            self.assertEqual(env["X-Mail-Args"][0].split()[0], "<>")
            self.assertEqual(h.header_value(raw, "X-Lmtpscan-Mail-ID"), mail_id)
        self.assertEqual(self.wait_queue_empty(5), [])


class NotConfigured(NoticeCase):
    """recipient_on empty and no admin: nothing queued, nothing sent."""

    def daemon_args(self):
        args = super().daemon_args()
        args["overrides"]["notify"].update({"admin": "", "recipient_on": ""})
        return args

    def test_no_notice(self):
        self.send_virus()
        time.sleep(1)
        self.assertEqual(self.queued(), [])
        self.assertEqual(os.listdir(self.sink_dir), [])


if __name__ == "__main__":
    h.main()
