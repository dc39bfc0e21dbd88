#!/usr/bin/env python3
"""check-man.py SOURCE_DIR BUILD_DIR PREFIX MANDIR

The manual pages in SOURCE_DIR/man:
  1. `mandoc -T lint -W warning` reports nothing for any of them;
  2. every configuration key of the key tables in SOURCE_DIR/common/*.c
     ("static const struct key_def SECTION_keys[]" with K_*("key", ...)
     entries) is documented in lmtpscan.conf.5 as ".It Cm key" under its
     ".Ss [SECTION]" (".Ss [policy NAME]" for the policy table), and every
     documented key says its default;
  3. `cmake --install BUILD_DIR --component man` into a temporary DESTDIR
     puts each page into PREFIX/MANDIR/manN/.
Prints every problem and exits 1 when there is one, 0 otherwise.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 60


def lint(pages):
    problems = []
    if shutil.which("mandoc") is None:
        return ["mandoc not found: install the Debian package mandoc "
                "(scripts/install-deps.sh)"]
    for page in pages:
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=TIMEOUT)
        out = r.stdout.decode("utf-8", "replace").strip()
        if r.returncode != 0 or out:
            problems.append("mandoc -T lint -W warning %s (exit %d):\n%s"
                            % (os.path.basename(page), r.returncode, out))
    return problems


TABLE = re.compile(r"static\s+const\s+struct\s+key_def\s+(\w+)_keys\s*\[\s*\]\s*=\s*\{(.*?)\};",
                   re.S)
ENTRY = re.compile(r"\bK_\w+\s*\(\s*\"([A-Za-z0-9_]+)\"")


def code_keys(source_dir):
    """{section: set(keys)} from the key tables in common/*.c."""
    keys = {}
    for path in sorted(glob.glob(os.path.join(source_dir, "common", "*.c"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in TABLE.finditer(text):
            keys.setdefault(m.group(1), set()).update(ENTRY.findall(m.group(2)))
    return keys


def documented_keys(conf_page):
    """({section: set(keys)}, [keys without a default]) from the .Ss
    sections and .It Cm items of lmtpscan.conf.5."""
    keys, no_default = {}, []
    section, item, body = None, None, []

    def close_item():
        if section and item and not any("Default" in ln for ln in body):
            no_default.append("[%s] %s" % (section, item))

    with open(conf_page, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for ln in lines:
        if ln.startswith(".Ss ") or ln.startswith(".Sh "):
            close_item()
            item, body = None, []
            m = re.match(r'\.Ss\s+"?\[(\w+)[^\]]*\]"?\s*$', ln)
            section = m.group(1) if m and ln.startswith(".Ss ") else None
            continue
        m = re.match(r"\.It\s+Cm\s+([A-Za-z0-9_]+)\b", ln)
        if m and section:
            close_item()
            item, body = m.group(1), []
            keys.setdefault(section, set()).add(item)
            continue
        if ln.startswith(".It") or ln.startswith(".El"):
            close_item()
            item, body = None, []
            continue
        if item:
            body.append(ln)
    close_item()
    return keys, no_default


def check_keys(source_dir, conf_page):
    code = code_keys(source_dir)
    if not code:
        return ["no key tables (static const struct key_def SECTION_keys[]) found in "
                "common/*.c: update tests/docs/check-man.py to where the keys live"]
    docs, no_default = documented_keys(conf_page)
    problems = []
    for section in sorted(code):
        for key in sorted(code[section] - docs.get(section, set())):
            problems.append("lmtpscan.conf.5 does not document [%s] %s" % (section, key))
    for k in no_default:
        problems.append("lmtpscan.conf.5: %s has no \"Default:\"" % k)
    return problems


def check_install(build_dir, prefix, mandir, pages):
    tmp = tempfile.mkdtemp(prefix="lmtpscan-man-")
    try:
        env = dict(os.environ, DESTDIR=os.path.join(tmp, "root"))
        r = subprocess.run(["cmake", "--install", build_dir, "--component", "man",
                            "--prefix", prefix], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT)
        if r.returncode != 0:
            return ["cmake --install --component man failed:\n"
                    + r.stdout.decode("utf-8", "replace")]
        problems = []
        root = os.path.join(tmp, "root")
        for page in pages:
            name = os.path.basename(page)
            want = os.path.join(prefix, mandir, "man" + name.rsplit(".", 1)[1], name)
            got = root + want
            if not os.path.isfile(got):
                problems.append("not installed: %s" % want)
            else:
                with open(got, "rb") as a, open(page, "rb") as b:
                    if a.read() != b.read():
                        problems.append("installed %s differs from man/%s" % (want, name))
        return problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    source_dir, build_dir, prefix, mandir = sys.argv[1:]
    pages = sorted(glob.glob(os.path.join(source_dir, "man", "*.[1-9]")))
    names = [os.path.basename(p) for p in pages]
    problems = []
    for want in ("lmtpscand.8", "lmtpscan.8", "lmtpscan.conf.5"):
        if want not in names:
            problems.append("missing page man/%s" % want)
    problems += lint(pages)
    conf = os.path.join(source_dir, "man", "lmtpscan.conf.5")
    if os.path.exists(conf):
        problems += check_keys(source_dir, conf)
    problems += check_install(build_dir, prefix, mandir, pages)
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("man pages: %s lint clean, every configuration key documented, installed"
          % ", ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
