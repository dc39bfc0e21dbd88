"""Metrics, stage timings and policy replay (SPEC section 12).

Owns: GET /metrics after real traffic in relay mode (clean, virus with the
test signatures, spam and a scanner failure from a scripted spamd, a relay
refusal from a scripted relay): `promtool check metrics` passes and every
counter moves by exactly what was sent; the OpenMetrics variant; counters
survive SIGHUP; each report's <timings> adds up to no more than its total
and the log's ms= is that total; `lmtpscan report replay` with the same
configuration changes nothing and with a lowered spam_block_level moves
exactly the recipients whose stored score lies between the two levels;
`lmtpscan stats`; 100 idle connections to the metrics port while a load
runs; inet clients outside allow_from refused.
"""

import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

NS = {"r": "urn:lmtpscan:report:1"}
METRIC_RE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


def admin_path():
    return os.environ.get("LMTPSCAN_ADMIN") or os.path.join(h.BUILD_DIR, "admin", "lmtpscan")


def scrape(port, openmetrics=False, timeout=10):
    headers = {}
    if openmetrics:
        headers["Accept"] = "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def samples(text):
    """{'name{labels}': float} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_RE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def delta(before, after):
    return {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}


class ScriptedSpamd:
    """A SPAMC REPORT answerer whose verdict depends on the User header:
    sNN@... scores NN (spam at 5), tf@... gets the connection closed (a
    scanner failure), everyone else scores 1.0."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.settimeout(h.IO_TIMEOUT)
            request = h.read_spamc_request(conn)
            if request is None:
                return
            head = request[0]
            m = re.search(rb"(?im)^user:\s*(\S+)", head)
            user = m.group(1).decode() if m else ""
            if user.startswith("tf"):
                return  # closed without a reply: a scanner failure
            m = re.match(r"s([0-9.]+)@", user)
            score = float(m.group(1)) if m else 1.0
            conn.sendall(b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: %s ; %.1f / 5.0\r\n\r\n"
                         % (b"True" if score >= 5 else b"False", score))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


class ScriptedRelay:
    """An SMTP relay that takes every recipient but refused*@..., which
    gets 550 5.1.1; keeps connections open across transactions."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rb")
        try:
            conn.sendall(b"220 relay.test ESMTP\r\n")
            rcpts = 0
            for line in f:
                cmd = line.decode("ascii", "replace").strip().upper()
                if cmd.startswith("EHLO"):
                    conn.sendall(b"250-relay.test\r\n250 PIPELINING\r\n")
                elif cmd.startswith("RCPT") and "<REFUSED" in cmd:
                    conn.sendall(b"550 5.1.1 no such user\r\n")
                elif cmd.startswith("RCPT"):
                    rcpts += 1
                    conn.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == "DATA":
                    conn.sendall(b"354 go\r\n")
                    for body in f:
                        if body in (b".\r\n", b".\n"):
                            break
                    self.accepted += rcpts
                    rcpts = 0
                    conn.sendall(b"250 2.0.0 queued\r\n")
                elif cmd == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # MAIL, RSET, NOOP
                    rcpts = 0 if cmd.startswith(("MAIL", "RSET")) else rcpts
                    conn.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


CLEAN = h.crlf("Subject: clean\n\nnothing to see\n")


class MetricsTraffic(h.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lmtpscan-metrics-")
        cls.db = h.make_test_signatures(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def daemon_args(self):
        if shutil.which("promtool") is None:
            self.skipTest("promtool not installed (package prometheus)")
        self.spamd = ScriptedSpamd()
        self.relay = ScriptedRelay()
        self.addCleanup(self.spamd.close)
        self.addCleanup(self.relay.close)
        self.mport = h.free_port()
        return {"overrides": {
            "server": {"metrics_listen": "inet:127.0.0.1:%d" % self.mport},
            "clamav": {"enabled": "yes", "database": self.db},
            "spamd": {"enabled": "yes", "address": "inet:127.0.0.1:%d" % self.spamd.port},
            "deliver": {"mode": "relay", "relay": "inet:127.0.0.1:%d" % self.relay.port},
        }}

    def send(self, rcpts, msg=CLEAN):
        c = self.d.lmtp()
        _m, rr, dr = h.lmtp_send(c, "sender@example.test", rcpts, msg)
        self.assertTrue(all(r.startswith("250") for r in rr), rr)
        return dr

    def promtool(self, text):
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())

    def reports(self):
        out = []
        for root, _dirs, files in os.walk(self.d.reports):
            for f in sorted(files):
                if f.endswith(".xml"):
                    out.append(ET.parse(os.path.join(root, f)).getroot())
        return out

    def admin(self, *args, conf=None):
        p = subprocess.run([admin_path(), "-c", conf or self.d.conf_path] + list(args),
                           capture_output=True, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def traffic(self):
        """Sends the mix; returns the data replies per message."""
        return [
            self.send(["ok1@example.test", "ok2@example.test"]),            # clean, 2 rcpts
            self.send(["ok3@example.test"], h.eicar_message()),             # virus
            self.send(["s20@example.test", "s7@example.test", "s9@example.test",
                       "s14.9@example.test", "s15@example.test", "s3@example.test"]),
            self.send(["tf@example.test"]),                                  # spamd fails
            self.send(["refused@example.test", "ok4@example.test"]),         # relay refusal
        ]

    def smtp(self, rcpts):
        s = smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=60)
        try:
            s.ehlo("client.example.test")
            s.mail("sender@example.test")
            for r in rcpts:
                s.rcpt(r)
            return s.data(CLEAN)[0]
        finally:
            s.quit()

    def test_counters_move_by_exactly_what_was_sent(self):
        _t, before_text = scrape(self.mport)
        self.promtool(before_text)
        before = samples(before_text)
        replies = self.traffic()
        self.assertEqual(self.smtp(["ok5@example.test", "ok6@example.test"]), 250)
        self.assertTrue(replies[3][0].startswith("451"), replies[3])
        self.assertTrue(replies[4][0].startswith("550"), replies[4])
        ctype, text = scrape(self.mport)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        self.promtool(text)
        after = samples(text)
        d = delta(before, after)
        L = 'protocol="lmtp"'
        expect = {
            'lmtpscan_messages_total{%s,verdict="clean"}' % L: 2,
            'lmtpscan_messages_total{%s,verdict="virus"}' % L: 1,
            'lmtpscan_messages_total{%s,verdict="spam"}' % L: 1,
            'lmtpscan_messages_total{%s,verdict="unchecked"}' % L: 1,
            'lmtpscan_recipients_total{%s,verdict="clean",action="deliver"}' % L: 5,
            'lmtpscan_recipients_total{%s,verdict="virus",action="quarantine"}' % L: 1,
            'lmtpscan_recipients_total{%s,verdict="spam",action="quarantine"}' % L: 2,
            'lmtpscan_recipients_total{%s,verdict="spam",action="junk"}' % L: 3,
            'lmtpscan_recipients_total{%s,verdict="unchecked",action="tempfail"}' % L: 1,
            'lmtpscan_replies_total{%s,class="2xx"}' % L: 10,
            'lmtpscan_replies_total{%s,class="4xx"}' % L: 1,
            'lmtpscan_replies_total{%s,class="5xx"}' % L: 1,
            'lmtpscan_scanner_failures_total{engine="spamd"}': 1,
            "lmtpscan_relay_failures_total": 1,
            # SMTP: one reply for the message, two recipients
            'lmtpscan_messages_total{protocol="smtp",verdict="clean"}': 1,
            'lmtpscan_recipients_total{protocol="smtp",verdict="clean",action="deliver"}': 2,
            'lmtpscan_replies_total{protocol="smtp",class="2xx"}': 1,
        }
        for k, v in expect.items():
            self.assertEqual(d.pop(k, 0), v, k)
        for k in list(d):
            if k.startswith(("lmtpscan_stage_duration", "lmtpscan_received_bytes",
                             "lmtpscan_sessions", "lmtpscan_scan_memory")):
                d.pop(k)
        self.assertEqual(d, {}, "counters that moved unexpectedly")
        self.assertEqual(after['lmtpscan_stage_duration_seconds_count{stage="clamav"}']
                         - before['lmtpscan_stage_duration_seconds_count{stage="clamav"}'], 6)
        self.assertEqual(after['lmtpscan_stage_duration_seconds_count{stage="spam"}']
                         - before['lmtpscan_stage_duration_seconds_count{stage="spam"}'], 14)
        self.assertEqual(after['lmtpscan_stage_duration_seconds_count{stage="relay"}']
                         - before['lmtpscan_stage_duration_seconds_count{stage="relay"}'], 4)
        self.assertEqual(after['lmtpscan_stage_duration_seconds_count{stage="report"}']
                         - before['lmtpscan_stage_duration_seconds_count{stage="report"}'], 6)
        self.assertGreater(after["lmtpscan_clamav_signatures"], 0)

        # OpenMetrics on request
        ctype, om = scrape(self.mport, openmetrics=True)
        self.assertTrue(ctype.startswith("application/openmetrics-text; version=1.0.0"), ctype)
        self.assertTrue(om.endswith("# EOF\n"))
        self.assertIn("# TYPE lmtpscan_messages counter\n", om)
        self.assertEqual(samples(om.replace("# EOF\n", "")), samples(text))

        # counters survive SIGHUP
        self.d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while "reloaded" not in self.d.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn("reloaded", self.d.log())
        _t, again = scrape(self.mport)
        kept = samples(again)
        for k, v in after.items():
            if k == "lmtpscan_clamav_loads_total":
                self.assertEqual(kept[k], v + 1, "SIGHUP reloads the signatures once")
            elif "_total" in k:
                self.assertEqual(kept[k], v, k)

    def test_report_timings_add_up(self):
        self.traffic()
        reps = self.reports()
        self.assertEqual(len(reps), 5)
        log = self.d.log()
        for rep in reps:
            t = {k: int(v) for k, v in rep.find("r:timings", NS).attrib.items()}
            self.assertLessEqual(t["receive-us"] + t["scan-us"] + t["delivery-us"] + t["relay-us"],
                                 t["total-us"], t)
            self.assertLessEqual(t["clamav-us"], t["scan-us"], t)
            self.assertLessEqual(t["spam-wait-us"] + t["spam-us"], t["scan-us"], t)
            self.assertGreater(t["clamav-us"], 0, t)
            self.assertGreater(t["spam-us"], 0, t)
            mid = rep.get("mail-id")
            ms = re.findall(r"mail_id=%s .* ms=(\d+) reply=.* timings=receive:\d+,scan:\d+," % mid, log)
            self.assertTrue(ms, mid)
            self.assertEqual(int(ms[0]), t["total-us"] // 1000)

    def test_replay(self):
        self.traffic()
        rc, out, err = self.admin("report", "replay", "--json")
        self.assertEqual(rc, 0, err)
        res = json.loads(out)
        self.assertEqual((res["reports"], res["recipients"], res["changed"]), (5, 12, 0), out)
        self.assertEqual(res["changes"], [])

        # spam_block_level 15 -> 8: the junked recipients scored in [8, 15)
        new_conf = os.path.join(self.d.tmp, "new.conf")
        with open(self.d.conf_path) as f:
            text = f.read()
        with open(new_conf, "w") as f:
            f.write(text + "\n[policy default]\nspam_block_level = 8\n")
        rc, out, err = self.admin("report", "replay", "-c", new_conf, "--since", "1d", "--json")
        self.assertEqual(rc, 0, err)
        res = json.loads(out)
        moved = sorted(c["rcpt"] for c in res["changed_recipients"])
        self.assertEqual(moved, ["s14.9@example.test", "s9@example.test"])
        self.assertEqual(res["changes"], [{"from": "junk", "to": "quarantine", "count": 2}])
        for c in res["changed_recipients"]:
            self.assertRegex(c["mail_id"], "^" + h.MAIL_ID_RE + "$")

        rc, out, err = self.admin("report", "replay", "-c", new_conf)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"junk\s+-> quarantine\s+2")
        self.assertRegex(out, r"<s9@example.test> junk -> quarantine")

        # a bad new configuration, an unreadable report: 2
        bad = os.path.join(self.d.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[server]\nno_such_key = 1\n")
        self.assertEqual(self.admin("report", "replay", "-c", bad)[0], 2)
        day = os.path.join(self.d.reports, sorted(os.listdir(self.d.reports))[0])
        with open(os.path.join(day, "zzzzzzzzzzzz.xml"), "w") as f:
            f.write("<report")
        rc, out, err = self.admin("report", "replay")
        self.assertEqual(rc, 2)
        self.assertIn("zzzzzzzzzzzz.xml", err)

    def test_stats(self):
        self.traffic()
        rc, out, err = self.admin("stats", "--since", "1h")
        self.assertEqual(rc, 0, err)
        self.assertIn("5 messages, 12 recipients", out)
        self.assertRegex(out, r"(?m)^junk\s+3$")
        self.assertRegex(out, r"(?m)^total\s+5\s+[0-9.]+")
        self.assertRegex(out, r"(?m)^clamav\s+5\s+[0-9.]+")


class ReplayStreams(h.DaemonTestCase):
    """A month of reports is read one at a time: 30 times as many reports
    cost the replay no more than a few MB of extra memory, and the time
    stays linear."""

    def run_measured(self, *args):
        code = ("import resource, subprocess, sys, time\n"
                "t = time.monotonic()\n"
                "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
                "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
                "print(p.returncode, ru.ru_maxrss, time.monotonic() - t)\n")
        p = subprocess.run([sys.executable, "-c", code, admin_path(), "-c", self.d.conf_path]
                           + list(args), capture_output=True, timeout=300)
        rc, rss_kb, secs = p.stdout.decode().split()
        return int(rc), int(rss_kb), float(secs)

    def fill(self, days, per_day, template, mail_id):
        for d in range(days):
            day = os.path.join(self.d.reports, "2026-11-%02d" % (d + 1))
            os.makedirs(day, exist_ok=True)
            for i in range(per_day):
                new_id = "%c%011d" % (chr(ord("a") + d % 26), d * 100000 + i)
                with open(os.path.join(day, new_id + ".xml"), "w") as f:
                    f.write(template.replace(mail_id, new_id))

    def test_memory_does_not_grow_with_the_reports(self):
        if h.SANITIZED:
            self.skipTest("AddressSanitizer keeps freed memory in quarantine: RSS says nothing")
        c = self.d.lmtp()
        rcpts = ["r%d@example.test" % i for i in range(50)]
        h.lmtp_send(c, "a@example.test", rcpts, CLEAN)
        (path,) = [os.path.join(r, f) for r, _d, fs in os.walk(self.d.reports) for f in fs]
        with open(path) as f:
            template = f.read()
        mail_id = os.path.basename(path)[:-4]
        self.fill(1, 100, template, mail_id)
        rc, small_rss, small_t = self.run_measured("report", "replay")
        self.assertEqual(rc, 0)
        self.fill(30, 100, template, mail_id)  # 3000 reports, 150000 recipients
        rc, big_rss, big_t = self.run_measured("report", "replay")
        self.assertEqual(rc, 0)
        self.assertLess(big_rss - small_rss, 8 * 1024, (small_rss, big_rss))
        self.assertLess(big_t, 120.0)
        rc, stats_rss, _t = self.run_measured("stats", "--since", "3650d")
        self.assertEqual(rc, 0)
        self.assertLess(stats_rss - small_rss, 8 * 1024, (small_rss, stats_rss))


class MetricsIdleClients(h.DaemonTestCase):
    """100 connections to the metrics port that send nothing: a load of
    mail still runs through at its pace."""

    def daemon_args(self):
        self.mport = h.free_port()
        return {"overrides": {"server": {"metrics_listen": "inet:127.0.0.1:%d" % self.mport}}}

    def load(self, n=60, threads=4):
        def worker(count, errors):
            c = self.d.lmtp()
            for _ in range(count):
                _m, _r, dr = h.lmtp_send(c, "a@example.test", ["b@example.test"], CLEAN)
                if not dr or not dr[0].startswith("250"):
                    errors.append(dr)
        errors = []
        ts = [threading.Thread(target=worker, args=(n // threads, errors)) for _ in range(threads)]
        start = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        return time.monotonic() - start

    def test_idle_connections_do_not_slow_mail(self):
        baseline = self.load()
        idle = []
        for _ in range(100):
            # past the endpoint's connection limit they wait in the
            # kernel's backlog or are refused: either way they are open
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.mport))
            idle.append(s)
        self.addCleanup(lambda: [s.close() for s in idle])
        with_idle = self.load()
        # generous: the same load, allowing for a busy shared machine
        self.assertLess(with_idle, baseline * 3 + 2.0, (baseline, with_idle))
        self.assertTrue(self.d.alive())


class MetricsAllowFrom(h.DaemonTestCase):
    def daemon_args(self):
        self.mport = h.free_port()
        return {"overrides": {"server": {"metrics_listen": "inet:127.0.0.1:%d" % self.mport,
                                         "allow_from": "192.0.2.0/24"}}}

    def test_client_outside_allow_from_refused(self):
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            scrape(self.mport, timeout=5)


class MetricsAllowed(h.DaemonTestCase):
    def daemon_args(self):
        self.mport = h.free_port()
        return {"overrides": {"server": {"metrics_listen": "inet:127.0.0.1:%d" % self.mport}}}

    def test_only_get_metrics(self):
        _t, text = scrape(self.mport)
        self.assertIn("lmtpscan_sessions", text)
        req = urllib.request.Request("http://127.0.0.1:%d/other" % self.mport)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 404)
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.mport, data=b"x",
                                     method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 405)

    def test_http_library_loaded(self):
        self.assertIn("libmicrohttpd", mapped_files(self.d.proc.pid))


class MetricsOff(h.DaemonTestCase):
    """Without metrics_listen the HTTP library (and GnuTLS with it) is
    never loaded: a daemon that serves no /metrics does not carry it."""

    def test_http_library_not_loaded(self):
        c = self.d.lmtp()
        _m, _r, dr = h.lmtp_send(c, "a@example.test", ["b@example.test"], CLEAN)
        c.quit()
        self.assertTrue(dr[0].startswith("250"), dr[0])
        maps = mapped_files(self.d.proc.pid)
        self.assertNotIn("libmicrohttpd", maps)
        self.assertNotIn("libgnutls", maps)


def mapped_files(pid):
    with open("/proc/%d/maps" % pid) as f:
        return f.read()


if __name__ == "__main__":
    h.main()
