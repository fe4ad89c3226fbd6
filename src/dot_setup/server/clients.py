"""OAuth clients: dynamic registration (RFC 7591), client ID metadata documents, redirect URIs.

Redirect URIs are matched exactly, except that a loopback `http` URI matches on any port
(RFC 8252 §7.3: native apps pick a free port each time). Accepted at registration: loopback
`http`, any `https`, and the app-scheme callbacks real clients register (Cursor sends three at
once and fails the whole registration if one is refused).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s
from dot_setup.server.config import LOOPBACK_HOSTS, MCP_SCOPE
from dot_setup.server.security import digest, same
from dot_setup.server.state import ServerState

APP_SCHEME_REDIRECTS = frozenset({"cursor://anysphere.cursor-mcp/oauth/callback"})
# Hosts of the hosted clients' callbacks, named on the consent page.
KNOWN_REDIRECT_HOSTS = {
    "claude.ai": "Claude",
    "claude.com": "Claude",
    "chatgpt.com": "ChatGPT",
    "www.cursor.com": "Cursor",
    "anysphere.cursor-mcp": "Cursor",
}
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
CIMD_TTL = 300.0
CIMD_MAX_BYTES = 64 * 1024


class ClientError(Exception):
    """A registration or client lookup problem, as an OAuth error code and description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str
    secret_hash: str | None
    kind: str

    def check_secret(self, secret: str | None) -> bool:
        if self.auth_method == "none":
            return True
        return (
            bool(secret)
            and self.secret_hash is not None
            and same(digest(secret or ""), self.secret_hash)
        )

    def match_redirect(self, uri: str | None) -> str | None:
        """The registered redirect URI this request may use, or None."""
        if uri is None:
            return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None
        if uri in self.redirect_uris:
            return uri
        want = urlsplit(uri)
        if want.scheme == "http" and want.hostname in LOOPBACK_HOSTS:
            for registered in self.redirect_uris:
                have = urlsplit(registered)
                if (have.scheme, have.hostname, have.path, have.query) == (
                    want.scheme,
                    want.hostname,
                    want.path,
                    want.query,
                ):
                    return uri
        return None


def check_redirect_uri(uri: Any) -> str:
    if not isinstance(uri, str) or not uri:
        raise ClientError("invalid_redirect_uri", "redirect_uris must be a list of URLs")
    parts = urlsplit(uri)
    if parts.fragment:
        raise ClientError("invalid_redirect_uri", f"{uri}: a redirect URI may not have a fragment")
    if uri in APP_SCHEME_REDIRECTS:
        return uri
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    raise ClientError(
        "invalid_redirect_uri",
        f"{uri}: redirect URIs must be https, or http on localhost/127.0.0.1/[::1]",
    )


def redirect_label(uri: str) -> tuple[str, bool]:
    """What the consent page says about where the code goes: (host, runs on this computer)."""
    parts = urlsplit(uri)
    host = parts.hostname or parts.netloc or uri
    return host, parts.scheme == "http" and host in LOOPBACK_HOSTS


async def register(conn: AsyncConnection, body: dict[str, Any], now: float) -> dict[str, Any]:
    """RFC 7591 registration; returns the response body (the secret only in it, only once)."""
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise ClientError("invalid_redirect_uri", "redirect_uris is required")
    redirect_uris = [check_redirect_uri(u) for u in uris]
    method = body.get("token_endpoint_auth_method") or "client_secret_basic"
    if method not in AUTH_METHODS:
        raise ClientError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method {method!r} is not supported; use one of {', '.join(AUTH_METHODS)}",
        )
    grant_types = body.get("grant_types") or ["authorization_code", "refresh_token"]
    response_types = body.get("response_types") or ["code"]
    if not isinstance(grant_types, list) or not isinstance(response_types, list):
        raise ClientError("invalid_client_metadata", "grant_types and response_types must be lists")
    name = body.get("client_name")
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise ClientError("invalid_client_metadata", "client_name must be a short string")
    client_id = "dcr_" + secrets.token_urlsafe(18)
    secret = None if method == "none" else secrets.token_urlsafe(32)
    info: dict[str, Any] = {
        "client_id": client_id,
        "client_id_issued_at": int(now),
        "client_name": name or "Unnamed MCP client",
        "redirect_uris": redirect_uris,
        "grant_types": [g for g in grant_types if isinstance(g, str)],
        "response_types": [r for r in response_types if isinstance(r, str)],
        "token_endpoint_auth_method": method,
        # Clients that send no scope (Claude Code) get the one scope there is.
        "scope": MCP_SCOPE,
    }
    for key in ("application_type", "software_id", "software_version", "client_uri", "logo_uri"):
        value = body.get(key)
        if isinstance(value, str) and value:
            info[key] = value
    stored = dict(info)
    try:
        await conn.execute(
            s.oauth_clients.insert().values(
                client_id=client_id,
                secret_hash=digest(secret) if secret else None,
                metadata=json.dumps(stored),
                kind="dcr",
                created_at=now,
            )
        )
    except IntegrityError as exc:  # pragma: no cover - 144 random bits
        raise ClientError("server_error", "client id collision; try again") from exc
    if secret:
        info["client_secret"] = secret
        info["client_secret_expires_at"] = 0
    return info


def _client(client_id: str, meta: dict[str, Any], secret_hash: str | None, kind: str) -> Client:
    return Client(
        client_id=client_id,
        name=str(meta.get("client_name") or client_id),
        redirect_uris=tuple(meta.get("redirect_uris") or ()),
        auth_method=str(meta.get("token_endpoint_auth_method") or "none"),
        secret_hash=secret_hash,
        kind=kind,
    )


async def get_client(state: ServerState, client_id: str) -> Client | None:
    """A registered client, or a CIMD client fetched from its URL."""
    if is_cimd_id(client_id, state.config.allow_http_cimd):
        meta = await fetch_cimd(state, client_id)
        return _client(client_id, meta, None, "cimd")
    async with state.db.tx() as conn:
        row = (
            await conn.execute(
                select(s.oauth_clients).where(s.oauth_clients.c.client_id == client_id)
            )
        ).first()
    if row is None:
        return None
    return _client(row.client_id, json.loads(row.metadata), row.secret_hash, row.kind)


def is_cimd_id(client_id: str, allow_http: bool) -> bool:
    parts = urlsplit(client_id)
    if parts.scheme == "https":
        return bool(parts.hostname) and parts.path not in ("", "/")
    return allow_http and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


async def fetch_cimd(state: ServerState, url: str) -> dict[str, Any]:
    """Fetch and validate a client ID metadata document (cached for five minutes)."""
    cached = state.cimd_cache.get(url)
    if cached and cached[0] > state.now() - CIMD_TTL:
        return cached[1]
    if not state.config.allow_http_cimd:
        _refuse_private_host(url)
    import httpx2

    try:
        async with httpx2.AsyncClient(timeout=5.0, follow_redirects=False) as http:
            resp = await http.get(url, headers={"Accept": "application/json"})
    except httpx2.HTTPError as exc:
        raise ClientError(
            "invalid_client", f"cannot fetch the client metadata document: {exc}"
        ) from exc
    if resp.status_code != 200 or len(resp.content) > CIMD_MAX_BYTES:
        raise ClientError("invalid_client", f"client metadata document: HTTP {resp.status_code}")
    try:
        meta = json.loads(resp.content)
    except ValueError as exc:
        raise ClientError("invalid_client", "client metadata document is not JSON") from exc
    if not isinstance(meta, dict) or meta.get("client_id") != url:
        raise ClientError(
            "invalid_client", "client metadata document: client_id is not its own URL"
        )
    uris = meta.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise ClientError("invalid_client", "client metadata document has no redirect_uris")
    meta["redirect_uris"] = [check_redirect_uri(u) for u in uris]
    meta.setdefault("token_endpoint_auth_method", "none")
    if meta["token_endpoint_auth_method"] != "none":
        raise ClientError(
            "invalid_client", "metadata-document clients must be public (auth method none)"
        )
    state.cimd_cache[url] = (state.now(), meta)
    return meta


def _refuse_private_host(url: str) -> None:
    """SSRF guard: a metadata URL must not point into private or loopback networks."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ClientError(
            "invalid_client", f"client metadata host {host!r} does not resolve"
        ) from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved:
            raise ClientError("invalid_client", f"client metadata host {host!r} is not public")
