#!/usr/bin/env python3
"""`lmtpscan web` (SPEC section 14) in a real browser: Debian's chromium,
headless, driven through chromium-driver by python3-selenium. lmtpscand
with the test signatures quarantines a virus, a mail whose Subject and
body hold <script>, <img src=x onerror=...> and broken UTF-8, and one to
delete. The admin logs in (a wrong password first), filters the list,
opens the hostile message (shown as text: no script or image element),
releases it to one recipient (found in that Maildir), deletes one; a
digest link releases to its recipient. Refused: a POST without the CSRF
token, a forged and an expired link, a virus by link. Screenshots (also a
phone-sized one) go to LMTPSCAN_SCREENSHOT_DIR (default
BUILD_DIR/web-screenshots) and must be non-empty PNGs.
"""

import os
import sys

try:
    import selenium  # noqa: F401
except ImportError:
    # python3-selenium is Debian's: run under Debian's interpreter
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("python3-selenium not installed: skipped")
    sys.exit(77)

import base64
import hashlib
import hmac
import http.client
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtpscan_harness as h  # noqa: E402

PASSWORD = "correct horse battery staple"
STATE = {}
HOSTILE_SUBJECT = (b"<script>alert(1)</script> <img src=x onerror=alert(2)> "
                   b"broken \xff\xfe\xc3( end")
HOSTILE_BODY = (b"<html><body><script>document.title='pwned'</script>"
                b"<img src=x onerror=\"document.title='pwned'\">"
                b"bad bytes \xff\xc3\x28 here</body></html>\n")


def tool():
    return os.environ.get("LMTPSCAN_ADMIN") or os.path.join(h.BUILD_DIR, "admin", "lmtpscan")


def shots_dir():
    d = os.environ.get("LMTPSCAN_SCREENSHOT_DIR") or os.path.join(h.BUILD_DIR, "web-screenshots")
    os.makedirs(d, exist_ok=True)
    return d


def setUpModule():
    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/mkpasswd"):
        if not os.access(exe, os.X_OK):
            raise unittest_skip("%s not installed" % exe)
    STATE["tmp"] = tempfile.mkdtemp(prefix="lmtpscan-web-")
    STATE["db"] = h.make_test_signatures(STATE["tmp"])
    STATE["hash"] = subprocess.run(["mkpasswd", "-m", "yescrypt", PASSWORD], check=True,
                                   capture_output=True, text=True).stdout.strip()


def unittest_skip(why):
    import unittest
    return unittest.SkipTest(why)


def tearDownModule():
    shutil.rmtree(STATE.get("tmp", ""), ignore_errors=True)


def nested(levels, subject, rcpt, body=b"x\n"):
    att = base64.encodebytes(h.EICAR.encode())
    inner = (b"Content-Type: application/octet-stream; name=\"e.com\"\n"
             b"Content-Transfer-Encoding: base64\n\n" + att)
    for n in range(levels):
        b = b"b%d" % n
        inner = (b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\n\n--" + b + b"\n"
                 b"Content-Type: text/html\n\n" + body + b"\n--" + b + b"\n" + inner
                 + b"\n--" + b + b"--\n")
    msg = (b"From: Mallory <mallory@evil.test>\nTo: <" + rcpt.encode() + b">\nSubject: "
           + subject + b"\nDate: Sat, 05 Dec 2026 10:00:00 +0000\n"
           b"Message-ID: <n@evil.test>\nMIME-Version: 1.0\n" + inner)
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def token(key, mail_id, rcpt, expiry):
    body = mail_id.encode() + struct.pack(">q", expiry) + rcpt.encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


class WebTest(h.DaemonTestCase):
    def daemon_args(self):
        self.top = tempfile.mkdtemp(prefix="case-", dir=STATE["tmp"])
        self.web_port = h.free_port()
        self.key_path = os.path.join(self.top, "web.key")
        return {"overrides": {
            "clamav": {"enabled": "yes", "database": STATE["db"], "reload_check": "0",
                       "max_recursion": "8"},
            "web": {"listen": "inet:127.0.0.1:%d" % self.web_port,
                    "url": "http://127.0.0.1:%d" % self.web_port,
                    "admin_password_hash": STATE["hash"], "secret_file": self.key_path},
        }, "extra": "[policy default]\nunchecked_action = quarantine\n"}

    def send(self, rcpts, msg):
        with self.d.lmtp() as c:
            _m, _r, replies = h.lmtp_send(c, "mallory@evil.test", rcpts, msg)
        for r in replies:
            self.assertRegex(r, r"^250 2\.7\.0 <\S+> quarantined " + h.MAIL_ID_RE, self._ctx())
        return replies[0].rsplit(" ", 1)[1]

    def start_web(self):
        self.web_log = open(os.path.join(self.top, "web.log"), "wb")
        self.web = subprocess.Popen([tool(), "-c", self.d.conf_path, "web"],
                                    stdout=self.web_log, stderr=self.web_log)
        self.addCleanup(self.stop_web)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.web_port), 1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.web.poll() is not None:
                    self.fail("lmtpscan web did not start: " + self.log())
                time.sleep(0.05)

    def stop_web(self):
        if self.web.poll() is None:
            self.web.terminate()
            try:
                self.web.wait(10)
            except subprocess.TimeoutExpired:
                self.web.kill()
                self.web.wait()
        if not self.web_log.closed:
            self.web_log.close()

    def log(self):
        with open(os.path.join(self.top, "web.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def browser(self):
        for attempt in range(3):  # a busy machine: chromium may fail to start once
            o = Options()
            profile = tempfile.mkdtemp(prefix="chromium-", dir=self.top)
            for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                      "--disable-dev-shm-usage", "--window-size=1200,900",
                      "--user-data-dir=" + profile):
                o.add_argument(a)
            o.binary_location = "/usr/bin/chromium"
            try:
                drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
                break
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(1)
        drv.set_page_load_timeout(30)
        self.addCleanup(drv.quit)
        return drv

    def shot(self, drv, name):
        path = os.path.join(shots_dir(), name + ".png")
        self.assertTrue(drv.save_screenshot(path))
        with open(path, "rb") as f:
            data = f.read()
        self.assertGreater(len(data), 1000, path)
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.web_port, path)

    def post(self, path, fields, cookie=None):
        c = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        c.request("POST", path, urllib.parse.urlencode(fields), headers)
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        c.close()
        return r.status, body

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        headers = dict(r.getheaders())
        c.close()
        return r.status, body, headers

    def test_web(self):
        virus_id = self.send(["bob@example.test"], h.eicar_message("a virus"))
        hostile_id = self.send(["bob@example.test", "carol@example.test"],
                               nested(30, HOSTILE_SUBJECT, "bob@example.test", HOSTILE_BODY))
        delete_id = self.send(["dave@example.test"], nested(30, b"delete me", "dave@example.test"))
        self.start_web()

        # headers of every page: a strict CSP, no caching, no sniffing
        status, body, headers = self.get("/list")
        self.assertEqual(status, 200)
        csp = headers.get("Content-Security-Policy", "")
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("script-src", csp)
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
        self.assertIn("HttpOnly", headers.get("Set-Cookie", ""))
        self.assertIn("SameSite=Strict", headers.get("Set-Cookie", ""))
        self.assertIn("Log in", body)  # not logged in: the login form

        drv = self.browser()
        drv.get(self.url("/list"))
        self.shot(drv, "login")
        # a wrong password: refused, slowed, logged
        t0 = time.monotonic()
        drv.find_element(By.NAME, "password").send_keys("wrong")
        drv.find_element(By.CSS_SELECTOR, "form.login button").click()
        WebDriverWait(drv, 10).until(lambda d: "Wrong password" in d.page_source)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        self.assertIn("login failed", self.log())
        # the right one
        drv.find_element(By.NAME, "password").send_keys(PASSWORD)
        drv.find_element(By.CSS_SELECTOR, "form.login button").click()
        WebDriverWait(drv, 10).until(lambda d: d.current_url.endswith("/list"))
        rows = drv.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(len(rows), 3, drv.page_source)
        self.shot(drv, "list")

        # filters
        drv.find_element(By.NAME, "subject").send_keys("delete")
        drv.find_element(By.CSS_SELECTOR, "form.filters button").click()
        WebDriverWait(drv, 10).until(lambda d: "subject=delete" in d.current_url)
        self.assertEqual(len(drv.find_elements(By.CSS_SELECTOR, "tbody tr")), 1,
                         drv.current_url + drv.page_source)
        drv.get(self.url("/list?verdict=virus"))
        rows = drv.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(len(rows), 1)
        self.assertIn("a virus", rows[0].text)
        drv.get(self.url("/list?rcpt=carol"))
        self.assertEqual(len(drv.find_elements(By.CSS_SELECTOR, "tbody tr")), 1)

        # the hostile message, shown as text
        drv.find_element(By.CSS_SELECTOR, "tbody tr a").click()
        WebDriverWait(drv, 10).until(lambda d: "/message?id=" in d.current_url)
        self.assertIn(hostile_id, drv.page_source)
        self.assertEqual(drv.find_elements(By.TAG_NAME, "script"), [])
        self.assertEqual(drv.find_elements(By.TAG_NAME, "img"), [])
        self.assertNotEqual(drv.title, "pwned")
        text = drv.find_element(By.TAG_NAME, "main").text
        self.assertIn("<script>alert(1)</script>", text)
        self.assertIn("<img src=x onerror=alert(2)>", text)
        self.assertIn("<script>document.title='pwned'</script>", text)
        self.assertIn("\ufffd", text)  # broken UTF-8 shown as U+FFFD
        header = drv.find_element(By.CSS_SELECTOR, "pre.header").text
        self.assertIn("\nSubject: <script>", header)  # line breaks kept, CRs gone
        self.shot(drv, "message")
        # release to bob only
        for box in drv.find_elements(By.CSS_SELECTOR, "input[name=rcpt]"):
            if box.get_attribute("value") == "carol@example.test":
                box.click()
        drv.find_element(By.CSS_SELECTOR, "button[value=release]").click()
        WebDriverWait(drv, 30).until(lambda d: "Released." in d.page_source)
        self.assertIn("bob@example.test: 250", drv.page_source)
        self.assertEqual(len(self.d.stored("bob@example.test")), 1)
        self.assertEqual(self.d.stored("carol@example.test"), [])
        self.shot(drv, "released")

        # delete one
        drv.get(self.url("/message?id=" + delete_id))
        drv.find_element(By.CSS_SELECTOR, "button[value=delete]").click()
        WebDriverWait(drv, 10).until(lambda d: d.current_url.endswith("/list"))
        self.assertEqual(len(drv.find_elements(By.CSS_SELECTOR, "tbody tr")), 2)
        self.assertFalse(os.path.exists(os.path.join(self.d.quarantine, delete_id + ".eml")))

        # a POST without the CSRF token, with the admin's cookie: refused
        cookie = "lmtpscan_session=" + drv.get_cookie("lmtpscan_session")["value"]
        status, body = self.post("/release", {"id": hostile_id, "rcpt": "carol@example.test"},
                                 cookie)
        self.assertEqual(status, 403)
        status, body = self.post("/delete", {"id": virus_id, "csrf": "x" * 43}, cookie)
        self.assertEqual(status, 403)
        self.assertTrue(os.path.exists(os.path.join(self.d.quarantine, virus_id + ".eml")))
        self.assertEqual(self.d.stored("carol@example.test"), [])
        self.assertIn("CSRF", self.log())

        # bounded requests: a 20 KB form is refused, a 100 KB header too
        status, _ = self.post("/login", {"password": "x" * 20000, "csrf": "y"})
        self.assertEqual(status, 413)
        c = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=30)
        try:
            c.request("GET", "/list", headers={"X-Big": "z" * 100000})
            self.assertGreaterEqual(c.getresponse().status, 400)
        except (ConnectionError, http.client.HTTPException):
            pass  # closed without a reply: refused as well
        finally:
            c.close()

        # a flood of new browsers does not log the admin out
        for _ in range(300):
            self.get("/login")
        drv.get(self.url("/list"))
        self.assertEqual(len(drv.find_elements(By.CSS_SELECTOR, "tbody tr")), 2)

        # phone-sized list
        drv.set_window_size(390, 844)
        drv.get(self.url("/list"))
        self.shot(drv, "list-phone")
        width = drv.execute_script("return document.documentElement.scrollWidth")
        self.assertLessEqual(width, 400)

        # digest links
        with open(self.key_path, "rb") as f:
            key = f.read().rstrip(b"\n")
        now = int(time.time())
        good = token(key, hostile_id, "carol@example.test", now + 3600)
        forged = token(b"another key of thirty-two bytes!", hostile_id, "carol@example.test",
                       now + 3600)
        expired = token(key, hostile_id, "carol@example.test", now - 10)
        virus = token(key, virus_id, "bob@example.test", now + 3600)
        for t, word in ((forged, "invalid"), (expired, "expired"), (virus, "virus"),
                        (good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1], "invalid")):
            status, body, _ = self.get("/release?t=" + t)
            self.assertEqual(status, 403, t)
            self.assertIn(word, body)
        self.assertIn("release link refused: forged", self.log())
        self.assertIn("release link refused: expired", self.log())

        link = self.browser()
        link.get(self.url("/release?t=" + virus))
        self.assertIn("cannot be released by a link", link.page_source)
        self.assertEqual(link.find_elements(By.TAG_NAME, "button"), [])
        link.get(self.url("/release?t=" + good))
        self.assertIn("carol@example.test", link.page_source)
        self.shot(link, "link")
        link.find_element(By.CSS_SELECTOR, "main form button").click()
        WebDriverWait(link, 30).until(lambda d: "Released." in d.page_source)
        self.assertEqual(len(self.d.stored("carol@example.test")), 1)
        # the virus by a forged POST to the link action: refused as well
        cookie = "lmtpscan_session=" + link.get_cookie("lmtpscan_session")["value"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', link.page_source)
        if csrf is None:
            link.get(self.url("/release?t=" + good))
            csrf = re.search(r'name="csrf" value="([^"]+)"', link.page_source)
        status, body = self.post("/release-link", {"t": virus, "csrf": csrf.group(1)}, cookie)
        self.assertEqual(status, 403)
        self.assertEqual(len(self.d.stored("bob@example.test")), 1)
        # a link gives no admin rights
        status, body = self.post("/delete", {"id": virus_id, "csrf": csrf.group(1)}, cookie)
        self.assertEqual(status, 403)
        self.assertTrue(os.path.exists(os.path.join(self.d.quarantine, virus_id + ".eml")))

        # SIGTERM: a clean exit (and no sanitizer report in a sanitized build)
        self.stop_web()
        self.assertEqual(self.web.returncode, 0, self.log())
        self.assertNotIn("Sanitizer", self.log())
        self.assertNotIn("runtime error", self.log())


if __name__ == "__main__":
    h.main()
