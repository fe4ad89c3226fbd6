"""Run real MCP clients offline, each in a fresh fake HOME, and report what they think of a server.

The clients are the pinned npm packages that `install_clients.sh` puts in a cache outside the
repository (`$DOT_SETUP_CLIENTS_DIR`, default `~/.cache/dot-setup/test-clients`). The cache and the
CI flag are read from the REAL environment once, when this module is imported (tests/conftest.py
fakes HOME for every test afterwards).

Every client runs with:
- HOME, XDG_* and TMPDIR inside a per-test sandbox;
- update checks, telemetry and non-essential traffic switched off;
- HTTP(S)_PROXY pointing at a dead local port and NO_PROXY=127.0.0.1,localhost, so a client that
  tries to reach anything but the local test server fails fast instead of leaving the machine.

Checks (see shared/reference/real-clients-offline.md):

| client | command | states |
|---|---|---|
| Claude Code | `claude mcp get NAME` | connected / failed / needs-auth / pending / missing |
| Codex | `codex mcp list --json` (parser) + `codex app-server` `mcpServerStatus/list` (live) | connected / authenticationRequired / failed |
| Gemini CLI | `gemini mcp list` (trusted folder) | connected / disconnected / disabled / missing |
| opencode | `opencode mcp list --pure` | connected / needs-auth / failed / disabled / missing |
| Copilot CLI | `copilot mcp get NAME --json` (parser only) | present / missing |
| mcp-remote | the written stdio entry, run under the `mcp` SDK stdio client | tools listed / error |

Also runnable: `python clients.py stdio-probe ENTRY_JSON` (used by `run_stdio_entry`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# ---- resolved once from the real environment, before any test fixture runs -------------------
_REAL_HOME = os.environ.get("HOME") or str(Path.home())
CLIENTS_DIR = Path(
    os.environ.get("DOT_SETUP_CLIENTS_DIR")
    or Path(_REAL_HOME) / ".cache" / "dot-setup" / "test-clients"
).expanduser()
BIN_DIR = CLIENTS_DIR / "node_modules" / ".bin"
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
_REAL_PATH = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
STAMP_NAME = ".dot-setup-lock.sha256"
INSTALL_HINT = "run tests/realclients/install_clients.sh (it installs the pinned clients into $DOT_SETUP_CLIENTS_DIR)"

# A local port nothing listens on: the proxy every client is pointed at.
DEAD_PROXY = "http://127.0.0.1:9"
CLIENT_BINS = (
    "claude", "codex", "gemini", "opencode", "copilot", "mcp-remote",
    "kilo", "droid", "qwen", "qodercli", "auggie", "amp", "cn", "cline", "kimi",
)  # fmt: skip

# Per-check wall times, filled by every helper below; conftest.py prints them at the end.
TIMINGS: list[tuple[str, float]] = []


def lock_hash() -> str:
    """sha256 of package.json followed by package-lock.json (what install_clients.sh stamps)."""
    data = (HERE / "package.json").read_bytes() + (HERE / "package-lock.json").read_bytes()
    return hashlib.sha256(data).hexdigest()


def pinned_versions() -> dict[str, str]:
    return dict(json.loads((HERE / "package.json").read_text(encoding="utf-8"))["dependencies"])


def cache_problem() -> str | None:
    """None when the client cache holds exactly the pinned lock; otherwise what is wrong."""
    stamp = CLIENTS_DIR / STAMP_NAME
    if not stamp.is_file():
        return f"no pinned test clients in {CLIENTS_DIR}: {INSTALL_HINT}"
    # "latest": a maintainer's run on the newest published clients (install_clients.sh --latest).
    if stamp.read_text(encoding="utf-8").strip() not in (lock_hash(), "latest"):
        return f"the test clients in {CLIENTS_DIR} do not match tests/realclients/package-lock.json: {INSTALL_HINT}"
    missing = [b for b in CLIENT_BINS if not (BIN_DIR / b).exists()]
    if missing:
        return f"{', '.join(missing)} missing from {BIN_DIR}: {INSTALL_HINT}"
    return None


# Resolved once too: the cache state does not change during a session.
CACHE_PROBLEM = cache_problem()


def dot_setup_argv() -> list[str] | None:
    """How to run the dot-setup CLI of this checkout: the venv's script, else `python -m`.

    None when this interpreter does not import dot_setup from this checkout's src/ (not
    installed, or an installed copy that would test other code than the one under review).
    """
    probe = subprocess.run(
        [sys.executable, "-c", "import dot_setup.cli, dot_setup; print(dot_setup.__file__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return None
    if not Path(probe.stdout.strip()).resolve().is_relative_to(REPO / "src"):
        return None
    script = Path(sys.executable).parent / "dot-setup"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "dot_setup"]


# ---- running things ---------------------------------------------------------------------------


@dataclass
class Result:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        """Everything needed to understand a failure, for assertion messages."""
        return (
            f"$ {' '.join(self.argv)}\n(rc={self.rc}, {self.seconds:.2f} s)\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass
class Sandbox:
    """A fake user: HOME (with XDG dirs and TMPDIR inside) plus a project folder."""

    root: Path
    home: Path = field(init=False)
    project: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.home = self.root / "home"
        self.project = self.root / "project"
        for d in (self.home, self.project, self.home / "tmp", self.root / "state"):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def xdg_config(self) -> Path:
        return self.home / ".config"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A minimal offline environment: nothing inherited but PATH (and the clients' .bin)."""
        env = {
            "PATH": f"{BIN_DIR}{os.pathsep}{_REAL_PATH}",
            "HOME": str(self.home),
            "USER": "tester",
            "LOGNAME": "tester",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "TMPDIR": str(self.home / "tmp"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            # No update checks, telemetry or other traffic.
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "DO_NOT_TRACK": "1",
            "CI": "1",
            "NO_COLOR": "1",
            # Anything that honours a proxy and is not for 127.0.0.1/localhost goes nowhere.
            "HTTP_PROXY": DEAD_PROXY,
            "HTTPS_PROXY": DEAD_PROXY,
            "http_proxy": DEAD_PROXY,
            "https_proxy": DEAD_PROXY,
            "ALL_PROXY": DEAD_PROXY,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # npx/npm must never fetch: a package missing from the cache is an error.
            "npm_config_offline": "true",
            "npm_config_update_notifier": "false",
        }
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        label: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        input: str | None = None,
        timeout: float = 90,
    ) -> Result:
        return run(
            argv,
            label=label,
            env=self.env(env),
            cwd=cwd or self.project,
            input=input,
            timeout=timeout,
        )

    def write_json(self, path: Path, data: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def run(
    argv: Sequence[str],
    *,
    label: str,
    env: Mapping[str, str],
    cwd: Path,
    input: str | None = None,
    timeout: float = 90,
) -> Result:
    """Run a command in its own process group; kill the whole group on timeout."""
    argv = [str(a) for a in argv]
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=str(cwd),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        err += f"\n[clients.py] killed after {timeout} s"
    finally:
        _kill_group(proc)  # children left behind (e.g. MCP servers a client started)
    seconds = time.monotonic() - start
    TIMINGS.append((label, seconds))
    return Result(argv, proc.returncode, out, err, seconds)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def client_bin(name: str) -> str:
    return str(BIN_DIR / name)


# ---- status -----------------------------------------------------------------------------------


@dataclass
class Status:
    """What a client reports for one server.

    state: connected | failed | needs-auth | pending | disabled | missing | invalid | present | unknown
    """

    state: str
    detail: str = ""
    tools: list[str] = field(default_factory=list)
    entry: dict[str, Any] = field(default_factory=dict)
    raw: Result | None = None

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def describe(self) -> str:
        text = f"state={self.state} detail={self.detail!r} tools={self.tools}"
        if self.raw is not None:
            text += "\n" + self.raw.describe()
        return text


# Claude Code ---------------------------------------------------------------------------------


def claude_get(sb: Sandbox, name: str, *, env: Mapping[str, str] | None = None) -> Status:
    """`claude mcp get NAME`: rc 1 when the entry is missing or was skipped for a schema error."""
    res = sb.run([client_bin("claude"), "mcp", "get", name], label="claude mcp get", env=env)
    text = strip_ansi(res.output)
    if res.rc != 0:
        state = "missing" if "No MCP server named" in text else "invalid"
        return Status(state, text.strip().splitlines()[0] if text.strip() else "", raw=res)
    m = re.search(r"^\s*Status:\s*(.+)$", text, re.MULTILINE)
    status_text = m.group(1).strip() if m else ""
    lowered = status_text.lower()
    if "connected" in lowered and "failed" not in lowered:
        state = "connected"
    elif "failed" in lowered:
        state = "failed"
    elif "needs authentication" in lowered:
        state = "needs-auth"
    elif "pending" in lowered:
        state = "pending"
    else:
        state = "unknown"
    scope = re.search(r"^\s*Scope:\s*(.+)$", text, re.MULTILINE)
    return Status(
        state, f"{status_text} | scope: {scope.group(1).strip() if scope else '?'}", raw=res
    )


def claude_list(sb: Sandbox, *, env: Mapping[str, str] | None = None) -> Result:
    """`claude mcp list`: always rc 0; config problems are printed under 'MCP config diagnostics'."""
    return sb.run([client_bin("claude"), "mcp", "list"], label="claude mcp list", env=env)


def claude_approve_project_servers(sb: Sandbox, *names: str) -> None:
    """Record what Claude Code records when the user trusts the project and approves its servers.

    `~/.claude.json` `projects[<project>]` gets `hasTrustDialogAccepted` and
    `enabledMcpjsonServers`. Tested: this approves .mcp.json servers in 2.1.197 and 2.1.330.
    `<project>/.claude/settings.local.json` alone does not in 2.1.330 (it is read only in a
    trusted project) and in 2.1.197 only inside a git repository.
    """
    path = sb.home / ".claude.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    project = data.setdefault("projects", {}).setdefault(str(sb.project), {})
    project["hasTrustDialogAccepted"] = True
    enabled = project.setdefault("enabledMcpjsonServers", [])
    enabled.extend(n for n in names if n not in enabled)
    sb.write_json(path, data)


# Codex -----------------------------------------------------------------------------------------

CODEX_OFFLINE_ARGS = (
    "-c",
    'model_provider="dead"',
    "-c",
    f'model_providers.dead={{name="dead",base_url="{DEAD_PROXY}/v1",wire_api="responses"}}',
    "--disable",
    "plugins",
)


def codex_list(sb: Sandbox) -> tuple[Result, dict[str, dict[str, Any]]]:
    """`codex mcp list --json`: rc 1 on a TOML or schema error. Does not connect."""
    res = sb.run([client_bin("codex"), "mcp", "list", "--json"], label="codex mcp list --json")
    entries: dict[str, dict[str, Any]] = {}
    if res.rc == 0:
        with contextlib.suppress(json.JSONDecodeError):
            entries = {e["name"]: e for e in json.loads(res.stdout)}
    return res, entries


def codex_trust_project(sb: Sandbox) -> None:
    """Codex reads <project>/.codex/config.toml only for a project trusted in ~/.codex/config.toml."""
    cfg = sb.home / ".codex" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    old = cfg.read_text(encoding="utf-8") if cfg.exists() else ""
    key = json.dumps(str(sb.project))  # a TOML basic string
    block = f'\n[projects.{key}]\ntrust_level = "trusted"\n'
    cfg.write_text(old + block, encoding="utf-8")


def codex_status(
    sb: Sandbox,
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    call: tuple[str, dict[str, Any]] | None = None,
    timeout: float = 60,
) -> Status:
    """Live check through `codex app-server` (JSON-RPC over stdio), no login needed.

    initialize -> initialized -> thread/start {cwd: project, ephemeral} (loads the project config
    and starts the MCP servers) -> mcpServerStatus/list {detail: full, threadId}
    [-> mcpServer/tool/call]. The model provider points at a dead local URL and plugins are off,
    so nothing leaves the machine.
    """
    argv = [client_bin("codex"), "app-server", *CODEX_OFFLINE_ARGS]
    start = time.monotonic()
    stderr_path = sb.root / f"codex-app-server-{time.time_ns()}.stderr"
    stderr_file = stderr_path.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        env=sb.env(env),
        cwd=str(sb.project),
        start_new_session=True,
    )
    transcript: list[str] = []
    deadline = start + timeout
    lines: queue.Queue[str | None] = queue.Queue()
    assert proc.stdout is not None and proc.stdin is not None

    def pump(stream: Any) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()

    def send(msg: dict[str, Any]) -> None:
        line = json.dumps(msg)
        transcript.append(f">> {line}")
        proc.stdin.write(line + "\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    def wait_for(req_id: int) -> dict[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer to request {req_id} in {timeout} s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError("codex app-server closed its stdout")
            transcript.append(f"<< {line.strip()[:2000]}")
            with contextlib.suppress(json.JSONDecodeError):
                msg = json.loads(line)
                if msg.get("id") == req_id and ("result" in msg or "error" in msg):
                    return msg  # type: ignore[no-any-return]

    status = Status("unknown")
    try:
        send(
            {
                "id": 1,
                "method": "initialize",
                "params": {"clientInfo": {"name": "dot-setup-tests", "version": "0"}},
            }
        )
        wait_for(1)
        send({"method": "initialized"})
        send(
            {
                "id": 2,
                "method": "thread/start",
                "params": {"cwd": str(sb.project), "ephemeral": True},
            }
        )
        started = wait_for(2)
        if "error" in started:
            status = Status("invalid", json.dumps(started["error"]))
            return status
        thread_id = started["result"]["thread"]["id"]
        # The runtime status can still read "starting" (or null) for a moment after the handshake
        # has already succeeded or failed: ask again until it settles.
        req_id = 2
        while True:
            req_id += 1
            send(
                {
                    "id": req_id,
                    "method": "mcpServerStatus/list",
                    "params": {"detail": "full", "threadId": thread_id},
                }
            )
            listed = wait_for(req_id)
            if "error" in listed:
                status = Status("invalid", json.dumps(listed["error"]))
                return status
            servers = {s["name"]: s for s in listed["result"].get("data") or []}
            if name not in servers:
                status = Status("missing", f"servers: {sorted(servers)}")
                return status
            settled = servers[name].get("runtimeStatus") not in (None, "notStarted", "starting")
            if settled or time.monotonic() + 0.2 > deadline:
                break
            time.sleep(0.1)
        srv = servers[name]
        runtime = srv.get("runtimeStatus") or "unknown"
        state = {
            "connected": "connected",
            "authenticationRequired": "needs-auth",
            "failed": "failed",
        }.get(runtime, runtime)
        status = Status(
            state,
            f"runtime={runtime} auth={srv.get('authStatus')} toolsError={srv.get('toolsError')}",
            tools=sorted(srv.get("tools") or {}),
            entry=srv,
        )
        if call is not None and state == "connected":
            tool, arguments = call
            req_id += 1
            send(
                {
                    "id": req_id,
                    "method": "mcpServer/tool/call",
                    "params": {
                        "threadId": thread_id,
                        "server": name,
                        "tool": tool,
                        "arguments": arguments,
                    },
                }
            )
            status.entry = {**srv, "call": wait_for(req_id)}
        return status
    except (TimeoutError, EOFError, OSError, KeyError) as exc:
        status = Status("unknown", f"{type(exc).__name__}: {exc}")
        return status
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        _kill_group(proc)
        proc.wait()
        stderr_file.close()
        stderr = stderr_path.read_text(encoding="utf-8", errors="replace")[-5000:]
        seconds = time.monotonic() - start
        TIMINGS.append(("codex app-server status", seconds))
        status.raw = Result(argv, proc.returncode, "\n".join(transcript), stderr, seconds)


# Gemini CLI ------------------------------------------------------------------------------------


def gemini_trust_project(sb: Sandbox) -> None:
    """Gemini disables every MCP server in an untrusted folder, user-level ones too."""
    path = sb.home / ".gemini" / "trustedFolders.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[str(sb.project)] = "TRUST_FOLDER"
    sb.write_json(path, data)


_GEMINI_LINE = re.compile(
    r"^\s*\S+\s+(?P<name>[^\s:]+): (?P<url>.*?) - (?P<status>[A-Za-z ]+?)\s*$"
)


def gemini_status(sb: Sandbox, name: str, *, env: Mapping[str, str] | None = None) -> Status:
    """`gemini mcp list`: rc 0 whatever the status (52 on invalid JSON); one line per server."""
    res = sb.run([client_bin("gemini"), "mcp", "list"], label="gemini mcp list", env=env)
    text = strip_ansi(res.output)
    if res.rc != 0:
        return Status("invalid", text.strip()[-500:], raw=res)
    diagnostics = [
        ln.strip() for ln in text.splitlines() if "Invalid configuration" in ln or "Error in" in ln
    ]
    for line in text.splitlines():
        m = _GEMINI_LINE.match(line)
        if m and m.group("name") == name:
            word = m.group("status").strip().lower()
            state = {
                "connected": "connected",
                "disconnected": "failed",
                "disabled": "disabled",
            }.get(word, word)
            return Status(state, " | ".join([line.strip(), *diagnostics]), raw=res)
    return Status("missing", " | ".join(diagnostics), raw=res)


# opencode --------------------------------------------------------------------------------------

_OPENCODE_LINE = re.compile(
    r"^\S*\s+\S+\s+(?P<name>\S+)\s+(?P<status>connected|needs authentication|failed|disabled|needs client registration)\b(?P<rest>.*)$"
)


def opencode_status(sb: Sandbox, name: str, *, env: Mapping[str, str] | None = None) -> Status:
    """`opencode mcp list --pure`: rc 1 with the exact schema path when a config file is invalid."""
    res = sb.run(
        [client_bin("opencode"), "mcp", "list", "--pure"], label="opencode mcp list", env=env
    )
    text = strip_ansi(res.output)
    if res.rc != 0:
        return Status("invalid", text.strip()[-800:], raw=res)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _OPENCODE_LINE.match(line.strip())
        if m and m.group("name") == name:
            word = m.group("status")
            state = {"connected": "connected", "needs authentication": "needs-auth"}.get(word, word)
            follow = " ".join(
                ln.strip("│ ").strip() for ln in lines[i + 1 : i + 3] if ln.strip("│ ").strip()
            )
            return Status(state, f"{line.strip()} {follow}".strip(), raw=res)
    return Status("missing", "", raw=res)


# Copilot CLI -----------------------------------------------------------------------------------


def copilot_get(sb: Sandbox, name: str) -> Status:
    """`copilot mcp get NAME --json`: parser check only (no offline live check exists).

    Copilot drops entries it cannot parse without a word; `get` exits 1 for them.
    """
    res = sb.run([client_bin("copilot"), "mcp", "get", name, "--json"], label="copilot mcp get")
    if res.rc != 0:
        return Status("missing", strip_ansi(res.output).strip()[:500], raw=res)
    try:
        data = json.loads(res.stdout)
    except json.JSONDecodeError as exc:
        return Status("unknown", f"not JSON: {exc}", raw=res)
    return Status("present", "", entry=data.get(name, data), raw=res)


# mcp-remote / stdio entries --------------------------------------------------------------------


def stdio_entry_process(sb: Sandbox, entry: Mapping[str, Any]) -> dict[str, Any]:
    """How to run a written stdio entry {command, args, env} exactly as a desktop client would.

    `npx` runs from the client cache with npm offline, so `npx -y mcp-remote@X.Y.Z` resolves to the
    cached package and fails (instead of downloading) when the pinned version is not there.
    """
    command = str(entry["command"])
    args = [str(a) for a in entry.get("args", [])]
    env = sb.env({str(k): str(v) for k, v in (entry.get("env") or {}).items()})
    cwd = CLIENTS_DIR if Path(command).name in ("npx", "npx.cmd") else sb.home
    return {"command": command, "args": args, "env": env, "cwd": str(cwd)}


def run_stdio_entry(
    sb: Sandbox,
    entry: Mapping[str, Any],
    *,
    call: tuple[str, dict[str, Any]] | None = None,
    timeout: float = 60,
) -> Status:
    """Start the entry under the `mcp` SDK stdio client (in a child Python), list tools, maybe call one."""
    spec = stdio_entry_process(sb, entry)
    if call is not None:
        spec["call"] = {"tool": call[0], "arguments": call[1]}
    spec["errlog"] = str(sb.root / "stdio-server.stderr")
    res = run(
        [sys.executable, str(Path(__file__).resolve()), "stdio-probe", json.dumps(spec)],
        label="mcp-remote (stdio) tools/list",
        env=sb.env(
            {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else None
        ),
        cwd=sb.root,
        timeout=timeout,
    )
    server_err = (
        Path(spec["errlog"]).read_text(encoding="utf-8", errors="replace")
        if Path(spec["errlog"]).exists()
        else ""
    )
    res.stderr += f"\n--- server (stdio entry) stderr, last 3000 chars ---\n{server_err[-3000:]}"
    report: dict[str, Any] = {}
    for line in res.stdout.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            report = json.loads(line)
    if res.rc == 0 and report.get("ok"):
        return Status(
            "connected",
            report.get("server", ""),
            tools=report.get("tools", []),
            entry=report,
            raw=res,
        )
    return Status("failed", report.get("error", "") or f"rc={res.rc}", entry=report, raw=res)


def _stdio_probe(spec: dict[str, Any]) -> int:
    """Child side of run_stdio_entry: prints one JSON line."""
    import anyio
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=spec["command"], args=spec["args"], env=spec["env"], cwd=spec["cwd"]
    )
    out: dict[str, Any] = {"ok": False}

    async def main() -> None:
        with Path(spec["errlog"]).open("w", encoding="utf-8") as errlog, anyio.fail_after(45):
            async with Client(stdio_client(params, errlog=errlog)) as client:
                out["server"] = client.server_info.name if client.server_info else ""
                out["protocol"] = client.protocol_version
                out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
                if "call" in spec:
                    result = await client.call_tool(spec["call"]["tool"], spec["call"]["arguments"])
                    out["call"] = [getattr(c, "text", repr(c)) for c in result.content]
                    out["call_is_error"] = result.is_error
        out["ok"] = True

    try:
        anyio.run(main)
    except BaseException as exc:  # an ExceptionGroup from the transport: report its leaves
        out["error"] = _leaf_errors(exc)
        print(json.dumps(out), flush=True)
        return 1
    print(json.dumps(out), flush=True)
    return 0


def _leaf_errors(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_leaf_errors(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


# dot-setup -------------------------------------------------------------------------------------


def dot_setup_install(
    sb: Sandbox,
    client: str,
    url: str,
    *,
    token: str | None = None,
    token_ref: str | None = None,
    scope: str | None = None,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Result:
    """`dot-setup install --client ID --server-url URL --auth token ... --yes` as the user would run it.

    The token goes on stdin (`--token-stdin`); with `token_ref` (`env:NAME`) no token is given.
    HOME is the sandbox's, DOT_SETUP_STATE_DIR is inside the sandbox, cwd is the project.
    """
    argv = dot_setup_argv()
    if argv is None:
        raise RuntimeError("the dot-setup CLI is not installed in this venv (pip install -e .)")
    argv = [*argv, "install", "--client", client, "--server-url", url, "--auth", "token", "--yes"]
    if token is not None:
        argv.append("--token-stdin")
    if token_ref is not None:
        argv += ["--token-ref", token_ref]
    if scope is not None:
        argv += ["--scope", scope]
    if name is not None:
        argv += ["--name", name]
    argv += list(extra_args)
    run_env = {"DOT_SETUP_STATE_DIR": str(sb.state_dir), **(env or {})}
    if "PYTHONPATH" in os.environ:
        run_env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return sb.run(
        argv,
        label=f"dot-setup install ({client})",
        env=run_env,
        input=(token + "\n") if token is not None else None,
        timeout=60,
    )


def claude_desktop_config_path(sb: Sandbox) -> Path:
    """Claude Desktop on Linux: $XDG_CONFIG_HOME/Claude/claude_desktop_config.json."""
    return sb.xdg_config / "Claude" / "claude_desktop_config.json"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "stdio-probe":
        sys.exit(_stdio_probe(json.loads(sys.argv[2])))
    print(f"usage: {sys.argv[0]} stdio-probe SPEC_JSON", file=sys.stderr)
    sys.exit(2)


# ---- shared by the real-client test modules ----------------------------------------------------

WRONG_TOKEN = "dot_mcp_test_this-token-is-wrong"


def require_profile(client_id: str) -> None:
    """The suite checks these client ids; in CI a missing profile fails instead of skipping."""
    import pytest  # only in tests: this module also runs as a script (stdio-probe)

    if not (REPO / "client_profiles" / f"{client_id}.toml").is_file():
        reason = f"dot-setup has no client profile {client_id!r}"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def token_for(which: str, good_token: str) -> str:
    return good_token if which == "good" else WRONG_TOKEN


def assert_server_saw(server: Any, mark: int, which: str) -> None:
    """The program really talked to the server, with the credential we expect."""
    seen = server.requests_since(mark)
    auths = {r["auth"] for r in seen}
    summary = [(r["method"], r["path"], r["auth"], r["status"], r["ua"]) for r in seen]
    if which == "good":
        assert "good" in auths, f"the server never received the good token: {summary}"
        assert "bad" not in auths, f"the server received a wrong token too: {summary}"
    else:
        assert "bad" in auths, f"the server never received the (wrong) token: {summary}"
        assert "good" not in auths, f"the server received the good token: {summary}"
