"""The benchmark: lmtpscand and the systems a user would pick instead, in one
run on one machine, compared by medians of repeats and by ratios.

Owns: the plan (which systems, concurrencies, recipient counts, message
sizes, repeats), running it with the servers of servers.py and the load of
loadgen.py, the per-point numbers (msgs/s, p50/p99 end-of-data latency,
CPU ms per message of each server's process tree, peak RSS), the memory
probes, the targets, and the outputs: a table on stdout, a JSON file, a
gnuplot PNG and a Markdown results section.

Every lmtpscand runs with the shipped defaults except what a group turns
on; the load is the whole SpamAssassin corpus, each point starting where
the last one stopped, and every message sent is unique (loadgen), so no
clean-file or verdict cache helps anyone.

Groups (servers of a group run side by side; every repeat visits every
system before the next repeat starts, so drift hits all of them alike):
  maildir  lmtpscand Maildir scanners off, lmtpscand libclamav only,
           lmtpscand relay mode to smtp-sink, Dovecot LMTP, the null
           delivery agent (nullmda: tmp/, write, fsync, link into new/,
           fsync new/ on the same file system: the fsync limit), and the
           load generator against smtp-sink -L (its own ceiling)
  full     lmtpscand libclamav + spamd, spamd alone (spamc), amavisd-new
           with Debian's defaults (decoders, banned rules) and the
           stripped amavisd-new; at c=8 lmtpscand with the sample banned
           list too; with 1-3 recipients also lmtpscand with one spamd
           user for the site (the cost of per-recipient SpamAssassin
           preferences)
  size     synthetic 4 KB, 100 KB, 10 MB messages
  memory   RSS growth for one 10 MB message, clamscan's growth on the same
           bytes, 32 concurrent 40 MB mails against the scan_memory budget
  banned   lmtpscand libclamav only, with and without the banned list of
           conf/lmtpscan.conf's sample (Debian's amavisd-new bans)
  rspamd   rspamd alone (HTTP /checkv2 at the same concurrency), lmtpscand
           libclamav + rspamd; at c=8 beside them spamd alone, lmtpscand
           libclamav + spamd and amavisd-new with Debian's defaults
  reuse    "Postfix retries and recipient splits" with [scan]
           verdict_reuse = 10m: each message in three transactions (A+B,
           C, A+B again); spam-engine requests made and saved, per-user
           and per-domain engine identities, against reuse off
  metrics  lmtpscand scanners off with metrics_listen on and off

Public: main(argv).

Failure modes: a server that does not start is reported and its rows are
"n/a"; everything started is stopped by PID on every exit path.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadgen  # noqa: E402
import procstat  # noqa: E402
import servers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

LABELS = {
    "lmtpscand-off": "lmtpscand Maildir, scanners off",
    "lmtpscand-clamav": "lmtpscand Maildir, libclamav only",
    "lmtpscand-relay": "lmtpscand relay to smtp-sink, scanners off",
    "dovecot": "Dovecot LMTP, Maildir",
    "sink": "smtp-sink -L (load generator ceiling)",
    "lmtpscand-full": "lmtpscand Maildir, libclamav + spamd",
    "lmtpscand-full-site": "lmtpscand Maildir, libclamav + spamd, one spamd user for "
                           "the site (`spamd_user = sitewide`: one spamd request per "
                           "message, as amavisd-new makes)",
    "spamd": "spamd alone (spamc -R)",
    "amavisd": "amavisd-new with Debian's defaults (conf.d/01-debian and "
               "20-debian_defaults: its decoders, banned rules, BerkeleyDB), clamd + "
               "SpamAssassin, to smtp-sink",
    "amavisd-stripped": "amavisd-new stripped (no Debian defaults: banned mail passed, "
                        "BerkeleyDB off), clamd + SpamAssassin, to smtp-sink",
    "lmtpscand-full-banned": "lmtpscand Maildir, libclamav + spamd + the sample banned list",
    "null": "null delivery agent (tmp/, write, fsync, link into new/, fsync new/; "
            "CPU is its own)",
    "lmtpscand-banned": "lmtpscand Maildir, libclamav only + the sample banned list "
                        "(conf/lmtpscan.conf)",
    "rspamd": "rspamd alone (HTTP /checkv2, scripts/rspamd-trial.sh's offline config)",
    "lmtpscand-rspamd": "lmtpscand Maildir, libclamav + rspamd (spam_engine = rspamd)",
    "lmtpscand-reuse-user": "lmtpscand + rspamd, verdict_reuse = 10m, spamd_user = %u "
                            "(retries and splits)",
    "lmtpscand-reuse-domain": "lmtpscand + rspamd, verdict_reuse = 10m, spamd_user = %d "
                              "(retries and splits)",
    "lmtpscand-noreuse": "lmtpscand + rspamd, verdict_reuse off (retries and splits)",
    "lmtpscand-off-metrics": "lmtpscand Maildir, scanners off, metrics_listen on",
    "before-off": "the earlier lmtpscand of --before, Maildir, scanners off",
    "before-clamav": "the earlier lmtpscand of --before, Maildir, libclamav only",
}
GROUPS = ["maildir", "full", "size", "banned", "rspamd", "reuse", "metrics"]


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- messages ----------------------------------------------------------

def corpus_files(corpus_dir, n=None, seed=20021):
    """The corpus in a fixed shuffled order; n=None: all of it."""
    files = sorted(glob.glob(os.path.join(corpus_dir, "*", "*.txt")))
    if not files:
        raise SystemExit("no corpus mails in %s" % corpus_dir)
    random.Random(seed).shuffle(files)
    return files[:n] if n else files


def synthetic(size, seed):
    """A MIME mail of about size bytes: a text part and a base64
    attachment of pseudo-random bytes (what libclamav must decode)."""
    rnd = random.Random(seed)
    head = ("From: Bench Sender <bench-sender@bench-src.example>\n"
            "To: user0@bench.example\n"
            "Subject: synthetic %d bytes\n"
            "Date: Tue, 01 Oct 2024 10:00:00 +0000\n"
            "Message-ID: <synthetic-%d-%d@bench-src.example>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
            "--b1\nContent-Type: text/plain; charset=us-ascii\n\n"
            "Please find the file attached.\n\n"
            "--b1\nContent-Type: application/octet-stream; name=\"data.bin\"\n"
            "Content-Transfer-Encoding: base64\n"
            "Content-Disposition: attachment; filename=\"data.bin\"\n\n"
            % (size, size, seed))
    tail = "\n--b1--\n"
    room = max(0, size - len(head) - len(tail))
    raw_len = room // 77 * 57 + min(57, room % 77 * 3 // 4)
    import base64
    b64 = base64.encodebytes(rnd.randbytes(raw_len)).decode()
    return (head + b64 + tail).encode()


# --- measuring ---------------------------------------------------------

class System:
    """A system under test: how to drive it and which trees to account.
    proto: lmtp, smtp, http (rspamd alone) or null (nullmda into maildir);
    spamc: spamd alone; scenario: the retries-and-splits load."""

    def __init__(self, key, port=None, proto="lmtp", trees=None, spamc=False,
                 own=None, maildir=None, scenario=False):
        self.key = key
        self.port = port
        self.proto = proto
        self.trees = trees or {}  # label -> Server
        self.spamc = spamc
        self.own = own or key  # label of the tree that is "the system's own"
        self.maildir = maildir
        self.scenario = scenario


def run_point(system, load, count, conc, rcpt, offset=0):
    trees = {k: s.pids() for k, s in system.trees.items()}
    for pids in trees.values():
        procstat.reset_peaks(pids)
    rss0 = {k: procstat.rss_kb(p) for k, p in trees.items()}
    cpu0 = {k: procstat.cpu_seconds(p) for k, p in trees.items()}
    if system.spamc:
        r = loadgen.run_spamc("127.0.0.1", system.port, load, count, conc,
                              offset=offset)
    elif system.proto == "http":
        r = loadgen.run_http("127.0.0.1", system.port, load, count, conc, offset=offset)
    elif system.proto == "null":
        r = loadgen.run_null(system.maildir, load, count, conc, offset=offset)
    else:
        r = loadgen.run_load("127.0.0.1", system.port, load, count, conc,
                             rcpt_mode=rcpt, proto=system.proto, offset=offset,
                             scenario=system.scenario)
    cpu1 = {k: procstat.cpu_seconds(p) for k, p in trees.items()}
    hwm = {k: procstat.peak_rss_kb(p) for k, p in trees.items()}
    sent = max(1, r["sent"])
    lat = r["latencies_s"]
    if system.proto == "null":  # no server: the agent's own CPU is the system's
        cpu0, cpu1 = {"nullmda": 0.0}, {"nullmda": r["client_cpu_s"]}
        hwm, rss0 = {"nullmda": 0}, {"nullmda": 0}
        trees = {"nullmda": []}
    out = {
        "sent": r["sent"],
        "failed": r["failed"],
        "first_error": r["first_error"],
        "elapsed_s": round(r["elapsed_s"], 4),
        "msgs_s": r["sent"] / r["elapsed_s"] if r["elapsed_s"] > 0 else None,
        "p50_ms": pct(lat, 50) * 1000 if lat else None,
        "p99_ms": pct(lat, 99) * 1000 if lat else None,
        "cpu_ms_per_msg": {k: (cpu1[k] - cpu0[k]) * 1000 / sent for k in trees},
        "peak_rss_mb": {k: hwm[k] / 1024 for k in trees},
        "rss_before_mb": {k: rss0[k] / 1024 for k in trees},
        "client_cpu_ms_per_msg": r["client_cpu_s"] * 1000 / sent,
    }
    if r["failed"]:
        log("  %s: %d failed, first: %s" % (system.key, r["failed"], r["first_error"]))
    return out


def summarize(reps):
    m = {
        "msgs_s": median([r["msgs_s"] for r in reps]),
        "p50_ms": median([r["p50_ms"] for r in reps]),
        "p99_ms": median([r["p99_ms"] for r in reps]),
        "client_cpu_ms_per_msg": median([r["client_cpu_ms_per_msg"] for r in reps]),
        "failed": sum(r["failed"] for r in reps),
        "sent": sum(r["sent"] for r in reps),
    }
    labels = reps[0]["cpu_ms_per_msg"].keys() if reps else []
    m["cpu_ms_per_msg"] = {k: median([r["cpu_ms_per_msg"][k] for r in reps]) for k in labels}
    m["peak_rss_mb"] = {k: max(r["peak_rss_mb"][k] for r in reps) for k in labels}
    return m


def run_matrix(group, systems, points, repeats, results, counts=None):
    """points: list of dicts (conc, rcpt, size, count, load, spamc_load);
    counts: optional system key -> mails per point, overriding the point's.
    Every repeat visits every system at every point, each repeat starting
    with the next system, so that none always runs first or last; all
    systems of a (repeat, point) get the same mails, and the next
    (repeat, point) starts in the load where this one stopped, so a run
    walks through the whole corpus."""
    raw = {}
    offset = 0
    for rep in range(repeats):
        for pt in points:
            k = rep % len(systems) if systems else 0
            used = 0
            for sysm in systems[k:] + systems[:k]:
                if pt.get("only") and sysm.key not in pt["only"]:
                    continue
                if sysm.proto == "null" and pt["rcpt"] != "1":
                    continue
                load = pt["spamc_load"] if sysm.spamc else pt["load"]
                key = (sysm.key, pt["conc"], pt["rcpt"], pt["size"])
                count = (counts or {}).get(sysm.key, pt["count"])
                used = max(used, count)
                r = run_point(sysm, load, count, pt["conc"], pt["rcpt"],
                              offset=offset if pt.get("walk", True) else 0)
                raw.setdefault(key, []).append(r)
                log("%s rep %d %-17s c=%-2d rcpt=%-3s size=%-6s %7.1f msg/s p99 %7.1f ms" %
                    (group, rep + 1, sysm.key, pt["conc"], pt["rcpt"], pt["size"],
                     r["msgs_s"] or 0, r["p99_ms"] or 0))
            offset += used
    for (key, conc, rcpt, size), reps in raw.items():
        results.append({
            "group": group, "system": key, "conc": conc, "rcpt": rcpt,
            "size": size, "count": reps[0]["sent"] + reps[0]["failed"],
            "repeats": [{k: v for k, v in r.items()} for r in reps],
            "median": summarize(reps),
        })


def counts_for_duration(systems, load, seconds, least, most):
    """An untimed warm-up of every system at concurrency 8 (fresh processes,
    empty Maildirs and a cold page cache otherwise favour whoever runs
    later), and from its rate the number of mails that lasts about
    `seconds` on that system, within [least, most]. Short points measure
    start-up and tail, not throughput."""
    counts = {}
    for sysm in systems:
        r = run_point(sysm, load, 400, 8, "1", offset=len(load) // 2)
        rate = r["msgs_s"] or 0
        n = int(rate * seconds) // 10 * 10
        counts[sysm.key] = max(least, min(most, n))
        log("warm-up %-17s %7.1f msg/s -> %d mails per point" %
            (sysm.key, rate, counts[sysm.key]))
    return counts


def spamassassin_ceiling(results):
    """The most any filter that runs SpamAssassin on every message could
    pass on this machine: all CPUs doing nothing but SpamAssassin's own
    work, as spamd alone spent it per message at c=8."""
    sa, am = find(results, "spamd", 8), find(results, "amavisd", 8)
    if not sa or not sa["cpu_ms_per_msg"].get("spamd"):
        return None
    cpu = sa["cpu_ms_per_msg"]["spamd"]
    ceiling = os.cpu_count() * 1000.0 / cpu
    return {"spamd_cpu_ms_per_msg": cpu, "msgs_s": ceiling,
            "x_amavisd": ceiling / am["msgs_s"] if am and am["msgs_s"] else None}


def find(results, system, conc, rcpt="1", size="corpus", group=None):
    for r in results:
        if (r["system"], r["conc"], r["rcpt"], r["size"]) == (system, conc, rcpt, size) \
                and (group is None or r["group"] == group):
            return r["median"]
    return None


# --- checks that are not timed ---------------------------------------------

def wait_idle(server, quiet=0.05, most_s=300.0):
    """Waits until the server's tree has used less than quiet of a CPU for
    3 s (rspamd compiles its hyperscan databases in the background after it
    answers; that CPU must not land in the first points)."""
    t0 = time.time()
    while time.time() - t0 < most_s:
        c0 = procstat.cpu_seconds(server.pids())
        time.sleep(3.0)
        if procstat.cpu_seconds(server.pids()) - c0 < quiet * 3.0:
            log("%s idle after %.0f s" % (server.name, time.time() - t0))
            return True
    log("%s still busy after %.0f s" % (server.name, most_s))
    return False


OUTCOME = re.compile(r"mail_id=(\S+) .*? rcpt=<([^>]*)> verdict=(\S+) action=(\S+) "
                     r"score=\S+(?: spam_engine=(\S+))?(?: reused_from=(\S+))?")


def _outcomes(server):
    try:
        with open(server.log_path, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        m = OUTCOME.search(line)
        if m:
            yield m.groups()


def verdict_counts(server):
    """verdict/action -> recipients, from lmtpscand's log lines."""
    out = {}
    for _mid, _rcpt, verdict, action, _eng, _reused in _outcomes(server):
        k = "%s/%s" % (verdict, action)
        out[k] = out.get(k, 0) + 1
    return out


def reuse_counts(server):
    """Spam-engine verdicts needed (one per mail and engine identity),
    requests made and verdicts reused, from lmtpscand's log lines
    (spam_engine= and reused_from= fields)."""
    ident = getattr(server, "identity", "user")
    made, reused = set(), set()
    for mid, rcpt, _v, _a, engine, rfrom in _outcomes(server):
        if not engine:
            continue
        who = rcpt.rpartition("@")[2] if ident == "domain" else rcpt
        (reused if rfrom else made).add((mid, who))
    need = len(made) + len(reused)
    return {"identity": ident, "verdicts_needed": need, "requests_made": len(made),
            "reused": len(reused),
            "saved_pct": 100.0 * len(reused) / need if need else None}


def scrape_metrics(port):
    """One GET /metrics after the points: that it answered, its families,
    and the messages it counted."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                    timeout=10) as r:
            text = r.read().decode(errors="replace")
    except OSError as e:
        return {"ok": False, "error": str(e)}
    msgs = 0.0
    for line in text.splitlines():
        if line.startswith("lmtpscan_messages_total"):
            try:
                msgs += float(line.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return {"ok": True, "families": sum(1 for x in text.splitlines()
                                        if x.startswith("# TYPE ")),
            "messages_total": msgs, "bytes": len(text)}


def count_fsyncs(server, load, n):
    """fsync/fdatasync calls per message of lmtpscand, with strace attached
    (not timed: strace slows every system call)."""
    if not shutil.which("strace"):
        return None
    out = os.path.join(os.path.dirname(server.log_path), "strace.txt")
    tr = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync",
                           "-o", out, "-p", str(server.pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    r = loadgen.run_load("127.0.0.1", server.port, load, n, 2, rcpt_mode="1")
    tr.terminate()
    try:
        tr.wait(timeout=20)
    except subprocess.TimeoutExpired:
        tr.kill()
        tr.wait()
    calls = 0
    try:
        with open(out) as f:
            for line in f:
                parts = line.split()
                if parts and parts[-1] in ("fsync", "fdatasync"):
                    # "% time  seconds  usecs/call  calls  [errors]  syscall"
                    calls += int(parts[3])
    except (OSError, ValueError, IndexError):
        return None
    return calls / max(1, r["sent"])


def clamscan_growth(sigdir, small_path, big_path):
    """clamscan's peak RSS on the big file minus on the small one (KB).
    clamscan is started by a small helper process: a child forked straight
    from this (large) process would inherit its peak RSS across exec."""
    helper = ("import os, subprocess, sys\n"
              "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL,"
              " stderr=subprocess.DEVNULL)\n"
              "print(os.wait4(p.pid, 0)[2].ru_maxrss)\n")

    def maxrss(path):
        out = subprocess.run([sys.executable, "-c", helper, "clamscan", "--no-summary",
                              "-d", sigdir, path], capture_output=True, timeout=600)
        return int(out.stdout.decode().strip())
    return maxrss(big_path) - maxrss(small_path)


# --- the run -------------------------------------------------------------

def plan(args):
    if args.quick:
        return dict(conc=[1, 8, 32], rcpt=["1"], n_corpus=60, n_corpus_max=400,
                    point_s=0.3, n_full=16,
                    repeats=1, sizes=[("4K", 4096, 60), ("100K", 102400, 30),
                                      ("10M", 10 * 1024 * 1024, 4)],
                    big40=False)
    return dict(conc=[1, 2, 8, 32], rcpt=["1", "1-3"], n_corpus=500, n_corpus_max=3000,
                point_s=2.0, n_full=120,
                repeats=5, sizes=[("4K", 4096, 300), ("100K", 102400, 150),
                                  ("10M", 10 * 1024 * 1024, 12)],
                big40=True)


def start(started, fn, *a, **kw):
    try:
        s = fn(*a, **kw)
    except (servers.ServerError, OSError) as e:
        log("could not start: %s" % e)
        return None
    started.append(s)
    return s


def probe_ok(server, load, proto="lmtp"):
    r = loadgen.run_load("127.0.0.1", server.port, load[:3], 3, 1, proto=proto,
                         timeout=30)
    if r["failed"]:
        log("probe of %s failed: %s" % (server.name, r["first_error"]))
    return r["failed"] == 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--sigdir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--client", help="the C load generator lmtpload; "
                    "without it the Python client is used")
    ap.add_argument("--null", help="the null delivery agent nullmda")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--groups", default=",".join(GROUPS[:3] + ["memory"] + GROUPS[3:]))
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--before", help="an earlier lmtpscand binary: the maildir group "
                    "runs it beside this one (rows before-off, before-clamav)")
    args = ap.parse_args(argv)
    P = plan(args)
    groups = args.groups.split(",")
    unknown = [g for g in groups if g not in GROUPS + ["memory"]]
    if unknown:
        raise SystemExit("unknown group(s): %s" % ", ".join(unknown))
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)
    binary = os.path.abspath(args.binary)
    sigdir = os.path.abspath(args.sigdir)
    src = os.path.dirname(HERE)
    if args.client:
        loadgen.use_c_client(os.path.abspath(args.client), os.path.join(work, "msgs"),
                             os.path.abspath(args.null) if args.null else None)
    t_begin = time.time()

    files = corpus_files(args.corpus)
    corpus = [loadgen.prepare(open(f, "rb").read()) for f in files]
    sizes_b = [len(m) for m in corpus]
    results = []
    extra = {"notes": []}
    started = []
    lf = {}

    def stop_all():
        while started:
            s = started.pop()
            s.stop()

    def start_amavis(base, site, keys):
        """clamd, smtp-sink and amavisd-new for each key ("amavisd": Debian's
        defaults, "amavisd-stripped"), as Systems."""
        out = []
        cd = start(started, servers.clamd, os.path.join(base, "clamd"), sigdir)
        asink = start(started, servers.smtp_sink, os.path.join(base, "sink-amavis"))
        if not (cd and asink):
            return out
        for key in keys:
            am = start(started, servers.amavisd, os.path.join(base, key), cd.sock, site,
                       asink.port, debian=(key == "amavisd"))
            if am and probe_ok(am, corpus):
                out.append(System(key, am.port, trees={key: am, "clamd": cd}))
            elif am:
                extra["notes"].append("%s: n/a (did not deliver to smtp-sink: see %s)"
                                      % (key, am.log_path))
        return out

    def warm_up(systems):
        """The first messages through SpamAssassin and rspamd compile rules."""
        for x in systems:
            run_point(x, lf_files() if x.spamc else corpus, 4, 2, "1")

    def lf_files():
        """The corpus as LF files for spamc (the LMTP systems get the wire
        form), written once."""
        if "files" not in lf:
            lf_dir = os.path.join(work, "lf")
            os.makedirs(lf_dir, exist_ok=True)
            lf["files"] = []
            for i, m in enumerate(corpus):
                path = os.path.join(lf_dir, "%05d.eml" % i)
                with open(path, "wb") as f:
                    f.write(m.replace(b"\r\n..", b"\r\n.").replace(b"\r\n", b"\n"))
                lf["files"].append(path)
        return lf["files"]

    try:
        # ---- maildir group: scanners off, libclamav, relay, Dovecot ----
        if "maildir" in groups:
            log("group maildir")
            systems = []
            off = start(started, servers.lmtpscand, binary, work + "/l-off")
            clam = start(started, servers.lmtpscand, binary, work + "/l-clam",
                         clamav=True, sigdir=sigdir)
            sink = start(started, servers.smtp_sink, work + "/sink-relay")
            relay = None
            if sink:
                relay = start(started, servers.lmtpscand, binary, work + "/l-relay",
                              relay_port=sink.port)
                if relay and not probe_ok(relay, corpus):
                    relay.stop()
                    started.remove(relay)
                    relay = None
            if relay is None:
                extra["notes"].append("relay mode: n/a (lmtpscand in relay mode did "
                                      "not start or did not deliver to smtp-sink)")
            dove = start(started, servers.dovecot, work + "/dovecot")
            lsink = start(started, servers.smtp_sink, work + "/sink-lmtp", lmtp=True)
            before = []
            if args.before:
                b_off = start(started, servers.lmtpscand, args.before, work + "/b-off")
                b_clam = start(started, servers.lmtpscand, args.before, work + "/b-clam",
                               clamav=True, sigdir=sigdir)
                before = [("before-off", b_off), ("before-clamav", b_clam)]
            for key, s in [("lmtpscand-off", off), ("lmtpscand-clamav", clam)] + before + \
                    [("dovecot", dove)]:
                if s:
                    systems.append(System(key, s.port, trees={key: s}))
            if relay:
                systems.append(System("lmtpscand-relay", relay.port,
                                      trees={"lmtpscand-relay": relay, "smtp-sink": sink}))
            if lsink:
                systems.append(System("sink", lsink.port, trees={"sink": lsink}))
            if args.null:
                # the same file system as the lmtpscand Maildirs
                os.makedirs(os.path.join(work, "null"), exist_ok=True)
                systems.append(System("null", proto="null",
                                      maildir=os.path.join(work, "null", "Maildir")))
            counts = counts_for_duration(systems, corpus, P["point_s"], P["n_corpus"],
                                         P["n_corpus_max"])
            extra["mails_per_point"] = counts
            pts = [dict(conc=c, rcpt=rc, size="corpus", count=P["n_corpus"], load=corpus)
                   for rc in P["rcpt"] for c in P["conc"]]
            run_matrix("maildir", systems, pts, P["repeats"], results, counts)
            if off:  # after the matrix: every Maildir exists by now
                extra["fsync_per_msg_lmtpscand"] = count_fsyncs(off, corpus, 40)

            if "size" in groups:
                log("group size")
                spts = []
                for name, size, n in P["sizes"]:
                    msg = loadgen.prepare(synthetic(size, 1))
                    spts.append(dict(conc=8 if n >= 8 else 2, rcpt="1", size=name,
                                     count=n, load=[msg]))
                run_matrix("size", [s for s in systems if s.key not in ("sink", "null")],
                           spts, P["repeats"], results)
            stop_all()

        # ---- full scanning: lmtpscand + spamd, spamd alone, amavisd ----
        if "full" in groups:
            log("group full")
            site = servers.sa_siteconfig(work)
            spd = start(started, servers.spamd, work + "/spamd", site)
            systems = []
            banned = servers.sample_banned_keys(os.path.join(src, "conf", "lmtpscan.conf"))
            if spd:
                full = start(started, servers.lmtpscand, binary, work + "/l-full",
                             clamav=True, sigdir=sigdir, spamd_port=spd.port)
                if full:
                    systems.append(System("lmtpscand-full", full.port,
                                          trees={"lmtpscand-full": full, "spamd": spd}))
                fullb = start(started, servers.lmtpscand, binary, work + "/l-full-banned",
                              clamav=True, sigdir=sigdir, spamd_port=spd.port, banned=banned)
                if fullb:
                    systems.append(System("lmtpscand-full-banned", fullb.port,
                                          trees={"lmtpscand-full-banned": fullb,
                                                 "spamd": spd}))
                if "1-3" in P["rcpt"]:
                    site1 = start(started, servers.lmtpscand, binary, work + "/l-full-site",
                                  clamav=True, sigdir=sigdir, spamd_port=spd.port,
                                  spamd_user="sitewide")
                    if site1:
                        systems.append(System("lmtpscand-full-site", site1.port,
                                              trees={"lmtpscand-full-site": site1,
                                                     "spamd": spd}))
                systems.append(System("spamd", spd.port, trees={"spamd": spd},
                                      spamc=True))
            systems += start_amavis(work, site, ("amavisd", "amavisd-stripped"))
            warm_up(systems)
            # per-recipient spamd users only differ with several recipients;
            # the banned list is compared at c=8
            one_rcpt = tuple(s.key for s in systems
                             if s.key not in ("lmtpscand-full-site", "lmtpscand-full-banned"))
            pts = [dict(conc=c, rcpt="1", size="corpus", count=P["n_full"],
                        load=corpus, spamc_load=lf_files(),
                        only=one_rcpt + (("lmtpscand-full-banned",) if c == 8 else ()))
                   for c in P["conc"]]
            if "1-3" in P["rcpt"]:
                pts.append(dict(conc=8, rcpt="1-3", size="corpus", count=P["n_full"],
                                load=corpus, spamc_load=lf_files(),
                                only=("lmtpscand-full", "lmtpscand-full-site", "amavisd",
                                      "amavisd-stripped")))
            run_matrix("full", systems, pts, P["repeats"], results)
            stop_all()

        # ---- banned checks: libclamav only with and without them ----
        if "banned" in groups:
            log("group banned")
            banned = servers.sample_banned_keys(os.path.join(src, "conf", "lmtpscan.conf"))
            extra["banned_keys"] = banned
            systems = []
            for key, kw in (("lmtpscand-clamav", {}), ("lmtpscand-banned", {"banned": banned})):
                sv = start(started, servers.lmtpscand, binary, work + "/b-" + key,
                           clamav=True, sigdir=sigdir, **kw)
                if sv:
                    systems.append(System(key, sv.port, trees={key: sv}))
            counts = counts_for_duration(systems, corpus, P["point_s"], P["n_corpus"],
                                         P["n_corpus_max"])
            extra["mails_per_point_banned"] = counts
            pts = [dict(conc=c, rcpt="1", size="corpus", count=P["n_corpus"], load=corpus)
                   for c in P["conc"]]
            run_matrix("banned", systems, pts, P["repeats"], results, counts)
            for sysm in systems:
                extra.setdefault("banned_verdicts", {})[sysm.key] = \
                    verdict_counts(sysm.trees[sysm.key])
            stop_all()

        # ---- rspamd: alone, behind lmtpscand, beside spamd and amavisd ----
        if "rspamd" in groups:
            log("group rspamd")
            systems = []
            rsp = start(started, servers.rspamd, work + "/rspamd",
                        os.path.join(src, "scripts", "rspamd-trial.sh"))
            if rsp:
                wait_idle(rsp)
                lr = start(started, servers.lmtpscand, binary, work + "/r-lmtpscand",
                           clamav=True, sigdir=sigdir, rspamd_port=rsp.port)
                systems.append(System("rspamd", rsp.port, proto="http",
                                      trees={"rspamd": rsp}))
                if lr:
                    systems.append(System("lmtpscand-rspamd", lr.port,
                                          trees={"lmtpscand-rspamd": lr, "rspamd": rsp}))
            fast = [x.key for x in systems]
            site = servers.sa_siteconfig(work)
            spd = start(started, servers.spamd, work + "/r-spamd", site)
            if spd:
                full = start(started, servers.lmtpscand, binary, work + "/r-full",
                             clamav=True, sigdir=sigdir, spamd_port=spd.port)
                if full:
                    systems.append(System("lmtpscand-full", full.port,
                                          trees={"lmtpscand-full": full, "spamd": spd}))
                systems.append(System("spamd", spd.port, trees={"spamd": spd},
                                      spamc=True))
            systems += start_amavis(work + "/r", site, ("amavisd",))
            warm_up(systems)
            counts = counts_for_duration([x for x in systems if x.key in fast], corpus,
                                         P["point_s"], P["n_full"], P["n_corpus_max"])
            extra["mails_per_point_rspamd"] = counts
            pts = [dict(conc=c, rcpt="1", size="corpus", count=P["n_full"], load=corpus,
                        spamc_load=lf_files(),
                        only=tuple(x.key for x in systems if c == 8 or x.key in fast))
                   for c in P["conc"]]
            run_matrix("rspamd", systems, pts, P["repeats"], results, counts)
            stop_all()

        # ---- verdict reuse: Postfix retries and recipient splits ----
        if "reuse" in groups:
            log("group reuse")
            rsp = start(started, servers.rspamd, work + "/u-rspamd",
                        os.path.join(src, "scripts", "rspamd-trial.sh"))
            systems = []
            if rsp:
                wait_idle(rsp)
                for key, kw in (("lmtpscand-reuse-user", dict(verdict_reuse="10m")),
                                ("lmtpscand-reuse-domain", dict(verdict_reuse="10m",
                                                                spamd_user="%d")),
                                ("lmtpscand-noreuse", {})):
                    sv = start(started, servers.lmtpscand, binary, work + "/u-" + key,
                               clamav=True, sigdir=sigdir, rspamd_port=rsp.port, **kw)
                    if sv:
                        sv.identity = "domain" if kw.get("spamd_user") == "%d" else "user"
                        systems.append(System(key, sv.port, scenario=True,
                                              trees={key: sv, "rspamd": rsp}))
            # transactions: 3 per message (A+B, C, A+B again)
            n = P["n_full"] * 3
            pts = [dict(conc=8, rcpt="A+B,C,A+B", size="corpus", count=n, load=corpus)]
            run_matrix("reuse", systems, pts, P["repeats"], results)
            extra["reuse"] = {x.key: reuse_counts(x.trees[x.key]) for x in systems}
            stop_all()

        # ---- metrics_listen on and off ----
        if "metrics" in groups:
            log("group metrics")
            systems = []
            for key, kw in (("lmtpscand-off", {}),
                            ("lmtpscand-off-metrics", {"metrics_port": servers.free_port()})):
                sv = start(started, servers.lmtpscand, binary, work + "/m-" + key, **kw)
                if sv:
                    systems.append(System(key, sv.port, trees={key: sv}))
            counts = counts_for_duration(systems, corpus, P["point_s"], P["n_corpus"],
                                         P["n_corpus_max"])
            extra["mails_per_point_metrics"] = counts
            pts = [dict(conc=c, rcpt="1", size="corpus", count=P["n_corpus"], load=corpus)
                   for c in P["conc"]]
            # twice the repeats: the difference sought is a few per cent
            run_matrix("metrics", systems, pts, P["repeats"] * 2, results, counts)
            for sysm in systems:
                port = getattr(sysm.trees[sysm.key], "metrics_port", None)
                if port:
                    extra["metrics_scrape"] = scrape_metrics(port)
            stop_all()

        # ---- memory probes ----
        if "memory" in groups:
            log("group memory")
            mem = {}
            big = loadgen.prepare(synthetic(10 * 1024 * 1024, 2))
            small = loadgen.prepare(synthetic(4096, 3))
            for key, kw in (("lmtpscand-off", {}),
                            ("lmtpscand-clamav", dict(clamav=True, sigdir=sigdir))):
                s = start(started, servers.lmtpscand, binary, work + "/mem-" + key, **kw)
                if not s:
                    continue
                # settle: a few small messages, so thread stacks and the
                # engine are in place before the baseline is read
                loadgen.run_load("127.0.0.1", s.port, [small], 8, 1)
                procstat.reset_peaks(s.pids())
                base = procstat.rss_kb(s.pids())
                r = loadgen.run_load("127.0.0.1", s.port, [big], 3, 1)
                peak = procstat.peak_rss_kb(s.pids())
                mem[key] = {"rss_before_mb": base / 1024, "peak_mb": peak / 1024,
                            "growth_10m_mb": (peak - base) / 1024, "sent": r["sent"]}
                s.stop()
                started.remove(s)
            bigf = os.path.join(work, "big.eml")
            smallf = os.path.join(work, "small.eml")
            with open(bigf, "wb") as f:
                f.write(big.replace(b"\r\n", b"\n"))
            with open(smallf, "wb") as f:
                f.write(small.replace(b"\r\n", b"\n"))
            mem["clamscan_growth_10m_mb"] = clamscan_growth(sigdir, smallf, bigf) / 1024
            if P["big40"]:
                budget = "512M"
                # limits raised so that the 40 MB mails are really scanned
                # (with the default max_file_size = 25M libclamav skips
                # them: "unchecked")
                s = start(started, servers.lmtpscand, binary, work + "/mem-40m",
                          clamav=True, sigdir=sigdir, scan_memory=budget,
                          clamav_limits=("64M", "200M"))
                if s:
                    m40 = loadgen.prepare(synthetic(40 * 1024 * 1024, 4))
                    loadgen.run_load("127.0.0.1", s.port, [small], 8, 1)
                    procstat.reset_peaks(s.pids())
                    base = procstat.rss_kb(s.pids())
                    t0 = time.time()
                    r = loadgen.run_load("127.0.0.1", s.port, [m40], 32, 32, per_conn=1)
                    peak = procstat.peak_rss_kb(s.pids())
                    mem["concurrent_40m"] = {
                        "mails": 32, "concurrency": 32, "scan_memory": budget,
                        "max_file_size": "64M", "max_scan_size": "200M",
                        "sent": r["sent"], "failed": r["failed"],
                        "first_error": r["first_error"],
                        "elapsed_s": time.time() - t0, "rss_before_mb": base / 1024,
                        "peak_mb": peak / 1024,
                        "unbounded_estimate_mb": 32 * 3 * 40}
                    s.stop()
                    started.remove(s)
                    shutil.rmtree(work + "/mem-40m/mail", ignore_errors=True)
            extra["memory"] = mem
    finally:
        stop_all()

    extra["elapsed_s"] = time.time() - t_begin
    extra["corpus"] = {"mails": len(corpus), "median_bytes": statistics.median(sizes_b),
                       "mean_bytes": statistics.mean(sizes_b), "max_bytes": max(sizes_b)}
    extra["sa_ceiling"] = spamassassin_ceiling(results)
    doc = {
        "meta": meta(args, P),
        "points": results,
        "extra": extra,
    }
    doc["targets"] = targets(results, extra, P)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, default=float)
    text = render(doc)
    print(text)
    return 0


def meta(args, P):
    def ver(argv):
        try:
            out = subprocess.run(argv, capture_output=True, timeout=30).stdout.decode()
            return out.strip().splitlines()[0] if out.strip() else None
        except (OSError, subprocess.TimeoutExpired):
            return None

    def pkg(name):
        return ver(["dpkg-query", "-W", "-f=${Version}", name])

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": args.command,
        "quick": args.quick,
        "plan": {k: v for k, v in P.items() if k != "sizes"} |
                {"sizes": [(n, s, c) for n, s, c in P["sizes"]]},
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "mem_gb": round(os.sysconf("SC_PAGE_SIZE") *
                                    os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)},
        "versions": {"lmtpscand": ver([os.path.abspath(args.binary), "-V"]),
                     "dovecot": pkg("dovecot-lmtpd"), "spamd": pkg("spamd"),
                     "amavisd-new": pkg("amavisd-new"), "clamav": pkg("libclamav12"),
                     "postfix": pkg("postfix")},
        "max_rss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


# --- targets and rendering ----------------------------------------------

def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def targets(results, extra, P):
    T = []

    def add(name, value, goal, ok, unit=""):
        """ok None: a figure the issues ask to report, with no goal."""
        T.append({"target": name, "value": value, "goal": goal, "unit": unit,
                  "pass": None if value is None or ok is None else bool(ok(value))})

    def ms(system, conc, rcpt="1", group=None):
        m = find(results, system, conc, rcpt, group=group)
        return m["msgs_s"] if m else None

    def cpu(system, conc, group, rcpt="1"):
        m = find(results, system, conc, rcpt, group=group)
        return m["cpu_ms_per_msg"].get(system) if m else None

    for rc in P["rcpt"]:
        add("(1) scanners off / Dovecot LMTP msgs/s, c=8, %s rcpt" % rc,
            _ratio(ms("lmtpscand-off", 8, rc, "maildir"), ms("dovecot", 8, rc, "maildir")),
            ">= 3.0",
            lambda v: v >= 3.0, "x")
    add("(2) libclamav only / scanners off msgs/s, c=8",
        _ratio(ms("lmtpscand-clamav", 8, group="maildir"),
               ms("lmtpscand-off", 8, group="maildir")), ">= 0.9",
        lambda v: v >= 0.9, "x")
    for c in P["conc"]:
        add("(3) full scanning / spamd alone msgs/s, c=%d" % c,
            _ratio(ms("lmtpscand-full", c, group="full"), ms("spamd", c, group="full")),
            ">= 0.9",
            lambda v: v >= 0.9, "x")
    add("(3) full scanning / amavisd-new (Debian defaults) msgs/s, c=8",
        _ratio(ms("lmtpscand-full", 8, group="full"), ms("amavisd", 8, group="full")),
        ">= 3.5",
        lambda v: v >= 3.5, "x")
    m = find(results, "lmtpscand-clamav", 8, group="maildir")
    add("(2) lmtpscand CPU per corpus message, libclamav only, c=8",
        m["cpu_ms_per_msg"]["lmtpscand-clamav"] if m else None, "<= 3 ms",
        lambda v: v <= 3.0, "ms")
    peaks = []
    for key in ("lmtpscand-clamav", "lmtpscand-full"):
        for rc in P["rcpt"]:
            m = find(results, key, 32, rc, group="maildir" if key == "lmtpscand-clamav"
                     else "full")
            if m:
                peaks.append(m["peak_rss_mb"][key])
    add("peak RSS at c=32 with the test signatures",
        max(peaks) if peaks else None, "<= 40 MB", lambda v: v <= 40.0, "MB")
    a, b = find(results, "lmtpscand-full", 8, group="full"), \
        find(results, "spamd", 8, group="full")
    add("(3) p99 latency minus spamd alone's p99, c=8",
        (a["p99_ms"] - b["p99_ms"]) if a and b and a["p99_ms"] and b["p99_ms"] else None,
        "<= 20 ms", lambda v: v <= 20.0, "ms")
    T.extend(new_targets(results, extra, P, add, ms, cpu))
    mem = extra.get("memory", {})
    off = mem.get("lmtpscand-off")
    add("RSS growth for a 10 MB message, scanners off",
        off["growth_10m_mb"] if off else None, "< 8 MB", lambda v: v < 8.0, "MB")
    cl = mem.get("lmtpscand-clamav")
    cs = mem.get("clamscan_growth_10m_mb")
    add("RSS growth for a 10 MB message, libclamav on, minus clamscan's growth",
        (cl["growth_10m_mb"] - cs) if cl and cs is not None else None, "< 8 MB",
        lambda v: v < 8.0, "MB")
    c40 = mem.get("concurrent_40m")
    if c40:
        add("peak RSS, 32 concurrent 40 MB mails, scan_memory = 512M",
            c40["peak_mb"] if not c40["failed"] else None,
            "<= 512 MB + 64 MB", lambda v: v <= 576.0, "MB")
    return T


def new_targets(results, extra, P, add, ms, cpu):
    """The figures of the speed paragraphs of issues 13, 14, 15 and 17
    (added through add(); returns nothing to extend with)."""
    # 13: the fsync limit. nullmda makes 2 fsyncs a delivery, lmtpscand
    # waits for 4: null/2 is a 4-fsync agent's limit if fsyncs cost alike
    for c in P["conc"]:
        off, null = ms("lmtpscand-off", c, group="maildir"), ms("null", c, group="maildir")
        for div in (4, 2):
            add("(13) scanners off / (null delivery agent / %d) msgs/s, c=%d" % (div, c),
                _ratio(off, null / div if null else None), "report", None, "x")
    m = find(results, "lmtpscand-clamav", 32, "1-3", group="maildir")
    add("(13) peak RSS, libclamav on, c=32, 1-3 recipients",
        m["peak_rss_mb"]["lmtpscand-clamav"] if m else None, "<= 40 MB",
        lambda v: v <= 40.0, "MB")
    add("(13) lmtpscand own CPU per message (scanners off: the scan excluded), c=8",
        cpu("lmtpscand-off", 8, "maildir"), "<= 0.5 ms", lambda v: v <= 0.5, "ms")
    # --before: the earlier build measured in the same run
    pairs = (("before: libclamav only / scanners off", "before-clamav", "before-off"),
             ("now: libclamav only / scanners off", "lmtpscand-clamav", "lmtpscand-off"),
             ("now / before, libclamav only", "lmtpscand-clamav", "before-clamav"),
             ("now / before, scanners off", "lmtpscand-off", "before-off"))
    for c in P["conc"]:
        for name, a, b in pairs:
            add("(13) %s msgs/s, c=%d" % (name, c),
                _ratio(ms(a, c, group="maildir"), ms(b, c, group="maildir")),
                "report", None, "x")
    m = find(results, "before-clamav", 32, "1-3", group="maildir")
    add("(13) before: peak RSS, libclamav on, c=32, 1-3 recipients",
        m["peak_rss_mb"]["before-clamav"] if m else None, "report", None, "MB")
    add("(13) full scanning / amavisd-new stripped msgs/s, c=8",
        _ratio(ms("lmtpscand-full", 8, group="full"),
               ms("amavisd-stripped", 8, group="full")), "report", None, "x")
    # 14: banned checks
    add("(14) libclamav + banned list / libclamav only msgs/s, c=8",
        _ratio(ms("lmtpscand-banned", 8, group="banned"),
               ms("lmtpscand-clamav", 8, group="banned")), ">= 0.9",
        lambda v: v >= 0.9, "x")
    a, b = cpu("lmtpscand-banned", 8, "banned"), cpu("lmtpscand-clamav", 8, "banned")
    add("(14) lmtpscand CPU per message, banned list minus without, c=8",
        a - b if a is not None and b is not None else None, "report", None, "ms")
    add("(14) full scanning + banned list / amavisd-new (Debian defaults) msgs/s, c=8",
        _ratio(ms("lmtpscand-full-banned", 8, group="full"), ms("amavisd", 8, group="full")),
        ">= 3.5", lambda v: v >= 3.5, "x")
    # 15: rspamd
    for c in P["conc"]:
        add("(15) libclamav + rspamd / rspamd alone msgs/s, c=%d" % c,
            _ratio(ms("lmtpscand-rspamd", c, group="rspamd"), ms("rspamd", c, group="rspamd")),
            ">= 0.9", lambda v: v >= 0.9, "x")
    add("(15) libclamav + rspamd / amavisd-new (Debian defaults) msgs/s, c=8",
        _ratio(ms("lmtpscand-rspamd", 8, group="rspamd"), ms("amavisd", 8, group="rspamd")),
        ">= 10", lambda v: v >= 10.0, "x")
    add("(15) libclamav + rspamd / libclamav + spamd msgs/s, c=8",
        _ratio(ms("lmtpscand-rspamd", 8, group="rspamd"),
               ms("lmtpscand-full", 8, group="rspamd")), "report", None, "x")
    m = find(results, "lmtpscand-rspamd", 8, group="rspamd")
    r = find(results, "rspamd", 8, group="rspamd")
    add("(15) CPU per message added by lmtpscand to rspamd's own, c=8",
        m["cpu_ms_per_msg"]["lmtpscand-rspamd"] if m else None, "report", None, "ms")
    add("(15) rspamd's CPU per message behind lmtpscand / alone, c=8",
        _ratio(m["cpu_ms_per_msg"].get("rspamd") if m else None,
               r["cpu_ms_per_msg"].get("rspamd") if r else None), "report", None, "x")
    for key, ru in sorted(extra.get("reuse", {}).items()):
        if ru.get("verdicts_needed"):
            add("(15) retries and splits, %s: spam-engine requests saved by verdict_reuse "
                "(%d of %d verdicts reused)" % (key, ru["reused"], ru["verdicts_needed"]),
                ru["saved_pct"], "report", None, "%")
    # 17: metrics
    for c in P["conc"]:
        add("(17) metrics_listen on / off msgs/s, scanners off, c=%d" % c,
            _ratio(ms("lmtpscand-off-metrics", c, group="metrics"),
                   ms("lmtpscand-off", c, group="metrics")), ">= 0.97",
            lambda v: v >= 0.97, "x")
    a, b = cpu("lmtpscand-off-metrics", 8, "metrics"), cpu("lmtpscand-off", 8, "metrics")
    add("(17) CPU per message of metrics_listen (counters, stage histograms), c=8",
        a - b if a is not None and b is not None else None, "report", None, "ms")
    return []


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return ("%." + str(nd) + "f") % v
    return str(v)


def render(doc):
    res = doc["points"]
    lines = []
    meta_ = doc["meta"]
    lines.append("Run %s on %d CPUs, %s GB, kernel %s; %s" % (
        meta_["date"], meta_["machine"]["cpus"], meta_["machine"]["mem_gb"],
        meta_["machine"]["kernel"],
        "quick plan" if meta_["quick"] else "full plan"))
    per = dict(doc["extra"].get("mails_per_point", {}))
    for g in ("banned", "rspamd", "metrics"):
        per.update(doc["extra"].get("mails_per_point_" + g, {}))
    lines.append("Medians of %d repeat(s), each repeat starting with the next system; "
                 "the whole SpamAssassin corpus (%s mails), walked through point by point, "
                 "every message sent made unique; 10 per connection, pipelined; mails per "
                 "point sized to about %.0f s each after a warm-up (%s), %d in the "
                 "full-scanning group and for the slow systems of the rspamd group "
                 "(metrics group: twice the repeats)." %
                 (meta_["plan"]["repeats"],
                  doc["extra"].get("corpus", {}).get("mails", "n/a"),
                  meta_["plan"]["point_s"],
                  ", ".join("%s %d" % kv for kv in per.items()) or "n/a",
                  meta_["plan"]["n_full"]))
    lines.append("")
    hdr = ("| group | system | conc | rcpts | size | msgs/s | p50 ms | p99 ms | "
           "CPU ms/msg (tree) | peak RSS MB |")
    lines.append(hdr)
    lines.append("|" + "---|" * 10)
    order = list(LABELS)
    res_sorted = sorted(res, key=lambda r: (GROUPS.index(r["group"]),
                                            r["size"] != "corpus", r["rcpt"],
                                            order.index(r["system"]), r["conc"],
                                            r["size"]))
    for r in res_sorted:
        m = r["median"]
        cpu = ", ".join("%s %s" % (k, fmt(v, 2)) for k, v in m["cpu_ms_per_msg"].items())
        rss = ", ".join("%s %s" % (k, fmt(v, 1)) for k, v in m["peak_rss_mb"].items())
        fail = " (%d failed)" % m["failed"] if m["failed"] else ""
        lines.append("| %s | %s | %d | %s | %s | %s%s | %s | %s | %s | %s |" % (
            r["group"], r["system"], r["conc"], r["rcpt"], r["size"],
            fmt(m["msgs_s"]), fail, fmt(m["p50_ms"]), fmt(m["p99_ms"]), cpu, rss))
    lines.append("")
    lines.append("Systems: " + "; ".join("`%s` = %s" % (k, v) for k, v in LABELS.items()))
    lines.append("")
    lines.append("| target | value | goal | met |")
    lines.append("|---|---|---|---|")
    for t in doc["targets"]:
        met = {True: "yes", False: "NO", None: "n/a"}[t["pass"]]
        if t["goal"] == "report" and t["value"] is not None:
            met = "-"
        lines.append("| %s | %s %s | %s | %s |" % (
            t["target"], fmt(t["value"], 2), t["unit"], t["goal"], met))
    ex = doc["extra"]
    lines.append("")
    if ex.get("fsync_per_msg_lmtpscand") is not None:
        lines.append("lmtpscand fsync/fdatasync calls per message (strace, untimed run): %.1f"
                     % ex["fsync_per_msg_lmtpscand"])
    mem = ex.get("memory", {})
    for k in ("lmtpscand-off", "lmtpscand-clamav"):
        if k in mem:
            lines.append("%s: RSS %.1f MB before, %.1f MB peak with 10 MB mails (+%.1f MB)" % (
                k, mem[k]["rss_before_mb"], mem[k]["peak_mb"], mem[k]["growth_10m_mb"]))
    if "clamscan_growth_10m_mb" in mem:
        lines.append("clamscan's own peak-RSS growth on the same 10 MB mail: +%.1f MB"
                     % mem["clamscan_growth_10m_mb"])
    c40 = mem.get("concurrent_40m")
    if c40:
        lines.append("32 concurrent 40 MB mails, scan_memory = %s, max_file_size = 64M, "
                     "max_scan_size = 200M: %d delivered, %d failed, "
                     "peak RSS %.0f MB (unbounded, libclamav's ~3x per mail would be "
                     "~%d MB), %.0f s" % (c40["scan_memory"], c40["sent"], c40["failed"],
                                          c40["peak_mb"], c40["unbounded_estimate_mb"],
                                          c40["elapsed_s"]))
    ceil = ex.get("sa_ceiling")
    if ceil:
        lines.append("SpamAssassin ceiling: spamd alone spent %.1f ms of CPU per corpus "
                     "message at c=8, so with %d CPUs doing nothing else no filter that "
                     "runs it on every message passes more than %.1f msgs/s = %s x "
                     "amavisd-new" % (ceil["spamd_cpu_ms_per_msg"], meta_["machine"]["cpus"],
                                      ceil["msgs_s"], fmt(ceil["x_amavisd"], 2)))
    if ex.get("banned_keys"):
        lines.append("Banned list (conf/lmtpscan.conf's sample): " +
                     "; ".join("`%s`" % k for k in ex["banned_keys"]))
    for key, vc in sorted(ex.get("banned_verdicts", {}).items()):
        lines.append("%s recipients by verdict/action: %s" % (
            key, ", ".join("%s %d" % kv for kv in sorted(vc.items()))))
    for key, ru in sorted(ex.get("reuse", {}).items()):
        lines.append("Retries and splits, %s (engine identity per %s): %d spam-engine "
                     "verdicts needed, %d requests made, %d reused (%s %%)" % (
                         key, ru["identity"], ru["verdicts_needed"], ru["requests_made"],
                         ru["reused"], fmt(ru["saved_pct"], 1)))
    ms_ = ex.get("metrics_scrape")
    if ms_:
        lines.append("GET /metrics after the metrics points: %s" % (
            "%d families, %d bytes, lmtpscan_messages_total %.0f" % (
                ms_["families"], ms_["bytes"], ms_["messages_total"])
            if ms_.get("ok") else "failed: %s" % ms_.get("error")))
    for n in ex.get("notes", []):
        lines.append("Note: " + n)
    lines.append("Benchmark wall time: %.0f s" % ex.get("elapsed_s", 0))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
