"""One region's ASGI application: the MCP endpoints, the authorization server, the pages, the API.

Request path, outermost first: access log (no query values, so a `?token=` URL is never
written) → CORS (browser clients; preflight is never 401) → Host check (DNS rebinding) → body
size limit → either the MCP endpoints behind `McpAuth`, or the Starlette app with everything
else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dot_setup.server import account_pages, api, integrations, oauth_routes, pages
from dot_setup.server.clock import Clock, SystemClock
from dot_setup.server.config import MCP_PATH, MESSAGES_PATH, SSE_PATH, RegionConfig
from dot_setup.server.db import Database
from dot_setup.server.mcp_app import build_mcp
from dot_setup.server.mcp_auth import McpAuth
from dot_setup.server.seed import seed_if_empty
from dot_setup.server.state import ServerState

ACCESS = logging.getLogger("dot_setup.server.access")
MCP_HEADERS = [
    "Authorization",
    "Content-Type",
    "Mcp-Protocol-Version",
    "Mcp-Method",
    "Mcp-Name",
    "Mcp-Session-Id",
    "Last-Event-ID",
]


@dataclass
class DotServer:
    """A built region server: the ASGI app and what it runs on."""

    app: ASGIApp
    state: ServerState


def build(
    config: RegionConfig, passwords: Mapping[str, str], clock: Clock | None = None
) -> DotServer:
    state = ServerState(config=config, db=Database(config.db_url), clock=clock or SystemClock())
    mcp = build_mcp(state)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=config.allowed_hosts(),
        allowed_origins=config.allowed_origins()
        + (
            ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
            if config.loopback
            else []
        ),
    )
    http_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        transport_security=security,
        max_request_body_size=config.limits.mcp_body,
        host=config.host,
    )
    sse_app = mcp.sse_app(
        sse_path=SSE_PATH,
        message_path=MESSAGES_PATH,
        transport_security=security,
        max_request_body_size=config.limits.mcp_body,
        host=config.host,
    )
    mcp_routes = [r for r in http_app.routes if getattr(r, "path", "") == MCP_PATH]
    mcp_routes += [
        r for r in sse_app.routes if getattr(r, "path", "").startswith(("/ai/sse", "/ai/messages"))
    ]
    mcp_inner = McpAuth(Starlette(routes=mcp_routes), state)
    site = Starlette(
        routes=oauth_routes.routes()
        + pages.routes()
        + account_pages.routes()
        + integrations.routes()
        + api.routes()
    )
    site.state.dot = state
    inner: ASGIApp = _Dispatch(mcp_inner, site)
    inner = _BodyLimit(inner, config.limits.form_body, config.limits.mcp_body)
    inner = _HostCheck(inner, set(config.allowed_hosts()))
    inner = CORSMiddleware(
        inner,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=MCP_HEADERS,
        expose_headers=["Mcp-Session-Id", "WWW-Authenticate"],
        max_age=600,
    )
    app = _Lifespan(_AccessLog(_DateHeader(inner, state)), state, mcp, dict(passwords))
    return DotServer(app, state)


def is_mcp_path(path: str) -> bool:
    return path in (MCP_PATH, MCP_PATH + "/", SSE_PATH) or path.startswith(
        MESSAGES_PATH.rstrip("/")
    )


class _Dispatch:
    def __init__(self, mcp: ASGIApp, site: ASGIApp) -> None:
        self.mcp, self.site = mcp, site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.mcp if is_mcp_path(scope.get("path", "")) else self.site
        await target(scope, receive, send)


class _DateHeader:
    """The Date header from the server's own clock (clients compare it with theirs; a test
    clock moved forward shows up there as real clock skew)."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = formatdate(self.state.now(), usegmt=True).encode("latin-1")
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, dated)


class _HostCheck:
    """421 for a Host header this server does not answer to (DNS-rebinding protection)."""

    def __init__(self, app: ASGIApp, hosts: set[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if host not in self.hosts:
                await _plain(send, 421, "Invalid Host header")
                return
        await self.app(scope, receive, send)


class _BodyLimit:
    """413 for bodies over the limit, by Content-Length and by counting what arrives."""

    def __init__(self, app: ASGIApp, form_limit: int, mcp_limit: int) -> None:
        self.app, self.form_limit, self.mcp_limit = app, form_limit, mcp_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.mcp_limit if is_mcp_path(scope["path"]) else self.form_limit
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _plain(send, 413, "Request body too large")
            return
        seen = 0
        too_large = started = False

        async def counting() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            # Once the body is too large, what the app answers (Starlette's error middleware
            # sends a 500 before re-raising) is dropped: the client gets the 413 below.
            nonlocal started
            if too_large and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counting, guarded)
        if too_large and not started:
            await _plain(send, 413, "Request body too large")


class _TooLarge(Exception):
    pass


class _AccessLog:
    """One line per request; query values are never logged (they can hold a token)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            if ACCESS.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                keys = "&".join(sorted({p.split("=", 1)[0] for p in query.split("&") if p}))
                client = scope.get("client") or ("-", 0)
                ACCESS.info(
                    '%s "%s %s%s" %s %.1fms',
                    client[0],
                    scope["method"],
                    scope["path"],
                    f"?{keys}=…" if keys else "",
                    status,
                    (time.perf_counter() - started) * 1000,
                )


class _Lifespan:
    """Opens the database, seeds the demo organisation and runs the MCP session manager."""

    def __init__(
        self, app: ASGIApp, state: ServerState, mcp: Any, passwords: dict[str, str]
    ) -> None:
        self.app, self.state, self.mcp, self.passwords = app, state, mcp, passwords
        self.seeded = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            async with self.mcp.session_manager.run():
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                await self.state.db.close()
                await send({"type": "lifespan.shutdown.complete"})
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise

    async def startup(self) -> None:
        await self.state.db.create()
        today = dt.datetime.fromtimestamp(self.state.now(), dt.UTC).date()
        try:
            async with self.state.db.tx() as conn:
                self.seeded = await seed_if_empty(conn, today, self.passwords, self.state.now())
        except IntegrityError:
            self.seeded = False  # another process seeded the same database at the same moment


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
