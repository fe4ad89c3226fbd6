"""Running region servers under uvicorn: sockets, start-up banner, ready file, clean shutdown.

`--region all` runs both regions in one process and one event loop, each on its own port,
issuer and database. Ctrl-C or SIGTERM stops both gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from dot_setup.errors import DotSetupError, UsageError
from dot_setup.server.app import DotServer, build
from dot_setup.server.clock import Clock
from dot_setup.server.config import RegionConfig
from dot_setup.server.seed import DEMO_USERS

PASSWORD_ENV = "DOT_SERVE_DEMO_PASSWORD"


def _no_uvicorn_access_log(record: logging.LogRecord) -> bool:
    """uvicorn logs full URLs, `?token=` values included, whenever its access logger has a
    handler (`access_log=False` only removes the default one); the app's own access log
    (`app._AccessLog`) replaces it, so its records are dropped."""
    return False


class _RequestDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request to arrive whole.

    uvicorn times out only idle keep-alive connections: a client that sends half a request
    line, or headers without their end, or half a body, holds its connection (and a slot of the
    server) forever; 300 such connections were still open after 40 s. Here a request must be
    complete `request_timeout` seconds after its first byte, or the connection is closed.
    """

    request_timeout: float = 15.0
    _deadline: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _receiving(self) -> bool:
        """A request has begun arriving and has not arrived whole."""
        theirs = self.conn.their_state
        if theirs is h11.SEND_BODY:
            return True
        return theirs is h11.IDLE and bool(self.conn.trailing_data[0])

    def _watch(self) -> None:
        if not self._receiving():
            self._stop()
        elif self._deadline is None:  # armed at the first byte, never pushed back by a trickle
            self._deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._receiving() and not self.transport.is_closing():
            self.transport.close()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: one handler stops every region."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Running:
    config: RegionConfig
    server: DotServer
    uvicorn: _Server
    sock: socket.socket


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets of that protocol,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DotSetupError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            "choose another --port (0 picks a free one), or stop the program using it",
        ) from exc
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def demo_passwords(
    data_dir: Path, env: Mapping[str, str], password_file: Path | None
) -> tuple[dict[str, str], Path | None]:
    """The demo users' passwords: from --demo-password-file, the environment, or a 0600 file
    generated on first start (returned as the second value, to tell the user where it is)."""
    from dot_setup.errors import FileAccessError
    from dot_setup.fs.fsio import private_dir, read_json, read_secret_file

    chosen = None
    if password_file is not None:
        try:
            chosen = read_secret_file(password_file, 64 * 1024, 60).decode("utf-8").strip()
        except (FileAccessError, UnicodeDecodeError) as exc:
            why = exc.message if isinstance(exc, FileAccessError) else "not UTF-8 text"
            raise UsageError(
                f"cannot read --demo-password-file {password_file}: {why}", "pass a readable file"
            ) from None
    elif env.get(PASSWORD_ENV):
        chosen = env[PASSWORD_ENV]
    if chosen is not None:
        if len(chosen) < 8:
            raise UsageError(
                "the demo password must have at least 8 characters",
                f"set {PASSWORD_ENV} or --demo-password-file",
            )
        return {u.email: chosen for u in DEMO_USERS}, None
    path = data_dir / "demo-users.json"
    stored = read_json(path)
    if isinstance(stored, dict) and all(isinstance(stored.get(u.email), str) for u in DEMO_USERS):
        return {u.email: stored[u.email] for u in DEMO_USERS}, path
    if os.path.lexists(path):
        raise UsageError(
            f"{path} does not hold the demo users' passwords",
            "delete it to have new ones generated, or pass --demo-password-file",
        )
    generated = {u.email: secrets.token_urlsafe(12) for u in DEMO_USERS}
    private_dir(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(generated, fh, indent=2)
    return generated, path


def prepare(
    configs: list[RegionConfig], passwords: Mapping[str, str], clock: Clock | None = None
) -> list[Running]:
    """Bind every socket first (so port 0 resolves), then build each region for its real port."""
    running: list[Running] = []
    try:
        for cfg in configs:
            sock = bind(cfg.host, cfg.port)
            cfg = replace(cfg, port=sock.getsockname()[1])
            dot = build(cfg, passwords, clock)
            protocol = type(
                "RequestDeadline", (_RequestDeadline,), {"request_timeout": cfg.limits.request}
            )
            uv = _Server(
                uvicorn.Config(
                    dot.app,
                    http=protocol,
                    log_level="warning",
                    access_log=False,
                    lifespan="on",
                    timeout_graceful_shutdown=3,
                    server_header=False,
                    date_header=False,  # set by the app, from the server's clock
                )
            )
            logging.getLogger("uvicorn.access").addFilter(_no_uvicorn_access_log)
            running.append(Running(cfg, dot, uv, sock))
    except BaseException:
        for r in running:
            r.sock.close()
        raise
    return running


async def serve(running: list[Running], on_ready: Any) -> None:
    loop = asyncio.get_running_loop()

    def stop(*_: Any) -> None:
        for r in running:
            r.uvicorn.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(r.uvicorn.serve(sockets=[r.sock])) for r in running]
    while not all(r.uvicorn.started for r in running):
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.02)
    else:
        on_ready(running)
    await asyncio.gather(*tasks, return_exceptions=True)
    for t in tasks:
        if t.exception() is not None:
            raise DotSetupError(f"the server stopped: {t.exception()}", "see the messages above")
    if not all(r.uvicorn.started for r in running):
        raise DotSetupError("the server did not start", "see the messages above")


def ready_document(running: list[Running]) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "regions": {
            r.config.region: {
                "origin": r.config.origin,
                "issuer": r.config.issuer,
                "mcp_url": r.config.mcp_url,
                "sse_url": r.config.sse_url,
                "port": r.config.port,
                "auth": r.config.auth,
                "database": r.server.state.db.safe_url,
            }
            for r in running
        },
    }


def write_ready_file(path: Path, running: list[Running]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(ready_document(running), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def configure_logging(quiet: bool) -> None:
    access = logging.getLogger("dot_setup.server.access")
    access.setLevel(logging.WARNING if quiet else logging.INFO)
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        access.addHandler(handler)
        access.propagate = False
