"""Six client CLIs from npm accept what `dot-setup install` writes, and connect with it.

Kilo Code CLI (`kilo`), Factory Droid (`droid`), Qwen Code (`qwen`), Qoder CLI (`qodercli`),
Auggie (`auggie`) and Amp (`amp`), pinned in package.json. For each, in a fresh fake HOME:
`dot-setup install --client ID --server-url URL --auth token --token-stdin --yes` (or
`--token-ref env:NAME`, `--scope project`), then the program's own offline check
(cli_programs.py) against the bearer-protected MCP server on 127.0.0.1:

- good: the program reports the server connected, and the server saw only the good token;
- wrong: the program reports it not connected (in its own words), and the server saw only the
  wrong token;
- project: the project-scope file, after the approval step the program asks for (if any);
- token-ref: the file names an environment variable in the program's own syntax (the profile's
  header_env_syntax), holds no token, and the program connects with the variable set;
- env-home: the program's home-moving variable (the profile's env_paths) is set for both
  dot-setup and the program.

The programs exit 0 whatever the server's state: the assertions read their output and the
server's request log. A token never appears whole in an assertion message (masked()).
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cli_programs as cp
import clients
from clients import WRONG_TOKEN, Result, Sandbox, Status, assert_server_saw

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache", "dot_setup_cli"),
]

NAME = "dot"
TOKEN_VAR = "DOT_REALCLIENTS_TOKEN"
TOOLS = ["add", "echo"]  # what tests/servers/bearer_server.py offers, sorted


@dataclass(frozen=True)
class Program:
    """How one program is driven and what it is expected to say."""

    client: str  # dot-setup client id
    check: Callable[[Sandbox, str, Mapping[str, str] | None], Status]  # (sb, url, env)
    user_file: Callable[[Sandbox], Path]
    project_file: Callable[[Sandbox], Path]
    wrong_state: str  # the state the program reports for a refused (401) token
    sources: dict[str, str] = field(default_factory=dict)  # scope -> entry["source"], if shown
    approve: Callable[[Sandbox, str], Result] | None = None  # project servers need approval
    # env_paths: (VAR, its value, the file dot-setup must write), both under a moved folder
    home_env: tuple[str, str, str] | None = None
    lists_tools: bool = False  # the check names the server's tools


def _named(fn: Callable[..., Status]) -> Callable[[Sandbox, str, Mapping[str, str] | None], Status]:
    return lambda sb, url, env: fn(sb, NAME, env)


PROGRAMS: dict[str, Program] = {
    "kilo": Program(
        client="kilo-code",
        check=_named(cp.kilo_status),
        user_file=lambda sb: sb.xdg_config / "kilo" / "kilo.jsonc",
        project_file=lambda sb: sb.project / ".kilo" / "kilo.jsonc",
        # Kilo answers a 401 with OAuth discovery (the server has none) and says so.
        wrong_state="needs-auth",
    ),
    "droid": Program(
        client="factory-droid",
        check=_named(cp.droid_status),
        user_file=lambda sb: sb.home / ".factory" / "mcp.json",
        project_file=lambda sb: sb.project / ".factory" / "mcp.json",
        wrong_state="needs-auth",
        sources={"user": "user", "project": "project"},
        home_env=("FACTORY_HOME_OVERRIDE", ".", ".factory/mcp.json"),
    ),
    "qwen": Program(
        client="qwen-code",
        check=_named(cp.qwen_status),
        user_file=lambda sb: sb.home / ".qwen" / "settings.json",
        project_file=lambda sb: sb.project / ".qwen" / "settings.json",
        wrong_state="failed",  # "Disconnected"
        approve=cp.qwen_approve,
        home_env=("QWEN_HOME", ".", "settings.json"),
    ),
    "qodercli": Program(
        client="qoder-cli",
        check=_named(cp.qoder_status),
        user_file=lambda sb: sb.home / ".qoder" / "settings.json",
        project_file=lambda sb: sb.project / ".mcp.json",
        wrong_state="needs-auth",
        home_env=("QODER_CONFIG_DIR", ".", "settings.json"),
    ),
    "auggie": Program(
        client="auggie",
        check=lambda sb, url, env: cp.auggie_status(sb, NAME, url, env),
        user_file=lambda sb: sb.home / ".augment" / "settings.json",
        project_file=lambda sb: sb.project / ".augment" / "settings.json",
        wrong_state="failed",  # "MCP server startup error: ... invalid_token"
        lists_tools=True,
    ),
    "amp": Program(
        client="amp",
        check=_named(cp.amp_status),
        user_file=lambda sb: sb.xdg_config / "amp" / "settings.json",
        project_file=lambda sb: sb.project / ".amp" / "settings.json",
        wrong_state="failed",  # "error - SSE error: Non-200 status code (401)"
        sources={"user": "user settings", "project": "workspace: untrusted"},
        approve=cp.amp_approve,
        home_env=("AMP_SETTINGS_FILE", "amp.json", "amp.json"),  # names the file itself
        lists_tools=True,
    ),
}


def header_env_syntax(client: str) -> str:
    """The profile's claim, read from its own file (other profiles may be mid-edit)."""
    path = clients.REPO / "client_profiles" / f"{client}.toml"
    return str(tomllib.loads(path.read_text(encoding="utf-8")).get("header_env_syntax", ""))


def cases() -> list[Any]:
    """(program, case) for every program; token-ref and env-home where the profile claims them."""
    out = []
    for prog, spec in PROGRAMS.items():
        names = ["good", "wrong", "project"]
        if header_env_syntax(spec.client):
            names.append("token-ref")
        if spec.home_env:
            names.append("env-home")
        out += [pytest.param(prog, case, id=f"{prog}-{case}") for case in names]
    return out


# ---- helpers -------------------------------------------------------------------------------------


def install(sb: Sandbox, client: str, url: str, **kwargs: Any) -> Result:
    res = clients.dot_setup_install(sb, client, url, name=NAME, **kwargs)
    assert res.rc == 0, (
        f"dot-setup install failed\n{cp.masked(res.describe(), kwargs.get('token') or '')}"
    )
    return res


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


def describe(sb: Sandbox, status: Status, *tokens: str) -> str:
    refused = cp.refused_hosts(sb)
    extra = f"\n(offline_guard refused: {refused})" if refused else ""
    return cp.masked(status.describe(), *tokens) + extra


# ---- the test ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prog", "case"), cases())
def test_cli_program(
    sandbox: Sandbox, bearer_server: Any, good_token: str, prog: str, case: str
) -> None:
    spec = PROGRAMS[prog]
    url = bearer_server.url
    which = "wrong" if case == "wrong" else "good"
    token = good_token if which == "good" else WRONG_TOKEN
    env: dict[str, str] = {}
    written = spec.user_file(sandbox)

    if case == "token-ref":
        syntax = header_env_syntax(spec.client)
        assert syntax
        install(sandbox, spec.client, url, token_ref=f"env:{TOKEN_VAR}")
        assert not files_containing(sandbox, good_token), "a token was written despite --token-ref"
        text = written.read_text(encoding="utf-8")
        reference = "Bearer " + syntax.replace("VAR", TOKEN_VAR)
        assert f'"Authorization": "{reference}"' in text, text
        env = {TOKEN_VAR: good_token}
    elif case == "env-home":
        assert spec.home_env is not None
        var, value, rel = spec.home_env
        moved = sandbox.root / "moved"
        env = {var: str((moved / value).resolve())}
        written = moved / rel
        install(sandbox, spec.client, url, token=token, env=env)
        assert not spec.user_file(sandbox).exists(), (
            f"{var} was set, yet the default file was written"
        )
    elif case == "project":
        install(sandbox, spec.client, url, token=token, scope="project")
        written = spec.project_file(sandbox)
    else:
        install(sandbox, spec.client, url, token=token)
    assert written.is_file(), f"dot-setup did not write {written}"

    if spec.approve is not None and case == "project":
        # The program holds project servers back until the user approves them once.
        pending = spec.check(sandbox, url, env)
        assert pending.state == "pending", describe(sandbox, pending, token)
        approved = spec.approve(sandbox, NAME)
        assert approved.rc == 0, cp.masked(approved.describe(), token)

    mark = bearer_server.mark()
    status = spec.check(sandbox, url, env)
    described = describe(sandbox, status, good_token, token)
    if which == "good":
        assert status.connected, described
        if spec.lists_tools:
            assert status.tools == TOOLS, described
    else:
        assert status.state == spec.wrong_state, described
    # What the program itself shows of the entry, where it shows it.
    if status.entry.get("url"):
        assert status.entry["url"] == url, described
    for key in ("transport", "type"):  # qwen/qodercli "(http)", droid's type column
        if key in status.entry:
            assert status.entry[key] == "http", described  # Streamable HTTP, not SSE or stdio
    scope = "project" if case == "project" else "user"
    if scope in spec.sources:
        assert status.entry.get("source") == spec.sources[scope], described
    assert_server_saw(bearer_server, mark, which)
