"""Real clients connect to the reference Dot server with what the `dot-setup` wizard wrote.

The wizard runs as a subprocess (the venv's `dot-setup` script), with every question answered by a
flag, in a client sandbox (tests/realclients/clients.py): DOT_SETUP_HOME is the sandbox's HOME,
DOT_SETUP_REGION_URLS points region `us` at the reference server (tests/server/live.py, auth on,
in-process on 127.0.0.1) and the sign-in is kept in a file store inside the sandbox. Then Claude
Code, Codex, Gemini CLI and opencode (the pinned copies in the client cache) are asked what they
think of the server, each the way test_real_clients.py asks it (the four checks run side by side):

- `--auth token --token-stdin` with the analyst's MCP token: the wizard checks the token, writes,
  and its own verify step lists Dot's five tools; every client reports the server connected;
  Codex calls `list_data_sources`, which answers as the analyst, and the server's query log has
  that call made with the analyst's MCP token.
- a wrong token and a revoked (replaced) one: the wizard refuses it before writing anything.
- `--auth oauth`: the clients find the server's OAuth metadata and wait for a sign-in. Against a
  server without OAuth metadata (tests/servers/bearer_server.py) the same entries read:
  Claude Code "failed", Codex authenticationRequired with authStatus "unsupported", opencode
  "needs authentication" but without a registered client, Gemini CLI "Disconnected".
- `--auth token --new-token`: the wizard signs in through its loopback redirect (the URL is read
  from its stderr while it runs, the analyst signs in and allows with the scripted browser),
  generates a new MCP token, which revokes the analyst's previous one, and the clients connect
  with the new token. Denying on the consent page writes nothing and keeps the old token.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # for tests.server.live

import clients
from clients import Result, Sandbox, Status
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.server import querylog
from dot_setup.server import schema as dbschema
from dot_setup.server.headless import HeadlessBrowser, Outcome

pytestmark = [
    pytest.mark.realclients,
    pytest.mark.slow,
    pytest.mark.usefixtures("client_cache", "dot_setup_cli"),
]

NAME = "dot"  # the Dot service's default server name
CLIENT_IDS = ("claude-code", "codex", "gemini-cli", "opencode")
DOT_TOOLS = {"list_data_sources", "total_sales", "top_customers", "compare_periods", "query"}
VERIFIED = re.compile(r"✓ connected with MCP token (\S+): 5 tools \(")
SIGN_IN_PROMPT = "Open this URL in your browser:"
WRONG_TOKEN = "dot_mcp_us_" + "x" * 40


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dot_server(
    client_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The reference server, auth on, shared by this module (each test gets its own tokens)."""
    with LiveServer(tmp_path_factory.mktemp("dot-server")) as live:
        yield live


@pytest.fixture
def user_sandbox(sandbox: Sandbox) -> Sandbox:
    """A fake user who trusted the project folder in Gemini CLI (it disables MCP elsewhere)."""
    clients.gemini_trust_project(sandbox)
    return sandbox


# ---- running the wizard ----------------------------------------------------------------------


def wizard_env(
    sb: Sandbox, live: LiveServer, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {
        "DOT_SETUP_HOME": str(sb.home),
        "DOT_SETUP_STATE_DIR": str(sb.state_dir),
        "DOT_SETUP_REGION_URLS": f"us={live.mcp_url}",
        "DOT_SETUP_CREDENTIAL_STORE": "file",
        "DOT_SETUP_NO_CLIPBOARD": "1",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra or {})
    return env


def wizard_argv(cli: list[str], client_ids: tuple[str, ...], *flags: str) -> list[str]:
    argv = [*cli]
    for client_id in client_ids:
        argv += ["--client", client_id]
    return [*argv, "--region", "us", *flags, "--yes"]


def run_wizard(
    sb: Sandbox,
    live: LiveServer,
    cli: list[str],
    *flags: str,
    token: str | None = None,
    label: str,
) -> Result:
    """The wizard with the token (if any) on stdin, cwd the sandbox's project."""
    if token is not None:
        flags = (*flags, "--token-stdin")
    return sb.run(
        wizard_argv(cli, CLIENT_IDS, *flags),
        label=label,
        env=wizard_env(sb, live),
        input=(token + "\n") if token is not None else None,
        timeout=60,
    )


@dataclass
class SignInRun:
    """A wizard run that signed in through the browser: what it printed and what happened."""

    rc: int | None
    stdout: str
    stderr: str
    seconds: float
    auth_url: str | None = None
    consent: Outcome | None = None
    callback_status: int | None = None
    callback_body: str = ""
    timed_out: bool = False

    def describe(self) -> str:
        return (
            f"rc={self.rc} timed_out={self.timed_out} {self.seconds:.2f} s\n"
            f"auth_url={self.auth_url}\n"
            f"consent={self.consent.location if self.consent else None}\n"
            f"callback={self.callback_status} {self.callback_body[:300]!r}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def run_wizard_signing_in(
    sb: Sandbox,
    live: LiveServer,
    cli: list[str],
    *flags: str,
    action: str = "allow",
    timeout: float = 60.0,
    label: str,
) -> SignInRun:
    """Run the wizard; when it prints the sign-in URL, sign in as the analyst and answer `action`.

    BROWSER=true makes the wizard take its loopback route (the "browser" it opens does nothing);
    the URL is read from its stderr as it streams, the consent page is answered by the scripted
    browser and its redirect is delivered to the wizard's listener on 127.0.0.1.
    """
    env = sb.env(wizard_env(sb, live, {"BROWSER": "true"}))
    start = time.monotonic()
    deadline = start + timeout
    proc = subprocess.Popen(
        wizard_argv(cli, CLIENT_IDS, *flags),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(sb.project),
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    err_lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []
    stdout: list[str] = []

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.put(line)
        err_lines.put(None)

    def pump_out() -> None:
        assert proc.stdout is not None
        stdout.append(proc.stdout.read())

    threads = [threading.Thread(target=f, daemon=True) for f in (pump_err, pump_out)]
    for t in threads:
        t.start()
    run = SignInRun(rc=None, stdout="", stderr="", seconds=0.0)
    try:
        prompted = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                run.timed_out = True
                break
            try:
                line = err_lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                break
            stderr.append(line)
            if prompted and run.auth_url is None:
                run.auth_url = line.strip()
                with HeadlessBrowser(ANALYST, PASSWORD) as browser:
                    run.consent = browser.authorize(run.auth_url, action)
                deliver_redirect(run, deadline)
            prompted = SIGN_IN_PROMPT in line
        try:
            run.rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            run.timed_out = True
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for t in threads:
            t.join(5)
    while not err_lines.empty():
        line = err_lines.get_nowait()
        if line is not None:
            stderr.append(line)
    run.stdout, run.stderr = "".join(stdout), "".join(stderr)
    run.seconds = time.monotonic() - start
    clients.TIMINGS.append((label, run.seconds))
    return run


def deliver_redirect(run: SignInRun, deadline: float) -> None:
    """GET the consent page's redirect, as the browser would: it must go to a loopback listener."""
    assert run.consent is not None
    parts = urlsplit(run.consent.location)
    assert parts.hostname in ("127.0.0.1", "localhost"), run.consent.location
    url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port or 80}"))
    with httpx2.Client(timeout=10.0, trust_env=False, follow_redirects=False) as http:
        while True:
            try:
                resp = http.get(url)
            except httpx2.ConnectError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
                continue
            run.callback_status, run.callback_body = resp.status_code, resp.text
            return


# ---- asking the clients ----------------------------------------------------------------------


def client_checks(
    sb: Sandbox, codex_call: tuple[str, dict[str, Any]] | None = None
) -> dict[str, Callable[[], Status]]:
    return {
        "claude-code": lambda: clients.claude_get(sb, NAME),
        "codex": lambda: clients.codex_status(sb, NAME, call=codex_call),
        "gemini-cli": lambda: clients.gemini_status(sb, NAME),
        "opencode": lambda: clients.opencode_status(sb, NAME),
    }


def ask_clients(
    sb: Sandbox, codex_call: tuple[str, dict[str, Any]] | None = None
) -> dict[str, Status]:
    """Every client's view of the `dot` entry; the four checks run at the same time."""
    checks = client_checks(sb, codex_call)
    with ThreadPoolExecutor(len(checks)) as pool:
        futures = {client_id: pool.submit(check) for client_id, check in checks.items()}
        return {client_id: future.result() for client_id, future in futures.items()}


def states(statuses: dict[str, Status]) -> str:
    return ", ".join(f"{c}={s.state}" for c, s in statuses.items())


def describe_all(statuses: dict[str, Status], wizard: Any) -> str:
    parts = [f"states: {states(statuses)}"]
    parts += [f"=== {c}\n{s.describe()}" for c, s in statuses.items()]
    parts.append(f"=== the wizard\n{wizard.describe()}")
    return "\n".join(parts)


def assert_all_connected(statuses: dict[str, Status], wizard: Any) -> None:
    not_connected = [c for c, s in statuses.items() if not s.connected]
    assert not not_connected, describe_all(statuses, wizard)
    assert "User config" in statuses["claude-code"].detail, describe_all(statuses, wizard)
    assert set(statuses["codex"].tools) == DOT_TOOLS, describe_all(statuses, wizard)
    assert "Invalid configuration" not in statuses["gemini-cli"].detail, describe_all(
        statuses, wizard
    )


# ---- what the wizard wrote, what the server knows --------------------------------------------


def config_paths(sb: Sandbox) -> dict[str, Path]:
    """Where the wizard writes each client's user-scope entry."""
    return {
        "claude-code": sb.home / ".claude.json",
        "codex": sb.home / ".codex" / "config.toml",
        "gemini-cli": sb.home / ".gemini" / "settings.json",
        "opencode": sb.xdg_config / "opencode" / "opencode.jsonc",
    }


def written_entries(sb: Sandbox) -> dict[str, dict[str, Any]]:
    """Each client's `dot` entry as written (the files are fresh, so plain JSON or TOML)."""
    paths = config_paths(sb)

    def load(client_id: str) -> Any:
        text = paths[client_id].read_text(encoding="utf-8")
        return tomllib.loads(text) if client_id == "codex" else json.loads(text)

    return {
        "claude-code": load("claude-code")["mcpServers"][NAME],
        "codex": load("codex")["mcp_servers"][NAME],
        "gemini-cli": load("gemini-cli")["mcpServers"][NAME],
        "opencode": load("opencode")["mcp"][NAME],
    }


def written_authorizations(sb: Sandbox) -> dict[str, str | None]:
    entries = written_entries(sb)
    return {
        client_id: (entry.get("http_headers") or entry.get("headers") or {}).get("Authorization")
        for client_id, entry in entries.items()
    }


def assert_private(paths: list[Path]) -> None:
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths}
    assert all(m == "0o600" for m in modes.values()), modes


def snapshot(sb: Sandbox) -> dict[str, bytes]:
    """Every file of the fake user (home and project), with its content."""
    return {
        str(p): p.read_bytes()
        for base in (sb.home, sb.project)
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def token_info(live: LiveServer, token: str) -> dict[str, Any]:
    resp = live.api("GET", "/api/token-info", token)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def query_log(live: LiveServer) -> list[dict[str, Any]]:
    """The server's compliance log, oldest first."""

    async def recent() -> list[dict[str, Any]]:
        async with live.state.db.tx() as conn:
            rows: list[dict[str, Any]] = await querylog.recent(conn, 1000)
        return rows

    entries: list[dict[str, Any]] = live.call(recent)
    return sorted(entries, key=lambda e: e["id"])


def last_log_id(live: LiveServer) -> int:
    entries = query_log(live)
    return entries[-1]["id"] if entries else 0


def registered_clients(live: LiveServer) -> dict[str, dict[str, Any]]:
    """The OAuth clients registered at the server (dynamic registration): id -> metadata."""

    async def rows() -> dict[str, dict[str, Any]]:
        async with live.state.db.tx() as conn:
            found = (await conn.execute(select(dbschema.oauth_clients))).all()
        return {r.client_id: json.loads(r.metadata) for r in found}

    result: dict[str, dict[str, Any]] = live.call(rows)
    return result


def active_mcp_token(live: LiveServer) -> dict[str, Any]:
    """The analyst's active MCP token as the server describes it (display, created_at, ...)."""
    access = live.sign_in(ANALYST)["access_token"]
    resp = live.api("GET", "/api/mcp-token", access)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


# ---- 1. an MCP token on stdin ----------------------------------------------------------------


def test_wizard_token_stdin_real_clients_connect(
    dot_server: LiveServer, user_sandbox: Sandbox, dot_setup_cli: list[str]
) -> None:
    sb = user_sandbox
    token = dot_server.mcp_token(ANALYST)
    wizard = run_wizard(
        sb, dot_server, dot_setup_cli, "--auth", "token", token=token, label="dot-setup wizard"
    )
    assert wizard.rc == 0, wizard.describe()
    assert token not in wizard.output, "the wizard printed the token"
    assert "Checking the token from stdin" in wizard.stderr, wizard.describe()
    assert f"of {ANALYST}, US" in wizard.stderr, wizard.describe()
    verified = VERIFIED.search(wizard.stderr)
    assert verified, f"no verify line in the wizard's stderr\n{wizard.describe()}"
    assert verified.group(1).startswith("dot_mcp_us_"), wizard.describe()

    # What it wrote: the server's URL and that token, for each client, in private files.
    assert written_authorizations(sb) == dict.fromkeys(CLIENT_IDS, f"Bearer {token}")
    entries = written_entries(sb)
    assert {e["url"] for e in entries.values()} == {dot_server.mcp_url}, entries
    assert_private(list(config_paths(sb).values()))
    info = token_info(dot_server, token)
    assert (info["kind"], info["owner"], info["mcp_access"]) == ("mcp_token", ANALYST, True), info

    mark = last_log_id(dot_server)
    statuses = ask_clients(sb, codex_call=("list_data_sources", {}))
    assert_all_connected(statuses, wizard)

    # Codex's call ran as the analyst, with the MCP token the wizard wrote.
    call = statuses["codex"].entry["call"]
    text = call["result"]["content"][0]["text"]
    assert json.loads(text)["user"] == ANALYST, call
    logged = [e for e in query_log(dot_server) if e["id"] > mark]
    assert [(e["tool"], e["email"], e["via"], e["allowed"]) for e in logged] == [
        ("list_data_sources", ANALYST, "pat", True)
    ], logged


# ---- 2. a dead token is refused before anything is written -----------------------------------


@pytest.mark.parametrize("which", ["wrong", "revoked"])
def test_wizard_refuses_dead_token_before_writing(
    dot_server: LiveServer, user_sandbox: Sandbox, dot_setup_cli: list[str], which: str
) -> None:
    sb = user_sandbox
    if which == "wrong":
        token, hint = WRONG_TOKEN, "check that you copied the complete token"
    else:
        token = dot_server.mcp_token(ANALYST)
        dot_server.mcp_token(ANALYST)  # one active MCP token per user: this revokes `token`
        hint = "replaced by a newer one"
    before = snapshot(sb)
    wizard = run_wizard(
        sb,
        dot_server,
        dot_setup_cli,
        "--auth",
        "token",
        token=token,
        label=f"dot-setup wizard ({which} token)",
    )
    assert wizard.rc != 0, wizard.describe()
    assert "Checking the token from stdin" in wizard.stderr, wizard.describe()
    assert "error:" in wizard.stderr and hint in wizard.stderr, wizard.describe()
    assert "Plan for" not in wizard.stderr, wizard.describe()
    assert token not in wizard.output, "the wizard printed the token"
    # Nothing written: no client config, no backup, the fake user's files as they were.
    assert not any(p.exists() for p in config_paths(sb).values()), wizard.describe()
    assert snapshot(sb) == before, wizard.describe()
    assert not (sb.state_dir / "backups").exists(), wizard.describe()


# ---- 3. OAuth: the clients find the server's OAuth metadata ----------------------------------


def test_wizard_oauth_real_clients_need_sign_in(
    dot_server: LiveServer, user_sandbox: Sandbox, dot_setup_cli: list[str]
) -> None:
    sb = user_sandbox
    wizard = run_wizard(
        sb, dot_server, dot_setup_cli, "--auth", "oauth", label="dot-setup wizard (OAuth)"
    )
    assert wizard.rc == 0, wizard.describe()
    assert f"{dot_server.mcp_url} offers OAuth sign-in" in wizard.stderr, wizard.describe()
    entries = written_entries(sb)
    assert written_authorizations(sb) == dict.fromkeys(CLIENT_IDS), entries
    assert {e["url"] for e in entries.values()} == {dot_server.mcp_url}, entries

    known = set(registered_clients(dot_server))
    statuses = ask_clients(sb)
    detail = describe_all(statuses, wizard)

    # Claude Code: "Needs authentication" (a server without OAuth metadata reads "failed").
    assert statuses["claude-code"].state == "needs-auth", detail
    # Codex: authenticationRequired, and not logged in to an OAuth server it found
    # (without metadata: authStatus "unsupported").
    assert statuses["codex"].state == "needs-auth", detail
    assert statuses["codex"].entry.get("authStatus") == "notLoggedIn", detail
    # opencode: "needs authentication", having registered itself at the reference server.
    assert statuses["opencode"].state == "needs-auth", detail
    oc_auth = json.loads(
        (sb.home / ".local" / "share" / "opencode" / "mcp-auth.json").read_text(encoding="utf-8")
    )[NAME]
    oc_client = oc_auth["clientInfo"]["clientId"]
    assert oc_auth["serverUrl"] == dot_server.mcp_url, oc_auth
    new = set(registered_clients(dot_server)) - known
    assert oc_client in new, f"{oc_client} not registered at the server: {new}\n{detail}"
    # Gemini CLI's `mcp list` has no needs-auth state (OAuth runs in its interactive /mcp auth):
    # the entry is read and listed, not connected.
    assert statuses["gemini-cli"].state == "failed", detail
    assert "Invalid configuration" not in statuses["gemini-cli"].detail, detail


# ---- 4. --new-token: sign in through the browser, generate, connect --------------------------


def test_wizard_new_token_sign_in_real_clients_connect(
    dot_server: LiveServer, user_sandbox: Sandbox, dot_setup_cli: list[str]
) -> None:
    sb = user_sandbox
    old = dot_server.mcp_token(ANALYST)  # the analyst already has an MCP token
    old_display = active_mcp_token(dot_server)["display"]
    wizard = run_wizard_signing_in(
        sb,
        dot_server,
        dot_setup_cli,
        "--auth",
        "token",
        "--new-token",
        label="dot-setup wizard (--new-token)",
    )
    assert wizard.auth_url is not None, wizard.describe()
    assert wizard.auth_url.startswith(dot_server.origin + "/authorize?"), wizard.describe()
    assert wizard.consent is not None and "code" in wizard.consent.params, wizard.describe()
    assert wizard.callback_status == 200, wizard.describe()
    assert wizard.rc == 0, wizard.describe()
    assert not wizard.timed_out, wizard.describe()
    assert f"revokes your current one ({old_display}" in wizard.stderr, wizard.describe()
    assert "Generated MCP token dot_mcp_us_" in wizard.stderr, wizard.describe()
    assert VERIFIED.search(wizard.stderr), wizard.describe()

    # Every client got the same new token: the analyst's, and the old one stopped working.
    auths = written_authorizations(sb)
    assert set(auths) == set(CLIENT_IDS) and len(set(auths.values())) == 1, auths
    new = str(auths["claude-code"]).removeprefix("Bearer ")
    assert new != old and new.startswith("dot_mcp_us_"), auths
    assert new not in wizard.stdout + wizard.stderr, "the wizard printed the new token"
    info = token_info(dot_server, new)
    assert (info["kind"], info["owner"]) == ("mcp_token", ANALYST), info
    assert active_mcp_token(dot_server)["display"] == info["display"]
    assert dot_server.api("GET", "/api/token-info", old).status_code == 401
    assert_private(list(config_paths(sb).values()))

    statuses = ask_clients(sb)
    assert_all_connected(statuses, wizard)


def test_wizard_new_token_deny_writes_nothing(
    dot_server: LiveServer, user_sandbox: Sandbox, dot_setup_cli: list[str]
) -> None:
    sb = user_sandbox
    old = dot_server.mcp_token(ANALYST)
    before = snapshot(sb)
    wizard = run_wizard_signing_in(
        sb,
        dot_server,
        dot_setup_cli,
        "--auth",
        "token",
        "--new-token",
        action="deny",
        label="dot-setup wizard (--new-token, deny)",
    )
    assert wizard.consent is not None, wizard.describe()
    assert wizard.consent.params.get("error") == "access_denied", wizard.describe()
    assert not wizard.timed_out, wizard.describe()
    assert wizard.rc not in (0, None), wizard.describe()
    assert "access was denied" in wizard.stderr, wizard.describe()
    assert "Generated MCP token" not in wizard.stderr, wizard.describe()
    assert snapshot(sb) == before, wizard.describe()
    # No token was generated: the analyst's token still works.
    assert token_info(dot_server, old)["owner"] == ANALYST
