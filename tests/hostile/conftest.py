"""Hostile states built for real inside the test's own tmp dir: FIFOs, device nodes (mknod, as
root), sockets, symlink loops, unreadable folders (the CLI run without CAP_DAC_OVERRIDE, so
root meets real permission errors), never-ending pipes.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make_node(path: Path, kind: str) -> None:
    """Create a FIFO, a character device (a null device made here, 1:3), a socket or a folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        if os.geteuid() != 0:
            pytest.skip("only root can make a device node")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(path, 0o666)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()  # the socket file stays
    elif kind == "directory":
        path.mkdir()
    else:
        raise ValueError(kind)


def node_fingerprint(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_rdev)


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | int | None = b"",
    timeout: float = 30,
    unprivileged: bool = False,
) -> subprocess.CompletedProcess[str]:
    """dot-setup as its own process. `unprivileged` drops root's permission bypass
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so mode bits apply to it as to any user."""
    command = [sys.executable, "-m", "dot_setup", *args]
    if unprivileged:
        setpriv = shutil.which("setpriv")
        if os.geteuid() == 0:
            assert setpriv, "util-linux's setpriv is needed to drop root's file permission bypass"
            command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    kwargs: dict[str, object] = {}
    if isinstance(stdin, int):
        kwargs["stdin"] = stdin
    else:
        kwargs["input"] = stdin.decode() if stdin is not None else None
    return subprocess.run(
        command,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )
