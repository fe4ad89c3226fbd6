"""`dot-setup doctor --fix` as a person meets it: the installed console script in a real
pseudo-terminal, against the reference server (US and EU) on 127.0.0.1. Cursor's config holds
a valid MCP token but is readable by everyone (0644): the doctor asks before the chmod, and
only a yes changes the file.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.terminal.driver import CURSOR_BEFORE, Servers, Terminal

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only"),
]

Spawn = Callable[..., Terminal]

FIX_Q = "client.cursor.permissions: make it readable by you only?"


def readable_token_config(home: Path, servers: Servers) -> tuple[Path, str]:
    """Cursor's config (the user's own server kept) with a Dot entry and a token, mode 0644."""
    token = servers.us.mcp_token()
    path = home / ".cursor" / "mcp.json"
    config = json.loads(CURSOR_BEFORE)
    config["mcpServers"]["dot"] = {
        "url": servers.us.mcp_url,
        "headers": {"Authorization": f"Bearer {token}"},
    }
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o644)
    return path, token


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_fix_asks_and_yes_makes_the_file_private(
    spawn: Spawn, home: Path, servers: Servers
) -> None:
    path, token = readable_token_config(home, servers)
    content = path.read_bytes()

    term = spawn("doctor", "--fix", "client.cursor")
    term.question("(dot-setup doctor --fix does this)")  # the report comes first
    assert mode(path) == 0o644  # nothing changed before the answer
    term.answer(FIX_Q, "y")
    assert term.finish() == 0

    assert mode(path) == 0o600
    assert path.read_bytes() == content
    seen = term.seen
    assert "applied: client.cursor.permissions: chmod 600" in seen
    assert f"{path} is private (0600)" in seen  # the check again, after the fix
    assert token not in term.raw.getvalue()


def test_fix_answered_no_leaves_the_file(spawn: Spawn, home: Path, servers: Servers) -> None:
    path, token = readable_token_config(home, servers)
    content = path.read_bytes()

    term = spawn("doctor", "--fix", "client.cursor")
    term.answer(FIX_Q, "n")
    assert term.finish() == 1  # the permissions check still fails

    assert mode(path) == 0o644
    assert path.read_bytes() == content
    seen = term.seen
    assert "declined: client.cursor.permissions: not applied" in seen
    assert f"{path} holds a token and is readable by other users (0644)" in seen
    assert token not in term.raw.getvalue()
