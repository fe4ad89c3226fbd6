"""The compliance log: one row per MCP tool call, allowed or denied."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s

MAX_ARGUMENTS_CHARS = 4000


def stored_arguments(arguments: Any) -> str:
    """The arguments as stored: always one valid JSON document of at most 4,000 characters.

    Longer arguments are kept as a marked preview (`_truncated`), never cut mid-JSON: a cut
    row made every admin query-log window that held it answer 500.
    """
    text = json.dumps(arguments or {}, sort_keys=True, default=str)
    if len(text) <= MAX_ARGUMENTS_CHARS:
        return text
    keep = MAX_ARGUMENTS_CHARS - 100
    while True:  # escaping can grow the preview; shrink until the whole document fits
        summary = json.dumps({"_truncated": True, "_chars": len(text), "_preview": text[:keep]})
        if len(summary) <= MAX_ARGUMENTS_CHARS:
            return summary
        keep = keep * 3 // 4


def arguments_value(stored: str) -> Any:
    """Stored arguments as JSON; a row that is not JSON (written before this rule) is shown as
    a preview instead of failing the whole log."""
    try:
        return json.loads(stored)
    except ValueError:
        return {"_truncated": True, "_chars": len(stored), "_preview": stored[:1000]}


async def record(conn: AsyncConnection, **entry: Any) -> None:
    entry["arguments"] = stored_arguments(entry.get("arguments"))
    await conn.execute(s.query_log.insert().values(**entry))


async def recent(
    conn: AsyncConnection, limit: int = 100, user_id: str | None = None
) -> list[dict[str, Any]]:
    q = select(s.query_log).order_by(s.query_log.c.id.desc()).limit(max(1, min(limit, 1000)))
    if user_id:
        q = q.where(s.query_log.c.user_id == user_id)
    return [dict(r._mapping) for r in (await conn.execute(q)).all()]
