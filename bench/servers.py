"""The servers the benchmark runs, each private, on loopback ports of its own.

Owns: writing each server's configuration into the run's work directory,
starting it in the foreground, waiting until it answers, and stopping it by
PID (SIGTERM, then SIGKILL after a bound). Servers: lmtpscand (maildir or
relay mode, scanners as asked, otherwise the shipped defaults: no
`[clamav] tmp_dir`; run as the shipped unit runs it, with RUNTIME_DIRECTORY
a private directory on a tmpfs, /dev/shm, removed on stop), Dovecot's LMTP server (its own config dir, base_dir,
static passdb/userdb), spamd (-L, 2 children, Bayes off), clamd
(clamav-daemon with the test signatures), amavisd-new (LMTP in, clamd,
embedded SpamAssassin with network tests and Bayes off, forwarding to
smtp-sink; either with Debian's own defaults, conf.d/01-debian and
20-debian_defaults: decoders and banned rules on, or stripped: no
decoders' work beyond its own, nothing banned), rspamd (the offline
configuration of scripts/rspamd-trial.sh) and Postfix's smtp-sink.

Public: free_port(), Server (start/stop/pids), sample_banned_keys(), and
one function per server kind returning a started Server.

Failure modes: a server that exits early or does not answer within its
start bound raises ServerError with the tail of its log.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


class ServerError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(5)
            return s.recv(512).startswith(b"220")
    except OSError:
        return False


def _unix_answers(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(b"PING\n")
            return s.recv(64).startswith(b"PONG")
    except OSError:
        return False


class Server:
    """A started server: name, pid (root of its process tree), port."""

    def __init__(self, name, argv, log_path, port=None, ready=None,
                 start_timeout=30.0, pid_file=None, env=None, cwd=None):
        self.name = name
        self.port = port
        self.log_path = log_path
        self.remove_on_stop = []  # directories removed once it has stopped
        self.pid_file = pid_file
        log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, env=env, cwd=cwd,
                                     start_new_session=True)
        log.close()
        ready = ready or (lambda: _answers(port))
        deadline = time.monotonic() + start_timeout
        while not ready():
            if self.proc.poll() is not None and not pid_file:
                raise ServerError("%s exited with %s:\n%s" %
                                  (name, self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError("%s did not answer within %.0fs:\n%s" %
                                  (name, start_timeout, self.log_tail()))
            time.sleep(0.1)
        self.pid = self.proc.pid
        if pid_file:  # a server that forks itself away (amavisd)
            with open(pid_file) as f:
                self.pid = int(f.read().split()[0])

    def pids(self):
        return [self.pid]

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=20.0):
        self._terminate(timeout)
        for d in self.remove_on_stop:
            shutil.rmtree(d, ignore_errors=True)

    def _terminate(self, timeout):
        pid = getattr(self, "pid", self.proc.pid)
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if pid == self.proc.pid:
                    if self.proc.poll() is not None:
                        return
                elif not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# --- lmtpscand ---------------------------------------------------------

def sample_banned_keys(conf_path):
    """The banned list of the shipped sample configuration: the commented
    block that matches Debian's amavisd-new defaults (the lines after
    "uncomment all five lines"), as "key = value" lines."""
    keys = []
    with open(conf_path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if "uncomment all" in line:
            for nxt in lines[i + 1:]:
                if not nxt.startswith("#") or "=" not in nxt:
                    break
                keys.append(nxt[1:].strip())
            break
    if not any(k.startswith("banned_names") for k in keys):
        raise ServerError("no sample banned list in %s" % conf_path)
    return keys


def lmtpscand(binary, work, *, clamav=False, sigdir=None, spamd_port=None,
              relay_port=None, scan_memory=None, clamav_limits=None, max_sessions=64,
              max_message_size="50M", spamd_user=None, rspamd_port=None,
              banned=None, metrics_port=None, verdict_reuse=None):
    """rspamd_port: [rspamd] on and the policy's spam_engine = rspamd;
    banned: "key = value" lines for the policy (sample_banned_keys());
    metrics_port: metrics_listen on; verdict_reuse: [scan] verdict_reuse.
    Everything else keeps the shipped defaults."""
    os.makedirs(work, exist_ok=True)
    for d in ("spool", "quarantine", "reports", "mail"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    port = free_port()
    spam = bool(spamd_port or rspamd_port)
    cfg = """# written by bench/servers.py
[server]
listen = inet:127.0.0.1:{port}
hostname = lmtpscan-bench.example
max_sessions = {max_sessions}
max_message_size = {max_message_size}
timeout = 300s
scan_timeout = 300s
log = stderr
user = root
spool_dir = {work}/spool
{metrics}
[clamav]
enabled = {clam}
database = {sigdir}
reload_check = 0
{scan_memory}

[spamd]
enabled = {spamd}
address = inet:127.0.0.1:{spamd_port}
timeout = 120s
{rspamd}{reuse}
[deliver]
mode = {mode}
relay = {relay}
maildir = {work}/mail/%d/%n/Maildir
quarantine_dir = {work}/quarantine

[report]
dir = {work}/reports

[policy default]
spam_scan = {spam}
virus_scan = {clam}
spam_block_level = 1000
{engine}{spamd_user}{banned}""".format(
        port=port, work=work, clam="yes" if clamav else "no",
        sigdir=sigdir or work, spam="yes" if spam else "no",
        spamd="yes" if spamd_port else "no", spamd_port=spamd_port or 783,
        mode="relay" if relay_port else "maildir",
        relay="inet:127.0.0.1:%d" % relay_port if relay_port else "",
        scan_memory=("scan_memory = %s\n" % scan_memory if scan_memory else "") +
        ("max_file_size = %s\nmax_scan_size = %s\n" % clamav_limits
         if clamav_limits else ""),
        max_sessions=max_sessions, max_message_size=max_message_size,
        metrics="metrics_listen = inet:127.0.0.1:%d\n" % metrics_port
        if metrics_port else "",
        rspamd="\n[rspamd]\nenabled = yes\naddress = inet:127.0.0.1:%d\ntimeout = 120s\n"
        % rspamd_port if rspamd_port else "",
        reuse="\n[scan]\nverdict_reuse = %s\n" % verdict_reuse if verdict_reuse else "",
        engine="spam_engine = rspamd\n" if rspamd_port else "",
        spamd_user="spamd_user = %s\n" % spamd_user if spamd_user else "",
        banned="".join(k + "\n" for k in (banned or [])))
    conf = os.path.join(work, "lmtpscan.conf")
    _write(conf, cfg)
    # As the shipped unit runs it: systemd's RuntimeDirectory= on /run (a
    # tmpfs) is RUNTIME_DIRECTORY, and with no tmp_dir libclamav's
    # per-scan files go to its clamav/, in memory.
    run_dir = tempfile.mkdtemp(prefix="lmtpscan-bench-run-", dir="/dev/shm")
    env = dict(os.environ, RUNTIME_DIRECTORY=run_dir)
    try:
        s = Server("lmtpscand", [binary, "-f", "-c", conf],
                   os.path.join(work, "lmtpscand.log"), port=port, env=env)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    s.remove_on_stop.append(run_dir)
    s.metrics_port = metrics_port
    return s


# --- Dovecot LMTP ------------------------------------------------------

def dovecot(work):
    os.makedirs(work, exist_ok=True)
    run = os.path.join(work, "run")
    for d in (run, os.path.join(work, "state"), os.path.join(work, "mail")):
        os.makedirs(d, exist_ok=True)
    # mail is stored as nobody: Dovecot refuses to deliver as root
    shutil.chown(os.path.join(work, "mail"), "nobody", "nogroup")
    port = free_port()
    conf = os.path.join(work, "dovecot.conf")
    _write(conf, """# written by bench/servers.py: a private Dovecot, LMTP only
base_dir = {run}
state_dir = {work}/state
instance_name = lmtpscan-bench-{port}
log_path = {work}/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = 1
mail_location = maildir:{work}/mail/%d/%n/Maildir
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={work}/mail/%d/%n
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
""".format(run=run, work=work, port=port))
    return Server("dovecot", ["/usr/sbin/dovecot", "-F", "-c", conf],
                  os.path.join(work, "dovecot.stderr"), port=port)


# --- spamd -------------------------------------------------------------

def sa_siteconfig(work):
    """A SpamAssassin site config dir: Debian's plugin .pre files, local
    tests only, Bayes and auto-whitelisting off. Shared by spamd and
    amavisd's embedded SpamAssassin, so both run the same rules."""
    d = os.path.join(work, "sa-site")
    os.makedirs(d, exist_ok=True)
    for pre in glob.glob("/etc/spamassassin/*.pre"):
        shutil.copy(pre, d)
    _write(os.path.join(d, "local.cf"), """# written by bench/servers.py
use_bayes 0
bayes_auto_learn 0
use_auto_whitelist 0
skip_rbl_checks 1
dns_available no
""")
    return d


def spamd(work, siteconfig, children=2):
    os.makedirs(work, exist_ok=True)
    port = free_port()
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    shutil.chown(home, "nobody", "nogroup")
    argv = ["/usr/sbin/spamd", "-L", "-m", str(children),
            "--min-children=%d" % children, "--min-spare=%d" % children,
            "--max-spare=%d" % children,
            "--listen=127.0.0.1:%d" % port, "--allowed-ips=127.0.0.1",
            "--siteconfigpath=" + siteconfig, "-x", "-u", "nobody",
            "--helper-home-dir=" + home,
            "--pidfile=" + os.path.join(work, "spamd.pid")]

    def ready():
        try:
            r = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(port), "-K"],
                               capture_output=True, timeout=10)
            return r.returncode == 0
        except subprocess.TimeoutExpired:
            return False

    s = Server("spamd", argv, os.path.join(work, "spamd.log"), port=port,
               ready=ready, start_timeout=120)
    return s


# --- clamd -------------------------------------------------------------

def clamd(work, sigdir):
    os.makedirs(work, exist_ok=True)
    sock = os.path.join(work, "clamd.sock")
    conf = os.path.join(work, "clamd.conf")
    _write(conf, """# written by bench/servers.py
LocalSocket {sock}
LocalSocketMode 666
DatabaseDirectory {sigdir}
Foreground yes
LogFile {work}/clamd.log
PidFile {work}/clamd.pid
TemporaryDirectory {work}
MaxThreads 10
SelfCheck 0
# the benchmark sends the same corpus parts again and again, real mail
# does not: no clean-file cache, as lmtpscand's libclamav has none
DisableCache yes
""".format(sock=sock, sigdir=sigdir, work=work))
    s = Server("clamd", ["/usr/sbin/clamd", "-c", conf],
               os.path.join(work, "clamd.stderr"),
               ready=lambda: _unix_answers(sock), start_timeout=60)
    s.sock = sock
    return s


# --- amavisd-new -------------------------------------------------------

DEBIAN_AMAVIS_CONF = ("/etc/amavis/conf.d/01-debian", "/etc/amavis/conf.d/20-debian_defaults")


def amavisd(work, clamd_sock, siteconfig, forward_port, children=2, debian=True):
    """debian: Debian's own defaults (01-debian: its decoders;
    20-debian_defaults: banned file names and types, D_DISCARD for banned
    and virus mail, its spam levels, BerkeleyDB on), then only what a
    private instance needs (paths, ports, logging to a file, checks on,
    local tests only, clamd). Otherwise the stripped configuration: no
    Debian defaults, banned mail passed, BerkeleyDB off."""
    os.makedirs(work, exist_ok=True)
    for d in ("tmp", "db", "var", "quarantine", "home"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    for root, _dirs, _files in os.walk(work):
        shutil.chown(root, "amavis", "amavis")
    # amavisd refuses a config file in a directory it could write to
    etc = os.path.join(work, "etc")
    os.makedirs(etc, exist_ok=True)
    os.chmod(etc, 0o755)
    port = free_port()
    conf = os.path.join(etc, "amavisd.conf")
    pid_file = os.path.join(work, "var", "amavisd.pid")
    _write(conf, r"""# written by bench/servers.py
use strict;
$MYHOME = '{work}';
$TEMPBASE = "$MYHOME/tmp";
$db_home = "$MYHOME/db";
$helpers_home = "$MYHOME/home";
$pid_file = "$MYHOME/var/amavisd.pid";
$lock_file = "$MYHOME/var/amavisd.lock";
$QUARANTINEDIR = "$MYHOME/quarantine";
$daemon_user = 'amavis';
$daemon_group = 'amavis';
$mydomain = 'bench.example';
$myhostname = 'amavis-bench.example';
{debian}$max_servers = {children};
$max_requests = 1000;
$child_timeout = 300;
$inet_socket_bind = '127.0.0.1';
$inet_socket_port = {port};
@inet_acl = qw(127.0.0.1);
$policy_bank{{'MYNETS'}} = {{ }};
$interface_policy{{'{port}'}} = 'LMTPIN';
$policy_bank{{'LMTPIN'}} = {{ protocol => 'LMTP' }};
$forward_method = 'smtp:[127.0.0.1]:{fwd}';
$notify_method = $forward_method;
@local_domains_maps = (['.']);
$DO_SYSLOG = 0;
$LOGFILE = "$MYHOME/amavis.log";
$log_level = 0;
$sa_local_tests_only = 1;
$sa_siteconfigpath = '{site}';
{stripped}@bypass_virus_checks_maps = (0);
@bypass_spam_checks_maps = (0);
@additional_perl_modules = ('Amavis::IO::Zlib');
@av_scanners = (
  ['ClamAV-clamd', \&ask_daemon, ["CONTSCAN {{}}\n", '{clamd}'],
   qr/\bOK$/m, qr/\bFOUND$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND$/m ],
);
@av_scanners_backup = ();
1;
""".format(work=work, children=children, port=port, fwd=forward_port,
           site=siteconfig, clamd=clamd_sock,
           debian="include_config_files(%s);\n$QUARANTINEDIR = \"$MYHOME/quarantine\";\n"
           % ", ".join("'%s'" % f for f in DEBIAN_AMAVIS_CONF) if debian else "",
           stripped="" if debian else STRIPPED_AMAVIS))
    argv = ["/usr/sbin/amavisd", "-c", conf, "foreground"]
    return Server("amavisd", argv, os.path.join(work, "amavisd.stderr"),
                  port=port, start_timeout=120)


STRIPPED_AMAVIS = """$enable_db = 0;
$enable_global_cache = 0;
$enable_dkim_verification = 0;
$enable_dkim_signing = 0;
$sa_mail_body_size_limit = 500*1024;
$sa_tag_level_deflt = -999;
$sa_tag2_level_deflt = 5.0;
$sa_kill_level_deflt = 1000;
$sa_spam_subject_tag = undef;
$final_virus_destiny = D_DISCARD;
$final_banned_destiny = D_PASS;
$final_spam_destiny = D_PASS;
$final_bad_header_destiny = D_PASS;
$virus_admin = undef;
$spam_admin = undef;
"""


# --- rspamd --------------------------------------------------------------

def _rspamd_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            body = b"Subject: ping\r\n\r\nping\r\n"
            s.sendall(b"POST /checkv2 HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) +
                      body)
            s.settimeout(10)
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rspamd(work, trial_script):
    """rspamd with the shipped offline trial configuration
    (scripts/rspamd-trial.sh: the normal worker only, no Redis, network
    modules off), in the foreground; its workers are its children."""
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)
    port = free_port()
    try:
        out = subprocess.run([trial_script, work, str(port)], check=True, timeout=60,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        raise ServerError("rspamd-trial.sh: %s" % e)
    argv = out.stdout.decode().split()
    s = Server("rspamd", argv, os.path.join(work, "rspamd.stderr"), port=port,
               ready=lambda: _rspamd_answers(port), start_timeout=180)
    s.rspamd_log = os.path.join(work, "log", "rspamd.log")
    return s


# --- smtp-sink ---------------------------------------------------------

def smtp_sink(work, lmtp=False):
    os.makedirs(work, exist_ok=True)
    port = free_port()
    argv = ["/usr/sbin/smtp-sink", "-u", "nobody"]
    if lmtp:
        argv.append("-L")
    argv += ["127.0.0.1:%d" % port, "256"]
    return Server("smtp-sink", argv, os.path.join(work, "smtp-sink.log"), port=port)
