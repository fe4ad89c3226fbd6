"""The wizard's logic, driven in-process through a scripted prompter.

Fast tests need no server: the regions keep their real URLs (nothing connects to them; the one
network step of an OAuth-only run, "does the server offer OAuth?", is replaced), and a guard
fails any connection to a host other than 127.0.0.1. The `server` tests run the reference Dot
server for both regions on 127.0.0.1 and sign in with a scripted browser.

Each test checks what a user notices: the exit code (or the error the CLI turns into one), the
files, the messages on stderr, and that nothing at all was written when the run stopped early.
"""

from __future__ import annotations

import io
import socket
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tests.helpers import run
from tests.prompter import ScriptedPrompter
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.engine import remembered as settings
from dot_setup.errors import NeedsInputError, TokenInputError, UsageError
from dot_setup.fs.backups import list_backups
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_service
from dot_setup.secrets import mask
from dot_setup.server.config import Limits
from dot_setup.server.headless import HeadlessBrowser
from dot_setup.wizard.flow import Wizard, WizardOptions

# -- the answers, as the user picks them -------------------------------------------------------

CLIENTS_Q = "Which clients should use Dot? (space toggles, enter confirms)"
REGION_Q = "Which region is your Dot account in?"
AUTH_Q = "How should the clients sign in?"
TOKEN_Q = "The token clients need: how do you want to get it?"
SECRET_Q = "MCP token (hidden; Settings > Integrations in Dot):"
SHOW_Q = "Show the changes (tokens are masked)?"
URL_Q = "MCP server URL:"

OAUTH = "OAuth: each client signs in to Dot itself (recommended)"
TOKEN = "MCP token: one token for every client"
EACH = "Choose for each client"
GENERATE = "Sign in to Dot and generate a new MCP token (recommended)"
PASTE = "Paste an MCP token I already have"
CUSTOM = "A custom server URL (self-hosted or local)"

CURSOR_FILE = """{
  // my servers
  "mcpServers": {
    "github": { "command": "npx", "args": ["-y", "github-mcp"] }
  },
  "theme": "dark"
}
"""
CODEX_FILE = (
    '# my Codex settings\nmodel = "gpt-5-codex"\n\n'
    '[mcp_servers.docs]\nurl = "https://docs.example.com/mcp"\n'
)

Answer = Any  # a value, an exception to raise, or a callable picking from the choices


def clients(*names: str) -> Callable[[Sequence[str]], list[str]]:
    """Tick these clients by display name ("Cursor", "Codex CLI"), whatever their status."""

    def pick(choices: Sequence[str]) -> list[str]:
        picked = [c for c in choices if c.split(" (")[0] in names]
        assert len(picked) == len(names), (names, choices)
        return picked

    return pick


def region(rid: str) -> Callable[[Sequence[str]], str]:
    def pick(choices: Sequence[str]) -> str:
        (choice,) = [c for c in choices if f"({rid.upper()}):" in c]
        return choice

    return pick


@dataclass
class Asked:
    kind: str
    question: str
    choices: list[str]
    default: Any


class Recorder(ScriptedPrompter):
    """A ScriptedPrompter that records each question's choices and default (or pre-checked
    boxes), checks every answer is one of the choices, and notes what stderr said before it."""

    def __init__(self, answers: Sequence[Answer], capsys: Any = None) -> None:
        super().__init__(answers)
        self.asked: list[Asked] = []
        self.capsys = capsys
        self.out = ""
        self.err = ""
        self.err_before: dict[str, str] = {}

    def drain(self) -> tuple[str, str]:
        """Everything printed so far (stdout, stderr), including what came before a question."""
        if self.capsys is not None:
            got = self.capsys.readouterr()
            self.out += got.out
            self.err += got.err
        return self.out, self.err

    def _ask(self, kind: str, question: str, choices: Sequence[str], default: Any) -> Any:
        self.asked.append(Asked(kind, question, list(choices), default))
        self.err_before[question] = self.drain()[1]
        answer = self._next(question)
        if callable(answer):
            answer = answer(choices)
        if kind == "select":
            assert answer in choices, (question, answer, choices)
        if kind == "checkbox":
            assert set(answer) <= set(choices), (question, answer, choices)
        return answer

    def confirm(self, question: str, default: bool = True) -> bool:
        return bool(self._ask("confirm", question, [], default))

    def select(self, question: str, choices: Sequence[str], default: str | None = None) -> str:
        return str(self._ask("select", question, choices, default))

    def checkbox(
        self, question: str, choices: Sequence[str], checked: Sequence[str] = ()
    ) -> list[str]:
        return list(self._ask("checkbox", question, choices, list(checked)))

    def text(self, question: str, default: str = "") -> str:
        return str(self._ask("text", question, [], default))

    def secret(self, question: str) -> str:
        return str(self._ask("secret", question, [], None))

    def question(self, text: str) -> Asked:
        (found,) = [a for a in self.asked if a.question == text]
        return found


# -- helpers -----------------------------------------------------------------------------------


def wizard(answers: Sequence[Answer] | Recorder | None, **options: Any) -> tuple[int, Recorder]:
    """Run the wizard in-process; answers=None means no prompter (and, in pytest, no terminal)."""
    if answers is None:
        code = Wizard(WizardOptions(**options), Paths.from_env()).run()
        return code, Recorder([])
    rec = answers if isinstance(answers, Recorder) else Recorder(answers)
    return Wizard(WizardOptions(**options), Paths.from_env(), prompter=rec).run(), rec


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[bytes, int]]:
    """Every file under root: bytes and mode (skip: a folder left out, e.g. the state dir)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (skip and skip in path.parents):
            files[str(path.relative_to(root))] = (
                path.read_bytes(),
                stat.S_IMODE(path.stat().st_mode),
            )
    return files


def cursor_path(home: Path) -> Path:
    return home / ".cursor" / "mcp.json"


def codex_path(home: Path) -> Path:
    return home / ".codex" / "config.toml"


def jsonc(path: Path) -> Any:
    import json5

    return json5.loads(path.read_text(encoding="utf-8"))


def with_configs(home: Path) -> None:
    """A machine with Cursor and Codex, each config already holding another server."""
    cursor_path(home).parent.mkdir(parents=True)
    cursor_path(home).write_text(CURSOR_FILE, encoding="utf-8")
    codex_path(home).parent.mkdir(parents=True)
    codex_path(home).write_text(CODEX_FILE, encoding="utf-8")


def us_url() -> str:
    return get_service("dot").regions["us"].url


def eu_url() -> str:
    return get_service("dot").regions["eu"].url


_LOCAL = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def local_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_home: Path
) -> Iterator[list[str]]:
    """The file credential store, no clipboard, an empty PATH, and no host but 127.0.0.1."""
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    monkeypatch.setenv("DOT_SETUP_NO_CLIPBOARD", "1")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no client executable is "detected" on PATH
    real = socket.getaddrinfo
    refused: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOCAL:
            refused.append(name)
            raise OSError(f"test guard: no connections to {name}")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield refused
    assert not refused, f"the wizard tried to reach {refused}"


@pytest.fixture
def oauth_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fast tests: the verify step's "does this server offer OAuth?" without a server."""
    asked: list[str] = []

    def offered(url: str) -> bool:
        asked.append(url)
        return True

    monkeypatch.setattr("dot_setup.engine.verify._oauth_offered", offered)
    return asked


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())


# == fast: no server ===========================================================================


def test_no_terminal_and_no_flags_is_a_usage_error(fake_home: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    r = run()  # `dot-setup` with stdin not a terminal
    assert r.code == 2
    assert "needs a terminal" in r.err and "dot-setup install" in r.err
    assert snapshot(tmp_path) == before


def test_no_terminal_and_no_flags_in_process(no_tty: None, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(UsageError) as exc:
        wizard(None)
    assert exc.value.exit_code == 2
    assert "dot-setup install" in exc.value.hint
    assert snapshot(tmp_path) == before


def test_no_terminal_missing_region_names_the_flag(
    no_tty: None, fake_home: Path, tmp_path: Path
) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(NeedsInputError) as exc:
        wizard(None, clients=["cursor"], yes=True)
    assert "--region" in exc.value.message and exc.value.exit_code == 2
    assert snapshot(tmp_path) == before


def test_no_terminal_uses_the_remembered_region(
    no_tty: None, fake_home: Path, oauth_checks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings.save(Paths.from_env(), "dot", region="eu", server_url="")
    code, _ = wizard(None, clients=["cursor"], yes=True)
    assert code == 0, capsys.readouterr().err
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": eu_url()}
    assert oauth_checks == [eu_url()]


def test_detected_clients_are_offered_pre_checked(fake_home: Path) -> None:
    (fake_home / ".cursor").mkdir()
    (fake_home / ".codex").mkdir()
    rec = Recorder([KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    (asked,) = rec.asked
    assert asked.kind == "checkbox" and asked.question == CLIENTS_Q
    assert sorted(asked.default) == ["Codex CLI (not configured)", "Cursor (not configured)"]
    # detected clients come first, then the rest (file clients before in-app ones)
    assert sorted(asked.choices[:2]) == sorted(asked.default)
    assert "Claude Code (not detected)" in asked.choices
    assert any(c.startswith("ChatGPT (in its app") for c in asked.choices)


def test_choosing_no_client_asks_again(fake_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorder([[], KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    assert [a.question for a in rec.asked] == [CLIENTS_Q, CLIENTS_Q]
    assert "choose at least one client" in capsys.readouterr().err


def test_oauth_writes_the_url_only_and_keeps_everything_else(
    fake_home: Path, oauth_checks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with_configs(fake_home)
    rec = Recorder(
        [clients("Cursor", "Codex CLI"), region("us"), OAUTH, False, True], capsys=capsys
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    assert [a.question for a in rec.asked] == [
        CLIENTS_Q,
        REGION_Q,
        AUTH_Q,
        SHOW_Q,
        "Write 2 file(s)?",
    ]
    cursor = cursor_path(fake_home).read_text(encoding="utf-8")
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": us_url()}
    assert "Authorization" not in cursor and "Bearer" not in cursor
    # the other server, the comment and the other key survive byte for byte
    for part in (
        "  // my servers\n",
        '    "github": { "command": "npx", "args": ["-y", "github-mcp"] }',
        '  "theme": "dark"\n}\n',
    ):
        assert part in cursor
    codex = codex_path(fake_home).read_text(encoding="utf-8")
    assert codex.startswith(CODEX_FILE)
    assert f'[mcp_servers.dot]\nurl = "{us_url()}"\n' in codex and "Bearer" not in codex
    # a backup of each file, with its exact bytes before the write
    backups = {b.path: Path(b.file).read_bytes() for b in list_backups(Paths.from_env())}
    assert backups == {
        str(cursor_path(fake_home)): CURSOR_FILE.encode(),
        str(codex_path(fake_home)): CODEX_FILE.encode(),
    }
    assert "backup " in out
    assert f"Plan for {us_url()}:" in err
    assert "has the 'dot' entry" in err
    assert "Restart Cursor" in out
    assert oauth_checks == [us_url()]


def test_show_the_changes_prints_the_diff(
    fake_home: Path, oauth_checks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with_configs(fake_home)
    code, _ = wizard([clients("Cursor"), region("us"), OAUTH, True, True])
    assert code == 0
    out = capsys.readouterr().out
    assert f"+++ {cursor_path(fake_home)}\n" in out
    assert f'+    "dot": {{\n+      "url": "{us_url()}"\n+    }}\n' in out
    assert '\n   "theme": "dark"\n' in out  # unchanged lines are context, not changes


def test_dry_run_writes_nothing(
    fake_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_configs(fake_home)
    before = snapshot(tmp_path)
    code, rec = wizard([clients("Cursor", "Codex CLI"), region("us"), OAUTH], dry_run=True)
    assert code == 0
    assert [a.question for a in rec.asked] == [CLIENTS_Q, REGION_Q, AUTH_Q]  # no confirmation
    out, err = capsys.readouterr()
    assert "dry run: nothing was written" in err
    assert f'url = "{us_url()}"' in out  # the diff is shown
    assert snapshot(tmp_path) == before


def test_answering_no_writes_nothing(
    fake_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_configs(fake_home)
    before = snapshot(tmp_path)
    code, rec = wizard([clients("Cursor", "Codex CLI"), region("us"), OAUTH, False, False])
    assert code == 1
    assert rec.asked[-1].question == "Write 2 file(s)?" and rec.asked[-1].default is True
    assert "nothing was changed" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


# Ctrl-C at every question: each script is cut at `at`, where the answer is a KeyboardInterrupt.
INTERRUPTS: dict[str, list[Answer]] = {
    "oauth": [clients("Cursor", "Codex CLI"), region("us"), OAUTH, False, True],
    "token": [clients("Cursor", "Codex CLI"), region("us"), TOKEN, PASTE, "dot_mcp_us_x"],
    "each": [clients("Cursor", "Codex CLI"), region("us"), EACH, "OAuth", "MCP token"],
    "custom": [clients("Cursor"), CUSTOM, "https://dot.example.com/ai/mcp"],
}
CASES = [
    ("oauth", 0),
    ("oauth", 1),
    ("oauth", 2),
    ("oauth", 3),
    ("oauth", 4),
    ("token", 3),
    ("token", 4),
    ("each", 3),
    ("each", 4),
    ("custom", 2),
]


@pytest.mark.parametrize(("script", "at"), CASES, ids=[f"{s}-{i}" for s, i in CASES])
def test_ctrl_c_at_any_question_changes_nothing(
    fake_home: Path, tmp_path: Path, script: str, at: int
) -> None:
    with_configs(fake_home)
    before = snapshot(tmp_path)
    answers = [*INTERRUPTS[script][:at], KeyboardInterrupt()]
    rec = Recorder(answers)
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    assert len(rec.asked) == at + 1 and not rec.answers
    assert snapshot(tmp_path) == before


def test_region_is_remembered_as_the_next_default(fake_home: Path, oauth_checks: list[str]) -> None:
    code, rec = wizard([clients("Cursor"), region("eu"), OAUTH, False, True])
    assert code == 0
    assert rec.question(REGION_Q).default == region("us")(rec.question(REGION_Q).choices)
    assert settings.load(Paths.from_env(), "dot") == {"region": "eu", "server_url": ""}
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": eu_url()}
    rec = Recorder([clients("Cursor"), KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    asked = rec.question(REGION_Q)
    assert asked.default == region("eu")(asked.choices)


def test_a_stale_remembered_region_falls_back_to_the_default(fake_home: Path) -> None:
    """settings.json is the user's file: a region this version does not know is not a crash."""
    settings.save(Paths.from_env(), "dot", region="ap", server_url="")
    rec = Recorder([clients("Cursor"), KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    asked = rec.question(REGION_Q)
    assert asked.default == region("us")(asked.choices)


def test_custom_server_url_is_written_and_remembered(
    fake_home: Path, oauth_checks: list[str]
) -> None:
    url = "https://dot.example.com/ai/mcp"
    code, rec = wizard([clients("Cursor"), CUSTOM, f"  {url}/ ", OAUTH, False, True])
    assert code == 0
    assert rec.question(URL_Q).default == ""
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": url}
    assert settings.load(Paths.from_env(), "dot") == {"region": "", "server_url": url}
    rec = Recorder([clients("Cursor"), CUSTOM, KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    assert rec.question(REGION_Q).default == CUSTOM
    assert rec.question(URL_Q).default == url


@pytest.mark.parametrize(
    "url", ["http://dot.example.com/ai/mcp", "ftp://dot.example.com/ai/mcp", "dot.example.com"]
)
def test_custom_server_url_must_be_https_or_local(
    fake_home: Path, tmp_path: Path, url: str
) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(UsageError) as exc:
        wizard([clients("Cursor"), CUSTOM, url])
    assert exc.value.exit_code == 2
    assert repr(url) in exc.value.message
    if url.startswith("http:"):
        assert "plain http to a remote host" in exc.value.message
    assert snapshot(tmp_path) == before


def test_auth_chosen_for_each_client(fake_home: Path, oauth_checks: list[str]) -> None:
    with_configs(fake_home)
    code, rec = wizard(
        [clients("Cursor", "Codex CLI"), region("us"), EACH, "OAuth", "OAuth", False, True]
    )
    assert code == 0
    # one question per client, in the order of the list (Codex CLI sorts before Cursor)
    assert [a.question for a in rec.asked[3:5]] == [
        "Codex CLI: sign in with",
        "Cursor: sign in with",
    ]
    assert rec.asked[3].choices == ["OAuth", "MCP token"] and rec.asked[3].default == "OAuth"
    assert TOKEN_Q not in [a.question for a in rec.asked]
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": us_url()}


def test_each_client_choosing_a_token_leads_to_the_token_question(fake_home: Path) -> None:
    with_configs(fake_home)
    # Codex CLI (asked first): MCP token; Cursor: OAuth
    rec = Recorder([clients("Cursor", "Codex CLI"), region("us"), EACH, "MCP token", "OAuth"])
    rec.answers.append(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    asked = rec.asked[-1]
    assert asked.question == TOKEN_Q and asked.choices == [GENERATE, PASTE]
    assert asked.default == GENERATE


def test_a_token_only_client_takes_the_token_path(fake_home: Path, tmp_path: Path) -> None:
    """ChatGPT supports only a token with Dot: no sign-in question, straight to the token."""
    before = snapshot(tmp_path)
    rec = Recorder([clients("ChatGPT"), region("us"), KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    assert [a.question for a in rec.asked] == [CLIENTS_Q, REGION_Q, TOKEN_Q]
    assert snapshot(tmp_path) == before


def test_a_token_only_client_without_terminal_needs_a_token(no_tty: None, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(NeedsInputError) as exc:
        wizard(None, clients=["chatgpt"], region="us", yes=True)
    assert "--new-token" in exc.value.message and "--token-stdin" in exc.value.message
    with pytest.raises(UsageError) as exc2:
        wizard(None, clients=["chatgpt"], region="us", auth="oauth", yes=True)
    assert "cannot use --auth oauth" in exc2.value.message
    assert snapshot(tmp_path) == before


# == with the reference server (both regions on 127.0.0.1) =====================================

LIMITS = Limits(login=1000, token=1000, register=1000, mcp_token_create=1000)


@pytest.fixture(scope="module")
def us(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("dot-us"), region="us", limits=LIMITS) as live:
        yield live


@pytest.fixture(scope="module")
def eu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("dot-eu"), region="eu", limits=LIMITS) as live:
        yield live


@pytest.fixture
def regions(monkeypatch: pytest.MonkeyPatch, us: LiveServer, eu: LiveServer) -> None:
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"us={us.mcp_url},eu={eu.mcp_url}")


def scripted_browser(email: str = ANALYST) -> Callable[[str], None]:
    """The person at the browser: signs in and selects Allow, then lands on the loopback."""

    def browse(url: str) -> None:
        with HeadlessBrowser(email, PASSWORD) as browser:
            outcome = browser.authorize(url)
        with httpx2.Client(timeout=15) as http:
            http.get(outcome.location)

    return browse


def token_status(live: LiveServer, token: str) -> int:
    return live.api("GET", "/api/token-info", token).status_code


def assert_hidden(token: str, out: str, err: str) -> None:
    text = out + err
    assert token not in text
    assert token[8:] not in text  # not even without its prefix


@pytest.mark.server
@pytest.mark.slow
def test_pasted_token_is_checked_and_written(
    regions: None, us: LiveServer, fake_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cursor_path(fake_home).parent.mkdir(parents=True)
    cursor_path(fake_home).write_text(CURSOR_FILE, encoding="utf-8")
    cursor_path(fake_home).chmod(0o644)
    codex_path(fake_home).parent.mkdir(parents=True)  # Codex installed, no config file yet
    token = us.mcp_token()
    rec = Recorder(
        [clients("Cursor", "Codex CLI"), region("us"), TOKEN, PASTE, f" {token}\n", False, True],
        capsys=capsys,
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    entry = jsonc(cursor_path(fake_home))["mcpServers"]["dot"]
    assert entry == {"url": us.mcp_url, "headers": {"Authorization": f"Bearer {token}"}}
    assert '"github": { "command": "npx", "args": ["-y", "github-mcp"] }' in cursor_path(
        fake_home
    ).read_text(encoding="utf-8")
    assert f"Bearer {token}" in codex_path(fake_home).read_text(encoding="utf-8")
    # a new file holding the token is 0600; an existing file keeps its mode, with a warning
    assert stat.S_IMODE(codex_path(fake_home).stat().st_mode) == 0o600
    assert stat.S_IMODE(cursor_path(fake_home).stat().st_mode) == 0o644
    assert (
        f"warning: {cursor_path(fake_home)} is readable by other users and will hold a token; "
        f"run `chmod 600 {cursor_path(fake_home)}`"
    ) in rec.err_before[SHOW_Q]
    assert f"MCP token {mask(token)} of {ANALYST}, US, valid until" in err
    assert f"connected with MCP token {mask(token)}" in err
    assert_hidden(token, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_a_bad_paste_can_be_retried(
    regions: None, us: LiveServer, fake_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = us.mcp_token()
    wrong = "dot_mcp_us_" + "A" * 43
    rec = Recorder(
        [clients("Cursor"), region("us"), TOKEN, PASTE, wrong, token, False, True], capsys=capsys
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    assert [a.question for a in rec.asked].count(SECRET_Q) == 2  # a hidden input, twice
    assert "error: Invalid API token" in err and "Try again (2 left)" in err
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"]["headers"] == {
        "Authorization": f"Bearer {token}"
    }
    assert_hidden(token, out, err)
    assert_hidden(wrong, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_three_bad_pastes_stop_the_wizard(
    regions: None, us: LiveServer, fake_home: Path, tmp_path: Path
) -> None:
    with_configs(fake_home)
    before = snapshot(tmp_path)
    bad = ["", "dot_mcp_us_" + "B" * 43, "not-a-token-at-all-0123456789"]
    rec = Recorder([clients("Cursor"), region("us"), TOKEN, PASTE, *bad])
    with pytest.raises(TokenInputError) as exc:
        wizard(rec)
    assert "no valid MCP token after 3 tries" in exc.value.message
    assert exc.value.exit_code == 2
    assert snapshot(tmp_path) == before


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("checked_by", ["prefix", "server"])
def test_a_regular_api_token_is_refused(
    regions: None,
    us: LiveServer,
    fake_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    checked_by: str,
) -> None:
    if checked_by == "server":  # without the local prefix shortcut: the server's token-info says
        monkeypatch.setattr(
            "dot_setup.wizard.flow.get_service",
            lambda sid: replace(get_service(sid), api_token_prefix=""),
        )
    before = snapshot(tmp_path)
    api_token = us.api_token()
    rec = Recorder([clients("Cursor"), region("us"), TOKEN, PASTE, api_token, KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    out, err = capsys.readouterr()
    assert "error: Token does not have required MCP access" in err
    assert "regular API token" in err
    assert_hidden(api_token, out, err)
    assert snapshot(tmp_path) == before


@pytest.mark.server
@pytest.mark.slow
def test_a_sign_in_access_token_is_refused(
    regions: None,
    us: LiveServer,
    fake_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(tmp_path)
    access = us.sign_in()["access_token"]
    rec = Recorder([clients("Cursor"), region("us"), TOKEN, PASTE, access, KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    out, err = capsys.readouterr()
    assert "error: this is a sign-in (OAuth) token" in err and "not an MCP token" in err
    assert "Try again (2 left)" in err
    assert_hidden(access, out, err)
    assert snapshot(tmp_path) == before


@pytest.mark.server
@pytest.mark.slow
def test_an_eu_token_switches_to_the_eu_region(
    regions: None, eu: LiveServer, fake_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = eu.mcp_token()
    assert token.startswith("dot_mcp_eu_")
    rec = Recorder(
        [clients("Cursor"), region("us"), TOKEN, PASTE, token, True, False, True], capsys=capsys
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    switch = rec.question("Switch to the EU region?")
    assert switch.default is True
    assert "error: this token is for the EU region" in rec.err_before[switch.question]
    assert f"Plan for {eu.mcp_url}:" in err
    entry = jsonc(cursor_path(fake_home))["mcpServers"]["dot"]
    assert entry == {"url": eu.mcp_url, "headers": {"Authorization": f"Bearer {token}"}}
    assert settings.load(Paths.from_env(), "dot")["region"] == "eu"
    assert_hidden(token, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_an_eu_token_without_switching_is_asked_again(
    regions: None, eu: LiveServer, fake_home: Path, tmp_path: Path
) -> None:
    before = snapshot(tmp_path)
    token = eu.mcp_token()
    rec = Recorder(
        [clients("Cursor"), region("us"), TOKEN, PASTE, token, False, KeyboardInterrupt()]
    )
    with pytest.raises(KeyboardInterrupt):
        wizard(rec)
    assert [a.kind for a in rec.asked[-3:]] == ["secret", "confirm", "secret"]
    assert snapshot(tmp_path) == before


@pytest.mark.server
@pytest.mark.slow
def test_an_unknown_token_of_the_other_region_can_be_retried(
    regions: None,
    us: LiveServer,
    eu: LiveServer,
    fake_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Switching region, then the EU server refusing the token, is one more failed try."""
    wrong = "dot_mcp_eu_" + "C" * 43
    token = eu.mcp_token()
    rec = Recorder(
        [clients("Cursor"), region("us"), TOKEN, PASTE, wrong, True, token, False, True],
        capsys=capsys,
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    assert "error: this token is for the EU region" in err
    assert "error: Invalid API token" in err and "Try again (2 left)" in err
    entry = jsonc(cursor_path(fake_home))["mcpServers"]["dot"]
    assert entry == {"url": eu.mcp_url, "headers": {"Authorization": f"Bearer {token}"}}
    assert_hidden(token, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_ctrl_c_during_the_sign_in_changes_no_client_file(
    regions: None, us: LiveServer, fake_home: Path
) -> None:
    with_configs(fake_home)
    paths = Paths.from_env()
    before = snapshot(fake_home, skip=paths.state_dir)
    old = us.mcp_token()

    def gone(url: str) -> None:
        raise KeyboardInterrupt

    rec = Recorder([clients("Cursor", "Codex CLI"), region("us"), TOKEN, GENERATE])
    with pytest.raises(KeyboardInterrupt):
        wizard(rec, browser=gone)
    assert snapshot(fake_home, skip=paths.state_dir) == before
    assert not (paths.state_dir / "credentials.json").exists()
    assert token_status(us, old) == 200


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("answer", [False, KeyboardInterrupt()], ids=["no", "ctrl-c"])
def test_generating_warns_before_revoking_and_declining_keeps_the_old_token(
    regions: None,
    us: LiveServer,
    fake_home: Path,
    capsys: pytest.CaptureFixture[str],
    answer: Any,
) -> None:
    with_configs(fake_home)
    paths = Paths.from_env()
    before = snapshot(fake_home, skip=paths.state_dir)
    old = us.mcp_token()
    rec = Recorder(
        [clients("Cursor", "Codex CLI"), region("us"), TOKEN, GENERATE, False, answer],
        capsys=capsys,
    )
    if isinstance(answer, BaseException):
        with pytest.raises(KeyboardInterrupt):
            wizard(rec, browser=scripted_browser())
    else:
        code, _ = wizard(rec, browser=scripted_browser())
        assert code == 1
    out, err = rec.drain()
    confirm = rec.asked[-1]
    assert confirm.question == "Generate a new MCP token and write 2 file(s)?"
    shown = rec.err_before[confirm.question]
    assert "a new MCP token revokes your current one" in shown
    assert mask(old) in shown.split("revokes your current one", 1)[1].splitlines()[0]
    assert snapshot(fake_home, skip=paths.state_dir) == before
    assert token_status(us, old) == 200  # the old token still works
    assert "Generated MCP token" not in err
    assert_hidden(old, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_generating_a_token_writes_it_and_revokes_the_old_one(
    regions: None, us: LiveServer, fake_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = us.mcp_token()
    rec = Recorder([clients("Cursor"), region("us"), TOKEN, GENERATE, False, True], capsys=capsys)
    code, _ = wizard(rec, browser=scripted_browser())
    out, err = rec.drain()
    assert code == 0, err
    header = jsonc(cursor_path(fake_home))["mcpServers"]["dot"]["headers"]["Authorization"]
    new = header.removeprefix("Bearer ")
    assert new.startswith("dot_mcp_us_") and new != old
    assert stat.S_IMODE(cursor_path(fake_home).stat().st_mode) == 0o600
    assert token_status(us, new) == 200 and token_status(us, old) == 401
    assert f"Generated MCP token {mask(new)}" in err
    assert f"connected with MCP token {mask(new)}" in err
    # the sign-in is kept in the 0600 file store, for the next run
    creds = Paths.from_env().state_dir / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert_hidden(new, out, err)
    assert_hidden(old, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_each_client_its_own_auth_with_a_pasted_token(
    regions: None, us: LiveServer, fake_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_configs(fake_home)
    token = us.mcp_token()
    rec = Recorder(
        [
            clients("Cursor", "Codex CLI"),
            region("us"),
            EACH,
            "MCP token",  # Codex CLI: asked first
            "OAuth",  # Cursor
            PASTE,
            token,
            False,
            True,
        ],
        capsys=capsys,
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": us.mcp_url}
    codex = codex_path(fake_home).read_text(encoding="utf-8")
    assert f"Bearer {token}" in codex
    assert "offers OAuth sign-in" in err  # the OAuth client: the server offers OAuth
    assert f"connected with MCP token {mask(token)}" in err
    assert_hidden(token, out, err)


@pytest.mark.server
@pytest.mark.slow
def test_chatgpt_gets_its_token_in_a_0600_file(
    regions: None, us: LiveServer, fake_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_configs(fake_home)
    token = us.mcp_token()
    rec = Recorder(
        [clients("Cursor", "ChatGPT"), region("us"), OAUTH, PASTE, token, False, True],
        capsys=capsys,
    )
    code, _ = wizard(rec)
    out, err = rec.drain()
    assert code == 0, err
    # Cursor signs in itself (OAuth); ChatGPT can only use the token, so the token was asked for
    assert TOKEN_Q in [a.question for a in rec.asked]
    assert jsonc(cursor_path(fake_home))["mcpServers"]["dot"] == {"url": us.mcp_url}
    saved = Paths.from_env().state_dir / "connectors" / "chatgpt.txt"
    assert saved.read_text(encoding="utf-8") == f"{us.mcp_url}?token={token}\n"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert "ChatGPT" in out and "holds your token, so it is not shown" in out
    assert_hidden(token, out, err)


def test_server_tests_are_marked() -> None:
    """Keep `-m 'not server'` fast: every test that starts the servers carries the mark."""
    import inspect

    for name, fn in globals().items():
        if name.startswith("test_") and "regions" in inspect.signature(fn).parameters:
            marks = {m.name for m in getattr(fn, "pytestmark", [])}
            assert {"server", "slow"} <= marks, name
