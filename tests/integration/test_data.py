"""Message data transparency: dot-stuffing, the end-of-data sequence and
SMTP smuggling attempts, NUL and 8-bit bytes, a 5 MB line, bare LF, and
BDAT (CHUNKING) including chunk boundaries inside a CRLF and the DATA/BDAT
mixing error. Every check compares the exact bytes stored."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

DATA_GO = "354 End data with <CR><LF>.<CR><LF>"


class DataTest(h.DaemonTestCase):

    def begin(self, c, rcpts, mail="MAIL FROM:<s@example.test>"):
        """LHLO, MAIL and RCPTs on a raw client, each reply checked."""
        self.assertTrue(c.cmd("LHLO client.test").startswith("250-"))
        self.assertReply(c.cmd(mail), "250 2.1.0 Ok")
        for r in rcpts:
            self.assertReply(c.cmd("RCPT TO:<%s>" % r), "250 2.1.5 Ok")

    def send_data(self, c, rcpts, wire, mail="MAIL FROM:<s@example.test>"):
        """DATA with wire (already stuffed, without the final dot)."""
        self.begin(c, rcpts, mail)
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(wire + b".\r\n")
        replies = c.replies(len(rcpts))
        for r, reply in zip(rcpts, replies):
            self.assertReplyRe(reply, h.delivered_re(r))
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        return replies

    def stored_one(self, addr):
        files = self.d.stored(addr)
        self.assertEqual(len(files), 1, "%s: %r%s" % (addr, files, self._ctx()))
        with open(files[0], "rb") as f:
            return f.read()

    # --- DATA ------------------------------------------------------------
    def test_dot_stuffing(self):
        c = self.d.raw()
        wire = (b"Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\n"
                b"middle . dot\r\n..\r\n")
        self.send_data(c, ["dots@d.test"], wire)
        want = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
                b"middle . dot\r\n.\r\n")
        self.assertOneStored("dots@d.test", want)

    def test_dot_stuffed_first_line(self):
        c = self.d.raw()
        self.send_data(c, ["first@d.test"], b"..starts with a dot\r\n\r\nbody\r\n")
        self.assertOneStored("first@d.test", b".starts with a dot\r\n\r\nbody\r\n")

    def assertStoredOneOf(self, addr, variants):
        """The one stored copy ends with one of variants (LF form); an
        unstuffed dot at a line start may be kept or removed (RFC 5321
        4.5.2 removes it) where the daemon's choice is not the contract."""
        got = self.stored_one(addr)
        self.assertTrue(got.startswith(b"Received: "), got[:100])
        for v in variants:
            if got.endswith(v):
                return v
        self.fail("%s: stored tail %r matches none of %r" % (addr, got[-300:], variants))

    def smuggle(self, addr, wire, kept, removed):
        """wire holds kept; it must be message text, not an end of data."""
        c = self.d.raw()
        self.send_data(c, [addr], wire)
        self.assertEqual(self.d.stored("victim@x.test"), [])
        self.assertEqual(self.d.stored("evil@x.test"), [])
        want = h.to_lf(wire)
        self.assertIn(kept, want)
        self.assertStoredOneOf(addr, [want, want.replace(kept, removed)])

    def test_smuggling_lf_dot_lf(self):
        """LF . LF must not end the data; the smuggled commands after it
        are message text, not a second transaction."""
        self.smuggle("s1@d.test",
                     b"Subject: smuggle 1\r\n\r\nhello\n.\nMAIL FROM:<evil@x.test>\r\n"
                     b"RCPT TO:<victim@x.test>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n",
                     b"hello\n.\nMAIL", b"hello\n\nMAIL")

    def test_smuggling_crlf_dot_lf(self):
        self.smuggle("s2@d.test",
                     b"Subject: smuggle 2\r\n\r\nhello\r\n.\nMAIL FROM:<evil@x.test>\r\n"
                     b"RCPT TO:<victim@x.test>\r\nDATA\r\nforged\r\n",
                     b"hello\n.\nMAIL", b"hello\n\nMAIL")

    def test_smuggling_lf_dot_crlf(self):
        self.smuggle("s3@d.test",
                     b"Subject: smuggle 3\r\n\r\nhello\n.\r\nMAIL FROM:<evil@x.test>\r\n"
                     b"RCPT TO:<victim@x.test>\r\nDATA\r\nforged\r\n",
                     b"hello\n.\nMAIL", b"hello\n\nMAIL")

    def test_smuggling_cr_dot_cr(self):
        self.smuggle("s4@d.test",
                     b"Subject: smuggle 4\r\n\r\nhello\r.\rMAIL FROM:<evil@x.test>\r\n"
                     b"RCPT TO:<victim@x.test>\r\nDATA\r\nforged\r\n",
                     b"hello\r.\rMAIL", b"hello\n.\nMAIL")  # bare CR: a line end

    def test_unstuffed_dot_line(self):
        c = self.d.raw()
        wire = b"Subject: dot\r\n\r\n. space after an unstuffed dot\r\n.x\r\n"
        self.send_data(c, ["ud@d.test"], wire)
        want = h.to_lf(wire)
        self.assertStoredOneOf("ud@d.test", [
            want.replace(b"\n. space", b"\n space").replace(b"\n.x", b"\nx"), want])

    def test_bare_lf_kept_as_line_end(self):
        c = self.d.raw()
        wire = b"Subject: bare lf\n\nline one\nline two\r\nline three\n\r\n"
        self.send_data(c, ["lf@d.test"], wire)
        self.assertOneStored("lf@d.test", wire)  # stored: all LF

    def test_nul_and_8bit(self):
        c = self.d.raw()
        body = bytes(b for b in range(256) if b not in (10, 13))
        wire = (b"Subject: binary \xc3\xa9\xff\r\n\r\n" + body + b"\r\n"
                + b"\x00\x00\x00\r\n" + b"\xff\xfe\x80\r\n" + b"end\x00\r\n")
        self.send_data(c, ["bin@d.test"], wire, mail="MAIL FROM:<s@example.test> BODY=8BITMIME")
        self.assertOneStored("bin@d.test", wire)

    def test_lone_cr_stored_as_line_end(self):
        c = self.d.raw()
        wire = b"Subject: cr\r\n\r\na\rb\r\r\nc\r\n"
        self.send_data(c, ["cr@d.test"], wire)
        self.assertOneStored("cr@d.test", b"Subject: cr\n\na\nb\n\nc\n")

    def test_five_megabyte_line(self):
        c = self.d.raw()
        line = (b"0123456789abcdef" * (5 * 1024 * 1024 // 16))
        wire = b"Subject: long line\r\n\r\n" + line + b"\r\nend\r\n"
        self.send_data(c, ["long@d.test"], wire)
        self.assertOneStored("long@d.test", wire)

    def test_end_split_across_sends(self):
        """The final CRLF . CRLF arriving in pieces still ends the data."""
        c = self.d.raw()
        self.begin(c, ["split@d.test"])
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(b"Subject: split\r\n\r\nbody")
        for piece in (b"\r", b"\n", b".", b"\r", b"\n"):
            c.send(piece)
        self.assertReplyRe(c.reply(), h.delivered_re("split@d.test"))
        self.assertOneStored("split@d.test", b"Subject: split\r\n\r\nbody\r\n")

    def test_empty_message(self):
        c = self.d.raw()
        self.begin(c, ["empty@d.test"])
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("empty@d.test"))
        self.assertOneStored("empty@d.test", b"")

    # --- verdict headers (SPEC 6) ------------------------------------------
    def test_incoming_verdict_headers_removed(self):
        c = self.d.raw()
        wire = h.crlf("X-Spam-Flag: YES\nSubject: forged\nX-Spam-Status: Yes, score=99\n"
                      "\ttests=FORGED\nx-virus-scanned: clean, trust me\nX-Spam-Level: *****\n"
                      "X-Spam-Score: 99\nX-Spam-Report: forged\n folded\nX-Spam-Other: kept\n"
                      "\nX-Spam-Flag: YES in the body stays\n")
        self.send_data(c, ["vh@d.test"], wire)
        self.assertOneStored("vh@d.test", h.strip_verdict_headers(wire))
        got = self.stored_one("vh@d.test")
        self.assertEqual(h.header_value(got, "X-Spam-Other"), "kept")
        for name in h.VERDICT_HEADERS:  # scanners off: none of them added either
            self.assertEqual(h.header_values(got, name.decode()), [], name)
        self.assertIn(b"\nX-Spam-Flag: YES in the body stays\n", got)
        self.assertNotIn(b"folded", got)

    def test_verdict_headers_after_a_malformed_line_removed(self):
        """An mbox "From " line (or any line that is no well-formed field)
        does not end the header for Dovecot's parser (a line without a
        proper name is a field there, up to the empty line), so a
        downstream Sieve rule would see a forged verdict after it: the
        removal must cover the header up to the empty line."""
        c = self.d.raw()
        wire = h.crlf("From sender@example.test  Thu Aug 22 10:49:11 2002\n"
                      "Subject: mbox line first\nX-Spam-Flag: YES\n"
                      "X-Virus-Scanned: forged\n\nbody\n")
        self.send_data(c, ["vh2@d.test"], wire)
        self.assertOneStored("vh2@d.test", h.strip_verdict_headers(wire))

    # --- BDAT --------------------------------------------------------------
    def test_bdat_chunks_then_zero_last(self):
        c = self.d.raw()
        rcpts = ["b1@d.test", "b2@d.test"]
        self.begin(c, rcpts)
        msg = b"Subject: bdat\r\n\r\n.not stuffed\r\nline\r\n\r\n.\r\nafter a lone dot\r\n"
        first, second = msg[:10], msg[10:]
        # split inside a CRLF too: the conversion must work across chunks
        cut = second.index(b"\r\n") + 1
        c.send(b"BDAT 10\r\n" + first)
        self.assertReply(c.reply(), "250 2.0.0 10 bytes received")
        c.send(b"BDAT %d\r\n" % cut + second[:cut])
        self.assertReply(c.reply(), "250 2.0.0 %d bytes received" % cut)
        rest = second[cut:]
        c.send(b"BDAT %d\r\n" % len(rest) + rest)
        self.assertReply(c.reply(), "250 2.0.0 %d bytes received" % len(rest))
        c.send(b"BDAT 0 LAST\r\n")
        for r, reply in zip(rcpts, c.replies(2)):
            self.assertReplyRe(reply, h.delivered_re(r))
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        for r in rcpts:
            self.assertOneStored(r, msg)  # no unstuffing in BDAT

    def test_bdat_last_directly_pipelined(self):
        c = self.d.raw()
        msg = b"Subject: bdat last\r\n\r\nbody\r\n"
        c.send(b"LHLO x\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<bl@d.test>\r\n"
               b"BDAT %d LAST\r\n" % len(msg) + msg + b"QUIT\r\n")
        self.assertTrue(c.reply().startswith("250-"))
        self.assertReply(c.reply(), "250 2.1.0 Ok")
        self.assertReply(c.reply(), "250 2.1.5 Ok")
        self.assertReplyRe(c.reply(), h.delivered_re("bl@d.test"))
        self.assertReply(c.reply(), "221 2.0.0 Bye")
        self.assertOneStored("bl@d.test", msg)

    def test_bdat_then_data_is_503(self):
        c = self.d.raw()
        self.begin(c, ["mix@d.test"])
        c.send(b"BDAT 5\r\nhello")
        self.assertReply(c.reply(), "250 2.0.0 5 bytes received")
        self.assertReplyRe(c.cmd("DATA"), r"503 5\.5\.1 .*")
        self.assertReply(c.cmd("RSET"), "250 2.0.0 Ok")
        self.assertEqual(self.d.message_files(), [])
        # the session still works
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<mix@d.test>"), "250 2.1.5 Ok")
        c.send(b"BDAT 10 LAST\r\nok\r\nfine\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re("mix@d.test"))
        self.assertOneStored("mix@d.test", b"ok\r\nfine\r\n")

    def test_bdat_without_recipient_skips_chunk(self):
        """RFC 3030: a refused BDAT still consumes its chunk."""
        c = self.d.raw()
        c.cmd("LHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        c.send(b"BDAT 6 LAST\r\nNOOP\r\nNOOP\r\n")
        self.assertReply(c.reply(), "503 5.5.1 No valid recipients")
        self.assertReply(c.reply(), "250 2.0.0 Ok")

    def test_bdat_on_smtp_listener(self):
        c = self.d.raw("smtp")
        c.cmd("EHLO x")
        self.assertReply(c.cmd("MAIL FROM:<s@x.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<sb1@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("RCPT TO:<sb2@d.test>"), "250 2.1.5 Ok")
        msg = b"Subject: smtp bdat\r\n\r\nx\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        self.assertReplyRe(c.reply(), r"250 2\.0\.0 Ok: queued as %s" % h.MAIL_ID_RE)
        self.assertReply(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertOneStored("sb1@d.test", msg)
        self.assertOneStored("sb2@d.test", msg)

    # --- hostile headers (linear copy, bare CR to the relay) ----------------
    def test_ten_megabytes_of_verdict_fields_to_five_recipients(self):
        """A 10 MB header made only of forged X-Spam-Flag fields, to five
        recipients (scanners off): each copy is linear in the message
        size, so all five replies come well within 20 s (a copy that
        scanned every removed field for every other one took minutes)."""
        import time
        rcpts = ["big%d@d.test" % i for i in range(5)]
        wire = b"X-Spam-Flag: YES\r\n" * (10 * 1024 * 1024 // 18)
        c = self.d.raw()
        self.begin(c, rcpts)
        self.assertReply(c.cmd("DATA"), DATA_GO)
        start = time.monotonic()
        c.send(wire + b".\r\n")
        replies = c.replies(len(rcpts))
        elapsed = time.monotonic() - start
        for r, reply in zip(rcpts, replies):
            self.assertReplyRe(reply, h.delivered_re(r))
        self.assertLess(elapsed, 20.0, "five copies of a 10 MB header took %.1f s" % elapsed)
        for r in rcpts:
            got = self.stored_one(r)
            self.assertTrue(got.startswith(b"Received: "), got[:200])
            self.assertNotIn(b"X-Spam-Flag", got)
            self.assertLess(len(got), 2000)  # the prepended block only

    def test_bare_cr_reaches_a_real_relay_as_a_line_end(self):
        """Relay mode to Postfix's smtp-sink: a bare CR goes out as CRLF, so
        "hello CR . CR LF" arrives as a stuffed dot line (smtp-sink drops
        bare CRs, so before the fix it stored "hello."), and a verdict
        field after a bare CR in the header is removed, not sent."""
        import socket
        import subprocess
        import time
        sink_exe = "/usr/sbin/smtp-sink"
        if not os.access(sink_exe, os.X_OK):
            self.skipTest("no %s (package postfix)" % sink_exe)
        dump = os.path.join(self.d.tmp, "sink")
        os.makedirs(dump)
        port = h.free_port()
        sink = subprocess.Popen([sink_exe, "-u", "root", "-d", dump + "/m.",
                                 "127.0.0.1:%d" % port, "10"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(sink.wait, 10)
        self.addCleanup(sink.kill)
        d = h.Daemon(overrides={"deliver": {"mode": "relay",
                                            "relay": "inet:127.0.0.1:%d" % port}})
        self.addCleanup(d.cleanup)
        deadline = time.monotonic() + 10
        while True:  # smtp-sink answers once it listens
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                self.assertLess(time.monotonic(), deadline, "smtp-sink did not start")
                time.sleep(0.05)
        d.start()
        c = d.raw()
        self.assertTrue(c.cmd("LHLO client.test").startswith("250-"))
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<relayed@d.test>"), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(b"Subject: bare cr\rX-Spam-Flag: YES\r\nX-Spam-Status\t: Yes\r\n\r\n"
               b"hello\r.\r\nMAIL FROM:<evil@x.test>\r\nend\r\n.\r\n")
        self.assertTrue(c.reply().startswith("250 "))
        files = []
        deadline = time.monotonic() + 10
        while not files and time.monotonic() < deadline:
            files = os.listdir(dump)
            time.sleep(0.05)
        self.assertEqual(len(files), 1, files)
        time.sleep(0.2)  # smtp-sink writes the dump as the data arrives
        got = h.read_file(os.path.join(dump, files[0]))
        self.assertIn(b"\nSubject: bare cr\n\nhello\n.\nMAIL FROM:<evil@x.test>\nend\n", got)
        self.assertNotIn(b"X-Spam-Flag", got)
        self.assertNotIn(b"X-Spam-Status", got)
        c.close()
        rc, _killed = d.stop()
        self.assertEqual(rc, 0, d.stderr())

    def test_verdict_headers_with_blanks_before_the_colon_removed(self):
        """RFC 5322 obsolete syntax allows blanks before the colon, so a
        reader may take "X-Spam-Flag : YES" as X-Spam-Flag: removed like
        the plain form; a blank-led first line, which would
        continue our own X-Spam-Status, goes too."""
        c = self.d.raw()
        wire = (b" Yes, tests=FORGED\r\nX-Spam-Flag : YES\r\nSubject: blanks\r\n"
                b"X-Spam-Status\t: Yes, score=99\r\n\ttests=FORGED\r\nX-Virus-Scanned \t: ok\r\n"
                b"X-Spam-Flagged : kept\r\n\r\nX-Spam-Flag : body\r\n")
        self.send_data(c, ["blank@d.test"], wire)
        self.assertOneStored("blank@d.test", b"Subject: blanks\r\nX-Spam-Flagged : kept\r\n"
                                             b"\r\nX-Spam-Flag : body\r\n")
        got = self.stored_one("blank@d.test")
        self.assertNotIn(b"FORGED", got)


if __name__ == "__main__":
    h.main()
