"""The same server on PostgreSQL: schema, sign-in, MCP tokens, tools and the query log.

A throw-away PostgreSQL server (Debian's postgresql package) is started for the module. The
answers must equal those of the SQLite server at the same date: the two databases hold the same
seeded data.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from tests.pgcluster import PostgresCluster, find_pg_bin
from tests.server.live import ADMIN, ANALYST, PASSWORD, LiveServer

from dot_setup.server.clock import FakeClock

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
_IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    if find_pg_bin() is None:
        reason = "PostgreSQL server programs not found: apt-get install postgresql"
        if _IN_CI:
            pytest.fail(f"{reason} (CI must not skip the PostgreSQL tests)")
        pytest.skip(reason)
    with PostgresCluster(tmp_path_factory.mktemp("pg") / "cluster") as pg:
        yield pg


@pytest.fixture
def pg_servers(
    cluster: PostgresCluster, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[LiveServer, LiveServer]]:
    if os.geteuid() == 0:
        request.getfixturevalue("no_tripwire")  # see tests/test_pgcluster.py
    clock = FakeClock()
    with (
        LiveServer(tmp_path / "pg", db_url=cluster.plain_url, clock=clock) as pg,
        LiveServer(tmp_path / "lite", clock=clock) as lite,
    ):
        yield pg, lite


async def _tools(url: str, token: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        return [await client.call_tool(name, args) for name, args in calls]


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("total_sales", {"period": "last_quarter"}),
    ("top_customers", {"limit": 10}),
    ("compare_periods", {"unit": "month"}),
    (
        "query",
        {
            "table": "orders",
            "group_by": ["product_id"],
            "metrics": ["sum:amount", "count"],
            "order_by": "sum_amount",
            "descending": True,
            "limit": 3,
        },
    ),
    (
        "query",
        {
            "table": "customers",
            "filters": {"country": {"in": ["US", "CA"]}, "name": {"contains": "a"}},
            "columns": ["name", "country"],
            "order_by": "name",
            "limit": 5,
        },
    ),
]


def test_postgres_answers_equal_sqlite_answers(pg_servers: tuple[LiveServer, LiveServer]) -> None:
    pg, lite = pg_servers
    results = {}
    for live in (pg, lite):
        token = live.mcp_token(ANALYST)
        results[live] = asyncio.run(_tools(live.mcp_url, token, CALLS))
    for (name, _), a, b in zip(CALLS, results[pg], results[lite], strict=True):
        assert not a.is_error, a.content
        assert a.structured_content == b.structured_content, name
    assert results[pg][0].structured_content["revenue"] > 0


def test_postgres_tokens_permissions_and_log(
    pg_servers: tuple[LiveServer, LiveServer], cluster: PostgresCluster
) -> None:
    pg, _ = pg_servers
    first = pg.mcp_token(ANALYST)
    second = pg.mcp_token(ANALYST)  # replaces the first
    denied = asyncio.run(_tools(pg.mcp_url, second, [("query", {"table": "expenses"})]))[0]
    assert denied.is_error and "Permission denied" in denied.content[0].text
    old = httpx2.post(pg.mcp_url, headers={"Authorization": f"Bearer {first}"}, json={})
    assert old.status_code == 401 and old.json()["error_description"] == "Invalid API token"

    admin = pg.sign_in(ADMIN)["access_token"]
    log = pg.api("GET", "/api/admin/query-log", admin).json()["entries"]
    assert log[0]["tool"] == "query" and log[0]["allowed"] is False and log[0]["email"] == ANALYST

    # One active MCP token per user is a database rule on PostgreSQL too.
    async def second_active() -> None:
        conn = await asyncpg.connect(cluster.plain_url)
        try:
            row = await conn.fetchrow(
                "SELECT * FROM tokens WHERE kind = 'pat' AND revoked_at IS NULL"
            )
            values = dict(row)
            values.update(token_hash="0" * 64, id="tok_duplicate")
            cols = ", ".join(values)
            marks = ", ".join(f"${i + 1}" for i in range(len(values)))
            await conn.execute(f"INSERT INTO tokens ({cols}) VALUES ({marks})", *values.values())
        finally:
            await conn.close()

    with pytest.raises(asyncpg.UniqueViolationError):
        asyncio.run(second_active())

    # A password change revokes everything, on PostgreSQL as on SQLite.
    access = pg.sign_in(ANALYST)["access_token"]
    changed = pg.api(
        "POST",
        "/api/account/password",
        access,
        json={"current_password": PASSWORD, "new_password": "another-password-2"},
    )
    assert changed.status_code == 200
    after = httpx2.post(pg.mcp_url, headers={"Authorization": f"Bearer {second}"}, json={})
    assert after.status_code == 401
