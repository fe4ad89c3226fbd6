"""Config files that Windows apps really read: Claude Desktop from the Microsoft Store (MSIX), and
Windows apps seen from inside WSL. Fake homes are laid out as those systems lay them out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import TOKEN, run

MSIX = Path("AppData/Local/Packages/Claude_pzs8sxrjxfjjc")
MSIX_CONFIG = MSIX / "LocalCache/Roaming/Claude/claude_desktop_config.json"
CLASSIC_CONFIG = Path("AppData/Roaming/Claude/claude_desktop_config.json")


def detected(*args: str) -> dict[str, dict[str, object]]:
    res = run("list", "--detected", "--json", *args)
    assert res.code == 0, res.err
    return {row["id"]: row for row in res.json()["data"]["clients"]}


def install(*args: str) -> None:
    res = run(
        "install", *args, "--auth", "token", "--token-stdin", "--region", "us", "--yes",
        stdin=TOKEN,
    )  # fmt: skip
    assert res.code == 0, res.err
    assert TOKEN not in res.out + res.err


def written(path: Path) -> dict[str, object]:
    entry = json.loads(path.read_text("utf-8"))["mcpServers"]["dot"]
    assert isinstance(entry, dict)
    return entry


@pytest.fixture
def windows(fake_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOT_SETUP_OS", "windows")
    monkeypatch.delenv("APPDATA")
    monkeypatch.delenv("LOCALAPPDATA")
    return fake_home


def test_store_claude_desktop_gets_the_file_it_reads(windows: Path) -> None:
    (windows / MSIX).mkdir(parents=True)
    found = detected()
    assert "claude-desktop-store" in found
    assert "claude-desktop" not in found  # the Store app never reads %APPDATA%\Claude
    install("--all-detected")
    entry = written(windows / MSIX_CONFIG)
    assert entry["command"] == "cmd"
    assert entry["args"][:3] == ["/c", "npx", "-y"]  # type: ignore[index]
    assert not (windows / CLASSIC_CONFIG).exists()


def test_both_installs_get_both_files(windows: Path) -> None:
    (windows / MSIX).mkdir(parents=True)
    (windows / "AppData/Roaming/Claude").mkdir(parents=True)
    found = detected()
    assert {"claude-desktop", "claude-desktop-store"} <= set(found)
    install("--all-detected")
    assert written(windows / MSIX_CONFIG) == written(windows / CLASSIC_CONFIG)


@pytest.fixture
def wsl(fake_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Linux inside WSL: the Windows user alice's profile on a fake /mnt/c, beside Public and
    Default, with Cursor and Claude Desktop installed on the Windows side."""
    mount = tmp_path / "mnt"
    users = mount / "c" / "Users"
    for name in ("Public", "Default", "All Users", "alice"):
        (users / name).mkdir(parents=True)
    alice = users / "alice"
    (alice / "AppData/Local/Programs/cursor").mkdir(parents=True)
    (alice / "AppData/Local/Programs/cursor/Cursor.exe").write_bytes(b"MZ")
    (alice / ".cursor").mkdir()
    (alice / "AppData/Roaming/Claude").mkdir(parents=True)
    (mount / "wsl").mkdir()  # WSL's own mount, not a drive
    monkeypatch.setenv("DOT_SETUP_OS", "wsl")
    monkeypatch.setenv("DOT_SETUP_WSL_MOUNT", str(mount))
    monkeypatch.setenv("USER", "bob")  # the Linux user need not match the Windows one
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no cmd.exe / wslpath: found on the mount
    return alice


def test_wsl_lists_windows_apps_as_such(wsl: Path, fake_home: Path) -> None:
    rows = run("list", "--json").json()["data"]["clients"]
    windows = {r["id"]: r for r in rows if r["side"] == "windows"}
    assert {"cursor", "claude-desktop"} <= set(windows)
    assert windows["cursor"]["path"] == str(wsl / ".cursor" / "mcp.json")
    linux = {r["id"]: r for r in rows if r["side"] == "here"}
    assert linux["cursor"]["path"] == str(fake_home / ".cursor" / "mcp.json")
    table = run("list").out
    assert "cursor (Windows: --windows)" in table


def test_wsl_writes_windows_apps_in_their_windows_shape(wsl: Path, fake_home: Path) -> None:
    install("--windows", "--client", "cursor", "--client", "claude-desktop")
    cursor = written(wsl / ".cursor" / "mcp.json")
    assert cursor["url"] == "https://app.getdot.ai/ai/mcp"
    desktop = written(wsl / CLASSIC_CONFIG)
    assert desktop["command"] == "cmd" and desktop["args"][:2] == ["/c", "npx"]  # type: ignore[index]
    assert not (fake_home / ".cursor" / "mcp.json").exists()  # the Linux home is untouched
    res = run("remove", "--windows", "--client", "cursor", "--yes")
    assert res.code == 0, res.err
    assert "dot" not in json.loads((wsl / ".cursor" / "mcp.json").read_text())["mcpServers"]


def test_wsl_picks_the_windows_user_named_like_the_linux_one(
    wsl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (wsl.parent / "carol").mkdir()
    res = run(
        "install", "--windows", "--client", "cursor", "--auth", "oauth", "--region", "us", "--yes"
    )
    assert res.code == 2, res.out
    assert "several Windows user folders" in res.err and "DOT_SETUP_WINDOWS_HOME" in res.err
    assert not (wsl / ".cursor" / "mcp.json").exists()
    monkeypatch.setenv("USER", "alice")
    res = run(
        "install", "--windows", "--client", "cursor", "--auth", "oauth", "--region", "us", "--yes"
    )
    assert res.code == 0, res.err
    assert (wsl / ".cursor" / "mcp.json").exists()


def test_windows_flag_outside_wsl_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_OS", "linux")
    res = run(
        "install", "--windows", "--client", "cursor", "--auth", "oauth", "--region", "us", "--yes"
    )
    assert res.code == 2
    assert "--windows is for WSL" in res.err
    assert len(res.err.strip().splitlines()) <= 2
