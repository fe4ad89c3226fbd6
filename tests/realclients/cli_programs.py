"""Six npm client CLIs, each asked offline what it thinks of its configured MCP servers.

Used by test_cli_programs.py. Every program runs through `Sandbox.run` (fake HOME, dead proxy,
update/telemetry switches of clients.py) plus its own switches below, found in the research
reports and in each program's bundle:

| program | command | states (the program's words) | connects? |
|---|---|---|---|
| Kilo Code CLI `kilo` | `kilo mcp list --pure` | connected / needs authentication / failed / disabled | yes |
| Factory `droid` | `droid mcp list` | connected / needs authentication / failed: ... | yes |
| Qwen Code `qwen` | `qwen mcp list` | Connected / Disconnected / Pending approval | yes |
| Qoder CLI `qodercli` | `qodercli mcp list` | Connected / Needs authentication / Disconnected | yes |
| Auggie `auggie` | `auggie tools list` (dummy session) | `<tool>_<server>` listed / `MCP server startup error` | yes |
| Amp `amp` | `amp mcp doctor` (dummy API key) | connected (N tools: ...) / error - ... / awaiting approval | yes |

Every one of them exits 0 whatever the server's state, so the parsers read the program's own
words (and the tests check the bearer server's request log).

The Node-based ones (qwen, qodercli, auggie) also get offline_guard.cjs preloaded: it refuses
any connection that is not to 127.0.0.1/localhost. Qoder CLI exports telemetry and Auggie
downloads ripgrep over connections that ignore the proxy variables and have no switch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import clients
from clients import Result, Sandbox, Status, client_bin, strip_ansi

from dot_setup.secrets import mask

HERE = Path(__file__).resolve().parent
GUARD = HERE / "offline_guard.cjs"
TIMEOUT = 60  # seconds per program run; each takes 1-10 s here

# Kilo (an opencode fork, Bun): opencode's switches renamed KILO_*; with them Kilo made no DNS
# lookup and no outside connection (npm research §2).
KILO_ENV = {
    "KILO_DISABLE_AUTOUPDATE": "1",
    "KILO_DISABLE_MODELS_FETCH": "1",
    "KILO_DISABLE_DEFAULT_PLUGINS": "1",
    "KILO_DISABLE_LSP_DOWNLOAD": "1",
    "KILO_TELEMETRY_LEVEL": "off",
    "KILO_DISABLE_SHARE": "1",
    "KILO_NO_DAEMON": "1",
}
# Droid (Bun): without FACTORY_AIRGAP_ENABLED every command calls its vendor's API and telemetry.
DROID_ENV = {
    "FACTORY_AIRGAP_ENABLED": "1",
    "FACTORY_DROID_AUTO_UPDATE_ENABLED": "false",
    "FACTORY_DISABLE_KEYRING": "1",
}
QWEN_ENV = {"QWEN_USAGE_STATISTICS_ENABLED": "false"}
QODER_ENV: dict[str, str] = {}  # no switch stops its telemetry: offline_guard.cjs does
# Auggie connects MCP servers in `tools list` only with a session; a dummy one whose tenant is a
# local port works offline (its backend calls fail at once: "fetch failed (bad port)").
AUGGIE_ENV = {
    "AUGMENT_DISABLE_AUTO_UPDATE": "1",
    "AUGMENT_SESSION_AUTH": json.dumps(
        {"accessToken": "dummy-offline", "tenantURL": "http://127.0.0.1:1/", "scopes": ["email"]}
    ),
}
# Amp (Bun): `mcp doctor` starts a browser login without an API key; any dummy key skips it.
# AMP_URL at the dead proxy port keeps its account calls on this machine.
AMP_ENV = {"AMP_API_KEY": "sgamp_dummy_offline", "AMP_URL": f"{clients.DEAD_PROXY}/"}


def masked(text: str, *tokens: str) -> str:
    """Text for an assertion message: every token cut to its prefix and last 4 characters."""
    for token in tokens:
        if token:
            text = text.replace(token, mask(token))
    return text


def guard_env(sb: Sandbox) -> dict[str, str]:
    """Preload offline_guard.cjs into a Node program; refused hosts go to a log in the sandbox."""
    return {
        "NODE_OPTIONS": f"--require={GUARD}",
        "DOT_OFFLINE_GUARD_LOG": str(sb.root / "offline-guard.log"),
    }


def refused_hosts(sb: Sandbox) -> list[str]:
    """The hosts offline_guard.cjs refused so far in this sandbox (for failure messages)."""
    log = sb.root / "offline-guard.log"
    if not log.exists():
        return []
    return sorted({line.split(" ", 1)[-1] for line in log.read_text("utf-8").splitlines()})


def _run(
    sb: Sandbox,
    argv: list[str],
    label: str,
    base: Mapping[str, str],
    env: Mapping[str, str] | None,
) -> Result:
    return sb.run(argv, label=label, env={**base, **(env or {})}, timeout=TIMEOUT)


# Kilo Code CLI -----------------------------------------------------------------------------------

_KILO_LINE = re.compile(
    r"^\S*\s+\S+\s+(?P<name>\S+)\s+"
    r"(?P<status>connected|needs authentication|needs client registration|failed|disabled)\b"
)


def kilo_status(sb: Sandbox, name: str, env: Mapping[str, str] | None = None) -> Status:
    """`kilo mcp list --pure`: rc 1 (with the schema path) only when a config file is invalid.

    Lines: `●  ✓ dot connected` then `│      <url>`; `⚠ dot needs authentication` after a 401
    (Kilo then tries OAuth discovery); `✗ dot failed` then the error.
    """
    res = _run(sb, [client_bin("kilo"), "mcp", "list", "--pure"], "kilo mcp list", KILO_ENV, env)
    text = strip_ansi(res.output)
    if res.rc != 0:
        return Status("invalid", text.strip()[-800:], raw=res)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _KILO_LINE.match(line.strip())
        if m and m.group("name") == name:
            word = m.group("status")
            state = {"connected": "connected", "needs authentication": "needs-auth"}.get(word, word)
            follow = [ln.strip("│ ").strip() for ln in lines[i + 1 : i + 3]]
            follow = [ln for ln in follow if ln]
            url = follow[0] if follow and follow[0].startswith("http") else ""
            detail = " | ".join([line.strip(), *follow])
            return Status(state, detail, entry={"url": url}, raw=res)
    return Status("missing", text.strip()[-500:], raw=res)


# Factory Droid -----------------------------------------------------------------------------------

_DROID_LINE = re.compile(
    r"^\s*(?P<name>\S+)\s+(?P<type>\S+)\s+(?P<status>.+?)\s+\[(?P<source>[a-z]+)\]\s*$"
)


def droid_status(sb: Sandbox, name: str, env: Mapping[str, str] | None = None) -> Status:
    """`droid mcp list`: connects to every server; rc 0 always (also for unreadable JSON).

    Lines: `  dot  http  connected  [user]`, `needs authentication` after a 401 (Droid offers
    OAuth), `failed: <reason>`; the source is [user] or [project].
    """
    res = _run(sb, [client_bin("droid"), "mcp", "list"], "droid mcp list", DROID_ENV, env)
    text = strip_ansi(res.output)
    for line in text.splitlines():
        m = _DROID_LINE.match(line)
        if m and m.group("name") == name:
            word = m.group("status")
            state = (
                "connected"
                if word == "connected"
                else "needs-auth"
                if word == "needs authentication"
                else "failed"
                if word.startswith("failed")
                else word
            )
            return Status(state, line.strip(), entry=m.groupdict(), raw=res)
    return Status("missing", text.strip()[-500:], raw=res)


# Qwen Code and Qoder CLI (same list format) ------------------------------------------------------

_QWEN_LINE = re.compile(
    r"^\S+\s+(?P<name>[^\s:]+): (?P<url>\S+) \((?P<transport>[^)]+)\) - (?P<status>.+?)\s*$"
)


def _parse_mcp_list(res: Result, name: str) -> Status:
    text = strip_ansi(res.output)
    if res.rc != 0:
        return Status("invalid", text.strip()[-800:], raw=res)
    for line in text.splitlines():
        m = _QWEN_LINE.match(line.strip())
        if m and m.group("name") == name:
            # "Connected · Direct MCP Server", "Disconnected (timed out after 10000ms)"
            word = re.sub(r"\s*\(.*\)$", "", m.group("status").split(" · ")[0]).strip().lower()
            state = {
                "connected": "connected",
                "disconnected": "failed",
                "needs authentication": "needs-auth",
                "pending approval": "pending",
            }.get(word, word)
            return Status(state, line.strip(), entry=m.groupdict(), raw=res)
    return Status("missing", text.strip()[-500:], raw=res)


def qwen_status(sb: Sandbox, name: str, env: Mapping[str, str] | None = None) -> Status:
    """`qwen mcp list`: connects; rc 1 only for unreadable JSON.

    `✓ dot: <url> (http) - Connected`, `✗ ... - Disconnected` (also after a 401),
    `● ... - Pending approval` for a project server not yet approved.
    """
    base = {**QWEN_ENV, **guard_env(sb)}
    return _parse_mcp_list(
        _run(sb, [client_bin("qwen"), "mcp", "list"], "qwen mcp list", base, env), name
    )


def qwen_approve(sb: Sandbox, name: str) -> Result:
    """`qwen mcp approve NAME`: what the user runs once for a project server."""
    base = {**QWEN_ENV, **guard_env(sb)}
    return _run(sb, [client_bin("qwen"), "mcp", "approve", name], "qwen mcp approve", base, None)


def qoder_status(sb: Sandbox, name: str, env: Mapping[str, str] | None = None) -> Status:
    """`qodercli mcp list`: connects; rc 0 always (also for unreadable JSON).

    `✓ dot: <url> (http) - Connected · Direct MCP Server`, `🔑 ... - Needs authentication`
    after a 401 (Qoder offers OAuth), `✗ ... - Disconnected` when unreachable.
    """
    base = {**QODER_ENV, **guard_env(sb)}
    res = _run(sb, [client_bin("qodercli"), "mcp", "list"], "qodercli mcp list", base, env)
    return _parse_mcp_list(res, name)


# Auggie ------------------------------------------------------------------------------------------

_AUGGIE_TOOL = re.compile(r"^\s*✓\s+(?P<tool>\S+)\s+enabled\s*$")
_AUGGIE_ERROR = re.compile(r"^⚠️\s*MCP server startup error: (?P<error>.*?)\s*$")
_AUGGIE_COMMAND = re.compile(r"^\s*Command: (?P<url>\S+)\s*$")


def auggie_status(sb: Sandbox, name: str, url: str, env: Mapping[str, str] | None = None) -> Status:
    """`auggie tools list` with a dummy session: starts every MCP server and lists its tools.

    A server's tools appear as `<tool>_<server>` (`✓ echo_dot  enabled`); a server that fails
    prints `⚠️ MCP server startup error: <why>` and `Command: <url>` (no server name). rc 0.
    """
    base = {**AUGGIE_ENV, **guard_env(sb)}
    res = _run(sb, [client_bin("auggie"), "tools", "list"], "auggie tools list", base, env)
    lines = strip_ansi(res.output).splitlines()
    suffix = f"_{name}"
    tools = sorted(
        m.group("tool")[: -len(suffix)]
        for m in map(_AUGGIE_TOOL.match, lines)
        if m and m.group("tool").endswith(suffix)
    )
    errors = []
    for i, line in enumerate(lines):
        m = _AUGGIE_ERROR.match(line.strip())
        if m:
            target = _AUGGIE_COMMAND.match(lines[i + 1]) if i + 1 < len(lines) else None
            if target is None or target.group("url") == url:
                errors.append(m.group("error"))
    if tools:
        return Status("connected", f"tools {tools}", tools=tools, raw=res)
    if errors:
        return Status("failed", " | ".join(errors), raw=res)
    return Status("missing", "\n".join(lines[-15:]), raw=res)


# Amp ---------------------------------------------------------------------------------------------

_AMP_LINE = re.compile(r"^(?P<name>\S+) \((?P<source>[^)]*)\): (?P<status>.+?)\s*$")
_AMP_TOOLS = re.compile(r"^connected \(\d+ tools?: (?P<tools>[^)]*)\)")


def amp_status(sb: Sandbox, name: str, env: Mapping[str, str] | None = None) -> Status:
    """`amp mcp doctor` (dummy AMP_API_KEY): connects every local server; rc 1 only for bad JSON.

    `dot (user settings): connected (2 tools: echo, add)`, `dot (...): error - <why>`,
    `dot (workspace: untrusted, server: untrusted): awaiting approval` for a workspace server.
    A server still retrying prints `connecting...` lines first: the last line for it counts.
    """
    res = _run(sb, [client_bin("amp"), "mcp", "doctor"], "amp mcp doctor", AMP_ENV, env)
    text = strip_ansi(res.output)
    if res.rc != 0:
        return Status("invalid", text.strip()[-800:], raw=res)
    found: Status | None = None
    for line in text.splitlines():
        m = _AMP_LINE.match(line.strip())
        if not (m and m.group("name") == name):
            continue
        word = m.group("status")
        tools: list[str] = []
        if word.startswith("connected"):
            state = "connected"
            t = _AMP_TOOLS.match(word)
            tools = sorted(x.strip() for x in t.group("tools").split(",")) if t else []
        elif word.startswith("error"):
            state = "failed"
        elif word.startswith("awaiting approval"):
            state = "pending"
        else:
            state = word
        found = Status(state, line.strip(), tools=tools, entry=m.groupdict(), raw=res)
    return found or Status("missing", text.strip()[-500:], raw=res)


def amp_approve(sb: Sandbox, name: str) -> Result:
    """`amp mcp approve NAME`: what the user runs once for a workspace server."""
    return _run(sb, [client_bin("amp"), "mcp", "approve", name], "amp mcp approve", AMP_ENV, None)
