"""A private, throw-away Postfix instance for integration tests.

Owns: generating main.cf and master.cf in a temporary directory (its own
config, queue, data and mail directories, loopback-only listeners on free
ports, a log file written by postlogd), starting it with `postfix -c DIR
start`, waiting for its listeners, reading its log, and stopping it
(`postfix -c DIR stop`, then the master process by PID if needed).

Public: available() (why Postfix cannot run here, or None), Postfix
(the instance), wait_for(), smtp_send().

Failure modes: a `postfix check`/`start` failure or a listener that does
not answer within START_TIMEOUT raises PostfixError with the log tail.
Everything is bounded in time; nothing listens off 127.0.0.1. Needs root
(Postfix insists on root-owned queue directories) and the `postfix` user
of the Debian package.
"""

import os
import grp
import pty
import pwd
import select
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class PostfixError(Exception):
    pass


def available():
    """None when a private Postfix can run here, else the reason."""
    if not os.access(POSTFIX, os.X_OK):
        return "postfix is not installed"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "the postfix user or postdrop group is missing"
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.1):
    """Polls predicate() until it returns a true value or timeout passes;
    returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# The services every instance needs (from Debian's master.cf, without
# chroot so no files must be copied into a jail).
BASE_MASTER = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """One Postfix instance in its own temporary directory.

    main: extra main.cf lines {key: value}; master: extra master.cf text
    (service entries; use {port:NAME} placeholders filled by ports()).
    Mailboxes: virtual(8) delivery under self.vmail for the addresses in
    mailboxes (a list), domain(s) in domains.
    """

    def __init__(self, domains=("example.test",), mailboxes=(), main=None, master=""):
        self.tmp = tempfile.mkdtemp(prefix="lmtpscan-pf-")
        os.chmod(self.tmp, 0o755)
        self.conf = os.path.join(self.tmp, "etc")
        self.queue = os.path.join(self.tmp, "queue")
        self.data = os.path.join(self.tmp, "data")
        self.vmail = os.path.join(self.tmp, "vmail")
        self.log = os.path.join(self.tmp, "maillog")
        self.domains = list(domains)
        self.mailboxes = list(mailboxes)
        self.main_extra = dict(main or {})
        self.master_extra = master
        self.port = {}
        self.started = False
        pw = pwd.getpwnam("postfix")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        for d in (self.conf, self.queue):
            os.makedirs(d, mode=0o755)
        for d in (self.data, self.vmail):
            os.makedirs(d, mode=0o700)
            os.chown(d, self.uid, self.gid)

    def new_port(self, name):
        p = free_port()
        while p in self.port.values():
            p = free_port()
        self.port[name] = p
        return p

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write_file(self, name, text, mode=0o644):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def maildir(self, addr):
        local, _, domain = addr.partition("@")
        return os.path.join(self.vmail, domain, local)

    def delivered(self, addr):
        """Paths of the messages in addr's Maildir new/, sorted by mtime
        (then by name: a directory lists in no fixed order, and two files
        may share an mtime)."""
        d = os.path.join(self.maildir(addr), "new")
        if not os.path.isdir(d):
            return []
        files = [os.path.join(d, n) for n in os.listdir(d)]
        return sorted(files, key=lambda p: (os.stat(p).st_mtime_ns, p))

    def main_cf(self):
        mbox = "".join("%s %s/%s/\n" % (a, a.partition("@")[2], a.partition("@")[0])
                       for a in self.mailboxes)
        maps = self.write_file("vmailbox", mbox)
        cfg = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.lmtpscan.invalid",
            "mydomain": "lmtpscan.invalid",
            "myorigin": "$myhostname",
            "mydestination": "",
            "relay_domains": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": self.log,
            "maillog_file_prefixes": self.tmp,
            "smtputf8_enable": "no",
            "biff": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtpd_banner": "$myhostname ESMTP",
            "smtp_dns_support_level": "disabled",
            "lmtp_dns_support_level": "disabled",
            "disable_dns_lookups": "yes",
            "smtpd_peername_lookup": "no",
            "virtual_mailbox_domains": ", ".join(self.domains),
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": "texthash:" + maps,
            "virtual_uid_maps": "static:%d" % self.uid,
            "virtual_gid_maps": "static:%d" % self.gid,
            "virtual_minimum_uid": "1",
            "queue_run_delay": "5s",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
            "delay_warning_time": "0",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
        }
        cfg.update(self.main_extra)
        return "".join("%s = %s\n" % (k, v) for k, v in cfg.items())

    def master_cf(self):
        return BASE_MASTER + self.master_extra.format(port=self.port)

    def postfix(self, *args, check=True, timeout=60):
        """Runs `postfix -c DIR ARGS...`. Postfix writes its messages to
        stderr only when that is a terminal, so it gets a pty."""
        master, slave = pty.openpty()
        try:
            p = subprocess.run([POSTFIX, "-c", self.conf] + list(args),
                               stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                               timeout=timeout)
        finally:
            os.close(slave)
        chunks = []
        try:
            while True:
                r, _, _ = select.select([master], [], [], 1.0)
                if not r:
                    break
                b = os.read(master, 65536)
                if not b:
                    break
                chunks.append(b)
        except OSError:
            pass  # EIO: the pty's other side is closed
        finally:
            os.close(master)
        out = b"".join(chunks).decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise PostfixError("postfix %s failed (%d):\n%s\n--- maillog ---\n%s"
                               % (" ".join(args), p.returncode, out, self.log_text()[-4000:]))
        return out

    def start(self):
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(self.master_cf())
        self.postfix("check")
        self.postfix("start")
        self.started = True
        for name, port in self.port.items():
            if not wait_for(lambda: self._answers(port), START_TIMEOUT, 0.1):
                raise PostfixError("Postfix listener %s (port %d) does not answer\n%s"
                                   % (name, port, self.log_text()[-4000:]))
        return self

    @staticmethod
    def _answers(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                first = s.recv(512)
                s.sendall(b"QUIT\r\n")
                return first.startswith(b"220")
        except OSError:
            return False

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        try:
            self.postfix("stop", check=False, timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        if pid is not None and not wait_for(lambda: not _alive(pid), STOP_TIMEOUT):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30.0, count=1):
        """Waits until the log holds count lines matching the regex
        pattern; returns them (fewer on timeout)."""
        import re
        rx = re.compile(pattern)

        def found():
            lines = [ln for ln in self.log_text().splitlines() if rx.search(ln)]
            return lines if len(lines) >= count else None
        return wait_for(found, timeout, 0.2) or \
            [ln for ln in self.log_text().splitlines() if rx.search(ln)]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie of ours is not alive
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def smtp_send(port, sender, rcpts, msg, helo="client.example", source=None, timeout=30):
    """Sends msg (bytes) with smtplib to 127.0.0.1:port from source (an
    address to bind, e.g. 127.0.0.2). Returns the refused recipients dict
    of smtplib.sendmail (raises on a rejection of the whole message)."""
    kw = {"local_hostname": helo, "timeout": timeout}
    if source:
        kw["source_address"] = (source, 0)
    with smtplib.SMTP("127.0.0.1", port, **kw) as s:
        return s.sendmail(sender, rcpts, msg)
