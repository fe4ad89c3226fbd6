"""The OAuth token endpoint and its neighbours: /token (authorization code with PKCE, refresh
rotation, the RFC 8628 device code), /revoke (RFC 7009) and /device_authorization.

Clients authenticate here (HTTP Basic or form fields, RFC 6749 §2.3); every answer is no-store,
and the token and device endpoints are rate-limited per address.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dot_setup.server import clients, credentials
from dot_setup.server import schema as s
from dot_setup.server.clients import Client, ClientError
from dot_setup.server.config import MCP_SCOPE
from dot_setup.server.credentials import Rejection, TokenPair
from dot_setup.server.oauth_authorize import CORS, DEVICE_GRANT, canonical_resource
from dot_setup.server.security import digest, same, user_code
from dot_setup.server.state import ServerState
from dot_setup.server.web import (
    NO_STORE,
    client_ip,
    form_fields,
    oauth_error,
    state_of,
    too_many_requests,
)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode("utf-8")
            cid, _, secret = raw.partition(":")
            return unquote(cid), unquote(secret)
        except (ValueError, UnicodeDecodeError):
            return "", None
    return form.get("client_id", ""), form.get("client_secret")


async def _authenticate_client(
    state: ServerState, request: Request, form: dict[str, str]
) -> Client | Response:
    cid, secret = _client_credentials(request, form)
    try:
        client = await clients.get_client(state, cid) if cid else None
    except ClientError as exc:
        return oauth_error("invalid_client", exc.description, 401)
    if client is None or not client.check_secret(secret):
        # RFC 6749 §5.2: a client that tried HTTP Basic gets a Basic challenge with its 401.
        basic = request.headers.get("authorization", "")[:6].lower() == "basic "
        challenge = {"WWW-Authenticate": 'Basic realm="Dot"'} if basic else {}
        return oauth_error("invalid_client", "client authentication failed", 401, **challenge)
    return client


def _pair_body(pair: TokenPair) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": pair.access_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
            "scope": pair.scope,
        },
        headers={**NO_STORE, **CORS},
    )


async def token(request: Request) -> Response:
    state = state_of(request)
    if wait := state.limiter.hit(f"token:{client_ip(request)}", state.config.limits.token):
        return too_many_requests(wait)
    form = await form_fields(request)
    client = await _authenticate_client(state, request, form)
    if not isinstance(client, Client):
        return client
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return await _code_grant(state, client, form)
    if grant == "refresh_token":
        return await _refresh_grant(state, client, form)
    if grant == DEVICE_GRANT:
        return await _device_grant(state, client, form)
    return oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")


def _pkce_ok(verifier: str, challenge: str) -> bool:
    if not 43 <= len(verifier) <= 128:
        return False
    computed = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    )
    return same(computed.decode().rstrip("="), challenge)


async def _code_grant(state: ServerState, client: Client, form: dict[str, str]) -> Response:
    now = state.now()
    code = form.get("code", "")
    async with state.db.tx() as conn:
        row = (
            await conn.execute(select(s.auth_codes).where(s.auth_codes.c.code_hash == digest(code)))
        ).first()
        if row is None or row.client_id != client.client_id:
            return oauth_error("invalid_grant", "unknown authorization code")
        if row.used_at is not None:
            # A code used twice: somebody replayed it; the sign-in it produced is revoked.
            await credentials.revoke_grant(conn, row.grant_id, now, "code_reuse")
            return oauth_error("invalid_grant", "authorization code already used")
        if row.expires_at <= now:
            return oauth_error("invalid_grant", "authorization code expired")
        if form.get("redirect_uri", row.redirect_uri) != row.redirect_uri:
            return oauth_error(
                "invalid_grant", "redirect_uri does not match the authorization request"
            )
        if not _pkce_ok(form.get("code_verifier", ""), row.code_challenge):
            return oauth_error("invalid_grant", "PKCE verification failed")
        if "resource" in form and canonical_resource(state, form["resource"]) is None:
            return oauth_error("invalid_target", f"resource must be {state.config.resource}")
        claimed = await conn.execute(
            update(s.auth_codes)
            .where(s.auth_codes.c.code_hash == row.code_hash, s.auth_codes.c.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:
            # Redeemed by a concurrent request since the read above: a replay, as above.
            await credentials.revoke_grant(conn, row.grant_id, now, "code_reuse")
            return oauth_error("invalid_grant", "authorization code already used")
        pair = await credentials.issue_pair(
            conn, row.grant_id, state.region, now, state.config.lifetimes
        )
    return _pair_body(pair)


async def _refresh_grant(state: ServerState, client: Client, form: dict[str, str]) -> Response:
    if "resource" in form and canonical_resource(state, form["resource"]) is None:
        return oauth_error("invalid_target", f"resource must be {state.config.resource}")
    async with state.db.tx() as conn:
        result = await credentials.rotate_refresh(
            conn,
            form.get("refresh_token", ""),
            client.client_id,
            state.region,
            state.now(),
            state.config.lifetimes,
        )
    if isinstance(result, Rejection):
        text = {
            "reused": "refresh token reuse detected: the sign-in was revoked; sign in again",
            "expired": "the sign-in expired (one year); sign in again",
            "password_changed": "the password was changed: sign in again",
        }.get(result.reason, "invalid refresh token")
        return oauth_error("invalid_grant", text)
    return _pair_body(result)


async def _device_grant(state: ServerState, client: Client, form: dict[str, str]) -> Response:
    now = state.now()
    dc = s.device_codes
    async with state.db.tx() as conn:
        row = (
            await conn.execute(
                select(dc).where(dc.c.device_hash == digest(form.get("device_code", "")))
            )
        ).first()
        if row is None or row.client_id != client.client_id:
            return oauth_error("invalid_grant", "unknown device code")
        if row.status == "used":
            return oauth_error("invalid_grant", "device code already used")
        if row.expires_at <= now:
            return oauth_error("expired_token", "the device code expired; start again")
        if row.status == "denied":
            return oauth_error("access_denied", "the user denied access")
        if row.status == "pending":
            too_fast = row.last_poll_at is not None and now - row.last_poll_at < row.interval
            values: dict[str, Any] = {"last_poll_at": now}
            if too_fast:
                values["interval"] = row.interval + 5
            await conn.execute(
                update(dc).where(dc.c.device_hash == row.device_hash).values(**values)
            )
            if too_fast:
                return oauth_error("slow_down", f"poll at most every {row.interval + 5} s")
            return oauth_error("authorization_pending", "waiting for the user to approve")
        claimed = await conn.execute(
            update(dc)
            .where(dc.c.device_hash == row.device_hash, dc.c.status == "approved")
            .values(status="used")
        )
        if claimed.rowcount != 1:  # a concurrent poll got the tokens
            return oauth_error("invalid_grant", "device code already used")
        pair = await credentials.issue_pair(
            conn, row.grant_id, state.region, now, state.config.lifetimes
        )
    return _pair_body(pair)


async def revoke(request: Request) -> Response:
    state = state_of(request)
    form = await form_fields(request)
    client = await _authenticate_client(state, request, form)
    if not isinstance(client, Client):
        return client
    async with state.db.tx() as conn:
        await credentials.revoke_presented(
            conn, form.get("token", ""), client.client_id, state.now()
        )
    return Response(status_code=200, headers={**NO_STORE, **CORS})


async def device_authorization(request: Request) -> Response:
    state = state_of(request)
    if wait := state.limiter.hit(f"token:{client_ip(request)}", state.config.limits.token):
        return too_many_requests(wait)
    form = await form_fields(request)
    client = await _authenticate_client(state, request, form)
    if not isinstance(client, Client):
        return client
    resource = canonical_resource(state, form.get("resource"))
    if resource is None:
        return oauth_error("invalid_target", f"resource must be {state.config.resource}")
    life = state.config.lifetimes
    device_code = secrets.token_urlsafe(32)
    code = user_code()
    now = state.now()
    async with state.db.tx() as conn:
        await conn.execute(
            s.device_codes.insert().values(
                device_hash=digest(device_code),
                user_code=code,
                client_id=client.client_id,
                scope=MCP_SCOPE,
                resource=resource,
                created_at=now,
                expires_at=now + life.device_code,
                interval=life.device_interval,
                status="pending",
            )
        )
    verify = state.config.origin + "/device"
    return JSONResponse(
        {
            "device_code": device_code,
            "user_code": code,
            "verification_uri": verify,
            "verification_uri_complete": f"{verify}?user_code={code}",
            "expires_in": life.device_code,
            "interval": life.device_interval,
        },
        headers=NO_STORE,
    )
