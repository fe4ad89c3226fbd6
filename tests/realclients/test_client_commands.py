"""The client's own command that `dot-setup show` and the Integrations page give ("Run the
command from Dot's Integrations page" in the connect guide) works: run by the real program, it
writes an entry `dot-setup list` recognises as configured, and with a token it connects to the
bearer-protected test server.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients
from clients import Sandbox

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache", "dot_setup_cli"),
]

PROGRAMS = {"claude-code": "claude", "codex": "codex", "gemini-cli": "gemini"}
TOKEN_VAR = "DOT_MCP_TOKEN"


def dot_setup(sb: Sandbox, *args: str, env: dict[str, str] | None = None) -> clients.Result:
    argv = clients.dot_setup_argv()
    assert argv is not None
    return sb.run(
        [*argv, *args],
        label="dot-setup",
        env={"DOT_SETUP_STATE_DIR": str(sb.state_dir), **(env or {})},
    )


def regions(url: str) -> dict[str, str]:
    """Both of Dot's regions at the test server, so `list` can recognise what was written."""
    return {"DOT_SETUP_REGION_URLS": f"us={url},eu={url}"}


def shown_command(sb: Sandbox, client: str, auth: str, url: str) -> str:
    res = dot_setup(
        sb, "show", "-c", client, "--auth", auth, "--region", "us", "--json", env=regions(url)
    )
    assert res.rc == 0, res.describe()
    command: str = json.loads(res.stdout)["data"]["command"]
    assert command, f"{client} has no command for {auth}"
    return command


def status_of(sb: Sandbox, client: str, env: dict[str, str]) -> clients.Status:
    if client == "claude-code":
        return clients.claude_get(sb, "dot", env=env)
    if client == "gemini-cli":
        clients.gemini_trust_project(sb)
        return clients.gemini_status(sb, "dot", env=env)
    return clients.codex_status(sb, "dot", env=env)


@pytest.mark.parametrize("auth", ["oauth", "token"])
@pytest.mark.parametrize("client", list(PROGRAMS))
def test_the_clients_own_command(
    sandbox: Sandbox, bearer_server: Any, good_token: str, client: str, auth: str
) -> None:
    command = shown_command(sandbox, client, auth, bearer_server.url)
    # What a person does with the token the page generated: paste it where the command shows
    # the placeholder, or (Codex, which takes no header) set the variable it names.
    command = command.replace("<YOUR_MCP_TOKEN>", good_token)
    argv = shlex.split(command)
    assert argv[0] == PROGRAMS[client], command
    env = {TOKEN_VAR: good_token} if auth == "token" else {}
    ran = sandbox.run([clients.client_bin(argv[0]), *argv[1:]], label=f"{client} mcp add", env=env)
    assert ran.rc == 0, ran.describe()
    listed = dot_setup(sandbox, "list", "--json", env=regions(bearer_server.url))
    assert listed.rc == 0, listed.describe()
    row = next(r for r in json.loads(listed.stdout)["data"]["clients"] if r["id"] == client)
    assert row["status"] == "configured", row
    assert row["detail"].split(", ")[1].startswith(auth), row
    if auth == "token":
        mark = bearer_server.mark()
        status = status_of(sandbox, client, env)
        assert status.connected, status.describe()
        seen = {r["auth"] for r in bearer_server.requests_since(mark)}
        assert "good" in seen and "bad" not in seen
