"""Fixtures for the reference server tests: a live server per module, or a fresh one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.server.headless import HeadlessBrowser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server shared by a test module. Tests must not move its clock or change passwords."""
    with LiveServer(tmp_path_factory.mktemp("dot-server")) as live:
        yield live


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    """A plain HTTP client that does not follow redirects (to see each OAuth step)."""
    with httpx2.Client(follow_redirects=False, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[HeadlessBrowser]:
    """The analyst's browser on the shared server: signs in on first use, keeps its session."""
    with HeadlessBrowser(ANALYST, PASSWORD) as b:
        yield b


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of the test's own, for tests that move the clock or revoke everything."""
    with LiveServer(tmp_path / "dot-server") as live:
        yield live


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here runs a real server: part of the `server` and `slow` suites."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.server)
            item.add_marker(pytest.mark.slow)
