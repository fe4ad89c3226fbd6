"""`dot-setup serve` as a user runs it: a real process, its banner, ready file and shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from dot_setup.server.headless import sign_in

pytestmark = pytest.mark.slow

PASSWORD = "chosen-password-1"
ANALYST = "analyst@demo.dot.local"


@contextmanager
def serve(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Start `dot-setup serve`, wait for its ready file, stop it with SIGTERM afterwards."""
    ready = tmp / f"ready-{time.monotonic_ns()}.json"
    full_env = {**os.environ, "DOT_SERVE_DEMO_PASSWORD": PASSWORD, **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dot_setup",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    info: dict[str, Any] = {"proc": proc}
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate(timeout=5)
                raise AssertionError(f"serve did not start (rc {proc.returncode}): {err}")
            time.sleep(0.05)
        info.update(json.loads(ready.read_text()))
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        info.update(rc=proc.returncode, stdout=out, stderr=err)


def test_region_all_runs_two_regions_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(tmp_path, "--region", "all", "--data-dir", str(data)) as info:
        us, eu = info["regions"]["us"], info["regions"]["eu"]
        assert us["port"] != eu["port"]
        assert us["issuer"] != eu["issuer"]
        for region in (us, eu):
            prm = httpx2.get(region["origin"] + "/.well-known/oauth-protected-resource").json()
            assert prm["resource"] == region["origin"]
            meta = httpx2.get(region["origin"] + "/.well-known/oauth-authorization-server").json()
            assert meta["issuer"] == region["issuer"]
        # Each region has its own database: a token of one is unknown to the other.
        tokens = sign_in(us["origin"], ANALYST, PASSWORD)
        me = httpx2.get(
            us["origin"] + "/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200
        other = httpx2.get(
            eu["origin"] + "/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert other.status_code == 401
    assert info["rc"] == 0, info["stderr"]
    assert "Dot server stopped" in info["stderr"]
    assert (data / "us" / "dot.db").exists() and (data / "eu" / "dot.db").exists()
    banner = info["stdout"]
    assert us["mcp_url"] in banner and eu["mcp_url"] in banner
    assert "analyst@demo.dot.local" in banner
    assert "password: the one you chose" in banner and PASSWORD not in banner


def test_generated_demo_passwords_are_kept_0600_and_shown_on_loopback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"DOT_SERVE_DEMO_PASSWORD": ""}
    with serve(tmp_path, "--data-dir", str(data), env=env) as info:
        stored = json.loads((data / "demo-users.json").read_text())
        assert (data / "demo-users.json").stat().st_mode & 0o777 == 0o600
        origin = info["regions"]["us"]["origin"]
        assert sign_in(origin, ANALYST, stored[ANALYST])["access_token"]
    assert stored[ANALYST] in info["stdout"]
    # A second start keeps the same passwords (the database was seeded with them).
    with serve(tmp_path, "--data-dir", str(data), env=env) as info2:
        assert sign_in(info2["regions"]["us"]["origin"], ANALYST, stored[ANALYST])["access_token"]


def test_two_processes_serve_one_database(tmp_path: Path) -> None:
    """Stateless: a token issued by one process works on another serving the same database."""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    with serve(tmp_path, "--db", db, "--data-dir", str(tmp_path / "a")) as first:
        origin = first["regions"]["us"]["origin"]
        args = ("--db", db, "--data-dir", str(tmp_path / "b"), "--public-url", origin)
        with serve(tmp_path, *args) as second:
            tokens = sign_in(origin, ANALYST, PASSWORD)
            port = second["regions"]["us"]["port"]
            resp = httpx2.post(
                f"http://127.0.0.1:{port}/api/mcp-token",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert resp.status_code == 201, resp.text
            pat = resp.json()["token"]
            info = httpx2.get(
                origin + "/api/token-info", headers={"Authorization": f"Bearer {pat}"}
            )
            assert info.status_code == 200 and info.json()["owner"] == ANALYST


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--host", "0.0.0.0"), "needs --public-url"),
        (("--dev-no-auth", "--host", "0.0.0.0"), "loopback"),
        (("--region", "all", "--db", "sqlite:////tmp/x.db"), "one database per region"),
        (("--db", "mysql://u@h/d"), "unsupported database"),
        (("--db", "nonsense"), "not a database URL"),
    ],
)
def test_bad_options_exit_2_with_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dot_setup", "serve", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: ") and fragment in first
    assert not (tmp_path / "d" / "us").exists() or not any((tmp_path / "d" / "us").iterdir())


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "dot_setup",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "DOT_SERVE_DEMO_PASSWORD": PASSWORD},
        )
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr


@pytest.mark.parametrize("argv", [["list", "--json"], ["--help"], ["serve", "--help"]])
def test_other_commands_do_not_import_the_server(tmp_path: Path, argv: list[str]) -> None:
    """The server stack (SQLAlchemy, uvicorn, argon2, the SDK) stays off other commands' start-up."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['dot-setup', *{argv!r}]\n"
        "try:\n    runpy.run_module('dot_setup', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'uvicorn', 'argon2', 'aiosqlite', 'starlette', 'mcp') or m.startswith('dot_setup.server'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("HEAVY"))
    assert line == "HEAVY []", line
