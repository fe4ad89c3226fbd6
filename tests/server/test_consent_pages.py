"""The login and consent pages, as a person meets them in a browser.

The connect guide's messages ("Sign in to continue" with "Open Dot Login" and "Continue",
"Authorization session expired" after 10 minutes), what the consent page tells the person
(client, where the browser goes, their data sources), and the page defences: CSRF, Origin,
clickjacking headers, login throttling and the open-redirect guard.
"""

from __future__ import annotations

import html
import re
import secrets
from pathlib import Path

import httpx2
import pytest
from tests.server.live import ADMIN, ANALYST, PASSWORD, VIEWER, LiveServer

from dot_setup.server.config import Limits
from dot_setup.server.headless import HeadlessBrowser, pkce_pair

CSRF = re.compile(r"name='csrf' value='([^']*)'")


@pytest.fixture(scope="module")
def client_id(server: LiveServer, http: httpx2.Client) -> str:
    return register(http, server.origin, "Consent test app", ["https://app.example.com/cb"])


def register(http: httpx2.Client, origin: str, name: str, uris: list[str]) -> str:
    resp = http.post(
        origin + "/register",
        json={"client_name": name, "redirect_uris": uris, "token_endpoint_auth_method": "none"},
    )
    assert resp.status_code == 201, resp.text
    cid: str = resp.json()["client_id"]
    return cid


def start(
    http: httpx2.Client, origin: str, client_id: str, redirect_uri: str, state: str = "st"
) -> str:
    """GET /authorize as the AI client's browser tab would; returns the consent page URL."""
    _, challenge = pkce_pair()
    resp = http.get(
        origin + "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "scope": "mcp",
            "resource": origin,
        },
    )
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.startswith("/consent?r=")
    return origin + location


def open_consent(browser: HeadlessBrowser, url: str) -> httpx2.Response:
    page = browser.http.get(url)
    if "Sign in to continue" in page.text:
        browser.login(url)
        page = browser.http.get(url)
    return page


def submit(
    browser: HeadlessBrowser, origin: str, page: httpx2.Response, action: str, **headers: str
) -> httpx2.Response:
    csrf = CSRF.search(page.text)
    r = re.search(r"name='r' value='([^']*)'", page.text)
    assert csrf and r, page.text
    return browser.http.post(
        origin + "/consent",
        data={"csrf": csrf.group(1), "r": r.group(1), "action": action},
        headers=headers,
    )


def sources_listed(page: str) -> set[str]:
    found = re.search(r"Read the data sources you can access: ([^<]*)</li>", page)
    assert found, page
    return {s.strip() for s in found.group(1).split(",")}


def params_of(location: str) -> dict[str, str]:
    return dict(httpx2.URL(location).params)


# -- signed out: "Sign in to continue" -----------------------------------------------------------


def test_signed_out_visitor_is_asked_to_sign_in_then_continue(
    server: LiveServer, client_id: str
) -> None:
    with httpx2.Client(follow_redirects=False, timeout=15) as tab:
        consent_url = start(tab, server.origin, client_id, "https://app.example.com/cb")
        page = tab.get(consent_url)
        assert page.status_code == 200  # a page for a person: no 401 without a challenge
        assert "www-authenticate" not in page.headers
        assert "Sign in to continue" in page.text
        assert "You need to be signed into Dot first" in page.text
        link = re.search(r"href='(/login\?next=[^']*)'[^>]*>Open Dot Login<", page.text)
        assert link, page.text
        login_url = html.unescape(link.group(1))
        rid = consent_url.split("r=", 1)[1]
        assert httpx2.URL(login_url).params["next"] == f"/consent?r={rid}"
        # "Continue" re-opens the same consent request.
        form = re.search(r"<form method=get action='/consent'>(.*?)</form>", page.text)
        assert form and ">Continue<" in form.group(1)
        assert f"name='r' value='{rid}'" in form.group(1)
        # No Allow button for a visitor who is not signed in.
        assert "value=allow" not in page.text

        # Open Dot Login, sign in: the login page sends the person back to the consent page.
        login = tab.get(server.origin + login_url)
        assert login.status_code == 200
        csrf = CSRF.search(login.text)
        nxt = re.search(r"name='next' value='([^']*)'", login.text)
        assert csrf and nxt
        assert html.unescape(nxt.group(1)) == f"/consent?r={rid}"
        signed_in = tab.post(
            server.origin + "/login",
            data={
                "csrf": csrf.group(1),
                "next": html.unescape(nxt.group(1)),
                "email": ANALYST,
                "password": PASSWORD,
            },
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == f"/consent?r={rid}"
        # Continue: now the consent page itself.
        page = tab.get(server.origin + f"/consent?r={rid}")
        assert page.status_code == 200
        assert "value=allow" in page.text


def test_signed_out_post_is_asked_to_sign_in(server: LiveServer, client_id: str) -> None:
    with httpx2.Client(follow_redirects=False, timeout=15) as tab:
        consent_url = start(tab, server.origin, client_id, "https://app.example.com/cb")
        rid = consent_url.split("r=", 1)[1]
        resp = tab.post(server.origin + "/consent", data={"r": rid, "action": "allow"})
        assert resp.status_code == 200
        assert "Sign in to continue" in resp.text
        assert "location" not in resp.headers


# -- what the consent page shows -----------------------------------------------------------------


def test_consent_page_shows_client_destination_and_data_sources(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser
) -> None:
    name = "<script>alert(1)</script>"
    cid = register(http, server.origin, name, ["https://app.example.com/cb"])
    page = open_consent(browser, start(http, server.origin, cid, "https://app.example.com/cb"))
    assert page.status_code == 200
    text = page.text
    # The client's name, escaped: a registration cannot inject script into Dot's page.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>" not in text
    # Who is signing in, where the browser goes, and which data the client will read.
    assert ANALYST in text
    assert "<b>app.example.com</b>" in text
    assert "Dot does not know this site" in text
    assert sources_listed(text) == {"sales", "marketing"}  # not finance: no grant for it
    assert "value=allow" in text and "value=deny" in text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://claude.ai/api/mcp/auth_callback", "<b>claude.ai</b> (Claude)"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "(Cursor)"),
        ("http://127.0.0.1:45678/callback", "That address is on this computer"),
    ],
)
def test_consent_page_names_where_the_code_goes(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, uri: str, expected: str
) -> None:
    cid = register(http, server.origin, "Labelled", [uri])
    page = open_consent(browser, start(http, server.origin, cid, uri))
    assert page.status_code == 200
    assert expected in page.text
    assert "Dot does not know this site" not in page.text


def test_admin_sees_every_data_source(server: LiveServer, http: httpx2.Client) -> None:
    cid = register(http, server.origin, "Admin app", ["https://app.example.com/cb"])
    with HeadlessBrowser(ADMIN, PASSWORD) as admin:
        page = open_consent(admin, start(http, server.origin, cid, "https://app.example.com/cb"))
    assert page.status_code == 200
    assert sources_listed(page.text) == {"finance", "marketing", "sales"}


# -- answers -------------------------------------------------------------------------------------


def test_allow_redirects_with_code_state_and_iss(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    page = open_consent(
        browser, start(http, server.origin, client_id, "https://app.example.com/cb", "a b&c")
    )
    resp = submit(browser, server.origin, page, "allow")
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("https://app.example.com/cb?")
    params = params_of(resp.headers["location"])
    assert params["code"]
    assert params["state"] == "a b&c"
    assert params["iss"] == server.origin
    assert resp.headers["cache-control"] == "no-store"


def test_deny_redirects_with_access_denied(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    page = open_consent(
        browser, start(http, server.origin, client_id, "https://app.example.com/cb", "d1")
    )
    resp = submit(browser, server.origin, page, "deny")
    assert resp.status_code == 303
    params = params_of(resp.headers["location"])
    assert params["error"] == "access_denied"
    assert params["state"] == "d1"
    assert params["iss"] == server.origin
    assert "code" not in params


def test_a_used_request_cannot_be_reused(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    consent_url = start(http, server.origin, client_id, "https://app.example.com/cb")
    page = open_consent(browser, consent_url)
    assert submit(browser, server.origin, page, "allow").status_code == 303
    again = submit(browser, server.origin, page, "allow")
    assert again.status_code == 400
    assert "location" not in again.headers
    assert "Authorization already completed" in again.text
    reopened = browser.http.get(consent_url)
    assert reopened.status_code == 400
    assert "value=allow" not in reopened.text


def test_post_without_csrf_or_from_another_origin_is_refused(
    server: LiveServer, http: httpx2.Client, browser: HeadlessBrowser, client_id: str
) -> None:
    page = open_consent(
        browser, start(http, server.origin, client_id, "https://app.example.com/cb")
    )
    rid = re.search(r"name='r' value='([^']*)'", page.text)
    assert rid
    for data in (
        {"r": rid.group(1), "action": "allow"},
        {"r": rid.group(1), "action": "allow", "csrf": "forged"},
    ):
        resp = browser.http.post(server.origin + "/consent", data=data)
        assert resp.status_code == 403
        assert "location" not in resp.headers
    resp = submit(browser, server.origin, page, "allow", Origin="https://evil.example")
    assert resp.status_code == 403
    assert "location" not in resp.headers
    # The refused attempts did not use the request up: the person can still answer.
    resp = submit(browser, server.origin, page, "allow", Origin=server.origin)
    assert resp.status_code == 303
    assert "code" in params_of(resp.headers["location"])


def test_unknown_consent_request(server: LiveServer, browser: HeadlessBrowser) -> None:
    open_consent(browser, server.origin + "/consent?r=x")  # make sure the browser is signed in
    resp = browser.http.get(server.origin + "/consent?r=not-a-request")
    assert resp.status_code == 400
    assert "Unknown authorization request" in resp.text


def test_viewer_without_mcp_access_gets_no_code(server: LiveServer, http: httpx2.Client) -> None:
    cid = register(http, server.origin, "Viewer app", ["https://app.example.com/cb"])
    with HeadlessBrowser(VIEWER, PASSWORD) as viewer:
        consent_url = start(http, server.origin, cid, "https://app.example.com/cb", "v1")
        page = open_consent(viewer, consent_url)
        assert page.status_code == 403
        assert "does not have MCP access" in page.text
        assert "value=allow" not in page.text
        # Even a hand-made "allow" is answered as a denial.
        resp = submit(viewer, server.origin, page, "allow")
    assert resp.status_code == 303
    params = params_of(resp.headers["location"])
    assert params["error"] == "access_denied"
    assert params["state"] == "v1"
    assert "code" not in params


# -- expiry (moves the clock: a server of its own) ---------------------------------------------


def test_consent_page_expires_after_ten_minutes(fresh_server: LiveServer) -> None:
    live = fresh_server
    with (
        httpx2.Client(follow_redirects=False, timeout=15) as http,
        HeadlessBrowser(ANALYST, PASSWORD) as b,
    ):
        cid = register(http, live.origin, "Slow person", ["https://app.example.com/cb"])
        consent_url = start(http, live.origin, cid, "https://app.example.com/cb")
        page = open_consent(b, consent_url)
        assert page.status_code == 200

        live.clock.advance(599)
        assert b.http.get(consent_url).status_code == 200

        live.clock.advance(2)  # 601 s after the request
        expired = b.http.get(consent_url)
        assert expired.status_code == 400
        assert "Authorization session expired" in expired.text
        assert "restart the connection from your ai client" in expired.text.lower()
        resp = submit(b, live.origin, page, "allow")
        assert resp.status_code == 400
        assert "Authorization session expired" in resp.text
        assert "location" not in resp.headers


# -- the login page ------------------------------------------------------------------------------


def login_form(tab: httpx2.Client, origin: str, nxt: str = "/settings/integrations") -> str:
    page = tab.get(origin + "/login", params={"next": nxt})
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    csrf = CSRF.search(page.text)
    assert csrf
    return csrf.group(1)


def test_wrong_password_is_401_with_the_same_message_for_unknown_users(
    server: LiveServer,
) -> None:
    with httpx2.Client(follow_redirects=False, timeout=15) as tab:
        csrf = login_form(tab, server.origin)
        for email in (ANALYST, "nobody@demo.dot.local"):
            resp = tab.post(
                server.origin + "/login",
                data={"csrf": csrf, "next": "/", "email": email, "password": "wrong-password"},
            )
            assert resp.status_code == 401
            assert "Wrong e-mail or password" in resp.text
            assert "dot_session" not in resp.cookies


def test_login_post_needs_the_login_form(server: LiveServer) -> None:
    with httpx2.Client(follow_redirects=False, timeout=15) as tab:
        # A cross-site form post has neither the CSRF cookie nor our Origin.
        resp = tab.post(
            server.origin + "/login",
            data={"csrf": "x", "next": "/", "email": ANALYST, "password": PASSWORD},
        )
        assert resp.status_code == 403
        csrf = login_form(tab, server.origin)
        resp = tab.post(
            server.origin + "/login",
            data={"csrf": csrf, "next": "/", "email": ANALYST, "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert resp.status_code == 403
        assert "dot_session" not in resp.cookies


@pytest.mark.parametrize(
    "nxt", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(server: LiveServer, nxt: str) -> None:
    with httpx2.Client(follow_redirects=False, timeout=15) as tab:
        csrf = login_form(tab, server.origin, nxt)
        resp = tab.post(
            server.origin + "/login",
            data={"csrf": csrf, "next": nxt, "email": ADMIN, "password": PASSWORD},
        )
        assert resp.status_code == 303
        assert resp.headers["location"] == "/settings/integrations"


def test_login_is_rate_limited(tmp_path: Path) -> None:
    with (
        LiveServer(tmp_path / "srv", limits=Limits(login=3)) as live,
        httpx2.Client(follow_redirects=False, timeout=15) as tab,
    ):
        csrf = login_form(tab, live.origin)

        def attempt(password: str) -> httpx2.Response:
            return tab.post(
                live.origin + "/login",
                data={"csrf": csrf, "next": "/", "email": ANALYST, "password": password},
            )

        assert [attempt(secrets.token_hex(4)).status_code for _ in range(3)] == [401, 401, 401]
        blocked = attempt(PASSWORD)  # even the right password waits now
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert "Too many sign-in attempts" in blocked.text
        assert "dot_session" not in blocked.cookies
        live.clock.advance(61)
        assert attempt(PASSWORD).status_code == 303
