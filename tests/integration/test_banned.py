"""Banned content and encrypted archives (SPEC section 10) through the
real daemon: real libclamav with the test signatures, archives made here
at test time with Debian's tools (zip, 7z from p7zip-full, tar/gzip): a
zip in a zip holding an ELF, a .pdf.exe (a PE from clamav-testfiles with
its last byte changed, so no signature matches it) beside a harmless
.txt, a tar.gz and a 7z holding the same, an encrypted zip, MIME names in
RFC 2231 (continuations: evil.e + xe) and RFC 2047 encodings.

Covers: each banned case is caught at the right path (reply, report
<file>, log file=, lmtpscan scan), each allowed one is delivered,
recipients with different policies in one transaction get different
outcomes, a virus wins over banned, encrypted_action deliver adds
X-Lmtpscan-Encrypted and reject refuses, and the inventory bound
([clamav] max_files) gives unchecked, never clean.
"""

import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

TESTFILES = "/usr/share/clamav-testfiles"
FILES = {}


def run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="lmtpscan-banned-")
    FILES["tmp"] = tmp
    FILES["db"] = h.make_test_signatures(tmp)
    w = os.path.join(tmp, "w")
    os.makedirs(os.path.join(w, "docs"))
    os.makedirs(os.path.join(w, "in"))
    with open(os.path.join(TESTFILES, "clam.exe"), "rb") as f:
        pe = bytearray(f.read())
    FILES["virus_pe"] = bytes(pe)
    pe[-1] ^= 0x01  # a PE that no test signature matches
    with open(os.path.join(w, "docs", "invoice.pdf.exe"), "wb") as f:
        f.write(pe)
    with open(os.path.join(w, "docs", "readme.txt"), "w") as f:
        f.write("harmless text\n")
    shutil.copy("/bin/true", os.path.join(w, "in", "prog"))  # an ELF
    run(["zip", "-q", "../inner.zip", "prog"], os.path.join(w, "in"))
    run(["zip", "-q", "nested.zip", "docs/readme.txt", "inner.zip"], w)
    run(["zip", "-q", "pdfexe.zip", "docs/readme.txt", "docs/invoice.pdf.exe"], w)
    run(["zip", "-q", "harmless.zip", "docs/readme.txt"], w)
    run(["zip", "-q", "-P", "secret", "enc.zip", "docs/readme.txt"], w)
    run(["tar", "czf", "t.tar.gz", "docs/readme.txt", "docs/invoice.pdf.exe"], w)
    with open(os.path.join(w, "virus.exe"), "wb") as f:
        f.write(FILES["virus_pe"])
    run(["zip", "-q", "virus.zip", "docs/readme.txt", "virus.exe"], w)
    many = os.path.join(w, "many")
    os.makedirs(many)
    for i in range(12):
        with open(os.path.join(many, "f%02d.txt" % i), "w") as f:
            f.write("file %d\n" % i)
    run(["zip", "-q", "-r", "../many.zip", "."], many)
    if shutil.which("7z"):
        run(["7z", "a", "-bd", "-y", "s.7z", "docs/readme.txt", "docs/invoice.pdf.exe"], w)
        run(["7z", "a", "-bd", "-y", "-psecret", "enc.7z", "docs/readme.txt"], w)
    FILES["w"] = w


def tearDownModule():
    shutil.rmtree(FILES.get("tmp", "/nonexistent"), ignore_errors=True)


def data(name):
    with open(os.path.join(FILES["w"], name), "rb") as f:
        return f.read()


def part(disposition, payload, ctype="application/octet-stream"):
    return ("--BB\r\nContent-Type: %s\r\nContent-Disposition: attachment;%s\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" % (ctype, disposition)
            + base64.encodebytes(payload).decode().replace("\n", "\r\n"))


def mime(*parts, subject="banned test"):
    return ("From: <a@example.test>\r\nTo: <b@example.test>\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
            "--BB\r\nContent-Type: text/plain\r\n\r\nsee the attachments\r\n"
            % (subject, subject.replace(" ", "-"))
            + "".join(parts) + "--BB--\r\n").encode()


def attach(name, payload):
    return part(' filename="%s"' % name, payload)


POLICIES = """
[policy default]
banned_names = *.exe, *.scr
banned_types = CL_TYPE_ELF
banned_double_extension = yes
banned_action = reject

[policy lenient]
spam_scan = no

[policy types]
spam_scan = no
banned_types = CL_TYPE_MSEXE
banned_action = quarantine

[policy enc]
spam_scan = no
encrypted_action = reject

[recipients]
lenient@example.test = lenient
types@example.test = types
enc@example.test = enc
"""

STRICT = "strict@example.test"
LENIENT = "lenient@example.test"
TYPES = "types@example.test"
ENC = "enc@example.test"
MAIL_ID = h.MAIL_ID_RE


class BannedBase(h.DaemonTestCase):
    extra = POLICIES

    def daemon_args(self):
        return {"overrides": {"clamav": {"enabled": "yes", "database": FILES["db"],
                                         "reload_check": "0"}},
                "extra": self.extra}

    def send(self, msg, rcpts):
        conn = self.d.lmtp()
        _, rr, dr = h.lmtp_send(conn, "a@example.test", rcpts, msg)
        for r in rr:
            self.assertReplyRe(r, r"250 .*")
        conn.quit()
        return dr

    def banned_re(self, addr, path):
        return r"554 5\.7\.0 <%s> rejected: banned %s" % (re.escape(addr), re.escape(path))

    def report_of(self, subject):
        """The report of the message with this subject, checked against
        conf/report.xsd."""
        for p in glob.glob(os.path.join(self.d.reports, "*", "*.xml")):
            with open(p, encoding="utf-8") as f:
                text = f.read()
            if 'subject="%s"' % subject in text:
                xsd = os.path.join(h.SOURCE_DIR, "conf", "report.xsd")
                r = subprocess.run(["xmllint", "--noout", "--schema", xsd, p], timeout=60,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                self.assertEqual(r.returncode, 0, r.stdout.decode("utf-8", "replace"))
                return text
        self.fail("no report for subject %r%s" % (subject, self._ctx()))


class BannedTest(BannedBase):
    def test_zip_in_zip_elf_banned_for_one_delivered_for_other(self):
        msg = mime(attach("nested.zip", data("nested.zip")), subject="nested")
        replies = self.send(msg, [STRICT, LENIENT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "nested.zip/inner.zip/prog"))
        self.assertReplyRe(replies[1], h.delivered_re(LENIENT))
        self.assertOneStored(LENIENT, msg)
        self.assertEqual(self.d.stored(STRICT), [])
        self.assertIn('file="nested.zip/inner.zip/prog"', self.d.log())
        report = self.report_of("nested")
        self.assertRegex(report, r'<file path="nested.zip/inner.zip/prog" type="CL_TYPE_ELF" '
                                 r'rule="CL_TYPE_ELF" encrypted="false"/>')
        self.assertIn('verdict="banned"', report)

    def test_same_message_twice_banned_twice(self):
        # libclamav's clean-file cache would skip the known-clean files of
        # the second copy, callbacks included
        msg = mime(attach("nested.zip", data("nested.zip")), subject="twice")
        for _ in range(2):
            replies = self.send(msg, [STRICT])
            self.assertReplyRe(replies[0], self.banned_re(STRICT, "nested.zip/inner.zip/prog"))

    def test_pdf_exe_in_zip_by_name_and_by_type(self):
        msg = mime(attach("pdfexe.zip", data("pdfexe.zip")), subject="pdfexe")
        replies = self.send(msg, [STRICT, TYPES, LENIENT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "pdfexe.zip/docs/invoice.pdf.exe"))
        self.assertReplyRe(replies[1], r"250 2\.7\.0 <%s> quarantined %s" % (TYPES, MAIL_ID))
        self.assertReplyRe(replies[2], h.delivered_re(LENIENT))
        tool = os.path.join(h.BUILD_DIR, "admin", "lmtpscan")
        r = subprocess.run([tool, "-c", self.d.conf_path, "quarantine", "list"], timeout=60,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertRegex(r.stdout.decode(), r"\tbanned pdfexe\.zip/docs/invoice\.pdf\.exe\n")
        # one <file> per file, with the rule of the first recipient's policy that bans it
        self.assertIn('<file path="pdfexe.zip/docs/invoice.pdf.exe" type="CL_TYPE_MSEXE" '
                      'rule="*.exe" encrypted="false"/>', self.report_of("pdfexe"))

    def test_replay_decides_banned_files_again(self):
        """`lmtpscan report replay` rebuilds the banned files from the
        report: the same configuration changes nothing, a policy that no
        longer bans the type moves exactly that recipient."""
        msg = mime(attach("pdfexe.zip", data("pdfexe.zip")), subject="replayed")
        replies = self.send(msg, [STRICT, TYPES, LENIENT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "pdfexe.zip/docs/invoice.pdf.exe"))
        tool = os.path.join(h.BUILD_DIR, "admin", "lmtpscan")

        def replay(*args):
            r = subprocess.run([tool, "-c", self.d.conf_path, "report", "replay", "--json"]
                               + list(args), timeout=120,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            return json.loads(r.stdout.decode())

        same = replay()
        self.assertEqual((same["recipients"], same["changed"]), (3, 0), same)
        new_conf = os.path.join(self.d.tmp, "new.conf")
        with open(self.d.conf_path) as f:
            text = f.read()
        with open(new_conf, "w") as f:
            f.write(text.replace("types@example.test = types", "types@example.test = lenient"))
        moved = replay("-c", new_conf)
        self.assertEqual([c["rcpt"] for c in moved["changed_recipients"]], [TYPES], moved)
        self.assertEqual(moved["changes"], [{"from": "quarantine", "to": "deliver", "count": 1}])

    def test_tar_gz_and_7z(self):
        msg = mime(attach("t.tar.gz", data("t.tar.gz")), subject="targz")
        replies = self.send(msg, [TYPES, LENIENT])
        self.assertReplyRe(replies[0], r"250 2\.7\.0 <%s> quarantined %s" % (TYPES, MAIL_ID))
        self.assertReplyRe(replies[1], h.delivered_re(LENIENT))
        report = self.report_of("targz")
        self.assertIn('path="t.tar.gz/docs/invoice.pdf.exe" type="CL_TYPE_MSEXE"', report)
        if not shutil.which("7z"):
            self.skipTest("7z (p7zip-full) not installed")
        msg = mime(attach("s.7z", data("s.7z")), subject="sevenzip")
        replies = self.send(msg, [STRICT, LENIENT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "s.7z/docs/invoice.pdf.exe"))
        self.assertReplyRe(replies[1], h.delivered_re(LENIENT))

    def test_harmless_archive_delivered_to_all(self):
        msg = mime(attach("harmless.zip", data("harmless.zip")),
                   attach("notes.txt", b"just text\n"), subject="harmless")
        replies = self.send(msg, [STRICT, TYPES, LENIENT, ENC])
        for r, a in zip(replies, [STRICT, TYPES, LENIENT, ENC]):
            self.assertReplyRe(r, h.delivered_re(a))
        got = self.assertOneStored(STRICT, msg)
        self.assertIsNone(h.header_value(got, "X-Lmtpscan-Encrypted"))
        self.assertRegex(h.header_value(got, "X-Virus-Scanned"), r"signatures\)")

    def test_encrypted_zip(self):
        msg = mime(attach("enc.zip", data("enc.zip")), subject="encrypted")
        replies = self.send(msg, [STRICT, ENC])
        self.assertReplyRe(replies[0], h.delivered_re(STRICT))
        self.assertReplyRe(replies[1], r"554 5\.7\.0 <%s> rejected: encrypted "
                                       r"enc\.zip/docs/readme\.txt" % re.escape(ENC))
        got = self.assertOneStored(STRICT, msg)
        self.assertEqual(h.header_value(got, "X-Lmtpscan-Encrypted"), "enc.zip/docs/readme.txt")
        report = self.report_of("encrypted")
        self.assertIn('path="enc.zip/docs/readme.txt"', report)
        self.assertIn('encrypted="true"', report)
        self.assertIn('verdict="encrypted"', report)
        if not shutil.which("7z"):
            self.skipTest("7z (p7zip-full) not installed")
        msg = mime(attach("enc.7z", data("enc.7z")), subject="encrypted7z")
        replies = self.send(msg, [ENC])
        self.assertReplyRe(replies[0], r"554 5\.7\.0 <%s> rejected: encrypted "
                                       r"enc\.7z/docs/readme\.txt" % re.escape(ENC))

    def test_forged_encrypted_header_removed(self):
        msg = mime(attach("notes.txt", b"text\n"), subject="forged")
        msg = b"X-Lmtpscan-Encrypted: forged.zip/x\r\n" + msg
        replies = self.send(msg, [LENIENT])
        self.assertReplyRe(replies[0], h.delivered_re(LENIENT))
        with open(self.d.stored(LENIENT)[0], "rb") as f:
            self.assertEqual(h.header_values(f.read(), "X-Lmtpscan-Encrypted"), [])

    def test_rfc2231_continuation_split_name(self):
        # evil.e + xe: libclamav alone would see "rfc2231failure" or "evil.e"
        for disp in ("\r\n filename*0*=UTF-8''%65vil.e;\r\n filename*1*=xe",
                     '\r\n filename*0="evil.e";\r\n filename*1="xe"'):
            msg = mime(part(disp, b"not really a program\n"), subject="split")
            replies = self.send(msg, [STRICT, LENIENT])
            self.assertReplyRe(replies[0], self.banned_re(STRICT, "evil.exe"))
            self.assertReplyRe(replies[1], h.delivered_re(LENIENT))

    def test_content_type_name_only(self):
        # the name only in Content-Type (libclamav reads Content-Disposition)
        msg = mime(part("", b"text\n", 'application/octet-stream; name="ct.scr"'),
                   subject="ctname")
        replies = self.send(msg, [STRICT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "ct.scr"))

    def test_rfc2047_and_rfc2231_encoded_names(self):
        b64 = base64.b64encode("rechnung.pdf.exe".encode()).decode()
        msg = mime(part(' filename="=?UTF-8?B?%s?="' % b64, b"text\n"), subject="rfc2047")
        replies = self.send(msg, [STRICT, LENIENT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "rechnung.pdf.exe"))
        self.assertReplyRe(replies[1], h.delivered_re(LENIENT))
        msg = mime(part(" filename*=iso-8859-1''r%E9sum%E9.scr", b"text\n"), subject="rfc2231")
        replies = self.send(msg, [STRICT])
        # the reply shows non-ASCII bytes as '?'; the report keeps UTF-8
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "r??sum??.scr"))
        self.assertIn('path="r\u00e9sum\u00e9.scr"', self.report_of("rfc2231"))

    def test_virus_wins_over_banned(self):
        msg = mime(attach("virus.zip", data("virus.zip")), subject="virus")
        replies = self.send(msg, [STRICT, LENIENT])
        for r, a in zip(replies, [STRICT, LENIENT]):
            self.assertReplyRe(r, r"250 2\.7\.0 <%s> quarantined %s" % (re.escape(a), MAIL_ID))
        self.assertIn('verdict="virus"', self.report_of("virus"))
        self.assertNotIn('verdict="banned"', self.report_of("virus"))

    def test_admin_scan_prints_banned_path(self):
        msg = mime(attach("nested.zip", data("nested.zip")), subject="admin")
        path = os.path.join(self.d.tmp, "m.eml")
        with open(path, "wb") as f:
            f.write(msg)
        tool = os.path.join(h.BUILD_DIR, "admin", "lmtpscan")
        r = subprocess.run([tool, "-c", self.d.conf_path, "scan", path], timeout=120,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 1, out + r.stderr.decode())
        self.assertIn("%s: banned nested.zip/inner.zip/prog type=CL_TYPE_ELF rule=CL_TYPE_ELF"
                      % path, out)
        with open(path, "wb") as f:
            f.write(mime(attach("harmless.zip", data("harmless.zip")), subject="admin2"))
        r = subprocess.run([tool, "-c", self.d.conf_path, "scan", path], timeout=120,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        self.assertNotIn("banned", r.stdout.decode())


class BannedNoticeTest(BannedBase):
    """A banned attachment rejected for one recipient: the admin notice
    names the banned file's path (SPEC section 13)."""

    def daemon_args(self):
        args = super().daemon_args()
        top = tempfile.mkdtemp(prefix="lmtpscan-banned-notify-")
        self.addCleanup(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        queue = os.path.join(top, "queue")
        os.makedirs(queue)
        self.sink = h.SmtpSink(os.path.join(top, "sink"))
        self.addCleanup(self.sink.stop)
        args["overrides"]["notify"] = {
            "method": "inet:127.0.0.1:%d" % self.sink.port,
            "admin": "admin@example.test",
            "admin_on": "banned",
            "queue_dir": queue,
        }
        return args

    def test_admin_notice_names_the_path(self):
        msg = mime(attach("pdfexe.zip", data("pdfexe.zip")), subject="noticed")
        replies = self.send(msg, [STRICT])
        self.assertReplyRe(replies[0], self.banned_re(STRICT, "pdfexe.zip/docs/invoice.pdf.exe"))
        mails = self.sink.mails(timeout=30)
        self.assertEqual(len(mails), 1, self._ctx())
        self.assertIn(b"banned pdfexe.zip/docs/invoice.pdf.exe", mails[0])


class InventoryBoundTest(h.DaemonTestCase):
    """[clamav] max_files bounds the inventory: a zip of 12 files with
    max_files = 5 is unchecked (unchecked_action), never clean."""

    extra = POLICIES

    def daemon_args(self):
        return {"overrides": {"clamav": {"enabled": "yes", "database": FILES["db"],
                                         "reload_check": "0", "max_files": "5"}},
                "extra": self.extra.replace("banned_action = reject",
                                            "banned_action = reject\nunchecked_action = reject")}

    def test_bound_gives_unchecked(self):
        msg = mime(attach("many.zip", data("many.zip")), subject="many")
        conn = self.d.lmtp()
        _, _, replies = h.lmtp_send(conn, "a@example.test", [STRICT, LENIENT], msg)
        conn.quit()
        self.assertReplyRe(replies[0], r"554 5\.7\.0 <%s> rejected: unchecked: .*"
                           % re.escape(STRICT))
        # lenient: unchecked_action deliver, marked unchecked, not clean
        self.assertReplyRe(replies[1], h.delivered_re(LENIENT))
        got = self.assertOneStored(LENIENT, msg)
        self.assertRegex(h.header_value(got, "X-Virus-Scanned"), r"\) unchecked: ")
        self.assertNotIn("verdict=clean", self.d.log())


if __name__ == "__main__":
    unittest.main()
