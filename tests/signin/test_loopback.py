"""The loopback redirect listener and the checks on what arrives there (no server needed).

`authorize_loopback` is driven for real: its listener binds, the "browser" (a function) reads
the redirect URI and state from the authorization URL and calls the listener with whatever
answer the test wants, and the check runs before any token request is made.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from dot_setup.errors import AuthError
from dot_setup.signin import oauth
from dot_setup.signin.loopback import LoopbackListener

ISSUER = "http://127.0.0.1:9"  # never contacted: every answer here fails before /token


def discovery(iss_in_response: bool = True) -> oauth.Discovery:
    server = oauth.AuthServer(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        scopes=("mcp",),
        iss_in_response=iss_in_response,
    )
    return oauth.Discovery(mcp_url=f"{ISSUER}/ai/mcp", resource=ISSUER, server=server)


def answer(make: Callable[[dict[str, str]], dict[str, str]]) -> Callable[[str], None]:
    """A browser that answers the authorization URL with make(request params)."""

    def browse(url: str) -> None:
        request = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        with httpx2.Client(timeout=5) as http:
            http.get(request["redirect_uri"] + "?" + urlencode(make(request)))

    return browse


def run(make: Callable[[dict[str, str]], dict[str, str]], **kw: bool) -> None:
    with httpx2.Client(timeout=5) as http:
        oauth.authorize_loopback(http, discovery(**kw), "client-1", answer(make), timeout=5)


def test_listens_on_127_0_0_1_only() -> None:
    with LoopbackListener() as listener:
        host, port = listener._server.server_address[:2]
        assert host == "127.0.0.1"
        assert listener._server.socket.family == socket.AF_INET
        assert listener.redirect_uri == f"http://127.0.0.1:{port}/callback"
        # Not reachable on the IPv6 loopback (or any other address) on that port.
        if socket.has_ipv6:
            with socket.socket(socket.AF_INET6) as s, pytest.raises(OSError):
                s.settimeout(1)
                s.connect(("::1", port))


def test_the_authorization_url_names_the_loopback_redirect() -> None:
    seen: dict[str, str] = {}

    def make(request: dict[str, str]) -> dict[str, str]:
        seen.update(request)
        return {"error": "access_denied", "state": request["state"], "iss": ISSUER}

    with pytest.raises(AuthError):
        run(make)
    assert urlsplit(seen["redirect_uri"]).hostname == "127.0.0.1"
    assert seen["code_challenge_method"] == "S256"
    assert seen["resource"] == ISSUER
    assert seen["scope"] == "mcp"
    assert len(seen["state"]) >= 20


def test_favicon_request_does_not_end_the_wait() -> None:
    with LoopbackListener() as listener, httpx2.Client(timeout=5) as http:
        base = listener.redirect_uri.rsplit("/", 1)[0]
        assert http.get(base + "/favicon.ico").status_code == 404
        with pytest.raises(AuthError, match="no answer from the browser"):
            listener.wait(0.4)
        page = http.get(listener.redirect_uri, params={"code": "c1", "state": "s1"})
        assert page.status_code == 200
        assert "Signed in" in page.text
        assert "c1" not in page.text
        result = listener.wait(5)
    assert result.params == {"code": "c1", "state": "s1"}


def test_only_the_first_answer_counts() -> None:
    with LoopbackListener() as listener, httpx2.Client(timeout=5) as http:
        http.get(listener.redirect_uri, params={"code": "first", "state": "s"})
        http.get(listener.redirect_uri, params={"code": "second", "state": "s"})
        assert listener.wait(5).params["code"] == "first"


def test_timeout_names_the_way_out() -> None:
    with LoopbackListener() as listener, pytest.raises(AuthError) as info:
        listener.wait(0.2)
    assert "--no-browser" in info.value.hint


def test_state_mismatch_is_refused() -> None:
    with pytest.raises(AuthError, match=r"did not match this request \(state\)"):
        run(lambda r: {"code": "c", "state": r["state"] + "x", "iss": ISSUER})


def test_missing_state_is_refused() -> None:
    with pytest.raises(AuthError, match="state"):
        run(lambda r: {"code": "c", "iss": ISSUER})


def test_iss_mismatch_is_refused() -> None:
    with pytest.raises(AuthError, match=r"came from http://127\.0\.0\.1:8,") as info:
        run(lambda r: {"code": "c", "state": r["state"], "iss": "http://127.0.0.1:8"})
    assert ISSUER in info.value.message


def test_missing_iss_is_refused_when_the_server_promises_it() -> None:
    with pytest.raises(AuthError, match="an unnamed server"):
        run(lambda r: {"code": "c", "state": r["state"]})


def test_access_denied_has_a_clear_message() -> None:
    with pytest.raises(AuthError) as info:
        run(lambda r: {"error": "access_denied", "state": r["state"], "iss": ISSUER})
    assert info.value.message == "access was denied on the consent page"
    assert "Allow" in info.value.hint


def test_other_errors_carry_the_servers_description() -> None:
    with pytest.raises(AuthError, match="invalid_scope: no such scope"):
        run(
            lambda r: {
                "error": "invalid_scope",
                "error_description": "no such scope",
                "state": r["state"],
                "iss": ISSUER,
            }
        )


def test_an_answer_without_code_is_refused() -> None:
    with pytest.raises(AuthError, match="no code"):
        run(lambda r: {"state": r["state"], "iss": ISSUER})


def test_iss_is_not_required_when_the_server_does_not_send_it() -> None:
    # The code passes every check, so the token request is made: to a closed port.
    from dot_setup.errors import NetworkError

    with pytest.raises(NetworkError, match="could not reach"):
        run(lambda r: {"code": "c", "state": r["state"]}, iss_in_response=False)
