#!/usr/bin/env python3
"""metrics_table: a table for people from a running lmtpscand's /metrics.

    bench/metrics_table.py URL [SECONDS] [INTERVAL]

Scrapes URL (e.g. http://127.0.0.1:9425/metrics) every INTERVAL seconds
(default 2) for SECONDS (default 20) and prints a Markdown table, one row
per interval: messages/s, recipients by action, and the 50th and 99th
percentile of each stage that ran in that interval, estimated from the
histogram buckets' deltas as Prometheus' histogram_quantile() does
(linear within the bucket). Standard library only.
"""

import re
import sys
import time
import urllib.request

SAMPLE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$')
STAGES = ("receive", "clamav", "spam_wait", "spam", "delivery", "relay", "report")
ACTIONS = ("deliver", "junk", "quarantine", "discard", "reject", "tempfail")


def scrape(url):
    out = {}
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            m = SAMPLE.match(line)
            if m:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
                out[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    return out


def total(s, name, **want):
    return sum(v for (n, labels), v in s.items()
               if n == name and all(dict(labels).get(k) == w for k, w in want.items()))


def quantile(q, before, after, stage):
    """histogram_quantile over the interval's bucket deltas, in ms."""
    buckets = []
    for (n, labels), v in after.items():
        d = dict(labels)
        if n == "lmtpscan_stage_duration_seconds_bucket" and d["stage"] == stage:
            le = float("inf") if d["le"] == "+Inf" else float(d["le"])
            buckets.append((le, v - before.get((n, labels), 0.0)))
    buckets.sort()
    count = buckets[-1][1] if buckets else 0
    if count <= 0:
        return None
    rank, lower, seen = q * count, 0.0, 0.0
    for le, cum in buckets:
        if cum >= rank:
            if le == float("inf"):
                return lower * 1000
            inside = cum - seen
            return (lower + (le - lower) * ((rank - seen) / inside if inside else 1)) * 1000
        lower, seen = le, cum
    return None


def main():
    url = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 2
    cols = ["t (s)", "msgs/s"] + list(ACTIONS) + ["%s p50/p99 ms" % s for s in STAGES]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    start = time.monotonic()
    prev = scrape(url)
    while time.monotonic() - start < seconds:
        time.sleep(interval)
        cur = scrape(url)
        row = ["%.0f" % (time.monotonic() - start),
               "%.0f" % ((total(cur, "lmtpscan_messages_total")
                          - total(prev, "lmtpscan_messages_total")) / interval)]
        for a in ACTIONS:
            row.append("%.0f" % (total(cur, "lmtpscan_recipients_total", action=a)
                                 - total(prev, "lmtpscan_recipients_total", action=a)))
        for st in STAGES:
            p50, p99 = quantile(0.5, prev, cur, st), quantile(0.99, prev, cur, st)
            row.append("-" if p50 is None else "%.1f / %.1f" % (p50, p99))
        print("| " + " | ".join(row) + " |", flush=True)
        prev = cur


if __name__ == "__main__":
    main()
