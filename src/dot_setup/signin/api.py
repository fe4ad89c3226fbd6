"""The service's REST API as dot-setup uses it: who am I, describe a token, MCP token lifecycle.

Every call sends the token in the Authorization header (never in a URL) and never echoes it;
errors carry the server's own message and hint ("Invalid API token", "Token does not have
required MCP access", "this token is for the EU region").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2

from dot_setup.errors import AuthError, DotSetupError, NetworkError
from dot_setup.signin.oauth import client, origin_of

INVALID = "Invalid API token"
NO_MCP_ACCESS = "Token does not have required MCP access"


@dataclass(frozen=True)
class TokenInfo:
    kind: str  # mcp_token, api_token, oauth_access
    display: str
    owner: str
    region: str
    expires_at: int
    mcp_access: bool
    mcp_url: str = ""


class TokenRejected(AuthError):
    """The server refused the token; `message` is the guide's wording, `hint` the cause."""

    code = "token_rejected"


def _call(method: str, url: str, token: str, what: str) -> httpx2.Response:
    try:
        with client() as http:
            return http.request(method, url, headers={"Authorization": f"Bearer {token}"})
    except httpx2.HTTPError as exc:
        text = (str(exc) or type(exc).__name__).splitlines()[0][:160]
        raise NetworkError(
            f"could not reach {origin_of(url)} to {what}: {text}",
            "check the region or server URL and your network; `dot-setup doctor` diagnoses it",
        ) from exc


def _body(resp: httpx2.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _raise(resp: httpx2.Response, what: str) -> None:
    body = _body(resp)
    message = str(
        body.get("error_description") or body.get("message") or f"HTTP {resp.status_code}"
    )
    hint = str(body.get("hint") or "")
    if resp.status_code == 401:
        raise TokenRejected(message, hint or "check the token, or sign in again")
    if resp.status_code == 403:
        raise TokenRejected(message, hint)
    if resp.status_code == 404:
        raise DotSetupError(
            f"{origin_of(str(resp.request.url))} has no {what} API",
            "is this a Dot server? check the region or --server-url",
        )
    raise DotSetupError(f"{what} failed: {message}", hint)


def token_info(mcp_url: str, token: str) -> TokenInfo:
    """What the server says about a token (kind, owner, region, expiry); raises if it refuses it."""
    resp = _call("GET", f"{origin_of(mcp_url)}/api/token-info", token, "check the token")
    if resp.status_code != 200:
        _raise(resp, "token check")
    body = _body(resp)
    return TokenInfo(
        kind=str(body.get("kind", "")),
        display=str(body.get("display", "")),
        owner=str(body.get("owner", "")),
        region=str(body.get("region", "")),
        expires_at=int(body.get("expires_at", 0)),
        mcp_access=bool(body.get("mcp_access")),
        mcp_url=str(body.get("mcp_url", "")),
    )


def me(mcp_url: str, access_token: str) -> dict[str, Any]:
    resp = _call("GET", f"{origin_of(mcp_url)}/api/me", access_token, "read the account")
    if resp.status_code != 200:
        _raise(resp, "account")
    return _body(resp)


def mcp_token_status(mcp_url: str, access_token: str) -> dict[str, Any]:
    resp = _call("GET", f"{origin_of(mcp_url)}/api/mcp-token", access_token, "read the MCP token")
    if resp.status_code != 200:
        _raise(resp, "MCP token")
    return _body(resp)


def create_mcp_token(mcp_url: str, access_token: str) -> dict[str, Any]:
    """A new MCP token (the server revokes the previous one); the body holds it once."""
    resp = _call("POST", f"{origin_of(mcp_url)}/api/mcp-token", access_token, "create a token")
    if resp.status_code == 429:
        text = _body(resp).get("message", "too many requests")
        raise DotSetupError(f"the server refused a new token: {text}", "wait and try again")
    if resp.status_code != 201:
        _raise(resp, "MCP token")
    body = _body(resp)
    from dot_setup.secrets import REDACT

    REDACT.add(str(body.get("token", "")))
    return body


def revoke_mcp_token(mcp_url: str, access_token: str) -> int:
    resp = _call("DELETE", f"{origin_of(mcp_url)}/api/mcp-token", access_token, "revoke the token")
    if resp.status_code != 200:
        _raise(resp, "MCP token")
    return int(_body(resp).get("revoked", 0))
