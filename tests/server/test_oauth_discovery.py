"""Discovery and registration, as an MCP client meets them before any sign-in.

Protected resource metadata (RFC 9728, root and path-inserted), authorization server metadata
(RFC 8414) with an issuer string-identical to the origin, the 401 challenge, CORS preflight,
the trailing slash, DNS-rebinding and body-size guards, and dynamic client registration
(RFC 7591) with the redirect URIs real clients send.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.server.config import Limits
from dot_setup.server.headless import HeadlessBrowser, pkce_pair

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "discovery-test", "version": "1"},
    },
}
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(follow_redirects=False, timeout=15) as client:
        yield client


def register(http: httpx2.Client, origin: str, body: dict[str, Any]) -> httpx2.Response:
    return http.post(origin + "/register", json=body)


# -- protected resource metadata --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/ai/mcp",
        "/.well-known/oauth-protected-resource/ai/sse",
    ],
)
def test_protected_resource_metadata(server: LiveServer, http: httpx2.Client, path: str) -> None:
    resp = http.get(server.origin + path)
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    prm = resp.json()
    # The resource is the origin exactly (no slash, no path): one token for /ai/mcp and /ai/sse.
    assert prm["resource"] == server.origin
    assert not prm["resource"].endswith("/")
    assert prm["authorization_servers"] == [server.origin]
    assert prm["scopes_supported"] == ["mcp"]
    assert "offline_access" not in prm["scopes_supported"]
    assert prm["bearer_methods_supported"] == ["header"]


def test_authorization_server_metadata(server: LiveServer, http: httpx2.Client) -> None:
    resp = http.get(server.origin + "/.well-known/oauth-authorization-server")
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    meta = resp.json()
    prm = http.get(server.origin + "/.well-known/oauth-protected-resource").json()
    # String-identical, as clients compare it (RFC 8414 §3.3): no trailing slash.
    assert meta["issuer"] == server.origin
    assert meta["issuer"] == prm["authorization_servers"][0]
    o = server.origin
    assert meta["authorization_endpoint"] == o + "/authorize"
    assert meta["token_endpoint"] == o + "/token"
    assert meta["registration_endpoint"] == o + "/register"
    assert meta["revocation_endpoint"] == o + "/revoke"
    assert meta["device_authorization_endpoint"] == o + "/device_authorization"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["client_id_metadata_document_supported"] is True
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        meta["token_endpoint_auth_methods_supported"]
    )
    assert meta["response_types_supported"] == ["code"]
    assert {
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    } <= set(meta["grant_types_supported"])
    # offline_access would make the SDK add prompt=consent to every authorization.
    assert "offline_access" not in meta["scopes_supported"]
    assert meta["scopes_supported"] == ["mcp"]


def test_metadata_answers_a_cors_preflight(server: LiveServer, http: httpx2.Client) -> None:
    resp = http.options(
        server.origin + "/.well-known/oauth-authorization-server",
        headers={
            "Origin": "http://localhost:6274",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "mcp-protocol-version",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"


# -- the MCP endpoint before sign-in ----------------------------------------------------------


def test_unauthenticated_post_gets_401_with_discovery_challenge(
    server: LiveServer, http: httpx2.Client
) -> None:
    resp = http.post(server.mcp_url, json=INITIALIZE, headers=MCP_ACCEPT)
    assert resp.status_code == 401
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    prm_url = f"{server.origin}/.well-known/oauth-protected-resource"
    assert f'resource_metadata="{prm_url}"' in challenge
    assert 'scope="mcp"' in challenge
    # The advertised metadata URL really is the document.
    assert http.get(prm_url).json()["resource"] == server.origin
    # A browser client (it sends Origin) may read the challenge.
    resp = http.post(
        server.mcp_url, json=INITIALIZE, headers={**MCP_ACCEPT, "Origin": "http://localhost:6274"}
    )
    assert resp.status_code == 401
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "www-authenticate" in resp.headers["access-control-expose-headers"].lower()


def test_legacy_sse_endpoint_also_challenges(server: LiveServer, http: httpx2.Client) -> None:
    resp = http.get(server.sse_url, headers={"Accept": "text/event-stream"})
    assert resp.status_code == 401
    assert "resource_metadata=" in resp.headers["www-authenticate"]


def test_unknown_token_gets_invalid_api_token(server: LiveServer, http: httpx2.Client) -> None:
    resp = http.post(
        server.mcp_url,
        json=INITIALIZE,
        headers={**MCP_ACCEPT, "Authorization": "Bearer dot_oat_us_not-a-real-token"},
    )
    assert resp.status_code == 401
    assert resp.json()["error_description"] == "Invalid API token"
    challenge = resp.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert 'error_description="Invalid API token"' in challenge
    assert "resource_metadata=" in challenge


def test_options_preflight_on_mcp_is_not_401(server: LiveServer, http: httpx2.Client) -> None:
    resp = http.options(
        server.mcp_url,
        headers={
            "Origin": "http://localhost:6274",  # the MCP Inspector
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
        },
    )
    assert resp.status_code in (200, 204)
    assert resp.headers["access-control-allow-origin"] in ("*", "http://localhost:6274")
    allowed = {h.strip().lower() for h in resp.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "mcp-protocol-version", "content-type"} <= allowed
    assert "POST" in resp.headers["access-control-allow-methods"]


def test_trailing_slash_is_handled(server: LiveServer, http: httpx2.Client) -> None:
    # Without a token: the same challenge as /ai/mcp, not a 404.
    resp = http.post(server.mcp_url + "/", json=INITIALIZE, headers=MCP_ACCEPT)
    assert resp.status_code == 401
    assert "resource_metadata=" in resp.headers["www-authenticate"]
    # With a token: served, or sent to /ai/mcp with a method-preserving redirect.
    token = server.sign_in()["access_token"]
    auth = {**MCP_ACCEPT, "Authorization": f"Bearer {token}"}
    resp = http.post(server.mcp_url + "/", json=INITIALIZE, headers=auth)
    if resp.status_code in (307, 308):
        assert resp.headers["location"] == server.mcp_url
        resp = http.post(resp.headers["location"], json=INITIALIZE, headers=auth)
    assert resp.status_code == 200
    assert '"serverInfo"' in resp.text


def test_keep_alive_requests_are_answered_without_delay(server: LiveServer) -> None:
    """Clients keep one connection open; a server socket without TCP_NODELAY made every
    request on it wait ~40 ms for a delayed ACK."""
    took = []
    with httpx2.Client(timeout=15) as http:
        http.get(server.origin + "/healthz")
        for _ in range(15):
            started = time.perf_counter()
            assert http.get(server.origin + "/.well-known/oauth-protected-resource").is_success
            took.append(time.perf_counter() - started)
    median = statistics.median(took)
    assert median < 0.02, f"a keep-alive request takes {median * 1000:.0f} ms"


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/ai/mcp", "/register", "/authorize"]
)
def test_foreign_host_header_is_refused(server: LiveServer, path: str) -> None:
    with httpx2.Client(timeout=15) as http:
        resp = http.request(
            "POST" if path in ("/ai/mcp", "/register") else "GET",
            server.origin + path,
            headers={"Host": "evil.example"},
            json={} if path in ("/ai/mcp", "/register") else None,
        )
    assert resp.status_code == 421


def test_oversize_bodies_get_413(server: LiveServer) -> None:
    # A fresh connection per request: the server need not read what it refuses.
    def post(path: str, content: bytes | Iterator[bytes]) -> int:
        with httpx2.Client(timeout=15) as http:
            return http.post(
                server.origin + path, content=content, headers={"Content-Type": "application/json"}
            ).status_code

    def chunks(total: int) -> Iterator[bytes]:
        for _ in range(total // 50_000):
            yield b" " * 50_000

    assert post("/register", b" " * 200_000) == 413
    assert post("/token", b" " * 200_000) == 413
    # Without a Content-Length (chunked), the server counts what arrives.
    assert post("/register", chunks(200_000)) == 413
    # MCP bodies may be larger (1 MiB), but not without bound.
    assert post("/ai/mcp", b" " * (2 * 1024 * 1024)) == 413
    # The server still answers normally afterwards.
    with httpx2.Client(timeout=15) as http:
        assert http.get(server.origin + "/healthz").json()["ok"] is True


# -- dynamic client registration ---------------------------------------------------------------


CLAUDE = ["https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"]
CHATGPT = [
    "https://chatgpt.com/connector/oauth/abc123XYZ",
    "https://chatgpt.com/connector_platform_oauth_redirect",
]
CURSOR = [
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "https://www.cursor.com/agents/mcp/oauth/callback",
    "http://localhost:54213/callback",
]


@pytest.mark.parametrize(
    ("name", "uris"), [("Claude", CLAUDE), ("ChatGPT", CHATGPT), ("Cursor", CURSOR)]
)
def test_real_clients_redirect_sets_register(
    server: LiveServer, http: httpx2.Client, name: str, uris: list[str]
) -> None:
    resp = register(
        http,
        server.origin,
        {
            "client_name": name,
            "redirect_uris": uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert resp.status_code == 201, resp.text
    info = resp.json()
    assert info["redirect_uris"] == uris
    assert info["client_name"] == name
    assert info["client_id"]
    assert "client_secret" not in info
    assert resp.headers["cache-control"] == "no-store"


def _no_nulls(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


def test_registration_response_shape(server: LiveServer, http: httpx2.Client) -> None:
    public = register(
        http,
        server.origin,
        {"redirect_uris": ["http://127.0.0.1:7777/cb"], "token_endpoint_auth_method": "none"},
    )
    assert public.status_code == 201
    body = public.json()
    assert _no_nulls(body)
    assert isinstance(body["client_id_issued_at"], int)
    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body
    assert body["token_endpoint_auth_method"] == "none"

    confidential = register(
        http,
        server.origin,
        {
            "client_name": "Backend",
            "redirect_uris": ["https://app.example.com/cb"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    assert confidential.status_code == 201
    body = confidential.json()
    assert _no_nulls(body)
    assert isinstance(body["client_secret"], str) and len(body["client_secret"]) >= 32
    assert type(body["client_secret_expires_at"]) is int
    assert type(body["client_id_issued_at"]) is int
    assert body["token_endpoint_auth_method"] == "client_secret_post"


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/cb",
        "javascript:alert(1)",
        "evil-app://cb",
        "https://app.example.com/cb#fragment",
    ],
)
def test_bad_redirect_uris_are_refused(server: LiveServer, http: httpx2.Client, uri: str) -> None:
    resp = register(
        http,
        server.origin,
        {"redirect_uris": ["https://ok.example.com/cb", uri], "token_endpoint_auth_method": "none"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize(
    "body",
    [
        {"client_name": "no uris"},
        {"redirect_uris": [], "client_name": "empty"},
        {"redirect_uris": ["https://ok.example.com/cb"], "token_endpoint_auth_method": "magic"},
    ],
)
def test_incomplete_registrations_are_refused(
    server: LiveServer, http: httpx2.Client, body: dict[str, Any]
) -> None:
    resp = register(http, server.origin, body)
    assert resp.status_code == 400
    assert resp.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


def test_registration_body_must_be_json_object(server: LiveServer, http: httpx2.Client) -> None:
    resp = http.post(
        server.origin + "/register", content=b"[1,2]", headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_client_metadata"


def test_registration_without_scope_still_authorizes(
    server: LiveServer, http: httpx2.Client
) -> None:
    """Claude Code registers without `scope` and authorizes without one either."""
    redirect_uri = "http://localhost:33418/callback"
    reg = register(
        http,
        server.origin,
        {
            "client_name": "claude-code",
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        },
    )
    assert reg.status_code == 201
    client_id = reg.json()["client_id"]
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    url = httpx2.URL(server.origin + "/authorize").copy_merge_params(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "resource": server.mcp_url,  # what Claude Code sends: the MCP URL itself
        }
    )
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        params = browser.authorize(str(url)).params
    assert params["state"] == state
    assert "code" in params, params
    tok = http.post(
        server.origin + "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": client_id,
        },
    )
    assert tok.status_code == 200, tok.text
    assert tok.json()["scope"] == "mcp"
    resp = http.post(
        server.mcp_url,
        json=INITIALIZE,
        headers={**MCP_ACCEPT, "Authorization": f"Bearer {tok.json()['access_token']}"},
    )
    assert resp.status_code == 200


def test_registration_is_rate_limited(tmp_path: Path) -> None:
    with (
        LiveServer(tmp_path / "srv", limits=Limits(register=3)) as live,
        httpx2.Client(timeout=15) as http,
    ):
        body = {"redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "none"}
        statuses = [register(http, live.origin, body).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]
        resp = register(http, live.origin, body)
        assert resp.status_code == 429
        assert int(resp.headers["retry-after"]) >= 1
        assert resp.json()["error"] == "temporarily_unavailable"
        # The window passes: registering works again.
        live.clock.advance(61)
        assert register(http, live.origin, body).status_code == 201
