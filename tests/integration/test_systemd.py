"""What lmtpscand.service and lmtpscand.socket rely on, without booting
systemd:

- socket activation: the daemon is started by systemd-socket-activate
  (package systemd) holding the LMTP inet and unix sockets and the SMTP
  socket (FileDescriptorName "smtp"); the daemon takes them over (it could
  not bind them itself: they are in use) and serves mail on each;
- Type=notify: with NOTIFY_SOCKET set it sends READY=1 once it serves,
  RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM, and
  exits 0.

Skipped (exit 77) when systemd-socket-activate is missing.
"""

import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

# The wrapper reads the listen lines of the configuration the harness wrote
# and has systemd-socket-activate open those sockets instead of the daemon
# (it passes on only the environment named with -E).
WRAPPER = r"""#!/bin/sh
conf=
prev=
for a in "$@"; do
    [ "$prev" = -c ] && conf=$a
    prev=$a
done
args=
names=
for item in $(sed -n 's/^listen = //p' "$conf" | tr ',' ' '); do
    args="$args -l ${item#*:}"
    names="$names:lmtp"
done
for item in $(sed -n 's/^smtp_listen = //p' "$conf" | tr ',' ' '); do
    args="$args -l ${item#*:}"
    names="$names:smtp"
done
exec systemd-socket-activate $args -E NOTIFY_SOCKET --fdname="${names#:}" -- "%s" "$@"
"""


class Notifications:
    """A NOTIFY_SOCKET peer: collects the daemon's sd_notify datagrams."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.seen = []

    def poll(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                return
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    self.seen.append(line)

    def wait_for(self, item, after=0, timeout=20.0):
        """Index of the first `item` at or after position `after`."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            for i in range(after, len(self.seen)):
                if self.seen[i] == item:
                    return i
            if time.monotonic() > deadline:
                return -1

    def close(self):
        self.sock.close()


class SystemdTest(h.DaemonTestCase):
    start_daemon = False

    def setUp(self):
        if shutil.which("systemd-socket-activate") is None:
            self.skipTest("systemd-socket-activate not installed (package systemd)")
        self.tmp = tempfile.mkdtemp(prefix="lmtpscan-sd-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        wrapper = os.path.join(self.tmp, "lmtpscand-activated")
        with open(wrapper, "w") as f:
            f.write(WRAPPER % h.daemon_path())
        os.chmod(wrapper, 0o755)
        self.notify = Notifications(os.path.join(self.tmp, "notify"))
        self.addCleanup(self.notify.close)
        saved = {k: os.environ.get(k) for k in ("LMTPSCAND", "NOTIFY_SOCKET")}
        self.addCleanup(self._restore_env, saved)
        os.environ["LMTPSCAND"] = wrapper
        os.environ["NOTIFY_SOCKET"] = self.notify.path
        super().setUp()

    @staticmethod
    def _restore_env(saved):
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def deliver(self, where, addr):
        c = self.d.raw(where)
        self.assertRegex(c.greeting, r"^220 ")
        self.assertTrue(c.cmd("EHLO t" if where == "smtp" else "LHLO t").startswith("250"))
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>"), "250 2.1.0 Ok")
        self.assertReply(c.cmd("RCPT TO:<%s>" % addr), "250 2.1.5 Ok")
        self.assertReply(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>")
        msg = h.simple_message("activated " + where)
        c.send(h.dot_stuff(msg) + b".\r\n")
        r = c.reply()
        if where == "smtp":
            self.assertReplyRe(r, r"250 2\.0\.0 Ok: queued as %s" % h.MAIL_ID_RE)
        else:
            self.assertReplyRe(r, h.delivered_re(addr))
        c.cmd("QUIT")
        self.assertOneStored(addr, msg)

    def test_socket_activation_and_notify(self):
        try:
            self.d.start()
        except h.DaemonError as e:
            self.fail(str(e))
        self.assertGreaterEqual(self.notify.wait_for("READY=1"), 0,
                                "no READY=1: %r%s" % (self.notify.seen, self._ctx()))
        self.assertRegex(self.d.log(), r"using 3 socket\(s\) from the service manager")
        self.deliver("lmtp", "inet@sd.test")
        self.deliver("unix", "unix@sd.test")
        self.deliver("smtp", "smtp@sd.test")

        n = len(self.notify.seen)
        self.d.proc.send_signal(signal.SIGHUP)
        i = self.notify.wait_for("RELOADING=1", n)
        self.assertGreaterEqual(i, 0, "no RELOADING=1: %r" % self.notify.seen)
        self.assertGreater(self.notify.wait_for("READY=1", i + 1), i,
                           "no READY=1 after the reload: %r" % self.notify.seen)
        self.deliver("lmtp", "after-reload@sd.test")

        n = len(self.notify.seen)
        rc, killed = self.d.stop()
        self.assertFalse(killed)
        self.assertEqual(rc, 0, self._ctx())
        self.assertGreaterEqual(self.notify.wait_for("STOPPING=1", n, 2.0), 0,
                                "no STOPPING=1: %r" % self.notify.seen)


if __name__ == "__main__":
    h.main()
