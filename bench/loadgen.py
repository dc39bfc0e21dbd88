"""Load generator of the benchmark: LMTP or SMTP over raw sockets, threads.

Owns: sending a list of messages to one server at a fixed concurrency, the
way Postfix's lmtp/smtp client does it (several messages per connection,
MAIL, RCPT... and DATA pipelined in one write, the body after the 354), and
timing each message's end-of-data replies: from the moment the last byte of
"CRLF . CRLF" is handed to the kernel to the arrival of the last
per-recipient reply (LMTP) or the single reply (SMTP). Every message sent
is unique by default (a header "X-Bench-Unique: NONCE.N" before the first
line, NONCE new for every call), so no cache keyed on a message's bytes
(a clean-file cache, verdict_reuse) helps any system.

Public: prepare(raw_bytes) -> wire body, run_load(...) -> dict,
run_http(...) -> dict (rspamd alone: /checkv2 through lmtpload -w),
run_null(...) -> dict (the null delivery agent nullmda),
run_spamc(...) -> dict (spamd driven by spamc, one process per message),
use_c_client(binary, spool_dir, null_binary): from then on run_load runs
the C client lmtpload (same protocol, same recipients, much less client
CPU) instead of the Python threads.

Failure modes: a connection error or an unexpected reply counts the
message as failed (never as sent) and the connection is re-opened; every
socket operation has a timeout, so a dead server ends the run with errors
instead of hanging it.
"""

import itertools
import os
import socket
import subprocess
import threading
import time

SENDER = "bench-sender@bench-src.example"
RCPT_DOMAIN = "bench.example"
USERS = 20  # recipients are user0 .. user19 @ RCPT_DOMAIN


def prepare(raw):
    """Wire form of a message: CRLF line ends, dot-stuffed, ending in CRLF,
    without an mbox "From " separator line."""
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        raw = raw[nl + 1:] if nl >= 0 else b""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    if raw.startswith(b"."):
        raw = b"." + raw
    return raw.replace(b"\r\n.", b"\r\n..")


def recipients_for(index, mode):
    """Recipients of message number index: mode "1" or "1-3"; the same
    sequence for every server, so the runs are comparable."""
    n = 1 if mode == "1" else 1 + (index * 7 + index // 3) % 3
    return ["user%d@%s" % ((index * 5 + k * 7) % USERS, RCPT_DOMAIN) for k in range(n)]


class ReplyError(Exception):
    pass


class Conn:
    """One client connection with a buffered reply reader."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb", buffering=65536)

    def reply(self):
        """One (possibly multi-line) reply: (code, last line)."""
        while True:
            line = self.rfile.readline(8192)
            if not line:
                raise ReplyError("connection closed")
            if len(line) < 4:
                raise ReplyError("short reply %r" % line)
            if line[3:4] != b"-":
                return int(line[:3]), line.rstrip(b"\r\n")

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


def _session(conn, proto, hello):
    code, line = conn.reply()
    if code != 220:
        raise ReplyError("greeting %r" % line)
    conn.sock.sendall(b"%s bench-client.example\r\n" % hello)
    code, line = conn.reply()
    if code != 250:
        raise ReplyError("hello %r" % line)


_C = {"binary": None, "null": None, "dir": None, "files": {}, "seq": 0}


def use_c_client(binary, spool_dir, null_binary=None):
    _C["binary"] = binary
    _C["null"] = null_binary
    _C["dir"] = spool_dir
    os.makedirs(spool_dir, exist_ok=True)


def _nonce():
    """New for every load: messages stay unique across the whole run."""
    _C["seq"] += 1
    return "%d-%d-%d" % (os.getpid(), int(time.time()), _C["seq"])


def _message_list(messages):
    """The messages as files, and a file listing them (lmtpload -F)."""
    key = id(messages)
    got = _C["files"].get(key)
    if got is not None and got[0] is messages:
        return got[1]
    base = _C["lists"] = _C.get("lists", 0) + 1
    paths = []
    for i, m in enumerate(messages):
        path = os.path.join(_C["dir"], "l%03d-m%06d.eml" % (base, i))
        with open(path, "wb") as f:
            f.write(m)
        paths.append(path)
    lst = os.path.join(_C["dir"], "l%03d.list" % base)
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    _C["files"][key] = (messages, lst)
    return lst


def _parse(p, out, err, count):
    res = {"sent": 0, "failed": count, "elapsed_s": 0.0, "latencies_s": [],
           "codes": {}, "client_cpu_s": 0.0,
           "first_error": "exit %d %s" % (p.returncode, err.decode()[-300:])}
    if p.returncode != 0:
        return res
    lat = []
    res["first_error"] = None
    for line in out.decode(errors="replace").splitlines():
        k, _, v = line.partition(" ")
        if k == "lat":
            lat.append(int(v) / 1e6)
        elif k == "sent":
            res["sent"] = int(v)
        elif k == "failed":
            res["failed"] = int(v)
        elif k == "elapsed":
            res["elapsed_s"] = float(v)
        elif k == "error":
            res["first_error"] = v
    res["latencies_s"] = lat
    return res


def _run_argv(argv, count):
    cpu0 = os.times()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    cpu1 = os.times()
    r = _parse(p, out, err, count)
    r["client_cpu_s"] = (cpu1.children_user - cpu0.children_user) + \
        (cpu1.children_system - cpu0.children_system)
    return r


def _run_c(host, port, messages, count, concurrency, rcpt_mode, proto,
           per_conn, timeout, offset=0, unique=True, scenario=False):
    argv = [_C["binary"], "-H", host, "-p", str(port), "-c", str(concurrency),
            "-n", str(count), "-r", "1" if rcpt_mode == "1" else "3",
            "-k", str(per_conn), "-t", str(int(timeout)), "-o", str(offset)]
    if proto == "smtp":
        argv.append("-s")
    elif proto == "http":
        argv.append("-w")
    if unique:
        argv += ["-u", _nonce()]
    if scenario:
        argv.append("-S")
    argv += ["-F", _message_list(messages)]
    return _run_argv(argv, count)


def run_http(host, port, messages, count, concurrency, offset=0, unique=True,
             timeout=300.0):
    """rspamd alone: count POST /checkv2 requests at concurrency (lmtpload
    -w; needs the C client). Returns the dict of run_load."""
    if not _C["binary"]:
        raise RuntimeError("rspamd alone needs the C client lmtpload")
    return _run_c(host, port, messages, count, concurrency, "1", "http", 1, timeout,
                  offset=offset, unique=unique)


def run_null(maildir, messages, count, concurrency, offset=0):
    """The null delivery agent: count Maildir deliveries (tmp/, write,
    fsync, link into new/, fsync new/) at concurrency into maildir."""
    if not _C["null"]:
        raise RuntimeError("the null delivery agent nullmda is not built")
    argv = [_C["null"], "-d", maildir, "-c", str(concurrency), "-n", str(count),
            "-o", str(offset), "-F", _message_list(messages)]
    return _run_argv(argv, count)


def _run_workers(worker, concurrency, state, lat, codes, with_children):
    """Runs concurrency threads of worker to the end; the result dict of
    run_load. with_children adds the CPU of child processes (spamc)."""
    cpu0 = os.times()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    t_start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    if with_children:
        cpu += (cpu1.children_user - cpu0.children_user) + \
            (cpu1.children_system - cpu0.children_system)
    return {
        "sent": state["sent"],
        "failed": state["failed"],
        "elapsed_s": elapsed,
        "latencies_s": lat,
        "codes": codes,
        "client_cpu_s": cpu,
        "first_error": state["error"],
    }


def run_load(host, port, messages, count, concurrency, rcpt_mode="1",
             proto="lmtp", per_conn=10, timeout=300.0, offset=0, unique=True,
             scenario=False):
    """Send count messages (cycling through messages, a list of wire bytes,
    from index offset) with concurrency connections; unique: each one made
    unique (see the module's doc); scenario: lmtpload's -S (Postfix
    retries and recipient splits; the C client only). Returns a dict:
    sent, failed, elapsed_s, latencies_s (one per message sent), codes
    (reply code -> count), client_cpu_s, first_error."""
    if _C["binary"]:
        return _run_c(host, port, messages, count, concurrency, rcpt_mode, proto,
                      per_conn, timeout, offset=offset, unique=unique,
                      scenario=scenario)
    if scenario:
        raise RuntimeError("the retries-and-splits scenario needs the C client")
    nonce = _nonce() if unique else None
    hello = b"LHLO" if proto == "lmtp" else b"EHLO"
    counter = itertools.count()
    lock = threading.Lock()
    lat = []
    codes = {}
    state = {"sent": 0, "failed": 0, "error": None}

    def note_error(msg):
        with lock:
            state["failed"] += 1
            if state["error"] is None:
                state["error"] = msg

    def worker():
        conn = None
        done_on_conn = 0
        while True:
            i = next(counter)
            if i >= count:
                break
            body = messages[(offset + i) % len(messages)]
            if nonce:
                body = b"X-Bench-Unique: %s.%d\r\n" % (nonce.encode(), offset + i) + body
            rcpts = recipients_for(i, rcpt_mode)
            try:
                if conn is None:
                    conn = Conn(host, port, timeout)
                    _session(conn, proto, hello)
                    done_on_conn = 0
                env = [b"MAIL FROM:<%s>\r\n" % SENDER.encode()]
                env += [b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts]
                env.append(b"DATA\r\n")
                conn.sock.sendall(b"".join(env))
                for _ in range(1 + len(rcpts)):
                    code, line = conn.reply()
                    if code != 250:
                        raise ReplyError("envelope %r" % line)
                code, line = conn.reply()
                if code != 354:
                    raise ReplyError("DATA %r" % line)
                conn.sock.sendall(body)
                conn.sock.sendall(b".\r\n")
                t0 = time.perf_counter()
                got = []
                for _ in range(len(rcpts) if proto == "lmtp" else 1):
                    got.append(conn.reply())
                t1 = time.perf_counter()
                ok = all(200 <= c < 300 for c, _ in got)
                with lock:
                    for c, _ in got:
                        codes[c] = codes.get(c, 0) + 1
                    if ok:
                        state["sent"] += 1
                        lat.append(t1 - t0)
                if not ok:
                    note_error("end of data %r" % (got[0][1],))
                done_on_conn += 1
                if done_on_conn >= per_conn:
                    conn.sock.sendall(b"QUIT\r\n")
                    conn.reply()
                    conn.close()
                    conn = None
            except (OSError, ReplyError) as e:
                note_error("%s: %s" % (type(e).__name__, e))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            try:
                conn.sock.sendall(b"QUIT\r\n")
                conn.reply()
            except (OSError, ReplyError):
                pass
            conn.close()

    return _run_workers(worker, concurrency, state, lat, codes, False)


def run_spamc(host, port, files, count, concurrency, timeout=120.0, offset=0):
    """spamd alone: count spamc runs (report mode, -R, the request lmtpscand
    makes) over files (paths of LF messages, from index offset),
    concurrency at once. Latency is each spamc's wall time. spamd keeps no
    cache, so the files are sent as they are. Returns the dict of
    run_load."""
    counter = itertools.count()
    lock = threading.Lock()
    lat = []
    state = {"sent": 0, "failed": 0, "error": None}
    codes = {}

    def worker():
        while True:
            i = next(counter)
            if i >= count:
                break
            path = files[(offset + i) % len(files)]
            user = recipients_for(i, "1")[0]
            t0 = time.perf_counter()
            try:
                with open(path, "rb") as f:
                    p = subprocess.run(
                        ["spamc", "-d", host, "-p", str(port), "-R", "-x",
                         "-u", user, "-t", str(int(timeout))],
                        stdin=f, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, timeout=timeout)
                rc = p.returncode
                err = p.stderr.decode(errors="replace").strip()
            except subprocess.TimeoutExpired:
                rc, err = -1, "timeout"
            t1 = time.perf_counter()
            with lock:
                codes[rc] = codes.get(rc, 0) + 1
                # -x: exit 0 ham, 1 spam; anything else is an error
                if rc in (0, 1):
                    state["sent"] += 1
                    lat.append(t1 - t0)
                else:
                    state["failed"] += 1
                    if state["error"] is None:
                        state["error"] = "spamc exit %d %s" % (rc, err[:200])

    return _run_workers(worker, concurrency, state, lat, codes, True)
