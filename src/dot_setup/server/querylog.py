"""The compliance log: one row per MCP tool call, allowed or denied."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s


async def record(conn: AsyncConnection, **entry: Any) -> None:
    entry["arguments"] = json.dumps(entry.get("arguments") or {}, sort_keys=True, default=str)[
        :4000
    ]
    await conn.execute(s.query_log.insert().values(**entry))


async def recent(
    conn: AsyncConnection, limit: int = 100, user_id: str | None = None
) -> list[dict[str, Any]]:
    q = select(s.query_log).order_by(s.query_log.c.id.desc()).limit(max(1, min(limit, 1000)))
    if user_id:
        q = q.where(s.query_log.c.user_id == user_id)
    return [dict(r._mapping) for r in (await conn.execute(q)).all()]
