"""Fixtures for the real-client suite (tests/realclients).

The client cache and the CI flag come from `clients`, which reads the REAL environment when it is
imported, i.e. when pytest loads this conftest, before tests/conftest.py fakes HOME for each test.

- Outside CI, a missing or stale client cache skips these tests with the reason.
- In CI (CI=true) it fails every one of them with the message to run install_clients.sh: the
  suite must run there, never skip.
"""

from __future__ import annotations

import secrets
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers"))

import clients
from bearer_server import BearerServer


def _unavailable(reason: str) -> None:
    if clients.IN_CI:
        pytest.fail(f"real-client tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def client_cache() -> Path:
    """The pinned clients' cache; skip (fail in CI) when it is missing or stale."""
    if clients.CACHE_PROBLEM:
        _unavailable(clients.CACHE_PROBLEM)
    return clients.CLIENTS_DIR


@pytest.fixture(scope="session")
def dot_setup_cli() -> list[str]:
    argv = clients.dot_setup_argv()
    if argv is None:
        _unavailable(
            f"{sys.executable} does not import dot_setup from this checkout: pip install -e ."
        )
    assert argv is not None
    return argv


@pytest.fixture(scope="session")
def good_token() -> str:
    return "dot_mcp_test_" + secrets.token_urlsafe(18)


@pytest.fixture(scope="session")
def bearer_server(
    client_cache: Path, good_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BearerServer]:
    """One real MCP server for the whole suite, accepting only `good_token`."""
    with BearerServer(good_token, tmp_path_factory.mktemp("bearer-server")) as server:
        yield server


@pytest.fixture
def sandbox(tmp_path: Path) -> clients.Sandbox:
    return clients.Sandbox(tmp_path / "sb")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not clients.TIMINGS:
        return
    by_label: dict[str, list[float]] = defaultdict(list)
    for label, seconds in clients.TIMINGS:
        by_label[label].append(seconds)
    terminalreporter.section("real-client check times")
    for label, values in sorted(by_label.items()):
        terminalreporter.write_line(
            f"{label:40s} n={len(values):2d}  mean={sum(values) / len(values):5.2f} s  "
            f"max={max(values):5.2f} s  total={sum(values):6.2f} s"
        )
    total = sum(s for _, s in clients.TIMINGS)
    terminalreporter.write_line(f"{'all client/CLI subprocesses':40s} total={total:6.2f} s")
