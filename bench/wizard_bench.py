#!/usr/bin/env python3
"""Wall times of the wizard's paths, whole process, each in a fresh fake home.

    .venv/bin/python bench/wizard_bench.py            # 10 runs each (demo: 5)
    .venv/bin/python bench/wizard_bench.py --runs 3

Cases:
  refuse     bare `dot-setup` without a terminal: the exit-2 message (start-up of the wizard
             path; target < 150 ms median, it imports no SDK, questionary, keyring or httpx2)
  plan       `dot-setup --client cursor --client codex --client claude-code --region us
             --dry-run`: detection + plan + masked diffs, no network (target < 250 ms)
  demo       `dot-setup demo` end to end: start both regions of the reference server, sign in
             through the scripted browser, generate a token, write 4 files, verify over MCP
             (target < 8 s)
  mcp-import the cost the verify step pays once: `import mcp.client` in a fresh interpreter
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOT_SETUP = str(Path(sys.executable).parent / "dot-setup")


def fake_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOT_SETUP_", "XDG_"))}
    env.pop("CI", None)
    env.update(HOME=str(home), DOT_SETUP_STATE_DIR=str(home / ".state"), NO_COLOR="1")
    return env


def timed(argv: list[str], runs: int, prepare: bool = False) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            if prepare:
                for folder in (".cursor", ".codex", ".claude"):
                    (home / folder).mkdir()
            args = [a.replace("{tmp}", tmp) for a in argv]
            start = time.perf_counter()
            proc = subprocess.run(
                args, env=fake_env(home), stdin=subprocess.DEVNULL, capture_output=True
            )
            times.append(time.perf_counter() - start)
            if proc.returncode not in (0, 2):
                raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return times


def report(name: str, times: list[float], target: float | None) -> None:
    med = statistics.median(times)
    verdict = "" if target is None else ("  ok" if med <= target else f"  OVER {target:.3f} s")
    print(
        f"{name:<11} median {med * 1000:8.0f} ms   min {min(times) * 1000:8.0f} ms   "
        f"max {max(times) * 1000:8.0f} ms   n={len(times)}{verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    report("refuse", timed([DOT_SETUP], args.runs), 0.150)
    plan = [
        DOT_SETUP,
        "--client",
        "cursor",
        "--client",
        "codex",
        "--client",
        "claude-code",
        "--region",
        "us",
        "--dry-run",
    ]
    report("plan", timed(plan, args.runs, prepare=True), 0.250)
    demo = [DOT_SETUP, "demo", "--sandbox", "{tmp}/demo"]
    report("demo", timed(demo, max(args.runs // 2, 1)), 8.0)
    mcp = [sys.executable, "-c", "import mcp.client, mcp.client.streamable_http"]
    report("mcp-import", timed(mcp, args.runs), None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
