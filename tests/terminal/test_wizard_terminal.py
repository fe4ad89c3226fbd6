"""The `dot-setup` wizard as a person meets it: the installed console script in a real
pseudo-terminal, keys typed as a terminal sends them, against the reference server (US and EU
regions) on 127.0.0.1. Sign-ins are approved the way a browser would: the URL the wizard
prints is opened by a scripted browser, and its final redirect is followed to dot-setup's
loopback listener (or the device page is approved, for --no-browser).

Each case checks what was on screen and what is on disk and on the server afterwards.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from tests.server.live import ANALYST, PASSWORD, LiveServer
from tests.terminal.driver import (
    CLI,
    CTRL_C,
    CURSOR_BEFORE,
    DOWN,
    ENTER,
    Servers,
    Terminal,
    snapshot,
)

from dot_setup.secrets import mask
from dot_setup.server.headless import HeadlessBrowser

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only"),
]

Spawn = Callable[..., Terminal]

# The wizard's questions, as shown.
CLIENTS_Q = "Which clients should use Dot? (space toggles, enter confirms)"
REGION_Q = "Which region is your Dot account in?"
AUTH_Q = "How should the clients sign in?"
TOKEN_Q = "The token clients need: how do you want to get it?"
PASTE_Q = "MCP token (hidden; Settings > Integrations in Dot):"
SHOW_Q = "Show the changes (tokens are masked)?"
WRITE_Q = "Write 2 file(s)?"
GENERATE_Q = "Generate a new MCP token and write 2 file(s)?"
SWITCH_US_Q = "Switch to the US region?"

SIGN_IN_URL = r"Open this URL in your browser:\r\n  (\S+)\r\n"


def shown(token: str) -> str:
    """A regex for the token as the terminal may show it: kind, region, …, last four.
    (dot-setup's mask keeps one more "_" than the server's display when the random part
    starts with "_": dot_mcp_us__…abcd vs dot_mcp_us_…abcd; both hide the token.)"""
    prefix = token[: len("dot_mcp_us_")]
    assert re.fullmatch(r"dot_mcp_(us|eu)_", prefix), prefix
    return rf"{prefix}_?…{re.escape(token[-4:])}"


# -- helpers ------------------------------------------------------------------------------------


def cursor_entry(home: Path) -> dict[str, object]:
    servers: dict[str, object] = json.loads((home / ".cursor" / "mcp.json").read_text())[
        "mcpServers"
    ]
    assert servers["github"] == json.loads(CURSOR_BEFORE)["mcpServers"]["github"]
    entry = servers["dot"]
    assert isinstance(entry, dict)
    return entry


def codex_entry(home: Path) -> dict[str, object]:
    entry: dict[str, object] = tomllib.loads((home / ".codex" / "config.toml").read_text())[
        "mcp_servers"
    ]["dot"]
    return entry


def bearer(entry: dict[str, object], key: str = "headers") -> str:
    headers = entry[key]
    assert isinstance(headers, dict)
    value = headers["Authorization"]
    assert isinstance(value, str) and value.startswith("Bearer ")
    return value.removeprefix("Bearer ")


def shown_plan(seen: str) -> tuple[str, str]:
    """The server URL and the lines of the (last) "Plan for URL:" block on screen."""
    m = re.findall(r"^Plan for (\S+):\n((?:  .*\n)+)", seen, re.M)
    assert m, seen
    url, block = m[-1]
    return url, "\n".join(line.strip() for line in block.splitlines())


def follow_redirect(location: str) -> None:
    """The browser lands on dot-setup's loopback listener, which answers the page."""
    assert location.startswith("http://127.0.0.1:"), location
    with httpx2.Client(timeout=15) as http:
        page = http.get(location)
    assert page.status_code == 200 and "Signed in" in page.text, page.text


def approve_in_browser(url: str) -> None:
    """A person opens the printed URL, signs in as the analyst, and presses Allow."""
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        outcome = browser.authorize(url)
    assert "code" in outcome.params, outcome.location
    follow_redirect(outcome.location)


def token_info(server: LiveServer, token: str) -> httpx2.Response:
    with httpx2.Client(timeout=15) as http:
        return http.get(
            server.origin + "/api/token-info", headers={"Authorization": f"Bearer {token}"}
        )


def up_to_token_question(term: Terminal, region_keys: tuple[str, ...] = (ENTER,)) -> None:
    """Both detected clients, the region, then MCP token (the second sign-in choice)."""
    term.answer(CLIENTS_Q, ENTER)
    term.answer(REGION_Q, *region_keys)
    term.answer(AUTH_Q, DOWN, ENTER)


def assert_token_written(home: Path, server: LiveServer, seen: str, raw: str) -> str:
    """Both files hold one MCP token the server accepts; the terminal showed it masked only."""
    cursor, codex = cursor_entry(home), codex_entry(home)
    assert cursor["url"] == codex["url"] == server.mcp_url
    token = bearer(cursor)
    assert bearer(codex, "http_headers") == token
    assert token.startswith(f"dot_mcp_{server.config.region}_")
    info = token_info(server, token)
    assert info.status_code == 200, info.text
    assert info.json()["owner"] == ANALYST and info.json()["kind"] == "mcp_token"
    assert token not in raw, "the terminal showed the whole token"
    assert re.search(shown(token), seen)
    return token


def expect_interrupted_notice(term: Terminal) -> None:
    """cli.run promises "interrupted: nothing more was changed" on Ctrl-C (typer 0.28 turns
    KeyboardInterrupt into Exit(130), which click's non-standalone main returns as a value)."""
    assert "interrupted: nothing more was changed" in term.seen


# -- 1. OAuth: nothing to sign in ---------------------------------------------------------------


def test_oauth_path_writes_the_us_url_without_a_token(
    spawn: Spawn, home: Path, servers: Servers
) -> None:
    term = spawn()
    term.answer(CLIENTS_Q, ENTER)
    term.answer(REGION_Q, ENTER)
    term.answer(AUTH_Q, ENTER)
    term.question(SHOW_Q)  # the plan is complete once the next question is up
    url, plan = shown_plan(term.seen)
    assert url == servers.us.mcp_url
    assert re.search(r"^create +\S+/\.codex/config\.toml +\(codex, http_oauth\)$", plan, re.M)
    assert re.search(r"^update +\S+/\.cursor/mcp\.json +\(cursor, http_oauth\)$", plan, re.M)
    term.send("n")
    term.answer(WRITE_Q, "y")
    assert term.finish() == 0

    seen = term.seen
    assert "Open this URL" not in seen, "OAuth clients sign in themselves: no sign-in here"
    assert "Next steps:" in seen and "Cursor: Restart Cursor" in seen
    assert f"{servers.us.mcp_url} offers OAuth sign-in" in seen
    assert cursor_entry(home) == {"url": servers.us.mcp_url}
    assert codex_entry(home) == {"url": servers.us.mcp_url}
    for path in (home / ".cursor" / "mcp.json", home / ".codex" / "config.toml"):
        text = path.read_text()
        assert "dot_mcp_" not in text and "Authorization" not in text


# -- 2. MCP token, generated after signing in -----------------------------------------------------


def test_token_path_signs_in_and_generates_a_token(
    spawn: Spawn, home: Path, servers: Servers
) -> None:
    term = spawn()
    up_to_token_question(term)
    term.answer(TOKEN_Q, ENTER)  # sign in and generate
    url = term.expect(SIGN_IN_URL).group(1)
    assert url.startswith(servers.us.origin + "/authorize?")
    assert parse_qs(urlsplit(url).query)["redirect_uri"][0].startswith("http://127.0.0.1:")
    approve_in_browser(url)
    term.answer(SHOW_Q, "y")  # the diff, with the token to be generated masked
    term.answer(GENERATE_Q, "y")
    assert term.finish() == 0

    seen, raw = term.seen, term.raw.getvalue()
    token = assert_token_written(home, servers.us, seen, raw)
    assert re.fullmatch(shown(token), mask(token))
    assert f"Generated MCP token {mask(token)}" in seen
    assert re.search(rf"✓ connected with MCP token {re.escape(mask(token))}: 5 tools", seen)
    assert "Next steps:" in seen and "Restart Cursor" in seen
    # The file dot-setup created is private; the user's own 0644 mcp.json keeps its mode, and
    # the preview said so before anything was written.
    codex_file, cursor_file = home / ".codex" / "config.toml", home / ".cursor" / "mcp.json"
    assert stat.S_IMODE(codex_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cursor_file.stat().st_mode) == 0o644
    warning = f"{cursor_file} is readable by other users and will hold a token"
    assert seen.index(warning) < seen.index(GENERATE_Q)
    # dot-setup's own sign-in is kept in a private file, never shown either.
    creds = home.parent / "state" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    for session in json.loads(creds.read_text()).values():
        if isinstance(session, dict) and session.get("access_token"):
            assert session["access_token"] not in raw
            assert session["refresh_token"] not in raw


# -- 3. and 4. Pasted tokens that are refused ----------------------------------------------------


def test_pasted_bad_token_is_refused_then_a_good_one_works(
    spawn: Spawn, home: Path, servers: Servers
) -> None:
    good = servers.us.mcp_token()
    bad = "dot_mcp_us_" + "Q" * 24 + good[-16:]
    term = spawn()
    up_to_token_question(term)
    term.answer(TOKEN_Q, DOWN, ENTER)  # paste
    term.answer(PASTE_Q)
    term.type_line(bad)
    term.expect("error: Invalid API token")
    term.expect("hint: check that you copied the complete token")
    term.expect(r"Try again \(2 left\), or press Ctrl-C to stop\.")
    term.answer(PASTE_Q)
    term.type_line(good)
    term.expect(rf"MCP token {shown(good)} of {re.escape(ANALYST)}, US, valid until")
    term.answer(SHOW_Q, "n")
    term.answer(WRITE_Q, "y")
    assert term.finish() == 0

    raw = term.raw.getvalue()
    assert bad not in raw and good not in raw, "a pasted token was echoed"
    assert assert_token_written(home, servers.us, term.seen, raw) == good


def test_pasted_regular_api_token_is_refused(spawn: Spawn, home: Path, servers: Servers) -> None:
    api_token = servers.us.api_token()
    good = servers.us.mcp_token()
    term = spawn()
    up_to_token_question(term)
    term.answer(TOKEN_Q, DOWN, ENTER)
    term.answer(PASTE_Q)
    term.type_line(api_token)
    term.expect("error: Token does not have required MCP access")
    term.expect("hint: this is a regular API token; clients need an MCP token")
    term.expect(r"Try again \(2 left\)")
    term.answer(PASTE_Q)
    term.type_line(good)
    term.expect(rf"MCP token {shown(good)} of {re.escape(ANALYST)}")
    term.answer(SHOW_Q, "n")
    term.answer(WRITE_Q, "y")
    assert term.finish() == 0
    raw = term.raw.getvalue()
    assert api_token not in raw
    assert assert_token_written(home, servers.us, term.seen, raw) == good


# -- 5. Regions -------------------------------------------------------------------------------------


def test_choosing_eu_writes_the_eu_url(spawn: Spawn, home: Path, servers: Servers) -> None:
    term = spawn()
    term.answer(CLIENTS_Q, ENTER)
    term.answer(REGION_Q, DOWN, ENTER)
    term.answer(AUTH_Q, ENTER)
    term.answer(SHOW_Q, "n")
    assert shown_plan(term.seen)[0] == servers.eu.mcp_url
    term.answer(WRITE_Q, "y")
    assert term.finish() == 0
    assert cursor_entry(home) == codex_entry(home) == {"url": servers.eu.mcp_url}
    assert f"{servers.eu.mcp_url} offers OAuth sign-in" in term.seen


def test_us_token_pasted_after_choosing_eu_switches_to_us(
    spawn: Spawn, home: Path, servers: Servers
) -> None:
    us_token = servers.us.mcp_token()
    term = spawn()
    up_to_token_question(term, region_keys=(DOWN, ENTER))  # EU
    term.answer(TOKEN_Q, DOWN, ENTER)
    term.answer(PASTE_Q)
    term.type_line(us_token)
    term.expect("error: this token is for the US region")
    term.answer(SWITCH_US_Q, "y")
    term.expect(rf"MCP token {shown(us_token)} of {re.escape(ANALYST)}, US")
    term.answer(SHOW_Q, "n")
    assert shown_plan(term.seen)[0] == servers.us.mcp_url
    term.answer(WRITE_Q, "y")
    assert term.finish() == 0
    assert assert_token_written(home, servers.us, term.seen, term.raw.getvalue()) == us_token
    assert servers.eu.mcp_url not in (home / ".cursor" / "mcp.json").read_text()


# -- 6. The consent page expires while the person is away ------------------------------------------


def test_expired_consent_page_then_a_new_attempt_completes(
    spawn: Spawn, home: Path, servers: Servers
) -> None:
    term = spawn()
    up_to_token_question(term)
    term.answer(TOKEN_Q, ENTER)
    url = term.expect(SIGN_IN_URL).group(1)
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        first = browser.http.get(url)
        assert first.status_code == 302, first.text
        consent = urljoin(url, first.headers["location"])
        page = browser.http.get(consent)
        if "Sign in to continue" in page.text:  # 200: a page for a person, no challenge
            browser.login(consent)
            page = browser.http.get(consent)
        assert page.status_code == 200 and "Allow access to Dot?" in page.text, page.text
        csrf = re.search(r"name='csrf' value='([^']*)'", page.text)
        rid = re.search(r"name='r' value='([^']*)'", page.text)
        assert csrf and rid
        servers.us.clock.advance(601)  # the person comes back 10 minutes later
        late = browser.http.post(
            urljoin(consent, "/consent"),
            data={"csrf": csrf.group(1), "r": rid.group(1), "action": "allow"},
        )
        assert "Authorization session expired" in late.text, late.text
        assert "location" not in late.headers  # nothing reached the loopback listener
        assert term.child.isalive(), "the wizard should still be waiting for the sign-in"
        # A new attempt: the person opens the URL from the terminal again.
        retry = browser.authorize(url)
    assert "code" in retry.params, retry.location
    follow_redirect(retry.location)
    term.answer(SHOW_Q, "n")
    term.answer(GENERATE_Q, "y")
    assert term.finish() == 0
    assert_token_written(home, servers.us, term.seen, term.raw.getvalue())
    assert "5 tools" in term.seen


# -- 7. Ctrl-C before the confirmation changes nothing ---------------------------------------------


@pytest.mark.parametrize("where", ["auth question", "write confirmation"])
def test_ctrl_c_changes_nothing(
    spawn: Spawn, home: Path, state_dir: Path, servers: Servers, where: str
) -> None:
    before = snapshot(home)
    term = spawn()
    term.answer(CLIENTS_Q, ENTER)
    term.answer(REGION_Q, ENTER)
    if where == "auth question":
        term.answer(AUTH_Q, CTRL_C)
    else:
        term.answer(AUTH_Q, ENTER)
        term.answer(SHOW_Q, "n")
        term.answer(WRITE_Q, CTRL_C)
    assert term.finish() == 130
    assert "Next steps" not in term.seen and "Traceback" not in term.seen
    assert snapshot(home) == before, "a file in the home changed"
    assert snapshot(state_dir) == {}
    expect_interrupted_notice(term)


# -- 8. No terminal ---------------------------------------------------------------------------------


def test_without_a_terminal_the_wizard_names_the_flags(
    wizard_env: dict[str, str], home: Path, state_dir: Path, tmp_path: Path
) -> None:
    before = snapshot(home)
    proc = subprocess.run(
        [CLI],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=wizard_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "the wizard needs a terminal" in proc.stderr
    assert "dot-setup install" in proc.stderr
    for flag in ("--client", "--region", "--auth", "--new-token", "--yes"):
        assert flag in proc.stderr, flag
    assert proc.stdout == ""
    assert snapshot(home) == before
    assert snapshot(state_dir) == {}


# -- 9. --no-browser: the device grant -------------------------------------------------------------


def test_no_browser_signs_in_with_a_code(spawn: Spawn, home: Path, servers: Servers) -> None:
    term = spawn("--no-browser")
    up_to_token_question(term)
    term.answer(TOKEN_Q, ENTER)
    m = term.expect(
        r"On any device with a browser, open:\r\n  (\S+)\r\n"
        r"and check that it shows the code  (\S+)\r\n"
    )
    url, code = m.group(1), m.group(2)
    assert url.startswith(servers.us.origin + "/device")
    assert parse_qs(urlsplit(url).query)["user_code"] == [code]
    assert "Open this URL in your browser" not in term.seen
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        browser.approve_device(url)
    term.answer(SHOW_Q, "n")  # dot-setup polls every 5 s: the first poll gets the tokens
    term.answer(GENERATE_Q, "y")
    assert term.finish() == 0
    assert_token_written(home, servers.us, term.seen, term.raw.getvalue())
    assert "5 tools" in term.seen


# -- 10. The demo ------------------------------------------------------------------------------------


def _demo_files(seen: str, sandbox: Path) -> list[Path]:
    assert f"Demo done. Everything it wrote is under {sandbox}:" in seen
    listed = seen.split("Everything it wrote is under", 1)[1]
    paths = [Path(p.split("  (")[0]) for p in re.findall(r"^  (/\S.*)$", listed, re.M)]
    assert paths, seen
    for path in paths:
        assert path.is_file() and sandbox in path.parents, path
    return paths


PENDING_QUESTION = re.compile(
    r"\?(?:\x1b\[[0-9;]*m)* ([^\x1b\r\n]+?) (?:\x1b\[[0-9;]*m)*\((?:Use arrow keys|y/N|Y/n)"
)


def accept_every_default(term: Terminal, end: str) -> list[str]:
    """Press Enter at every question until `end` is shown; returns the questions asked."""
    asked: list[str] = []
    while True:
        m = term.expect(rf"{PENDING_QUESTION.pattern}|{re.escape(end)}", timeout=60)
        if m.group(0) == end:
            return asked
        if asked and asked[-1] == m.group(1):
            continue  # the same question drawn again: it already has its Enter
        asked.append(m.group(1))
        assert len(asked) <= 8, asked
        term.send(ENTER)


def test_demo_with_yes(spawn: Spawn, home: Path, tmp_path: Path, base_env: dict[str, str]) -> None:
    before = snapshot(home)
    sandbox = tmp_path / "demo"
    term = spawn("demo", "--sandbox", str(sandbox), "--yes", env=base_env)
    asked = accept_every_default(term, "Demo done.")
    assert term.finish(timeout=60) == 0
    seen = term.seen
    assert "no questions asked (no terminal, or --yes)" in seen
    assert "(demo) a scripted browser signs in as analyst@demo.dot.local" in seen
    files = _demo_files(seen, sandbox)
    assert sandbox / "home" / ".cursor" / "mcp.json" in files
    dot = json.loads((sandbox / "home" / ".cursor" / "mcp.json").read_text())["mcpServers"]["dot"]
    assert dot["url"].startswith("http://127.0.0.1:")
    assert re.search(r"✓ connected with MCP token dot_mcp_us__?…\S{4}: 5 tools", seen)
    assert snapshot(home) == before, "the demo touched the (fake) real home"
    assert not asked, f"`demo --yes` promises no questions, yet asked {asked}"


def test_demo_interactive_accepting_every_default(
    spawn: Spawn, home: Path, tmp_path: Path, base_env: dict[str, str]
) -> None:
    before = snapshot(home)
    sandbox = tmp_path / "demo"
    term = spawn("demo", "--sandbox", str(sandbox), env=base_env)
    asked = accept_every_default(term, "Demo done.")
    assert term.finish(timeout=60) == 0
    assert asked == [CLIENTS_Q, REGION_Q, AUTH_Q, SHOW_Q, "Write 4 file(s)?"]
    seen = term.seen
    files = _demo_files(seen, sandbox)
    demo_home = sandbox / "home"
    for rel in (".cursor/mcp.json", ".claude.json", ".gemini/settings.json"):
        assert demo_home / rel in files
        entry = json.loads((demo_home / rel).read_text())["mcpServers"]["dot"]
        assert entry["url"].startswith("http://127.0.0.1:") and "headers" not in entry, entry
    assert "Restart Cursor" in seen
    assert snapshot(home) == before
