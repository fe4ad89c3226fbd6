"""The throw-away PostgreSQL server of tests/pgcluster.py: it starts, stores data, listens on
127.0.0.1 only, and is gone after the `with` block, also when the block raises.

Without the PostgreSQL server programs these tests skip, except in CI, where they fail: CI must
run them (.ci/run installs the programs).
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from tests import pgcluster
from tests.pgcluster import PostgresCluster, PostgresNotFoundError, find_pg_bin

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Read at import: the autouse fake_home fixture removes CI from the environment of every test.
_IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1"}


@pytest.fixture
def cluster_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    if find_pg_bin() is None:
        reason = "PostgreSQL server programs (initdb, pg_ctl, postgres) not found: apt-get install postgresql"
        if _IN_CI:
            pytest.fail(f"{reason} (CI must not skip the PostgreSQL tests)")
        pytest.skip(reason)
    if os.geteuid() == 0:
        # As root the server runs as the `postgres` user, which needs the search bit on pytest's
        # 0700 directories above tmp_path (/tmp/pytest-of-root, ...). The cluster adds it and puts
        # it back on exit; that chmod is outside tmp_path, so the tripwire must let it through.
        request.getfixturevalue("no_tripwire")
    yield tmp_path / "pg"


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the TCP sockets listening on `port`, from /proc/net/tcp{,6}."""
    found = []
    for table, width in (("/proc/net/tcp", 1), ("/proc/net/tcp6", 4)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            # The kernel prints each 32-bit word of the address in host byte order.
            raw = b"".join(
                struct.pack("=I", int(address[i * 8 : i * 8 + 8], 16)) for i in range(width)
            )
            found.append(socket.inet_ntop(socket.AF_INET if width == 1 else socket.AF_INET6, raw))
    return found


def _refuses(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def _roundtrip(url: str) -> tuple[list[tuple[int, str]], str, str, str]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)")
        await conn.execute("INSERT INTO notes VALUES ($1, $2)", 1, "héllo ✓")
        rows = [(r["id"], r["body"]) for r in await conn.fetch("SELECT id, body FROM notes")]
        database = await conn.fetchval("SELECT current_database()")
        listen = await conn.fetchval("SHOW listen_addresses")
        server = str(await conn.fetchval("SELECT inet_server_addr()"))
    finally:
        await conn.close()
    return rows, database, listen, server


def test_real_server_roundtrip_on_loopback_only(
    cluster_dir: Path, record_property: Callable[[str, object], None]
) -> None:
    with PostgresCluster(cluster_dir) as cluster:
        record_property("postgres_startup_seconds", round(cluster.startup_seconds, 3))
        user, port = cluster.user, cluster.port
        assert cluster.plain_url == f"postgresql://{user}@127.0.0.1:{port}/dot"
        assert cluster.url == f"postgresql+asyncpg://{user}@127.0.0.1:{port}/dot"

        rows, database, listen, server = asyncio.run(_roundtrip(cluster.plain_url))
        assert rows == [(1, "héllo ✓")]
        assert database == "dot"
        assert listen == "127.0.0.1"
        assert server == "127.0.0.1"
        assert _listening_addresses(port) == ["127.0.0.1"]

        # Every file of the cluster is under the test's directory.
        assert (cluster_dir / "data" / "PG_VERSION").is_file()
        assert cluster.data_dir.is_relative_to(cluster_dir.resolve())
        if len(str(cluster.socket_dir)) <= 90:
            assert (cluster.socket_dir / f".s.PGSQL.{port}").is_socket()

    assert _refuses(port)
    assert not (cluster_dir / "data" / "postmaster.pid").exists()


def test_server_is_stopped_when_the_block_raises(cluster_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), PostgresCluster(cluster_dir) as cluster:
        port = cluster.port
        assert not _refuses(port)
        raise RuntimeError("boom")
    assert _refuses(port)
    assert not (cluster_dir / "data" / "postmaster.pid").exists()


def test_missing_programs_name_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgcluster, "find_pg_bin", lambda: None)
    with pytest.raises(PostgresNotFoundError, match="apt-get install postgresql"):
        PostgresCluster(tmp_path / "pg").start()
    assert not (tmp_path / "pg").exists()
