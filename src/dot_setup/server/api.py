"""Dot's JSON API for dot-setup: who am I, MCP tokens, token info, password, admin.

Authenticated with the user's OAuth access token (`Authorization: Bearer`). `GET
/api/token-info` also accepts an MCP token or a regular API token, so a pasted token can be
checked (kind, owner, region, expiry) before anything is written; the token itself is never
echoed.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dot_setup.server import accounts, credentials, querylog
from dot_setup.server.credentials import Rejection, TokenInfo
from dot_setup.server.mcp_auth import INVALID, NO_MCP_ACCESS, rejection_hint
from dot_setup.server.state import ServerState
from dot_setup.server.web import NO_STORE, api_error, password_attempt_wait, state_of


async def _bearer(request: Request, kinds: tuple[str, ...] = ("access",)) -> TokenInfo | Response:
    state = state_of(request)
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    if not token:
        return api_error(
            401,
            "unauthenticated",
            "Sign in first",
            "send Authorization: Bearer <OAuth access token>",
        )
    found = await credentials.verify(state.db, token, state.now())
    if isinstance(found, Rejection):
        return api_error(401, "invalid_token", INVALID, rejection_hint(token, found, state.region))
    if found.kind not in kinds or found.resource != state.config.resource:
        return api_error(
            403,
            "wrong_token_kind",
            f"this endpoint needs a {' or '.join(kinds)} token, not a {found.kind} token",
        )
    return found


def _user_json(state: ServerState, info: TokenInfo) -> dict[str, Any]:
    u = info.user
    return {
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "mcp_access": u.mcp_access,
        "region": state.region,
    }


async def me(request: Request) -> Response:
    info = await _bearer(request)
    if not isinstance(info, TokenInfo):
        return info
    return JSONResponse(_user_json(state_of(request), info), headers=NO_STORE)


async def token_info(request: Request) -> Response:
    """Describe the presented token (any kind) without echoing it."""
    state = state_of(request)
    info = await _bearer(request, ("access", "pat", "api"))
    if not isinstance(info, TokenInfo):
        return info
    mcp = info.kind in ("access", "pat") and info.user.mcp_access
    body = {
        "kind": {"access": "oauth_access", "pat": "mcp_token", "api": "api_token"}[info.kind],
        "display": info.display,
        "owner": info.user.email,
        "region": state.region,
        "created_at": int(info.created_at),
        "expires_at": int(info.expires_at),
        "mcp_access": mcp,
        "mcp_url": state.config.mcp_url,
    }
    if not mcp:
        body["message"] = NO_MCP_ACCESS
    return JSONResponse(body, headers=NO_STORE)


async def mcp_token(request: Request) -> Response:
    state = state_of(request)
    info = await _bearer(request)
    if not isinstance(info, TokenInfo):
        return info
    now = state.now()
    if request.method == "GET":
        async with state.db.tx() as conn:
            active = await credentials.active_mcp_tokens(conn, now, info.user.id)
        if not active:
            return JSONResponse(
                {"active": False, "owner": info.user.email, "region": state.region},
                headers=NO_STORE,
            )
        t = active[0]
        return JSONResponse(
            {
                "active": True,
                "id": t.id,
                "display": t.display,
                "owner": t.email,
                "region": state.region,
                "created_at": int(t.created_at),
                "expires_at": int(t.expires_at),
            },
            headers=NO_STORE,
        )
    if request.method == "DELETE":
        async with state.db.tx() as conn:
            n = await credentials.revoke_mcp_token(
                conn, now, user_id=info.user.id, reason="revoked"
            )
        return JSONResponse({"revoked": n}, headers=NO_STORE)
    if not info.user.mcp_access:
        return api_error(
            403, "no_mcp_access", "this account does not have MCP access", "ask a Dot admin"
        )
    if wait := state.limiter.hit(f"pat:{info.user.id}", state.config.limits.mcp_token_create):
        return api_error(
            429, "rate_limited", f"too many new tokens; try again in {int(wait) + 1} s"
        )
    new = await credentials.issue_for(state, info.user, "pat")
    return JSONResponse(
        {
            "token": new.token,
            "id": new.id,
            "display": new.display,
            "region": state.region,
            "expires_at": int(new.expires_at),
            "replaced_previous": new.replaced,
            "mcp_url": state.config.mcp_url,
        },
        status_code=201,
        headers=NO_STORE,
    )


async def api_token(request: Request) -> Response:
    state = state_of(request)
    info = await _bearer(request)
    if not isinstance(info, TokenInfo):
        return info
    new = await credentials.issue_for(state, info.user, "api")
    return JSONResponse(
        {
            "token": new.token,
            "id": new.id,
            "display": new.display,
            "expires_at": int(new.expires_at),
        },
        status_code=201,
        headers=NO_STORE,
    )


async def password(request: Request) -> Response:
    state = state_of(request)
    info = await _bearer(request)
    if not isinstance(info, TokenInfo):
        return info
    try:
        body = json.loads(await request.body())
        current, new = str(body["current_password"]), str(body["new_password"])
    except (ValueError, KeyError, TypeError):
        return api_error(400, "bad_request", "send JSON {current_password, new_password}")
    if len(new) < 8:
        return api_error(400, "weak_password", "the new password must have at least 8 characters")
    if wait := password_attempt_wait(request, info.user.email):
        limited = api_error(429, "rate_limited", "too many password attempts; try again later")
        limited.headers["Retry-After"] = str(int(wait) + 1)
        return limited
    async with state.db.tx() as conn:
        if await accounts.authenticate(conn, info.user.email, current) is None:
            return api_error(403, "wrong_password", "the current password is wrong")
        await accounts.change_password(conn, info.user, new, state.now())
    return JSONResponse({"changed": True, "revoked": "every session and token"}, headers=NO_STORE)


async def _admin(request: Request) -> TokenInfo | Response:
    info = await _bearer(request)
    if isinstance(info, TokenInfo) and not info.user.is_admin:
        return api_error(403, "admin_only", "this endpoint is for Dot admins")
    return info


async def admin_tokens(request: Request) -> Response:
    state = state_of(request)
    info = await _admin(request)
    if not isinstance(info, TokenInfo):
        return info
    async with state.db.tx() as conn:
        active = await credentials.active_mcp_tokens(conn, state.now())
    return JSONResponse(
        {
            "tokens": [
                {
                    "id": t.id,
                    "user_id": t.user_id,
                    "owner": t.email,
                    "display": t.display,
                    "created_at": int(t.created_at),
                    "expires_at": int(t.expires_at),
                }
                for t in active
            ]
        },
        headers=NO_STORE,
    )


async def admin_delete_token(request: Request) -> Response:
    state = state_of(request)
    info = await _admin(request)
    if not isinstance(info, TokenInfo):
        return info
    async with state.db.tx() as conn:
        n = await credentials.revoke_mcp_token(
            conn, state.now(), token_id=request.path_params["token_id"]
        )
    if not n:
        return api_error(404, "not_found", "no active MCP token with that id")
    return JSONResponse({"revoked": n}, headers=NO_STORE)


async def admin_query_log(request: Request) -> Response:
    state = state_of(request)
    info = await _admin(request)
    if not isinstance(info, TokenInfo):
        return info
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        return api_error(400, "bad_request", "limit must be a number")
    async with state.db.tx() as conn:
        entries = await querylog.recent(conn, limit, request.query_params.get("user_id"))
    for e in entries:
        e["arguments"] = querylog.arguments_value(e["arguments"])
    return JSONResponse({"entries": entries}, headers=NO_STORE)


async def healthz(request: Request) -> Response:
    state = state_of(request)
    return JSONResponse(
        {
            "ok": True,
            "region": state.region,
            "mcp_url": state.config.mcp_url,
            "auth": state.config.auth,
        }
    )


def routes() -> list[Route]:
    return [
        Route("/api/me", me, methods=["GET"]),
        Route("/api/token-info", token_info, methods=["GET"]),
        Route("/api/mcp-token", mcp_token, methods=["GET", "POST", "DELETE"]),
        Route("/api/api-tokens", api_token, methods=["POST"]),
        Route("/api/account/password", password, methods=["POST"]),
        Route("/api/admin/mcp-tokens", admin_tokens, methods=["GET"]),
        Route("/api/admin/mcp-tokens/{token_id}", admin_delete_token, methods=["DELETE"]),
        Route("/api/admin/query-log", admin_query_log, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
