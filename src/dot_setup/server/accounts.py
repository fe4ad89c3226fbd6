"""Users, their data-source grants, browser sessions and password changes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s
from dot_setup.server.security import burn_password_check, check_password, digest, hash_password


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    role: str
    mcp_access: bool
    password_changed_at: float

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(
        id=m["id"],
        email=m["email"],
        name=m["name"],
        role=m["role"],
        mcp_access=bool(m["mcp_access"]),
        password_changed_at=m["password_changed_at"],
    )


_USER_COLS = (
    s.users.c.id,
    s.users.c.email,
    s.users.c.name,
    s.users.c.role,
    s.users.c.mcp_access,
    s.users.c.password_changed_at,
)


async def get_user(conn: AsyncConnection, user_id: str) -> User | None:
    row = (await conn.execute(select(*_USER_COLS).where(s.users.c.id == user_id))).first()
    return _user(row) if row else None


async def authenticate(conn: AsyncConnection, email: str, password: str) -> User | None:
    """The user if the password is right; as slow for an unknown e-mail as for a known one."""
    row = (
        await conn.execute(
            select(*_USER_COLS, s.users.c.password_hash).where(
                s.users.c.email == email.strip().lower()
            )
        )
    ).first()
    if row is None:
        burn_password_check(password)
        return None
    if not check_password(row.password_hash, password):
        return None
    return _user(row)


async def granted_sources(conn: AsyncConnection, user: User) -> list[str]:
    """The data sources this user may query; admins see every source."""
    if user.is_admin:
        rows = (await conn.execute(select(s.sources.c.id).order_by(s.sources.c.id))).all()
    else:
        rows = (
            await conn.execute(
                select(s.source_grants.c.source_id)
                .where(s.source_grants.c.user_id == user.id)
                .order_by(s.source_grants.c.source_id)
            )
        ).all()
    return [r[0] for r in rows]


# -- browser sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class WebSession:
    user: User
    csrf: str


@dataclass(frozen=True)
class SessionLife:
    """A browser session ends `idle` seconds after its last request, and `limit` seconds after
    it began at the latest. `expires_at` holds the idle deadline, moved on by each use."""

    idle: float
    limit: float

    def deadline(self, created_at: float, now: float) -> float:
        return min(created_at + self.limit, now + self.idle)


async def open_session(
    conn: AsyncConnection, user: User, now: float, life: SessionLife
) -> tuple[str, WebSession]:
    """A new browser session; returns the cookie value (shown to the browser only)."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    await conn.execute(
        s.web_sessions.insert().values(
            id_hash=digest(sid),
            user_id=user.id,
            csrf=csrf,
            created_at=now,
            expires_at=life.deadline(now, now),
        )
    )
    return sid, WebSession(user, csrf)


async def load_session(
    conn: AsyncConnection, sid: str, now: float, life: SessionLife
) -> WebSession | None:
    w = s.web_sessions
    key = digest(sid)
    row = (
        await conn.execute(
            select(w.c.user_id, w.c.csrf, w.c.created_at, w.c.expires_at).where(
                w.c.id_hash == key, w.c.revoked_at.is_(None), w.c.expires_at > now
            )
        )
    ).first()
    if row is None:
        return None
    deadline = life.deadline(row.created_at, now)
    if deadline - row.expires_at > 60:  # slide the idle deadline, at most one write a minute
        await conn.execute(update(w).where(w.c.id_hash == key).values(expires_at=deadline))
    user = await get_user(conn, row.user_id)
    return WebSession(user, row.csrf) if user else None


async def close_session(conn: AsyncConnection, sid: str, now: float) -> None:
    await conn.execute(
        update(s.web_sessions).where(s.web_sessions.c.id_hash == digest(sid)).values(revoked_at=now)
    )


async def change_password(conn: AsyncConnection, user: User, new_password: str, now: float) -> None:
    """Set a new password and revoke every session and token of the user (the guide's rule)."""
    await conn.execute(
        update(s.users)
        .where(s.users.c.id == user.id)
        .values(password_hash=hash_password(new_password), password_changed_at=now)
    )
    await conn.execute(
        update(s.web_sessions)
        .where(s.web_sessions.c.user_id == user.id, s.web_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await conn.execute(
        update(s.grants)
        .where(s.grants.c.user_id == user.id, s.grants.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="password_changed")
    )
    await conn.execute(
        update(s.tokens)
        .where(s.tokens.c.user_id == user.id, s.tokens.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="password_changed")
    )
