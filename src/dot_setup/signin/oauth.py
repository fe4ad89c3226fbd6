"""dot-setup's own OAuth 2.1 client: discovery, registration, PKCE with a loopback redirect,
the device grant, and refresh.

The wizard needs an access token for the service's REST API (to create an MCP token), not an
MCP session, so this is a small synchronous client on httpx2 rather than the SDK's
`OAuthClientProvider` (which is bound to one MCP connection and, in 2.3, forgets the token's
expiry when it reloads stored tokens). Every step follows the MCP authorization spec:
RFC 9728 resource metadata → RFC 8414 server metadata → RFC 7591 registration (cached per
issuer) → authorization code with S256 PKCE, `resource` and `state`, `iss` checked (RFC 9207).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2

from dot_setup import __version__
from dot_setup.errors import AuthError, NetworkError
from dot_setup.signin.loopback import CallbackResult, LoopbackListener

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_NAME = "dot-setup"
TIMEOUT = httpx2.Timeout(15.0, connect=5.0)


class UnknownClient(AuthError):
    """The server no longer knows our cached client id (its registrations were reset)."""


@dataclass(frozen=True)
class AuthServer:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str = ""
    device_authorization_endpoint: str = ""
    revocation_endpoint: str = ""
    scopes: tuple[str, ...] = ()
    iss_in_response: bool = False


@dataclass(frozen=True)
class Discovery:
    mcp_url: str
    resource: str
    server: AuthServer

    @property
    def scope(self) -> str:
        return "mcp" if "mcp" in self.server.scopes else ""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: int  # absolute (epoch seconds): survives restarts, unlike a relative expires_in
    scope: str = ""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def client(timeout: httpx2.Timeout = TIMEOUT) -> httpx2.Client:
    return httpx2.Client(
        timeout=timeout, headers={"User-Agent": f"dot-setup/{__version__}"}, follow_redirects=False
    )


def _get_json(http: httpx2.Client, url: str) -> dict[str, Any] | None:
    try:
        resp = http.get(url, headers={"Accept": "application/json"})
    except httpx2.HTTPError as exc:
        raise NetworkError(
            f"could not reach {origin_of(url)}: {_reason(exc)}",
            "check the region or server URL and your network; `dot-setup doctor` diagnoses it",
        ) from exc
    if resp.status_code != 200:
        return None
    try:
        body = resp.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]


def discover(http: httpx2.Client, mcp_url: str) -> Discovery:
    """RFC 9728 (path-inserted, then root) → RFC 8414 metadata of the first authorization server."""
    parts = urlsplit(mcp_url)
    origin = origin_of(mcp_url)
    path = parts.path.rstrip("/")
    prm = None
    for candidate in (
        f"{origin}/.well-known/oauth-protected-resource{path}",
        f"{origin}/.well-known/oauth-protected-resource",
    ):
        prm = _get_json(http, candidate)
        if prm:
            break
    if not prm or not prm.get("authorization_servers"):
        raise AuthError(
            f"{origin} does not publish OAuth metadata for {mcp_url}",
            "check the URL (it should end in /ai/mcp); or paste an MCP token instead of signing in",
        )
    issuer = str(prm["authorization_servers"][0]).rstrip("/")
    meta = _get_json(http, f"{issuer}/.well-known/oauth-authorization-server")
    if meta is None:
        meta = _get_json(http, f"{issuer}/.well-known/openid-configuration")
    if not meta or str(meta.get("issuer", "")).rstrip("/") != issuer:
        raise AuthError(
            f"the authorization server {issuer} has no matching metadata",
            "the server is misconfigured; `dot-setup doctor` shows details",
        )
    if "S256" not in meta.get("code_challenge_methods_supported", []):
        raise AuthError(f"{issuer} does not support PKCE S256, which OAuth 2.1 requires", "")
    server = AuthServer(
        issuer=issuer,
        authorization_endpoint=str(meta["authorization_endpoint"]),
        token_endpoint=str(meta["token_endpoint"]),
        registration_endpoint=str(meta.get("registration_endpoint", "")),
        device_authorization_endpoint=str(meta.get("device_authorization_endpoint", "")),
        revocation_endpoint=str(meta.get("revocation_endpoint", "")),
        scopes=tuple(str(s) for s in meta.get("scopes_supported", [])),
        iss_in_response=bool(meta.get("authorization_response_iss_parameter_supported")),
    )
    return Discovery(mcp_url=mcp_url, resource=str(prm.get("resource") or origin), server=server)


def register(http: httpx2.Client, server: AuthServer) -> str:
    """Dynamic client registration as a native public client; returns the client_id."""
    if not server.registration_endpoint:
        raise AuthError(
            f"{server.issuer} does not offer client registration",
            "paste an MCP token instead (Settings > Integrations > Generate MCP Token)",
        )
    body = {
        "client_name": CLIENT_NAME,
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
        "software_id": "dot-setup",
        "software_version": __version__,
    }
    resp = _post(http, server.registration_endpoint, json=body)
    if resp.status_code not in (200, 201):
        raise AuthError(f"client registration failed: {_oauth_error(resp)}", "")
    return str(resp.json()["client_id"])


def _post(http: httpx2.Client, url: str, **kw: Any) -> httpx2.Response:
    try:
        return http.post(url, **kw)
    except httpx2.HTTPError as exc:
        raise NetworkError(
            f"could not reach {origin_of(url)}: {_reason(exc)}",
            "check your network and try again",
        ) from exc


def _oauth_error(resp: httpx2.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {resp.status_code}"
    text = str(body.get("error", f"HTTP {resp.status_code}"))
    if body.get("error_description"):
        text += f": {body['error_description']}"
    return text


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _tokens(resp: httpx2.Response, now: float, what: str) -> Tokens:
    if resp.status_code != 200:
        raise AuthError(f"{what} failed: {_oauth_error(resp)}", "run `dot-setup login` again")
    body = resp.json()
    expires_in = int(body.get("expires_in") or 3600)
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token", "")),
        expires_at=int(now) + expires_in,
        scope=str(body.get("scope", "")),
    )


Opener = Callable[[str], None]


def authorize_loopback(
    http: httpx2.Client,
    disc: Discovery,
    client_id: str,
    open_url: Opener,
    *,
    timeout: float = 600.0,
    clock: Callable[[], float] = time.time,
) -> Tokens:
    """Authorization code + PKCE, the redirect received on 127.0.0.1 (RFC 8252)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    with LoopbackListener() as listener:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": listener.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "resource": disc.resource,
        }
        if disc.scope:
            params["scope"] = disc.scope
        url = f"{disc.server.authorization_endpoint}?{urlencode(params)}"
        _probe(http, url)
        open_url(url)
        result = listener.wait(timeout)
    _check_callback(result, state, disc.server)
    resp = _post(
        http,
        disc.server.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": listener.redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": disc.resource,
        },
    )
    return _tokens(resp, clock(), "the sign-in")


def _probe(http: httpx2.Client, url: str) -> None:
    """Ask the authorization endpoint first: a server that forgot our client answers with an
    error page instead of a redirect, and the browser would show it while we wait in vain."""
    try:
        resp = http.get(url)
    except httpx2.HTTPError:
        return  # the browser will show what is wrong; discovery just reached this server
    if resp.status_code in (400, 401) and (
        "invalid_client" in resp.text or "Unknown client" in resp.text
    ):
        raise UnknownClient("the server does not know dot-setup's registration", "")


def _check_callback(result: CallbackResult, state: str, server: AuthServer) -> None:
    params = result.params
    if params.get("state") != state:
        raise AuthError("the sign-in answer did not match this request (state)", "sign in again")
    if server.iss_in_response and params.get("iss", "").rstrip("/") != server.issuer:
        raise AuthError(
            f"the sign-in answer came from {params.get('iss') or 'an unnamed server'}, "
            f"not {server.issuer}",
            "sign in again; if it repeats, report it to your administrator",
        )
    if "error" in params:
        if params["error"] == "access_denied":
            raise AuthError(
                "access was denied on the consent page", "sign in again and choose Allow"
            )
        text = params["error"] + (
            f": {params['error_description']}" if params.get("error_description") else ""
        )
        raise AuthError(f"the sign-in failed: {text}", "sign in again")
    if not params.get("code"):
        raise AuthError("the sign-in answer carried no code", "sign in again")


@dataclass(frozen=True)
class DeviceStart:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


def start_device(http: httpx2.Client, disc: Discovery, client_id: str) -> DeviceStart:
    if not disc.server.device_authorization_endpoint:
        raise AuthError(
            f"{disc.server.issuer} does not offer sign-in without a browser (device grant)",
            "run `dot-setup login` on a machine with a browser, or paste an MCP token",
        )
    data = {"client_id": client_id, "resource": disc.resource}
    if disc.scope:
        data["scope"] = disc.scope
    resp = _post(http, disc.server.device_authorization_endpoint, data=data)
    if resp.status_code in (400, 401) and _error_code(resp) == "invalid_client":
        raise UnknownClient("the server does not know dot-setup's registration", "")
    if resp.status_code != 200:
        raise AuthError(f"device sign-in could not start: {_oauth_error(resp)}", "")
    body = resp.json()
    return DeviceStart(
        device_code=str(body["device_code"]),
        user_code=str(body["user_code"]),
        verification_uri=str(body["verification_uri"]),
        verification_uri_complete=str(body.get("verification_uri_complete", "")),
        expires_in=int(body.get("expires_in", 600)),
        interval=int(body.get("interval", 5)),
    )


def poll_device(
    http: httpx2.Client,
    disc: Discovery,
    client_id: str,
    start: DeviceStart,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Tokens:
    """Poll the token endpoint at the server's interval (slower after slow_down) until answered."""
    interval = max(start.interval, 1)
    deadline = time.monotonic() + start.expires_in
    while time.monotonic() < deadline:
        sleep(interval)
        resp = _post(
            http,
            disc.server.token_endpoint,
            data={
                "grant_type": DEVICE_GRANT,
                "device_code": start.device_code,
                "client_id": client_id,
                "resource": disc.resource,
            },
        )
        if resp.status_code == 200:
            return _tokens(resp, clock(), "the sign-in")
        error = _error_code(resp)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise AuthError(
                "access was denied on the device page", "sign in again and choose Allow"
            )
        if error == "expired_token":
            break
        raise AuthError(f"the sign-in failed: {_oauth_error(resp)}", "run `dot-setup login` again")
    raise AuthError(
        "the sign-in code expired before it was approved", "run `dot-setup login` again"
    )


def _error_code(resp: httpx2.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def refresh(
    http: httpx2.Client,
    disc: Discovery,
    client_id: str,
    refresh_token: str,
    *,
    clock: Callable[[], float] = time.time,
) -> Tokens | None:
    """A new token pair, or None when the server no longer honours the refresh token."""
    resp = _post(
        http,
        disc.server.token_endpoint,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "resource": disc.resource,
        },
    )
    if resp.status_code in (400, 401) and _error_code(resp) in ("invalid_grant", "invalid_client"):
        return None
    tokens = _tokens(resp, clock(), "refreshing the sign-in")
    tokens.refresh_token = tokens.refresh_token or refresh_token
    return tokens


def revoke(http: httpx2.Client, disc: Discovery, client_id: str, token: str) -> bool:
    if not disc.server.revocation_endpoint or not token:
        return False
    try:
        resp = http.post(
            disc.server.revocation_endpoint, data={"token": token, "client_id": client_id}
        )
    except httpx2.HTTPError:
        return False
    return resp.status_code == 200
