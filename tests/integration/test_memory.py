"""Memory: a 40 MB message through LMTP (scanners off) must be streamed to
the spool and the Maildir, not held in memory: the daemon's peak RSS
(VmHWM) may grow by less than 16 MB. Prints the peak RSS. Under the
sanitizers (ASan keeps freed memory in quarantine) the bound is not
asserted, only printed."""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

MESSAGE_MB = 40
GROWTH_LIMIT_KB = 16 * 1024
DATA_GO = "354 End data with <CR><LF>.<CR><LF>"


def big_message(mb):
    line = b"The quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOPQRSTU\r\n"
    head = (b"From: <big@example.test>\r\nTo: <mem@d.test>\r\nSubject: forty megabytes\r\n"
            b"Message-ID: <big-1@lmtpscan.test>\r\n\r\n")
    n = (mb * 1024 * 1024 - len(head)) // len(line)
    return head + line * n


class MemoryTest(h.DaemonTestCase):

    def send(self, c, rcpt, msg):
        self.assertReply(c.cmd("MAIL FROM:<big@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<%s>" % rcpt), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), DATA_GO)
        c.send(msg + b".\r\n")
        self.assertReplyRe(c.reply(), h.delivered_re(rcpt))

    def test_forty_megabytes_streamed(self):
        c = self.d.raw()
        c.sock.settimeout(120)
        c.cmd("LHLO x")
        # warm-up: a small message, so buffers of the normal path exist
        small = h.simple_message("warm-up")
        self.send(c, "warm@d.test", small)
        before = self.d.vmhwm_kb()
        rss_before = self.d.vmrss_kb()

        msg = big_message(MESSAGE_MB)
        self.send(c, "mem@d.test", msg)
        after = self.d.vmhwm_kb()
        self.assertReply(c.cmd("QUIT"), "221 2.0.0 Bye")

        growth = after - before
        print("\nmemory: %d MB message; VmHWM before %d kB, after %d kB (growth %d kB); "
              "VmRSS before %d kB%s" % (MESSAGE_MB, before, after, growth, rss_before,
                                        " [sanitizer build: bound not asserted]"
                                        if h.SANITIZED else ""))
        files = self.d.stored("mem@d.test")
        self.assertEqual(len(files), 1)
        want = h.to_lf(msg)
        size = os.path.getsize(files[0])
        self.assertGreater(size, len(want))
        with open(files[0], "rb") as f:
            self.assertEqual(f.read(10), b"Received: ")
            f.seek(size - len(want))
            digest = hashlib.sha256()
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
        self.assertEqual(digest.hexdigest(), hashlib.sha256(want).hexdigest())
        self.assertSpoolEmpty()
        if not h.SANITIZED:
            self.assertLess(growth, GROWTH_LIMIT_KB,
                            "peak RSS grew by %d kB for a %d MB message" % (growth, MESSAGE_MB))


if __name__ == "__main__":
    h.main()
