"""A person signs in, approves and generates a token in real Chromium.

Was: every form failed in a real browser ("The sign-in form expired"): the pages sent
`Referrer-Policy: no-referrer`, under which Chromium sends `Origin: null` on a same-origin
POST, and the server refused it. No test noticed, because every test posted the forms with an
HTTP client that sent the Origin a browser does not.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from tests.server.live import ADMIN, ANALYST, PASSWORD, VIEWER, LiveServer, wait_for

from .conftest import Browser


class Callback:
    """A native app's loopback listener: it records what the browser is sent back with."""

    def __init__(self) -> None:
        received: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                body = b"<!doctype html><title>Signed in</title><h1>You can close this tab</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(tmp_path / "dot-server") as server:
        yield server


@pytest.fixture
def callback() -> Iterator[Callback]:
    cb = Callback()
    yield cb
    cb.close()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def _authorize_url(live: LiveServer, redirect_uri: str) -> tuple[str, str, str]:
    """Register a client as an AI app would; (authorize URL, client id, PKCE verifier)."""
    reg = httpx2.post(
        live.origin + "/register",
        json={
            "client_name": "Chromium test app",
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
        },
        timeout=15,
    )
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    verifier, challenge = _pkce()
    url = httpx2.URL(live.origin + "/authorize").copy_merge_params(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "st-123",
            "scope": "mcp",
            "resource": live.origin,
        }
    )
    return str(url), client_id, verifier


def _login(browser: Browser, live: LiveServer, email: str = ANALYST) -> None:
    browser.open(live.origin + "/login")
    browser.shot("login-page")
    browser.sign_in(email, PASSWORD)
    browser.wait_for(lambda: "Settings" in browser.title())


def test_login(chromium: Browser, live: LiveServer) -> None:
    _login(chromium, live)
    chromium.shot("signed-in")
    assert f"Signed in as {ANALYST}" in chromium.text()
    assert "form expired" not in chromium.text()


def test_sign_in_to_continue_then_allow(
    chromium: Browser, live: LiveServer, callback: Callback
) -> None:
    url, client_id, verifier = _authorize_url(live, callback.uri)
    chromium.open(url)
    chromium.shot("sign-in-to-continue")
    assert "You need to be signed into Dot first" in chromium.text()
    first = chromium.driver.current_window_handle
    chromium.click("Open Dot Login")  # opens the login in a new tab, as the guide says
    chromium.wait_for(lambda: len(chromium.driver.window_handles) == 2)
    chromium.driver.switch_to.window(next(h for h in chromium.driver.window_handles if h != first))
    chromium.wait_for(lambda: "Sign in" in chromium.title())
    chromium.sign_in(ANALYST, PASSWORD)
    chromium.wait_for(lambda: "Allow access" in chromium.title())
    chromium.shot("signed-in-tab")
    chromium.driver.close()
    chromium.driver.switch_to.window(first)
    chromium.click("Continue")
    chromium.wait_for(lambda: "Allow access" in chromium.title())
    chromium.shot("consent")
    assert "Chromium test app" in chromium.text() and ANALYST in chromium.text()
    chromium.click("Allow")
    assert wait_for(lambda: bool(callback.received), 15), "the browser never came back"
    chromium.wait_for(lambda: "You can close this tab" in chromium.text())
    chromium.shot("back-at-the-app")
    params = callback.received[0]
    assert params["state"] == "st-123" and params["iss"] == live.origin
    tokens = httpx2.post(
        live.origin + "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": callback.uri,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": live.origin,
        },
        timeout=15,
    )
    assert tokens.status_code == 200, tokens.text
    me = live.api("GET", "/api/me", tokens.json()["access_token"])
    assert me.status_code == 200 and me.json()["email"] == ANALYST


def test_deny(chromium: Browser, live: LiveServer, callback: Callback) -> None:
    _login(chromium, live)
    url, _client_id, _verifier = _authorize_url(live, callback.uri)
    chromium.open(url)
    chromium.wait_for(lambda: "Allow access" in chromium.title())
    chromium.shot("consent")
    chromium.click("Deny")
    assert wait_for(lambda: bool(callback.received), 15)
    chromium.shot("denied")
    assert callback.received[0]["error"] == "access_denied"
    assert "code" not in callback.received[0]


def test_device_approval(chromium: Browser, live: LiveServer) -> None:
    reg = httpx2.post(
        live.origin + "/register",
        json={
            "client_name": "A terminal",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        },
        timeout=15,
    )
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    start = httpx2.post(
        live.origin + "/device_authorization",
        data={"client_id": client_id, "scope": "mcp", "resource": live.origin},
        timeout=15,
    ).json()
    chromium.open(start["verification_uri_complete"])
    chromium.shot("device-sign-in-to-continue")
    assert "Sign in to continue" in chromium.title()
    chromium.open(
        live.origin
        + "/login?next="
        + httpx2.URL(start["verification_uri_complete"]).raw_path.decode()
    )
    chromium.sign_in(ANALYST, PASSWORD)
    chromium.wait_for(lambda: "Allow access" in chromium.title())
    chromium.shot("device-consent")
    assert start["user_code"] in chromium.text()
    chromium.click("Allow")
    chromium.wait_for(lambda: "Device connected" in chromium.text())
    chromium.shot("device-connected")
    tokens = httpx2.post(
        live.origin + "/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": start["device_code"],
            "client_id": client_id,
        },
        timeout=15,
    )
    assert tokens.status_code == 200, tokens.text
    assert live.api("GET", "/api/me", tokens.json()["access_token"]).status_code == 200


def test_generate_mcp_token_and_use_it(chromium: Browser, live: LiveServer) -> None:
    _login(chromium, live)
    chromium.click("Generate MCP Token")
    chromium.wait_for(lambda: "Your new MCP token" in chromium.title())
    chromium.shot("token-shown-once")
    token = chromium.by_css(".token").text.strip()
    assert token.startswith("dot_mcp_us_")
    info = live.api("GET", "/api/token-info", token)
    assert info.status_code == 200 and info.json()["kind"] == "mcp_token"
    mcp = httpx2.post(
        live.mcp_url,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "chromium-test", "version": "1"},
            },
        },
        timeout=15,
    )
    assert mcp.status_code == 200, mcp.text
    chromium.driver.refresh()  # the token is not shown again
    chromium.open(live.origin + "/settings/integrations")
    assert token not in chromium.driver.page_source


def test_the_other_forms(chromium: Browser, live: LiveServer) -> None:
    """API token, password change, sign out, and an admin deleting a token: every form."""
    _login(chromium, live, ADMIN)
    chromium.click("Generate MCP Token")
    chromium.wait_for(lambda: "Your new MCP token" in chromium.title())
    chromium.open(live.origin + "/settings/integrations")
    chromium.click("Create API token")
    chromium.wait_for(lambda: "Your new API token" in chromium.title())
    chromium.shot("api-token")
    assert chromium.by_css(".token").text.startswith("dot_api_us_")
    chromium.open(live.origin + "/admin/tokens")
    chromium.shot("admin-tokens")
    assert ADMIN in chromium.text()
    chromium.click("Delete")
    chromium.wait_for(lambda: "MCP tokens" in chromium.title())
    chromium.shot("admin-deleted")
    assert "No active MCP tokens." in chromium.text()
    chromium.open(live.origin + "/settings/password")
    chromium.fill("Current password", PASSWORD)
    chromium.fill("New password", "a-new-password-2")
    chromium.click("Change password")
    chromium.wait_for(lambda: "Password changed" in chromium.title())
    chromium.shot("password-changed")
    chromium.open(live.origin + "/login")
    chromium.sign_in(ADMIN, "a-new-password-2")
    chromium.wait_for(lambda: "Settings" in chromium.title())
    chromium.click("Sign out")
    chromium.wait_for(lambda: "Sign in" in chromium.title())
    chromium.shot("signed-out")
    chromium.open(live.origin + "/settings/integrations")
    assert "Sign in" in chromium.title()


ATTACKER = """<!doctype html><html><head>{meta}<title>Win a prize</title></head><body>
<h1>Win a prize</h1>
<form id=f method=post action="{target}"><input type=hidden name=csrf value="guess"></form>
<script>document.getElementById('f').submit()</script></body></html>"""


@pytest.mark.parametrize(
    ("host", "referrer"),
    [
        ("127.0.0.1", "default"),  # same site, another origin: the cookie goes along
        ("127.0.0.1", "no-referrer"),  # ... and its Origin is "null"
        ("localhost", "default"),  # another site: SameSite=Lax keeps the cookie back
    ],
)
def test_a_real_cross_site_post_is_refused(
    chromium: Browser, live: LiveServer, host: str, referrer: str
) -> None:
    """Another origin (another port) posts the Generate form in the signed-in browser, with
    a CSRF value it had to guess. Refused every way; no token is generated."""
    _login(chromium, live)
    meta = "<meta name=referrer content=no-referrer>" if referrer == "no-referrer" else ""
    page = ATTACKER.format(meta=meta, target=live.origin + "/settings/integrations/mcp-token")

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args: object) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        chromium.open(f"http://{host}:{evil.server_port}/")
        chromium.wait_for(lambda: "Win a prize" not in chromium.title())
        chromium.shot("after-the-cross-site-post")
        text = chromium.text()
        assert "Your new MCP token" not in text
        if host == "127.0.0.1":
            assert "Request refused" in text
        else:  # signed out there: back at Integrations after the login page, nothing posted
            assert "Settings" in chromium.title()
    finally:
        evil.shutdown()
        evil.server_close()
    access = live.sign_in(ANALYST)["access_token"]
    status = live.api("GET", "/api/mcp-token", access).json()
    assert status["active"] is False  # no token was generated


def test_dot_setup_login_in_chromium(chromium: Browser, live: LiveServer, tmp_path: Path) -> None:
    """`dot-setup login` hands the sign-in URL to the browser ($BROWSER, here a script that
    passes it to this test's Chromium); the person signs in and allows; login exits 0."""
    inbox = tmp_path / "browser-inbox"
    opener = tmp_path / "open-url"
    opener.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {inbox}\n')
    opener.chmod(0o755)
    env = {
        **os.environ,
        "BROWSER": f"{opener} %s",
        "DOT_SETUP_CREDENTIAL_STORE": "file",
        "DOT_SETUP_HOME": str(tmp_path / "home"),
        "DOT_SETUP_STATE_DIR": str(tmp_path / "state"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dot_setup", "login", "--server-url", live.mcp_url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(inbox.exists, 30), "dot-setup never opened the browser"
        url = inbox.read_text().strip()
        chromium.open(url)
        chromium.shot("dot-setup-sign-in")
        if "Sign in to continue" in chromium.title():
            chromium.open(
                live.origin
                + "/login?next="
                + httpx2.URL(chromium.driver.current_url).raw_path.decode()
            )
            chromium.sign_in(ANALYST, PASSWORD)
        chromium.wait_for(lambda: "Allow access" in chromium.title())
        chromium.shot("dot-setup-consent")
        assert "dot-setup" in chromium.text()
        chromium.click("Allow")
        chromium.wait_for(lambda: "You can close this tab" in chromium.text())  # dot-setup's page
        chromium.shot("dot-setup-signed-in")
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"as {ANALYST}" in err


def test_a_viewer_without_mcp_access_sees_why(chromium: Browser, live: LiveServer) -> None:
    _login(chromium, live, VIEWER)
    chromium.shot("viewer")
    assert "does not have MCP access" in chromium.text()
