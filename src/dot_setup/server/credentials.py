"""Bearer credentials: OAuth grants and tokens, MCP tokens and regular API tokens.

The request path is one primary-key lookup by the token's SHA-256 digest (joined with its user
and grant); no password hashing and no scan happens there.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s
from dot_setup.server.accounts import User
from dot_setup.server.config import MCP_SCOPE, Lifetimes
from dot_setup.server.db import Database
from dot_setup.server.security import digest, display, mint, new_id
from dot_setup.server.state import ServerState

PAT_CLIENT = "personal-mcp-token"
API_CLIENT = "api-token"


@dataclass(frozen=True)
class TokenInfo:
    """A verified credential: who, through what, until when."""

    id: str
    kind: str
    user: User
    client_id: str
    scope: str
    resource: str
    display: str
    created_at: float
    expires_at: float
    grant_id: str | None


@dataclass(frozen=True)
class Rejection:
    """Why a presented token is not accepted (never shown with the token itself)."""

    reason: str  # unknown | expired | revoked | replaced | rotated | password_changed | ...
    kind: str | None = None


# Built once: the request path runs it for every MCP request (one primary-key search, with the
# grant and the user joined in, so no second round trip to the database).
_T, _G, _U = s.tokens, s.grants, s.users
_LOOKUP = (
    select(
        _T.c.id,
        _T.c.kind,
        _T.c.user_id,
        _T.c.client_id,
        _T.c.scope,
        _T.c.resource,
        _T.c.display,
        _T.c.created_at,
        _T.c.expires_at,
        _T.c.revoked_at,
        _T.c.revoked_reason,
        _T.c.rotated_at,
        _T.c.grant_id,
        _G.c.revoked_at.label("grant_revoked_at"),
        _G.c.revoked_reason.label("grant_revoked_reason"),
        _U.c.email.label("user_email"),
        _U.c.name.label("user_name"),
        _U.c.role.label("user_role"),
        _U.c.mcp_access.label("user_mcp_access"),
        _U.c.password_changed_at.label("user_password_changed_at"),
    )
    .select_from(_T.join(_U, _T.c.user_id == _U.c.id).outerjoin(_G, _T.c.grant_id == _G.c.id))
    .where(_T.c.token_hash == bindparam("token_hash"))
)


async def lookup(conn: AsyncConnection, token: str, now: float) -> TokenInfo | Rejection:
    """Find a token by digest and check it is live; does not check its kind or resource."""
    row = (await conn.execute(_LOOKUP, {"token_hash": digest(token)})).first()
    return _verdict(dict(row._mapping) if row is not None else None, now)


async def verify(db: Database, token: str, now: float) -> TokenInfo | Rejection:
    """`lookup` for the request path: one point read, outside any transaction."""
    return _verdict(await db.point_read(_LOOKUP, {"token_hash": digest(token)}), now)


def _verdict(found: dict[str, Any] | None, now: float) -> TokenInfo | Rejection:
    if found is None:
        return Rejection("unknown")
    row = SimpleNamespace(**found)
    if row.grant_revoked_at is not None:
        return Rejection(row.grant_revoked_reason or "revoked", row.kind)
    if row.revoked_at is not None:
        return Rejection(row.revoked_reason or "revoked", row.kind)
    if row.rotated_at is not None:
        return Rejection("rotated", row.kind)
    if row.expires_at <= now:
        return Rejection("expired", row.kind)
    user = User(
        id=row.user_id,
        email=row.user_email,
        name=row.user_name,
        role=row.user_role,
        mcp_access=bool(row.user_mcp_access),
        password_changed_at=row.user_password_changed_at,
    )
    return TokenInfo(
        id=row.id,
        kind=row.kind,
        user=user,
        client_id=row.client_id,
        scope=row.scope,
        resource=row.resource,
        display=row.display,
        created_at=row.created_at,
        expires_at=row.expires_at,
        grant_id=row.grant_id,
    )


async def _insert(
    conn: AsyncConnection,
    *,
    kind: str,
    region: str,
    user_id: str,
    client_id: str,
    resource: str,
    now: float,
    ttl: float,
    grant_id: str | None = None,
    scope: str = MCP_SCOPE,
) -> tuple[str, str]:
    token = mint(kind, region)
    token_id = new_id("tok")
    await conn.execute(
        s.tokens.insert().values(
            token_hash=digest(token),
            id=token_id,
            kind=kind,
            user_id=user_id,
            client_id=client_id,
            grant_id=grant_id,
            scope=scope,
            resource=resource,
            display=display(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token, token_id


# -- MCP tokens and regular API tokens --------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: str
    id: str
    display: str
    expires_at: float
    replaced: bool


async def issue_mcp_token(
    conn: AsyncConnection, user: User, region: str, resource: str, now: float, ttl: float
) -> NewToken:
    """A new MCP token; the user's previous one, if any, is revoked in the same transaction."""
    t = s.tokens
    live = select(t.c.id).where(
        t.c.user_id == user.id, t.c.kind == "pat", t.c.revoked_at.is_(None), t.c.expires_at > now
    )
    replaced = (await conn.execute(live)).first() is not None
    # Expired tokens are marked too: the one-active-token index counts every unrevoked row.
    await conn.execute(
        update(s.tokens)
        .where(
            s.tokens.c.user_id == user.id, s.tokens.c.kind == "pat", s.tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=now, revoked_reason="replaced")
    )
    token, token_id = await _insert(
        conn,
        kind="pat",
        region=region,
        user_id=user.id,
        client_id=PAT_CLIENT,
        resource=resource,
        now=now,
        ttl=ttl,
    )
    return NewToken(token, token_id, display(token), now + ttl, replaced)


async def issue_api_token(
    conn: AsyncConnection, user: User, region: str, resource: str, now: float, ttl: float
) -> NewToken:
    """A regular API token: it works for Dot's REST API, never for MCP."""
    token, token_id = await _insert(
        conn,
        kind="api",
        region=region,
        user_id=user.id,
        client_id=API_CLIENT,
        resource=resource,
        now=now,
        ttl=ttl,
        scope="api",
    )
    return NewToken(token, token_id, display(token), now + ttl, False)


async def issue_for(state: ServerState, user: User, kind: str) -> NewToken:
    """Issue an MCP token (`pat`) or a regular API token (`api`) in this server's region."""
    issue = issue_mcp_token if kind == "pat" else issue_api_token
    async with state.db.tx() as conn:
        return await issue(
            conn,
            user,
            state.region,
            state.config.resource,
            state.now(),
            state.config.lifetimes.mcp_token,
        )


@dataclass(frozen=True)
class TokenRecord:
    id: str
    user_id: str
    email: str
    display: str
    created_at: float
    expires_at: float


async def active_mcp_tokens(
    conn: AsyncConnection, now: float, user_id: str | None = None
) -> list[TokenRecord]:
    q = (
        select(
            s.tokens.c.id,
            s.tokens.c.user_id,
            s.users.c.email,
            s.tokens.c.display,
            s.tokens.c.created_at,
            s.tokens.c.expires_at,
        )
        .select_from(s.tokens.join(s.users, s.tokens.c.user_id == s.users.c.id))
        .where(
            s.tokens.c.kind == "pat",
            s.tokens.c.revoked_at.is_(None),
            s.tokens.c.expires_at > now,
        )
        .order_by(s.users.c.email)
    )
    if user_id is not None:
        q = q.where(s.tokens.c.user_id == user_id)
    return [TokenRecord(*r) for r in (await conn.execute(q)).all()]


async def revoke_mcp_token(
    conn: AsyncConnection,
    now: float,
    *,
    user_id: str | None = None,
    token_id: str | None = None,
    reason: str = "deleted",
) -> int:
    """Revoke the active MCP token of a user, or one by id; returns how many were revoked.

    `deleted` (the default) is an admin's deletion; a user revoking their own token says `revoked`.
    """
    q = update(s.tokens).where(s.tokens.c.kind == "pat", s.tokens.c.revoked_at.is_(None))
    if user_id is not None:
        q = q.where(s.tokens.c.user_id == user_id)
    if token_id is not None:
        q = q.where(s.tokens.c.id == token_id)
    result = await conn.execute(q.values(revoked_at=now, revoked_reason=reason))
    return int(result.rowcount)


# -- OAuth grants -----------------------------------------------------------------------------


async def create_grant(
    conn: AsyncConnection,
    user: User,
    client_id: str,
    scope: str,
    resource: str,
    now: float,
    ttl: float,
) -> str:
    grant_id = new_id("grt")
    await conn.execute(
        s.grants.insert().values(
            id=grant_id,
            user_id=user.id,
            client_id=client_id,
            scope=scope,
            resource=resource,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return grant_id


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


async def issue_pair(
    conn: AsyncConnection, grant_id: str, region: str, now: float, life: Lifetimes
) -> TokenPair:
    g = (await conn.execute(select(s.grants).where(s.grants.c.id == grant_id))).one()
    common = dict(
        region=region,
        user_id=g.user_id,
        client_id=g.client_id,
        resource=g.resource,
        now=now,
        grant_id=grant_id,
        scope=g.scope,
    )
    access, _ = await _insert(conn, kind="access", ttl=life.access_token, **common)
    # The refresh token lives as long as the sign-in (one year from consent), however often
    # it is rotated.
    refresh, _ = await _insert(conn, kind="refresh", ttl=g.expires_at - now, **common)
    return TokenPair(access, refresh, life.access_token, g.scope)


async def rotate_refresh(
    conn: AsyncConnection,
    refresh_token: str,
    client_id: str,
    region: str,
    now: float,
    life: Lifetimes,
) -> TokenPair | Rejection:
    """Use a refresh token once. Reusing a rotated one revokes the whole sign-in (RFC 9700)."""
    found = await lookup(conn, refresh_token, now)
    if isinstance(found, Rejection):
        if found.reason == "rotated" and found.kind == "refresh":
            row = (
                await conn.execute(
                    select(s.tokens.c.grant_id).where(
                        s.tokens.c.token_hash == digest(refresh_token)
                    )
                )
            ).first()
            if row and row.grant_id:
                await revoke_grant(conn, row.grant_id, now, "refresh_reuse")
            return Rejection("reused", "refresh")
        return found
    if found.kind != "refresh" or found.grant_id is None:
        return Rejection("unknown")
    if found.client_id != client_id:
        return Rejection("wrong_client", "refresh")
    rotated = await conn.execute(
        update(s.tokens)
        .where(
            s.tokens.c.token_hash == digest(refresh_token),
            s.tokens.c.rotated_at.is_(None),
            s.tokens.c.revoked_at.is_(None),
        )
        .values(rotated_at=now)
    )
    if rotated.rowcount != 1:
        # Rotated (or revoked) by a concurrent request since the lookup: the same token was
        # presented twice, which is reuse.
        await revoke_grant(conn, found.grant_id, now, "refresh_reuse")
        return Rejection("reused", "refresh")
    return await issue_pair(conn, found.grant_id, region, now, life)


async def revoke_grant(conn: AsyncConnection, grant_id: str, now: float, reason: str) -> None:
    await conn.execute(
        update(s.grants)
        .where(s.grants.c.id == grant_id, s.grants.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    await conn.execute(
        update(s.tokens)
        .where(s.tokens.c.grant_id == grant_id, s.tokens.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def revoke_presented(
    conn: AsyncConnection, token: str, client_id: str | None, now: float
) -> None:
    """RFC 7009: revoke what was presented; a refresh token takes its whole sign-in with it."""
    found = await lookup(conn, token, now)
    if isinstance(found, Rejection):
        return
    if client_id is not None and found.client_id != client_id:
        return  # a client may revoke only its own tokens; RFC 7009 still answers 200
    if found.kind == "refresh" and found.grant_id:
        await revoke_grant(conn, found.grant_id, now, "revoked")
        return
    await conn.execute(
        update(s.tokens)
        .where(s.tokens.c.token_hash == digest(token))
        .values(revoked_at=now, revoked_reason="revoked")
    )
