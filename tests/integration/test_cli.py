"""The lmtpscand command line: -t on a good and on bad configurations (exit
0/1, the message names file, line and key), -V, start-up refusing unusable
directories, and a foreground start/stop."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402


class CliTest(unittest.TestCase):

    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)
        self.d.port = h.free_port()
        self.d.smtp_port = h.free_port()

    def run_daemon(self, *args, timeout=60):
        p = subprocess.run([h.daemon_path()] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")

    def write_conf(self, text):
        with open(self.d.conf_path, "w") as f:
            f.write(text)
        return self.d.conf_path

    def line_of(self, text, needle):
        for i, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return i
        self.fail("%r not in config" % needle)

    def test_check_good_config(self):
        conf = self.write_conf(self.d.config_text())
        rc, out, err = self.run_daemon("-t", "-c", conf)
        self.assertEqual(rc, 0, out + err)
        # -t must not start listening
        self.assertFalse(os.path.exists(self.d.sock_path))

    def test_check_changes_nothing(self):
        """-t reports what start-up would find but creates nothing: missing
        spool, quarantine and report directories stay missing."""
        fresh = os.path.join(self.d.tmp, "fresh")
        text = self.d.config_text()
        for path, name in ((self.d.spool, "spool"), (self.d.quarantine, "quarantine"),
                           (self.d.reports, "reports")):
            text = text.replace(" = " + path + "\n", " = %s/%s\n" % (fresh, name))
        rc, out, err = self.run_daemon("-t", "-c", self.write_conf(text))
        self.assertEqual(rc, 0, out + err)
        self.assertFalse(os.path.exists(fresh))
        # ... and a directory that could not be created is an error
        with open(fresh, "w") as f:
            f.write("a file where the directories would go\n")
        rc, out, err = self.run_daemon("-t", "-c", self.d.conf_path)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("spool_dir", out + err)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_check_refuses_root_without_user(self):
        """-t refuses what the start would refuse: root without `user`."""
        text = self.d.config_text().replace("user = root\n", "")
        rc, out, err = self.run_daemon("-t", "-c", self.write_conf(text))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("refusing to run as root", out + err)

    def test_check_unknown_key(self):
        text = self.d.config_text().replace("[deliver]\n", "[deliver]\nno_such_key = 1\n")
        conf = self.write_conf(text)
        rc, out, err = self.run_daemon("-t", "-c", conf)
        self.assertEqual(rc, 1, out + err)
        msg = out + err
        self.assertIn("%s:%d" % (conf, self.line_of(text, "no_such_key")), msg)
        self.assertIn("no_such_key", msg)

    def test_check_unknown_section(self):
        text = self.d.config_text() + "\n[nonsense]\nkey = 1\n"
        conf = self.write_conf(text)
        rc, out, err = self.run_daemon("-t", "-c", conf)
        self.assertEqual(rc, 1, out + err)
        self.assertIn(conf + ":", out + err)
        self.assertIn("nonsense", out + err)

    def test_check_bad_values(self):
        base = self.d.config_text()
        cases = [
            ("max_message_size = 50M", "max_message_size = 12Q", "max_message_size"),
            ("max_sessions = 32", "max_sessions = -1", "max_sessions"),
            ("timeout = 60s", "timeout = soon", "timeout"),
            ("mode = maildir", "mode = carrier-pigeon", "mode"),
            ("maildir_create = yes", "maildir_create = perhaps", "maildir_create"),
            ("allow_from = 127.0.0.0/8, ::1", "allow_from = 300.1.2.3/8", "allow_from"),
            ("log = stderr", "log = somewhere", "log"),
        ]
        for good, bad, key in cases:
            with self.subTest(key=key):
                self.assertIn(good, base)
                text = base.replace(good, bad)
                conf = self.write_conf(text)
                rc, out, err = self.run_daemon("-t", "-c", conf)
                self.assertEqual(rc, 1, "%s accepted: %s" % (bad, out + err))
                self.assertIn("%s:%d" % (conf, self.line_of(text, bad)), out + err)
                self.assertIn(key, out + err)

    def test_check_missing_file(self):
        missing = os.path.join(self.d.tmp, "missing.conf")
        rc, out, err = self.run_daemon("-t", "-c", missing)
        self.assertEqual(rc, 1)
        self.assertIn(missing, out + err)

    def test_version(self):
        rc, out, err = self.run_daemon("-V")
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out + err, r"lmtpscand\D*\d+\.\d+(\.\d+)?")

    def test_refuses_unusable_spool(self):
        """A spool that is not a directory (and cannot become one) stops
        the start with a message naming it."""
        notdir = os.path.join(self.d.tmp, "plainfile")
        with open(notdir, "w") as f:
            f.write("not a directory\n")
        self.write_conf(self.d.config_text().replace(
            "spool_dir = " + self.d.spool, "spool_dir = " + notdir))
        rc, out, err = self.run_daemon("-f", "-c", self.d.conf_path, timeout=30)
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("plainfile", out + err)

    def test_refuses_taken_port(self):
        """A listener that cannot bind is a start-up error, not a hang."""
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            self.d.port = s.getsockname()[1]
            self.write_conf(self.d.config_text())
            rc, out, err = self.run_daemon("-f", "-c", self.d.conf_path, timeout=30)
        self.assertNotEqual(rc, 0, out + err)
        self.assertTrue(re.search(r"in use|bind", out + err, re.I), out + err)


if __name__ == "__main__":
    h.main()
