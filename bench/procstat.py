"""Process-tree accounting of the benchmark, from /proc.

Owns: finding a process's tree (itself and all descendants), its CPU time
(utime + stime of every live process in the tree, plus cutime + cstime,
which hold the CPU of children already reaped), and its memory: the sum of
VmHWM (peak resident set) and of VmRSS over the tree, with the peak reset
through /proc/PID/clear_refs ("5") before each measurement point.

Public: tree(pid), cpu_seconds(pids), reset_peaks(pids), peak_rss_kb(pids),
rss_kb(pids).

Failure modes: processes that exit between listing and reading are skipped
(their CPU lands in the parent's cutime once reaped); none of these raise.
"""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode()
    except OSError:
        return None
    # the command name is in parentheses and may hold blanks
    rest = data[data.rindex(")") + 2:].split()
    return rest


def _children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _stat(int(name))
        if st is None:
            continue
        kids.setdefault(int(st[1]), []).append(int(name))
    return kids


def tree(pids):
    """pids and all their live descendants."""
    kids = _children_map()
    out = []
    todo = list(pids)
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids):
    """CPU seconds (user + system, own + reaped children) of the trees."""
    total = 0
    for p in tree(pids):
        st = _stat(p)
        if st is None:
            continue
        # fields after the name: state ppid ... utime(14) stime(15)
        # cutime(16) cstime(17) in stat(5) numbering; here index - 3
        total += int(st[11]) + int(st[12]) + int(st[13]) + int(st[14])
    return total / CLK_TCK


def _status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peaks(pids):
    for p in tree(pids):
        try:
            with open("/proc/%d/clear_refs" % p, "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_rss_kb(pids):
    return sum(_status_kb(p, "VmHWM") for p in tree(pids))


def rss_kb(pids):
    return sum(_status_kb(p, "VmRSS") for p in tree(pids))
