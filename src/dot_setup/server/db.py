"""The database handle: one async SQLAlchemy engine, schema creation, transactions.

SQLite runs in WAL mode with a busy timeout so several `serve` processes can share one file;
PostgreSQL needs nothing special. Both get the same tables from `schema.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from dot_setup.errors import DotSetupError
from dot_setup.server import schema


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = _engine(url)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed on success, rolled back on any error."""
        async with self.engine.begin() as conn:
            yield conn

    async def create(self) -> None:
        try:
            async with self.tx() as conn:
                await conn.run_sync(schema.metadata.create_all)
        except IntegrityError:
            pass  # another process created the tables at the same moment
        except OSError as exc:
            raise DotSetupError(
                f"cannot open the database {self.safe_url}: {exc}",
                "check --db, or that the server is running and reachable",
            ) from exc
        async with self.tx() as conn:
            row = (
                await conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == "schema"))
            ).first()
        if row is None:
            # Its own transaction: on PostgreSQL a failed insert aborts the transaction it is in.
            with suppress(IntegrityError):
                async with self.tx() as conn:
                    await conn.execute(
                        schema.meta.insert().values(key="schema", value=str(schema.SCHEMA_VERSION))
                    )
        elif int(row[0]) > schema.SCHEMA_VERSION:
            raise DotSetupError(
                f"the database {self.safe_url} has schema {row[0]}, newer than this "
                f"dot-setup ({schema.SCHEMA_VERSION})",
                "upgrade dot-setup, or point --db at another database",
            )

    @property
    def safe_url(self) -> str:
        """The URL without a password, for messages and logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    async def close(self) -> None:
        await self.engine.dispose()


def _engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    import importlib.util

    if importlib.util.find_spec("asyncpg") is None:
        raise DotSetupError(
            "PostgreSQL support is not installed", "pip install 'dot-setup[postgres]'"
        )
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
