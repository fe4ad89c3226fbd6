"""A generated MCP token is never lost: it revokes the previous one, so every destination is
checked before it is generated, and if a write still fails the new token is kept in a 0600
file in the state dir whose path is printed.

Was: `token create -o <a directory>` exited 3 after the server had created the token, and the
wizard with --new-token and a read-only target printed "Generated MCP token …" and then failed
on the write: the previous token was revoked and the new one reached nobody.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tests.server.live import ANALYST, LiveServer

from .conftest import Cli, assert_no_secret

pytestmark = [pytest.mark.server, pytest.mark.slow]


def mcp_tokens(live: LiveServer) -> list[tuple[str, float | None]]:
    """(display, revoked_at) of every MCP token the server ever issued, oldest first."""
    with sqlite3.connect(f"file:{live.db_path}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT display, revoked_at FROM tokens WHERE kind = 'pat' ORDER BY created_at"
        ).fetchall()


def first_token(run: Cli, tmp_path: Path) -> str:
    path = tmp_path / "first.token"
    code, _, err = run("token", "create", "-o", str(path))
    assert code == 0, err
    return run.read_token(path)


def unwritable_outputs(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    read_only = tmp_path / "read-only.token"
    read_only.write_text("old\n")
    read_only.chmod(0o444)
    fifo = tmp_path / "a.fifo"
    os.mkfifo(fifo)
    return {
        "a directory": folder,
        "under a file": a_file / "token",
        "read-only": read_only,
        "a FIFO": fifo,
    }


def test_token_create_checks_the_output_before_generating(
    signed_in: Cli, live: LiveServer, tmp_path: Path
) -> None:
    run = signed_in
    first = first_token(run, tmp_path)
    for what, output in unwritable_outputs(tmp_path).items():
        code, _, err = run("token", "create", "-o", str(output), "--yes")
        assert code == 1, (what, err)
        assert "internal error" not in err and str(output).split("/")[-1] in err, err
        # nothing was generated: the first token is still the only one, and still works
        assert [revoked for _, revoked in mcp_tokens(live)] == [None], what
        assert live.api("GET", "/api/token-info", first).status_code == 200
    assert (tmp_path / "read-only.token").read_text() == "old\n"
    run.check_no_secret()


def test_wizard_new_token_checks_every_file_before_generating(
    signed_in: Cli, live: LiveServer, tmp_path: Path, fake_home: Path
) -> None:
    run = signed_in
    first = first_token(run, tmp_path)
    cursor = fake_home / ".cursor" / "mcp.json"
    cursor.parent.mkdir()
    cursor.write_text("{}\n")
    cursor.chmod(0o444)
    code, _, err = run(
        "--client", "cursor", "--client", "codex", "--auth", "token", "--new-token", "--yes"
    )
    assert code == 1, err
    assert "read-only" in err and "Generated MCP token" not in err
    assert [revoked for _, revoked in mcp_tokens(live)] == [None]
    assert live.api("GET", "/api/token-info", first).status_code == 200
    assert cursor.read_text() == "{}\n" and not (fake_home / ".codex").exists()
    run.check_no_secret()


def _full_disk(script: str, folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run dot-setup in a private mount namespace where `folder` is a full 16 KiB tmpfs: a real
    ENOSPC after every check passed (the mount ends with the process)."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        pytest.skip("a private tmpfs needs root and util-linux's unshare")
    fill = f"{sys.executable} -c \"open('{folder}/fill','wb').write(b'x' * 65536)\" 2>/dev/null"
    shell = f"mount -t tmpfs -o size=16k tmpfs '{folder}' && {{ {fill}; {script}; }}"
    return subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", shell, "sh", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )


def _kept_token(err: str) -> Path:
    line = next(line for line in err.splitlines() if "was kept in" in line)
    return Path(line.split("was kept in ", 1)[1].split(" (mode 0600)")[0])


def test_token_create_keeps_the_new_token_when_the_write_fails(
    signed_in: Cli, live: LiveServer, tmp_path: Path
) -> None:
    run = signed_in
    first = first_token(run, tmp_path)
    folder = tmp_path / "full"
    folder.mkdir()
    command = f'exec {sys.executable} -m dot_setup "$@"'
    args = [
        "token",
        "create",
        "-o",
        str(folder / "new.token"),
        "--yes",
        "--server-url",
        live.mcp_url,
    ]
    proc = _full_disk(command, folder, args)
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr and "internal error" not in proc.stderr
    kept = _kept_token(proc.stderr)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    new = run.read_token(kept)
    assert live.api("GET", "/api/token-info", new).status_code == 200  # not lost
    assert live.api("GET", "/api/token-info", first).status_code == 401  # it replaced the first
    assert f"--token-file {kept}" in proc.stderr
    assert_no_secret(proc.stdout + proc.stderr, new, first)


def test_wizard_keeps_the_new_token_when_a_write_fails(
    signed_in: Cli, live: LiveServer, tmp_path: Path, fake_home: Path
) -> None:
    run = signed_in
    folder = fake_home / ".cursor"
    folder.mkdir()
    command = f'exec {sys.executable} -m dot_setup "$@"'
    args = [
        "--client",
        "cursor",
        "--auth",
        "token",
        "--new-token",
        "--yes",
        "--server-url",
        live.mcp_url,
    ]
    proc = _full_disk(command, folder, args)
    assert proc.returncode == 1, proc.stderr
    assert "Generated MCP token" in proc.stderr and "No space left on device" in proc.stderr
    kept = _kept_token(proc.stderr)
    new = run.read_token(kept)
    info = live.api("GET", "/api/token-info", new)
    assert info.status_code == 200 and info.json()["owner"] == ANALYST
    assert not (folder / "mcp.json").exists()  # the mount is gone; nothing was written here
    assert_no_secret(proc.stdout + proc.stderr, new)
