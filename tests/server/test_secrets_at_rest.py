"""Secrets at rest: what a copy of the server's SQLite files would give away.

After a real sign-in (confidential client, code, refresh rotation, browser session), MCP tokens
and regular API tokens from the API and from the Settings page, and a device-code request, the
raw bytes of the database file and its WAL hold none of those secrets (nor their random part,
nor its decoded bytes) and no password; they hold the SHA-256 digests instead, which proves the
writes are in the bytes read. Passwords are argon2id hashes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from argon2 import PasswordHasher
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.server.headless import HeadlessBrowser, pkce_pair

HEX64 = re.compile(r"[0-9a-f]{64}")
TOKEN_PREFIX = re.compile(r"dot_(mcp|api|oat|ort)_us_")
MCP_TOKEN = re.compile(r"dot_mcp_us_[A-Za-z0-9_-]{43}")
API_TOKEN = re.compile(r"dot_api_us_[A-Za-z0-9_-]{43}")
CSRF = re.compile(r"name='csrf' value='([^']+)'")
REDIRECT = "http://127.0.0.1:9/callback"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def confidential_sign_in(live: LiveServer, browser: HeadlessBrowser) -> dict[str, str]:
    """Register a client with a secret, sign in through consent, exchange the code, refresh."""
    origin = live.origin
    with httpx2.Client(timeout=15) as http:
        reg = http.post(
            f"{origin}/register",
            json={
                "client_name": "secrets at rest",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "client_secret_post",
                "grant_types": ["authorization_code", "refresh_token"],
            },
        )
        assert reg.status_code == 201, reg.text
        client = reg.json()
        verifier, challenge = pkce_pair()
        url = httpx2.URL(f"{origin}/authorize").copy_merge_params(
            {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "st",
                "scope": "mcp",
                "resource": origin,
            }
        )
        to_consent = browser.http.get(str(url))
        assert to_consent.status_code == 302, to_consent.text
        consent_url = urljoin(origin, to_consent.headers["location"])
        request_id = parse_qs(urlsplit(consent_url).query)["r"][0]
        code = browser.consent(consent_url).params["code"]
        auth = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
        first = http.post(
            f"{origin}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "resource": origin,
                **auth,
            },
        )
        assert first.status_code == 200, first.text
        second = http.post(
            f"{origin}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": first.json()["refresh_token"],
                **auth,
            },
        )
        assert second.status_code == 200, second.text
    return {
        "client secret": client["client_secret"],
        "consent request id": request_id,
        "authorization code": code,
        "access token": first.json()["access_token"],
        "refresh token (rotated)": first.json()["refresh_token"],
        "access token after refresh": second.json()["access_token"],
        "refresh token after refresh": second.json()["refresh_token"],
    }


@pytest.fixture(scope="module")
def issued(server: LiveServer) -> dict[str, str]:
    """Every kind of secret the server hands out, issued the way users get them."""
    found: dict[str, str] = {}
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        found |= confidential_sign_in(server, browser)
        found["session cookie"] = browser.http.cookies["dot_session"]
        access = found["access token after refresh"]
        pat = server.api("POST", "/api/mcp-token", access)
        api = server.api("POST", "/api/api-tokens", access)
        assert pat.status_code == api.status_code == 201
        found["MCP token (API)"] = pat.json()["token"]
        found["API token (API)"] = api.json()["token"]
        settings = server.origin + "/settings/integrations"
        csrf = CSRF.search(browser.http.get(settings).text)
        assert csrf
        page = browser.http.post(settings + "/mcp-token", data={"csrf": csrf.group(1)})
        page_api = browser.http.post(
            server.origin + "/settings/api-tokens", data={"csrf": csrf.group(1)}
        )
        mcp_found, api_found = MCP_TOKEN.search(page.text), API_TOKEN.search(page_api.text)
        assert mcp_found and api_found
        found["MCP token (page)"] = mcp_found.group(0)
        found["API token (page)"] = api_found.group(0)
    public = httpx2.post(
        server.origin + "/register",
        json={
            "client_name": "device",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
        },
    ).json()
    device = httpx2.post(
        server.origin + "/device_authorization",
        data={"client_id": public["client_id"], "resource": server.origin},
    )
    assert device.status_code == 200, device.text
    found["device code"] = device.json()["device_code"]
    # The newest MCP token really works (so nothing above was refused half-way).
    used = httpx2.post(
        server.mcp_url,
        headers={
            "Authorization": f"Bearer {found['MCP token (page)']}",
            "Accept": "application/json, text/event-stream",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
    )
    assert used.status_code == 200, used.text
    return found


def database_bytes(db_path: Path) -> bytes:
    """The main file plus its WAL (where recent writes sit) and any journal or shm file."""
    parts = [db_path.read_bytes()]
    for suffix in ("-wal", "-journal", "-shm"):
        extra = db_path.with_name(db_path.name + suffix)
        if extra.exists():
            parts.append(extra.read_bytes())
    return b"".join(parts)


def random_part(secret: str) -> str:
    return TOKEN_PREFIX.sub("", secret, count=1)


def test_no_secret_or_password_is_in_the_database_files(
    server: LiveServer, issued: dict[str, str]
) -> None:
    raw = database_bytes(server.db_path)
    assert ANALYST.encode() in raw  # the bytes read are the database's
    leaks = []
    for name, secret in issued.items():
        body = random_part(secret)
        decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        for form in (secret.encode(), body.encode(), body[8:24].encode(), decoded):
            if form in raw:
                leaks.append(name)
    assert not leaks
    for password in (PASSWORD, "demo-password"):
        assert password.encode() not in raw
    # Each secret's digest is there: the writes that would have leaked are in these bytes.
    missing = [name for name, secret in issued.items() if sha256(secret).encode() not in raw]
    assert not missing


def test_tokens_and_codes_are_stored_as_sha256_digests(
    server: LiveServer, issued: dict[str, str]
) -> None:
    db = sqlite3.connect(server.db_path, timeout=10)
    try:
        rows = db.execute("SELECT token_hash, kind, display FROM tokens").fetchall()
        assert rows
        for token_hash, _kind, display in rows:
            assert HEX64.fullmatch(token_hash), token_hash
            assert re.fullmatch(r"dot_(mcp|api|oat|ort)_us_…[A-Za-z0-9_-]{4}", display), display
        kinds = {h: k for h, k, _d in rows}
        expected = {
            "access token": "access",
            "refresh token (rotated)": "refresh",
            "access token after refresh": "access",
            "refresh token after refresh": "refresh",
            "MCP token (API)": "pat",
            "MCP token (page)": "pat",
            "API token (API)": "api",
            "API token (page)": "api",
        }
        for name, kind in expected.items():
            assert kinds.get(sha256(issued[name])) == kind, name

        def digests(sql: str) -> set[str]:
            values = {v for (v,) in db.execute(sql).fetchall() if v is not None}
            assert all(HEX64.fullmatch(v) for v in values), values
            return values

        assert sha256(issued["session cookie"]) in digests("SELECT id_hash FROM web_sessions")
        assert sha256(issued["authorization code"]) in digests("SELECT code_hash FROM auth_codes")
        assert sha256(issued["consent request id"]) in digests("SELECT id_hash FROM auth_requests")
        assert sha256(issued["client secret"]) in digests("SELECT secret_hash FROM oauth_clients")
        assert sha256(issued["device code"]) in digests("SELECT device_hash FROM device_codes")
    finally:
        db.close()


def test_passwords_are_argon2id_hashes(server: LiveServer) -> None:
    db = sqlite3.connect(server.db_path, timeout=10)
    try:
        hashes: dict[str, Any] = dict(db.execute("SELECT email, password_hash FROM users"))
    finally:
        db.close()
    assert len(hashes) == 3
    assert all(h.startswith("$argon2id$") for h in hashes.values()), hashes
    assert len(set(hashes.values())) == 3  # salted: the same password, three hashes
    assert PasswordHasher().verify(hashes[ANALYST], PASSWORD)
