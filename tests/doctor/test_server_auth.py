"""The server, sign-in and token checks, each against a state built for real on the reference
server: a revoked, replaced, cut-off, other-region or expiring token, a regular API token, an
account without MCP access, an OAuth access token pasted as a token, dot-setup's own sign-in
ended by a password change, a wrong endpoint path, and an authorization server whose metadata
names another issuer. Every case maps a line of Dot's connect guide.

Every test also asserts that no token it used appears in full on stdout, stderr or the envelope.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.helpers import run
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.fs.backups import list_backups
from dot_setup.paths import Paths
from dot_setup.secrets import mask
from dot_setup.server import schema
from dot_setup.server.headless import HeadlessBrowser
from dot_setup.signin import flow as signin_flow
from dot_setup.signin.account import Account, SignInOptions

from .conftest import Regions, check, doctor, human, install, write

DAY = 86400
NEW_TOKEN = "dot-setup --client cursor --new-token"
INVALID = "Invalid API token"
NOT_MCP = "Token does not have required MCP access"


# -- helpers ------------------------------------------------------------------------------------


def cursor_file(home: Path, url: str, token: str, **extra: Any) -> Path:
    """~/.cursor/mcp.json as Cursor reads it: the 'dot' entry with a Bearer header."""
    body = {
        "mcpServers": {"dot": {"url": url, "headers": {"Authorization": f"Bearer {token}"}}},
        **extra,
    }
    return write(home / ".cursor" / "mcp.json", json.dumps(body, indent=2) + "\n")


def access_of(server: LiveServer, email: str = ANALYST) -> str:
    """An OAuth access token of the user (the sign-in the web app and the API use)."""
    token: str = server.sign_in(email)["access_token"]
    return token


def new_mcp_token(server: LiveServer, access: str) -> dict[str, Any]:
    """Settings → Integrations → Generate MCP Token, through the API."""
    resp = server.api("POST", "/api/mcp-token", access)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def token_info(server: LiveServer, token: str) -> dict[str, Any]:
    resp = server.api("GET", "/api/token-info", token)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def assert_hidden(texts: list[str], *tokens: str) -> None:
    """None of the tokens appears whole in any of the texts (masked forms are fine)."""
    joined = "\n".join(texts)
    for token in tokens:
        assert len(token) > 20, "a short string proves nothing"
        assert token not in joined, f"a token ({mask(token)}) appeared in full in the output"


def token_check(*args: str) -> tuple[int, dict[str, Any], str, dict[str, Any]]:
    code, env, err = doctor("client.cursor.token", *args)
    return code, env, err, check(env, "client.cursor.token")


def seen(env: dict[str, Any], err: str) -> list[str]:
    return [json.dumps(env), err]


# -- 1. "Invalid API token" ---------------------------------------------------------------------


def test_revoked_token_is_invalid_with_the_servers_cause(regions: Regions, fake_home: Path) -> None:
    us = regions.us
    access = access_of(us)
    token = new_mcp_token(us, access)["token"]
    cursor_file(fake_home, us.mcp_url, token)
    resp = us.api("DELETE", "/api/mcp-token", access)  # the user revokes it
    assert resp.status_code == 200 and resp.json() == {"revoked": 1}

    code, env, err, result = token_check()

    assert code == 1 and env["status"] == "fail"
    assert result["status"] == "fail"
    assert result["summary"] == f"{INVALID}: the server refused {mask(token)}"
    assert result["details"] == ["this token was revoked"]
    assert result["remediation"]["commands"] == [NEW_TOKEN]
    assert "generate a new MCP token" in result["remediation"]["text"]
    assert result["remediation"]["auto_fixable"] is False

    shown = human("-v", "client.cursor.token")
    assert shown.code == 1
    assert f"✗ client.cursor.token: {INVALID}: the server refused dot_mcp_us_…" in shown.out
    assert "this token was revoked" in shown.out and f"$ {NEW_TOKEN}" in shown.out
    assert_hidden([*seen(env, err), shown.out, shown.err], token, access)


def test_token_replaced_by_a_newer_one_is_invalid(regions: Regions, fake_home: Path) -> None:
    us = regions.us
    access = access_of(us)
    first = new_mcp_token(us, access)["token"]
    write(fake_home / ".cursor" / "mcp.json", '{"mcpServers": {}}\n')
    installed = install("--client", "cursor", "--region", "us", "--token-stdin", stdin=first)
    second = new_mcp_token(us, access)
    assert second["replaced_previous"]

    code, env, err, result = token_check()

    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"].startswith(f"{INVALID}: ")
    assert mask(first) in result["summary"]
    assert result["details"] == ["this MCP token was replaced by a newer one; use the new token"]
    assert result["remediation"]["commands"] == [NEW_TOKEN]
    assert_hidden([*seen(env, err), installed.out, installed.err], first, second["token"], access)


def test_truncated_token_says_it_was_not_copied_completely(
    regions: Regions, fake_home: Path
) -> None:
    us = regions.us
    token = us.mcp_token()
    assert len(token) == 54
    cut = token[:-6]
    cursor_file(fake_home, us.mcp_url, cut)

    code, env, err, result = token_check()

    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"] == f"{INVALID}: the server refused {mask(cut)}"
    assert result["details"][0] == (
        "the token has 48 of 54 characters: it was not copied completely"
    )
    assert "check that you copied the complete token" in result["details"][1]
    assert result["remediation"]["commands"] == [NEW_TOKEN]
    assert_hidden(seen(env, err), token, cut)


def test_eu_token_at_the_us_url_is_fixed_by_pointing_the_entry_at_eu(
    regions: Regions, fake_home: Path
) -> None:
    us, eu = regions.us, regions.eu
    token = eu.mcp_token()
    assert token.startswith("dot_mcp_eu_")
    other = {"command": "gh-mcp", "args": ["serve"]}
    path = write(
        fake_home / ".cursor" / "mcp.json",
        json.dumps(
            {
                "mcpServers": {
                    "github": other,
                    "dot": {
                        "url": us.mcp_url,
                        "headers": {"Authorization": f"Bearer {token}"},
                        "timeout": 30000,
                    },
                },
                "editor.fontSize": 14,
            },
            indent=2,
        )
        + "\n",
    )
    before = path.read_bytes()

    code, env, err, result = token_check()

    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"] == (
        f"{INVALID}: {mask(token)} is an EU token but the client uses the US URL"
    )
    fix = result["remediation"]
    assert fix["auto_fixable"] is True
    assert fix["commands"] == ["dot-setup install --client cursor --region eu --token-stdin"]
    assert "EU Dot URL" in fix["text"]
    assert result["data"] == {"kind": "mcp_token", "token_region": "eu", "url_region": "us"}

    code, fixed, err2 = doctor("--fix", "--yes", "client.cursor")

    assert code == 0, fixed
    applied = [f for f in fixed["data"]["fixes"] if f["id"] == "client.cursor.token"]
    assert len(applied) == 1 and applied[0]["status"] == "applied", fixed["data"]["fixes"]
    assert f"rewrote the 'dot' entry in {path}" in applied[0]["message"]
    again = check(fixed, "client.cursor.token")
    assert again["status"] == "pass", again
    assert again["summary"].startswith(f"MCP token {mask(token)} of {ANALYST} (EU), valid until ")
    assert check(fixed, "client.cursor.live")["status"] == "pass"

    data = json.loads(path.read_text(encoding="utf-8"))
    entry = data["mcpServers"]["dot"]
    assert entry["url"] == eu.mcp_url
    assert entry["headers"] == {"Authorization": f"Bearer {token}"}
    assert entry["timeout"] == 30000
    assert data["mcpServers"]["github"] == other
    assert data["editor.fontSize"] == 14
    backups = [b for b in list_backups(Paths.from_env()) if b.path == str(path)]
    assert len(backups) == 1
    assert backups[0].id in applied[0]["message"]
    assert Path(backups[0].file).read_bytes() == before
    assert_hidden([*seen(env, err), *seen(fixed, err2)], token)


def test_the_region_fix_changes_only_the_url_and_keeps_the_users_own_header(
    regions: Regions, fake_home: Path
) -> None:
    """Was: --fix rewrote the whole entry and dropped X-Dot-Team, and the entry check called
    the entry "not in a shape Claude Code reads" although the real Claude Code connects with
    it (tests/realclients). A fix changes only what it fixes."""
    us, eu = regions.us, regions.eu
    token = eu.mcp_token()
    headers = {"Authorization": f"Bearer {token}", "X-Dot-Team": "analytics"}
    entry = {"type": "http", "url": us.mcp_url, "headers": headers}
    path = write(
        fake_home / ".claude.json",
        json.dumps({"numStartups": 3, "mcpServers": {"dot": entry}}, indent=2) + "\n",
    )
    before = path.read_text(encoding="utf-8")
    code, env, err = doctor("client.claude-code")
    assert check(env, "client.claude-code.entry")["status"] == "pass", env
    assert check(env, "client.claude-code.token")["data"]["token_region"] == "eu"

    code, fixed, err2 = doctor("--fix", "--yes", "client.claude-code")

    assert code == 0, fixed
    after = path.read_text(encoding="utf-8")
    assert after == before.replace(us.mcp_url, eu.mcp_url)  # one value changed, nothing else
    assert json.loads(after)["mcpServers"]["dot"]["headers"]["X-Dot-Team"] == "analytics"
    assert check(fixed, "client.claude-code.token")["status"] == "pass"
    assert check(fixed, "client.claude-code.entry")["status"] == "pass"
    assert_hidden([*seen(env, err), *seen(fixed, err2)], token)


# -- 2. "Token does not have required MCP access" -----------------------------------------------


def test_regular_api_token_lacks_mcp_access(regions: Regions, fake_home: Path) -> None:
    us = regions.us
    api_token = us.api_token()
    assert api_token.startswith("dot_api_us_")
    cursor_file(fake_home, us.mcp_url, api_token)

    code, env, err, result = token_check()

    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"] == (
        f"{NOT_MCP}: {mask(api_token)} is a regular API token, not an MCP token"
    )
    assert result["remediation"]["commands"] == [NEW_TOKEN]
    assert_hidden(seen(env, err), api_token)


async def _switch_off_mcp(conn_factory: Any, user_id: str) -> None:
    async with conn_factory() as conn:
        assert isinstance(conn, AsyncConnection)
        await conn.execute(
            update(schema.users).where(schema.users.c.id == user_id).values(mcp_access=False)
        )


def test_account_without_mcp_access_is_named(regions: Regions, fake_home: Path) -> None:
    """The seed's viewer cannot get an MCP token at all and the server has no admin switch for
    MCP access, so the analyst's access is switched off in the server's database, as a Dot admin
    would in the product, after the token was generated."""
    us = regions.us
    token = us.mcp_token()
    cursor_file(fake_home, us.mcp_url, token)
    us.call(_switch_off_mcp, us.state.db.tx, "u_analyst")
    assert token_info(us, token)["mcp_access"] is False

    code, env, err, result = token_check()

    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"] == f"{NOT_MCP}: {ANALYST} has no MCP access"
    assert result["remediation"]["text"] == "ask a Dot admin to enable MCP for the account"
    assert_hidden(seen(env, err), token)


# -- 3. expiry ----------------------------------------------------------------------------------


def test_token_expiring_within_30_days_warns_then_fails_once_expired(
    regions: Regions, fake_home: Path
) -> None:
    us = regions.us
    token = us.mcp_token()
    info = token_info(us, token)
    cursor_file(fake_home, us.mcp_url, token)

    code, env, _, result = token_check()
    assert code == 0 and result["status"] == "pass"
    assert result["summary"] == (
        f"MCP token {info['display']} of {ANALYST} (US), valid until {day(info['expires_at'])}"
    )

    us.clock.advance(340 * DAY)
    code, env, err, result = token_check()

    assert code == 0  # a warning alone does not fail the run
    assert result["status"] == "warn", result
    assert result["summary"] == (
        f"MCP token {info['display']} of {ANALYST} (US) expires on"
        f" {day(info['expires_at'])}, in 25 days"
    )
    assert result["remediation"]["commands"] == [NEW_TOKEN]
    assert result["data"]["expires_at"] == info["expires_at"]
    strict, _, _ = doctor("client.cursor.token", "--strict")
    assert strict == 1

    us.clock.advance(26 * DAY)  # 366 days after it was generated
    code, env2, err2, result = token_check()

    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"] == f"{INVALID}: the server refused {mask(token)}"
    assert result["details"] == [
        "this token expired; generate a new one (MCP tokens last 365 days)"
    ]
    assert_hidden([*seen(env, err), *seen(env2, err2)], token)


# -- 4. an OAuth access token pasted as an MCP token --------------------------------------------


def test_oauth_access_token_in_place_of_an_mcp_token_warns(
    regions: Regions, fake_home: Path
) -> None:
    us = regions.us
    access = access_of(us)
    assert access.startswith("dot_oat_us_")
    cursor_file(fake_home, us.mcp_url, access)

    code, env, err, result = token_check()

    assert code == 0
    assert result["status"] == "warn"
    assert result["summary"] == (
        f"{mask(access)} is a sign-in (OAuth) access token that expires within the hour"
    )
    assert result["remediation"]["commands"] == [NEW_TOKEN]
    assert_hidden(seen(env, err), access)


# -- 5. DOT_MCP_TOKEN -----------------------------------------------------------------------------


def test_token_in_the_environment(
    regions: Regions, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    us = regions.us
    code, env, _ = doctor("auth.token-env")
    result = check(env, "auth.token-env")
    assert code == 0
    assert (result["status"], result["summary"]) == ("skip", "DOT_MCP_TOKEN is not set")

    access = access_of(us)
    token = new_mcp_token(us, access)["token"]
    monkeypatch.setenv("DOT_MCP_TOKEN", token)
    code, env1, err1 = doctor("auth.token-env")
    result = check(env1, "auth.token-env")
    assert code == 0
    assert result["status"] == "pass", result
    assert result["summary"].startswith(f"MCP token {mask(token)} of {ANALYST} (US), valid until ")

    assert us.api("DELETE", "/api/mcp-token", access).json() == {"revoked": 1}
    code, env2, err2 = doctor("auth.token-env")
    result = check(env2, "auth.token-env")
    assert code == 1
    assert result["status"] == "fail"
    assert result["summary"] == f"{INVALID}: the server refused {mask(token)}"
    assert result["details"] == ["this token was revoked"]
    assert_hidden([*seen(env1, err1), *seen(env2, err2)], token, access)


# -- 6. dot-setup's own sign-in --------------------------------------------------------------------


@dataclass
class ScriptedBrowser:
    """The person at the browser: signs in and allows (as tests/signin does)."""

    email: str = ANALYST
    password: str = PASSWORD
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        with HeadlessBrowser(self.email, self.password) as browser:
            outcome = browser.authorize(url, "allow")
        with httpx2.Client(timeout=15) as http:
            http.get(outcome.location)  # the redirect to dot-setup's loopback listener


@pytest.fixture
def login(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedBrowser]:
    browser = ScriptedBrowser()
    monkeypatch.setattr(
        signin_flow, "SignInOptions", functools.partial(SignInOptions, browser=browser)
    )
    yield browser


def signin_result(*args: str) -> tuple[int, dict[str, Any], str, dict[str, Any]]:
    code, env, err = doctor("auth.signin", *args)
    return code, env, err, check(env, "auth.signin")


def test_signin_skip_then_pass_then_ended_by_a_password_change(
    regions: Regions, fake_home: Path, login: ScriptedBrowser
) -> None:
    us = regions.us
    code, _, _, result = signin_result()
    assert code == 0
    assert result["status"] == "skip"
    assert result["summary"] == "dot-setup is not signed in (needed only to generate tokens)"

    done = run("login", "--region", "us")
    assert done.code == 0, done.err
    assert len(login.urls) == 1
    session = Account(Paths.from_env(), us.mcp_url, "us").current()
    assert session is not None and session.account == ANALYST

    code, env1, err1, result = signin_result()
    assert code == 0
    assert result["status"] == "pass", result
    assert result["summary"] == f"dot-setup is signed in as {ANALYST}"

    access = access_of(us)
    resp = us.api(
        "POST",
        "/api/account/password",
        access,
        json={"current_password": PASSWORD, "new_password": "a-new-password-2"},
    )
    assert resp.status_code == 200, resp.text
    assert us.api("GET", "/api/me", session.access_token).status_code == 401

    code, env2, err2, result = signin_result()
    assert code == 0
    assert result["status"] == "warn", result
    assert result["summary"] == f"dot-setup's sign-in was refused: {INVALID}"
    assert result["remediation"]["commands"] == ["dot-setup login"]
    assert_hidden(
        [done.out, done.err, *seen(env1, err1), *seen(env2, err2)],
        session.access_token,
        session.refresh_token,
        access,
    )


def test_signin_revoked_and_expired_warns_to_log_in_again(
    regions: Regions, fake_home: Path, login: ScriptedBrowser
) -> None:
    us = regions.us
    done = run("login", "--region", "us")
    assert done.code == 0, done.err
    session = Account(Paths.from_env(), us.mcp_url, "us").current()
    assert session is not None
    with httpx2.Client(timeout=15) as http:  # RFC 7009: the whole sign-in goes with it
        resp = http.post(
            us.origin + "/revoke",
            data={"token": session.refresh_token, "client_id": session.client_id},
        )
    assert resp.status_code == 200
    with httpx2.Client(timeout=15) as http:
        refreshed = http.post(
            us.origin + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": session.refresh_token,
                "client_id": session.client_id,
            },
        )
    assert refreshed.status_code == 400, refreshed.text  # the refresh token no longer works
    us.clock.advance(2 * 3600)  # and the access token's hour has passed

    code, env, err, result = signin_result()

    assert code == 0
    assert result["status"] == "warn", result
    assert result["summary"] == f"dot-setup's sign-in was refused: {INVALID}"
    assert result["remediation"]["commands"] == ["dot-setup login"]
    assert "sign dot-setup in again" in result["remediation"]["text"]
    assert_hidden([done.err, *seen(env, err)], session.access_token, session.refresh_token)


# -- 7. the server: endpoint, discovery, sign-in page ----------------------------------------------


def test_wrong_endpoint_path_fails_with_the_region_urls(regions: Regions, fake_home: Path) -> None:
    us, eu = regions.us, regions.eu
    wrong = us.origin + "/ai/mcpx"

    code, env, _ = doctor("server.endpoint", "--server-url", wrong)

    assert code == 1
    result = check(env, "server.endpoint")
    assert result["status"] == "fail"
    assert result["summary"] == f"{wrong} → 404: no MCP endpoint at this path"
    text = result["remediation"]["text"]
    assert f"{us.mcp_url} (US)" in text and f"{eu.mcp_url} (EU)" in text
    assert result["remediation"]["commands"] == ["dot-setup install --client ID --region us|eu"]

    code, env1, _ = doctor("server.endpoint", "--server-url", us.mcp_url)
    assert code == 0
    result = check(env1, "server.endpoint")
    assert result["status"] == "pass"
    assert result["summary"] == f"{us.mcp_url} → 401 with an OAuth challenge"

    token = us.mcp_token()  # the same path in a client's entry
    cursor_file(fake_home, wrong, token)
    code, env2, err2 = doctor("server.endpoint", "client.cursor.url")
    assert code == 1
    assert check(env2, "server.endpoint")["summary"] == (
        f"{wrong} → 404: no MCP endpoint at this path"
    )
    assert check(env2, "client.cursor.url")["status"] == "warn"
    assert_hidden(seen(env2, err2), token)


class _OtherIssuer(BaseHTTPRequestHandler):
    """An MCP endpoint whose authorization server's metadata names a different issuer."""

    def do_GET(self) -> None:
        origin = f"http://{self.headers['Host']}"
        if self.path == "/ai/mcp":
            meta = f"{origin}/.well-known/oauth-protected-resource/ai/mcp"
            self._send(
                401,
                {"error": "invalid_token"},
                {"WWW-Authenticate": f'Bearer resource_metadata="{meta}"'},
            )
        elif self.path.startswith("/.well-known/oauth-protected-resource"):
            self._send(200, {"resource": origin, "authorization_servers": [origin]})
        elif self.path == "/.well-known/oauth-authorization-server":
            self._send(
                200,
                {
                    "issuer": "https://login.elsewhere.invalid",
                    "authorization_endpoint": f"{origin}/authorize",
                    "token_endpoint": f"{origin}/token",
                    "registration_endpoint": f"{origin}/register",
                    "code_challenge_methods_supported": ["S256"],
                },
            )
        else:
            self._send(404, {"error": "not_found"})

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_issuer() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _OtherIssuer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_discovery_fails_when_the_issuer_does_not_match(other_issuer: str) -> None:
    url = other_issuer + "/ai/mcp"

    code, env, _ = doctor("server", "--server-url", url)

    assert code == 1
    endpoint = check(env, "server.endpoint")
    assert endpoint["status"] == "pass", endpoint  # the endpoint itself asks for a token
    result = check(env, "server.discovery")
    assert result["status"] == "fail", result
    assert result["summary"] == f"the authorization server {other_issuer} has no matching metadata"
    assert result["remediation"]["commands"] == [
        "dot-setup install --client ID --auth token --token-stdin"
    ]
    assert "OAuth metadata is broken" in result["remediation"]["text"]
    page = check(env, "server.signin-page")
    assert page["status"] == "skip"
    assert page["summary"] == "no OAuth metadata (see server.discovery)"


def test_reference_server_discovery_and_signin_page_pass(regions: Regions, fake_home: Path) -> None:
    us = regions.us
    code, env, _ = doctor("server")

    assert code == 0
    result = check(env, "server.discovery")
    assert result["status"] == "pass", result
    assert result["summary"] == (
        "OAuth metadata present and consistent (RFC 9728, RFC 8414, PKCE S256)"
    )
    assert result["details"] == [f"{us.mcp_url}: resource {us.origin}, issuer {us.origin}"]
    page = check(env, "server.signin-page")
    assert page["status"] == "pass", page
    assert page["summary"] == f"the sign-in page loads ({us.origin}/authorize)"
    assert any('"Sign in to continue"' in d for d in page["details"])
    assert any('"Authorization session expired"' in d for d in page["details"])

    shown = human("-v", "server.signin-page")
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert any(
        line.strip().startswith('"Sign in to continue": the browser is not signed in to Dot')
        for line in lines
    )
    assert any(
        line.strip().startswith('"Authorization session expired": the page was left open')
        for line in lines
    )
    quiet = human("server.signin-page")
    assert '"Sign in to continue"' not in quiet.out  # details of a pass only with -v
