"""The authorization code flow with PKCE, tokens, refresh rotation, revocation and CIMD clients.

Everything goes over real HTTP to a live server; the consent page is answered by a scripted
browser signed in as the analyst. Tokens are judged the way a client would notice: by what
/token answers and whether /ai/mcp lets them in.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from tests.server.live import ADMIN, ANALYST, PASSWORD, LiveServer

from dot_setup.server.config import DAY, HOUR
from dot_setup.server.headless import BrowserError, HeadlessBrowser, pkce_pair

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "flow-test", "version": "1"},
    },
}
LOOPBACK = "http://127.0.0.1:5000/callback"


# -- helpers ------------------------------------------------------------------------------------


@dataclass
class Registered:
    client_id: str
    redirect_uri: str
    secret: str | None = None


@dataclass
class Grant:
    client: Registered
    access_token: str
    refresh_token: str


@pytest.fixture(scope="module")
def public(server: LiveServer, http: httpx2.Client) -> Registered:
    """One public client for the flows that need no client of their own (the shared server
    allows 30 registrations per window, and its clock never moves)."""
    return register(http, server.origin, [LOOPBACK, "https://app.example.com/cb"])


def register(
    http: httpx2.Client,
    origin: str,
    redirect_uris: list[str] | None = None,
    auth_method: str = "none",
    name: str = "Flow test client",
) -> Registered:
    uris = redirect_uris or [LOOPBACK]
    resp = http.post(
        origin + "/register",
        json={
            "client_name": name,
            "redirect_uris": uris,
            "token_endpoint_auth_method": auth_method,
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return Registered(body["client_id"], uris[0], body.get("client_secret"))


def authorize_url(origin: str, client_id: str, redirect_uri: str | None, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "code_challenge_method": "S256",
        "scope": "mcp",
        "resource": origin,
        **extra,
    }
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    return str(httpx2.URL(origin + "/authorize").copy_merge_params(params))


def get_code(
    browser: HeadlessBrowser, origin: str, client: Registered, redirect_uri: str | None = None
) -> tuple[str, str]:
    """Authorize through the consent page; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    outcome = browser.authorize(
        authorize_url(
            origin,
            client.client_id,
            redirect_uri or client.redirect_uri,
            code_challenge=challenge,
            state=state,
        )
    )
    params = outcome.params
    assert params.get("state") == state, params
    assert "code" in params, params
    return params["code"], verifier


def exchange(
    http: httpx2.Client,
    origin: str,
    client: Registered,
    code: str,
    verifier: str,
    redirect_uri: str | None = None,
    **extra: str,
) -> httpx2.Response:
    return http.post(
        origin + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or client.redirect_uri,
            "code_verifier": verifier,
            "client_id": client.client_id,
            "resource": origin,
            **extra,
        },
    )


def refresh(
    http: httpx2.Client, origin: str, client: Registered, refresh_token: str
) -> httpx2.Response:
    return http.post(
        origin + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client.client_id,
            "resource": origin,
        },
    )


def sign_in(
    http: httpx2.Client, browser: HeadlessBrowser, origin: str, client: Registered | None = None
) -> Grant:
    client = client or register(http, origin)
    code, verifier = get_code(browser, origin, client)
    resp = exchange(http, origin, client, code, verifier)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return Grant(client, body["access_token"], body["refresh_token"])


def mcp_status(http: httpx2.Client, server: LiveServer, token: str) -> int:
    resp = http.post(
        server.mcp_url,
        json=INITIALIZE,
        headers={
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {token}",
        },
    )
    return resp.status_code


def oauth_error(resp: httpx2.Response) -> str:
    error: str = resp.json()["error"]
    return error


def at_once(
    origin: str, send: Callable[[httpx2.Client], httpx2.Response], n: int = 4
) -> list[httpx2.Response]:
    """The same request from n connections at the same moment (a replay racing the client)."""
    barrier = threading.Barrier(n)

    def one(_: int) -> httpx2.Response:
        with httpx2.Client(timeout=30) as h:
            h.get(origin + "/healthz")  # connect first, so the requests start together
            barrier.wait()
            return send(h)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


# -- the code flow -----------------------------------------------------------------------------


def test_code_flow_on_another_loopback_port(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    client = public
    used = "http://127.0.0.1:61234/callback"  # native apps pick a free port each time
    verifier, challenge = pkce_pair()
    outcome = browser.authorize(
        authorize_url(
            server.origin, client.client_id, used, code_challenge=challenge, state="xyz 1/2"
        )
    )
    assert outcome.location.startswith(used + "?")
    params = outcome.params
    assert params["state"] == "xyz 1/2"
    assert params["iss"] == server.origin
    assert params["code"]

    resp = exchange(http, server.origin, client, params["code"], verifier, redirect_uri=used)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "mcp"
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    assert mcp_status(http, server, body["access_token"]) == 200
    # The refresh token is not an access token.
    assert mcp_status(http, server, body["refresh_token"]) == 401


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"code_challenge_method": "S256"},  # no challenge at all
        {"code_challenge": "x" * 43, "code_challenge_method": ""},  # method omitted → plain
    ],
    ids=["plain", "no-challenge", "no-method"],
)
def test_pkce_s256_is_required(
    server: LiveServer, http: httpx2.Client, public: Registered, pkce: dict[str, str]
) -> None:
    client = public
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "state": "s1",
        "resource": server.origin,
        **pkce,
    }
    params = {k: v for k, v in params.items() if v}
    resp = http.get(server.origin + "/authorize", params=params)
    assert resp.status_code == 302
    location = httpx2.URL(resp.headers["location"])
    assert str(location).startswith(client.redirect_uri + "?")
    assert location.params["error"] == "invalid_request"
    assert location.params["iss"] == server.origin
    assert location.params["state"] == "s1"
    assert "code" not in location.params


def test_unsupported_response_type_goes_back_with_iss(
    server: LiveServer, http: httpx2.Client, public: Registered
) -> None:
    client = public
    _, challenge = pkce_pair()
    url = authorize_url(
        server.origin,
        client.client_id,
        client.redirect_uri,
        response_type="token",
        code_challenge=challenge,
        state="s2",
    )
    resp = http.get(url)
    assert resp.status_code == 302
    location = httpx2.URL(resp.headers["location"])
    assert location.params["error"] == "unsupported_response_type"
    assert location.params["iss"] == server.origin
    assert location.params["state"] == "s2"


def test_wrong_or_missing_verifier_is_invalid_grant(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    client = public
    code, verifier = get_code(browser, server.origin, client)
    other_verifier, _ = pkce_pair()
    resp = exchange(http, server.origin, client, code, other_verifier)
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"
    resp = http.post(
        server.origin + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "client_id": client.client_id,
        },
    )
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"
    assert verifier  # the right verifier was never sent


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example/callback",
        "http://127.0.0.1:5000/other-path",
        "https://127.0.0.1:5000/callback",
        "http://127.0.0.1:5000/callback?x=1",
        None,  # omitted while two are registered: ambiguous
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    server: LiveServer, http: httpx2.Client, public: Registered, redirect_uri: str | None
) -> None:
    client = public
    _, challenge = pkce_pair()
    resp = http.get(
        authorize_url(
            server.origin, client.client_id, redirect_uri, code_challenge=challenge, state="s"
        )
    )
    assert resp.status_code == 400
    assert "location" not in resp.headers
    assert "text/html" in resp.headers["content-type"]
    assert "Redirect address not registered" in resp.text
    assert "evil.example" not in resp.headers.get("location", "")


def test_unknown_client_gets_an_error_page(server: LiveServer, http: httpx2.Client) -> None:
    _, challenge = pkce_pair()
    resp = http.get(
        authorize_url(server.origin, "dcr_does-not-exist", LOOPBACK, code_challenge=challenge)
    )
    assert resp.status_code == 400
    assert "location" not in resp.headers
    assert "Unknown client" in resp.text


@pytest.mark.parametrize(
    "resource",
    ["https://eu.getdot.ai/ai/mcp", "http://127.0.0.1:1/ai/mcp", "{origin}/api", "{origin}#frag"],
)
def test_resource_of_another_server_is_invalid_target(
    server: LiveServer, http: httpx2.Client, public: Registered, resource: str
) -> None:
    client = public
    _, challenge = pkce_pair()
    url = authorize_url(
        server.origin,
        client.client_id,
        client.redirect_uri,
        code_challenge=challenge,
        state="s3",
        resource=resource.format(origin=server.origin),
    )
    resp = http.get(url)
    assert resp.status_code == 302
    location = httpx2.URL(resp.headers["location"])
    assert str(location).startswith(client.redirect_uri + "?")
    assert location.params["error"] == "invalid_target"
    assert location.params["iss"] == server.origin
    assert location.params["state"] == "s3"


@pytest.mark.parametrize(
    "resource", ["{origin}", "{origin}/", "{origin}/ai/mcp", "{origin}/ai/sse"]
)
def test_this_servers_resource_forms_are_accepted(
    server: LiveServer,
    http: httpx2.Client,
    public: Registered,
    browser: HeadlessBrowser,
    resource: str,
) -> None:
    client = public
    verifier, challenge = pkce_pair()
    outcome = browser.authorize(
        authorize_url(
            server.origin,
            client.client_id,
            client.redirect_uri,
            code_challenge=challenge,
            state="s",
            resource=resource.format(origin=server.origin),
        )
    )
    assert "code" in outcome.params, outcome.params
    resp = exchange(
        http,
        server.origin,
        client,
        outcome.params["code"],
        verifier,
        resource=resource.format(origin=server.origin),
    )
    assert resp.status_code == 200, resp.text
    assert mcp_status(http, server, resp.json()["access_token"]) == 200


def test_token_request_for_another_resource_is_invalid_target(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    client = public
    code, verifier = get_code(browser, server.origin, client)
    resp = exchange(
        http, server.origin, client, code, verifier, resource="https://eu.getdot.ai/ai/mcp"
    )
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_target"


def test_code_reuse_revokes_what_the_code_gave(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    client = public
    code, verifier = get_code(browser, server.origin, client)
    first = exchange(http, server.origin, client, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert mcp_status(http, server, tokens["access_token"]) == 200

    again = exchange(http, server.origin, client, code, verifier)
    assert again.status_code == 400
    assert oauth_error(again) == "invalid_grant"
    # RFC 6749 §4.1.2: the tokens issued from a replayed code are revoked.
    assert mcp_status(http, server, tokens["access_token"]) == 401
    resp = refresh(http, server.origin, client, tokens["refresh_token"])
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"


def test_concurrent_redemptions_of_one_code_issue_one_pair(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    code, verifier = get_code(browser, server.origin, public)
    answers = at_once(server.origin, lambda h: exchange(h, server.origin, public, code, verifier))
    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]
    assert all(oauth_error(r) == "invalid_grant" for r in answers if r.status_code == 400)


def test_concurrent_refreshes_with_one_token_issue_one_pair(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    answers = at_once(
        server.origin, lambda h: refresh(h, server.origin, public, grant.refresh_token)
    )
    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]
    assert all(oauth_error(r) == "invalid_grant" for r in answers if r.status_code == 400)


def test_code_is_bound_to_its_client_and_redirect_uri(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    client = public
    thief = register(http, server.origin)
    code, verifier = get_code(browser, server.origin, client)
    stolen = exchange(http, server.origin, thief, code, verifier)
    assert stolen.status_code == 400
    assert oauth_error(stolen) == "invalid_grant"
    wrong_uri = exchange(
        http, server.origin, client, code, verifier, redirect_uri="http://127.0.0.1:5000/cb2"
    )
    assert wrong_uri.status_code == 400
    assert oauth_error(wrong_uri) == "invalid_grant"
    # Neither attempt used the code up.
    assert exchange(http, server.origin, client, code, verifier).status_code == 200


def test_unknown_code_and_grant_type(
    server: LiveServer, http: httpx2.Client, public: Registered
) -> None:
    client = public
    verifier, _ = pkce_pair()
    resp = exchange(http, server.origin, client, "not-a-code", verifier)
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"
    resp = http.post(
        server.origin + "/token", data={"grant_type": "password", "client_id": client.client_id}
    )
    assert resp.status_code == 400
    assert oauth_error(resp) == "unsupported_grant_type"
    resp = http.post(server.origin + "/token", data={"grant_type": "authorization_code"})
    assert resp.status_code == 401
    assert oauth_error(resp) == "invalid_client"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_confidential_client(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, method: str
) -> None:
    client = register(http, server.origin, ["https://app.example.com/cb"], auth_method=method)
    assert client.secret

    def token_request(secret: str | None) -> httpx2.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        }
        if method == "client_secret_basic":
            auth = httpx2.BasicAuth(client.client_id, secret or "")
            return http.post(server.origin + "/token", data=data, auth=auth)
        data["client_id"] = client.client_id
        if secret is not None:
            data["client_secret"] = secret
        return http.post(server.origin + "/token", data=data)

    code, verifier = get_code(browser, server.origin, client)
    for bad in ("wrong-secret", None):
        resp = token_request(bad)
        assert resp.status_code == 401
        assert oauth_error(resp) == "invalid_client"
        if method == "client_secret_basic":  # RFC 6749 §5.2: answer Basic with a Basic challenge
            assert resp.headers["www-authenticate"].lower().startswith("basic ")
    ok = token_request(client.secret)
    assert ok.status_code == 200, ok.text
    assert mcp_status(http, server, ok.json()["access_token"]) == 200


# -- refresh -----------------------------------------------------------------------------------


def test_refresh_rotates(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    first = refresh(http, server.origin, grant.client, grant.refresh_token)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "mcp"
    assert body["refresh_token"] != grant.refresh_token
    assert body["access_token"] != grant.access_token
    assert mcp_status(http, server, body["access_token"]) == 200
    # The new refresh token rotates again.
    second = refresh(http, server.origin, grant.client, body["refresh_token"])
    assert second.status_code == 200
    assert mcp_status(http, server, second.json()["access_token"]) == 200


def test_refresh_token_reuse_revokes_the_whole_sign_in(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    newer = refresh(http, server.origin, grant.client, grant.refresh_token).json()
    newest = refresh(http, server.origin, grant.client, newer["refresh_token"]).json()
    assert mcp_status(http, server, newest["access_token"]) == 200

    replay = refresh(http, server.origin, grant.client, grant.refresh_token)
    assert replay.status_code == 400
    assert oauth_error(replay) == "invalid_grant"
    # Every token of that sign-in is now dead, the newest ones included.
    resp = refresh(http, server.origin, grant.client, newest["refresh_token"])
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"
    assert mcp_status(http, server, newest["access_token"]) == 401
    resp = http.post(
        server.mcp_url,
        json=INITIALIZE,
        headers={
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {newest['access_token']}",
        },
    )
    assert resp.json()["error_description"] == "Invalid API token"
    # Another sign-in of the same user is untouched.
    other = sign_in(http, browser, server.origin, public)
    assert mcp_status(http, server, other.access_token) == 200


def test_refresh_token_of_another_client_is_refused(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    other = register(http, server.origin)
    resp = refresh(http, server.origin, other, grant.refresh_token)
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"
    resp = refresh(http, server.origin, grant.client, "dot_ort_us_made-up")
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"
    # An access token is not a refresh token.
    resp = refresh(http, server.origin, grant.client, grant.access_token)
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"


def test_expiry_rules(fresh_server: LiveServer) -> None:
    """Codes last 5 minutes, access tokens 1 hour, the sign-in (refresh) one year from consent."""
    live = fresh_server
    with httpx2.Client(timeout=15) as http, HeadlessBrowser(ANALYST, PASSWORD) as b:
        grant = sign_in(http, b, live.origin)
        client = register(http, live.origin)
        late_code, late_verifier = get_code(b, live.origin, client)

        live.clock.advance(301)
        resp = exchange(http, live.origin, client, late_code, late_verifier)
        assert resp.status_code == 400
        assert oauth_error(resp) == "invalid_grant"
        assert mcp_status(http, live, grant.access_token) == 200

        live.clock.advance(HOUR - 300)  # 3601 s after sign-in
        resp = http.post(
            live.mcp_url,
            json=INITIALIZE,
            headers={
                "Accept": "application/json, text/event-stream",
                "Authorization": f"Bearer {grant.access_token}",
            },
        )
        assert resp.status_code == 401
        assert resp.json()["error_description"] == "Invalid API token"
        # The hint speaks of an OAuth access token, not of generating an MCP token.
        assert "1 hour" in resp.json()["hint"]
        challenge = resp.headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge
        assert 'error_description="Invalid API token"' in challenge
        assert "resource_metadata=" in challenge

        renewed = refresh(http, live.origin, grant.client, grant.refresh_token)
        assert renewed.status_code == 200, renewed.text
        tokens = renewed.json()
        assert mcp_status(http, live, tokens["access_token"]) == 200

        # Rotation does not extend the year: still fine after 364 days...
        live.clock.advance(364 * DAY - HOUR)
        renewed = refresh(http, live.origin, grant.client, tokens["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        tokens = renewed.json()
        # ...but not after 366.
        live.clock.advance(2 * DAY)
        resp = refresh(http, live.origin, grant.client, tokens["refresh_token"])
        assert resp.status_code == 400
        assert oauth_error(resp) == "invalid_grant"
        assert mcp_status(http, live, tokens["access_token"]) == 401


# -- revocation --------------------------------------------------------------------------------


def revoke(http: httpx2.Client, origin: str, client: Registered, token: str) -> httpx2.Response:
    return http.post(origin + "/revoke", data={"token": token, "client_id": client.client_id})


def test_revoking_the_refresh_token_ends_the_sign_in(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    resp = revoke(http, server.origin, grant.client, grant.refresh_token)
    assert resp.status_code == 200
    assert mcp_status(http, server, grant.access_token) == 401
    resp = refresh(http, server.origin, grant.client, grant.refresh_token)
    assert resp.status_code == 400
    assert oauth_error(resp) == "invalid_grant"


def test_revoking_an_access_token(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    assert mcp_status(http, server, grant.access_token) == 200
    assert revoke(http, server.origin, grant.client, grant.access_token).status_code == 200
    assert mcp_status(http, server, grant.access_token) == 401
    # Revoking it again, or a token nobody knows, still answers 200 (RFC 7009 §2.2).
    assert revoke(http, server.origin, grant.client, grant.access_token).status_code == 200
    assert revoke(http, server.origin, grant.client, "dot_oat_us_unknown").status_code == 200


def test_a_client_cannot_revoke_another_clients_tokens(
    server: LiveServer, http: httpx2.Client, public: Registered, browser: HeadlessBrowser
) -> None:
    grant = sign_in(http, browser, server.origin, public)
    stranger = register(http, server.origin)
    assert revoke(http, server.origin, stranger, grant.refresh_token).status_code == 200
    assert mcp_status(http, server, grant.access_token) == 200
    assert refresh(http, server.origin, grant.client, grant.refresh_token).status_code == 200


def test_password_change_revokes_everything(fresh_server: LiveServer) -> None:
    live = fresh_server
    new_password = "a-brand-new-password"
    with httpx2.Client(timeout=15) as http, HeadlessBrowser(ANALYST, PASSWORD) as b:
        grant = sign_in(http, b, live.origin)  # also leaves b with a web session
        mcp_token = live.api("POST", "/api/mcp-token", grant.access_token).json()["token"]
        assert mcp_status(http, live, mcp_token) == 200
        with HeadlessBrowser(ADMIN, PASSWORD) as admin_browser:
            admin = sign_in(http, admin_browser, live.origin)
        settings = b.http.get(live.origin + "/settings/integrations")
        assert settings.status_code == 200

        resp = live.api(
            "POST",
            "/api/account/password",
            grant.access_token,
            json={"current_password": PASSWORD, "new_password": new_password},
        )
        assert resp.status_code == 200, resp.text

        assert mcp_status(http, live, grant.access_token) == 401
        assert mcp_status(http, live, mcp_token) == 401
        resp = refresh(http, live.origin, grant.client, grant.refresh_token)
        assert resp.status_code == 400
        assert oauth_error(resp) == "invalid_grant"
        assert live.api("GET", "/api/me", grant.access_token).status_code == 401
        # The browser session is gone too.
        settings = b.http.get(live.origin + "/settings/integrations")
        assert settings.status_code in (302, 303)
        assert settings.headers["location"].startswith("/login")
        # Other users keep their sign-ins.
        assert mcp_status(http, live, admin.access_token) == 200
        # The old password no longer signs in; the new one does.
        with HeadlessBrowser(ANALYST, PASSWORD) as old, pytest.raises(BrowserError, match="401"):
            old.login(live.origin + "/settings/integrations")
        with HeadlessBrowser(ANALYST, new_password) as renewed:
            assert mcp_status(http, live, sign_in(http, renewed, live.origin).access_token) == 200


# -- client ID metadata documents (CIMD) -------------------------------------------------------


class _Documents:
    """A tiny HTTP server on 127.0.0.1 serving client metadata documents by path."""

    def __init__(self) -> None:
        self.docs: dict[str, bytes] = {}
        docs = self.docs

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = docs.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def publish(self, name: str, document: dict[str, Any] | None = None, **fields: Any) -> str:
        url = f"{self.base}/{name}.json"
        doc = document or {"client_id": url, **fields}
        self.docs[f"/{name}.json"] = json.dumps(doc).encode()
        return url

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def documents() -> Iterator[_Documents]:
    docs = _Documents()
    yield docs
    docs.close()


def test_cimd_client_authorizes_without_registration(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, documents: _Documents
) -> None:
    redirect_uri = "http://127.0.0.1:8123/cb"
    client_id = documents.publish(
        "good",
        client_name="Local CIMD App",
        redirect_uris=[redirect_uri],
        token_endpoint_auth_method="none",
    )
    verifier, challenge = pkce_pair()
    start = browser.http.get(
        authorize_url(server.origin, client_id, redirect_uri, code_challenge=challenge, state="c")
    )
    assert start.status_code == 302, start.text
    consent_url = server.origin + start.headers["location"]
    page = browser.http.get(consent_url)
    if page.status_code == 401:  # first sign-in of this module's browser
        browser.login(consent_url)
        page = browser.http.get(consent_url)
    assert page.status_code == 200
    assert "Local CIMD App" in page.text
    assert "127.0.0.1" in page.text  # where the code goes
    outcome = browser.consent(consent_url)
    assert outcome.params["iss"] == server.origin
    resp = exchange(
        http, server.origin, Registered(client_id, redirect_uri), outcome.params["code"], verifier
    )
    assert resp.status_code == 200, resp.text
    assert mcp_status(http, server, resp.json()["access_token"]) == 200


@pytest.mark.parametrize("problem", ["client_id", "redirect_uri", "missing", "confidential"])
def test_bad_cimd_documents_get_an_error_page(
    server: LiveServer, http: httpx2.Client, documents: _Documents, problem: str
) -> None:
    redirect_uri = "http://127.0.0.1:8123/cb"
    name = f"bad-{problem}"
    if problem == "client_id":
        client_id = documents.publish(
            name,
            {
                "client_id": documents.base + "/someone-else.json",
                "client_name": "Impostor",
                "redirect_uris": [redirect_uri],
            },
        )
    elif problem == "redirect_uri":
        client_id = documents.publish(
            name, client_name="Elsewhere", redirect_uris=["http://127.0.0.1:8123/other"]
        )
    elif problem == "missing":
        client_id = f"{documents.base}/nothing-here.json"
    else:
        client_id = documents.publish(
            name,
            client_name="Has a secret",
            redirect_uris=[redirect_uri],
            token_endpoint_auth_method="client_secret_basic",
        )
    _, challenge = pkce_pair()
    resp = http.get(
        authorize_url(server.origin, client_id, redirect_uri, code_challenge=challenge, state="c")
    )
    assert resp.status_code == 400
    assert "location" not in resp.headers
    assert "text/html" in resp.headers["content-type"]
