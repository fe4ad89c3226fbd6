"""The device authorization grant (RFC 8628), for terminals that cannot receive a redirect.

The terminal asks /device_authorization for a code, the person approves it on the /device page
in a browser, and the terminal polls /token: authorization_pending, slow_down when it polls too
fast, then tokens once; access_denied after Deny; expired_token after 10 minutes.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from tests.server.live import ANALYST, PASSWORD, VIEWER, LiveServer

from dot_setup.server.headless import BrowserError, HeadlessBrowser

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def client_id(server: LiveServer, http: httpx2.Client) -> str:
    return register(http, server.origin)


def register(http: httpx2.Client, origin: str) -> str:
    resp = http.post(
        origin + "/register",
        json={
            "client_name": "dot-setup in a terminal",
            "redirect_uris": ["http://127.0.0.1:9/callback"],
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert resp.status_code == 201, resp.text
    cid: str = resp.json()["client_id"]
    return cid


def start(http: httpx2.Client, origin: str, client_id: str) -> dict[str, Any]:
    resp = http.post(
        origin + "/device_authorization",
        data={"client_id": client_id, "scope": "mcp", "resource": origin},
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def poll(http: httpx2.Client, origin: str, client_id: str, device_code: str) -> httpx2.Response:
    return http.post(
        origin + "/token",
        data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id},
    )


def error_of(resp: httpx2.Response) -> str:
    assert resp.status_code == 400, resp.text
    error: str = resp.json()["error"]
    return error


def mcp_ok(http: httpx2.Client, server: LiveServer, token: str) -> bool:
    resp = http.post(
        server.mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "device-test", "version": "1"},
            },
        },
        headers={
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {token}",
        },
    )
    return resp.status_code == 200


def test_device_authorization_response(
    server: LiveServer, http: httpx2.Client, client_id: str
) -> None:
    resp = http.post(
        server.origin + "/device_authorization",
        data={"client_id": client_id, "scope": "mcp", "resource": server.mcp_url},
    )
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert len(body["device_code"]) >= 32
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", body["user_code"])
    assert body["verification_uri"] == server.origin + "/device"
    assert body["verification_uri_complete"] == (
        f"{server.origin}/device?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    # Two requests never share codes.
    other = start(http, server.origin, client_id)
    assert other["device_code"] != body["device_code"]
    assert other["user_code"] != body["user_code"]


def test_device_authorization_refusals(
    server: LiveServer, http: httpx2.Client, client_id: str
) -> None:
    resp = http.post(
        server.origin + "/device_authorization",
        data={"client_id": client_id, "resource": "https://eu.getdot.ai/ai/mcp"},
    )
    assert error_of(resp) == "invalid_target"
    resp = http.post(server.origin + "/device_authorization", data={"client_id": "dcr_nobody"})
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"


def test_approve_then_poll_gets_tokens_once(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    flow = start(http, server.origin, client_id)
    assert error_of(poll(http, server.origin, client_id, flow["device_code"])) == (
        "authorization_pending"
    )
    # Polling again at once, inside the 5 s interval: slow down.
    assert error_of(poll(http, server.origin, client_id, flow["device_code"])) == "slow_down"

    browser.approve_device(flow["verification_uri_complete"])
    resp = poll(http, server.origin, client_id, flow["device_code"])
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    tokens = resp.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "mcp"
    assert mcp_ok(http, server, tokens["access_token"])
    # The tokens belong to the person who approved.
    assert server.api("GET", "/api/me", tokens["access_token"]).json()["email"] == ANALYST

    # The device code is spent.
    assert error_of(poll(http, server.origin, client_id, flow["device_code"])) == "invalid_grant"
    # And its user code no longer opens an approval page.
    with pytest.raises(BrowserError, match="Unknown or expired code"):
        browser.approve_device(flow["verification_uri_complete"])

    # The refresh token rotates like any other.
    renewed = server_refresh(http, server.origin, client_id, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert mcp_ok(http, server, renewed.json()["access_token"])


def server_refresh(
    http: httpx2.Client, origin: str, client_id: str, refresh_token: str
) -> httpx2.Response:
    return http.post(
        origin + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )


def test_deny_gives_access_denied(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    flow = start(http, server.origin, client_id)
    browser.approve_device(flow["verification_uri_complete"], action="deny")
    assert error_of(poll(http, server.origin, client_id, flow["device_code"])) == "access_denied"


def test_viewer_without_mcp_access_cannot_approve(
    server: LiveServer, http: httpx2.Client, client_id: str
) -> None:
    flow = start(http, server.origin, client_id)
    with HeadlessBrowser(VIEWER, PASSWORD) as viewer:
        viewer.approve_device(flow["verification_uri_complete"], action="allow")
    assert error_of(poll(http, server.origin, client_id, flow["device_code"])) == "access_denied"


def test_concurrent_polls_get_the_tokens_once(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    flow = start(http, server.origin, client_id)
    browser.approve_device(flow["verification_uri_complete"])
    barrier = threading.Barrier(4)

    def one(_: int) -> httpx2.Response:
        with httpx2.Client(timeout=30) as h:
            h.get(server.origin + "/healthz")  # connect first, so the polls start together
            barrier.wait()
            return poll(h, server.origin, client_id, flow["device_code"])

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(4)))
    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]
    assert all(error_of(r) == "invalid_grant" for r in answers if r.status_code == 400)


def test_device_code_is_bound_to_its_client(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    flow = start(http, server.origin, client_id)
    browser.approve_device(flow["verification_uri_complete"])
    other = register(http, server.origin)
    assert error_of(poll(http, server.origin, other, flow["device_code"])) == "invalid_grant"
    assert error_of(poll(http, server.origin, client_id, "not-a-device-code")) == "invalid_grant"
    # The rightful client still gets its tokens.
    assert poll(http, server.origin, client_id, flow["device_code"]).status_code == 200


def test_device_page(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    flow = start(http, server.origin, client_id)
    # Signed out: the guide's "Sign in to continue".
    with httpx2.Client(follow_redirects=False, timeout=15) as tab:
        page = tab.get(flow["verification_uri_complete"])
        assert page.status_code == 200  # no 401 without a WWW-Authenticate challenge
        assert "Sign in to continue" in page.text
        assert "Open Dot Login" in page.text
    # Signed in, with the code typed in lower case: the page shows the client and the code.
    browser.login(server.origin + "/device")
    page = browser.http.get(
        server.origin + "/device", params={"user_code": flow["user_code"].lower()}
    )
    assert page.status_code == 200
    assert "dot-setup in a terminal" in page.text
    assert f"<code>{flow['user_code']}</code>" in page.text
    assert "value=allow" in page.text and "value=deny" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    # Without a code: a form to type it in.
    page = browser.http.get(server.origin + "/device")
    assert page.status_code == 200
    assert "name=user_code" in page.text
    # A code nobody issued.
    page = browser.http.get(server.origin + "/device", params={"user_code": "BBBB-CCCC"})
    assert page.status_code == 400
    assert "Unknown or expired code" in page.text
    # A POST without the CSRF token changes nothing.
    resp = browser.http.post(
        server.origin + "/device", data={"user_code": flow["user_code"], "action": "allow"}
    )
    assert resp.status_code == 403
    assert error_of(poll(http, server.origin, client_id, flow["device_code"])) == (
        "authorization_pending"
    )


def test_polling_interval_and_expiry(fresh_server: LiveServer) -> None:
    live = fresh_server
    with httpx2.Client(timeout=15) as http, HeadlessBrowser(ANALYST, PASSWORD) as b:
        cid = register(http, live.origin)
        flow = start(http, live.origin, cid)
        code = flow["device_code"]
        assert error_of(poll(http, live.origin, cid, code)) == "authorization_pending"
        live.clock.advance(5)  # a client that keeps to the interval is never told to slow down
        assert error_of(poll(http, live.origin, cid, code)) == "authorization_pending"
        assert error_of(poll(http, live.origin, cid, code)) == "slow_down"
        live.clock.advance(5)  # after slow_down the interval is 5 s longer (RFC 8628 §3.5)
        assert error_of(poll(http, live.origin, cid, code)) == "slow_down"
        live.clock.advance(15)
        assert error_of(poll(http, live.origin, cid, code)) == "authorization_pending"

        live.clock.advance(601)
        assert error_of(poll(http, live.origin, cid, code)) == "expired_token"
        # The person who opens the page too late is told so, and cannot approve.
        with pytest.raises(BrowserError, match="Unknown or expired code"):
            b.approve_device(flow["verification_uri_complete"])
        assert error_of(poll(http, live.origin, cid, code)) == "expired_token"
