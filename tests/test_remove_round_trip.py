"""Install then remove gives back the file's original bytes, also where install had to create
the container (`"mcpServers": {}` was left behind before). A container the user had, or one
that holds another server by now, stays.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import TOKEN, run

FILES = {
    "claude-code-empty-object": ("claude-code", ".claude.json", "{}\n"),
    "claude-code-other-keys": ("claude-code", ".claude.json", '{\n  "numStartups": 4\n}\n'),
    "zed-without-context-servers": (
        "zed",
        ".config/zed/settings.json",
        '// Zed settings\n{\n  "theme": "One Dark",\n}\n',
    ),
    "vscode-only-inputs": ("vscode", ".config/Code/User/mcp.json", '{\n\t"inputs": []\n}\n'),
    "cursor-compact": ("cursor", ".cursor/mcp.json", '{"x": 1}'),
    "codex-toml": ("codex", ".codex/config.toml", 'model = "o4"\n'),
    "goose-yaml": ("goose", ".config/goose/config.yaml", "GOOSE_PROVIDER: openai\n"),
    "continue-yaml-list": (
        "continue",
        ".continue/config.yaml",
        "name: mine\nversion: 1.0.0\nschema: v1\n",
    ),
}


def _install(client: str) -> None:
    r = run(
        "install",
        "-c",
        client,
        "--auth",
        "token",
        "--token-stdin",
        "--region",
        "us",
        "--yes",
        stdin=TOKEN,
    )
    assert r.code == 0, r.err


@pytest.mark.parametrize("case", list(FILES))
def test_install_then_remove_gives_the_original_bytes(fake_home: Path, case: str) -> None:
    client, relative, original = FILES[case]
    path = fake_home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(original)
    _install(client)
    assert path.read_text() != original
    _install(client)  # a second install (same entry) changes nothing about that
    r = run("remove", "-c", client, "--yes")
    assert r.code == 0, r.err
    assert path.read_text() == original


def test_a_container_the_user_had_stays(fake_home: Path) -> None:
    path = fake_home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    original = '{\n  "mcpServers": {}\n}\n'
    path.write_text(original)
    _install("cursor")
    assert run("remove", "-c", "cursor", "--yes").code == 0
    assert path.read_text() == original


def test_a_container_that_holds_another_server_by_now_stays(fake_home: Path) -> None:
    path = fake_home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    path.write_text("{}\n")
    _install("cursor")
    text = path.read_text().replace(
        '"mcpServers": {', '"mcpServers": {\n    "mine": {"url": "u"},', 1
    )
    path.write_text(text)  # the user adds a server next to ours
    assert run("remove", "-c", "cursor", "--yes").code == 0
    assert '"mine": {"url": "u"}' in path.read_text() and '"dot"' not in path.read_text()
