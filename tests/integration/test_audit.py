"""Audit trail through the real daemon (maildir mode, libclamav with the
test signatures of tests/make-test-signatures.sh, spamd off): every
transaction leaves an XML report that xmllint validates against
conf/report.xsd and whose recipients, actions and reply strings are what
the client received (LMTP: one reply per recipient; SMTP: the one reply);
hostile header bytes still give a valid report; the log has one key=value
line per recipient; and the admin tool: `report MAIL_ID`, `quarantine
list [--json]`, `show`, `release [--rcpt]` (the message appears in the
Maildir and the release is recorded in the report), `delete`, each
refusing bad input with exit 2 and a clear message.
"""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

NS = {"r": "urn:lmtpscan:report:1"}
XSD = os.path.join(h.SOURCE_DIR, "conf", "report.xsd")
TOOL_TIMEOUT = 60
STATE = {}


def admin_path():
    return os.environ.get("LMTPSCAN_ADMIN") or os.path.join(h.BUILD_DIR, "admin", "lmtpscan")


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="lmtpscan-audit-")
    STATE["tmp"] = tmp
    db = h.make_test_signatures(tmp)
    STATE["db"] = db


def tearDownModule():
    shutil.rmtree(STATE.get("tmp", ""), ignore_errors=True)




class AuditCase(h.DaemonTestCase):

    def daemon_args(self):
        return {"overrides": {
            "clamav": {"enabled": "yes", "database": STATE["db"], "reload_check": "0"},
        }}

    # --- helpers -----------------------------------------------------------
    def tool(self, *args):
        """Runs the admin tool with the daemon's config: (rc, out, err)."""
        r = subprocess.run([admin_path(), "-c", self.d.conf_path] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TOOL_TIMEOUT)
        return (r.returncode, r.stdout.decode("utf-8", "replace"),
                r.stderr.decode("utf-8", "replace"))

    def send(self, rcpts, msg, sender="sender@example.test", xforward=None):
        with self.d.lmtp() as c:
            if xforward:
                c.ehlo()
                code, _ = c.docmd("XFORWARD", xforward)
                self.assertEqual(code, 250)
            return h.lmtp_send(c, sender, rcpts, msg)

    def report_path(self, mail_id):
        paths = glob.glob(os.path.join(self.d.reports, "*", mail_id + ".xml"))
        self.assertEqual(len(paths), 1, "report of %s: %r%s" % (mail_id, paths, self._ctx()))
        self.assertRegex(os.path.basename(os.path.dirname(paths[0])), r"^\d{4}-\d\d-\d\d$")
        return paths[0]

    def validate(self, path):
        r = subprocess.run(["xmllint", "--noout", "--schema", XSD, path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, "%s does not validate:\n%s"
                         % (path, r.stderr.decode("utf-8", "replace")))

    def load_report(self, mail_id):
        """Validates the report and returns its root element; the admin
        tool prints the same bytes."""
        path = self.report_path(mail_id)
        self.validate(path)
        rc, out, err = self.tool("report", mail_id)
        self.assertEqual(rc, 0, err)
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(out.encode("utf-8"), data)
        return ET.fromstring(data)

    def assertRecipients(self, root, rcpts, replies):
        got = root.findall("r:recipient", NS)
        self.assertEqual([r.get("address") for r in got], rcpts)
        self.assertEqual([r.find("r:reply", NS).text for r in got], replies)
        return got


def mail_id_of(reply):
    m = re.search(h.MAIL_ID_RE, reply.split(">", 1)[-1])
    return m.group(0)


class TestReports(AuditCase):

    def test_clean_lmtp_report_matches_replies(self):
        rcpts = ["one@example.test", "two+tag@example.test"]
        msg = h.crlf("From: =?ISO-8859-1?Q?J=F6rg?= <j@example.test>\n"
                     "To: <one@example.test>\nSubject: =?UTF-8?B?w6l0w6k=?= report\n"
                     "Message-ID: <clean-1@example.test>\n"
                     "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nHello.\n")
        _, _, replies = self.send(rcpts, msg,
                                  xforward="NAME=mx.example.test ADDR=192.0.2.7 "
                                           "PROTO=ESMTP HELO=client.example.test IDENT=4F2A1")
        self.assertEqual(len(replies), 2)
        for r in replies:
            self.assertReplyRe(r, r"250 2\.0\.0 <[^>]+> %s delivered" % h.MAIL_ID_RE)
        mail_id = mail_id_of(replies[0])
        root = self.load_report(mail_id)
        self.assertEqual(root.tag, "{urn:lmtpscan:report:1}report")
        self.assertEqual(root.get("mail-id"), mail_id)
        self.assertEqual(root.find("r:received", NS).get("protocol"), "LMTP")
        client = root.find("r:client", NS)
        self.assertEqual(client.get("queue-id"), "4F2A1")
        self.assertEqual(client.get("addr"), "192.0.2.7")
        self.assertEqual(client.get("name"), "mx.example.test")
        self.assertEqual(client.get("peer"), "127.0.0.1")
        env = root.find("r:envelope", NS)
        self.assertEqual(env.find("r:mail-from", NS).text, "sender@example.test")
        self.assertEqual([r.text for r in env.findall("r:rcpt", NS)], rcpts)
        m = root.find("r:message", NS)
        self.assertEqual(int(m.get("size")), len(msg))
        self.assertEqual(m.get("subject"), "\u00e9t\u00e9 report")
        self.assertEqual(m.get("from"), "J\u00f6rg <j@example.test>")
        self.assertEqual(m.get("message-id"), "<clean-1@example.test>")
        scan = root.find("r:scan[@engine='clamav']", NS)
        self.assertEqual(scan.get("result"), "clean")
        got = self.assertRecipients(root, rcpts, replies)
        for r, addr in zip(got, rcpts):
            self.assertEqual(r.get("action"), "deliver")
            self.assertEqual(r.get("verdict"), "clean")
            dest = r.find("r:destination", NS)
            self.assertEqual(dest.get("kind"), "maildir")
            self.assertEqual(self.d.stored(addr), [dest.text])
        self.assertIsNone(root.find("r:smtp-reply", NS))

    def test_log_line_per_recipient(self):
        _, _, replies = self.send(["log@example.test"], h.simple_message("log line"))
        mail_id = mail_id_of(replies[0])
        pattern = (r"mail_id=%s queue_id=- from=<sender@example\.test> rcpt=<log@example\.test> "
                   r"verdict=clean action=deliver score=- virus=- size=\d+ ms=\d+ "
                   r"reply=\"%s\"" % (mail_id, re.escape(replies[0])))
        self.assertRegex(self.d.log(), pattern)

    def test_smtp_listener_records_its_one_reply(self):
        c = self.d.raw("smtp")
        self.assertTrue(c.cmd("EHLO client.test").startswith("250"))
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<a@example.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<b@example.test>"), "250 2.1.5 Ok")
        self.assertTrue(c.cmd("DATA").startswith("354"))
        reply = c.cmd(h.simple_message("smtp").decode() + ".")
        self.assertReplyRe(reply, r"250 2\.0\.0 Ok: queued as %s" % h.MAIL_ID_RE)
        mail_id = reply.rsplit(" ", 1)[-1]
        root = self.load_report(mail_id)
        self.assertEqual(root.find("r:received", NS).get("protocol"), "SMTP")
        self.assertEqual(root.find("r:smtp-reply", NS).text, reply)
        self.assertEqual(len(root.findall("r:recipient", NS)), 2)

    def test_hostile_headers_give_valid_reports(self):
        long_subject = "\r\n ".join(["x" * 70] * 1450)  # ~100 KB, folded
        heads = [
            b"Subject: </subject><x/> ]]> \xff\xfe\x01\x1b[0m & <!-- -->\r\n",
            b"Subject: nul\x00byte\x00\r\nFrom: \"<&>\" \xc3( <x@y>\r\n",
            b"Subject: " + long_subject.encode() + b"\r\n",
            b"Subject: =?UTF-8?Q?=00=01=FF?= =?KOI8-R?B?8NLJ?=\r\nMessage-ID: <\x7f]]>>\r\n",
        ]
        for head in heads:
            msg = head + b"To: <h@example.test>\r\n\r\nbody ]]> </report>\r\n"
            _, _, replies = self.send(["h@example.test"], msg)
            self.assertEqual(len(replies), 1)
            mail_id = mail_id_of(replies[0])
            root = self.load_report(mail_id)
            self.assertRecipients(root, ["h@example.test"], replies)
            subject = root.find("r:message", NS).get("subject")
            self.assertIsNotNone(subject)
            self.assertLessEqual(len(subject.encode("utf-8")), 8192)
            self.assertNotIn("\x00", subject)
            self.assertEqual(root.findall(".//{urn:lmtpscan:report:1}x"), [])
            if head.startswith(b"Subject: xxx"):
                self.assertEqual(root.find("r:message", NS).get("truncated"), "subject")
            if head.startswith(b"Subject: </subject>"):
                self.assertEqual(subject,
                                 "</subject><x/> ]]> \ufffd\ufffd\ufffd\ufffd[0m & <!-- -->")

    def test_report_refuses_bad_input(self):
        for bad in ["BADID", "ABCDEFGHIJKL", "../../etc/pa", "abcdefghijk!", ""]:
            rc, out, err = self.tool("report", bad)
            self.assertEqual(rc, 2, (bad, out, err))
            self.assertIn("not a mail id", err)
        rc, _, err = self.tool("report", "zzzzzzzzzzzz")
        self.assertEqual(rc, 2)
        self.assertIn("no report for zzzzzzzzzzzz", err)
        rc, _, err = self.tool("report")
        self.assertEqual(rc, 2)
        self.assertIn("usage", err)


class TestQuarantine(AuditCase):

    def quarantine_eicar(self, rcpts):
        _, _, replies = self.send(rcpts, h.eicar_message())
        self.assertEqual(len(replies), len(rcpts))
        for r in replies:
            self.assertReplyRe(r, r"250 2\.7\.0 <[^>]+> quarantined %s" % h.MAIL_ID_RE)
        return mail_id_of(replies[0]), replies

    def test_infected_report_and_quarantine_cycle(self):
        rcpts = ["q1@example.test", "q2@example.test"]
        mail_id, replies = self.quarantine_eicar(rcpts)
        root = self.load_report(mail_id)
        scan = root.find("r:scan[@engine='clamav']", NS)
        self.assertEqual(scan.get("result"), "infected")
        self.assertEqual([v.text for v in scan.findall("r:virus", NS)],
                         ["Eicar-Test-Signature.UNOFFICIAL"])
        for r in self.assertRecipients(root, rcpts, replies):
            self.assertEqual(r.get("verdict"), "virus")
            self.assertEqual(r.get("action"), "quarantine")
            dest = r.find("r:destination", NS)
            self.assertEqual(dest.get("kind"), "quarantine")
            self.assertEqual(dest.text, os.path.join(self.d.quarantine, mail_id + ".eml"))
        self.assertEqual(self.d.message_files(), [])

        # list, plain and JSON
        rc, out, err = self.tool("quarantine", "list")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        fields = lines[0].split("\t")
        self.assertEqual(fields[0], mail_id)
        self.assertRegex(fields[1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(fields[2], "<sender@example.test>")
        self.assertEqual(fields[3], "<q1@example.test>,<q2@example.test>")
        self.assertIn("Eicar-Test-Signature", fields[4])
        rc, out, err = self.tool("quarantine", "list", "--json")
        self.assertEqual(rc, 0, err)
        data = json.loads(out)
        self.assertEqual(len(data), 1)
        self.assertEqual(data[0]["mail_id"], mail_id)
        self.assertEqual(data[0]["recipients"], rcpts)
        self.assertEqual(data[0]["sender"], "sender@example.test")
        self.assertEqual(data[0]["size"], len(h.eicar_message()))

        # show: the envelope, then the header section only
        rc, out, err = self.tool("quarantine", "show", mail_id)
        self.assertEqual(rc, 0, err)
        self.assertIn("Mail-ID: %s\n" % mail_id, out)
        self.assertIn("Sender: <sender@example.test>\n", out)
        self.assertIn("Recipients: <q1@example.test>, <q2@example.test>\n", out)
        self.assertEqual(h.header_value(out.split("\n\n", 1)[1], "Subject"), "eicar")
        self.assertNotIn("see attachment", out)

        # release to the original recipients: both Maildirs get it
        rc, out, err = self.tool("quarantine", "release", mail_id)
        self.assertEqual(rc, 0, out + err)
        for addr in rcpts:
            self.assertRegex(out, r"(?m)^%s: 250 2\.0\.0 <%s> %s delivered$"
                             % (re.escape(addr), re.escape(addr), mail_id))
            files = self.d.stored(addr)
            self.assertEqual(len(files), 1, "%s: %r" % (addr, files))
            with open(files[0], "rb") as f:
                got = f.read()
            self.assertRegex(h.first_field(got), r"^Received: by %s \(lmtpscan\) with "
                             r"quarantine release id %s;" % (re.escape(h.HOST), mail_id))
            self.assertTrue(got.endswith(h.to_lf(h.eicar_message())))

        # release to another address
        rc, out, err = self.tool("quarantine", "release", mail_id, "--rcpt", "<other@example.test>")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(self.d.stored("other@example.test")), 1)

        # the three releases are recorded and the report still validates
        root = self.load_report(mail_id)
        rel = root.findall("r:release", NS)
        self.assertEqual([r.get("rcpt") for r in rel],
                         rcpts + ["other@example.test"])
        for r in rel:
            self.assertRegex(r.get("reply"), r"^250 2\.0\.0 ")
            self.assertTrue(r.get("destination").startswith(self.d.mail_root))

        # delete
        rc, out, err = self.tool("quarantine", "delete", mail_id)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(self.d.quarantine), [])
        rc, out, err = self.tool("quarantine", "list")
        self.assertEqual((rc, out), (0, ""))
        rc, out, err = self.tool("quarantine", "list", "--json")
        self.assertEqual(json.loads(out), [])
        for cmd in (["show", mail_id], ["release", mail_id], ["delete", mail_id]):
            rc, out, err = self.tool("quarantine", *cmd)
            self.assertEqual(rc, 2, (cmd, out, err))
            self.assertIn("no quarantined message %s" % mail_id, err)

    def test_quarantine_refuses_bad_input(self):
        mail_id, _ = self.quarantine_eicar(["bad@example.test"])
        for sub in ("show", "release", "delete"):
            for bad in ["BADID", "../../etc/pa", "abcdefghijk!", "ABCDEFGHIJKL", "\x1b[2J"]:
                rc, out, err = self.tool("quarantine", sub, bad)
                self.assertEqual(rc, 2, (sub, bad, out, err))
                self.assertIn("not a mail id", err)
                self.assertNotIn("\x1b", err)
            rc, out, err = self.tool("quarantine", sub, "zzzzzzzzzzzz")
            self.assertEqual(rc, 2, (sub, out, err))
            self.assertIn("no quarantined message zzzzzzzzzzzz", err)
            rc, out, err = self.tool("quarantine", sub)
            self.assertEqual(rc, 2)
            self.assertIn("usage", err)
        for bad_rcpt in ["nobody", "@example.test", "a b@example.test", "x@",
                         "../evil@example.test", ".hidden@example.test"]:
            rc, out, err = self.tool("quarantine", "release", mail_id, "--rcpt", bad_rcpt)
            self.assertEqual(rc, 2, (bad_rcpt, out, err))
            self.assertRegex(err, r"bad recipient address|no safe Maildir")
        rc, out, err = self.tool("quarantine", "release", mail_id, "--bogus")
        self.assertEqual(rc, 2)
        rc, out, err = self.tool("quarantine", "list", "--xml")
        self.assertEqual(rc, 2)
        rc, out, err = self.tool("quarantine", "frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("unknown quarantine command", err)
        # nothing was delivered, nothing was removed
        self.assertEqual(self.d.message_files(), [])
        self.assertEqual(sorted(os.listdir(self.d.quarantine)),
                         [mail_id + ".eml", mail_id + ".env"])
        rc, out, err = self.tool("quarantine", "list")
        self.assertTrue(out.startswith(mail_id + "\t"))

    def test_failed_release_exits_1(self):
        mail_id, _ = self.quarantine_eicar(["gone@example.test"])
        # the recipient's Maildir cannot be created: a file is in the way
        os.makedirs(os.path.join(self.d.mail_root, "example.test"), exist_ok=True)
        with open(os.path.join(self.d.mail_root, "example.test", "gone"), "w") as f:
            f.write("not a directory\n")
        rc, out, err = self.tool("quarantine", "release", mail_id)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"(?m)^gone@example\.test: 4\d\d ")
        root = self.load_report(mail_id)
        rel = root.findall("r:release", NS)
        self.assertEqual(len(rel), 1)
        self.assertRegex(rel[0].get("reply"), r"^4\d\d ")


class SmtpSink:
    """A minimal SMTP server on loopback that accepts every message and
    keeps (mail from, rcpts, data); stopped by stop()."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(h.IO_TIMEOUT)
                try:
                    self.session(conn.makefile("rb"), conn)
                except (OSError, EOFError):
                    pass

    def session(self, f, conn):
        conn.sendall(b"220 sink.test ESMTP\r\n")
        mail, rcpts = None, []
        while True:
            line = f.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-sink.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
            elif verb == b"MAIL":
                mail, rcpts = line.strip().decode(), []
                conn.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line.strip().decode())
                conn.sendall(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = f.readline()
                    if not chunk:
                        return
                    data += chunk
                self.messages.append((mail, rcpts, data[:-3]))
                conn.sendall(b"250 2.0.0 Ok: queued as SINK42\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 Ok\r\n")

    def stop(self):
        self.running = False
        self.thread.join(10)
        self.sock.close()


class TestRelayRelease(AuditCase):

    def daemon_args(self):
        self.sink = SmtpSink()
        self.addCleanup(self.sink.stop)
        args = super().daemon_args()
        args["overrides"]["deliver"] = {"mode": "relay",
                                        "relay": "inet:127.0.0.1:%d" % self.sink.port}
        return args

    def test_release_through_the_relay(self):
        _, _, replies = self.send(["r1@example.test", "r2@example.test"], h.eicar_message())
        for r in replies:
            self.assertReplyRe(r, r"250 2\.7\.0 <[^>]+> quarantined %s" % h.MAIL_ID_RE)
        mail_id = mail_id_of(replies[0])
        rc, out, err = self.tool("quarantine", "release", mail_id)
        self.assertEqual(rc, 0, out + err)
        for addr in ("r1@example.test", "r2@example.test"):
            self.assertRegex(out, r"(?m)^%s: 250 2\.0\.0 <%s> %s relayed \(.*SINK42.*\)$"
                             % (re.escape(addr), re.escape(addr), mail_id))
        self.assertEqual(len(self.sink.messages), 1)
        mail, rcpts, data = self.sink.messages[0]
        self.assertTrue(mail.startswith("MAIL FROM:<sender@example.test>"), mail)
        self.assertEqual([r.split()[1] for r in rcpts],
                         ["TO:<r1@example.test>", "TO:<r2@example.test>"])
        self.assertRegex(h.first_field(data), r"^Received: by %s \(lmtpscan\) with quarantine "
                         r"release id %s;" % (re.escape(h.HOST), mail_id))
        self.assertTrue(data.endswith(h.dot_stuff(h.eicar_message())), data[-200:])
        root = self.load_report(mail_id)
        rel = root.findall("r:release", NS)
        self.assertEqual(len(rel), 2)
        self.assertIn("SINK42", rel[0].get("destination"))

        # relay gone: the release fails with a 4xx and exit 1
        self.sink.stop()
        rc, out, err = self.tool("quarantine", "release", mail_id, "--rcpt", "r1@example.test")
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"(?m)^r1@example\.test: 451 4\.4\.1 ")
        self.assertEqual(len(self.load_report(mail_id).findall("r:release", NS)), 3)


if __name__ == "__main__":
    h.main()
