"""The reference server against an attacker and an unlucky client: each test builds the state
for real on a live server (raw sockets, concurrent posts, a moved clock).

Was: a tool call with more than 4,000 characters of arguments was stored cut mid-JSON and made
every admin query-log window that held it answer 500; 40 wrong current passwords gave 40 × 403
and no 429; four concurrent Allow posts for one consent gave four codes and four grants; a
partial HTTP request was never timed out (300 held open for 40 s); the database was 0644 in
0755 folders; tool periods 0000 and 9999-Q4 gave an unexplained tool error; a web session
cookie (which every loopback port receives) lasted 12 hours however idle, and survived a new
sign-in.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest
from tests.server.live import ADMIN, ANALYST, PASSWORD, LiveServer, wait_for
from tests.server.test_consent_pages import CSRF, login_form, open_consent, register, start
from tests.server.test_mcp_tools import error_text, run_calls

from dot_setup.server.config import Limits
from dot_setup.server.headless import HeadlessBrowser

# -- the query log ---------------------------------------------------------------------------------


def test_long_tool_arguments_never_break_the_query_log(fresh_server: LiveServer) -> None:
    live = fresh_server
    pat = live.mcp_token(ANALYST)
    long_period = "2025-" + "Q" * 6000 + '"\\'
    (result,) = run_calls(live, pat, [("total_sales", {"period": long_period})])
    assert "unknown period" in error_text(result)
    with sqlite3.connect(live.db_path) as db:  # a row cut mid-JSON by an older version
        db.execute(
            "INSERT INTO query_log (ts, user_id, email, client_id, via, tool, arguments, allowed,"
            " rows, duration_ms) SELECT ts, user_id, email, client_id, via, tool, ?, allowed,"
            " rows, duration_ms FROM query_log LIMIT 1",
            ('{"period": "2025-QQQQ',),
        )
    admin = live.sign_in(ADMIN)["access_token"]
    resp = live.api("GET", "/api/admin/query-log?limit=10", admin)
    assert resp.status_code == 200, resp.text
    entries = resp.json()["entries"]
    stored = [e["arguments"] for e in entries]
    assert all(isinstance(a, dict) for a in stored)
    truncated = [a for a in stored if a.get("_truncated")]
    assert len(truncated) == 2 and max(a["_chars"] for a in truncated) > 6000
    with sqlite3.connect(live.db_path) as db:
        for (text,) in db.execute("SELECT arguments FROM query_log"):
            assert len(text) <= 4000
    with HeadlessBrowser(ADMIN, PASSWORD) as browser:
        browser.login(live.origin + "/admin/query-log")
        page = browser.http.get(live.origin + "/admin/query-log")
        assert page.status_code == 200 and "_truncated" in page.text


# -- password checks count against the login limit -------------------------------------------------


def test_current_password_checks_are_rate_limited(tmp_path: Path) -> None:
    with LiveServer(tmp_path / "srv", limits=Limits(login=5)) as live:
        access = live.sign_in(ANALYST)["access_token"]

        def change(current: str) -> httpx2.Response:
            return live.api(
                "POST",
                "/api/account/password",
                access,
                json={"current_password": current, "new_password": "a-new-password-1"},
            )

        codes = [change(f"wrong-{i}").status_code for i in range(40)]
        assert codes[:4] == [403] * 4  # the sign-in above used one attempt of the five
        assert set(codes[4:]) == {429}
        blocked = change(PASSWORD)  # the right password waits too
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        # the login form shares the account's limit: guessing cannot move there
        with httpx2.Client(follow_redirects=False, timeout=15) as tab:
            csrf = login_form(tab, live.origin)
            resp = tab.post(
                live.origin + "/login",
                data={"csrf": csrf, "next": "/", "email": ANALYST, "password": PASSWORD},
            )
            assert resp.status_code == 429
        live.clock.advance(61)
        assert change(PASSWORD).status_code == 200


def test_the_password_page_is_rate_limited_too(tmp_path: Path) -> None:
    with (
        LiveServer(tmp_path / "srv", limits=Limits(login=3)) as live,
        HeadlessBrowser(ADMIN, PASSWORD) as browser,
    ):
        browser.login(live.origin + "/settings/password")
        codes = []
        for i in range(6):
            page = browser.http.get(live.origin + "/settings/password")
            csrf = CSRF.search(page.text)
            assert csrf, page.text
            resp = browser.http.post(
                live.origin + "/settings/password",
                data={
                    "csrf": csrf.group(1),
                    "current_password": f"wrong-{i}",
                    "new_password": "a-new-password-1",
                },
            )
            codes.append(resp.status_code)
        # the login above used one attempt of the three
        assert codes == [200, 200, 429, 429, 429, 429]
        assert "Too many sign-in attempts" in resp.text


# -- one consent, one code -------------------------------------------------------------------------


def _concurrently(n: int, fn: object) -> list[httpx2.Response]:
    barrier = threading.Barrier(n)
    results: list[httpx2.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        resp = fn()  # type: ignore[operator]
        with lock:
            results.append(resp)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_allows_give_one_code_and_one_grant(fresh_server: LiveServer) -> None:
    live = fresh_server
    with httpx2.Client(follow_redirects=False, timeout=15) as http:
        cid = register(http, live.origin, "Race app", ["http://127.0.0.1:9/cb"])
        url = start(http, live.origin, cid, "http://127.0.0.1:9/cb")
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        page = open_consent(browser, url)
        csrf, r = CSRF.search(page.text), re.search(r"name='r' value='([^']*)'", page.text)
        assert csrf and r
        cookies = dict(browser.http.cookies)

        def allow() -> httpx2.Response:
            with httpx2.Client(follow_redirects=False, timeout=15, cookies=cookies) as tab:
                return tab.post(
                    live.origin + "/consent",
                    data={"csrf": csrf.group(1), "r": r.group(1), "action": "allow"},
                )

        results = _concurrently(4, allow)
    codes = sorted(resp.status_code for resp in results)
    assert codes == [303, 400, 400, 400], [resp.text[:200] for resp in results]
    assert sum("code=" in resp.headers.get("location", "") for resp in results) == 1
    assert all("already completed" in resp.text for resp in results if resp.status_code == 400)
    with sqlite3.connect(live.db_path) as db:
        grants = db.execute("SELECT COUNT(*) FROM grants WHERE client_id = ?", (cid,)).fetchone()
        codes_issued = db.execute(
            "SELECT COUNT(*) FROM auth_codes WHERE client_id = ?", (cid,)
        ).fetchone()
    assert grants == (1,) and codes_issued == (1,)


def test_concurrent_device_approvals_give_one_grant(fresh_server: LiveServer) -> None:
    live = fresh_server
    with httpx2.Client(timeout=15) as http:
        cid = register(http, live.origin, "Device race", ["http://127.0.0.1:9/cb"])
        device = http.post(
            live.origin + "/device_authorization",
            data={"client_id": cid, "scope": "mcp", "resource": live.origin},
        )
        assert device.status_code == 200, device.text
        verify = device.json()["verification_uri_complete"]
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        page = browser.http.get(verify)
        if "Sign in to continue" in page.text:
            browser.login(verify)
            page = browser.http.get(verify)
        csrf = CSRF.search(page.text)
        code = re.search(r"name='user_code' value='([^']*)'", page.text)
        assert csrf and code, page.text
        cookies = dict(browser.http.cookies)

        def allow() -> httpx2.Response:
            with httpx2.Client(follow_redirects=False, timeout=15, cookies=cookies) as tab:
                return tab.post(
                    live.origin + "/device",
                    data={"csrf": csrf.group(1), "user_code": code.group(1), "action": "allow"},
                )

        results = _concurrently(4, allow)
    assert sum("Device connected" in resp.text for resp in results) == 1
    refused = ("Already answered", "Unknown or expired code")  # claimed first, or seen claimed
    assert sum(any(r in resp.text for r in refused) for resp in results) == 3
    with sqlite3.connect(live.db_path) as db:
        grants = db.execute("SELECT COUNT(*) FROM grants WHERE client_id = ?", (cid,)).fetchone()
    assert grants == (1,)


# -- requests that never finish ------------------------------------------------------------------


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """The server closed the connection (whatever it answered before: a 401 to a half body)."""
    deadline = time.monotonic() + within
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if sock.recv(65536) == b"":
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return False


@pytest.mark.parametrize(
    "partial",
    [
        b"GET /healthz HT",  # half a request line
        b"GET /healthz HTTP/1.1\r\nHost: {host}\r\n",  # headers without their end
        b"POST /ai/mcp HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n{",  # half a body
    ],
    ids=["request-line", "headers", "body"],
)
def test_a_partial_request_is_timed_out(tmp_path: Path, partial: bytes) -> None:
    with LiveServer(tmp_path / "srv", limits=Limits(request=1.0)) as live:
        socks = []
        host = f"127.0.0.1:{live.config.port}".encode()
        for _ in range(50):
            sock = socket.create_connection((live.config.host, live.config.port), timeout=5)
            sock.sendall(partial.replace(b"{host}", host))
            socks.append(sock)
        started = time.monotonic()
        try:
            assert all(_closed_by_server(s, 5) for s in socks)
            assert time.monotonic() - started < 4
            # a whole request, sent slowly but within the deadline, is answered
            with socket.create_connection((live.config.host, live.config.port)) as ok:
                for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: " + host + b"\r\n", b"\r\n"):
                    ok.sendall(piece)
                    time.sleep(0.3)
                ok.settimeout(5)
                assert ok.recv(100).startswith(b"HTTP/1.1 200")
        finally:
            for s in socks:
                s.close()


# -- periods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["0000", "9999-Q4", "9999", "9999-12"])
def test_a_period_outside_the_calendar_is_explained(fresh_server: LiveServer, period: str) -> None:
    pat = fresh_server.mcp_token(ANALYST)
    (result,) = run_calls(fresh_server, pat, [("total_sales", {"period": period})])
    text = error_text(result)
    assert "outside the calendar" in text and "YYYY-Qn" in text


# -- the browser session ------------------------------------------------------------------------


def _settings(client: httpx2.Client, origin: str) -> int:
    return client.get(origin + "/settings/integrations").status_code


def test_an_idle_session_ends_and_a_new_sign_in_ends_the_old_one(fresh_server: LiveServer) -> None:
    live = fresh_server
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        browser.login(live.origin + "/settings/integrations")
        assert _settings(browser.http, live.origin) == 200
        for _ in range(3):  # in use every 20 minutes: still signed in after an hour
            live.clock.advance(20 * 60)
            assert _settings(browser.http, live.origin) == 200
        leaked = dict(browser.http.cookies)  # e.g. what an OAuth client's callback received
        # The user signs in again in this browser (a login form opened in another tab).
        with httpx2.Client(follow_redirects=False, timeout=15) as tab:
            csrf = login_form(tab, live.origin)
            login_cookie = dict(tab.cookies)
    with httpx2.Client(
        follow_redirects=False, timeout=15, cookies={**leaked, **login_cookie}
    ) as same_browser:
        resp = same_browser.post(
            live.origin + "/login",
            data={"csrf": csrf, "next": "/", "email": ANALYST, "password": PASSWORD},
        )
        assert resp.status_code == 303 and resp.cookies["dot_session"] != leaked["dot_session"]
        with httpx2.Client(follow_redirects=False, timeout=15, cookies=leaked) as replay:
            assert _settings(replay, live.origin) != 200
        assert _settings(same_browser, live.origin) == 200
        live.clock.advance(31 * 60)  # idle for 31 minutes
        assert _settings(same_browser, live.origin) != 200
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        browser.login(live.origin + "/settings/integrations")
        for _ in range(40):  # however busy, a session ends 12 hours after the sign-in
            live.clock.advance(20 * 60)
            if _settings(browser.http, live.origin) != 200:
                break
        assert 11 * 3600 < 40 * 20 * 60 and _settings(browser.http, live.origin) != 200


# -- files ----------------------------------------------------------------------------------------


def test_the_database_and_its_folders_are_private(tmp_path: Path) -> None:
    """`dot-setup serve` as a user starts it: folders 0700, database, -wal and -shm 0600."""
    home = tmp_path / "home"
    ready = tmp_path / "ready.json"
    env = {
        **os.environ,
        "DOT_SETUP_HOME": str(home),
        "DOT_SETUP_STATE_DIR": str(tmp_path / "state"),
        "DOT_SERVE_DEMO_PASSWORD": PASSWORD,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dot_setup",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--quiet",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(ready.exists, 30), proc.stderr.read() if proc.poll() is not None else ""  # type: ignore[union-attr]
        origin = json.loads(ready.read_text())["regions"]["us"]["origin"]
        assert httpx2.get(origin + "/healthz", timeout=10).status_code == 200
        with HeadlessBrowser(ANALYST, PASSWORD) as browser:  # some writes: WAL and SHM exist
            browser.login(origin + "/settings/integrations")
        folder = home / ".local" / "share" / "dot-setup"
        db = next(folder.rglob("dot.db"))
        for path in (db, db.with_name("dot.db-wal"), db.with_name("dot.db-shm")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        here = db.parent
        while here != home:
            assert stat.S_IMODE(here.stat().st_mode) == 0o700, here
            here = here.parent
    finally:
        proc.terminate()
        proc.wait(15)
