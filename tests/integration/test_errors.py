"""Protocol errors and limits: unknown commands, over-long lines, bad
sequences, bad and unsafe recipient addresses (nothing may be written
outside the Maildir root), NUL bytes in commands, max_recipients,
max_message_size (SIZE= at MAIL and a too-big message without SIZE) and
maildir_create = no."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

DATA_GO = "354 End data with <CR><LF>.<CR><LF>"
MAX_SIZE = 1024 * 1024


class ErrorTest(h.DaemonTestCase):
    config = {"server": {"max_recipients": "3", "max_message_size": "1M"}}

    def lhlo(self, c):
        self.assertReply(c.cmd("LHLO client.test"), "\n".join(h.lhlo_lines(h.HOST, MAX_SIZE)))

    def test_unknown_command(self):
        c = self.d.raw()
        self.assertReply(c.cmd("FOO bar"), "500 5.5.1 Unknown command")
        self.assertReply(c.cmd(""), "500 5.5.1 Unknown command")
        self.lhlo(c)
        self.assertReply(c.cmd("STARTTLS"), "500 5.5.1 Unknown command")
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")

    def test_line_too_long(self):
        c = self.d.raw()
        self.lhlo(c)
        # 4096 bytes including CRLF: still a line (an unknown command)
        self.assertReply(c.cmd("X" * 4094), "500 5.5.1 Unknown command")
        # 4097 bytes including CRLF: too long, and the session goes on
        self.assertReply(c.cmd("NOOP " + "x" * (4097 - 2 - 5)), "500 5.5.2 Line too long")
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        # a much longer line, in one send, then a normal transaction
        self.assertReply(c.cmd("MAIL FROM:<" + "a" * 100000 + "@x.test>"),
                         "500 5.5.2 Line too long")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<ok@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("after long line")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("ok@d.test"))
        self.assertOneStored("ok@d.test", msg)

    def test_bad_sequences(self):
        c = self.d.raw()
        self.assertReplyRe(c.cmd("MAIL FROM:<s@x.test>"), r"503 5\.5\.1 .+")
        self.assertReplyRe(c.cmd("RCPT TO:<r@d.test>"), r"503 5\.5\.1 .+")
        self.assertReplyRe(c.cmd("DATA"), r"503 5\.5\.1 .+")
        self.lhlo(c)
        self.assertReplyRe(c.cmd("RCPT TO:<r@d.test>"), r"503 5\.5\.1 .+")
        self.assertReplyRe(c.cmd("DATA"), r"503 5\.5\.1 .+")
        self.assertReplyRe(c.cmd("BDAT 0 LAST"), r"503 5\.5\.1 .+")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReplyRe(c.cmd("MAIL FROM:<s@x.test>"), r"503 5\.5\.1 .+")
        self.assertReply(c.cmd("DATA"), "503 5.5.1 No valid recipients")
        self.assertReplyRe(c.cmd("RCPT TO:<bad>"), r"550 5\.1\.3 .*")
        self.assertReply(c.cmd("DATA"), "503 5.5.1 No valid recipients")
        self.assertReply(c.cmd("RCPT TO:<r@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("after errors")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("r@d.test"))
        self.assertOneStored("r@d.test", msg)

    def test_syntax_errors(self):
        c = self.d.raw()
        self.lhlo(c)
        self.assertReplyRe(c.cmd("MAIL"), r"501 5\.5\.4 .*")
        self.assertReplyRe(c.cmd("MAIL FROM:<a@b.test> NOSUCHPARAM=1"), r"5\d\d 5\.5\.4 .*")
        self.assertReplyRe(c.cmd("MAIL FROM:<a b@c d>"), r"501 5\.(1\.7|5\.4) .*")
        self.assertReply(c.cmd("MAIL FROM:<>"), "250 2.1.0 Ok")
        self.assertReplyRe(c.cmd("RCPT"), r"501 5\.5\.4 .*")
        self.assertReplyRe(c.cmd("RCPT TO:<>"), r"5\d\d 5\.\d\.\d .*")
        self.assertReply(c.cmd("RCPT TO:<r@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        # a BDAT whose size cannot be read leaves the stream out of sync:
        # 501 and the daemon closes the connection
        self.assertReplyRe(c.cmd("BDAT x"), r"501 5\.5\.4 .*")
        self.assertTrue(c.at_eof())

    def test_bad_and_unsafe_recipients(self):
        c = self.d.raw()
        self.lhlo(c)
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        # bad syntax (550 5.1.3, the text is free)
        bad = ["bad", "@d.test", "a@", "../../etc@x", "a@../x", ".x@y", "a@d/x",
               "..@d.test", "a@..", "a@.d.test", "x\x01y@d.test", "a@d.test\x7f",
               "a+../x@d.test", "a@x..y"]
        for addr in bad:
            self.assertReplyRe(c.cmd("RCPT TO:<%s>" % addr), r"550 5\.1\.3 .*")
        # valid syntax, but a part the Maildir template uses is unsafe:
        # 550 5.1.3 naming the recipient
        unsafe = ["a/b@d.test", '"../../etc"@x', '".x"@y', '"a/../../b"@d.test',
                  '".."@d.test']
        for addr in unsafe:
            reply = c.cmd("RCPT TO:<%s>" % addr)
            self.assertReplyRe(reply, r"550 5\.1\.3 .*")
            self.assertIn("<%s>" % addr, reply, "reply must name the recipient")
        self.assertReply(c.cmd("RCPT TO:<good@d.test>"), "250 2.1.5 Ok")
        # the detail is not in the template (%d/%n): a '/' there is harmless
        self.assertReply(c.cmd("RCPT TO:<det+a/b@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("unsafe")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("good@d.test"))
        self.assertReplyRe(c.reply(), h.delivered_re("det+a/b@d.test"))
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")
        # only the good recipients' Maildirs were written, nothing outside the root
        self.assertOneStored("good@d.test", msg)
        self.assertOneStored("det@d.test", msg)
        self.assertEqual(len(self.d.message_files()), 2, self.d.message_files())
        self.assertEqual(sorted(os.listdir(self.d.mail_root)), ["d.test"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.d.mail_root, "d.test"))),
                         ["det", "good"])
        expected_top = {"spool", "quarantine", "reports", "mail", "lmtpscan.conf",
                        "daemon.stderr", "lmtp.sock"}
        self.assertEqual(set(os.listdir(self.d.tmp)) - expected_top, set())
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.d.tmp), "etc",
                                                     "Maildir")))

    def test_nul_in_command(self):
        c = self.d.raw()
        self.lhlo(c)
        self.assertReplyRe(c.cmd(b"NOOP\x00"), r"500 .*")
        self.assertReplyRe(c.cmd(b"MAIL FROM:<a\x00@x.test>"), r"500 .*")
        self.assertReply(c.cmd("MAIL FROM:<a@x.test>"), "250 2.1.0 Ok")
        self.assertReplyRe(c.cmd(b"RCPT TO:<b@d.test>\x00x"), r"500 .*")
        self.assertReplyRe(c.cmd(b"\x00RCPT TO:<b@d.test>"), r"500 .*")
        self.assertReply(c.cmd("RCPT TO:<b@d.test>"), "250 2.1.5 Ok")
        self.assertEqual(self.d.message_files(), [])

    def test_too_many_recipients(self):
        c = self.d.raw()
        self.lhlo(c)
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        rcpts = ["r1@d.test", "r2@d.test", "r3@d.test"]
        for r in rcpts:
            self.assertReply(c.cmd("RCPT TO:<%s>" % r), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<r4@d.test>"), "452 4.5.3 Too many recipients")
        self.assertReply(c.cmd("RCPT TO:<r5@d.test>"), "452 4.5.3 Too many recipients")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("three of five")
        c.send(msg + b".\r\n")
        for r, reply in zip(rcpts, c.replies(3)):
            self.assertReplyRe(reply, h.delivered_re(r))
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        for r in rcpts:
            self.assertOneStored(r, msg)
        self.assertEqual(self.d.stored("r4@d.test"), [])
        # the limit is per transaction
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        for r in ["r4@d.test", "r5@d.test", "r6@d.test"]:
            self.assertReply(c.cmd("RCPT TO:<%s>" % r), "250 2.1.5 Ok")

    def test_size_parameter_over_limit(self):
        c = self.d.raw()
        self.lhlo(c)
        self.assertReply(c.cmd("MAIL FROM:<s@x.test> SIZE=%d" % (MAX_SIZE + 1)),
                         "552 5.3.4 Message size exceeds fixed limit")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test> SIZE=99999999999999999999"),
                         "552 5.3.4 Message size exceeds fixed limit")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test> SIZE=%d" % MAX_SIZE), "250 2.1.0 Ok")

    def test_too_big_without_size(self):
        c = self.d.raw()
        self.lhlo(c)
        rcpts = ["big1@d.test", "big2@d.test"]
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        for r in rcpts:
            self.assertReply(c.cmd("RCPT TO:<%s>" % r), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        line = b"x" * 998 + b"\r\n"
        c.send(b"Subject: too big\r\n\r\n" + line * (MAX_SIZE // len(line) + 600) + b".\r\n")
        for r, reply in zip(rcpts, c.replies(2)):
            self.assertReplyRe(reply, r"552 5\.3\.4 <%s> message too big" % r.replace(".", r"\."))
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertEqual(self.d.message_files(), [])
        self.assertSpoolEmpty()
        # BDAT over the limit, too
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<big3@d.test>"), "250 2.1.5 Ok")
        chunk = b"y" * (MAX_SIZE // 2 + 10)
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        self.assertReply(c.reply(), "250 2.0.0 %d bytes received" % len(chunk))
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        self.assertReplyRe(c.reply(), r"552 5\.3\.4 <big3@d\.test> message too big")
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertEqual(self.d.message_files(), [])
        # and a message right at the limit fits (Received: is ours, not counted)
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<fits@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        head = b"Subject: fits\r\n\r\n"
        body = head + b"z" * (MAX_SIZE - len(head) - 2) + b"\r\n"
        self.assertEqual(len(body), MAX_SIZE)
        c.send(body + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("fits@d.test"))
        self.assertOneStored("fits@d.test", body)
        self.assertSpoolEmpty()

    def test_too_big_on_smtp_listener(self):
        c = self.d.raw("smtp")
        c.cmd("EHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<sbig@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<sbig2@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(b"Subject: big\r\n\r\n" + (b"q" * 1000 + b"\r\n") * 1100 + b".\r\n")
        self.assertReplyRe(c.reply(), r"552 5\.3\.4 .*")
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertEqual(self.d.message_files(), [])


class MaildirCreateNoTest(h.DaemonTestCase):
    config = {"deliver": {"maildir_create": "no"}}

    def test_missing_maildir_550(self):
        existing = self.d.maildir("here@d.test")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(existing, sub), mode=0o700)
        half = self.d.maildir("half@d.test")  # no tmp/: not a Maildir
        for sub in ("cur", "new"):
            os.makedirs(os.path.join(half, sub), mode=0o700)
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReplyRe(c.cmd("RCPT TO:<missing@d.test>"), r"550 5\.1\.1 <missing@d\.test>.*")
        self.assertReplyRe(c.cmd("RCPT TO:<nobody@else.test>"),
                           r"550 5\.1\.1 <nobody@else\.test>.*")
        self.assertReplyRe(c.cmd("RCPT TO:<half@d.test>"), r"550 5\.1\.1 <half@d\.test>.*")
        self.assertReply(c.cmd("RCPT TO:<here@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<Here+box@D.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        msg = h.simple_message("create no")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("here@d.test"))
        self.assertReplyRe(c.reply(), h.delivered_re("Here+box@D.test"))
        self.assertEqual(len(self.d.stored("here@d.test")), 2)
        for f in self.d.stored("here@d.test"):
            self.assertStored(f, msg)
        self.assertFalse(os.path.exists(self.d.maildir("missing@d.test")))
        self.assertFalse(os.path.exists(os.path.join(self.d.mail_root, "else.test")))


if __name__ == "__main__":
    h.main()
