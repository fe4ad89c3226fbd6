"""Authentication of the MCP endpoints (`/ai/mcp`, `/ai/sse`, `/ai/messages/`).

The answers are the connect guide's: an unknown, revoked, replaced or expired token gets 401
"Invalid API token"; a regular API token gets 403 "Token does not have required MCP access".
Both carry `WWW-Authenticate` with `resource_metadata` so OAuth clients can start signing in.
The token may also come in the URL (`?token=`), the form ChatGPT and single-URL clients need;
such a URL is never logged (see `app.AccessLog`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dot_setup.server import credentials
from dot_setup.server.config import MCP_SCOPE, MESSAGES_PATH, SSE_PATH
from dot_setup.server.credentials import Rejection, TokenInfo
from dot_setup.server.security import region_of
from dot_setup.server.seed import DEMO_USERS
from dot_setup.server.state import ServerState

INVALID = "Invalid API token"
NO_MCP_ACCESS = "Token does not have required MCP access"
MCP_KINDS = {"access": "oauth", "pat": "pat"}


_SESSION_ID = re.compile(rb"session_id=([0-9a-fA-F-]{16,64})")


def _query(scope: Scope) -> dict[str, str]:
    query: bytes = scope.get("query_string", b"")
    return dict(parse_qsl(query.decode("latin-1")))


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(k == name for k, _ in scope.get("headers", []))


def presented_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                bearer: str = text[7:].strip()
                return bearer or None
            return None
    query: bytes = scope.get("query_string", b"")
    for key, value in parse_qsl(query.decode("latin-1")):
        if key == "token" and value:
            return value
    return None


class McpAuth:
    """ASGI middleware in front of the SDK's MCP app."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state
        # Legacy SSE with the token in the URL: the client POSTs its messages to the endpoint
        # the server announced, without the token. The token of the open stream is kept here
        # (in memory, for as long as the stream lasts) and checked again on every POST.
        self.sse_tokens: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if not self.state.config.auth:
            await self._run(self._dev_principal(), scope, receive, send)
            return
        token = presented_token(scope)
        if token is None and scope["path"].startswith(MESSAGES_PATH.rstrip("/")):
            token = self.sse_tokens.get(_query(scope).get("session_id", ""))
        if token is None:
            await self._deny(
                send, 401, "invalid_token", "Authentication required", with_error=False
            )
            return
        found = await credentials.verify(self.state.db, token, self.state.now())
        if isinstance(found, Rejection):
            await self._deny(send, 401, "invalid_token", INVALID, hint=self._hint(token, found))
            return
        if found.kind == "api" or (found.kind in MCP_KINDS and not found.user.mcp_access):
            await self._deny(
                send, 403, "insufficient_scope", NO_MCP_ACCESS, hint=self._scope_hint(found)
            )
            return
        if found.kind == "refresh":
            hint = "this is an OAuth refresh token: exchange it at the token endpoint"
            await self._deny(send, 401, "invalid_token", INVALID, hint=hint)
            return
        if found.kind not in MCP_KINDS or found.resource != self.state.config.resource:
            await self._deny(
                send,
                401,
                "invalid_token",
                INVALID,
                hint="this token was not issued for this Dot server",
            )
            return
        if scope["path"] == SSE_PATH and not _has_header(scope, b"authorization"):
            await self._run_sse(self._principal(token, found), scope, receive, send)
            return
        await self._run(self._principal(token, found), scope, receive, send)

    async def _run_sse(
        self, principal: AccessToken, scope: Scope, receive: Receive, send: Send
    ) -> None:
        session: list[str] = []

        async def capturing(message: Message) -> None:
            if not session and message["type"] == "http.response.body":
                found = _SESSION_ID.search(message.get("body", b""))
                if found:
                    session.append(found.group(1).decode())
                    self.sse_tokens[session[0]] = principal.token
            await send(message)

        try:
            await self._run(principal, scope, receive, capturing)
        finally:
            if session:
                self.sse_tokens.pop(session[0], None)

    async def _run(
        self, principal: AccessToken, scope: Scope, receive: Receive, send: Send
    ) -> None:
        user = AuthenticatedUser(principal)
        scope["user"] = user
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    def _principal(self, token: str, info: TokenInfo) -> AccessToken:
        return AccessToken(
            token=token,
            client_id=info.client_id,
            scopes=[MCP_SCOPE],
            expires_at=int(info.expires_at),
            resource=info.resource,
            subject=info.user.id,
            claims={
                "iss": self.state.config.issuer,
                "email": info.user.email,
                "via": MCP_KINDS[info.kind],
            },
        )

    def _dev_principal(self) -> AccessToken:
        admin = DEMO_USERS[0]
        return AccessToken(
            token="",
            client_id="dev-no-auth",
            scopes=[MCP_SCOPE],
            subject=admin.id,
            claims={"iss": self.state.config.issuer, "email": admin.email, "via": "dev"},
        )

    def _hint(self, token: str, found: Rejection) -> str:
        return rejection_hint(token, found, self.state.region)

    def _scope_hint(self, found: TokenInfo) -> str:
        if found.kind == "api":
            return "this is a regular API token: generate an MCP token in Settings → Integrations"
        return "this account does not have MCP access; ask a Dot admin"

    async def _deny(
        self,
        send: Send,
        status: int,
        error: str,
        description: str,
        *,
        hint: str = "",
        with_error: bool = True,
    ) -> None:
        cfg = self.state.config
        parts = []
        if with_error:
            parts.append(f'error="{error}", error_description="{description}"')
        parts.append(f'scope="{MCP_SCOPE}"')
        parts.append(f'resource_metadata="{cfg.origin}/.well-known/oauth-protected-resource"')
        body: dict[str, Any] = {"error": error, "error_description": description}
        if hint:
            body["hint"] = hint
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"www-authenticate", ("Bearer " + ", ".join(parts)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def rejection_hint(token: str, found: Rejection, server_region: str) -> str:
    """Why a token was refused, in words that tell the user what to do."""
    region = region_of(token)
    if found.reason == "unknown" and region and region != server_region:
        return f"this token is for the {region.upper()} region; use that region's Dot URL"
    if found.reason == "expired" and found.kind == "access":
        return "the OAuth access token expired (they last 1 hour); refresh it or sign in again"
    return {
        "unknown": "check that you copied the complete token and are using the right Dot URL",
        "replaced": "this MCP token was replaced by a newer one; use the new token",
        "revoked": "this token was revoked",
        "deleted": "an admin deleted this token; generate a new one in Settings → Integrations",
        "expired": "this token expired; generate a new one (MCP tokens last 365 days)",
        "password_changed": "the password was changed, which revoked every token; sign in again",
        "refresh_reuse": "the sign-in was revoked after a refresh token was reused; sign in again",
    }.get(found.reason, "sign in again or generate a new MCP token")
