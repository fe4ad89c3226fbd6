"""Crash and concurrency safety of the writer, with real processes.

- SIGKILL a writer at random moments (100+ trials): the file is always exactly the old or the
  new content, never torn.
- 20 concurrent `dot-setup install` runs adding different names to one file: all 20 land.
- A file rewritten by someone else between our read and our rename is not clobbered.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import REPO

from dot_setup.formats.jsonc import JsonFormat
from dot_setup.fs.fsio import update_file
from dot_setup.paths import Paths

pytestmark = pytest.mark.slow


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_kill_at_random_points_leaves_old_or_new(tmp_path: Path) -> None:
    # Big enough that a write takes a while, so kills land mid-write too.
    a = json.dumps({"mcpServers": {f"s{i}": {"url": "a" * 200} for i in range(8000)}})
    b = json.dumps({"mcpServers": {f"s{i}": {"url": "b" * 200} for i in range(8000)}})
    (tmp_path / "a").write_text(a)
    (tmp_path / "b").write_text(b)
    target = tmp_path / "configs" / "config.json"
    target.parent.mkdir()
    target.write_text(a)
    rng = random.Random(1234)
    trials, outcomes = 100, {"a": 0, "b": 0}
    for _ in range(trials):
        child = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests" / "writer_child.py"),
                str(target),
                str(tmp_path / "a"),
                str(tmp_path / "b"),
            ],
            stdout=subprocess.PIPE,
            env=_child_env(),
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0, 0.06))
        child.send_signal(signal.SIGKILL)
        child.wait()
        text = target.read_text()
        assert text in (a, b), "torn file after SIGKILL"
        outcomes["a" if text == a else "b"] += 1
    assert outcomes["a"] and outcomes["b"]  # the kills really landed at different moments
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "config.json"]
    assert all(name.startswith(".config.json.dot-setup-") for name in leftovers)


def test_twenty_concurrent_installs_into_one_file(fake_home: Path) -> None:
    (fake_home / ".claude.json").write_text('{"numStartups": 3}\n')
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dot_setup",
                "install",
                "-c",
                "claude-code",
                "--name",
                f"dot{i}",
                "--auth",
                "oauth",
                "--server-url",
                f"http://127.0.0.1:9/mcp{i}",
                "--yes",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
        )
        for i in range(20)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    data = json.loads((fake_home / ".claude.json").read_text())
    assert data["numStartups"] == 3
    assert sorted(data["mcpServers"]) == sorted(f"dot{i}" for i in range(20))
    for i in range(20):
        assert data["mcpServers"][f"dot{i}"]["url"] == f"http://127.0.0.1:9/mcp{i}"


def test_concurrent_rewrite_by_another_program_is_kept(fake_home: Path) -> None:
    """Like a running Claude Code saving ~/.claude.json while we write: its change survives."""
    path = fake_home / ".claude.json"
    path.write_text('{"numStartups": 1}\n')
    raced = []

    def other_program_writes(real: Path, before: bytes | None) -> None:
        if not raced:  # once, between our read and our rename
            raced.append(True)
            real.write_text('{"numStartups": 2, "tipsHistory": {}}\n')

    fmt = JsonFormat(comments=False)
    update_file(
        Paths.from_env(),
        path,
        lambda text: fmt.set_entry(text or "", ("mcpServers",), "", "dot", {"url": "u"}),
        holds_secret=False,
        on_before_replace=other_program_writes,
    )
    data = json.loads(path.read_text())
    assert data == {"numStartups": 2, "tipsHistory": {}, "mcpServers": {"dot": {"url": "u"}}}
