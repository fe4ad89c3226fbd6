"""The database handle: one async SQLAlchemy engine, schema creation, transactions.

SQLite runs in WAL mode with a busy timeout so several `serve` processes can share one file;
PostgreSQL needs nothing special. Both get the same tables from `schema.py`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from dot_setup.errors import DotSetupError
from dot_setup.server import schema


def private_sqlite_file(url: str) -> None:
    """The database holds password hashes, every token digest and the query log: its folder is
    created 0700 and the file 0600 before SQLite opens it (SQLite gives -wal and -shm the
    database file's mode), and a file left wider by an older version is narrowed."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from dot_setup.fs.fsio import private_dir

    name = make_url(url).database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        file = path.with_name(path.name + suffix)
        with suppress(FileNotFoundError):
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                file.chmod(mode & 0o700)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            private_sqlite_file(url)
        self.engine: AsyncEngine = _engine(url)
        self._point = _SqlitePointReader(url) if self.is_sqlite else None

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed on success, rolled back on any error."""
        async with self.engine.begin() as conn:
            yield conn

    async def point_read(self, stmt: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """One row by key, on the request path.

        On SQLite this is a direct sqlite3 read instead of aiosqlite's hop to its thread per
        cursor operation: under 0.1 ms instead of 0.8 ms per token check, which was most of
        what authentication added to an MCP call (bench/serve_bench.py).
        """
        if self._point is not None:
            return await self._point.first(stmt, params)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt, params)).first()
        return dict(row._mapping) if row is not None else None

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
        if self._point is not None:
            self._point.close()
        await self.engine.dispose()


class _SqlitePointReader:
    """Single-row reads by primary key through a plain sqlite3 connection.

    The read runs on the event loop itself: a primary-key search in SQLite takes tens of
    microseconds, less than one hop to a thread. Its connection never waits for a lock
    (`timeout=0`); in the rare case the database is busy, the read is retried on a reader
    thread that may wait.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.path = make_url(url).database or ""
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="dot-db-read")
        self.inline: sqlite3.Connection | None = None
        self.waiting: sqlite3.Connection | None = None
        self.sql: dict[int, str] = {}

    @staticmethod
    def _query(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        cur = conn.execute(sql, params)
        try:
            row = cur.fetchone()
            if row is None:
                return None
            return dict(zip([d[0] for d in cur.description], row, strict=True))
        finally:
            cur.close()

    def _wait_and_query(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if self.waiting is None:
            self.waiting = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        return self._query(self.waiting, sql, params)

    async def first(self, stmt: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        sql = self.sql.get(id(stmt))
        if sql is None:
            from sqlalchemy.dialects import sqlite

            sql = self.sql[id(stmt)] = str(stmt.compile(dialect=sqlite.dialect(paramstyle="named")))
        if self.inline is None:
            self.inline = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            return self._query(self.inline, sql, params)
        except sqlite3.OperationalError:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, self._wait_and_query, sql, params)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for conn in (self.inline, self.waiting):
            if conn is not None:
                conn.close()


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
