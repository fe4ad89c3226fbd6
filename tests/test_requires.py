"""`requires`: a setting the entry does not work without, set beside it (gptme loads no MCP
server unless `[mcp] enabled = true`), shown in the diff, and left alone by remove."""

from __future__ import annotations

import tomllib
from pathlib import Path

from helpers import TOKEN, run

FIRST_RUN = '# gptme\n[prompt]\nabout_user = "I like Python"\n\n[env]\nOPENAI_API_KEY = ""\n'


def install(*extra: str) -> str:
    res = run(
        "install", "--client", "gptme", "--auth", "token", "--token-stdin", "--region", "us",
        "--yes", *extra, stdin=TOKEN,
    )  # fmt: skip
    assert res.code == 0, res.err
    return res.out + res.err


def config(home: Path) -> Path:
    return home / ".config" / "gptme" / "config.toml"


def test_install_enables_mcp_beside_the_entry(fake_home: Path) -> None:
    path = config(fake_home)
    path.parent.mkdir(parents=True)
    path.write_text(FIRST_RUN, "utf-8")
    shown = run(
        "install", "--client", "gptme", "--auth", "token", "--token-stdin", "--region", "us",
        "--dry-run", stdin=TOKEN,
    )  # fmt: skip
    assert "+enabled = true" in shown.out, shown.out
    install()
    doc = tomllib.loads(path.read_text("utf-8"))
    assert doc["mcp"]["enabled"] is True
    assert [s["name"] for s in doc["mcp"]["servers"]] == ["dot"]
    assert path.read_text("utf-8").startswith(FIRST_RUN.rstrip("\n"))  # the user's lines stay


def test_a_new_file_gets_it_too_and_remove_leaves_it(fake_home: Path) -> None:
    install()
    path = config(fake_home)
    assert tomllib.loads(path.read_text("utf-8"))["mcp"]["enabled"] is True
    res = run("remove", "--client", "gptme", "--yes")
    assert res.code == 0, res.err
    doc = tomllib.loads(path.read_text("utf-8"))
    assert doc["mcp"]["enabled"] is True and not doc["mcp"].get("servers")


def test_already_enabled_is_left_as_written(fake_home: Path) -> None:
    path = config(fake_home)
    path.parent.mkdir(parents=True)
    text = FIRST_RUN + "\n[mcp]\nenabled = true  # mine\n"
    path.write_text(text, "utf-8")
    install()
    after = path.read_text("utf-8")
    assert after.startswith(text), after
    assert after.count("enabled") == 1
