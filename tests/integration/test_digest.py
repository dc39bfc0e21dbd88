#!/usr/bin/env python3
"""`lmtpscan digest` (SPEC section 13), end to end: lmtpscand with the test
signatures quarantines an EICAR mail (to bob and carol) and a mail a scan
limit left unchecked (to bob, with a hostile Subject). The digest lists,
per recipient, each held message with its date, From, Subject and why; the
unchecked one with a release link whose token is checked here against the
key file (HMAC-SHA256 of MAIL_ID, recipient and expiry), the virus without
a link. --dry-run prints and sends nothing; a real run sends through a real
SMTP server (smtp-sink) from the null sender, and the next run lists only
what came after it.
"""

import base64
import hashlib
import hmac
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

STATE = {}
URL = "https://quarantine.example.test/q"
HOSTILE = ("<script>alert(1)</script> =?UTF-8?Q?x=0D=0ABcc:_v@example.test?= "
           "<img src=x onerror=alert(2)>")


def tool():
    return os.environ.get("LMTPSCAN_ADMIN") or os.path.join(h.BUILD_DIR, "admin", "lmtpscan")


def setUpModule():
    STATE["tmp"] = tempfile.mkdtemp(prefix="lmtpscan-digest-")
    os.chmod(STATE["tmp"], 0o755)  # smtp-sink writes as nobody below it
    STATE["db"] = h.make_test_signatures(STATE["tmp"])


def tearDownModule():
    shutil.rmtree(STATE.get("tmp", ""), ignore_errors=True)


def nested(levels, subject):
    att = base64.encodebytes(h.EICAR.encode()).decode()
    inner = ("Content-Type: application/octet-stream; name=\"e.com\"\n"
             "Content-Transfer-Encoding: base64\n\n" + att)
    for n in range(levels):
        b = "b%d" % n
        inner = ("Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n%s\n--%s--\n"
                 % (b, b, inner, b))
    return h.crlf("From: Alice <alice@example.test>\nTo: <bob@example.test>\n"
                  "Subject: %s\nMessage-ID: <nested@example.test>\n"
                  "MIME-Version: 1.0\n" % subject + inner)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class DigestTest(h.DaemonTestCase):
    def daemon_args(self):
        top = tempfile.mkdtemp(prefix="case-", dir=STATE["tmp"])
        os.chmod(top, 0o755)
        self.sink = h.SmtpSink(os.path.join(top, "sink"))
        self.addCleanup(self.sink.stop)
        self.key_path = os.path.join(top, "web.key")
        return {"overrides": {
            "clamav": {"enabled": "yes", "database": STATE["db"], "reload_check": "0",
                       "max_recursion": "8"},
            "notify": {"method": "inet:127.0.0.1:%d" % self.sink.port,
                       "admin": "", "recipient_on": ""},
            "web": {"url": URL, "secret_file": self.key_path, "link_lifetime": "3d"},
        }, "extra": "[policy default]\nunchecked_action = quarantine\n"}

    def digest(self, *args):
        return subprocess.run([tool(), "-c", self.d.conf_path, "digest"] + list(args),
                              capture_output=True, timeout=60)

    def send(self, rcpts, msg):
        with self.d.lmtp() as c:
            _m, _r, replies = h.lmtp_send(c, "mallory@evil.test", rcpts, msg)
        for r in replies:
            self.assertRegex(r, r"^250 2\.7\.0 <\S+> quarantined " + h.MAIL_ID_RE, self._ctx())
        return replies[0].rsplit(" ", 1)[1]

    def test_digest(self):
        virus_id = self.send(["bob@example.test", "carol@example.test"],
                             h.eicar_message("a virus for you"))
        held_id = self.send(["bob@example.test"], nested(30, HOSTILE))

        # --- dry run: printed, nothing sent, the key made 0600 ---
        t0 = int(time.time())
        r = self.digest("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(self.key_path).st_mode), 0o600)
        out = r.stdout.decode("utf-8")
        parts = re.split(r"^----- digest to <(\S+)> -----\n", out, flags=re.M)
        digests = dict(zip(parts[1::2], parts[2::2]))
        self.assertEqual(sorted(digests), ["bob@example.test", "carol@example.test"])
        self.assertEqual(os.listdir(self.sink.dir), [])

        bob = digests["bob@example.test"]
        self.assertIn("Subject: Quarantine digest: 2 held messages", bob)
        self.assertIn("Auto-Submitted: auto-generated", bob)
        self.assertIn("Mail ID %s" % virus_id, bob)
        self.assertIn("Mail ID %s" % held_id, bob)
        self.assertIn("a virus for you", bob)
        self.assertIn("Alice <alice@example.test>", bob)
        self.assertIn("<script>alert(1)</script>", bob)  # plain text, shown as is
        self.assertNotIn("\nBcc:", bob)
        self.assertRegex(bob, r"Why:\s+virus \S*Eicar")
        self.assertRegex(bob, r"Why:\s+unchecked")
        links = re.findall(r"Release: (\S+)", bob)
        self.assertEqual(len(links), 2)  # one link, one "not by link"
        link = [x for x in links if x.startswith(URL)]
        self.assertEqual(len(link), 1, bob)
        self.assertIn("not by link (a virus)", bob)
        # the virus entry carries no link
        virus_part = bob[bob.index("Mail ID %s" % virus_id):].split("\n\n")[0]
        self.assertNotIn(URL, virus_part)

        # the token: MAIL_ID | expiry | recipient | HMAC-SHA256 with the key
        m = re.fullmatch(re.escape(URL) + r"/release\?t=([A-Za-z0-9_-]+)", link[0])
        self.assertIsNotNone(m, link[0])
        raw = b64url_decode(m.group(1))
        body, mac = raw[:-32], raw[-32:]
        self.assertEqual(body[:12].decode(), held_id)
        expiry = int.from_bytes(body[12:20], "big")
        self.assertTrue(t0 + 3 * 86400 - 5 <= expiry <= int(time.time()) + 3 * 86400 + 5, expiry)
        self.assertEqual(body[20:].decode(), "bob@example.test")
        with open(self.key_path, "rb") as f:
            key = f.read().rstrip(b"\n")
        self.assertTrue(hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()))

        carol = digests["carol@example.test"]
        self.assertIn("1 held message\n", carol)
        self.assertNotIn(URL, carol)

        # --- real run: through the SMTP server, from <> ---
        # (a message of the run's own second is listed again next time:
        # times have whole seconds, and a duplicate beats a loss)
        time.sleep(1.1)
        r = self.digest()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"2 digest(s) sent", r.stdout)
        mails = self.sink.mails(count=2)
        self.assertEqual(len(mails), 2)
        rcpts = set()
        for raw in mails:
            self.assertRegex(raw, rb"X-Mail-Args: <>")
            rcpts.add(re.search(rb"X-Rcpt-Args: <(\S+)>", raw).group(1).decode())
            self.assertNotIn(h.EICAR.encode(), raw)
            self.assertEqual(h.header_values(raw, "Bcc"), [])
            self.assertEqual(h.header_value(raw, "Auto-Submitted"), "auto-generated")
        self.assertEqual(rcpts, {"bob@example.test", "carol@example.test"})

        # --- the next run: only what came since ---
        time.sleep(1.1)
        r = self.digest()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"0 digest(s) sent", r.stdout)
        r = self.digest("--since", "1h", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"----- digest to"), 2)
        r = self.digest("--since", "soon")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    h.main()
