"""A real reference server for tests: uvicorn on 127.0.0.1 in a background thread.

Real HTTP on a free port, a real SQLite (or PostgreSQL) database, and a `FakeClock` the test
moves by hand, so expiry rules (consent 10 min, access 1 h, refresh and MCP tokens 1 year) are
tested without waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2

from dot_setup.server import runner
from dot_setup.server.clock import FakeClock
from dot_setup.server.config import Limits, RegionConfig, normalise_db_url
from dot_setup.server.headless import HeadlessBrowser, sign_in
from dot_setup.server.seed import DEMO_USERS

PASSWORD = "demo-password-1"
ADMIN, ANALYST, VIEWER = (u.email for u in DEMO_USERS)


class LiveServer:
    def __init__(
        self,
        workdir: Path,
        *,
        region: str = "us",
        db_url: str | None = None,
        auth: bool = True,
        limits: Limits | None = None,
        clock: FakeClock | None = None,
        allow_http_cimd: bool = True,
        public_url: str = "",
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.clock = clock or FakeClock()
        config = RegionConfig(
            region=region,
            host="127.0.0.1",
            port=0,
            db_url=normalise_db_url(db_url or f"sqlite:///{workdir / (region + '.db')}"),
            data_dir=workdir,
            auth=auth,
            limits=limits or Limits(),
            allow_http_cimd=allow_http_cimd,
            public_url=public_url,
        )
        self.db_path = workdir / (region + ".db")
        passwords = {u.email: PASSWORD for u in DEMO_USERS}
        (self.running,) = runner.prepare([config], passwords, self.clock)
        self.config: RegionConfig = self.running.config
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LiveServer:
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(runner.serve([self.running], lambda _r: ready.set()))
            except BaseException as exc:  # reported by start()/stop()
                self._error = exc
            finally:
                ready.set()
                loop.close()

        self._thread = threading.Thread(
            target=main, name=f"dot-serve-{self.config.region}", daemon=True
        )
        self._thread.start()
        if not ready.wait(30) or self._error:
            raise RuntimeError(f"server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        self.running.uvicorn.should_exit = True
        if self._thread:
            self._thread.join(15)
        self.running.sock.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.config.origin

    @property
    def mcp_url(self) -> str:
        return self.config.mcp_url

    @property
    def sse_url(self) -> str:
        return self.config.sse_url

    @property
    def state(self) -> Any:
        return self.running.server.state

    # -- credentials, over HTTP as a user would get them --------------------------------------

    def sign_in(self, email: str = ANALYST, password: str = PASSWORD) -> dict[str, Any]:
        """OAuth sign-in (DCR + PKCE + consent); the token response plus client_id."""
        return sign_in(self.origin, email, password)

    def api(self, method: str, path: str, token: str, **kw: Any) -> httpx2.Response:
        with httpx2.Client(timeout=15) as http:
            return http.request(
                method, self.origin + path, headers={"Authorization": f"Bearer {token}"}, **kw
            )

    def mcp_token(self, email: str = ANALYST) -> str:
        access = self.sign_in(email)["access_token"]
        resp = self.api("POST", "/api/mcp-token", access)
        assert resp.status_code == 201, resp.text
        token: str = resp.json()["token"]
        return token

    def api_token(self, email: str = ANALYST) -> str:
        access = self.sign_in(email)["access_token"]
        resp = self.api("POST", "/api/api-tokens", access)
        assert resp.status_code == 201, resp.text
        token: str = resp.json()["token"]
        return token

    def browser(self, email: str = ANALYST, password: str = PASSWORD) -> HeadlessBrowser:
        return HeadlessBrowser(email, password)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a coroutine function on the server's own loop (e.g. a direct database check)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args), self._loop).result(30)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


__all__ = ["ADMIN", "ANALYST", "PASSWORD", "VIEWER", "LiveServer", "replace", "wait_for"]
