"""Real clients accept what `dot-setup install` writes, and connect with it.

For each client: run `dot-setup install --client ID --server-url URL --auth token --token-stdin
--yes [--scope ...] [--name ...]` in a fresh fake HOME (token on stdin), then ask the real client,
installed from the npm registry at a pinned version (install_clients.sh), whether it reaches the
local bearer-protected MCP server (tests/servers/bearer_server.py):

- good token: the client reports the server connected, and the server saw that token;
- wrong token: the client does not report it connected, and the server saw the wrong token;
- `--token-ref env:NAME`: connected when NAME is set in the client's environment, not otherwise;
- Claude Desktop: the stdio entry (npx mcp-remote ...) is run exactly as written, under the
  `mcp` SDK stdio client, and lists and calls the server's tools.

Copilot CLI has no offline live check: its parser must keep the entry (`copilot mcp get`).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients
from clients import Sandbox, assert_server_saw, require_profile, token_for

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache", "dot_setup_cli"),
]

NAME = "dot"
TOKEN_VAR = "DOT_REALCLIENTS_TOKEN"
TOOLS = {"echo", "add"}


# ---- helpers -----------------------------------------------------------------------------------


def install(sb: Sandbox, client: str, url: str, **kwargs: Any) -> clients.Result:
    res = clients.dot_setup_install(sb, client, url, name=NAME, **kwargs)
    assert res.rc == 0, f"dot-setup install failed\n{res.describe()}"
    return res


def assert_expected_state(status: clients.Status, which: str, not_connected: set[str]) -> None:
    if which == "good":
        assert status.connected, status.describe()
    else:
        assert status.state in not_connected, status.describe()


def files_containing(sb: Sandbox, needle: str) -> list[str]:
    hits = []
    for base in (sb.home, sb.project):
        for path in base.rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000:
                try:
                    if needle in path.read_text(encoding="utf-8", errors="ignore"):
                        hits.append(str(path))
                except OSError:
                    continue
    return hits


# ---- Claude Code -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "which"), [("user", "good"), ("user", "wrong"), ("project", "good")]
)
def test_claude_code(
    sandbox: Sandbox, bearer_server: Any, good_token: str, scope: str, which: str
) -> None:
    require_profile("claude-code")
    install(
        sandbox, "claude-code", bearer_server.url, token=token_for(which, good_token), scope=scope
    )
    if scope == "project":
        assert (sandbox.project / ".mcp.json").is_file()
        pending = clients.claude_get(sandbox, NAME)
        assert pending.state == "pending", pending.describe()
        clients.claude_approve_project_servers(sandbox, NAME)
    mark = bearer_server.mark()
    status = clients.claude_get(sandbox, NAME)
    assert_expected_state(status, which, {"failed"})
    expected_scope = "User config" if scope == "user" else "Project config"
    assert expected_scope in status.detail, status.describe()
    assert_server_saw(bearer_server, mark, which)
    diagnostics = clients.claude_list(sandbox)
    assert "MCP config diagnostics" not in diagnostics.output, diagnostics.describe()


def test_claude_code_token_ref_env(sandbox: Sandbox, bearer_server: Any, good_token: str) -> None:
    require_profile("claude-code")
    install(
        sandbox,
        "claude-code",
        bearer_server.url,
        token_ref=f"env:{TOKEN_VAR}",
        env={TOKEN_VAR: good_token},
    )
    assert not files_containing(sandbox, good_token), "the token was written despite --token-ref"
    entry = json.loads((sandbox.home / ".claude.json").read_text(encoding="utf-8"))["mcpServers"][
        NAME
    ]
    assert entry["headers"]["Authorization"] == f"Bearer ${{{TOKEN_VAR}}}", entry

    mark = bearer_server.mark()
    status = clients.claude_get(sandbox, NAME, env={TOKEN_VAR: good_token})
    assert status.connected, status.describe()
    assert_server_saw(bearer_server, mark, "good")

    unset = clients.claude_get(sandbox, NAME)
    assert not unset.connected, unset.describe()
    listing = clients.claude_list(sandbox)
    assert f"Missing environment variables: {TOKEN_VAR}" in listing.output, listing.describe()


# ---- Codex -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "which"), [("user", "good"), ("user", "wrong"), ("project", "good")]
)
def test_codex(
    sandbox: Sandbox, bearer_server: Any, good_token: str, scope: str, which: str
) -> None:
    require_profile("codex")
    token = token_for(which, good_token)
    if scope == "project":
        clients.codex_trust_project(sandbox)  # the user trusted the project in Codex before
    install(sandbox, "codex", bearer_server.url, token=token, scope=scope)
    if scope == "project":
        assert (sandbox.project / ".codex" / "config.toml").is_file()
        # dot-setup kept the trust entry the user had.
        user_cfg = tomllib.loads(
            (sandbox.home / ".codex" / "config.toml").read_text(encoding="utf-8")
        )
        assert user_cfg["projects"][str(sandbox.project)]["trust_level"] == "trusted"

    listed, entries = clients.codex_list(sandbox)
    assert listed.rc == 0, listed.describe()
    assert NAME in entries, listed.describe()
    transport = entries[NAME]["transport"]
    assert transport["type"] == "streamable_http", listed.describe()
    assert transport["url"] == bearer_server.url, listed.describe()
    assert transport["http_headers"] == {"Authorization": f"Bearer {token}"}, listed.describe()

    mark = bearer_server.mark()
    status = clients.codex_status(sandbox, NAME, call=("add", {"a": 2, "b": 3}))
    assert_expected_state(status, which, {"needs-auth", "failed"})
    if which == "good":
        assert set(status.tools) >= TOOLS, status.describe()
        call = status.entry["call"]
        assert "5" in json.dumps(call.get("result")), f"{call}\n{status.describe()}"
    else:
        assert status.state == "needs-auth", status.describe()
    assert_server_saw(bearer_server, mark, which)


def test_codex_token_ref_env(sandbox: Sandbox, bearer_server: Any, good_token: str) -> None:
    require_profile("codex")
    install(
        sandbox,
        "codex",
        bearer_server.url,
        token_ref=f"env:{TOKEN_VAR}",
        env={TOKEN_VAR: good_token},
    )
    assert not files_containing(sandbox, good_token), "the token was written despite --token-ref"
    listed, entries = clients.codex_list(sandbox)
    assert listed.rc == 0, listed.describe()
    transport = entries[NAME]["transport"]
    assert transport["bearer_token_env_var"] == TOKEN_VAR, listed.describe()
    assert not transport.get("http_headers"), listed.describe()

    mark = bearer_server.mark()
    status = clients.codex_status(sandbox, NAME, env={TOKEN_VAR: good_token})
    assert status.connected, status.describe()
    assert set(status.tools) >= TOOLS, status.describe()
    assert_server_saw(bearer_server, mark, "good")

    unset = clients.codex_status(sandbox, NAME)
    assert not unset.connected, unset.describe()
    assert f"Environment variable {TOKEN_VAR}" in unset.detail, unset.describe()


# ---- Gemini CLI ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "which"), [("user", "good"), ("user", "wrong"), ("project", "good")]
)
def test_gemini_cli(
    sandbox: Sandbox, bearer_server: Any, good_token: str, scope: str, which: str
) -> None:
    require_profile("gemini-cli")
    clients.gemini_trust_project(sandbox)
    install(
        sandbox, "gemini-cli", bearer_server.url, token=token_for(which, good_token), scope=scope
    )
    if scope == "project":
        assert (sandbox.project / ".gemini" / "settings.json").is_file()
    mark = bearer_server.mark()
    status = clients.gemini_status(sandbox, NAME)
    assert_expected_state(status, which, {"failed"})
    assert "Invalid configuration" not in status.detail, status.describe()
    assert_server_saw(bearer_server, mark, which)


def test_gemini_cli_token_ref_env(sandbox: Sandbox, bearer_server: Any, good_token: str) -> None:
    require_profile("gemini-cli")
    clients.gemini_trust_project(sandbox)
    install(
        sandbox,
        "gemini-cli",
        bearer_server.url,
        token_ref=f"env:{TOKEN_VAR}",
        env={TOKEN_VAR: good_token},
    )
    assert not files_containing(sandbox, good_token), "the token was written despite --token-ref"
    mark = bearer_server.mark()
    status = clients.gemini_status(sandbox, NAME, env={TOKEN_VAR: good_token})
    assert status.connected, status.describe()
    assert_server_saw(bearer_server, mark, "good")


# ---- opencode --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "which"), [("user", "good"), ("user", "wrong"), ("project", "good")]
)
def test_opencode(
    sandbox: Sandbox, bearer_server: Any, good_token: str, scope: str, which: str
) -> None:
    require_profile("opencode")
    install(sandbox, "opencode", bearer_server.url, token=token_for(which, good_token), scope=scope)
    if scope == "project":
        assert (sandbox.project / "opencode.json").is_file()
    mark = bearer_server.mark()
    status = clients.opencode_status(sandbox, NAME)
    # On any 401 opencode tries OAuth discovery itself, so a wrong token reads "needs authentication".
    assert_expected_state(status, which, {"needs-auth", "failed"})
    assert_server_saw(bearer_server, mark, which)


def test_opencode_token_ref_env(sandbox: Sandbox, bearer_server: Any, good_token: str) -> None:
    require_profile("opencode")
    install(
        sandbox,
        "opencode",
        bearer_server.url,
        token_ref=f"env:{TOKEN_VAR}",
        env={TOKEN_VAR: good_token},
    )
    assert not files_containing(sandbox, good_token), "the token was written despite --token-ref"
    mark = bearer_server.mark()
    status = clients.opencode_status(sandbox, NAME, env={TOKEN_VAR: good_token})
    assert status.connected, status.describe()
    assert_server_saw(bearer_server, mark, "good")


# ---- GitHub Copilot CLI (parser only) --------------------------------------------------------------


def test_copilot_cli_keeps_entry(sandbox: Sandbox, bearer_server: Any, good_token: str) -> None:
    require_profile("copilot-cli")
    install(sandbox, "copilot-cli", bearer_server.url, token=good_token)
    status = clients.copilot_get(sandbox, NAME)
    assert status.state == "present", status.describe()
    assert status.entry.get("url") == bearer_server.url, status.describe()
    assert status.entry.get("type") == "http", status.describe()
    assert status.entry.get("headers") == {"Authorization": f"Bearer {good_token}"}, (
        status.describe()
    )
    assert status.entry.get("enabled", True), status.describe()


# ---- Claude Desktop: the stdio fallback through mcp-remote ---------------------------------------


@pytest.mark.parametrize("which", ["good", "wrong"])
def test_claude_desktop_mcp_remote(
    sandbox: Sandbox, bearer_server: Any, good_token: str, which: str
) -> None:
    require_profile("claude-desktop")
    token = token_for(which, good_token)
    install(sandbox, "claude-desktop", bearer_server.url, token=token)
    path = clients.claude_desktop_config_path(sandbox)
    assert path.is_file(), f"{path} was not written"
    entry = json.loads(path.read_text(encoding="utf-8"))["mcpServers"][NAME]
    pinned = f"mcp-remote@{clients.pinned_versions()['mcp-remote']}"
    assert pinned in entry.get("args", []), (
        f"dot-setup's mcp-remote pin differs from the tested {pinned}: {entry}"
    )
    assert token not in json.dumps(entry.get("args", [])), (
        f"the token is on the command line: {entry}"
    )

    mark = bearer_server.mark()
    status = clients.run_stdio_entry(sandbox, entry, call=("add", {"a": 2, "b": 3}))
    if which == "good":
        assert status.connected, status.describe()
        assert set(status.tools) >= TOOLS, status.describe()
        assert status.entry.get("call") == ["5"], status.describe()
    else:
        assert not status.connected, status.describe()
    assert_server_saw(bearer_server, mark, which)
