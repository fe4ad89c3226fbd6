"""`dot-setup demo` (the README's main command) runs the whole flow with no terminal: the
embedded server starts, the wizard signs in through the scripted browser, writes the sandbox's
configs, verifies them over MCP, and tells where everything went. Nothing outside the sandbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]
CLI = str(Path(sys.executable).parent / "dot-setup")


def test_demo_runs_the_whole_flow_without_a_terminal(tmp_path: Path, fake_home: Path) -> None:
    sandbox = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOT_SETUP_")}
    proc = subprocess.run(
        [CLI, "demo", "--sandbox", str(sandbox)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 0, err + out
    home = sandbox / "home"
    cursor = json.loads((home / ".cursor" / "mcp.json").read_text())
    assert set(cursor["mcpServers"]) == {"github", "dot"}  # the user's server is kept
    url = cursor["mcpServers"]["dot"]["url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/ai/mcp")
    codex = tomllib.loads((home / ".codex" / "config.toml").read_text())
    assert codex["model"] == "gpt-5-codex" and set(codex["mcp_servers"]) == {"docs", "dot"}
    assert (home / ".codex" / "config.toml").read_text().startswith("# my Codex settings\n")
    # ChatGPT's URL holds the token: kept in a 0600 file, never printed.
    saved = sandbox / "state" / "connectors" / "chatgpt.txt"
    token_url = saved.read_text().strip()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    token = token_url.split("token=", 1)[1]
    assert token.startswith("dot_mcp_us_") and token not in out + err
    assert "connected with MCP token dot_mcp_us_…" in err and "5 tools" in err
    assert "connected with your dot-setup sign-in" in err
    assert f"Everything it wrote is under {sandbox}" in out
    # It ends with the doctor on what it wrote: every client's entry checked, nothing failed.
    assert "Then `dot-setup doctor` checks the result" in err
    for client in ("claude-code", "codex", "cursor", "gemini-cli"):
        assert f"✓ client.{client}.entry: 'dot' entry as" in out, out
    counts = next(line for line in out.splitlines() if " passed, " in line)
    assert ", 0 failed, " in counts and "check error" not in counts, counts
    assert not any(fake_home.iterdir()), "the demo wrote into the real (fake) home"
