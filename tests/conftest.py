"""Every test runs in a fake home, and any write outside its tmp_path fails the test.

The tripwire is an audit hook (sys.addaudithook) that watches file opens for writing, renames,
mkdir, chmod and unlink from this process while a test runs. Subprocesses get the fake home
through their environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from dot_setup.profiles import loader

# No example database on disk: it would be a write outside the test's tmp_path.
settings.register_profile("dot-setup", database=None, deadline=None)
settings.load_profile("dot-setup")

REPO = Path(__file__).resolve().parent.parent
_CLEARED = (
    "DOT_SETUP_HOME",
    "DOT_SETUP_STATE_DIR",
    "DOT_SETUP_OS",
    "DOT_SETUP_NO_INPUT",
    "DOT_SETUP_PROFILES_DIR",
    "DOT_MCP_TOKEN",
    "CODEX_HOME",
    "CLAUDE_CONFIG_DIR",
    "COPILOT_HOME",
    "GEMINI_CLI_HOME",
    "QWEN_HOME",
    "VIBE_HOME",
    "CI",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class _Tripwire:
    allowed: tuple[str, ...] = ()
    active = False

    def check(self, path: object, what: str) -> None:
        if not self.active or isinstance(path, int) or path is None:
            return
        text = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
        full = os.path.abspath(text)
        if full.startswith("/dev/") or "__pycache__" in full or full.endswith(".pyc"):
            return
        if not any(full == root or full.startswith(root + os.sep) for root in self.allowed):
            raise AssertionError(f"test wrote outside its tmp_path: {what} {full}")

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active:
            return
        if event == "open":
            path, mode, flags = [*args, None, None, None][:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writes:
                self.check(path, "open")
        elif event in ("os.rename", "os.replace"):
            self.check(args[1], event)
        elif event == "os.symlink":
            self.check(args[1], event)  # (target, link path): the link is what gets written
        elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.chmod"):
            self.check(args[0], event)


TRIPWIRE = _Tripwire()
sys.addaudithook(TRIPWIRE.hook)


@pytest.fixture(autouse=True)
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(project)
    loader.load_clients.cache_clear()
    loader.load_services.cache_clear()
    loader._one_client.cache_clear()
    TRIPWIRE.allowed = (str(tmp_path.resolve()), str(tmp_path))
    TRIPWIRE.active = True
    try:
        yield home
    finally:
        TRIPWIRE.active = False


@pytest.fixture
def project(fake_home: Path) -> Path:
    return fake_home.parent / "project"


@pytest.fixture
def no_tripwire() -> Iterator[None]:
    """For the few tests that must let a library write (e.g. starting a server)."""
    TRIPWIRE.active = False
    yield
    TRIPWIRE.active = True
