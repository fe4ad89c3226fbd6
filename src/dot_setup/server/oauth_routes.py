"""The OAuth 2.1 authorization server endpoints and the discovery documents.

Per the MCP authorization spec (2026-07-28): RFC 9728 protected resource metadata at the root
and path-inserted, RFC 8414 metadata with an exact issuer, PKCE S256 only, dynamic client
registration and client ID metadata documents, resource indicators, `iss` on every
authorization response (errors included), refresh rotation, RFC 7009 revocation and the RFC 8628
device authorization grant.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dot_setup.server import clients, credentials
from dot_setup.server import schema as s
from dot_setup.server.clients import Client, ClientError
from dot_setup.server.config import MCP_PATH, MCP_SCOPE, SSE_PATH
from dot_setup.server.credentials import Rejection, TokenPair
from dot_setup.server.security import digest, same, user_code
from dot_setup.server.state import ServerState
from dot_setup.server.web import (
    NO_STORE,
    error_page,
    oauth_error,
    redirect,
    state_of,
    with_params,
)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# -- discovery --------------------------------------------------------------------------------


def resource_metadata(state: ServerState) -> dict[str, Any]:
    cfg = state.config
    return {
        "resource": cfg.resource,
        "authorization_servers": [cfg.issuer],
        "scopes_supported": [MCP_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": f"Dot ({cfg.region.upper()})",
        "resource_documentation": cfg.origin + "/settings/integrations",
    }


def server_metadata(state: ServerState) -> dict[str, Any]:
    o = state.config.issuer
    return {
        "issuer": o,
        "authorization_endpoint": o + "/authorize",
        "token_endpoint": o + "/token",
        "registration_endpoint": o + "/register",
        "revocation_endpoint": o + "/revoke",
        "device_authorization_endpoint": o + "/device_authorization",
        "scopes_supported": [MCP_SCOPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT],
        "token_endpoint_auth_methods_supported": list(clients.AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(clients.AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": o + "/settings/integrations",
    }


CORS = {"Access-Control-Allow-Origin": "*"}


async def prm(request: Request) -> Response:
    return JSONResponse(resource_metadata(state_of(request)), headers=CORS)


async def as_metadata(request: Request) -> Response:
    return JSONResponse(server_metadata(state_of(request)), headers=CORS)


# -- registration -----------------------------------------------------------------------------


async def register(request: Request) -> Response:
    state = state_of(request)
    if wait := state.limiter.hit(f"register:{_ip(request)}", state.config.limits.register):
        return _too_many(wait)
    try:
        body = json.loads(await request.body())
    except ValueError:
        return oauth_error("invalid_client_metadata", "the body must be a JSON object")
    if not isinstance(body, dict):
        return oauth_error("invalid_client_metadata", "the body must be a JSON object")
    try:
        async with state.db.tx() as conn:
            info = await clients.register(conn, body, state.now())
    except ClientError as exc:
        return oauth_error(exc.error, exc.description)
    return JSONResponse(info, status_code=201, headers={**NO_STORE, **CORS})


# -- authorization ----------------------------------------------------------------------------


def canonical_resource(state: ServerState, value: str | None) -> str | None:
    """This server's resource if `value` names it (or anything under it), else None."""
    if not value:
        return state.config.resource
    want = urlsplit(value.rstrip("/"))
    have = urlsplit(state.config.resource)
    if (want.scheme.lower(), want.netloc.lower()) != (have.scheme, have.netloc.lower()):
        return None
    if want.path in ("", "/", MCP_PATH, SSE_PATH) and not want.query and not want.fragment:
        return state.config.resource
    return None


def _redirect_error(
    state: ServerState, uri: str, error: str, description: str, st: str | None
) -> Response:
    params = {"error": error, "error_description": description, "iss": state.config.issuer}
    if st is not None:
        params["state"] = st
    return redirect(with_params(uri, params), 302)


async def authorize(request: Request) -> Response:
    state = state_of(request)
    q = dict(request.query_params) if request.method == "GET" else dict(await _form(request))
    client_id = q.get("client_id", "")
    try:
        client = await clients.get_client(state, client_id) if client_id else None
    except ClientError as exc:
        return error_page(state, "Cannot sign in this client", exc.description)
    if client is None:
        return error_page(
            state,
            "Unknown client",
            "The application is not registered with Dot. Restart the connection from your AI client.",
        )
    redirect_uri = client.match_redirect(q.get("redirect_uri"))
    if redirect_uri is None:
        return error_page(
            state,
            "Redirect address not registered",
            f"{q.get('redirect_uri') or '(none)'} is not a redirect URI of {client.name}.",
        )
    st = q.get("state")
    # From here on, errors go back to the client, with `iss` (RFC 9207).
    if q.get("response_type") != "code":
        return _redirect_error(
            state, redirect_uri, "unsupported_response_type", "response_type must be code", st
        )
    if not q.get("code_challenge") or q.get("code_challenge_method", "plain") != "S256":
        return _redirect_error(
            state,
            redirect_uri,
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
            st,
        )
    resource = canonical_resource(state, q.get("resource"))
    if resource is None:
        return _redirect_error(
            state,
            redirect_uri,
            "invalid_target",
            f"resource must be {state.config.resource} (this region)",
            st,
        )
    params = {
        "redirect_uri": redirect_uri,
        "state": st,
        "code_challenge": q["code_challenge"],
        "scope": MCP_SCOPE,  # the one scope; unknown ones (openid, email, ...) are not granted
        "resource": resource,
        "requested_scope": q.get("scope", ""),
    }
    rid = secrets.token_urlsafe(24)
    async with state.db.tx() as conn:
        await conn.execute(
            s.auth_requests.insert().values(
                id_hash=digest(rid),
                client_id=client.client_id,
                params=json.dumps(params),
                created_at=state.now(),
            )
        )
    return redirect(f"/consent?r={rid}", 302)


class AlreadyAnswered(Exception):
    """The consent was answered by another request first (a double click, or a race)."""


async def complete_authorization(state: ServerState, rid: str, user_id: str, allow: bool) -> str:
    """Finish a consented (or denied) request: the URL to send the browser back to.

    The request is claimed first, by one conditional UPDATE: of concurrent answers exactly one
    gets a code and a grant, the others raise AlreadyAnswered. (Claiming before reading also
    takes SQLite's write lock first, so a concurrent claim waits instead of failing.)
    """
    from dot_setup.server.accounts import get_user

    now = state.now()
    requests = s.auth_requests
    async with state.db.tx() as conn:
        claimed = await conn.execute(
            update(requests)
            .where(requests.c.id_hash == digest(rid), requests.c.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:
            raise AlreadyAnswered(rid)
        row = (await conn.execute(select(requests).where(requests.c.id_hash == digest(rid)))).one()
        params = json.loads(row.params)
        uri = params["redirect_uri"]
        base: dict[str, str] = {"iss": state.config.issuer}
        if params.get("state") is not None:
            base["state"] = params["state"]
        if not allow:
            return with_params(
                uri,
                {"error": "access_denied", "error_description": "the user denied access", **base},
            )
        user = await get_user(conn, user_id)
        assert user is not None
        grant_id = await credentials.create_grant(
            conn,
            user,
            row.client_id,
            params["scope"],
            params["resource"],
            now,
            state.config.lifetimes.refresh_grant,
        )
        code = secrets.token_urlsafe(32)
        await conn.execute(
            s.auth_codes.insert().values(
                code_hash=digest(code),
                grant_id=grant_id,
                client_id=row.client_id,
                redirect_uri=uri,
                code_challenge=params["code_challenge"],
                created_at=now,
                expires_at=now + state.config.lifetimes.auth_code,
            )
        )
    return with_params(uri, {"code": code, **base})


# -- token ------------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


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
    if wait := state.limiter.hit(f"token:{_ip(request)}", state.config.limits.token):
        return _too_many(wait)
    form = await _form(request)
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


# -- revocation and device authorization -------------------------------------------------------


async def revoke(request: Request) -> Response:
    state = state_of(request)
    form = await _form(request)
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
    if wait := state.limiter.hit(f"token:{_ip(request)}", state.config.limits.token):
        return _too_many(wait)
    form = await _form(request)
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


def _ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def _too_many(wait: float) -> Response:
    return oauth_error(
        "temporarily_unavailable",
        "too many requests; try again later",
        429,
        **{"Retry-After": str(int(wait) + 1)},
    )


def routes() -> list[Route]:
    wk_prm = "/.well-known/oauth-protected-resource"
    return [
        Route(wk_prm, prm, methods=["GET"]),
        Route(wk_prm + MCP_PATH, prm, methods=["GET"]),
        Route(wk_prm + SSE_PATH, prm, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", as_metadata, methods=["GET"]),
        Route("/register", register, methods=["POST"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/device_authorization", device_authorization, methods=["POST"]),
    ]
