"""A small real MCP server protected by one static bearer token, for tests that drive real clients.

Built on the `mcp` 2.x SDK: `MCPServer` + a `TokenVerifier` that accepts exactly one token.

- Streamable HTTP at `/mcp` (stateless), legacy HTTP+SSE at `/sse` (+ `/messages/`).
- Tools: `echo(text)` and `add(a, b)`.
- Any request to `/mcp`, `/sse` or `/messages/` without that token gets
  `401` + `WWW-Authenticate: Bearer error="invalid_token"`. There is no OAuth metadata, so
  clients cannot start an OAuth flow: a wrong token is a plain failure.
- Optional `--log FILE`: one JSON line per HTTP request (method, path, auth none/good/bad,
  user agent, status), so a test can prove that a client really reached this server and
  which credential it sent.

Run it:

    python tests/servers/bearer_server.py --port 0 --token-file F [--log L]

It binds 127.0.0.1 only and prints the bound URL (`http://127.0.0.1:PORT/mcp`) as the first
line on stdout once it accepts connections. SIGTERM/SIGINT stop it cleanly.

Import it from tests:

    with BearerServer(token="T", log_dir=tmp) as srv:
        srv.url       # http://127.0.0.1:PORT/mcp
        srv.sse_url   # http://127.0.0.1:PORT/sse
        srv.requests()  # parsed request log
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SERVER_NAME = "dot-setup-test-bearer"
TOOLS = ("echo", "add")


# --------------------------------------------------------------------------------------------
# The server (runs in the child process)
# --------------------------------------------------------------------------------------------


def build_app(token: str, log_path: Path | None = None) -> Any:
    """The Starlette app: Streamable HTTP at /mcp and legacy SSE at /sse, both behind the token."""
    from mcp.server import MCPServer
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from starlette.applications import Starlette

    class StaticTokenVerifier:
        """Accepts exactly one token. Never raises."""

        async def verify_token(self, presented: str) -> AccessToken | None:
            if presented and hmac.compare_digest(presented.encode(), token.encode()):
                return AccessToken(
                    token=presented,
                    client_id="test-client",
                    scopes=[],
                    subject="test-user",
                    claims={"iss": "dot-setup-tests"},
                )
            return None

    # resource_server_url=None: no protected-resource metadata is published, so the 401 carries no
    # resource_metadata and clients have nothing to start OAuth with. issuer_url is required by the
    # model but unused without an authorization server provider.
    mcp = MCPServer(
        SERVER_NAME,
        token_verifier=StaticTokenVerifier(),
        log_level="WARNING",
        auth=AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),
    )

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    http_app = mcp.streamable_http_app(stateless_http=True)
    sse_app = mcp.sse_app()
    seen = {getattr(r, "path", None) for r in http_app.routes}
    routes = list(http_app.routes) + [
        r for r in sse_app.routes if getattr(r, "path", None) not in seen
    ]
    app = Starlette(
        routes=routes,
        middleware=list(http_app.user_middleware),
        lifespan=lambda _app: mcp.session_manager.run(),
    )
    if log_path is None:
        return app
    return _RequestLog(app, token, log_path)


class _RequestLog:
    """ASGI wrapper writing one JSON line per HTTP request."""

    def __init__(self, app: Any, token: str, path: Path) -> None:
        self.app = app
        self.token = token
        self.file = path.open("a", encoding="utf-8", buffering=1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        authz = headers.get("authorization", "")
        if not authz:
            auth = "none"
        elif authz == f"Bearer {self.token}":
            auth = "good"
        else:
            auth = "bad"
        status: dict[str, int] = {}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                self._write(scope, headers, auth, message["status"])
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _write(self, scope: Any, headers: dict[str, str], auth: str, code: int) -> None:
        record = {
            "t": round(time.time(), 3),
            "method": scope["method"],
            "path": scope["path"],
            "auth": auth,
            "ua": headers.get("user-agent", ""),
            "status": code,
        }
        self.file.write(json.dumps(record) + "\n")


async def _serve(token: str, port: int, log_path: Path | None) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(token, log_path),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        print(f"http://127.0.0.1:{bound}/mcp", flush=True)

    task = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        task.cancel()
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--token-file", type=Path, help="file holding the one accepted token")
    src.add_argument("--token-env", help="environment variable holding the one accepted token")
    parser.add_argument("--log", type=Path, help="append one JSON line per HTTP request here")
    args = parser.parse_args(argv)
    if args.token_file:
        token = args.token_file.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get(args.token_env, "").strip()
    if not token:
        parser.error("the token is empty")
    asyncio.run(_serve(token, args.port, args.log))
    return 0


# --------------------------------------------------------------------------------------------
# The test helper (runs in the test process)
# --------------------------------------------------------------------------------------------


class BearerServer:
    """Runs this file in a subprocess on 127.0.0.1 with a free port; a context manager.

    `start()` returns once the server accepts connections (first stdout line + a 401 probe).
    `stop()` sends SIGTERM, then SIGKILL after a grace period.
    """

    def __init__(
        self,
        token: str,
        workdir: Path,
        *,
        python: str = sys.executable,
        startup_timeout: float = 20.0,
    ) -> None:
        self.token = token
        self.workdir = Path(workdir)
        self.python = python
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log_path = self.workdir / "requests.jsonl"
        self.stderr_path = self.workdir / "server.stderr"
        self._stderr_file: Any = None

    @property
    def base_url(self) -> str:
        return self.url.rsplit("/mcp", 1)[0]

    @property
    def sse_url(self) -> str:
        return self.base_url + "/sse"

    def start(self) -> BearerServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        token_file = self.workdir / "token"
        token_file.write_text(self.token, encoding="utf-8")
        token_file.chmod(0o600)
        self._stderr_file = self.stderr_path.open("w", encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [
                self.python,
                str(Path(__file__).resolve()),
                "--port",
                "0",
                "--token-file",
                str(token_file),
                "--log",
                str(self.log_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            text=True,
            env=env,
            start_new_session=True,
        )
        line = self._read_first_line()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"bearer_server did not start: {line!r}; stderr: {self._stderr()}")
        self.url = line
        self._wait_ready()
        return self

    def _read_first_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(
            target=lambda: result.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(self.startup_timeout)
        if not result:
            self.stop()
            raise RuntimeError(
                f"bearer_server printed nothing in {self.startup_timeout} s; stderr: {self._stderr()}"
            )
        return result[0].strip()

    def _wait_ready(self) -> None:
        """Probe until /mcp answers 401 without a token (it is up and the auth is on)."""
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        deadline = time.monotonic() + self.startup_timeout
        last: object = None
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            try:
                conn.request(
                    "POST", parts.path, body="{}", headers={"Content-Type": "application/json"}
                )
                status = conn.getresponse().status
                if status == 401:
                    return
                last = status
            except OSError as exc:
                last = exc
            finally:
                conn.close()
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"bearer_server at {self.url} not ready: {last!r}; stderr: {self._stderr()}"
        )

    def _stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8")[-2000:]
        except OSError:
            return ""

    def requests(self) -> list[dict[str, Any]]:
        """The request log so far (one dict per HTTP request)."""
        try:
            text = self.log_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def mark(self) -> int:
        """Position in the request log; pass to `requests_since` to see only later requests."""
        return len(self.requests())

    def requests_since(self, mark: int) -> list[dict[str, Any]]:
        return self.requests()[mark:]

    def stop(self, grace: float = 5.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(5)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    def __enter__(self) -> BearerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
