"""Who gets into the MCP endpoint, through the real `mcp` SDK client, in every era.

Good credentials (an MCP token, an OAuth access token) list and call tools over Streamable HTTP
in the modern era (`server/discover`, protocol 2026-07-28), the legacy era (`initialize`,
2025-11-25) and over legacy SSE (`/ai/sse`). Every kind of bad credential fails in all three,
and the raw HTTP answer is the connect guide's: 401 "Invalid API token" with a hint that says
why, or 403 "Token does not have required MCP access" for a regular API token, always with
`WWW-Authenticate: Bearer ... resource_metadata=...`.

The token-in-URL form (`/ai/mcp?token=...`, ChatGPT's) works with the SDK client, and nothing
the module handles (tokens, refresh tokens, authorization codes, session cookies, passwords)
ever shows up in a server log record.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from tests.server.live import ADMIN, ANALYST, PASSWORD, LiveServer

from dot_setup.server.clock import FakeClock
from dot_setup.server.headless import HeadlessBrowser, pkce_pair

DAY = 86_400
INVALID = "Invalid API token"
NO_MCP_ACCESS = "Token does not have required MCP access"
TOOLS = {"list_data_sources", "total_sales", "top_customers", "compare_periods", "query"}
ERAS = ("modern", "legacy", "sse")
PROTOCOL = {"modern": "2026-07-28", "legacy": "2025-11-25", "sse": "2025-11-25"}
# The access logger is named too: `dot-setup serve` stops it propagating (runner.configure_logging).
# A handler on `uvicorn.access` is what any deployment's logging config adds, and it is exactly
# what turns uvicorn's own access log (full URLs, `?token=` values included) back on.
SERVER_LOGGERS = (
    "dot_setup",
    "dot_setup.server.access",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "mcp.server",
    "starlette",
    "sse_starlette",
)


# -- the SDK client, with the HTTP statuses it met on the wire ----------------------------------


@dataclass
class Wire:
    """Every response the SDK's HTTP client received: (method, path, status)."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)

    async def hook(self, response: httpx2.Response) -> None:
        self.seen.append((response.request.method, response.request.url.path, response.status_code))

    def statuses(self) -> set[int]:
        return {status for _m, path, status in self.seen if path.startswith("/ai/")}


@asynccontextmanager
async def mcp_client(
    era: str, live: LiveServer, token: str | None, wire: Wire, *, in_url: bool = False
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token and not in_url else {}
    hooks = {"response": [wire.hook]}
    if era == "sse":

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return httpx2.AsyncClient(
                headers=headers, timeout=timeout, auth=auth, event_hooks=hooks
            )

        transport = sse_client(
            live.sse_url, headers=headers, sse_read_timeout=30, httpx_client_factory=factory
        )
        async with Client(transport, mode="legacy") as client:
            yield client
        return
    url = f"{live.mcp_url}?token={token}" if in_url else live.mcp_url
    async with (
        httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(20, read=30), event_hooks=hooks
        ) as http,
        Client(
            streamable_http_client(url, http_client=http),
            mode="auto" if era == "modern" else "legacy",
        ) as client,
    ):
        yield client


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


async def use_tools(era: str, live: LiveServer, token: str, *, in_url: bool = False) -> Any:
    """Connect, list the tools, call two; returns (client protocol, tools, sources, sales)."""
    wire = Wire()
    with anyio.fail_after(30):
        async with mcp_client(era, live, token, wire, in_url=in_url) as client:
            protocol = client.protocol_version
            tools = {t.name for t in (await client.list_tools()).tools}
            sources = await client.call_tool("list_data_sources", {})
            sales = await client.call_tool("total_sales", {"period": "last_quarter"})
    assert wire.statuses() and max(wire.statuses()) < 300, wire.seen
    return protocol, tools, sources, sales


# -- servers and credentials ---------------------------------------------------------------------


def bearer_post(live: LiveServer, path: str, token: str, **kw: Any) -> httpx2.Response:
    return live.api("POST", path, token, **kw)


def new_mcp_token(live: LiveServer, access: str) -> dict[str, Any]:
    resp = bearer_post(live, "/api/mcp-token", access)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture(scope="module")
def eu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The other region: another origin, another database, and a clock of its own that `creds`
    moves a year on (its tokens are then expired there, and still from the EU anywhere else)."""
    with LiveServer(tmp_path_factory.mktemp("dot-eu"), region="eu", clock=FakeClock()) as live:
        yield live


@dataclass
class Creds:
    """Every credential this module used, by case name, with the server it is presented to."""

    cases: dict[str, tuple[LiveServer, str | None]]
    analyst: dict[str, Any]  # the analyst's OAuth token response
    secrets: set[str]


@pytest.fixture(scope="module")
def creds(server: LiveServer, eu_server: LiveServer) -> Creds:
    eu_access = eu_server.sign_in(ANALYST)["access_token"]
    eu_pat = new_mcp_token(eu_server, eu_access)["token"]
    assert eu_pat.startswith("dot_mcp_eu_")
    eu_server.clock.advance(365 * DAY + 1)

    analyst = server.sign_in(ANALYST)
    admin = server.sign_in(ADMIN)["access_token"]
    replaced = new_mcp_token(server, analyst["access_token"])
    good = new_mcp_token(server, analyst["access_token"])
    assert good["replaced_previous"] is True

    revoked = new_mcp_token(server, admin)["token"]
    resp = server.api("DELETE", "/api/mcp-token", admin)
    assert resp.json() == {"revoked": 1}, resp.text
    deleted = new_mcp_token(server, admin)
    resp = server.api("DELETE", f"/api/admin/mcp-tokens/{deleted['id']}", admin)
    assert resp.status_code == 200, resp.text

    api_token = bearer_post(server, "/api/api-tokens", analyst["access_token"]).json()["token"]
    pat = good["token"]
    cases: dict[str, tuple[LiveServer, str | None]] = {
        "mcp_token": (server, pat),
        "oauth_access_token": (server, analyst["access_token"]),
        "missing": (server, None),
        "random": (server, "dot_mcp_us_" + secrets.token_urlsafe(32)),
        "truncated": (server, pat[:-6]),
        "expired_mcp_token": (eu_server, eu_pat),
        "expired_oauth_token": (eu_server, eu_access),
        "revoked_by_user": (server, revoked),
        "deleted_by_admin": (server, deleted["token"]),
        "replaced": (server, replaced["token"]),
        "us_token_on_eu": (eu_server, pat),
        "us_oauth_token_on_eu": (eu_server, analyst["access_token"]),
        "eu_token_on_us": (server, eu_pat),
        "refresh_token_as_bearer": (server, analyst["refresh_token"]),
        "regular_api_token": (server, api_token),
    }
    found = {t for _live, t in cases.values() if t}
    found |= {admin, analyst["refresh_token"]}
    return Creds(cases, analyst, found)


GOOD = ("mcp_token", "oauth_access_token")
# case -> (HTTP status, error_description, a phrase the hint must contain, or None)
REJECTED: dict[str, tuple[int, str, str | None]] = {
    "missing": (401, "Authentication required", None),
    "random": (401, INVALID, "copied the complete token"),
    "truncated": (401, INVALID, "copied the complete token"),
    "expired_mcp_token": (401, INVALID, "365 days"),
    "expired_oauth_token": (401, INVALID, "expired"),
    "revoked_by_user": (401, INVALID, "revoked"),
    "deleted_by_admin": (401, INVALID, "an admin deleted this token"),
    "replaced": (401, INVALID, "replaced by a newer one"),
    "us_token_on_eu": (401, INVALID, "for the US region"),
    "us_oauth_token_on_eu": (401, INVALID, "for the US region"),
    "eu_token_on_us": (401, INVALID, "for the EU region"),
    "refresh_token_as_bearer": (401, INVALID, "refresh token"),
    "regular_api_token": (403, NO_MCP_ACCESS, "regular API token"),
}


# -- server logs, collected for the whole module --------------------------------------------------


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return [fmt.format(r) for r in self.records]


@pytest.fixture(scope="module", autouse=True)
def server_logs(server: LiveServer, eu_server: LiveServer) -> Iterator[Collector]:
    """Every record of the server's loggers while this module runs, at DEBUG (the access log
    writes at INFO). Set up once the servers exist: building one reconfigures uvicorn's loggers."""
    collector = Collector()
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(collector)
        logger.setLevel(logging.DEBUG)
    yield collector
    for logger, level in saved:
        logger.removeHandler(collector)
        logger.setLevel(level)


# -- good credentials work in every era ------------------------------------------------------------


@pytest.mark.parametrize("case", GOOD)
@pytest.mark.parametrize("era", ERAS)
def test_good_credentials_list_and_call_tools(creds: Creds, era: str, case: str) -> None:
    live, token = creds.cases[case]
    assert token is not None
    protocol, tools, sources, sales = asyncio.run(use_tools(era, live, token))
    assert protocol == PROTOCOL[era]
    assert tools == TOOLS
    assert not sources.is_error and sources.structured_content["user"] == ANALYST
    assert [s["source"] for s in sources.structured_content["sources"]] == ["marketing", "sales"]
    assert not sales.is_error, sales.content
    assert sales.structured_content["period"].startswith("last quarter")
    assert sales.structured_content["orders"] > 0


# -- bad credentials fail in every era, and the HTTP answer says why --------------------------------


@pytest.mark.parametrize("case", sorted(REJECTED))
@pytest.mark.parametrize("era", ERAS)
def test_rejected_credentials_fail_in_the_sdk_client(creds: Creds, era: str, case: str) -> None:
    live, token = creds.cases[case]
    status = REJECTED[case][0]
    wire = Wire()

    async def connect() -> Exception | None:
        try:
            with anyio.fail_after(30):
                async with mcp_client(era, live, token, wire) as client:
                    await client.list_tools()
        except Exception as exc:  # the SDK wraps what went wrong in exception groups
            return exc
        return None

    raised = asyncio.run(connect())
    assert raised is not None, f"{case} was let in over {era}"
    errors = leaves(raised)
    if era == "sse":  # the SSE transport raises the HTTP error itself
        assert any(
            isinstance(e, httpx2.HTTPStatusError) and e.response.status_code == status
            for e in errors
        ), errors
    else:  # Streamable HTTP folds every 4xx into one JSON-RPC error
        assert any(isinstance(e, MCPError) and e.code == -32603 for e in errors), errors
    assert wire.statuses() == {status}, wire.seen


def check_denial(resp: httpx2.Response, live: LiveServer, case: str, token: str | None) -> None:
    status, description, hint = REJECTED[case]
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["error_description"] == description
    assert body["error"] == ("insufficient_scope" if status == 403 else "invalid_token")
    if hint is not None:
        assert hint in body["hint"], body
    if token:
        assert token not in resp.text and token[-12:] not in resp.text
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{live.origin}/.well-known/oauth-protected-resource"' in challenge
    if case != "missing":
        assert f'error="{body["error"]}"' in challenge
        assert f'error_description="{description}"' in challenge


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_rejected_credentials_raw_http_answer(creds: Creds, case: str) -> None:
    live, token = creds.cases[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    with httpx2.Client(timeout=15) as http:
        post = http.post(
            live.mcp_url,
            json=initialize,
            headers={**headers, "Accept": "application/json, text/event-stream"},
        )
        check_denial(post, live, case, token)
        sse = http.get(live.sse_url, headers={**headers, "Accept": "text/event-stream"})
        check_denial(sse, live, case, token)
        if token:  # the same answer when the token comes in the URL
            in_url = http.post(
                live.mcp_url,
                params={"token": token},
                json=initialize,
                headers={"Accept": "application/json, text/event-stream"},
            )
            check_denial(in_url, live, case, token)


def test_resource_metadata_named_in_the_challenge_resolves(creds: Creds) -> None:
    for live, token in (creds.cases["random"], creds.cases["us_token_on_eu"]):
        resp = httpx2.post(live.mcp_url, headers={"Authorization": f"Bearer {token}"}, json={})
        url = resp.headers["www-authenticate"].split('resource_metadata="')[1].split('"')[0]
        meta = httpx2.get(url)
        assert meta.status_code == 200
        assert meta.json()["resource"] == live.origin
        assert meta.json()["authorization_servers"] == [live.origin]


def test_preflight_is_not_challenged(server: LiveServer) -> None:
    resp = httpx2.options(
        server.mcp_url,
        headers={
            "Origin": "http://localhost:6274",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
        },
    )
    assert resp.status_code == 200, resp.text
    assert "authorization" in resp.headers["access-control-allow-headers"].lower()


# -- the token in the URL (ChatGPT), and logs that never hold a secret --------------------------------


@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_token_in_url_works_with_the_sdk_client(
    creds: Creds, server_logs: Collector, era: str
) -> None:
    live, token = creds.cases["mcp_token"]
    assert token is not None
    protocol, tools, sources, sales = asyncio.run(use_tools(era, live, token, in_url=True))
    assert protocol == PROTOCOL[era]
    assert tools == TOOLS
    assert sources.structured_content["user"] == ANALYST
    assert not sales.is_error
    access = [r.getMessage() for r in server_logs.records if r.name == "dot_setup.server.access"]
    assert any('"POST /ai/mcp?token=…" 200' in line for line in access), access[-5:]
    assert not [line for line in access if token in line or token[-16:] in line]


def sign_in_with_code(origin: str, email: str) -> tuple[str, dict[str, Any]]:
    """The OAuth sign-in a client does, keeping the authorization code to look for later."""
    redirect_uri = "http://127.0.0.1:9/callback"
    with httpx2.Client(timeout=15) as http:
        reg = http.post(
            f"{origin}/register",
            json={
                "client_name": "log check",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
            },
        )
        client_id = reg.json()["client_id"]
        verifier, challenge = pkce_pair()
        url = httpx2.URL(f"{origin}/authorize").copy_merge_params(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "s1",
                "scope": "mcp",
                "resource": origin,
            }
        )
        with HeadlessBrowser(email, PASSWORD) as browser:
            code = browser.authorize(str(url)).params["code"]
        tokens = http.post(
            f"{origin}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
                "resource": origin,
            },
        ).json()
        refreshed = http.post(
            f"{origin}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": client_id,
            },
        )
        assert refreshed.status_code == 200, refreshed.text
        tokens["rotated"] = refreshed.json()
        tokens["client_id"] = client_id
    return code, tokens


def test_no_secret_in_any_server_log_record(
    server: LiveServer, creds: Creds, server_logs: Collector
) -> None:
    """Last in the module: everything above, plus a sign-in, a refresh and a failed login."""
    code, tokens = sign_in_with_code(server.origin, ANALYST)
    rotated = tokens["rotated"]
    wrong_password = "wrong-" + secrets.token_urlsafe(10)
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        browser.login(server.origin + "/settings/integrations")
        session_cookie = browser.http.cookies["dot_session"]
        page = browser.http.get(server.origin + "/settings/integrations")
        assert page.status_code == 200
    with HeadlessBrowser(ANALYST, wrong_password) as wrong, pytest.raises(RuntimeError):
        wrong.login(server.origin + "/settings/integrations")
    asyncio.run(use_tools("modern", server, rotated["access_token"]))
    asyncio.run(use_tools("sse", server, rotated["access_token"]))
    # A bad token in the URL is logged as a 401, without the token either.
    assert (
        httpx2.post(server.mcp_url, params={"token": "dot_mcp_us_leaky"}, json={}).status_code
        == 401
    )

    watched = creds.secrets | {
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        session_cookie,
        PASSWORD,
        wrong_password,
        "dot_mcp_us_leaky",
    }
    lines = server_logs.lines()
    access = [r.getMessage() for r in server_logs.records if r.name == "dot_setup.server.access"]
    # The log really was written: sign-in, token, MCP with the token in the URL, the 401.
    assert any('"POST /token" 200' in line for line in access)
    assert any('"POST /login" 303' in line for line in access)
    assert any('"POST /ai/mcp?token=…" 401' in line for line in access)
    assert any('"GET /ai/sse" 200' in line for line in access)
    leaks = [
        (line[:160], secret[:12] + "…")
        for line in lines
        for secret in watched
        if secret in line or (len(secret) > 24 and secret[-16:] in line)
    ]
    assert not leaks, leaks
