"""Run the real MCP clients from PyPI (Mistral Vibe, fast-agent, gptme, mcp-cli) offline.

The programs are the pinned packages that `install_py_clients.sh` puts, one venv each, in a cache
outside the repository (`$DOT_SETUP_PY_CLIENTS_DIR`, default `~/.cache/dot-setup/test-clients-py`),
from `py-clients.txt` and `py-constraints/<program>.txt`. The cache is resolved from the REAL
environment once, when this module is imported (tests/conftest.py fakes HOME for each test).

Every program runs through `clients.Sandbox` (fake HOME, XDG dirs and TMPDIR in the test's tmp
dir, the dead proxy, telemetry and update checks off) with its venv's bin first on PATH.

| program | check | connected | not connected |
|---|---|---|---|
| Mistral Vibe | one `vibe -p` turn against `ScriptedModel` | the model is offered the `mcp_NAME` connector and a tool call through it returns the result | no `mcp_NAME` connector; vibe.log "rejected" |
| fast-agent | `fast-agent go --servers NAME --model passthrough -m '***CALL_TOOL ...'` (no model) | the tool result is printed, rc 0 | rc 1 |
| gptme | `gptme-util mcp test NAME` | "Connected successfully" + tools, rc 0 | "Connection failed", rc 1 |
| mcp-cli | `mcp-cli tools --server NAME` | the tool table, "Total tools available: N" | "No tools available" (rc 0) |
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import clients
from clients import Result, Sandbox
from fake_model import JsonHandler, send_completion

HERE = Path(__file__).resolve().parent
PINS_FILE = HERE / "py-clients.txt"
CONSTRAINTS_DIR = HERE / "py-constraints"
STAMP_NAME = ".dot-setup-py-lock.sha256"
PIN_STAMP_NAME = ".dot-setup-pin.sha256"
INSTALL_HINT = (
    "run tests/realclients/install_py_clients.sh (it installs the pinned PyPI clients into "
    "$DOT_SETUP_PY_CLIENTS_DIR)"
)

# ---- resolved once from the real environment ----------------------------------------------------
PY_CLIENTS_DIR = Path(
    os.environ.get("DOT_SETUP_PY_CLIENTS_DIR")
    or Path(clients._REAL_HOME) / ".cache" / "dot-setup" / "test-clients-py"
).expanduser()


@dataclass(frozen=True)
class Pin:
    program: str  # the venv folder and the constraints file's name
    package: str
    version: str
    commands: tuple[str, ...]


def pins() -> dict[str, Pin]:
    """py-clients.txt: `program package==version command...` per line."""
    out: dict[str, Pin] = {}
    for line in PINS_FILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        program, spec, *commands = words
        package, version = spec.split("==", 1)
        out[program] = Pin(program, package, version, tuple(commands))
    return out


PINS = pins()


def lock_hash() -> str:
    """sha256 of py-clients.txt followed by each program's constraints (what the script stamps)."""
    data = PINS_FILE.read_bytes()
    for program in PINS:
        data += (CONSTRAINTS_DIR / f"{program}.txt").read_bytes()
    return hashlib.sha256(data).hexdigest()


def bin_path(program: str, command: str) -> Path:
    return PY_CLIENTS_DIR / program / "bin" / command


def cache_problem() -> str | None:
    """None when the cache holds exactly the pinned set; otherwise what is wrong."""
    stamp = PY_CLIENTS_DIR / STAMP_NAME
    if not stamp.is_file():
        return f"no pinned PyPI test clients in {PY_CLIENTS_DIR}: {INSTALL_HINT}"
    # "latest": a maintainer's run on the newest published programs (install_py_clients.sh --latest).
    if stamp.read_text(encoding="utf-8").strip() not in (lock_hash(), "latest"):
        return (
            f"the PyPI test clients in {PY_CLIENTS_DIR} do not match tests/realclients/"
            f"py-clients.txt and py-constraints/: {INSTALL_HINT}"
        )
    missing = [
        f"{p.program}/bin/{c}"
        for p in PINS.values()
        for c in p.commands
        if not bin_path(p.program, c).exists()
    ]
    if missing:
        return f"{', '.join(missing)} missing from {PY_CLIENTS_DIR}: {INSTALL_HINT}"
    return None


CACHE_PROBLEM = cache_problem()


# ---- running -------------------------------------------------------------------------------------


def mask(text: str, *secrets: str) -> str:
    """Output for an assertion message, with each secret cut to its first 13 characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, secret[:13] + "…")
    return text


def run(
    sb: Sandbox,
    program: str,
    command: str,
    args: Sequence[str],
    *,
    label: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run one of the pinned programs in the sandbox, its venv's bin first on PATH."""
    venv_bin = PY_CLIENTS_DIR / program / "bin"
    run_env = {"PATH": f"{venv_bin}{os.pathsep}{clients._REAL_PATH}", **(env or {})}
    return sb.run(
        [str(bin_path(program, command)), *args], label=label, env=run_env, timeout=timeout
    )


def bearer_server(token: str, workdir: Path) -> Any:
    """tests/servers/bearer_server.py's BearerServer (a context manager): a real MCP server on
    127.0.0.1 that accepts only `token` and logs every request."""
    servers = str(HERE.parent / "servers")
    if servers not in sys.path:
        sys.path.insert(0, servers)
    return importlib.import_module("bearer_server").BearerServer(token, workdir)


# ---- a scripted fake model (Mistral Vibe) ------------------------------------------------------------


class _Handler(JsonHandler):
    server: _ModelServer

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/").endswith("/models"):
            model = {"id": "fake-model", "object": "model", "created": 0, "owned_by": "test"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        raw = self._read_json()
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if not self.path.split("?", 1)[0].rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found"}})
            return
        call, text = self.server.decide(body)
        send_completion(
            self, str(body.get("model") or "fake-model"), bool(body.get("stream")), text, call
        )


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", p)) if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


class _ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.log: list[dict[str, Any]] = []
        self.steps: list[tuple[str, dict[str, Any]]] = []
        self.require = ""

    def decide(self, body: dict[str, Any]) -> tuple[tuple[str, dict[str, Any]] | None, str]:
        """The next scripted tool call, or the final text.

        The script runs only when `require` appears in the system prompt (the program offered
        the model what the script needs); step i is answered once i tool results came back.
        After the last step the text quotes the last tool result.
        """
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
        results = [_text(m.get("content")) for m in messages if m.get("role") == "tool"]
        with self.lock:
            steps, require = list(self.steps), self.require
            self.log.append(
                {
                    "model": body.get("model"),
                    "stream": bool(body.get("stream")),
                    "tools": [
                        (t.get("function") or {}).get("name")
                        for t in body.get("tools") or []
                        if isinstance(t, dict)
                    ],
                    "system": system,
                    "tool_results": results,
                }
            )
        if steps and require in system and len(results) < len(steps):
            return steps[len(results)], ""
        if results:
            return None, f"FAKE-MODEL-OK tool said: {results[-1]}"
        return None, "FAKE-MODEL-OK"


class ScriptedModel:
    """An OpenAI-compatible model on 127.0.0.1 (a thread of the test process) that follows a
    script of tool calls and records what each request offered: its tool names and system prompt.
    """

    def __init__(self) -> None:
        self._server = _ModelServer()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="scripted-model", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, steps: Sequence[tuple[str, dict[str, Any]]], *, require: str) -> None:
        with self._server.lock:
            self._server.steps = list(steps)
            self._server.require = require

    def requests(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return [dict(r) for r in self._server.log]

    def __enter__(self) -> ScriptedModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# ---- Mistral Vibe ------------------------------------------------------------------------------------


def vibe_settings(model_url: str) -> str:
    """A Vibe user's own ~/.vibe/config.toml: a generic OpenAI-compatible provider and model,
    with telemetry, update checks and notifications off."""
    return (
        'active_model = "fake"\n'
        "enable_telemetry = false\n"
        "enable_update_checks = false\n"
        "enable_notifications = false\n\n"
        "[[providers]]\n"
        'name = "fakeoai"\n'
        f'api_base = "{model_url}"\n'
        'api_key_env_var = "FAKE_API_KEY"\n'
        'backend = "generic"\n\n'
        "[[models]]\n"
        'name = "fake-model"\n'
        'provider = "fakeoai"\n'
        'alias = "fake"\n'
    )


def vibe_add_script(name: str) -> list[tuple[str, dict[str, Any]]]:
    """What a model does to use an MCP tool in Vibe: find the connector's functions, then call
    `add` through Vibe's run_typescript (MCP tools are not in the tools array, only connectors)."""
    connector = f"mcp_{name}"
    call = f"tools.{connector}.add({{a: 2, b: 3}})"
    return [
        (
            "search_tool_functions",
            {"mode": "all_connector_capabilities", "connectors": [connector]},
        ),
        (
            "run_typescript",
            {"code": f"async function main() {{ return await {call}; }}"},
        ),
    ]


@dataclass
class VibeTurn:
    result: Result
    offered_connector: bool  # the system prompt listed mcp_NAME
    log: str  # the MCP lines of ~/.vibe/logs/vibe.log

    def describe(self, *secrets: str) -> str:
        return mask(
            f"{self.result.describe()}\n--- vibe.log (MCP lines) ---\n{self.log}\n"
            f"offered mcp connector: {self.offered_connector}",
            *secrets,
        )


def vibe_turn(
    sb: Sandbox, model: ScriptedModel, name: str, *, env: Mapping[str, str] | None = None
) -> VibeTurn:
    """One headless `vibe -p` turn; the model calls `add` through mcp_NAME when it is offered."""
    model.script(vibe_add_script(name), require=f"- mcp_{name}")
    before = len(model.requests())
    res = run(
        sb,
        "vibe",
        "vibe",
        ["-p", "Add 2 and 3 with the dot tools.", "--output", "text", "--auto-approve"],
        label="vibe -p (one turn)",
        env={"FAKE_API_KEY": "dummy", "LOG_LEVEL": "DEBUG", **(env or {})},
    )
    turns = model.requests()[before:]
    offered = any(f"- mcp_{name}" in t["system"] for t in turns)
    log_file = sb.home / ".vibe" / "logs" / "vibe.log"
    log = ""
    if log_file.is_file():
        lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        log = "\n".join(ln[:400] for ln in lines if "MCP" in ln)[-4000:]
    return VibeTurn(res, offered, log)


# ---- fast-agent ----------------------------------------------------------------------------------


# No update check; the built-in passthrough model (no LLM); quiet.
FAST_AGENT_GO = ("--no-update-check", "go", "--model", "passthrough", "-q")


def fast_agent_call(
    sb: Sandbox,
    name: str,
    tool: str,
    arguments: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
) -> Result:
    """`fast-agent go --servers NAME --model passthrough` in the project: the built-in passthrough
    model turns `***CALL_TOOL NAME__TOOL {json}` into that tool call and prints the result."""
    message = f"***CALL_TOOL {name}__{tool} {json.dumps(dict(arguments))}"
    return run(
        sb,
        "fast-agent",
        "fast-agent",
        [*FAST_AGENT_GO, "--servers", name, "-m", message],
        label="fast-agent go (passthrough tool call)",
        env=env,
    )


# ---- gptme -----------------------------------------------------------------------------------------


def gptme_first_run(sb: Sandbox) -> Path:
    """Let gptme create its own ~/.config/gptme/config.toml, as its first run does."""
    res = run(sb, "gptme", "gptme-util", ["mcp", "list"], label="gptme-util mcp list")
    path = sb.home / ".config" / "gptme" / "config.toml"
    assert path.is_file(), f"gptme did not create {path}\n{res.describe()}"
    return path


def gptme_test(sb: Sandbox, name: str) -> Result:
    """`gptme-util mcp test NAME`: connects and lists the tools; rc 1 when it cannot."""
    return run(sb, "gptme", "gptme-util", ["mcp", "test", name], label="gptme-util mcp test")


def gptme_list(sb: Sandbox) -> Result:
    return run(sb, "gptme", "gptme-util", ["mcp", "list"], label="gptme-util mcp list")


# ---- mcp-cli ---------------------------------------------------------------------------------------


def mcp_cli_tools(sb: Sandbox, name: str) -> Result:
    """`mcp-cli tools --server NAME` in the project (it reads ./server_config.json): the tool
    table, or "No tools available" when it could not connect (rc 0 either way)."""
    return run(sb, "mcp-cli", "mcp-cli", ["tools", "--server", name], label="mcp-cli tools")
