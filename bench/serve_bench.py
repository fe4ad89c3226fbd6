#!/usr/bin/env python3
"""`tools/call` throughput and latency of `dot-setup serve`, with bearer auth and without.

Run it with the project's interpreter (it needs dot-setup and its dependencies, httpx2 included):

    .venv/bin/python bench/serve_bench.py                # 1, 8 and 64 clients, 3 repeats
    .venv/bin/python bench/serve_bench.py --quick        # smoke run: fewer calls, 1 repeat
    .venv/bin/python bench/serve_bench.py --concurrency 1,64 --calls 4000 --repeats 5
    .venv/bin/python bench/run.py --only serve           # the same, as a section of run.py

Two servers run side by side, each a `dot-setup serve --region us --host 127.0.0.1 --port 0
--quiet --ready-file F` process with its own temp data dir (a fresh seeded SQLite database) and
fake home: one with auth (every request carries an MCP token of the demo admin), one with
`--dev-no-auth` (every request acts as the demo admin, so both run the same tool for the same
user). The load comes from another process: one asyncio task per simulated client, each with
its own `httpx2.AsyncClient` (one keep-alive connection), POSTing raw JSON-RPC `tools/call`
`total_sales` requests in the stateless 2026-07-28 era, with the headers the `mcp` SDK client
sends (MCP-Protocol-Version, Mcp-Method, Mcp-Name, `_meta` in params). The no-auth run sends the
same Authorization header (the server ignores it), so the client does identical work in both.

Each run: warm-up calls on every connection (untimed), then a fixed number of timed calls.
Auth and no-auth runs alternate (A B A B ...), every configuration is repeated and the medians
are reported. `auth overhead = (noauth calls/s - auth calls/s) / noauth calls/s`; target < 15%.

`verify` (also run by default) starts both kinds of server in-process and checks the request
path: argon2 is never called while serving tool calls (counted by wrapping PasswordHasher),
SQL statements per call with and without auth, and `EXPLAIN QUERY PLAN` of the token lookup that
`credentials.lookup` issues (and of the user fetch after it), on the seeded database as served
and again with 1,000 grants and 5,000 tokens added and ANALYZE run: every step must SEARCH by
primary key, never SCAN.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
PROTOCOL = "2026-07-28"
TOOL, ARGUMENTS = "total_sales", {"period": "last_quarter"}
PASSWORD = "bench-demo-password"  # the demo users' password in the throw-away databases
ADMIN = "admin@demo.dot.local"  # --dev-no-auth acts as this user; the auth runs use their token
TARGET = 0.15
TOKEN_ENV = "DOT_BENCH_TOKEN"  # how the token reaches the load process: never argv
LOCAL = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def section(title: str) -> None:
    print()
    print(f"== {title} " + "=" * max(0, 90 - len(title)))


def find_dot_setup() -> str:
    exe = Path(sys.executable).parent / "dot-setup"
    if exe.exists():
        return str(exe)
    found = shutil.which("dot-setup")
    if not found:
        raise SystemExit("dot-setup is not installed: pip install -e . first")
    return found


def request_body(tool: str, arguments: dict[str, Any], request_id: int = 1) -> bytes:
    """A tools/call the way the SDK client sends it in the 2026-07-28 (stateless) era."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": {"name": "dot-serve-bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    msg = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": meta},
    }
    return json.dumps(msg, separators=(",", ":")).encode()


def request_headers(tool: str, token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }


def check_answer(status: int, body: bytes) -> str:
    """'' when the response is a successful total_sales result, else what is wrong."""
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    try:
        result = json.loads(body)["result"]
        data = json.loads(result["content"][0]["text"])
    except (ValueError, KeyError, IndexError, TypeError):
        return f"not a tools/call result: {body[:300]!r}"
    if result.get("isError") or not isinstance(data.get("revenue"), int | float):
        return f"tool error: {body[:300]!r}"
    return ""


# ---------------------------------------------------------------------------------------------
# Servers: `dot-setup serve` subprocesses


@dataclass
class Server:
    label: str
    auth: bool
    root: Path
    proc: subprocess.Popen[bytes]
    pid: int = 0
    origin: str = ""
    mcp_url: str = ""
    token: str = ""

    @property
    def log(self) -> Path:
        return self.root / "serve.log"


def start_server(dot_setup: str, root: Path, auth: bool) -> Server:
    root.mkdir(parents=True)
    home, data, ready = root / "home", root / "data", root / "ready.json"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOT_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        DOT_SERVE_DEMO_PASSWORD=PASSWORD,
        NO_COLOR="1",
        **LOCAL,
    )
    argv = [dot_setup, "serve", "--region", "us", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--data-dir", str(data), "--ready-file", str(ready), "--quiet"]
    if not auth:
        argv.append("--dev-no-auth")
    with (root / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            argv, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    server = Server("auth" if auth else "no-auth", auth, root, proc)
    deadline = time.monotonic() + 90
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            tail = server.log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"dot-setup serve ({server.label}) did not start:\n{tail}")
        time.sleep(0.05)
    doc = json.loads(ready.read_text(encoding="utf-8"))
    region = doc["regions"]["us"]
    server.pid, server.origin, server.mcp_url = int(doc["pid"]), region["origin"], region["mcp_url"]
    server.token = mcp_token(server.origin) if auth else "dot_mcp_us_unused-by-no-auth-server"
    return server


def mcp_token(origin: str) -> str:
    """The admin's MCP token, obtained over HTTP as a user would: OAuth sign-in, then the API."""
    import httpx2

    from dot_setup.server.headless import sign_in

    access = sign_in(origin, ADMIN, PASSWORD)["access_token"]
    with httpx2.Client(timeout=15, trust_env=False) as http:
        resp = http.post(f"{origin}/api/mcp-token", headers={"Authorization": f"Bearer {access}"})
    if resp.status_code != 201:
        raise SystemExit(f"POST /api/mcp-token answered {resp.status_code}: {resp.text}")
    token: str = resp.json()["token"]
    return token


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=5)


@contextlib.contextmanager
def servers(dot_setup: str, root: Path) -> Iterator[tuple[Server, Server]]:
    started: list[Server] = []
    try:
        started.append(start_server(dot_setup, root / "auth", auth=True))
        started.append(start_server(dot_setup, root / "noauth", auth=False))
        yield started[0], started[1]
    finally:
        for s in started:
            stop_server(s)


# ---------------------------------------------------------------------------------------------
# The load process (`serve_bench.py load SPEC_JSON`, token in $DOT_BENCH_TOKEN)


def _cpu_ticks(pid: int) -> float | None:
    """utime + stime of a process in seconds (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _machine_busy() -> float | None:
    """CPU seconds all cores spent on anything but idle/iowait since boot (Linux /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


async def _load(spec: dict[str, Any], token: str) -> dict[str, Any]:
    import httpx2

    url, conc = spec["url"], int(spec["concurrency"])
    per_worker = max(1, int(spec["calls"]) // conc)
    warm_per_worker = max(1, -(-int(spec["warmup"]) // conc))
    headers = request_headers(TOOL, token)
    latencies: list[float] = []
    errors: list[str] = []
    warmed = 0
    all_warm, go = asyncio.Event(), asyncio.Event()

    async def worker(index: int) -> None:
        nonlocal warmed
        body = request_body(TOOL, ARGUMENTS, index + 1)
        limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx2.AsyncClient(timeout=60, limits=limits, trust_env=False) as http:
            for i in range(warm_per_worker):
                resp = await http.post(url, content=body, headers=headers)
                if i == 0 and (problem := check_answer(resp.status_code, resp.content)):
                    errors.append(problem)
            warmed += 1
            if warmed == conc:
                all_warm.set()
            await go.wait()
            mine: list[float] = []
            for _ in range(per_worker):
                t0 = time.perf_counter()
                resp = await http.post(url, content=body, headers=headers)
                mine.append(time.perf_counter() - t0)
                if resp.status_code != 200 or b'"revenue' not in resp.content:
                    errors.append(check_answer(resp.status_code, resp.content) or "no revenue")
            latencies.extend(mine)

    tasks = [asyncio.create_task(worker(i)) for i in range(conc)]
    await asyncio.wait(
        [asyncio.create_task(all_warm.wait()), *tasks], return_when=asyncio.FIRST_COMPLETED
    )
    for t in tasks:  # a worker that failed while warming up
        if t.done() and t.exception():
            raise t.exception()  # type: ignore[misc]
    pid = int(spec["server_pid"])
    server_cpu0, client_cpu0, busy0 = _cpu_ticks(pid), _self_cpu(), _machine_busy()
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    server_cpu1, client_cpu1, busy1 = _cpu_ticks(pid), _self_cpu(), _machine_busy()
    server_cpu = (
        server_cpu1 - server_cpu0 if server_cpu0 is not None and server_cpu1 is not None else None
    )
    client_cpu = client_cpu1 - client_cpu0
    # What the rest of the machine (other processes, other users) ran meanwhile, in cores.
    other = (
        (busy1 - busy0 - server_cpu - client_cpu) / wall
        if busy0 is not None and busy1 is not None and server_cpu is not None
        else None
    )
    calls = len(latencies)
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive") if calls > 1 else latencies * 99
    )
    return {
        "calls": calls,
        "wall_s": wall,
        "throughput": calls / wall,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "server_cpu_ms_per_call": server_cpu * 1000 / calls if server_cpu is not None else None,
        "client_cpu_pct": client_cpu / wall * 100,
        "other_cpu_pct": max(0.0, other * 100) if other is not None else None,
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def load_main(spec_json: str) -> int:
    result = asyncio.run(_load(json.loads(spec_json), os.environ[TOKEN_ENV]))
    print(json.dumps(result))
    return 0


def run_load(server: Server, concurrency: int, calls: int, warmup: int) -> dict[str, Any]:
    spec = {
        "url": server.mcp_url,
        "concurrency": concurrency,
        "calls": calls,
        "warmup": warmup,
        "server_pid": server.pid,
    }
    env = {**os.environ, **LOCAL, TOKEN_ENV: server.token}
    proc = subprocess.run(
        [sys.executable, str(HERE), "load", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"load process failed ({server.label}, {concurrency}):\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["errors"]:
        tail = server.log.read_text(errors="replace")[-2000:]
        raise SystemExit(
            f"{server.label}, {concurrency} clients: {result['errors']} failed calls, e.g. "
            f"{result['first_errors']}\n--- server log ---\n{tail}"
        )
    return result


# ---------------------------------------------------------------------------------------------
# In-process checks of the request path (`serve_bench.py verify`)


def _explain(db_path: Path, statement: str, params: Any) -> list[str]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
    return [str(r[-1]) for r in rows]


def _grow(db_path: Path, grants: int, tokens: int) -> None:
    """Add revoked grants and tokens (each token on a grant), then ANALYZE: a used database.

    ANALYZE on the seed alone would describe a grants table of one or two rows, for which
    SQLite rightly prefers a scan; with realistic sizes the plan is the one that matters.
    """
    import sqlite3

    n = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    user = "(SELECT id FROM users ORDER BY id LIMIT 1)"
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute(
            n + "INSERT INTO grants (id, user_id, client_id, scope, resource, created_at, "
            "expires_at, revoked_at, revoked_reason) "
            f"SELECT printf('grt_bench%07d', i), {user}, 'c', 'mcp', 'x', 0, 1, 0, 'revoked' "
            "FROM n",
            (grants,),
        )
        conn.execute(
            n + "INSERT INTO tokens (token_hash, id, kind, user_id, client_id, grant_id, scope, "
            "resource, display, created_at, expires_at, revoked_at, revoked_reason) "
            "SELECT printf('%064x', i), printf('tok_bench%07d', i), 'access', "
            f"{user}, 'c', printf('grt_bench%07d', 1 + i % ?), 'mcp', 'x', 'x', 0, 1, 0, "
            "'revoked' FROM n",
            (tokens, grants),
        )
        conn.execute("ANALYZE")
        conn.commit()


def _in_process(root: Path, auth: bool, calls: int, counts: Counter[str]) -> dict[str, Any]:
    """Start one region in a thread, run `calls` tool calls, count SQL and argon2 calls."""
    import httpx2
    from sqlalchemy import event

    from dot_setup.server import runner
    from dot_setup.server.config import RegionConfig, normalise_db_url
    from dot_setup.server.headless import sign_in
    from dot_setup.server.seed import DEMO_USERS

    root.mkdir(parents=True)
    db_path = root / "dot.db"
    cfg = RegionConfig(
        region="us",
        host="127.0.0.1",
        port=0,
        db_url=normalise_db_url(f"sqlite:///{db_path}"),
        data_dir=root,
        auth=auth,
    )
    (running,) = runner.prepare([cfg], {u.email: PASSWORD for u in DEMO_USERS})
    ready = threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(runner.serve([running], lambda _r: ready.set())), daemon=True
    )
    thread.start()
    if not ready.wait(60):
        raise SystemExit("the in-process server did not start")
    origin = running.config.origin
    statements: list[tuple[str, Any]] = []
    tx = Counter[str]()
    capturing = False

    def on_execute(_c: Any, _cur: Any, statement: str, params: Any, *_a: Any) -> None:
        if capturing:
            statements.append((statement, params))

    def on_begin(_c: Any) -> None:
        if capturing:
            tx["begin"] += 1

    engine = running.server.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "begin", on_begin)
    try:
        token = "unused"
        if auth:
            counts.clear()
            access = sign_in(origin, ADMIN, PASSWORD)["access_token"]
            login_checks = counts["verify"]
            with httpx2.Client(timeout=15, trust_env=False) as http:
                resp = http.post(
                    f"{origin}/api/mcp-token", headers={"Authorization": f"Bearer {access}"}
                )
            token = resp.json()["token"]
        counts.clear()
        capturing = True
        POINT_READS.clear()
        with httpx2.Client(timeout=30, trust_env=False) as http:
            for i in range(calls):
                resp = http.post(
                    running.config.mcp_url,
                    content=request_body(TOOL, ARGUMENTS, i + 1),
                    headers=request_headers(TOOL, token),
                )
                if problem := check_answer(resp.status_code, resp.content):
                    raise SystemExit(f"in-process check: {problem}")
        capturing = False
        hops = counts.pop("aiosqlite", 0)
        direct = counts.pop("point_read", 0)
        result: dict[str, Any] = {
            "point_reads_per_call": direct / calls,
            "argon2_during_calls": dict(counts),
            "statements_per_call": len(statements) / calls,
            "transactions_per_call": tx["begin"] / calls,
            "aiosqlite_hops_per_call": hops / calls,
            "db_path": str(db_path),
        }
        if auth:
            result["argon2_verify_at_login"] = login_checks
            lookup = [s for s in POINT_READS if "FROM tokens JOIN users" in s[0]]
            users = [s for s in statements if s[0].lstrip().startswith("SELECT users.")]
            result["lookup"] = lookup[0] if lookup else None
            result["user_by_id"] = users[0] if users else None
        return result
    finally:
        running.uvicorn.should_exit = True
        thread.join(15)
        running.sock.close()


# The request path's token check bypasses the engine (a direct sqlite3 read, db.point_read):
# its statements are recorded here by the wrapper verify_main installs.
POINT_READS: list[tuple[str, Any]] = []


def verify_main(root_str: str) -> int:
    """Print one JSON document: argon2 counts, SQL per call, and the lookup's query plan."""
    from argon2 import PasswordHasher

    counts: Counter[str] = Counter()
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counting_hash(self: Any, *a: Any, **k: Any) -> Any:
        counts["hash"] += 1
        return real_hash(self, *a, **k)

    def counting_verify(self: Any, *a: Any, **k: Any) -> Any:
        counts["verify"] += 1
        return real_verify(self, *a, **k)

    PasswordHasher.hash = counting_hash  # type: ignore[method-assign]
    PasswordHasher.verify = counting_verify  # type: ignore[method-assign]

    # Every aiosqlite operation (cursor, execute, fetch, commit, rollback, ...) is one round
    # trip to the connection's worker thread and back to the event loop.
    import aiosqlite.core

    real_execute: Any = aiosqlite.core.Connection._execute

    async def counting_execute(self: Any, fn: Any, *a: Any, **k: Any) -> Any:
        counts["aiosqlite"] += 1
        return await real_execute(self, fn, *a, **k)

    aiosqlite.core.Connection._execute = counting_execute  # type: ignore[method-assign]

    from dot_setup.server import db as dbmod

    real_query: Any = dbmod._SqlitePointReader._query

    def recording_query(conn: Any, sql: str, params: Any) -> Any:
        counts["point_read"] += 1
        POINT_READS.append((sql, params))
        return real_query(conn, sql, params)

    dbmod._SqlitePointReader._query = staticmethod(recording_query)  # type: ignore[method-assign,assignment]
    root = Path(root_str)
    calls = 50
    auth = _in_process(root / "auth", True, calls, counts)
    noauth = _in_process(root / "noauth", False, calls, counts)
    db_path = Path(auth["db_path"])
    plans: dict[str, list[str]] = {}
    for stage in ("as served", "grown"):
        if stage == "grown":
            _grow(db_path, grants=1000, tokens=5000)
        for key in ("lookup", "user_by_id"):
            if auth[key]:
                statement, params = auth[key]
                plans[f"{key} ({stage})"] = _explain(db_path, statement, params)
    doc: dict[str, Any] = {"calls": calls, "auth": auth, "noauth": noauth, "plans": plans}
    doc["auth"]["lookup_sql"] = " ".join(auth["lookup"][0].split()) if auth["lookup"] else None
    print(json.dumps(doc, default=str))
    return 0


def run_verify(root: Path) -> dict[str, Any]:
    section("request path: argon2, SQL per call, EXPLAIN QUERY PLAN of the token lookup")
    proc = subprocess.run(
        [sys.executable, str(HERE), "verify", str(root / "verify")],
        env={**os.environ, **LOCAL},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"verify failed:\n{proc.stderr[-4000:]}")
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    auth, noauth = doc["auth"], doc["noauth"]
    problems: list[str] = []
    print(f"  argon2 during {doc['calls']} authenticated tools/call: {auth['argon2_during_calls']}")
    print(f"  argon2 verify calls for one sign-in (login page): {auth['argon2_verify_at_login']}")
    if auth["argon2_during_calls"] or noauth["argon2_during_calls"]:
        problems.append("argon2 ran while serving tool calls")
    for label, d in (("auth", auth), ("no-auth", noauth)):
        print(
            f"  per tools/call, {label + ':':<8} {d['statements_per_call']:.1f} SQL statements in"
            f" {d['transactions_per_call']:.1f} transactions,"
            f" {d['aiosqlite_hops_per_call']:.1f} aiosqlite worker-thread round trips,"
            f" {d['point_reads_per_call']:.1f} direct reads"
        )
    print(f"  token check (credentials.verify, one direct read): {auth['lookup_sql']}")
    for key, plan in doc["plans"].items():
        for line in plan:
            print(f"    {key:<22} {line}")
        if any(line.startswith("SCAN") for line in plan):
            problems.append(f"{key} scans a table: {plan}")
        if not any(line.startswith("SEARCH") and "INDEX" in line for line in plan):
            problems.append(f"{key} does not search by key: {plan}")
    if "lookup (as served)" not in doc["plans"]:
        problems.append("the token lookup query was not seen")
    print(
        "  verdict: "
        + ("; ".join(problems) if problems else "ok (primary-key SEARCH, no SCAN, no argon2)")
    )
    doc["ok"] = not problems
    doc["problems"] = problems
    return doc


# ---------------------------------------------------------------------------------------------
# The benchmark


@dataclass
class Cell:
    runs: list[dict[str, Any]] = field(default_factory=list)

    def med(self, key: str) -> float:
        values = [r[key] for r in self.runs if r[key] is not None]
        return statistics.median(values) if values else float("nan")


def run_serve_bench(
    dot_setup: str,
    root: Path,
    *,
    concurrencies: list[int],
    calls: int,
    warmup: int,
    repeats: int,
    verify: bool = True,
) -> dict[str, Any]:
    section(
        f"dot-setup serve: tools/call {TOOL}, auth vs --dev-no-auth "
        f"({calls} calls per run after {warmup} warm-up, median of {repeats})"
    )
    cells: dict[tuple[str, int], Cell] = {}
    with servers(dot_setup, root) as (auth, noauth):
        print(f"  auth     {auth.mcp_url} (pid {auth.pid}, MCP token of {ADMIN})")
        print(f"  no-auth  {noauth.mcp_url} (pid {noauth.pid}, --dev-no-auth acts as {ADMIN})")
        for conc in concurrencies:  # one untimed pass per level: connections, caches
            for s in (auth, noauth):
                run_load(s, conc, max(warmup, conc), warmup)
        for i in range(repeats):
            for conc in concurrencies:
                # A B, then B A: drift of the machine's speed hits both alike.
                for s in (auth, noauth) if i % 2 == 0 else (noauth, auth):
                    cell = cells.setdefault((s.label, conc), Cell())
                    cell.runs.append(run_load(s, conc, calls, warmup))
    print(
        f"  {'clients':>7} {'server':<8} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'srv cpu ms/call':>15} {'load cpu %':>10} {'other cpu %':>11}"
    )
    results: dict[str, Any] = {"concurrency": {}, "calls": calls, "repeats": repeats}
    for conc in concurrencies:
        row: dict[str, Any] = {}
        for label in ("auth", "no-auth"):
            cell = cells[(label, conc)]
            row[label] = {
                key: cell.med(key)
                for key in (
                    "throughput",
                    "p50_ms",
                    "p99_ms",
                    "server_cpu_ms_per_call",
                    "client_cpu_pct",
                    "other_cpu_pct",
                )
            }
            row[label]["runs"] = cell.runs
            r = row[label]
            print(
                f"  {conc:>7} {label:<8} {r['throughput']:9.1f} {r['p50_ms']:8.2f}"
                f" {r['p99_ms']:8.2f} {r['server_cpu_ms_per_call']:15.2f}"
                f" {r['client_cpu_pct']:10.0f} {r['other_cpu_pct']:11.0f}"
            )
        a, b = row["auth"], row["no-auth"]
        row["overhead"] = (b["throughput"] - a["throughput"]) / b["throughput"]
        row["paired_overhead"] = statistics.median(
            (y["throughput"] - x["throughput"]) / y["throughput"]
            for x, y in zip(a["runs"], b["runs"], strict=True)
        )
        row["cpu_overhead"] = 1 - b["server_cpu_ms_per_call"] / a["server_cpu_ms_per_call"]
        row["meets"] = row["overhead"] < TARGET
        results["concurrency"][str(conc)] = row
    print()
    print(
        "  auth overhead = (no-auth calls/s - auth calls/s) / no-auth calls/s;"
        " 'paired' is the median of the per-repeat"
    )
    print("  overheads, 'cpu' is 1 - no-auth/auth server CPU per call (the bound when CPU-bound)")
    for conc in concurrencies:
        row = results["concurrency"][str(conc)]
        extra = row["auth"]["server_cpu_ms_per_call"] - row["no-auth"]["server_cpu_ms_per_call"]
        print(
            f"  {conc:>2} clients: {row['overhead'] * 100:5.1f}% (medians),"
            f" {row['paired_overhead'] * 100:5.1f}% (paired), {row['cpu_overhead'] * 100:5.1f}%"
            f" (cpu, {extra:+.2f} ms/call)"
            f" -> {'MEETS' if row['meets'] else 'MISSES'} the target (< {TARGET:.0%})"
        )
    if verify:
        results["verify"] = run_verify(root)
    return results


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per concurrency level, for run.py's summary."""
    lines = []
    for conc, row in results.get("concurrency", {}).items():
        lines.append(
            f"serve: auth overhead @{conc} clients {row['overhead'] * 100:5.1f}%"
            f" ({row['auth']['throughput']:.0f} vs {row['no-auth']['throughput']:.0f} calls/s)"
            f"  target < {TARGET:.0%}  {'meets' if row['meets'] else 'MISSES'}"
        )
    v = results.get("verify")
    if v is not None:
        lines.append(
            "serve: token lookup by primary key, no argon2 on the request path: "
            + ("yes" if v["ok"] else "NO: " + "; ".join(v["problems"]))
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "load":
        return load_main(argv[1])
    if len(argv) == 2 and argv[0] == "verify":
        return verify_main(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,8,64", help="comma-separated client counts")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per run")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per run first")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration")
    parser.add_argument("--quick", action="store_true", help="500 calls, 1 repeat")
    parser.add_argument("--no-verify", action="store_true", help="skip the request-path checks")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.warmup, args.repeats = 500, 100, 1
    dot_setup = find_dot_setup()
    print(f"python     {platform.python_version()} ({sys.executable})")
    print(f"machine    {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}")
    with tempfile.TemporaryDirectory(prefix="dot-serve-bench-") as tmp:
        results = run_serve_bench(
            dot_setup,
            Path(tmp),
            concurrencies=[int(c) for c in args.concurrency.split(",") if c.strip()],
            calls=args.calls,
            warmup=args.warmup,
            repeats=max(1, args.repeats),
            verify=not args.no_verify,
        )
    section("summary")
    for line in summary_lines(results):
        print(f"  {line}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if results.get("verify", {}).get("ok") is False else 0


if __name__ == "__main__":
    sys.exit(main())
