"""A config path that is not a regular file is refused, never replaced, never read forever.

Was: with `~/.cursor/mcp.json -> <a character device>` install replaced the device with a 0666
regular file holding the token (as root, through a link to /dev/null, the machine's /dev/null);
a FIFO made install, list and doctor hang; a symlink loop was a crash (exit 3).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from tests.helpers import TOKEN, run
from tests.hostile.conftest import make_node, node_fingerprint

KINDS = {
    "fifo": "a FIFO (named pipe)",
    "chardev": "a character device",
    "socket": "a socket",
    "directory": "a directory",
}
INSTALL = ("install", "-c", "cursor", "--auth", "token", "--token-stdin", "--region", "us", "--yes")


def _cursor_link(fake_home: Path, tmp_path: Path, kind: str, via_symlink: bool) -> Path:
    config = fake_home / ".cursor" / "mcp.json"
    if via_symlink:
        node = tmp_path / "nodes" / kind
        make_node(node, kind)
        config.parent.mkdir(parents=True)
        config.symlink_to(node)
        return node
    make_node(config, kind)
    return config


@pytest.mark.timeout(20)
@pytest.mark.parametrize("via_symlink", [True, False], ids=["symlink", "direct"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_install_refuses_what_is_not_a_regular_file(
    fake_home: Path, tmp_path: Path, kind: str, via_symlink: bool
) -> None:
    node = _cursor_link(fake_home, tmp_path, kind, via_symlink)
    before = node_fingerprint(node)
    started = time.monotonic()
    r = run(*INSTALL, stdin=TOKEN)
    assert time.monotonic() - started < 10
    assert r.code == 1, r.err
    lines = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert str(fake_home / ".cursor" / "mcp.json") in lines[0]
    assert f"is {KINDS[kind]}, not a regular file" in lines[0]
    assert node_fingerprint(node) == before  # still the same kind of node, same mode
    assert TOKEN not in r.out + r.err
    leftovers = [p.name for p in node.parent.iterdir() if ".dot-setup-" in p.name]
    assert leftovers == []


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_list_doctor_and_remove_do_not_hang_on_a_fifo_or_device(
    fake_home: Path, tmp_path: Path, kind: str
) -> None:
    node = _cursor_link(fake_home, tmp_path, kind, via_symlink=True)
    before = node_fingerprint(node)
    started = time.monotonic()
    listed = run("list", "--json")
    assert listed.code == 0, listed.err
    row = next(c for c in listed.json()["data"]["clients"] if c["id"] == "cursor")
    assert row["status"] == "unreadable" and KINDS[kind] in row["detail"]
    removed = run("remove", "-c", "cursor", "--yes")
    assert removed.code == 1 and KINDS[kind] in removed.err
    doctor = run("doctor", "--client", "cursor", "--timeout", "3", "--json", "client.cursor.config")
    assert doctor.code == 1
    check = next(c for c in doctor.json()["data"]["checks"] if c["id"] == "client.cursor.config")
    assert check["status"] == "fail" and KINDS[kind] in check["summary"]
    assert "regular file" in check["remediation"]["text"]  # not "fix it at that position"
    assert check["remediation"]["commands"] == []
    assert time.monotonic() - started < 15
    assert node_fingerprint(node) == before


def test_symlink_loop_is_a_clear_error(fake_home: Path) -> None:
    """Was: exit 3 (OSError ELOOP escaped as a crash)."""
    config = fake_home / ".cursor" / "mcp.json"
    config.parent.mkdir()
    other = fake_home / ".cursor" / "other.json"
    config.symlink_to(other)
    other.symlink_to(config)
    r = run(*INSTALL, stdin=TOKEN)
    assert r.code == 1, r.err
    assert "the symlinks loop" in r.err and "internal error" not in r.err
    listed = run("list", "--json")
    assert listed.code == 0
    doctor = run("doctor", "--client", "cursor", "--timeout", "3", "client.cursor.config")
    assert doctor.code == 1 and "symlinks loop" in doctor.out + doctor.err
    assert config.is_symlink() and other.is_symlink()


def test_a_token_file_is_never_created_wider_than_0600(fake_home: Path) -> None:
    os.umask(0o000)  # the most permissive umask a user could have
    try:
        r = run(*INSTALL, stdin=TOKEN)
    finally:
        os.umask(0o022)
    assert r.code == 0, r.err
    path = fake_home / ".cursor" / "mcp.json"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert json.loads(path.read_text())["mcpServers"]["dot"]["headers"]


@pytest.mark.slow
def test_an_unreadable_folder_is_a_clear_error_not_a_crash(fake_home: Path, tmp_path: Path) -> None:
    """Was: list and doctor crashed (exit 3) on a folder they may not search. As root the
    test drops root's permission bypass for dot-setup's process, so the modes really apply."""
    from tests.hostile.conftest import cli

    cursor = fake_home / ".cursor"
    cursor.mkdir()
    (cursor / "mcp.json").write_text('{"mcpServers": {}}\n')
    config = fake_home / ".config"
    (config / "zed").mkdir(parents=True)
    cursor.chmod(0o000)
    config.chmod(0o000)
    env = {"DOT_SETUP_HOME": str(fake_home), "DOT_SETUP_STATE_DIR": str(tmp_path / "state")}
    try:
        listed = cli("list", "--json", env=env, unprivileged=True)
        assert listed.returncode == 0, listed.stderr
        rows = {r["id"]: r for r in json.loads(listed.stdout)["data"]["clients"]}
        assert rows["cursor"]["status"] == "unreadable"
        assert "permission denied" in rows["cursor"]["detail"]
        doctor = cli("doctor", "--client", "cursor", "--timeout", "3", env=env, unprivileged=True)
        assert doctor.returncode == 1, doctor.stderr
        assert "permission denied" in doctor.stdout + doctor.stderr
        install = cli(*INSTALL[:-1], "--yes", env=env, stdin=TOKEN.encode(), unprivileged=True)
        assert install.returncode == 1 and "permission denied" in install.stderr
        for result in (listed, doctor, install):
            assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    finally:
        cursor.chmod(0o755)
        config.chmod(0o755)
    assert (cursor / "mcp.json").read_text() == '{"mcpServers": {}}\n'
