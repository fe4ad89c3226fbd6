"""Fixtures for the terminal suite: two real reference servers (US and EU) on 127.0.0.1, a fake
home where Cursor (with a server of its own) and Codex are detected, and `spawn`, which runs the
installed `dot-setup` console script in a pseudo-terminal with an environment built from
scratch (no CI variable, no real HOME, no credential store but a file in the test's tmp_path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.server.live import LiveServer
from tests.terminal.driver import CURSOR_BEFORE, Servers, Terminal


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """US and EU reference servers of this test (their databases live in tmp_path)."""
    with (
        LiveServer(tmp_path / "server-us", region="us") as us,
        LiveServer(tmp_path / "server-eu", region="eu") as eu,
    ):
        yield Servers(us, eu)


@pytest.fixture
def home(fake_home: Path) -> Path:
    """A home with ~/.cursor/mcp.json (another server already there) and ~/.codex/."""
    (fake_home / ".cursor").mkdir()
    (fake_home / ".cursor" / "mcp.json").write_text(CURSOR_BEFORE, encoding="utf-8")
    (fake_home / ".codex").mkdir()
    return fake_home


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def base_env(tmp_path: Path, home: Path, state_dir: Path) -> dict[str, str]:
    """A person's terminal session, minus the real machine: fake home, file credential store,
    no clipboard, BROWSER set (so sign-in uses the loopback redirect), and no CI variable."""
    # PATH holds only `true`: BROWSER=true "opens" the browser with it, and no client program
    # of the machine running the tests can be detected.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "true").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "true").chmod(0o755)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return {
        "PATH": str(bin_dir),
        "HOME": str(home),
        "DOT_SETUP_HOME": str(home),
        "DOT_SETUP_STATE_DIR": str(state_dir),
        "DOT_SETUP_CREDENTIAL_STORE": "file",
        "DOT_SETUP_NO_CLIPBOARD": "1",
        "BROWSER": "true",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp),
    }


@pytest.fixture
def wizard_env(base_env: dict[str, str], servers: Servers) -> dict[str, str]:
    """base_env with the regions pointed at this test's two servers."""
    urls = f"us={servers.us.mcp_url},eu={servers.eu.mcp_url}"
    return {**base_env, "DOT_SETUP_REGION_URLS": urls}


@pytest.fixture
def spawn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    """spawn(*args, env=None) → a `Terminal` running `dot-setup ARGS` (env: `wizard_env`, which
    starts the servers, unless given); the screen is printed at the end (pytest shows it for a
    failure, or for every test with -rP)."""
    started: list[Terminal] = []
    cwd = tmp_path / "project"
    cwd.mkdir(exist_ok=True)

    def start(*args: str, env: dict[str, str] | None = None) -> Terminal:
        term = Terminal(args, env or request.getfixturevalue("wizard_env"), cwd)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()
        print(f"----- dot-setup {' '.join(term.args)} -----")
        print(term.screen())
