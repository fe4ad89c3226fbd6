"""A fake OpenAI-compatible model on 127.0.0.1 that records which tools each request offers.

Some MCP clients (Continue's `cn`, the Cline CLI, Kimi Code) connect to their MCP servers only
while they run an agent turn, and hand the servers' tools to the model in that turn's request.
This server stands in for the model so a test can run one headless turn offline and ask "did the
program get the dot server's tools?": every request's `tools` names are recorded.

- `GET  .../models`                 one model, `fake-model` (plus the id asked for, if any)
- `POST .../chat/completions`       `stream` false: one JSON completion; true: SSE chunks ending
                                    with `data: [DONE]`. The answer is always the text REPLY.
- anything else                     404 (recorded too)

Only the request's shape is kept (path, model, stream, roles, tool names, user agent): no
header values, so no key or token from a client ends up in a test's output.

Use it from tests:

    with FakeModel() as model:
        model.base_url        # http://127.0.0.1:PORT/v1
        mark = model.mark()
        ... run the program ...
        model.tools_since(mark)   # {"dot__echo", "dot__add", "read_file", ...}

or by hand: `python fake_model.py --port 8790` (prints one JSON line per request).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "FAKE-MODEL-OK"
MODEL_ID = "fake-model"


def tool_names(tools: Any) -> list[str]:
    """The names in an OpenAI `tools` array (`{"type": "function", "function": {"name": ...}}`)."""
    names = []
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            fn = tool.get("function")
            name = fn.get("name") if isinstance(fn, dict) else tool.get("name")
            if isinstance(name, str):
                names.append(name)
    return names


class JsonHandler(BaseHTTPRequestHandler):
    """Quiet HTTP/1.1 handler that reads and writes JSON bodies (shared with pyclients.py)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}


class _Handler(JsonHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        self.server.record({"method": "GET", "path": self.path, "ua": self._ua()})
        if path.endswith("/models"):
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "test"}],
                },
            )
        elif "/models/" in path:
            model = path.rsplit("/", 1)[1]
            self._send_json(200, {"id": model, "object": "model", "created": 0, "owned_by": "test"})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        raw = self._read_json()
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        messages = body.get("messages")
        stream = bool(body.get("stream"))
        entry = {
            "method": "POST",
            "path": self.path,
            "ua": self._ua(),
            "model": body.get("model"),
            "stream": stream,
            "roles": [m.get("role") for m in messages or [] if isinstance(m, dict)]
            if isinstance(messages, list)
            else [],
            "tools": tool_names(body.get("tools")),
        }
        self.server.record(entry)
        if not self.path.split("?", 1)[0].rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found"}})
            return
        send_completion(self, str(body.get("model") or MODEL_ID), stream, self.server.reply)

    def _ua(self) -> str:
        return self.headers.get("User-Agent", "")[:80]


def send_completion(
    handler: BaseHTTPRequestHandler,
    model: str,
    stream: bool,
    text: str,
    call: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Answer one chat completion: the text, or one call of tool `call[0]` with arguments
    `call[1]`; as one JSON body or, with `stream`, as SSE chunks ending with `data: [DONE]`."""
    cid = "chatcmpl-" + uuid.uuid4().hex[:12]
    created = int(time.time())
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    tool_call = None
    if call is not None:
        tool_call = {
            "id": "call_" + uuid.uuid4().hex[:8],
            "type": "function",
            "function": {"name": call[0], "arguments": json.dumps(call[1])},
        }
    finish = "tool_calls" if tool_call else "stop"
    head = {"id": cid, "created": created, "model": model}
    if not stream:
        message: dict[str, Any] = {"role": "assistant", "content": None if tool_call else text}
        if tool_call:
            message["tool_calls"] = [tool_call]
        choice = {"index": 0, "message": message, "finish_reason": finish}
        data = json.dumps(
            {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
        )
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data.encode())))
        handler.end_headers()
        handler.wfile.write(data.encode())
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-cache")
    handler.send_header("Connection", "close")
    handler.end_headers()

    def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> None:
        choices = [{"index": 0, "delta": delta, "finish_reason": reason}]
        event = {**head, "object": "chat.completion.chunk", "choices": choices, **extra}
        handler.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")

    chunk({"role": "assistant", "content": ""})
    chunk({"tool_calls": [{"index": 0, **tool_call}]} if tool_call else {"content": text})
    chunk({}, finish, usage=usage)
    handler.wfile.write(b"data: [DONE]\n\n")
    handler.wfile.flush()
    handler.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, reply: str, echo: bool = False) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.reply = reply
        self.echo = echo
        self.lock = threading.Lock()
        self.log: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        entry["t"] = time.time()
        with self.lock:
            self.log.append(entry)
        if self.echo:
            print(json.dumps(entry), flush=True)


class FakeModel:
    """The server, run on a thread of the test process (see the module doc)."""

    def __init__(self, reply: str = REPLY, port: int = 0) -> None:
        self._server = _Server(port, reply)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-model", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What a client takes as its OpenAI base URL (`.../v1`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def reply(self) -> str:
        return self._server.reply

    def start(self) -> FakeModel:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return [dict(e) for e in self._server.log]

    def mark(self) -> int:
        """Position in the request log; pass to `*_since` to see only later requests."""
        return len(self.requests())

    def requests_since(self, mark: int) -> list[dict[str, Any]]:
        return self.requests()[mark:]

    def completions_since(self, mark: int) -> list[dict[str, Any]]:
        """The chat-completion requests (the model turns) made since `mark`."""
        return [
            r
            for r in self.requests_since(mark)
            if r["method"] == "POST" and r["path"].split("?", 1)[0].endswith("/chat/completions")
        ]

    def tools_since(self, mark: int) -> set[str]:
        """Every tool name offered to the model since `mark`."""
        return {name for r in self.completions_since(mark) for name in r["tools"]}

    def summary_since(self, mark: int) -> list[tuple[str, str, int, str]]:
        """(method, path, number of tools, user agent) per request: for assertion messages."""
        return [
            (r["method"], r["path"], len(r.get("tools", [])), r["ua"])
            for r in self.requests_since(mark)
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--reply", default=REPLY)
    args = parser.parse_args(argv)
    server = _Server(args.port, args.reply, echo=True)
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
