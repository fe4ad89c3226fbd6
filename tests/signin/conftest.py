"""Fixtures for dot-setup's own sign-in: a clean slate per test, and a live reference server.

Every test gets: no usable system keyring unless it sets one (the `fail` backend, so nothing
can reach a real keyring), the one-time file-store warning re-armed, an empty redactor (so a
token that is printed without being registered would really show), plain output, and a
`webbrowser.open` that fails the test (a scripted browser is always passed explicitly).
"""

from __future__ import annotations

import functools
import sqlite3
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx2
import keyring.core
import pytest
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup import cli
from dot_setup.paths import Paths
from dot_setup.secrets import REDACT
from dot_setup.server.headless import HeadlessBrowser
from dot_setup.signin import flow as signin_flow
from dot_setup.signin import store as store_mod
from dot_setup.signin.account import Account, SignInOptions
from dot_setup.signin.store import Session
from dot_setup.ui.console import OUT

DEVICE_INTERVAL = 1  # seconds; the server's default of 5 would make the device tests slow


@pytest.fixture(autouse=True)
def clean_signin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for var in (
        "DOT_SETUP_CREDENTIAL_STORE",
        "BROWSER",
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "SSH_CONNECTION",
        "SSH_TTY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # re-read the env per test
    monkeypatch.setattr(store_mod, "_warned", False)
    monkeypatch.setattr(REDACT, "secrets", set())
    monkeypatch.setattr(OUT, "json_mode", False)
    monkeypatch.setattr(OUT, "quiet", False)
    monkeypatch.setattr(OUT, "command", "")

    def no_real_browser(url: str, *a: Any, **kw: Any) -> bool:
        raise AssertionError(f"a real browser was asked to open {url}")

    monkeypatch.setattr(webbrowser, "open", no_real_browser)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of the test's own (tests move its clock, change passwords, revoke tokens)."""
    with LiveServer(tmp_path / "dot-server") as server:
        cfg = server.state.config
        server.state.config = replace(
            cfg, lifetimes=replace(cfg.lifetimes, device_interval=DEVICE_INTERVAL)
        )
        yield server


@dataclass
class ScriptedBrowser:
    """Plays the person at the browser; records every URL it was given."""

    email: str = ANALYST
    password: str = PASSWORD
    action: str = "allow"
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        with HeadlessBrowser(self.email, self.password) as browser:
            if "/device" in url:
                browser.approve_device(url, self.action)
                return
            outcome = browser.authorize(url, self.action)
        with httpx2.Client(timeout=15) as http:
            http.get(outcome.location)  # the redirect to dot-setup's loopback listener


@pytest.fixture
def browser() -> ScriptedBrowser:
    return ScriptedBrowser()


def dcr_count(server: LiveServer, client_name: str = "dot-setup") -> int:
    """Dynamic registrations the server holds for a client name (read from its database)."""
    import json

    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT metadata FROM oauth_clients WHERE kind = 'dcr'").fetchall()
    return sum(1 for (meta,) in rows if json.loads(meta).get("client_name") == client_name)


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret, "an empty secret proves nothing"
        assert secret not in text, f"a secret ({secret[:6]}…) appeared in the output"


@dataclass
class Cli:
    """Runs dot-setup commands against one server; remembers all output and every secret."""

    live: LiveServer
    capsys: pytest.CaptureFixture[str]
    output: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def __call__(self, *args: str, server: bool = True) -> tuple[int, str, str]:
        argv = [*args, "--server-url", self.live.mcp_url] if server else list(args)
        code = cli.run(argv)
        out = self.capsys.readouterr()
        self.output.append(out.out + out.err)
        self.note_session()
        return code, out.out, out.err

    def session(self) -> Session | None:
        return Account(Paths.from_env(), self.live.mcp_url, "us").current()

    def note_session(self) -> None:
        session = self.session()
        if session is not None:
            self.secrets |= {session.access_token, session.refresh_token}

    def read_token(self, path: Path) -> str:
        token = path.read_text().strip()
        self.secrets.add(token)
        return token

    def check_no_secret(self) -> None:
        assert self.secrets
        assert_no_secret("\n".join(self.output), *self.secrets)


@pytest.fixture
def run(
    live: LiveServer,
    browser: ScriptedBrowser,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.setattr(
        signin_flow, "SignInOptions", functools.partial(SignInOptions, browser=browser)
    )
    return Cli(live, capsys)


@pytest.fixture
def signed_in(run: Cli) -> Cli:
    code, _, err = run("login")
    assert code == 0, err
    return run
