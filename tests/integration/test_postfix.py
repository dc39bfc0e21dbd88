"""lmtpscand with a REAL Postfix, started by the test in a private
directory on loopback ports (postfix_instance.py), in the three
topologies of the SPEC:

1. final delivery: virtual_transport = lmtp:unix:SOCKET (and inet), mail
   lands in the Maildir and Postfix logs status=sent; with scanning, GTUBE
   goes to .Junk and clam.mail to the quarantine;
2. content filter: content_filter = lmtp:[127.0.0.1]:PORT, lmtpscand in
   relay mode re-injects into a second Postfix smtpd (the classic
   127.0.0.1:10025 entry) which delivers with virtual(8); the original
   client is XFORWARD'ed; a relay 5xx for one recipient, a relay that is
   down, the DSN of the SMTP listener, and SMTP AUTH to the relay;
3. amavisd style: content_filter = amavisd:[127.0.0.1]:PORT with an
   `smtp`-type master.cf entry pointing at lmtpscand's SMTP listener.

Plus SASL AUTH against lmtpscand itself (auth = yes, loopback outside
allow_from), from smtplib and from Postfix's lmtp client.

Skips (exit 77) when Postfix cannot run here (not root, not installed).
"""

import base64
import email
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402
import postfix_instance as pi  # noqa: E402

DELIVERY_TIMEOUT = 60.0 if not h.SANITIZED else 120.0
TESTFILES = "/usr/share/clamav-testfiles"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

SKIP = pi.available()


def message(subject, body="Hello from the Postfix test.\n", sender="alice@example.test",
            to="bob@example.test"):
    return h.crlf("From: <%s>\nTo: <%s>\nSubject: %s\nMessage-ID: <%s@postfix.test>\n\n%s"
                  % (sender, to, subject, re.sub(r"\W", "-", subject), body))


def make_sasldb(directory, conf_name, users, realm):
    """A sasldb with users {name: password} and a libsasl2 config file
    conf_name (e.g. lmtpscan.conf) in directory using it."""
    os.makedirs(directory, exist_ok=True)
    db = os.path.join(directory, "sasldb2")
    for user, password in users.items():
        subprocess.run(["saslpasswd2", "-f", db, "-p", "-c", "-u", realm, user],
                       input=password.encode(), check=True, timeout=30)
    with open(os.path.join(directory, conf_name), "w") as f:
        f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                "sasldb_path: %s\nmech_list: PLAIN LOGIN\n" % db)
    return db


class PostfixCase(h.DaemonTestCase):
    """Starts lmtpscand (self.d), then a Postfix (self.pf) configured by
    postfix_main()/postfix_master() once the daemon's ports are known."""

    start_daemon = False
    mailboxes = ("alice@example.test", "bob@example.test", "carol@example.test")

    def postfix_ports(self):
        return ("smtp",)

    def postfix_main(self):
        return {}

    def postfix_master(self):
        return "127.0.0.1:{port[smtp]} inet n - n - - smtpd\n"

    def lmtpscan_config(self):
        return None

    def daemon_args(self):
        return {"overrides": self.lmtpscan_config(), "extra": self.extra}

    def setUp(self):
        if SKIP:
            self.skipTest(SKIP)
        self.pf = pi.Postfix(mailboxes=self.mailboxes)
        self.addCleanup(self.pf.cleanup)
        for name in self.postfix_ports():
            self.pf.new_port(name)
        super().setUp()
        try:
            self.d.start()
        except h.DaemonError as e:
            self.fail(str(e))
        # Postfix's lmtp client runs as user postfix: it must reach the
        # daemon's unix socket inside the daemon's private directory.
        os.chmod(self.d.tmp, 0o711)
        self.pf.main_extra.update(self.postfix_main())
        self.pf.master_extra = self.postfix_master()
        try:
            self.pf.start()
        except pi.PostfixError as e:
            self.fail(str(e))

    def _ctx(self):
        return (super()._ctx() + "\n--- Postfix maillog (tail) ---\n"
                + self.pf.log_text()[-6000:])

    def send_postfix(self, rcpts, msg, sender="alice@example.test", port="smtp", **kw):
        refused = pi.smtp_send(self.pf.port[port], sender, rcpts, msg, **kw)
        self.assertEqual(refused, {}, self._ctx())

    def wait_sent(self, rcpt, count=1, status="sent"):
        lines = self.pf.wait_log(r"to=<%s>.*status=%s" % (re.escape(rcpt), status),
                                 DELIVERY_TIMEOUT, count)
        self.assertGreaterEqual(len(lines), count,
                                "no status=%s for %s%s" % (status, rcpt, self._ctx()))
        return lines

    def wait_file(self, files_fn, count=1):
        files = pi.wait_for(lambda: (lambda f: f if len(f) >= count else None)(files_fn()),
                            DELIVERY_TIMEOUT)
        self.assertTrue(files, "nothing delivered" + self._ctx())
        return files


# ---------------------------------------------------------------------------
# Topology 1: Postfix delivers into lmtpscand (maildir mode)
# ---------------------------------------------------------------------------

class FinalDeliveryUnix(PostfixCase):
    def postfix_main(self):
        return {"virtual_transport": "lmtp:unix:" + self.d.sock_path}

    def test_ham_lands_in_maildir(self):
        msg = message("ham through postfix")
        self.send_postfix(["bob@example.test", "carol@example.test"], msg)
        for rcpt in ("bob@example.test", "carol@example.test"):
            line = self.wait_sent(rcpt)[0]
            self.assertIn("lmtp.sock", line)
            self.assertRegex(line, r"250 2\.0\.0 <%s> %s delivered"
                             % (re.escape(rcpt), h.MAIL_ID_RE))
        for rcpt in ("bob@example.test", "carol@example.test"):
            files = self.wait_file(lambda: self.d.stored(rcpt))
            self.assertEqual(len(files), 1)
            got = h.read_file(files[0])
            self.assertEqual(h.header_fields(got)[0][0], "Received", got[:300])
            received = h.header_values(got, "Received")
            self.assertRegex(received[0],
                             r"^from mx\.lmtpscan\.invalid .*\(lmtpscan\) with LMTP id ")
            # Postfix's own Received header follows ours
            self.assertRegex(received[1], r"\bby mx\.lmtpscan\.invalid \(Postfix\)")
            self.assertTrue(got.endswith(h.to_lf(msg).split(b"\n\n", 1)[1]))

    def test_missing_maildir_is_bounced_by_postfix(self):
        self.d.stop()
        # restart with maildir_create = no: carol has no Maildir
        self.d.overrides = {"deliver": {"maildir_create": "no"}}
        self.d.start()
        for who in ("bob@example.test", "alice@example.test"):
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(self.d.maildir(who), sub))
        self.pf.postfix("flush", check=False)
        self.send_postfix(["bob@example.test", "carol@example.test"], message("no maildir"))
        self.wait_sent("bob@example.test")
        line = self.wait_sent("carol@example.test", status="bounced")[0]
        self.assertIn("550 5.1.1", line)
        # the bounce goes back to alice through virtual_transport too
        files = self.wait_file(lambda: self.d.stored("alice@example.test"))
        self.assertIn(b"carol@example.test", h.read_file(files[0]))


class FinalDeliveryInet(PostfixCase):
    def postfix_main(self):
        return {"virtual_transport": "lmtp:inet:127.0.0.1:%d" % self.d.port}

    def test_ham_over_inet_lmtp(self):
        msg = message("ham over inet")
        self.send_postfix(["bob@example.test"], msg)
        line = self.wait_sent("bob@example.test")[0]
        self.assertIn("127.0.0.1[127.0.0.1]:%d" % self.d.port, line)
        files = self.wait_file(lambda: self.d.stored("bob@example.test"))
        self.assertIn(b"Hello from the Postfix test.", h.read_file(files[0]))


def scanning_prerequisites():
    if not os.path.exists(os.path.join(TESTFILES, "clam.mail")):
        return "clamav-testfiles missing"
    if shutil.which("spamd") is None:
        return "spamd missing"
    return None


class FinalDeliveryScanning(PostfixCase):
    """GTUBE to .Junk and clam.mail to the quarantine through Postfix."""

    spamd = {}

    @classmethod
    def setUpClass(cls):
        why = SKIP or scanning_prerequisites()
        if why:
            raise unittest.SkipTest(why)
        tmp = tempfile.mkdtemp(prefix="lmtpscan-pf-scan-")
        cls.spamd["tmp"] = tmp
        db = h.make_test_signatures(tmp, timeout=120)
        port = pi.free_port()
        pidfile = os.path.join(tmp, "spamd.pid")
        subprocess.run(["spamd", "-L", "--listen=127.0.0.1:%d" % port, "-m", "2", "-d",
                        "--pidfile=" + pidfile, "-u", "nobody",
                        "-s", os.path.join(tmp, "spamd.log")],
                       check=True, timeout=60, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

        def ready():
            if not os.path.exists(pidfile):
                return False
            r = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(port), "-K"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=10)
            return r.returncode == 0
        if not pi.wait_for(ready, 90, 0.3):
            raise RuntimeError("spamd did not start")
        with open(pidfile) as f:
            cls.spamd.update(pid=int(f.read().strip()), port=port, db=db)

    @classmethod
    def tearDownClass(cls):
        pid = cls.spamd.get("pid")
        if pid:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
            pi.wait_for(lambda: not pi._alive(pid), 20)
        if cls.spamd.get("tmp"):
            shutil.rmtree(cls.spamd["tmp"], ignore_errors=True)

    # GTUBE scores 1000: keep it below the block level so it is junked
    extra = "[policy default]\nspam_block_level = 2000\n"

    def lmtpscan_config(self):
        return {
            "server": {"scan_timeout": "90s"},
            "clamav": {"enabled": "yes", "database": self.spamd["db"], "reload_check": "0"},
            "spamd": {"enabled": "yes", "address": "inet:127.0.0.1:%d" % self.spamd["port"],
                      "timeout": "60s"},
        }

    def postfix_main(self):
        return {"virtual_transport": "lmtp:unix:" + self.d.sock_path}

    def test_gtube_to_junk_and_virus_to_quarantine(self):
        self.send_postfix(["bob@example.test"],
                          message("gtube", "This is spam.\n%s\n" % GTUBE))
        line = self.wait_sent("bob@example.test")[0]
        self.assertRegex(line, r"250 2\.0\.0 <bob@example\.test> %s delivered" % h.MAIL_ID_RE)
        junk = self.wait_file(lambda: self.d.stored("bob@example.test", "Junk"))
        self.assertEqual(h.header_value(h.read_file(junk[0]), "X-Spam-Flag"), "YES")
        self.assertEqual(self.d.stored("bob@example.test"), [])

        virus = h.read_file(os.path.join(TESTFILES, "clam.mail"))
        self.send_postfix(["carol@example.test"], h.crlf(virus))
        line = self.wait_sent("carol@example.test")[0]
        m = re.search(r"250 2\.7\.0 <carol@example\.test> quarantined (%s)" % h.MAIL_ID_RE, line)
        self.assertIsNotNone(m, line + self._ctx())
        self.assertTrue(os.path.exists(os.path.join(self.d.quarantine, m.group(1) + ".eml")))
        self.assertEqual(self.d.stored("carol@example.test"), [])


# ---------------------------------------------------------------------------
# Topology 2: content_filter = lmtp:[127.0.0.1]:PORT, relay to 10025-style
# ---------------------------------------------------------------------------

REINJECT = """\
127.0.0.1:{port[reinject]} inet n - n - - smtpd
  -o syslog_name=postfix/reinject
  -o content_filter=
  -o receive_override_options=no_header_body_checks,no_milters,no_address_mappings
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_recipient_restrictions=check_recipient_access,texthash:%(reject)s,permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
"""


class ContentFilterCase(PostfixCase):
    mailboxes = ("alice@example.test", "bob@example.test", "carol@example.test",
                 "nobody@example.test")

    def postfix_ports(self):
        return ("smtp", "reinject")

    def lmtpscan_config(self):
        return {"deliver": {"mode": "relay",
                            "relay": "inet:127.0.0.1:%d" % self.pf.port["reinject"]}}

    def postfix_main(self):
        return {"content_filter": "lmtp:[127.0.0.1]:%d" % self.d.port,
                "lmtp_send_xforward_command": "yes"}

    def postfix_master(self):
        # the re-injection listener refuses one address, as a real one
        # refuses an unknown user
        reject = self.pf.write_file(
            "reject_rcpt", "nobody@example.test 550 5.1.1 User unknown\n")
        return ("127.0.0.1:{port[smtp]} inet n - n - - smtpd\n"
                + REINJECT % {"reject": reject})


class ContentFilter(ContentFilterCase):
    def test_loop_with_xforward(self):
        msg = message("content filter loop")
        self.send_postfix(["bob@example.test"], msg, helo="origin.example", source="127.0.0.2")
        # first hop: Postfix -> lmtpscand, relayed with the relay's queue id
        first = self.pf.wait_log(r"to=<bob@example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]"
                                 r":%d.*status=sent" % self.d.port, DELIVERY_TIMEOUT)
        self.assertTrue(first, "no first hop" + self._ctx())
        m = re.search(r"250 2\.0\.0 <bob@example\.test> %s relayed \(2\.0\.0 Ok: queued as "
                      r"(\w+)\)" % h.MAIL_ID_RE, first[0])
        self.assertIsNotNone(m, first[0])
        qid = m.group(1)
        # second hop: the re-injected message, logged with the original
        # client thanks to XFORWARD, delivered by virtual(8)
        client = self.pf.wait_log(r"postfix/reinject/smtpd\[\d+\]: %s: client=" % qid, 10)
        self.assertTrue(client, self._ctx())
        # XFORWARD: the original client and Postfix's first queue id
        self.assertRegex(client[0], r"orig_queue_id=\w+, orig_client=unknown\[127\.0\.0\.2\]")
        line = self.pf.wait_log(r"%s: to=<bob@example\.test>, relay=virtual.*status=sent" % qid,
                                DELIVERY_TIMEOUT)
        self.assertTrue(line, self._ctx())
        files = self.wait_file(lambda: self.pf.delivered("bob@example.test"))
        got = h.read_file(files[0])
        # one Received names the original client and HELO (Postfix's first
        # hop); lmtpscan's, above it, is the hop after it
        received = h.header_values(got, "Received")
        ours = h.matching(received, r"\(lmtpscan\) with LMTP id ")
        client = h.matching(received, r"^from origin\.example \(unknown \[127\.0\.0\.2\]\)")
        self.assertEqual((len(ours), len(client)), (1, 1), received)
        self.assertLess(ours[0], client[0], received)
        self.assertIn(b"Hello from the Postfix test.", got)
        # nothing stayed behind in lmtpscand's Maildir root
        self.assertEqual(self.d.message_files(), [])

    def test_relay_refuses_one_recipient(self):
        # straight to lmtpscand over LMTP: one reply per recipient
        msg = message("one refused")
        with self.d.lmtp() as c:
            _, rr, dr = h.lmtp_send(c, "alice@example.test",
                                    ["bob@example.test", "nobody@example.test"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"] * 2)
        self.assertReplyRe(dr[0], r"250 2\.0\.0 <bob@example\.test> %s relayed "
                                  r"\(2\.0\.0 Ok: queued as \w+\)" % h.MAIL_ID_RE)
        self.assertReplyRe(dr[1], r"550 5\.1\.1 <nobody@example\.test> relay refused "
                                  r"\(5\.1\.1 <nobody@example\.test>: Recipient address "
                                  r"rejected: User unknown\)")
        self.wait_file(lambda: self.pf.delivered("bob@example.test"))
        self.assertEqual(self.pf.delivered("nobody@example.test"), [])

    def test_refused_recipient_bounces_through_postfix(self):
        # the whole loop: Postfix gets the 550 from lmtpscand and bounces
        self.send_postfix(["carol@example.test", "nobody@example.test"],
                          message("bounce through the loop"))
        line = self.wait_sent("nobody@example.test", status="bounced")[0]
        self.assertIn("550 5.1.1 <nobody@example.test> relay refused", line)
        self.wait_file(lambda: self.pf.delivered("carol@example.test"))
        bounce = self.wait_file(lambda: self.pf.delivered("alice@example.test"))
        self.assertIn(b"nobody@example.test", h.read_file(bounce[0]))

    def test_smtp_listener_sends_dsn_for_relay_refusal(self):
        msg = message("dsn from lmtpscan", to="carol@example.test")
        with smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=h.IO_TIMEOUT) as s:
            refused = s.sendmail("alice@example.test",
                                 ["carol@example.test", "nobody@example.test"], msg)
        self.assertEqual(refused, {})
        self.wait_file(lambda: self.pf.delivered("carol@example.test"))
        dsn_files = self.wait_file(lambda: self.pf.delivered("alice@example.test"))
        dsn = email.message_from_bytes(h.read_file(dsn_files[0]))
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        parts = dsn.get_payload()
        status = parts[1]
        self.assertEqual(status.get_content_type(), "message/delivery-status")
        text = status.as_string()
        self.assertIn("Final-Recipient: rfc822; nobody@example.test", text)
        self.assertIn("Action: failed", text)
        self.assertIn("Status: 5.1.1", text)
        self.assertNotIn("carol@example.test", text)
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        # from the null sender
        self.assertEqual(h.header_value(h.read_file(dsn_files[0]), "Return-Path"), "<>")

    def test_null_sender_gets_no_dsn(self):
        with smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=h.IO_TIMEOUT) as s:
            s.sendmail("<>", ["carol@example.test", "nobody@example.test"],
                       message("null sender", to="carol@example.test"))
        self.wait_file(lambda: self.pf.delivered("carol@example.test"))
        time.sleep(1.0)
        self.assertEqual(self.pf.delivered("alice@example.test"), [])
        self.assertNotIn("DSN to", self.d.log())

    def test_pipelined_many_recipients_one_transaction(self):
        rcpts = ["bob@example.test", "carol@example.test", "alice@example.test"]
        with self.d.lmtp() as c:
            _, _, dr = h.lmtp_send(c, "alice@example.test", rcpts, message("three at once"))
        ids = set()
        for rcpt, reply in zip(rcpts, dr):
            m = re.match(r"250 2\.0\.0 <%s> %s relayed \(2\.0\.0 Ok: queued as (\w+)\)"
                         % (re.escape(rcpt), h.MAIL_ID_RE), reply)
            self.assertIsNotNone(m, reply)
            ids.add(m.group(1))
        # identical copies: one relay transaction, one Postfix queue id
        self.assertEqual(len(ids), 1, dr)
        for rcpt in rcpts:
            self.wait_file(lambda: self.pf.delivered(rcpt))


def conf_file(name):
    return os.path.join(h.SOURCE_DIR, "conf", name)


def main_cf_settings(path):
    """The active "key = value" lines of a shipped main.cf snippet."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                k, _, v = line.partition("=")
                out[k.strip()] = v.strip()
    return out


class ShippedContentFilterSnippets(ContentFilterCase):
    """conf/postfix-content-filter.cf and conf/postfix-master.cf.snippet as
    shipped, only the ports changed: the loop works with them."""

    def postfix_main(self):
        main = main_cf_settings(conf_file("postfix-content-filter.cf"))
        self.assertEqual(main["content_filter"], "lmtp:[127.0.0.1]:10024")
        main["content_filter"] = "lmtp:[127.0.0.1]:%d" % self.d.port
        return main

    def postfix_master(self):
        with open(conf_file("postfix-master.cf.snippet")) as f:
            snippet = f.read()
        self.assertIn("127.0.0.1:10025 inet", snippet)
        snippet = snippet.replace("127.0.0.1:10025", "127.0.0.1:{port[reinject]}")
        return "127.0.0.1:{port[smtp]} inet n - n - - smtpd\n" + snippet

    def test_shipped_snippets_loop(self):
        self.send_postfix(["bob@example.test", "carol@example.test"],
                          message("shipped snippets"), helo="origin.example",
                          source="127.0.0.2")
        for rcpt in ("bob@example.test", "carol@example.test"):
            line = self.wait_sent(rcpt, count=2)
            self.assertTrue(any("relayed (2.0.0 Ok: queued as" in ln for ln in line), line)
            got = h.read_file(self.wait_file(lambda: self.pf.delivered(rcpt))[0])
            received = h.header_values(got, "Received")
            ours = h.matching(received, r"\(lmtpscan\) with LMTP id ")
            client = h.matching(received, r"^from origin\.example \(unknown \[127\.0\.0\.2\]\)")
            self.assertEqual((len(ours), len(client)), (1, 1), received)
            self.assertLess(ours[0], client[0], received)
        # XFORWARD: Postfix logs the original client and queue id
        self.assertTrue(self.pf.wait_log(r"postfix/10025/smtpd\[\d+\]: \w+: client=.*"
                                         r"orig_queue_id=\w+, orig_client=unknown"
                                         r"\[127\.0\.0\.2\]", 10), self._ctx())


class RelayDown(h.DaemonTestCase):
    """No Postfix needed: the relay port has no listener."""

    def daemon_args(self):
        return {"overrides": {"deliver": {"mode": "relay",
                                          "relay": "inet:127.0.0.1:%d" % pi.free_port()}}}

    def test_relay_down_tempfails_every_recipient(self):
        with self.d.lmtp() as c:
            _, _, dr = h.lmtp_send(c, "alice@example.test",
                                   ["bob@example.test", "carol@example.test"],
                                   message("relay down"))
        self.assertEqual(dr, ["451 4.4.1 <bob@example.test> relay unavailable",
                              "451 4.4.1 <carol@example.test> relay unavailable"], self._ctx())
        with smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=h.IO_TIMEOUT) as s:
            s.ehlo("client.test")
            s.mail("alice@example.test")
            s.rcpt("bob@example.test")
            code, text = s.data(message("relay down smtp"))
        self.assertEqual((code, text), (451, b"4.4.1 <bob@example.test> relay unavailable"))


# ---------------------------------------------------------------------------
# Topology 3: the amavisd-new setup's own content_filter = amavisd:[...]
# ---------------------------------------------------------------------------

class AmavisdStyle(ContentFilterCase):
    def postfix_main(self):
        return {"content_filter": "amavisd:[127.0.0.1]:%d" % self.d.smtp_port}

    def postfix_master(self):
        return (super().postfix_master()
                + "amavisd unix - - n - 2 smtp\n"
                  "  -o syslog_name=postfix/amavisd\n"
                  "  -o smtp_data_done_timeout=1200\n"
                  "  -o smtp_send_xforward_command=yes\n"
                  "  -o disable_dns_lookups=yes\n"
                  "  -o max_use=20\n")

    def test_amavisd_transport_to_smtp_listener(self):
        self.send_postfix(["bob@example.test", "carol@example.test"],
                          message("amavisd style"), helo="origin.example", source="127.0.0.2")
        first = self.pf.wait_log(r"postfix/amavisd/smtp\[\d+\]: \w+: to=<bob@example\.test>.*"
                                 r"status=sent \(250 2\.0\.0 Ok: queued as %s\)" % h.MAIL_ID_RE,
                                 DELIVERY_TIMEOUT)
        self.assertTrue(first, "no amavisd hop" + self._ctx())
        for rcpt in ("bob@example.test", "carol@example.test"):
            files = self.wait_file(lambda: self.pf.delivered(rcpt))
            got = h.read_file(files[0])
            received = h.header_values(got, "Received")
            ours = h.matching(received, r"\(lmtpscan\) with ESMTP id ")
            client = h.matching(received, r"^from origin\.example \(unknown \[127\.0\.0\.2\]\)")
            self.assertEqual((len(ours), len(client)), (1, 1), received)
            self.assertLess(ours[0], client[0], received)


# ---------------------------------------------------------------------------
# SMTP AUTH to the relay: a re-injection smtpd that requires SASL
# ---------------------------------------------------------------------------

SASL_REINJECT = """\
127.0.0.1:{port[reinject]} inet n - n - - smtpd
  -o syslog_name=postfix/reinject
  -o content_filter=
  -o receive_override_options=no_header_body_checks,no_milters,no_address_mappings
  -o mynetworks=192.0.2.0/32
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=cyrus
  -o smtpd_sasl_path=smtpd
  -o smtpd_sasl_security_options=noanonymous
  -o smtpd_sasl_local_domain=example.test
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
"""


class RelaySasl(ContentFilterCase):
    password = "relay-secret"

    def lmtpscan_config(self):
        cfg = super().lmtpscan_config()
        cfg["deliver"].update(relay_sasl_username="scanner", relay_sasl_password=self.password)
        return cfg

    def postfix_master(self):
        # upstream Postfix reads smtpd.conf in cyrus_sasl_config_path;
        # Debian's reads $config_directory/sasl/smtpd.conf: the same dir
        sasl = os.path.join(self.pf.conf, "sasl")
        db = make_sasldb(sasl, "smtpd.conf", {"scanner": "relay-secret"}, "example.test")
        os.chown(db, self.pf.uid, self.pf.gid)
        return ("127.0.0.1:{port[smtp]} inet n - n - - smtpd\n" + SASL_REINJECT)

    def postfix_main(self):
        main = super().postfix_main()
        # smtpd reads smtpd.conf there (a main.cf-only parameter)
        main["cyrus_sasl_config_path"] = os.path.join(self.pf.conf, "sasl")
        return main

    def test_relay_with_sasl(self):
        with self.d.lmtp() as c:
            _, _, dr = h.lmtp_send(c, "alice@example.test", ["bob@example.test"],
                                   message("relay sasl"))
        self.assertReplyRe(dr[0], r"250 2\.0\.0 <bob@example\.test> %s relayed "
                                  r"\(2\.0\.0 Ok: queued as \w+\)" % h.MAIL_ID_RE)
        self.assertTrue(self.pf.wait_log(r"sasl_method=\w+, sasl_username=scanner", 10),
                        self._ctx())
        self.wait_file(lambda: self.pf.delivered("bob@example.test"))


class RelaySaslBadPassword(RelaySasl):
    password = "wrong"

    def test_relay_with_sasl(self):
        with self.d.lmtp() as c:
            _, _, dr = h.lmtp_send(c, "alice@example.test", ["bob@example.test"],
                                   message("relay sasl bad"))
        self.assertReply(dr[0], "451 4.4.1 <bob@example.test> relay unavailable")
        self.assertIn("authentication failed", self.d.log())
        self.assertEqual(self.pf.delivered("bob@example.test"), [])


# ---------------------------------------------------------------------------
# SASL AUTH against lmtpscand (auth = yes; loopback outside allow_from)
# ---------------------------------------------------------------------------

class LmtpscanAuthMixin:
    users = {"postfix-lmtp": "lmtp-secret"}

    def sasl_setup(self):
        self.sasl_dir = tempfile.mkdtemp(prefix="lmtpscan-sasl-")
        self.addCleanup(shutil.rmtree, self.sasl_dir, True)
        make_sasldb(self.sasl_dir, "lmtpscan.conf", self.users, h.HOST)
        old = os.environ.get("SASL_CONF_PATH")
        os.environ["SASL_CONF_PATH"] = self.sasl_dir

        def restore():
            if old is None:
                os.environ.pop("SASL_CONF_PATH", None)
            else:
                os.environ["SASL_CONF_PATH"] = old
        self.addCleanup(restore)

    def auth_config(self):
        return {"server": {"auth": "yes", "allow_from": "10.0.0.0/8"}}


class LmtpscanAuth(LmtpscanAuthMixin, h.DaemonTestCase):
    def setUp(self):
        if shutil.which("saslpasswd2") is None:
            self.skipTest("saslpasswd2 (sasl2-bin) missing")
        self.sasl_setup()
        super().setUp()

    def daemon_args(self):
        return {"overrides": self.auth_config()}

    def plain(self, user, password):
        return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()

    def test_lhlo_announces_auth(self):
        c = self.d.raw()
        lines = c.cmd("LHLO client.test").split("\n")
        self.assertIn("250-AUTH PLAIN LOGIN", lines)
        self.assertEqual(lines[-1], "250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE")

    def test_must_authenticate(self):
        c = self.d.raw()
        self.assertReply(c.cmd("AUTH PLAIN " + self.plain("postfix-lmtp", "lmtp-secret")),
                         "503 5.5.1 Error: send LHLO first")
        c.cmd("LHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<a@example.test>"),
                         "530 5.7.0 Authentication required")
        self.assertReply(c.cmd("AUTH PLAIN " + self.plain("postfix-lmtp", "wrong")),
                         "535 5.7.8 Error: authentication failed")
        self.assertReply(c.cmd("MAIL FROM:<a@example.test>"),
                         "530 5.7.0 Authentication required")
        # LOGIN, cancelled with "*"
        self.assertReply(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6")
        self.assertReply(c.cmd("*"), "501 5.7.0 Authentication aborted")
        self.assertReply(c.cmd("AUTH NONSENSE"), "504 5.5.4 Unrecognized authentication type")
        # LOGIN with good credentials
        self.assertReply(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6")
        self.assertReply(c.cmd(base64.b64encode(b"postfix-lmtp").decode()),
                         "334 UGFzc3dvcmQ6")
        self.assertReply(c.cmd(base64.b64encode(b"lmtp-secret").decode()),
                         "235 2.7.0 Authentication successful")
        self.assertReply(c.cmd("AUTH PLAIN " + self.plain("postfix-lmtp", "lmtp-secret")),
                         "503 5.5.1 Error: already authenticated")
        self.assertReply(c.cmd("MAIL FROM:<a@example.test>"), "250 2.1.0 Ok")

    def test_smtplib_login_and_deliver(self):
        with self.d.lmtp() as conn:
            conn.ehlo("client.test")
            self.assertEqual(conn.login("postfix-lmtp", "lmtp-secret")[0], 235)
            _, rr, dr = h.lmtp_send(conn, "a@example.test", ["bob@example.test"],
                                    message("after auth"))
        self.assertReplyRe(dr[0], h.delivered_re("bob@example.test"))
        with self.d.lmtp() as conn:
            conn.ehlo("client.test")
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                conn.login("postfix-lmtp", "bad")

    def test_unix_socket_needs_no_auth(self):
        c = self.d.raw("unix")
        lines = c.cmd("LHLO client.test").split("\n")
        self.assertNotIn("250-AUTH PLAIN LOGIN", lines)
        self.assertReply(c.cmd("MAIL FROM:<a@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("AUTH PLAIN " + self.plain("postfix-lmtp", "lmtp-secret")),
                         "503 5.5.1 Error: authentication not enabled")


class PostfixAuthenticatesToLmtpscan(LmtpscanAuthMixin, PostfixCase):
    """Postfix's lmtp client with SASL against lmtpscand's inet listener."""

    def setUp(self):
        if SKIP:
            self.skipTest(SKIP)
        self.sasl_setup()
        super().setUp()

    def lmtpscan_config(self):
        return self.auth_config()

    def postfix_main(self):
        nexthop = "127.0.0.1:%d" % self.d.port
        pw = self.pf.write_file("lmtp_passwd", "".join(
            "%s postfix-lmtp:lmtp-secret\n" % k
            for k in ("inet:" + nexthop, "[127.0.0.1]:%d" % self.d.port, "127.0.0.1")), 0o600)
        return {"virtual_transport": "lmtp:inet:" + nexthop,
                "lmtp_sasl_auth_enable": "yes",
                "lmtp_sasl_password_maps": "texthash:" + pw,
                "lmtp_sasl_security_options": "noanonymous"}

    def test_postfix_lmtp_with_sasl(self):
        self.send_postfix(["bob@example.test"], message("postfix lmtp sasl"))
        line = self.wait_sent("bob@example.test")[0]
        self.assertRegex(line, r"250 2\.0\.0 <bob@example\.test> %s delivered" % h.MAIL_ID_RE)
        self.assertIn("authenticated as postfix-lmtp", self.d.log())
        self.wait_file(lambda: self.d.stored("bob@example.test"))


if __name__ == "__main__":
    h.main()
