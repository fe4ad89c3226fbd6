"""Fixtures for `dot-setup doctor`: both regions of the reference server, each with its own
clock, the region URLs pointed at them, and a `doctor()` that runs the real command.

Every test builds its broken state for real (a file, a revoked token, a moved clock, a fake old
`node` on PATH, a server that does not answer) and asserts what the user would see.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring.core
import pytest
from tests.helpers import Result, run
from tests.server.live import LiveServer

from dot_setup.secrets import REDACT


@dataclass
class Regions:
    us: LiveServer
    eu: LiveServer


@pytest.fixture(autouse=True)
def doctor_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A browser is 'available' (BROWSER), no keyring, no proxies, the file credential store."""
    monkeypatch.setenv("BROWSER", "true")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    for var in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSH_CONNECTION",
        "SSH_TTY",
        "MCP_REMOTE_CONFIG_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(REDACT, "secrets", set())
    # Temporary files (the live check's stderr capture) go under the test's own folder.
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))


@pytest.fixture
def regions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Regions]:
    """Both regions, live on 127.0.0.1; DOT_SETUP_REGION_URLS points the Dot regions at them."""
    with (
        LiveServer(tmp_path / "us-server", region="us") as us,
        LiveServer(tmp_path / "eu-server", region="eu") as eu,
    ):
        monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"us={us.mcp_url},eu={eu.mcp_url}")
        from dot_setup.profiles import loader

        loader.load_services.cache_clear()
        yield Regions(us, eu)


def doctor(*args: str, stdin: str = "") -> tuple[int, dict[str, Any], str]:
    """`dot-setup doctor ARGS --json`: (exit code, the envelope, stderr)."""
    result: Result = run("doctor", *args, "--json", stdin=stdin)
    assert result.out.strip(), f"no JSON on stdout; stderr: {result.err}"
    envelope = json.loads(result.out)  # the whole of stdout must be the envelope
    return result.code, envelope, result.err


def human(*args: str, stdin: str = "") -> Result:
    """`dot-setup doctor ARGS` as a person sees it."""
    return run("doctor", *args, stdin=stdin)


def check(envelope: dict[str, Any], check_id: str) -> dict[str, Any]:
    found = [c for c in envelope["data"]["checks"] if c["id"] == check_id]
    assert found, f"no check {check_id} in {[c['id'] for c in envelope['data']['checks']]}"
    return found[0]


def install(*args: str, stdin: str = "") -> Result:
    """`dot-setup install ARGS --yes`, asserting it worked."""
    result = run("install", *args, "--yes", stdin=stdin)
    assert result.code == 0, result.err
    return result


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests here that run the reference server are part of the `server` and `slow` suites."""
    here = Path(__file__).parent
    for item in items:
        uses_server = "regions" in getattr(item, "fixturenames", ())
        if here in Path(str(item.fspath)).parents and uses_server:
            item.add_marker(pytest.mark.server)
            item.add_marker(pytest.mark.slow)
