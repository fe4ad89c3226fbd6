"""MCP tokens, as the connect guide describes them.

"Generate MCP Token and copy it immediately — you won't see it again"; one active token per
user (a new one revokes the previous one, and the database itself enforces it); 365-day expiry;
admins delete any token at once, in the API and on the /admin/tokens page; a regular API token
is not an MCP token; an account without MCP access gets none; creation is rate limited.

The shared `server`'s clock never moves, so its rate-limit window never ends: this module makes
at most 10 MCP tokens per user there (the tests that need more use `fresh_server`).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from tests.server.live import ADMIN, ANALYST, VIEWER, LiveServer

from dot_setup.server.headless import BrowserError, HeadlessBrowser

DAY = 86_400
YEAR = 365 * DAY
INVALID = "Invalid API token"
NO_MCP_ACCESS = "Token does not have required MCP access"
MCP_TOKEN = re.compile(r"dot_mcp_us_[A-Za-z0-9_-]{43}")
API_TOKEN = re.compile(r"dot_api_us_[A-Za-z0-9_-]{43}")
CSRF = re.compile(r"name='csrf' value='([^']+)'")


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def access(server: LiveServer) -> dict[str, str]:
    """One OAuth sign-in per user for the whole module (each costs a password check)."""
    return {email: server.sign_in(email)["access_token"] for email in (ADMIN, ANALYST)}


def create(live: LiveServer, access_token: str) -> dict[str, Any]:
    resp = live.api("POST", "/api/mcp-token", access_token)
    assert resp.status_code == 201, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body: dict[str, Any] = resp.json()
    return body


def tool_names(live: LiveServer, token: str, *, in_url: bool = False) -> set[str]:
    """The tools the real SDK client lists with this token (header, or `?token=` in the URL)."""

    async def run() -> set[str]:
        headers = {} if in_url else {"Authorization": f"Bearer {token}"}
        url = f"{live.mcp_url}?token={token}" if in_url else live.mcp_url
        with anyio.fail_after(30):
            async with (
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(20, read=30)) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                return {t.name for t in (await client.list_tools()).tools}

    return asyncio.run(run())


def mcp_denial(live: LiveServer, token: str) -> tuple[int, dict[str, Any]]:
    """The raw answer of /ai/mcp to this token."""
    resp = httpx2.post(
        live.mcp_url,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        timeout=15,
    )
    body: dict[str, Any] = resp.json() if resp.status_code >= 400 else {}
    return resp.status_code, body


def logged_in(live: LiveServer, email: str) -> HeadlessBrowser:
    browser = live.browser(email)
    browser.login(live.origin + "/settings/integrations")
    assert "dot_session" in browser.http.cookies
    return browser


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, html[:500]
    return m.group(1)


@pytest.fixture
def admin_browser(server: LiveServer) -> Iterator[HeadlessBrowser]:
    with logged_in(server, ADMIN) as browser:
        yield browser


@pytest.fixture(scope="module")
def analyst_browser(server: LiveServer) -> Iterator[HeadlessBrowser]:
    with logged_in(server, ANALYST) as browser:
        yield browser


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this module's own, for the tests that move the clock; each of them works
    from the clock's time when it starts."""
    with LiveServer(tmp_path_factory.mktemp("dot-clocked")) as live:
        yield live


# -- issue, replace, show once ------------------------------------------------------------------


def test_issue_shows_the_token_once_and_a_new_one_replaces_the_old(
    server: LiveServer, access: dict[str, str]
) -> None:
    a = access[ANALYST]
    server.api("DELETE", "/api/mcp-token", a)  # start from no token, whatever ran before
    assert server.api("GET", "/api/mcp-token", a).json()["active"] is False

    first = create(server, a)
    assert MCP_TOKEN.fullmatch(first["token"])
    assert first["replaced_previous"] is False
    assert first["display"] == f"dot_mcp_us_…{first['token'][-4:]}"
    assert first["region"] == "us" and first["mcp_url"] == server.mcp_url
    assert first["expires_at"] == int(server.clock.now() + YEAR)
    assert tool_names(server, first["token"]) >= {"total_sales", "query"}

    second = create(server, a)
    assert second["replaced_previous"] is True
    assert second["token"] != first["token"] and second["id"] != first["id"]
    status, body = mcp_denial(server, first["token"])
    assert (status, body.get("error_description")) == (401, INVALID)
    assert "replaced by a newer one" in body.get("hint", "")
    assert "total_sales" in tool_names(server, second["token"])

    shown = server.api("GET", "/api/mcp-token", a)
    info = shown.json()
    assert info["active"] is True and info["id"] == second["id"]
    assert info["owner"] == ANALYST and info["region"] == "us"
    assert info["display"] == second["display"]
    assert info["expires_at"] - info["created_at"] == YEAR
    assert "token" not in info
    assert second["token"] not in shown.text and first["token"] not in shown.text


def test_admin_list_shows_one_active_token_per_user(
    server: LiveServer, access: dict[str, str]
) -> None:
    create(server, access[ADMIN])
    latest = create(server, access[ANALYST])
    resp = server.api("GET", "/api/admin/mcp-tokens", access[ADMIN])
    assert resp.status_code == 200, resp.text
    tokens = resp.json()["tokens"]
    owners = [t["owner"] for t in tokens]
    assert sorted(owners) == [ADMIN, ANALYST]  # one each, and none for the viewer
    mine = next(t for t in tokens if t["owner"] == ANALYST)
    assert mine["id"] == latest["id"] and mine["display"] == latest["display"]
    assert mine["expires_at"] - mine["created_at"] == YEAR
    assert latest["token"] not in resp.text


def test_token_info_tells_an_mcp_token_from_a_regular_api_token(
    server: LiveServer, access: dict[str, str]
) -> None:
    pat = create(server, access[ANALYST])
    resp = server.api("GET", "/api/token-info", pat["token"])
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["kind"] == "mcp_token"
    assert info["owner"] == ANALYST and info["region"] == "us"
    assert info["mcp_access"] is True and "message" not in info
    assert info["expires_at"] == pat["expires_at"]
    assert info["expires_at"] - info["created_at"] == YEAR
    assert info["display"] == pat["display"] and info["mcp_url"] == server.mcp_url
    assert pat["token"] not in resp.text

    api = server.api("POST", "/api/api-tokens", access[ANALYST])
    assert api.status_code == 201, api.text
    api_token = api.json()["token"]
    assert API_TOKEN.fullmatch(api_token)
    resp = server.api("GET", "/api/token-info", api_token)
    info = resp.json()
    assert info["kind"] == "api_token" and info["owner"] == ANALYST
    assert info["mcp_access"] is False
    assert info["message"] == NO_MCP_ACCESS
    assert api_token not in resp.text
    status, body = mcp_denial(server, api_token)
    assert (status, body.get("error_description")) == (403, NO_MCP_ACCESS)

    oauth = server.api("GET", "/api/token-info", access[ANALYST]).json()
    assert oauth["kind"] == "oauth_access" and oauth["mcp_access"] is True

    unknown = server.api("GET", "/api/token-info", pat["token"][:-3])
    assert unknown.status_code == 401 and unknown.json()["message"] == INVALID


def test_an_account_without_mcp_access_gets_no_mcp_token(
    server: LiveServer, access: dict[str, str]
) -> None:
    with logged_in(server, VIEWER) as viewer:
        page = viewer.http.get(server.origin + "/settings/integrations")
        assert page.status_code == 200
        assert "does not have MCP access" in page.text
        assert "Generate MCP Token" not in page.text
        csrf = csrf_of(page.text)
        refused = viewer.http.post(
            server.origin + "/settings/integrations/mcp-token", data={"csrf": csrf}
        )
        assert refused.status_code == 403
        assert "No MCP access" in refused.text
        assert not MCP_TOKEN.search(refused.text)
        # A regular API token the viewer may have; it opens neither MCP nor the MCP-token API.
        made = viewer.http.post(server.origin + "/settings/api-tokens", data={"csrf": csrf})
        assert made.status_code == 201
        found = API_TOKEN.search(made.text)
        assert found
    api_token = found.group(0)
    assert server.api("POST", "/api/mcp-token", api_token).status_code == 403
    assert mcp_denial(server, api_token)[0] == 403
    with pytest.raises(BrowserError, match="denied access"):
        server.sign_in(VIEWER)  # the consent page refuses: no OAuth token for MCP either
    owners = [
        t["owner"]
        for t in server.api("GET", "/api/admin/mcp-tokens", access[ADMIN]).json()["tokens"]
    ]
    assert VIEWER not in owners


# -- admin deletion ------------------------------------------------------------------------------


def test_admin_deletes_a_token_through_the_api(server: LiveServer, access: dict[str, str]) -> None:
    pat = create(server, access[ANALYST])
    assert "query" in tool_names(server, pat["token"])

    # Not for a non-admin, nor with an MCP token instead of a sign-in.
    admin_pat = create(server, access[ADMIN])
    for token in (access[ANALYST], pat["token"], admin_pat["token"]):
        assert server.api("GET", "/api/admin/mcp-tokens", token).status_code == 403
        assert server.api("GET", "/api/admin/query-log", token).status_code == 403
    resp = server.api("DELETE", f"/api/admin/mcp-tokens/{admin_pat['id']}", access[ANALYST])
    assert resp.status_code == 403
    assert "query" in tool_names(server, admin_pat["token"])

    resp = server.api("DELETE", f"/api/admin/mcp-tokens/{pat['id']}", access[ADMIN])
    assert resp.status_code == 200 and resp.json() == {"revoked": 1}
    status, body = mcp_denial(server, pat["token"])
    assert (status, body.get("error_description")) == (401, INVALID)
    assert "an admin deleted this token" in body.get("hint", "")
    again = server.api("DELETE", f"/api/admin/mcp-tokens/{pat['id']}", access[ADMIN])
    assert again.status_code == 404
    assert server.api("GET", "/api/mcp-token", access[ANALYST]).json()["active"] is False


def test_admin_deletes_a_token_on_the_admin_page(
    server: LiveServer,
    access: dict[str, str],
    admin_browser: HeadlessBrowser,
    analyst_browser: HeadlessBrowser,
) -> None:
    pat = create(server, access[ANALYST])
    page = admin_browser.http.get(server.origin + "/admin/tokens")
    assert page.status_code == 200
    assert ANALYST in page.text and pat["display"] in page.text
    assert pat["token"] not in page.text
    action = f"/admin/tokens/{pat['id']}/delete"
    assert f"action='{action}'" in page.text
    csrf = csrf_of(page.text)

    no_csrf = admin_browser.http.post(server.origin + action, data={})
    assert no_csrf.status_code == 403
    cross_site = admin_browser.http.post(
        server.origin + action, data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert "query" in tool_names(server, pat["token"])  # still works after both refusals

    analyst = analyst_browser
    assert analyst.http.get(server.origin + "/admin/tokens").status_code == 403
    own_csrf = csrf_of(analyst.http.get(server.origin + "/settings/integrations").text)
    assert analyst.http.post(server.origin + action, data={"csrf": own_csrf}).status_code == 403
    assert "query" in tool_names(server, pat["token"])

    done = admin_browser.http.post(server.origin + action, data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/admin/tokens"
    status, body = mcp_denial(server, pat["token"])
    assert status == 401 and "an admin deleted this token" in body.get("hint", "")
    after = admin_browser.http.get(server.origin + "/admin/tokens")
    assert pat["display"] not in after.text and ANALYST not in after.text


# -- the database enforces one active token ------------------------------------------------------


def test_the_database_refuses_a_second_active_mcp_token(
    server: LiveServer, access: dict[str, str]
) -> None:
    create(server, access[ANALYST])
    db = sqlite3.connect(server.db_path, timeout=10, isolation_level=None)
    try:
        (sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND name='one_active_mcp_token'"
        ).fetchone()
        assert "UNIQUE" in sql.upper() and "revoked_at IS NULL" in sql
        now = time.time()

        def row(n: int, kind: str, revoked_at: float | None) -> tuple[Any, ...]:
            return (
                f"{n:064x}", f"tok_test{n}", kind, "u_analyst", "direct", "mcp",
                server.origin, "x", now, now + YEAR, revoked_at,
            )  # fmt: skip

        insert = (
            "INSERT INTO tokens (token_hash, id, kind, user_id, client_id, scope, resource,"
            " display, created_at, expires_at, revoked_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        )
        db.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            db.execute(insert, row(1, "pat", None))
        # The index is partial: revoked MCP tokens and other kinds are not limited.
        db.execute(insert, row(2, "pat", now))
        db.execute(insert, row(3, "api", None))
        db.execute(insert, row(4, "api", None))
        db.execute("ROLLBACK")
        duplicates = db.execute(
            "SELECT user_id FROM tokens WHERE kind='pat' AND revoked_at IS NULL"
            " GROUP BY user_id HAVING COUNT(*) > 1"
        ).fetchall()
        assert duplicates == []
    finally:
        db.close()


# -- Settings → Integrations ---------------------------------------------------------------------


def test_integrations_page_shows_a_new_token_once(
    server: LiveServer, access: dict[str, str], analyst_browser: HeadlessBrowser
) -> None:
    browser = analyst_browser
    url = server.origin + "/settings/integrations"
    page = browser.http.get(url)
    assert page.status_code == 200
    assert server.mcp_url in page.text and "?token=YOUR_MCP_TOKEN" in page.text
    assert "Generate MCP Token" in page.text
    csrf = csrf_of(page.text)
    before = server.api("GET", "/api/mcp-token", access[ANALYST]).json()

    made = browser.http.post(url + "/mcp-token", data={"csrf": csrf})
    assert made.status_code == 201
    assert "you won't see it again" in made.text
    tokens = set(MCP_TOKEN.findall(made.text))
    assert len(tokens) == 1
    token = tokens.pop()
    assert f"{server.mcp_url}?token={token}" in made.text  # the ChatGPT form

    reload = browser.http.get(url)
    assert token not in reload.text
    assert f"dot_mcp_us_…{token[-4:]}" in reload.text

    # Refused without the page's CSRF value or from another site: no new token.
    assert browser.http.post(url + "/mcp-token", data={}).status_code == 403
    cross = browser.http.post(
        url + "/mcp-token", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403 and not MCP_TOKEN.search(cross.text)

    now = server.api("GET", "/api/mcp-token", access[ANALYST]).json()
    assert now["display"] == f"dot_mcp_us_…{token[-4:]}" and now["id"] != before.get("id")
    assert "list_data_sources" in tool_names(server, token, in_url=True)


# -- expiry and rate limit (on a server of their own: the clock moves) ------------------------------


def test_mcp_tokens_last_exactly_365_days(clocked: LiveServer) -> None:
    live = clocked
    pat = create(live, live.sign_in(ANALYST)["access_token"])
    assert pat["expires_at"] == int(live.clock.now() + YEAR)

    live.clock.advance(YEAR - 1)
    assert "total_sales" in tool_names(live, pat["token"])
    assert live.api("GET", "/api/token-info", pat["token"]).json()["kind"] == "mcp_token"

    live.clock.advance(2)
    status, body = mcp_denial(live, pat["token"])
    assert (status, body.get("error_description")) == (401, INVALID)
    assert "expired" in body.get("hint", "") and "365 days" in body.get("hint", "")
    info = live.api("GET", "/api/token-info", pat["token"])
    # The API explains a refusal in the same words as the MCP endpoint.
    assert info.status_code == 401 and info.json()["hint"] == body["hint"]
    fresh_access = live.sign_in(ANALYST)["access_token"]
    assert live.api("GET", "/api/mcp-token", fresh_access).json()["active"] is False
    renewed = create(live, fresh_access)
    assert renewed["replaced_previous"] is False  # an expired token is not "replaced"
    assert "query" in tool_names(live, renewed["token"])


def test_mcp_token_creation_is_rate_limited(clocked: LiveServer) -> None:
    live = clocked
    live.clock.advance(live.config.limits.window + 1)  # start from an empty window
    a = live.sign_in(ANALYST)["access_token"]
    made = [create(live, a) for _ in range(live.config.limits.mcp_token_create)]
    refused = live.api("POST", "/api/mcp-token", a)
    assert refused.status_code == 429
    assert "too many new tokens" in refused.json()["message"]
    with logged_in(live, ANALYST) as browser:
        url = live.origin + "/settings/integrations"
        csrf = csrf_of(browser.http.get(url).text)
        page = browser.http.post(url + "/mcp-token", data={"csrf": csrf})
        assert page.status_code == 429 and not MCP_TOKEN.search(page.text)
    # The refusals changed nothing: the last token made is the one active token.
    assert live.api("GET", "/api/mcp-token", a).json()["id"] == made[-1]["id"]
    assert "query" in tool_names(live, made[-1]["token"])

    live.clock.advance(live.config.limits.window + 1)
    assert live.api("POST", "/api/mcp-token", a).status_code == 201
