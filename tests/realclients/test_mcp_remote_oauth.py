"""mcp-remote signs in to the reference Dot server with OAuth, as a Claude Desktop user would.

The reference server (`dot_setup.server`, real uvicorn on 127.0.0.1 in a thread) runs with auth
on. mcp-remote 0.15.1 (the pinned copy in the client cache) runs under the `mcp` SDK stdio client
with a fresh `MCP_REMOTE_CONFIG_DIR`; `oauth_driver` reads the authorization URL it prints, signs
in as the analyst with the scripted browser, presses Allow (or Deny) and delivers the redirect to
mcp-remote's callback listener:

- Allow: the SDK client lists Dot's five tools, `total_sales` answers a revenue figure, and the
  server's query log shows both calls made by the analyst through mcp-remote's OAuth client. A
  second run with the same config dir connects without asking (cached tokens), and mcp-remote's
  cached files are private (0600).
- Deny: mcp-remote gives up at once (no tools, no cached tokens), well before its 30 s auth
  timeout.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # for tests.server.live

import oauth_driver
from clients import Sandbox
from oauth_driver import RemoteRun, run_mcp_remote
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.server import querylog
from dot_setup.server.headless import HeadlessBrowser

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache"),
]

DOT_TOOLS = {"list_data_sources", "total_sales", "top_customers", "compare_periods", "query"}
CALLS = [("list_data_sources", {}), ("total_sales", {"period": "last_quarter"})]


@pytest.fixture(scope="module")
def dot_server(
    client_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The reference server, auth on, shared by this module (no test moves its clock)."""
    with LiveServer(tmp_path_factory.mktemp("dot-server")) as live:
        yield live


def query_log(server: LiveServer) -> list[dict[str, Any]]:
    """The server's compliance log, oldest first."""

    async def recent() -> list[dict[str, Any]]:
        async with server.state.db.tx() as conn:
            rows: list[dict[str, Any]] = await querylog.recent(conn, 1000)
        return rows

    entries: list[dict[str, Any]] = server.call(recent)
    return sorted(entries, key=lambda e: e["id"])


def last_log_id(server: LiveServer) -> int:
    entries = query_log(server)
    return entries[-1]["id"] if entries else 0


def auth_params(run: RemoteRun) -> dict[str, str]:
    assert run.auth_url is not None, run.describe()
    return {k: v[0] for k, v in parse_qs(urlsplit(run.auth_url).query).items()}


def cached_files(config_dir: Path) -> list[Path]:
    return oauth_driver.token_files(config_dir)


def assert_private(config_dir: Path) -> None:
    files = cached_files(config_dir)
    assert any(p.name.endswith("_tokens.json") for p in files), files
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert all(m == "0o600" for m in modes.values()), modes


def test_mcp_remote_oauth_sign_in_then_cached_tokens(
    dot_server: LiveServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    config_dir = tmp_path / "mcp-auth"
    mark = last_log_id(dot_server)

    # -- first run: mcp-remote asks, the analyst signs in and allows ----------------------------
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        first = run_mcp_remote(
            sandbox, dot_server.mcp_url, config_dir, browser=browser, calls=CALLS, timeout=60
        )
    params = auth_params(first)
    assert first.auth_url is not None
    assert first.auth_url.startswith(dot_server.origin + "/authorize?"), first.describe()
    redirect = urlsplit(params["redirect_uri"])
    assert (redirect.hostname, redirect.path) == ("localhost", "/oauth/callback"), first.describe()
    assert params["code_challenge_method"] == "S256", first.describe()
    assert first.consent is not None, first.describe()
    consent = first.consent.params
    assert "code" in consent, first.describe()
    assert consent["state"] == params["state"], first.describe()
    assert consent["iss"] == dot_server.origin, first.describe()
    assert first.callback_status == 200, first.describe()
    assert "Authorization successful" in first.callback_body, first.describe()
    assert not first.problems, first.describe()

    assert first.connected, first.describe()
    assert set(first.tools) == DOT_TOOLS, first.describe()
    sources = first.call_result(0)
    assert sources["user"] == ANALYST, first.describe()
    sales = first.call_result(1)
    assert isinstance(sales["revenue"], int | float), first.describe()
    assert sales["revenue"] > 0, first.describe()

    # The server ran both calls as the analyst, through the client mcp-remote registered.
    client_id = params["client_id"]
    entries = [e for e in query_log(dot_server) if e["id"] > mark]
    assert [e["tool"] for e in entries] == ["list_data_sources", "total_sales"], entries
    for e in entries:
        assert (e["email"], e["client_id"], e["via"], e["allowed"]) == (
            ANALYST,
            client_id,
            "oauth",
            True,
        ), e
    assert json.loads(entries[1]["arguments"]) == {"period": "last_quarter"}, entries[1]

    # mcp-remote cached a Dot OAuth token of the analyst, privately.
    assert_private(config_dir)
    (tokens_file,) = [p for p in cached_files(config_dir) if p.name.endswith("_tokens.json")]
    cached = json.loads(tokens_file.read_text(encoding="utf-8"))
    assert cached["access_token"].startswith("dot_oat_us_"), sorted(cached)
    assert cached.get("refresh_token"), sorted(cached)
    me = dot_server.api("GET", "/api/me", cached["access_token"])
    assert me.status_code == 200 and me.json()["email"] == ANALYST, me.text

    # -- second run, same config dir: no prompt, same sign-in -----------------------------------
    mark = last_log_id(dot_server)
    second = run_mcp_remote(
        sandbox,
        dot_server.mcp_url,
        config_dir,
        browser=None,  # a prompt now ends the run and fails below
        calls=[("total_sales", {"period": "last_quarter"})],
        timeout=45,
        label="mcp-remote (cached tokens)",
    )
    assert second.auth_url is None, f"mcp-remote asked again\n{second.describe()}"
    assert "Please authorize" not in second.mcp_remote_stderr, second.describe()
    assert second.connected, second.describe()
    assert set(second.tools) == DOT_TOOLS, second.describe()
    assert second.call_result(0)["revenue"] == sales["revenue"], second.describe()
    entries = [e for e in query_log(dot_server) if e["id"] > mark]
    assert [(e["tool"], e["email"], e["client_id"]) for e in entries] == [
        ("total_sales", ANALYST, client_id)
    ], entries
    assert_private(config_dir)


def test_mcp_remote_oauth_deny_fails_cleanly(
    dot_server: LiveServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    config_dir = tmp_path / "mcp-auth"
    mark = last_log_id(dot_server)
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        run = run_mcp_remote(
            sandbox,
            dot_server.mcp_url,
            config_dir,
            browser=browser,
            action="deny",
            calls=CALLS,
            timeout=45,
            label="mcp-remote (OAuth, deny)",
        )
    params = auth_params(run)
    assert run.consent is not None, run.describe()
    assert run.consent.params.get("error") == "access_denied", run.describe()
    assert run.consent.params.get("state") == params["state"], run.describe()
    assert "code" not in run.consent.params, run.describe()
    # mcp-remote's listener got the error and says so; the SDK client never got tools.
    assert run.callback_status is not None, run.describe()
    assert "access_denied" in run.mcp_remote_stderr, run.describe()
    assert not run.timed_out, run.describe()
    assert not run.connected, run.describe()
    assert not run.tools, run.describe()
    assert run.report.get("error"), run.describe()
    # A clear failure, not a wait for mcp-remote's 30 s auth timeout.
    assert run.seconds < 25, run.describe()
    assert not [p for p in cached_files(config_dir) if p.name.endswith("_tokens.json")], (
        cached_files(config_dir)
    )
    assert [e for e in query_log(dot_server) if e["id"] > mark] == []
