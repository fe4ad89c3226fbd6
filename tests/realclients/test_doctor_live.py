"""`dot-setup doctor`'s live check runs a client's mcp-remote command exactly as written.

`dot-setup install --client cursor --transport stdio --token-stdin` writes Cursor's mcp-remote
entry (`npx -y mcp-remote@X.Y.Z URL --header Authorization:${AUTH_HEADER}`, the token in its env
block) for the reference Dot server (tests/server/live.py, auth on, on 127.0.0.1). Then
`dot-setup doctor --json` runs in the client sandbox (tests/realclients/clients.py) from the
client cache with npm offline, as clients.py runs stdio entries, so `npx` resolves the pinned,
cached mcp-remote (and fails rather than downloading); `client.cursor.live` must start that
command, list Dot's five tools through it, and pass.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # for tests.server.live

import clients
from clients import Sandbox
from tests.server.live import LiveServer

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache", "dot_setup_cli"),
]

DOT_TOOLS = {"list_data_sources", "total_sales", "top_customers", "compare_periods", "query"}


@pytest.fixture(scope="module")
def dot_server(
    client_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("dot-server")) as live:
        yield live


def dot_env(sb: Sandbox, live: LiveServer) -> dict[str, str]:
    env = {
        "DOT_SETUP_HOME": str(sb.home),
        "DOT_SETUP_STATE_DIR": str(sb.state_dir),
        "DOT_SETUP_REGION_URLS": f"us={live.mcp_url}",
        "DOT_SETUP_CREDENTIAL_STORE": "file",
        "DOT_SETUP_NO_CLIPBOARD": "1",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def test_doctor_runs_cursors_mcp_remote_command_and_lists_the_tools(
    sandbox: Sandbox, dot_server: LiveServer, dot_setup_cli: list[str]
) -> None:
    token = dot_server.mcp_token()
    (sandbox.home / ".cursor").mkdir()
    installed = sandbox.run(
        [
            *dot_setup_cli,
            *("install", "--client", "cursor", "--region", "us"),
            *("--transport", "stdio", "--token-stdin", "--yes"),
        ],
        label="dot-setup install (cursor, stdio)",
        env=dot_env(sandbox, dot_server),
        input=token + "\n",
        timeout=60,
    )
    assert installed.rc == 0, installed.describe()
    entry = json.loads((sandbox.home / ".cursor" / "mcp.json").read_text(encoding="utf-8"))[
        "mcpServers"
    ]["dot"]
    pinned = f"mcp-remote@{clients.pinned_versions()['mcp-remote']}"
    assert entry["command"] == "npx" and pinned in entry["args"], entry
    assert token not in json.dumps(entry["args"]), entry

    res = sandbox.run(
        [*dot_setup_cli, "doctor", "client.cursor", "--json"],
        label="dot-setup doctor (cursor, mcp-remote)",
        env=dot_env(sandbox, dot_server),
        cwd=clients.CLIENTS_DIR,  # npx resolves the cached mcp-remote (npm_config_offline)
        timeout=90,
    )
    envelope: dict[str, Any] = json.loads(res.stdout)  # the whole of stdout
    checks = {c["id"]: c for c in envelope["data"]["checks"]}
    live = checks["client.cursor.live"]
    assert live["status"] == "pass", res.describe()
    assert live["summary"].startswith("connected by running its mcp-remote command: 5 tools ("), (
        live
    )
    assert set(live["data"]["tools"]) == DOT_TOOLS, live
    assert checks["client.cursor.launcher"]["status"] == "pass", res.describe()
    assert checks["client.cursor.token"]["status"] == "pass", res.describe()
    assert res.rc == 0 and envelope["exit_code"] == 0, res.describe()
    assert token not in res.stdout + res.stderr
