#!/usr/bin/env python3
"""Wall times of `dot-setup doctor`, whole process, against the reference server on 127.0.0.1.

    .venv/bin/python bench/doctor_bench.py            # 10 runs each
    .venv/bin/python bench/doctor_bench.py --runs 3

Cases:
  help         `dot-setup doctor --help` (target < 150 ms: no SDK, httpx2 or server imports)
  list         `dot-setup doctor --list` with 4 clients configured (target < 250 ms)
  healthy      `dot-setup doctor --json` with 4 clients configured (2 MCP-token entries, 2 OAuth),
               both regions of `dot-setup serve` running: every check, including the live MCP
               connections (target < 3 s)
  unreachable  the same clients pointed at a server that accepts TCP and never answers, with
               `--timeout 2`: the whole run must end within the timeout + 1 s (target < 3 s)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOT_SETUP = str(Path(sys.executable).parent / "dot-setup")


def env_for(home: Path, region_urls: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOT_SETUP_", "XDG_"))}
    env.pop("CI", None)
    env.update(
        HOME=str(home),
        DOT_SETUP_STATE_DIR=str(home / ".state"),
        DOT_SETUP_REGION_URLS=region_urls,
        DOT_SETUP_CREDENTIAL_STORE="file",
        BROWSER="true",
        NO_COLOR="1",
    )
    return env


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    ready = tmp / "ready.json"
    proc = subprocess.Popen(
        [
            DOT_SETUP,
            "serve",
            "--region",
            "all",
            "--port",
            "0",
            "--data-dir",
            str(tmp / "data"),
            "--ready-file",
            str(ready),
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        if ready.exists() and ready.stat().st_size:
            regions = json.loads(ready.read_text())["regions"]
            return proc, {r: v["mcp_url"] for r, v in regions.items()}
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the reference server did not start")


def mcp_token(origin: str) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from dot_setup.server.headless import sign_in

    password = os.environ["DOT_SERVE_DEMO_PASSWORD"]
    access = sign_in(origin, "analyst@demo.dot.local", password)["access_token"]
    import httpx2

    resp = httpx2.post(f"{origin}/api/mcp-token", headers={"Authorization": f"Bearer {access}"})
    return str(resp.json()["token"])


def configure(home: Path, env: dict[str, str], token: str) -> None:
    for folder in (".cursor", ".codex", ".claude", ".gemini"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    for client, auth in (
        ("cursor", "token"),
        ("codex", "token"),
        ("claude-code", "oauth"),
        ("gemini-cli", "oauth"),
    ):
        argv = [DOT_SETUP, "install", "--client", client, "--region", "us", "--yes"]
        argv += ["--token-stdin"] if auth == "token" else ["--auth", "oauth"]
        subprocess.run(
            argv,
            env=env,
            input=token.encode() if auth == "token" else b"",
            check=True,
            capture_output=True,
        )


def timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return times


def report(name: str, times: list[float], target: float) -> None:
    med = statistics.median(times)
    verdict = "met" if med < target else "NOT met"
    print(
        f"{name:<12} median {med * 1000:7.0f} ms  min {min(times) * 1000:6.0f}  max {max(times) * 1000:6.0f}"
        f"  target < {target * 1000:.0f} ms: {verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    os.environ.setdefault("DOT_SERVE_DEMO_PASSWORD", "bench-password-1")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server, urls = start_server(tmp)
        try:
            spec = ",".join(f"{r}={u}" for r, u in urls.items())
            home = tmp / "home"
            env = env_for(home, spec)
            token = mcp_token(urls["us"].rsplit("/ai/mcp", 1)[0])
            configure(home, env, token)
            report("help", timed([DOT_SETUP, "doctor", "--help"], env, runs), 0.15)
            report("list", timed([DOT_SETUP, "doctor", "--list"], env, runs), 0.25)
            report("healthy", timed([DOT_SETUP, "doctor", "--json"], env, runs), 3.0)
            with socket.socket() as silent:
                silent.bind(("127.0.0.1", 0))
                silent.listen(64)
                port = silent.getsockname()[1]
                dead_home = tmp / "dead-home"
                dead = env_for(
                    dead_home,
                    f"us=http://127.0.0.1:{port}/ai/mcp,eu=http://127.0.0.1:{port}/eu/ai/mcp",
                )
                configure(dead_home, dead, token)
                argv = [DOT_SETUP, "doctor", "--json", "--timeout", "2"]
                times = timed(argv, dead, max(runs // 2, 3))
                report("unreachable", times, 3.0)
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
