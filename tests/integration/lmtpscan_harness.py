"""Integration-test harness for lmtpscand.

Owns: starting one daemon per test in a private temporary directory (config
in Maildir mode, an inet and a unix LMTP listener, an SMTP listener, spool,
quarantine and report dirs, scanners off unless a test turns them on),
waiting until every listener answers, stopping it by PID (SIGTERM, then
SIGKILL after a bound) and keeping its stderr for failure messages.

Public: free_port(), Daemon, RawClient, SmtpSink (Postfix's smtp-sink as a
relay or notice server), DaemonTestCase (a unittest base
class with self.d = a running Daemon), lmtp_send(), crlf(), to_lf(),
header_fields() / header_values() / header_value() / first_field() /
matching() / spam_tests() (header checks that do not depend on where a field is folded),
Daemon.log() (the whole log, for checks of log lines), main()
(unittest.main that exits 77, ctest's skip code, when every test of the
file skipped).

Failure modes: a daemon that does not answer within START_TIMEOUT, exits
early or does not stop within STOP_TIMEOUT fails the test with its stderr.
Everything is bounded in time; nothing listens off loopback.

The daemon binary comes from $LMTPSCAND (set by CMake); else the
conventional build/lmtpd/lmtpscand of the source tree.
"""

import base64
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LMTPSCAN_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(HERE)))
BUILD_DIR = os.environ.get("LMTPSCAN_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
SANITIZED = os.environ.get("LMTPSCAN_SANITIZE", "") not in ("", "0", "OFF", "off")

HOST = "test.lmtpscan.invalid"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 20.0
IO_TIMEOUT = 30.0 if not SANITIZED else 60.0
MAIL_ID_RE = r"[a-z0-9]{12}"


def daemon_path():
    path = os.environ.get("LMTPSCAND")
    if not path:
        path = os.path.join(BUILD_DIR, "lmtpd", "lmtpscand")
    return path


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crlf(text):
    """bytes with every line end as CRLF (input may use LF or CRLF)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data):
    """What the daemon stores for data received: CRLF becomes LF."""
    return data.replace(b"\r\n", b"\n")


VERDICT_HEADERS = (b"x-spam-flag", b"x-spam-status", b"x-spam-score", b"x-spam-level",
                   b"x-spam-report", b"x-virus-scanned")


def strip_verdict_headers(msg):
    """msg (CRLF or LF lines) without the incoming verdict header fields
    the daemon removes (SPEC 6), folded continuation lines included; the
    header ends at the first empty line."""
    lines = msg.splitlines(keepends=True)
    out = []
    in_header = True
    dropping = False
    for ln in lines:
        if in_header:
            if ln in (b"\r\n", b"\n"):
                in_header = False
            elif ln[:1] in (b" ", b"\t"):
                if dropping:
                    continue
            else:
                name = ln.split(b":", 1)[0].rstrip(b" \t").lower()
                dropping = b":" in ln and name in VERDICT_HEADERS
                if dropping:
                    continue
        out.append(ln)
    return b"".join(out)


FIELD_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable, no colon


def header_fields(msg):
    """The header section of msg (bytes or str, CRLF or LF lines; it ends
    at the first empty line) as a list of (name, value) str pairs in their
    order. Each value is unfolded as RFC 5322 2.2.3 says (a line end
    followed by a blank is removed, the blank kept) and stripped of
    leading and trailing blanks, so a check never depends on where a
    field was folded. A line that is no field (an mbox "From " line) is
    skipped; bytes that are not UTF-8 become U+FFFD."""
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    fields = []
    for line in msg.split("\n"):  # LF only: str.splitlines() splits at more
        if line.endswith("\r"):
            line = line[:-1]
        if line == "":
            break
        if line[:1] in (" ", "\t"):
            if fields and fields[-1] is not None:
                name, value = fields[-1]
                fields[-1] = (name, value + line)
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        fields.append((name, value) if colon and FIELD_NAME.match(name) else None)
    return [(n, v.strip(" \t")) for n, v in (f for f in fields if f is not None)]


def header_values(msg, name):
    """The unfolded values of every field called name (case-insensitive)
    in msg's header section, in order."""
    name = name.lower()
    return [v for n, v in header_fields(msg) if n.lower() == name]


def header_value(msg, name):
    """The unfolded value of the one field called name, None when there is
    none; more than one is a test failure (use header_values)."""
    values = header_values(msg, name)
    if len(values) > 1:
        raise AssertionError("%d %s fields: %r" % (len(values), name, values))
    return values[0] if values else None


def matching(values, pattern):
    """The positions of the values (e.g. header_values(msg, "Received"))
    the regex pattern finds something in."""
    return [i for i, v in enumerate(values) if re.search(pattern, v)]


def first_field(msg):
    """The first field of msg's header as "Name: unfolded value" ("" when
    there is none): what a check of the field prepended last reads."""
    fields = header_fields(msg)
    return "%s: %s" % fields[0] if fields else ""


def spam_tests(status):
    """The rule names of an X-Spam-Status value's "tests=A,B,..." list, in
    the order written (blanks that unfolding left after a comma removed);
    [] for "tests=none"."""
    _, found, rest = status.partition("tests=")
    if not found:
        raise AssertionError("no tests= in %r" % status)
    words = re.sub(r",[ \t]+", ",", rest).split()
    names = words[0].split(",") if words else []
    return [] if names == ["none"] else names


def lhlo_lines(host, max_size):
    return [
        "250-%s" % host,
        "250-PIPELINING",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250-SIZE %d" % max_size,
        "250-SMTPUTF8",
        "250-CHUNKING",
        "250-DSN",
        "250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE",
    ]


DEFAULT_CONFIG = {
    "server": {
        "hostname": HOST,
        "max_sessions": "32",
        "max_message_size": "50M",
        "max_recipients": "1000",
        "timeout": "60s",
        "scan_timeout": "60s",
        "allow_from": "127.0.0.0/8, ::1",
        "auth": "no",
        "log": "stderr",
        # Tests run as root; the daemon refuses root unless told so.
        "user": "root",
    },
    "clamav": {"enabled": "no"},
    "spamd": {"enabled": "no"},
    "deliver": {
        "mode": "maildir",
        "maildir_create": "yes",
        "recipient_delimiter": "+",
    },
}


class DaemonError(Exception):
    pass


class Daemon:
    """One lmtpscand in its own temporary directory.

    overrides: {section: {key: value}}; a value None removes the key.
    extra: raw text appended to the config (more sections).
    env: {name: value} for the daemon's environment; a value None removes
    the variable. RUNTIME_DIRECTORY is removed unless given here (systemd
    sets it; it moves libclamav's temporary files).
    """

    def __init__(self, overrides=None, extra="", smtp=True, unix=True, env=None):
        self.tmp = tempfile.mkdtemp(prefix="lmtpscan-it-")
        self.overrides = overrides or {}
        self.extra = extra
        self.env = dict(os.environ)
        self.env.pop("RUNTIME_DIRECTORY", None)
        for k, v in (env or {}).items():
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = v
        self.want_smtp = smtp
        self.want_unix = unix
        self.proc = None
        self.stopped = False  # set once a test stopped the daemon itself
        self.stderr_path = os.path.join(self.tmp, "daemon.stderr")
        self.stderr_file = None
        self.clients = []
        self.spool = os.path.join(self.tmp, "spool")
        self.quarantine = os.path.join(self.tmp, "quarantine")
        self.reports = os.path.join(self.tmp, "reports")
        self.mail_root = os.path.join(self.tmp, "mail")
        self.sock_path = os.path.join(self.tmp, "lmtp.sock")
        self.conf_path = os.path.join(self.tmp, "lmtpscan.conf")
        for d in (self.spool, self.quarantine, self.reports, self.mail_root):
            os.makedirs(d, mode=0o700)
        self.max_message_size = 50 * 1024 * 1024

    # --- configuration -------------------------------------------------
    def config_text(self):
        cfg = {s: dict(kv) for s, kv in DEFAULT_CONFIG.items()}
        listen = ["inet:127.0.0.1:%d" % self.port]
        if self.want_unix:
            listen.append("unix:" + self.sock_path)
        cfg["server"]["listen"] = ", ".join(listen)
        cfg["server"]["smtp_listen"] = ("inet:127.0.0.1:%d" % self.smtp_port
                                        if self.want_smtp else "")
        cfg["server"]["spool_dir"] = self.spool
        cfg["deliver"]["maildir"] = os.path.join(self.mail_root, "%d", "%n", "Maildir")
        cfg["deliver"]["quarantine_dir"] = self.quarantine
        cfg.setdefault("report", {})["dir"] = self.reports
        for section, kv in self.overrides.items():
            cfg.setdefault(section, {})
            for k, v in kv.items():
                if v is None:
                    cfg[section].pop(k, None)
                else:
                    cfg[section][k] = v
        out = ["# written by the lmtpscan integration harness"]
        for section, kv in cfg.items():
            out.append("")
            out.append("[%s]" % section)
            for k, v in kv.items():
                out.append("%s = %s" % (k, v))
        text = "\n".join(out) + "\n"
        if self.extra:
            text += "\n" + self.extra.strip("\n") + "\n"
        return text

    def parse_size(self):
        v = self.overrides.get("server", {}).get("max_message_size")
        if not v:
            return 50 * 1024 * 1024
        m = re.fullmatch(r"(\d+)([KMG]?)", v.strip())
        mult = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[m.group(2)]
        return int(m.group(1)) * mult

    # --- life cycle ----------------------------------------------------
    def start(self):
        self.max_message_size = self.parse_size()
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            self.smtp_port = free_port()
            while self.smtp_port == self.port:
                self.smtp_port = free_port()
            with open(self.conf_path, "w") as f:
                f.write(self.config_text())
            if self.stderr_file:
                self.stderr_file.close()
            self.stderr_file = open(self.stderr_path, "wb")
            self.proc = subprocess.Popen(
                [daemon_path(), "-f", "-c", self.conf_path],
                stdin=subprocess.DEVNULL, stdout=self.stderr_file,
                stderr=self.stderr_file, cwd=self.tmp, env=self.env)
            try:
                self.wait_ready()
                return self
            except DaemonError as e:
                last = str(e)
                self.kill()
                if "in use" not in self.stderr():
                    break
        self.stopped = True  # nothing left for tearDown to stop
        raise DaemonError("lmtpscand did not start: %s\n--- stderr ---\n%s"
                          % (last, self.stderr()))

    def endpoints(self):
        eps = [("inet", ("127.0.0.1", self.port))]
        if self.want_unix:
            eps.append(("unix", self.sock_path))
        if self.want_smtp:
            eps.append(("inet", ("127.0.0.1", self.smtp_port)))
        return eps

    def wait_ready(self):
        """Every listener answers a first line; probes end with QUIT/EOF."""
        deadline = time.monotonic() + START_TIMEOUT
        for kind, addr in self.endpoints():
            while True:
                if self.proc.poll() is not None:
                    raise DaemonError("exited with %d" % self.proc.returncode)
                if time.monotonic() > deadline:
                    raise DaemonError("no answer on %r within %.0fs" % (addr, START_TIMEOUT))
                if self._probe(kind, addr, deadline):
                    break
                time.sleep(0.02)

    @staticmethod
    def _probe(kind, addr, deadline):
        fam = socket.AF_UNIX if kind == "unix" else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
            s.connect(addr)
            first = s.recv(512)
            if not first:
                return False
            try:
                s.sendall(b"QUIT\r\n")
                while s.recv(512):
                    pass
            except OSError:
                pass
            return True
        except OSError:
            return False
        finally:
            s.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close_clients(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients = []

    def stop(self, timeout=None):
        """SIGTERM, wait; SIGKILL after timeout (default STOP_TIMEOUT).
        Returns the exit status (negative for a signal) and whether
        SIGKILL was needed."""
        if timeout is None:
            timeout = STOP_TIMEOUT
        self.close_clients()
        if self.proc is None:
            return None, False
        self.stopped = True
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                killed = True
                self.proc.kill()
                self.proc.wait(10)
        if self.stderr_file:
            self.stderr_file.close()
            self.stderr_file = None
        return self.proc.returncode, killed

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def cleanup(self):
        self.kill()
        if self.stderr_file:
            self.stderr_file.close()
            self.stderr_file = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        if len(data) > 20000:
            data = b"[...]\n" + data[-20000:]
        return data.decode("utf-8", "replace")

    def log(self):
        """The daemon's whole log so far (stderr() keeps only the tail, for
        failure messages): checks for a log line use this, since lines of
        concurrent sessions may push any line out of a tail."""
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # --- clients -------------------------------------------------------
    def raw(self, where="lmtp", greeting=True):
        """A RawClient on 'lmtp' (inet), 'unix' or 'smtp'; reads the
        greeting when greeting is true."""
        if where == "unix":
            c = RawClient(socket.AF_UNIX, self.sock_path)
        elif where == "smtp":
            c = RawClient(socket.AF_INET, ("127.0.0.1", self.smtp_port))
        else:
            c = RawClient(socket.AF_INET, ("127.0.0.1", self.port))
        self.clients.append(c)
        if greeting:
            c.greeting = c.reply()
        return c

    def lmtp(self, unix=False):
        """A connected smtplib.LMTP (greeting read)."""
        if unix:
            c = smtplib.LMTP(self.sock_path, timeout=IO_TIMEOUT)
        else:
            c = smtplib.LMTP("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        self.clients.append(c)
        return c

    # --- files ---------------------------------------------------------
    def maildir(self, addr):
        local, _, domain = addr.lower().rpartition("@")
        local = local.split("+", 1)[0]
        return os.path.join(self.mail_root, domain, local, "Maildir")

    def stored(self, addr, folder=""):
        """Sorted paths of the files in the recipient's new/."""
        d = self.maildir(addr)
        if folder:
            d = os.path.join(d, "." + folder)
        d = os.path.join(d, "new")
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d))

    def all_files(self, top=None):
        """Every regular file below top (default: the mail root)."""
        top = top or self.mail_root
        out = []
        for dirpath, _dirs, files in os.walk(top):
            for n in files:
                out.append(os.path.join(dirpath, n))
        return sorted(out)

    def message_files(self):
        """Every file in any new/, cur/ or tmp/ below the mail root."""
        return [p for p in self.all_files()
                if os.path.basename(os.path.dirname(p)) in ("new", "cur", "tmp")]

    def vmhwm_kb(self):
        return proc_status_kb(self.proc.pid, "VmHWM")

    def vmrss_kb(self):
        return proc_status_kb(self.proc.pid, "VmRSS")


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class RawClient:
    """A plain socket speaking lines; every read is bounded by IO_TIMEOUT."""

    def __init__(self, family, addr, timeout=None):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout or IO_TIMEOUT)
        self.sock.connect(addr)
        self.buf = b""
        self.greeting = None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def cmd(self, line):
        """Sends one command line (CRLF added) and returns its reply."""
        self.send(line.encode("utf-8") + b"\r\n" if isinstance(line, str)
                  else line + b"\r\n")
        return self.reply()

    def line(self):
        """One line without its CRLF; raises EOFError on close."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        if line.endswith(b"\r"):
            line = line[:-1]
        return line.decode("utf-8", "replace")

    def reply(self):
        """One reply; a multi-line reply comes back as lines joined by
        '\\n'."""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                break
        return "\n".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def at_eof(self, timeout=5.0):
        """True when the peer closes within timeout (any pending bytes
        are discarded)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(old)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def dot_stuff(msg):
    """SMTP transparency: a line starting with '.' gets one more. Lines
    are CRLF-terminated; the first line counts too."""
    out = msg.replace(b"\r\n.", b"\r\n..")
    if out.startswith(b"."):
        out = b"." + out
    return out


def read_spamc_request(conn):
    """One SPAMC request from a connected socket, as a scripted spamd reads
    it: (head, body), the body Content-length bytes long (none without the
    field); None when the peer closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    want = int(m.group(1)) if m else 0
    while len(body) < want:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, body


def lmtp_send(conn, sender, rcpts, msg, mail_options=(), quote=True):
    """One LMTP transaction on an smtplib.LMTP: returns (mail reply,
    [rcpt replies], [data replies, one per accepted recipient]) as
    "CODE TEXT" strings. msg is bytes sent as is (dot-stuffed unless
    quote is false; a final CRLF is added when missing)."""
    if not getattr(conn, "does_esmtp", False):
        code, _ = conn.ehlo()
        if code != 250:
            raise AssertionError("LHLO refused: %d" % code)
    code, text = conn.mail(sender, list(mail_options))
    mail_reply = "%d %s" % (code, text.decode("utf-8", "replace"))
    rcpt_replies = []
    accepted = 0
    for r in rcpts:
        code, text = conn.rcpt(r)
        rcpt_replies.append("%d %s" % (code, text.decode("utf-8", "replace")))
        if code // 100 == 2:
            accepted += 1
    data_replies = []
    if accepted:
        conn.putcmd("data")
        code, text = conn.getreply()
        if code != 354:
            raise AssertionError("DATA: %d %s" % (code, text))
        q = dot_stuff(msg) if quote else msg
        if not q.endswith(b"\r\n"):
            q += b"\r\n"
        conn.send(q + b".\r\n")
        for _ in range(accepted):
            code, text = conn.getreply()
            data_replies.append("%d %s" % (code, text.decode("utf-8", "replace")))
    else:
        conn.rset()
    return mail_reply, rcpt_replies, data_replies


def delivered_re(addr):
    return r"250 2\.0\.0 <%s> %s delivered" % (re.escape(addr), MAIL_ID_RE)


class DaemonTestCase(unittest.TestCase):
    """Starts self.d = Daemon(**self.daemon_args()) before each test and
    stops it after; a daemon that does not exit 0 on SIGTERM fails the
    test (ASan/UBSan reports end that way)."""

    config = None  # {section: {key: value}} overrides for the whole class
    extra = ""
    start_daemon = True

    def daemon_args(self):
        return {"overrides": self.config, "extra": self.extra}

    def setUp(self):
        exe = daemon_path()
        if not os.access(exe, os.X_OK):
            self.fail("lmtpscand not found at %s (set LMTPSCAND)" % exe)
        self.d = Daemon(**self.daemon_args())
        self.addCleanup(self.d.cleanup)
        if self.start_daemon:
            try:
                self.d.start()
            except DaemonError as e:
                self.fail(str(e))

    def tearDown(self):
        if self.d.proc is None or self.d.stopped:
            return
        was_alive = self.d.alive()
        rc, killed = self.d.stop()
        msg = "\n--- lmtpscand stderr ---\n" + self.d.stderr()
        if not was_alive:
            self.fail("lmtpscand died during the test (status %s)%s" % (rc, msg))
        if killed:
            self.fail("lmtpscand did not stop within %.0fs of SIGTERM%s"
                      % (STOP_TIMEOUT, msg))
        if rc != 0:
            self.fail("lmtpscand exited with %s after SIGTERM%s" % (rc, msg))

    # --- assertions ------------------------------------------------------
    def assertReply(self, got, expected):
        self.assertEqual(got, expected, self._ctx())

    def assertReplyRe(self, got, pattern):
        self.assertRegex(got, "^(?:%s)$" % pattern, self._ctx())

    def _ctx(self):
        return "\n--- lmtpscand stderr (tail) ---\n" + self.d.stderr()[-4000:]

    def assertStored(self, path, sent):
        """path holds sent (as on the wire, unstuffed) with CRLF->LF, after
        the headers the daemon prepended (starting with Received:)."""
        with open(path, "rb") as f:
            got = f.read()
        want = to_lf(sent)
        self.assertTrue(got.startswith(b"Received: "),
                        "%s does not start with Received: %r" % (path, got[:200]))
        self.assertTrue(got.endswith(want),
                        "%s does not end with the message sent:\n got tail %r\nwant tail %r"
                        % (path, got[-300:], want[-300:]))
        # the prepended part is a header block: lines "Name: ..." or folded
        head = got[:len(got) - len(want)]
        self.assertTrue(head.endswith(b"\n"), "prepended headers end mid-line: %r" % head)
        st = os.stat(path)
        self.assertEqual(st.st_mode & 0o777, 0o600, "%s mode %o" % (path, st.st_mode))
        m = re.search(r",S=(\d+)(?::2,.*)?$", os.path.basename(path))
        self.assertIsNotNone(m, "%s: no ,S=SIZE in the name" % path)
        self.assertEqual(int(m.group(1)), st.st_size, "%s: ,S= is not the size" % path)
        return got

    def assertOneStored(self, addr, sent, folder=""):
        files = self.d.stored(addr, folder)
        self.assertEqual(len(files), 1, "%s: files %r%s" % (addr, files, self._ctx()))
        return self.assertStored(files[0], sent)

    def assertSpoolEmpty(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            left = self.d.all_files(self.d.spool)
            # the quarantine may live inside the spool by default; ours does not
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(left, [], "spool not empty" + self._ctx())


class SmtpSink:
    """Postfix's smtp-sink on a loopback port (a free one unless given),
    writing each mail it receives to a file of its own in directory;
    args are more smtp-sink options (e.g. ["-f", "RCPT"]: 5xx to RCPT).
    It writes as nobody: directory is made world-writable and its parent
    traversable. Stopped by PID."""

    def __init__(self, directory, port=None, args=()):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        os.chmod(os.path.dirname(directory), 0o755)
        os.chmod(directory, 0o777)
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            ["/usr/sbin/smtp-sink", "-u", "nobody"] + list(args)
            + ["-d", os.path.join(directory, "%Y%m%d%H%M%S."), "127.0.0.1:%d" % self.port, "10"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                smtplib.SMTP("127.0.0.1", self.port, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)

    def mails(self, timeout=10.0, count=1):
        """The mails received so far, waiting up to timeout for count."""
        deadline = time.monotonic() + timeout
        while True:
            files = sorted(os.listdir(self.dir))
            if len(files) >= count or time.monotonic() > deadline:
                time.sleep(0.1)  # a file being written is complete by now
                return [read_file(os.path.join(self.dir, f)) for f in sorted(os.listdir(self.dir))]
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def simple_message(subject="test", body="Hello.\n", extra_headers=""):
    return crlf("From: <sender@example.test>\nTo: <rcpt@example.test>\n"
                "Subject: %s\nMessage-ID: <%s@lmtpscan.test>\n%s\n%s"
                % (subject, subject.replace(" ", "-"), extra_headers, body))


def make_test_signatures(parent, timeout=60):
    """Builds the two-signature ClamAV test database in parent/clamav with
    tests/make-test-signatures.sh; returns its path."""
    db = os.path.join(parent, "clamav")
    subprocess.run([os.path.join(SOURCE_DIR, "tests", "make-test-signatures.sh"), db],
                   check=True, timeout=timeout, stdout=subprocess.DEVNULL)
    return db


# The EICAR test string; the daemon's test database knows it.
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def eicar_message(subject="eicar"):
    """A MIME mail with EICAR as a base64 attachment."""
    att = base64.encodebytes(EICAR.encode()).decode()
    return crlf(
        "From: <a@example.test>\nTo: <b@example.test>\nSubject: %s\n"
        "Message-ID: <eicar@example.test>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
        "--XX\nContent-Type: text/plain\n\nsee attachment\n"
        "--XX\nContent-Type: application/octet-stream; name=\"eicar.com\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"eicar.com\"\n\n"
        % subject + att + "--XX--\n")


def main():
    """unittest.main(); exit 77 when every test that ran was skipped."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if r.failures or r.errors or r.unexpectedSuccesses:
        sys.exit(1)
    if r.testsRun and len(r.skipped) == r.testsRun:
        print("all tests skipped: %s" % "; ".join(s for _t, s in r.skipped))
        sys.exit(77)
    sys.exit(0)
