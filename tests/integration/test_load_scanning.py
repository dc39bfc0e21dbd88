"""Load with both scanners on: 200 real corpus mails (1-3 recipients each)
at concurrency 8 through real libclamav (test signatures) and a real
spamd -L, every copy delivered exactly once with its bytes intact, and
every stored copy carrying the verdict headers of both scanners, so each
message was scanned. Prints messages per second."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402
import test_load  # noqa: E402
import test_scanning  # noqa: E402

test_load.N_MESSAGES = 200


def setUpModule():
    test_scanning.setUpModule()


def tearDownModule():
    test_scanning.tearDownModule()


class ScanningLoadTest(test_load.LoadTest):
    def daemon_args(self):
        overrides = {
            "server": {"scan_timeout": "120s"},
            "clamav": {"enabled": "yes", "database": test_scanning.SPAMD["db"],
                       "reload_check": "0"},
            "spamd": {"enabled": "yes",
                      "address": "inet:127.0.0.1:%d" % test_scanning.SPAMD["port"],
                      "timeout": "60s"},
        }
        # Everything is delivered to the inbox (spam passes with its
        # headers), so the stored copies can be compared with what was sent;
        # one spamd user keeps it to one spamd request per message.
        extra = ("[policy default]\nspam_action = pass\nspam_block_level = 100000\n"
                 "spamd_user = load\n")
        return {"overrides": overrides, "extra": extra}

    def test_corpus_load(self):
        super().test_corpus_load()
        for path in self.d.message_files():
            got = h.read_file(path)
            self.assertRegex(h.header_value(got, "X-Virus-Scanned") or "",
                             r"^lmtpscan \(ClamAV ", path)
            self.assertRegex(h.header_value(got, "X-Spam-Status") or "",
                             r"^(Yes|No), score=", path)

    test_smtp_source_load = None


if __name__ == "__main__":
    h.main()
