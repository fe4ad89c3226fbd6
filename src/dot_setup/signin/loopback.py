"""The loopback redirect listener (RFC 8252 §7.3): one request on 127.0.0.1, then it closes.

It listens on an ephemeral port of 127.0.0.1 only (never 0.0.0.0), answers the browser with a
short page, and hands the query parameters to the waiting sign-in. Requests to other paths get
404 and do not end the wait (browsers ask for /favicon.ico).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dot_setup.errors import AuthError

PATH = "/callback"
_DONE = b"""<!doctype html><meta charset=utf-8><title>dot-setup</title>
<body style="font-family:sans-serif;margin:3em"><h1>%s</h1><p>%s</p></body>"""


@dataclass
class CallbackResult:
    params: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != PATH:
            self.send_error(404)
            return
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        ok = "code" in params
        title = b"Signed in" if ok else b"Sign-in did not complete"
        text = (
            b"You can close this tab and return to the terminal."
            if ok
            else b"Return to the terminal for details."
        )
        body = _DONE % (title, text)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        self.server.deliver(params)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the authorization code: never log it


class _Server(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.result: CallbackResult | None = None
        self.event = threading.Event()

    def deliver(self, params: dict[str, str]) -> None:
        if self.result is None:
            self.result = CallbackResult(params)
            self.event.set()


class LoopbackListener:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"

    def __enter__(self) -> LoopbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> CallbackResult:
        # Short waits, so Ctrl-C reaches the main thread at once.
        waited = 0.0
        while not self._server.event.wait(0.2):
            waited += 0.2
            if waited >= timeout:
                raise AuthError(
                    f"no answer from the browser within {int(timeout)} s",
                    "run the command again; or use --no-browser to sign in with a code",
                )
        assert self._server.result is not None
        return self._server.result
