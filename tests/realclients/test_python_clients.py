"""Real MCP clients from PyPI accept what `dot-setup install` writes, and connect with it.

For each program (installed pinned by install_py_clients.sh, one venv each): run `dot-setup
install --client ID --server-url URL --auth token --token-stdin --yes` in a fresh fake HOME, then
have the program itself judge the entry against a local bearer-protected MCP server:

| program | what it shows with the good token | with a wrong token |
|---|---|---|
| Mistral Vibe | a `vibe -p` turn: the model is offered the `mcp_dot` connector and gets add(2, 3) = 5 through it | no connector; vibe.log says the server was rejected (rc 0) |
| fast-agent | `fast-agent go --model passthrough` calls add(2, 3) and prints 5 | rc 1, "Failed to initialize" |
| gptme | `gptme-util mcp test dot`: "Connected successfully", tools echo and add | rc 1, "Connection failed" |
| mcp-cli | `mcp-cli tools --server dot` lists echo and add | "No tools available" (rc 0) |

Where a program exits 0 on failure, the test also reads the server's request log: with the good
token the server saw only that token, with a wrong one it never saw the good token.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients
import pyclients
from clients import Sandbox, assert_server_saw, require_profile, token_for

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("py_client_cache", "dot_setup_cli"),
]

NAME = "dot"
TOKEN_VAR = "DOT_REALCLIENTS_TOKEN"


def _unavailable(reason: str) -> None:
    """Skip outside CI; in CI (CI=true) fail: the suite must run there (as conftest.py does)."""
    if clients.IN_CI:
        pytest.fail(f"real-client tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def py_client_cache() -> Path:
    """The pinned PyPI clients' cache; skip (fail in CI) when it is missing or stale."""
    if pyclients.CACHE_PROBLEM:
        _unavailable(pyclients.CACHE_PROBLEM)
    return pyclients.PY_CLIENTS_DIR


@pytest.fixture(scope="module")
def server(
    py_client_cache: Path, good_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A real MCP server on 127.0.0.1 accepting only `good_token` (the npm suite's
    `bearer_server` fixture needs the npm cache; these tests need only the PyPI one)."""
    with pyclients.bearer_server(good_token, tmp_path_factory.mktemp("py-bearer-server")) as srv:
        yield srv


@pytest.fixture
def model() -> Iterator[pyclients.ScriptedModel]:
    with pyclients.ScriptedModel() as m:
        yield m


# ---- helpers -------------------------------------------------------------------------------------


def install(sb: Sandbox, client: str, url: str, **kwargs: Any) -> clients.Result:
    require_profile(client)
    res = clients.dot_setup_install(sb, client, url, name=NAME, **kwargs)
    detail = pyclients.mask(res.describe(), kwargs.get("token") or "")
    assert res.rc == 0, f"dot-setup install failed\n{detail}"
    return res


def why(res: clients.Result, good_token: str) -> str:
    return pyclients.mask(res.describe(), good_token)


# ---- Mistral Vibe ----------------------------------------------------------------------------------


def vibe_user(sb: Sandbox, model: pyclients.ScriptedModel) -> Path:
    """A Vibe user who set up a model (here the fake one) in ~/.vibe/config.toml."""
    cfg = sb.home / ".vibe" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(pyclients.vibe_settings(model.base_url), encoding="utf-8")
    return cfg


def assert_vibe_used_the_tool(turn: pyclients.VibeTurn, good_token: str) -> None:
    text = clients.strip_ansi(turn.result.stdout)
    assert turn.result.rc == 0, turn.describe(good_token)
    assert turn.offered_connector, turn.describe(good_token)
    assert 'FAKE-MODEL-OK tool said: {"result":5}' in text, turn.describe(good_token)
    assert f"MCP HTTP session ready for '{NAME}'" in turn.log, turn.describe(good_token)


@pytest.mark.parametrize("which", ["good", "wrong"])
def test_mistral_vibe(
    sandbox: Sandbox,
    server: Any,
    model: pyclients.ScriptedModel,
    good_token: str,
    which: str,
) -> None:
    cfg = vibe_user(sandbox, model)
    install(sandbox, "mistral-vibe", server.url, token=token_for(which, good_token))
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert data["active_model"] == "fake", "dot-setup lost the user's own Vibe settings"
    entry = next(e for e in data["mcp_servers"] if e["name"] == NAME)
    # What `vibe mcp add NAME --url URL --header Authorization=...` writes.
    assert entry["transport"] == "streamable-http" and entry["url"] == server.url
    assert entry["auth"]["type"] == "static"
    assert set(entry["auth"]["headers"]) == {"Authorization"}
    assert "headers" not in entry, "top-level headers is Vibe's legacy form"

    mark = server.mark()
    turn = pyclients.vibe_turn(sandbox, model, NAME)
    if which == "good":
        assert_vibe_used_the_tool(turn, good_token)
    else:
        # Vibe exits 0 and says nothing on stdout: the server is just missing from the turn.
        assert turn.result.rc == 0, turn.describe(good_token)
        assert not turn.offered_connector, turn.describe(good_token)
        assert "tool said" not in turn.result.stdout, turn.describe(good_token)
        assert f"MCP source '{NAME}' (kind=static) rejected" in turn.log, turn.describe(good_token)
    assert_server_saw(server, mark, which)


def test_mistral_vibe_token_ref_env(
    sandbox: Sandbox, server: Any, model: pyclients.ScriptedModel, good_token: str
) -> None:
    """--token-ref env:NAME: Vibe reads the token itself (auth.api_key_env)."""
    cfg = vibe_user(sandbox, model)
    install(sandbox, "mistral-vibe", server.url, token_ref=f"env:{TOKEN_VAR}")
    assert good_token not in cfg.read_text(encoding="utf-8"), "the token was written"
    servers = tomllib.loads(cfg.read_text(encoding="utf-8"))["mcp_servers"]
    entry = next(e for e in servers if e["name"] == NAME)
    assert entry["auth"] == {"type": "static", "api_key_env": TOKEN_VAR}, entry

    mark = server.mark()
    turn = pyclients.vibe_turn(sandbox, model, NAME, env={TOKEN_VAR: good_token})
    assert_vibe_used_the_tool(turn, good_token)
    assert_server_saw(server, mark, "good")


# ---- fast-agent --------------------------------------------------------------------------------------


def last_json_line(res: clients.Result) -> Any:
    """fast-agent prints the tool result as the last line of stdout."""
    lines = clients.strip_ansi(res.stdout).strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


@pytest.mark.parametrize(
    ("existing", "which"),
    [(None, "good"), (None, "wrong"), ("fastagent.config.yaml", "good")],
    ids=["new-file-good", "new-file-wrong", "legacy-file-good"],
)
def test_fast_agent(
    sandbox: Sandbox, server: Any, good_token: str, existing: str | None, which: str
) -> None:
    if existing:
        # A project that already has fast-agent's legacy config: it must be edited in place,
        # since fast-agent refuses two config files in one folder.
        (sandbox.project / existing).write_text(
            "default_model: passthrough\nlogger:\n  level: error\n", encoding="utf-8"
        )
    install(sandbox, "fast-agent", server.url, token=token_for(which, good_token), scope="project")
    written = sorted(p.name for p in sandbox.project.iterdir() if p.suffix == ".yaml")
    assert written == [existing or "fast-agent.yaml"], written

    mark = server.mark()
    res = pyclients.fast_agent_call(sandbox, NAME, "add", {"a": 2, "b": 3})
    if which == "good":
        assert res.rc == 0, why(res, good_token)
        assert last_json_line(res) == {"result": 5}, why(res, good_token)
    else:
        assert res.rc == 1, why(res, good_token)
        failed = f"MCP Server: '{NAME}': Failed to initialize"
        assert failed in clients.strip_ansi(res.output), why(res, good_token)
    assert_server_saw(server, mark, which)


def test_fast_agent_token_ref_env(sandbox: Sandbox, server: Any, good_token: str) -> None:
    """fast-agent expands ${VAR} in header values (the profile's header_env_syntax)."""
    install(sandbox, "fast-agent", server.url, token_ref=f"env:{TOKEN_VAR}", scope="project")
    text = (sandbox.project / "fast-agent.yaml").read_text(encoding="utf-8")
    assert good_token not in text, "the token was written despite --token-ref"
    assert f"Bearer ${{{TOKEN_VAR}}}" in text, text

    mark = server.mark()
    env = {TOKEN_VAR: good_token}
    res = pyclients.fast_agent_call(sandbox, NAME, "add", {"a": 2, "b": 3}, env=env)
    assert res.rc == 0, why(res, good_token)
    assert last_json_line(res) == {"result": 5}, why(res, good_token)
    assert_server_saw(server, mark, "good")


# ---- gptme ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["good", "wrong"])
def test_gptme(sandbox: Sandbox, server: Any, good_token: str, which: str) -> None:
    # A gptme user who turned MCP on: gptme's own first-run config.toml plus `[mcp] enabled`.
    cfg = pyclients.gptme_first_run(sandbox)
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[mcp]\nenabled = true\n", encoding="utf-8")
    install(sandbox, "gptme", server.url, token=token_for(which, good_token))
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert data["mcp"]["enabled"] is True and "user" in data, "dot-setup lost the user's settings"
    assert [s["name"] for s in data["mcp"]["servers"]] == [NAME]

    mark = server.mark()
    res = pyclients.gptme_test(sandbox, NAME)
    out = clients.strip_ansi(res.output)
    if which == "good":
        assert res.rc == 0, why(res, good_token)
        assert "Connected successfully" in out, why(res, good_token)
        assert "• echo" in out and "• add" in out, why(res, good_token)
    else:
        assert res.rc == 1, why(res, good_token)
        assert "Connection failed" in out, why(res, good_token)
    assert_server_saw(server, mark, which)


def test_gptme_first_run_config(sandbox: Sandbox, server: Any, good_token: str) -> None:
    """A gptme user who never touched [mcp]: the entry alone must be enough."""
    pyclients.gptme_first_run(sandbox)
    install(sandbox, "gptme", server.url, token=good_token)
    res = pyclients.gptme_list(sandbox)
    assert "MCP is disabled in config" not in res.output, why(res, good_token)
    assert "Connected (2 tools available)" in res.output, why(res, good_token)


# ---- mcp-cli --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["good", "wrong"])
def test_mcp_cli(sandbox: Sandbox, server: Any, good_token: str, which: str) -> None:
    install(sandbox, "mcp-cli", server.url, token=token_for(which, good_token), scope="project")
    assert (sandbox.project / "server_config.json").is_file()

    mark = server.mark()
    res = pyclients.mcp_cli_tools(sandbox, NAME)
    out = clients.strip_ansi(res.output)
    # mcp-cli exits 0 either way: its tool table (or its absence) is what the user sees.
    assert res.rc == 0, why(res, good_token)
    if which == "good":
        assert "Total tools available: 2" in out, why(res, good_token)
        cells = [[c.strip() for c in ln.split("│")[1:3]] for ln in out.splitlines() if "│" in ln]
        rows = {tuple(c) for c in cells}
        assert {(NAME, "echo"), (NAME, "add")} <= rows, why(res, good_token)
    else:
        assert "No tools available" in out, why(res, good_token)
        assert "401" in out, why(res, good_token)
    assert_server_saw(server, mark, which)
