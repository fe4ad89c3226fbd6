"""A scripted browser for the reference server's pages: sign in, then Allow (or Deny).

It does over HTTP exactly what a person does in a browser: follow the authorization URL, meet
"Sign in to continue", open the login page, submit the password, come back, and press Allow. The
tests use it to finish real clients' OAuth flows, and `dot-setup demo` uses it to play the
demo user. It is never pointed at anything but the local reference server.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2

_CSRF = re.compile(r"name='csrf' value='([^']*)'")
_R = re.compile(r"name='r' value='([^']*)'")


class BrowserError(RuntimeError):
    """The page did not offer the next step; carries its title for the test's message."""


def _title(html: str) -> str:
    m = re.search(r"<h1>(.*?)</h1>", html)
    return m.group(1) if m else html[:200]


@dataclass
class Outcome:
    """Where the browser was sent at the end: the client's redirect URI with code or error."""

    location: str

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


class HeadlessBrowser:
    def __init__(self, email: str, password: str, *, timeout: float = 15.0) -> None:
        self.email, self.password = email, password
        self.http = httpx2.Client(follow_redirects=False, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HeadlessBrowser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authorize(self, url: str, action: str = "allow") -> Outcome:
        """Open an authorization URL and answer the consent page; returns the final redirect."""
        resp = self.http.get(url)
        if resp.status_code != 302:
            raise BrowserError(
                f"authorization URL answered {resp.status_code}: {_title(resp.text)}"
            )
        location = urljoin(url, resp.headers["location"])
        if not urlsplit(location).path.startswith("/consent"):
            return Outcome(location)  # an error redirect straight back to the client
        return self.consent(location, action)

    def consent(self, consent_url: str, action: str = "allow") -> Outcome:
        page = self.http.get(consent_url)
        if "Sign in to continue" in page.text:
            self.login(consent_url)
            page = self.http.get(consent_url)
        csrf, r = _CSRF.search(page.text), _R.search(page.text)
        if page.status_code not in (200, 403) or not csrf or not r:
            raise BrowserError(f"consent page answered {page.status_code}: {_title(page.text)}")
        resp = self.http.post(
            urljoin(consent_url, "/consent"),
            data={"csrf": csrf.group(1), "r": r.group(1), "action": action},
        )
        if resp.status_code != 303:
            raise BrowserError(f"consent answered {resp.status_code}: {_title(resp.text)}")
        return Outcome(resp.headers["location"])

    def login(self, next_url: str) -> None:
        parts = urlsplit(next_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        page = self.http.get(f"{origin}/login", params={"next": parts.path + "?" + parts.query})
        csrf = _CSRF.search(page.text)
        if csrf is None:
            if page.status_code == 303:
                return  # already signed in
            raise BrowserError(f"login page answered {page.status_code}: {_title(page.text)}")
        resp = self.http.post(
            f"{origin}/login",
            data={
                "csrf": csrf.group(1),
                "email": self.email,
                "password": self.password,
                "next": "/",
            },
        )
        if resp.status_code != 303:
            raise BrowserError(f"sign-in failed ({resp.status_code}): {_title(resp.text)}")

    def approve_device(self, verification_uri_complete: str, action: str = "allow") -> None:
        page = self.http.get(verification_uri_complete)
        if "Sign in to continue" in page.text:
            self.login(verification_uri_complete)
            page = self.http.get(verification_uri_complete)
        csrf = _CSRF.search(page.text)
        code = re.search(r"name='user_code' value='([^']*)'", page.text)
        if not csrf or not code:
            raise BrowserError(f"device page answered {page.status_code}: {_title(page.text)}")
        resp = self.http.post(
            urljoin(verification_uri_complete, "/device"),
            data={"csrf": csrf.group(1), "user_code": code.group(1), "action": action},
        )
        if resp.status_code != 200:
            raise BrowserError(f"device approval answered {resp.status_code}: {_title(resp.text)}")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    return verifier, challenge


def sign_in(
    origin: str, email: str, password: str, *, client_name: str = "dot-setup scripted sign-in"
) -> dict[str, Any]:
    """A complete OAuth 2.1 sign-in (DCR, PKCE, consent, code exchange); returns the token response.

    The redirect URI is a loopback address nobody listens on: the code is read from the
    redirect the consent page answers with, as a native app's listener would receive it.
    """
    redirect_uri = "http://127.0.0.1:9/callback"
    with httpx2.Client(timeout=15.0) as http:
        reg = http.post(
            f"{origin}/register",
            json={
                "client_name": client_name,
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
                "application_type": "native",
            },
        )
        reg.raise_for_status()
        client_id = reg.json()["client_id"]
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(12)
        auth = httpx2.URL(f"{origin}/authorize").copy_merge_params(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": state,
                "scope": "mcp",
                "resource": origin,
            }
        )
        with HeadlessBrowser(email, password) as browser:
            outcome = browser.authorize(str(auth))
        params = outcome.params
        if "code" not in params or params.get("state") != state or params.get("iss") != origin:
            raise BrowserError(
                f"sign-in did not return a code: {params.get('error_description') or params}"
            )
        tok = http.post(
            f"{origin}/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
                "resource": origin,
            },
        )
        tok.raise_for_status()
        body: dict[str, Any] = tok.json()
        body["client_id"] = client_id
        return body
