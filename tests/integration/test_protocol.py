"""LMTP/SMTP protocol basics against a running lmtpscand: LHLO capabilities,
multi-recipient delivery with per-recipient replies, real clients (smtplib,
swaks) on the inet port, the unix socket and the SMTP listener, simple
commands, pipelining (several commands and a second transaction in one
send), the canonical address (a quoted local part gets the policy and the
Maildir of the plain one), the RFC 5321 length limits at RCPT, and a
symbolic link below the Maildir root refused with a 4xx."""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402


class ProtocolTest(h.DaemonTestCase):

    def test_greeting_and_lhlo_capabilities(self):
        c = self.d.raw()
        self.assertReply(c.greeting, "220 %s LMTP lmtpscan ready" % h.HOST)
        self.assertReply(c.cmd("LHLO client.test"),
                         "\n".join(h.lhlo_lines(h.HOST, 50 * 1024 * 1024)))
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")
        self.assertTrue(c.at_eof(), "no close after QUIT")

    def test_smtp_greeting_and_ehlo(self):
        c = self.d.raw("smtp")
        self.assertReply(c.greeting, "220 %s ESMTP lmtpscan ready" % h.HOST)
        self.assertReply(c.cmd("LHLO client.test"), "500 5.5.1 Unknown command")
        self.assertReply(c.cmd("EHLO client.test"),
                         "\n".join(h.lhlo_lines(h.HOST, 50 * 1024 * 1024)))
        self.assertReply(c.cmd("HELO client.test"), "250 %s" % h.HOST)
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")

    def test_helo_ehlo_refused_on_lmtp(self):
        c = self.d.raw()
        self.assertReply(c.cmd("HELO client.test"), "500 5.5.1 Unknown command")
        self.assertReply(c.cmd("EHLO client.test"), "500 5.5.1 Unknown command")
        self.assertTrue(c.cmd("LHLO client.test").startswith("250-"))

    def test_simple_commands(self):
        c = self.d.raw()
        c.cmd("LHLO client.test")
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertReply(c.cmd("noop"), "250 2.0.0 Ok")
        self.assertReply(c.cmd("RSET"), "250 2.0.0 Ok")
        self.assertReply(c.cmd("VRFY someone@example.test"),
                         "252 2.5.0 Cannot VRFY user, but will accept message")
        self.assertReply(c.cmd("XFORWARD NAME=mx.example.test ADDR=192.0.2.7"),
                         "250 2.0.0 Ok")
        self.assertReply(c.cmd("MAIL FROM:<a@example.test>"), "250 2.1.0 Ok")
        self.assertReplyRe(c.cmd("MAIL FROM:<a@example.test>"), r"503 5\.5\.1 .*")
        self.assertReply(c.cmd("RSET"), "250 2.0.0 Ok")
        self.assertReply(c.cmd("mail from:<a@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("rcpt to:<b@example.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")
        self.assertTrue(c.at_eof())
        self.assertEqual(self.d.message_files(), [])

    def test_three_recipients_smtplib(self):
        rcpts = ["alice@one.test", "bob@two.test", "carol@one.test"]
        msg = h.simple_message("three rcpts", "Line 1\nLine 2\n\nLast line.\n")
        conn = self.d.lmtp()
        mail, rr, dr = h.lmtp_send(conn, "sender@example.test", rcpts, msg)
        self.assertReply(mail, "250 2.1.0 Ok")
        self.assertEqual(rr, ["250 2.1.5 Ok"] * 3, self._ctx())
        self.assertEqual(len(dr), 3, dr)
        ids = set()
        for addr, reply in zip(rcpts, dr):
            self.assertReplyRe(reply, h.delivered_re(addr))
            ids.add(reply.split()[3])
        self.assertEqual(len(ids), 1, "one MAIL_ID per transaction: %r" % dr)
        contents = []
        for addr in rcpts:
            contents.append(self.assertOneStored(addr, msg))
        # copies with the same verdict are byte-identical (SPEC 6)
        self.assertEqual(len(set(contents)), 1, "copies differ")
        # nothing left in tmp/
        for addr in rcpts:
            tmpdir = os.path.join(self.d.maildir(addr), "tmp")
            self.assertEqual(os.listdir(tmpdir), [])
            for sub in ("cur", "new", "tmp"):
                self.assertTrue(os.path.isdir(os.path.join(self.d.maildir(addr), sub)))
        self.assertSpoolEmpty()
        conn.quit()

    def test_two_transactions_one_connection(self):
        conn = self.d.lmtp()
        m1 = h.simple_message("first")
        m2 = h.simple_message("second")
        _, _, dr1 = h.lmtp_send(conn, "s@example.test", ["x@d.test"], m1)
        _, _, dr2 = h.lmtp_send(conn, "", ["x@d.test"], m2)  # null sender
        self.assertReplyRe(dr1[0], h.delivered_re("x@d.test"))
        self.assertReplyRe(dr2[0], h.delivered_re("x@d.test"))
        self.assertNotEqual(dr1[0].split()[3], dr2[0].split()[3], "MAIL_ID reused")
        files = self.d.stored("x@d.test")
        self.assertEqual(len(files), 2)
        bodies = sorted(h.read_file(f) for f in files)
        self.assertTrue(any(b.endswith(h.to_lf(m1)) for b in bodies))
        self.assertTrue(any(b.endswith(h.to_lf(m2)) for b in bodies))
        conn.quit()

    def test_detail_and_case(self):
        conn = self.d.lmtp()
        msg = h.simple_message("detail")
        _, rr, dr = h.lmtp_send(conn, "s@example.test", ["User+Tag@Example.Test"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"])
        self.assertReplyRe(dr[0], h.delivered_re("User+Tag@Example.Test"))
        # template %d/%n: lower-cased, detail removed
        self.assertOneStored("user@example.test", msg)
        conn.quit()

    def test_domainless_postmaster(self):
        """RFC 5321 4.5.1: <postmaster> without a domain must be accepted;
        in maildir mode it is postmaster@HOSTNAME's mailbox."""
        conn = self.d.lmtp()
        msg = h.simple_message("to the postmaster")
        _, rr, dr = h.lmtp_send(conn, "s@example.test", ["PostMaster"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"])
        self.assertReplyRe(dr[0], h.delivered_re("PostMaster"))
        self.assertOneStored("postmaster@" + h.HOST, msg)
        conn.quit()

    def test_unix_socket_smtplib(self):
        conn = self.d.lmtp(unix=True)
        msg = h.simple_message("via unix socket")
        _, rr, dr = h.lmtp_send(conn, "s@example.test", ["u@sock.test"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"])
        self.assertReplyRe(dr[0], h.delivered_re("u@sock.test"))
        self.assertOneStored("u@sock.test", msg)
        conn.quit()

    def test_smtp_listener_one_reply(self):
        c = self.d.raw("smtp")
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<p@smtp.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<q@smtp.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
        msg = h.simple_message("smtp listener")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), r"250 2\.0\.0 Ok: queued as %s" % h.MAIL_ID_RE)
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")  # exactly one reply
        self.assertOneStored("p@smtp.test", msg)
        self.assertOneStored("q@smtp.test", msg)
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")

    def test_pipelining(self):
        c = self.d.raw()
        c.send(b"LHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n")
        self.assertReply(c.reply(), "\n".join(h.lhlo_lines(h.HOST, 50 * 1024 * 1024)))
        self.assertReply(c.reply(), "250 2.1.0 Ok")
        self.assertReply(c.reply(), "250 2.1.5 Ok")
        self.assertReply(c.reply(), "250 2.1.5 Ok")
        self.assertReply(c.reply(), "354 End data with <CR><LF>.<CR><LF>")
        m1 = h.simple_message("pipelined one")
        m2 = h.simple_message("pipelined two")
        # end of data, a whole second transaction up to DATA, in one send
        c.send(m1 + b".\r\nMAIL FROM:<a@x>\r\nRCPT TO:<d@y>\r\nRCPT TO:<bad>\r\n"
               b"RCPT TO:<e@y>\r\nDATA\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("b@y"))
        self.assertReplyRe(c.reply(), h.delivered_re("c@y"))
        self.assertReply(c.reply(), "250 2.1.0 Ok")
        self.assertReply(c.reply(), "250 2.1.5 Ok")
        self.assertReplyRe(c.reply(), r"550 5\.1\.3 .*")
        self.assertReply(c.reply(), "250 2.1.5 Ok")
        self.assertReply(c.reply(), "354 End data with <CR><LF>.<CR><LF>")
        c.send(m2 + b".\r\nNOOP\r\nQUIT\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("d@y"))
        self.assertReplyRe(c.reply(), h.delivered_re("e@y"))
        self.assertReply(c.reply(), "250 2.0.0 Ok")
        self.assertReply(c.reply(), "221 2.0.0 Bye")
        self.assertTrue(c.at_eof())
        self.assertOneStored("b@y", m1)
        self.assertOneStored("c@y", m1)
        self.assertOneStored("d@y", m2)
        self.assertOneStored("e@y", m2)

    def test_pipelining_byte_by_byte(self):
        """The same session, sent one byte per send(): no assumption on
        segment boundaries."""
        c = self.d.raw()
        msg = h.simple_message("trickled", ".dot\nend\n")
        stream = (b"LHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<t@y>\r\nDATA\r\n"
                  + h.dot_stuff(msg) + b".\r\nQUIT\r\n")
        for i in range(len(stream)):
            c.send(stream[i:i + 1])
        c.reply()
        self.assertReply(c.reply(), "250 2.1.0 Ok")
        self.assertReply(c.reply(), "250 2.1.5 Ok")
        self.assertReply(c.reply(), "354 End data with <CR><LF>.<CR><LF>")
        self.assertReplyRe(c.reply(), h.delivered_re("t@y"))
        self.assertReply(c.reply(), "221 2.0.0 Bye")
        self.assertOneStored("t@y", msg)


@unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
class SwaksTest(h.DaemonTestCase):

    BODY = ("From: <swaks@example.test>\nTo: <r@swaks.test>\nSubject: swaks\n"
            "Message-ID: <swaks-1@lmtpscan.test>\n\nSent by swaks.\n.leading dot")
    # swaks adds the final line end itself (and an empty line if the data
    # already ends with one)
    STORED = h.crlf(BODY + "\n")

    def swaks(self, *args):
        cmd = ["swaks", "--from", "swaks@example.test", "--data", "-",
               "--timeout", "30", "--hide-informational"] + list(args)
        p = subprocess.run(cmd, input=self.BODY.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, "swaks failed:\n%s%s" % (out, self._ctx()))
        return out

    def test_swaks_lmtp_inet(self):
        out = self.swaks("--protocol", "LMTP", "--server", "127.0.0.1",
                         "--port", str(self.d.port), "--to", "r@swaks.test,s@swaks.test")
        self.assertRegex(out, h.delivered_re("r@swaks.test"))
        self.assertRegex(out, h.delivered_re("s@swaks.test"))
        self.assertOneStored("r@swaks.test", self.STORED)
        self.assertOneStored("s@swaks.test", self.STORED)

    def test_swaks_lmtp_unix(self):
        out = self.swaks("--protocol", "LMTP", "--socket", self.d.sock_path,
                         "--to", "u@swaks.test")
        self.assertRegex(out, h.delivered_re("u@swaks.test"))
        self.assertOneStored("u@swaks.test", self.STORED)

    def test_swaks_esmtp_smtp_listener(self):
        out = self.swaks("--protocol", "ESMTP", "--server", "127.0.0.1",
                         "--port", str(self.d.smtp_port), "--to", "e@swaks.test,f@swaks.test")
        self.assertRegex(out, r"250 2\.0\.0 Ok: queued as %s" % h.MAIL_ID_RE)
        self.assertEqual(len(re.findall(r"<-\s+250 2\.0\.0 Ok: queued", out)), 1, out)
        self.assertOneStored("e@swaks.test", self.STORED)
        self.assertOneStored("f@swaks.test", self.STORED)

    def test_swaks_pipelining(self):
        out = self.swaks("--protocol", "LMTP", "--server", "127.0.0.1",
                         "--port", str(self.d.port), "--pipeline", "--to", "p@swaks.test")
        self.assertRegex(out, h.delivered_re("p@swaks.test"))
        self.assertOneStored("p@swaks.test", self.STORED)


class CanonicalAddressTest(h.DaemonTestCase):
    """One canonical address for policy, spamd user and Maildir: a quoted
    local part is the same mailbox as the plain one. spamd is "down" (port
    1), so the default policy tempfails and only a recipient whose own
    policy skips spamd is delivered: the reply shows which policy applied."""

    config = {"spamd": {"enabled": "yes", "address": "inet:127.0.0.1:1", "timeout": "5s"}}
    extra = ("[policy ceo]\nspam_scan = no\n"
             "\n[recipients]\nceo@example.com = ceo\n")

    def test_quoted_local_part_gets_its_policy_and_maildir(self):
        c = self.d.raw()
        c.cmd("LHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd('RCPT TO:<"ceo"@example.com>'), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<other@example.com>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
        msg = h.simple_message("quoted ceo")
        c.send(msg + b".\r\n")
        # "ceo" has the [recipients] rule of ceo@example.com: no spamd, delivered
        self.assertReplyRe(c.reply(), h.delivered_re('"ceo"@example.com'))
        # the control: the default policy needs the spamd that is down
        self.assertReplyRe(c.reply(), r"451 4\.3\.0 <other@example\.com> .*")
        # ... and the copy is in ceo's Maildir, the one the rule is for
        self.assertOneStored("ceo@example.com", msg)
        self.assertEqual(self.d.message_files(), self.d.stored("ceo@example.com"))
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")


class LongAddressTest(h.DaemonTestCase):
    """RFC 5321 4.5.3.1 limits at RCPT: a local part no Maildir (or relay)
    could take is refused now with 550 5.1.3, not with 451 after every
    DATA for days of retries."""

    def rcpt(self, where, address):
        c = self.d.raw(where)
        c.cmd("EHLO client.test" if where == "smtp" else "LHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        return c, c.cmd("RCPT TO:<%s>" % address)

    def test_300_byte_local_part_refused_at_rcpt(self):
        for where in ("lmtp", "smtp"):
            c, reply = self.rcpt(where, "a" * 300 + "@d.test")
            self.assertReplyRe(reply, r"550 5\.1\.3 .*")
            c.cmd("QUIT")
        self.assertEqual(self.d.all_files(), [])

    def test_local_part_limit_is_64(self):
        c, reply = self.rcpt("lmtp", "b" * 65 + "@d.test")
        self.assertReplyRe(reply, r"550 5\.1\.3 .*")
        addr = "b" * 64 + "@d.test"
        self.assertReply(c.cmd("RCPT TO:<%s>" % addr), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
        msg = h.simple_message("64 bytes")
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re(addr))
        self.assertOneStored(addr, msg)


class LongAddressRelayTest(h.DaemonTestCase):
    """The RFC 5321 limits hold in relay mode too (no Maildir involved)."""

    config = {"deliver": {"mode": "relay", "relay": "inet:127.0.0.1:1"}}

    def test_300_byte_local_part_refused_at_rcpt(self):
        c = self.d.raw()
        c.cmd("LHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReplyRe(c.cmd("RCPT TO:<%s@d.test>" % ("a" * 300)), r"550 5\.1\.3 .*")
        self.assertReply(c.cmd('RCPT TO:<"ceo"@d.test>'), "250 2.1.5 Ok")


class MaildirLinkTest(h.DaemonTestCase):
    """A symbolic link planted below the Maildir root (here as a user's
    directory) is refused: 451 4.3.0, a log line, nothing written at the
    link's target; the other recipient of the message is delivered."""

    def test_link_as_users_dir_is_a_4xx(self):
        outside = os.path.join(self.d.tmp, "outside")
        os.makedirs(os.path.join(outside, "Maildir", "new"))
        os.makedirs(os.path.join(self.d.mail_root, "d.test"))
        os.symlink(outside, os.path.join(self.d.mail_root, "d.test", "victim"))
        conn = self.d.lmtp()
        msg = h.simple_message("through a link?")
        _, rr, dr = h.lmtp_send(conn, "s@example.test", ["victim@d.test", "ok@d.test"], msg)
        self.assertEqual(rr, ["250 2.1.5 Ok"] * 2)
        self.assertReplyRe(dr[0], r"451 4\.3\.0 <victim@d\.test> .*")
        self.assertReplyRe(dr[1], h.delivered_re("ok@d.test"))
        self.assertOneStored("ok@d.test", msg)
        self.assertEqual(self.d.all_files(outside), [])
        self.assertRegex(self.d.stderr(), r"victim.* is a symbolic link: refused")
        conn.quit()


if __name__ == "__main__":
    h.main()
