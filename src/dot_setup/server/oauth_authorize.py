"""The OAuth 2.1 authorization server's discovery documents, client registration and /authorize.

Per the MCP authorization spec (2026-07-28): RFC 9728 protected resource metadata at the root
and path-inserted, RFC 8414 metadata with an exact issuer, PKCE S256 only, dynamic client
registration and client ID metadata documents, resource indicators, `iss` on every
authorization response (errors included), refresh rotation, RFC 7009 revocation and the RFC 8628
device authorization grant.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dot_setup.server import clients, credentials
from dot_setup.server import schema as s
from dot_setup.server.clients import ClientError
from dot_setup.server.config import MCP_PATH, MCP_SCOPE, SSE_PATH
from dot_setup.server.security import digest
from dot_setup.server.state import ServerState
from dot_setup.server.web import (
    NO_STORE,
    client_ip,
    error_page,
    form_fields,
    oauth_error,
    redirect,
    state_of,
    too_many_requests,
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
    if wait := state.limiter.hit(f"register:{client_ip(request)}", state.config.limits.register):
        return too_many_requests(wait)
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
    q = dict(request.query_params) if request.method == "GET" else dict(await form_fields(request))
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
