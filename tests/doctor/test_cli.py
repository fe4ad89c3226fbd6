"""`dot-setup doctor`'s command surface: the --json envelope, --list, choosing checks by id,
prefix or --symptom, the fixed report order, exit codes (--strict), --fix (refused without a
terminal or --yes; applied and re-checked with --yes), the runner's handling of a broken or a
stuck check, and the live `client.X.live` checks.

Tests that run checks without the `regions` fixture point both regions at a closed port on
127.0.0.1 (`dead_regions`), so nothing ever leaves the machine.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.doctor.conftest import Regions, check, doctor, human, install, write
from tests.helpers import TOKEN

from dot_setup.doctor.model import Check, Outcome, Remediation, Result, Status, passed
from dot_setup.doctor.run import DoctorRequest, build_context, exit_code
from dot_setup.doctor.runner import GRACE, run_checks
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_service
from dot_setup.secrets import REDACT

CATEGORY_ORDER = ("env", "net", "server", "auth", "client")
CHECK_KEYS = {
    "id",
    "category",
    "title",
    "status",
    "summary",
    "details",
    "remediation",
    "duration_ms",
    "data",
}
STATUSES = {"pass", "warn", "fail", "skip", "error"}
COUNTS_LINE = re.compile(r"^\d+ passed, \d+ warnings?, \d+ failed, \d+ skipped")
HEADINGS = ("This machine", "Network", "Dot server", "Sign-in and tokens")


# -- helpers ------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def dead_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both regions on a closed local port (the `regions` fixture, when used, replaces this)."""
    port = _closed_port()
    monkeypatch.setenv(
        "DOT_SETUP_REGION_URLS",
        f"us=http://127.0.0.1:{port}/ai/mcp,eu=http://127.0.0.1:{port}/eu/ai/mcp",
    )


def ids(envelope: dict[str, Any]) -> list[str]:
    return [c["id"] for c in envelope["data"]["checks"]]


def in_fixed_order(check_ids: list[str]) -> bool:
    """environment, network, server, auth, then the clients, each client's checks together."""
    ranks = [CATEGORY_ORDER.index(i.split(".", 1)[0]) for i in check_ids]
    if ranks != sorted(ranks):
        return False
    clients = [i.split(".")[1] for i in check_ids if i.startswith("client.")]
    runs = [c for n, c in enumerate(clients) if n == 0 or clients[n - 1] != c]
    return len(runs) == len(set(runs))


def cursor_http_entry(url: str, token: str) -> str:
    entry = {"url": url, "headers": {"Authorization": f"Bearer {token}"}}
    return json.dumps({"mcpServers": {"dot": entry}}, indent=2) + "\n"


def snapshot(home: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the fake home and project (the servers' databases are elsewhere)."""
    return {
        str(p): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for root in (home, home.parent / "project")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


# -- 1. --json: one envelope on stdout, progress on stderr --------------------------------------


def test_json_is_one_envelope_with_every_field(regions: Regions, fake_home: Path) -> None:
    token = regions.us.mcp_token()
    write(fake_home / ".cursor" / "mcp.json", '{"mcpServers": {}}\n')
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')  # detected, no Dot entry
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)

    code, env, err = doctor()  # json.loads of the whole of stdout

    assert env["schema_version"] == 1
    assert env["tool_version"]
    assert env["command"] == "doctor"
    assert (env["status"], env["exit_code"], code) == ("ok", 0, 0), err
    checks = env["data"]["checks"]
    assert checks
    for item in checks:
        assert set(item) == CHECK_KEYS, item
        assert item["status"] in STATUSES, item
        assert isinstance(item["summary"], str) and item["summary"], item
        assert isinstance(item["details"], list), item
        assert isinstance(item["duration_ms"], int) and item["duration_ms"] >= 0, item
        assert isinstance(item["data"], dict), item
        assert item["category"] in ("environment", "network", "server", "auth") or item[
            "category"
        ].startswith("client:"), item
        fix = item["remediation"]
        if fix is not None:
            assert set(fix) == {"text", "commands", "auto_fixable"}, item
            assert isinstance(fix["text"], str) and fix["text"], item
            assert isinstance(fix["commands"], list), item
            assert isinstance(fix["auto_fixable"], bool), item
    entry = check(env, "client.codex.entry")
    assert entry["status"] == "warn"
    assert entry["remediation"]["commands"] == [
        "dot-setup install --client codex",
        "dot-setup --client codex",
    ]
    assert entry["remediation"]["auto_fixable"] is False
    counts = env["data"]["counts"]
    assert set(counts) == STATUSES
    assert sum(counts.values()) == len(checks)
    for status in STATUSES:
        assert counts[status] == sum(1 for c in checks if c["status"] == status)
    assert counts["warn"] >= 1
    # Progress went to stderr, and none of it (nor the human report) to stdout.
    assert "Checking" in err
    assert token not in json.dumps(env) and token not in err


def test_json_progress_stays_off_stdout_without_a_server(fake_home: Path) -> None:
    code, env, err = doctor("env.node", "net.tcp")
    assert code == 1  # the closed port: TCP fails
    assert ids(env) == ["env.node", "net.tcp"]
    assert check(env, "net.tcp")["status"] == "fail"
    assert env["status"] == "fail" and env["exit_code"] == 1
    assert "Checking 2 things" in err


# -- 2. --list, choosing checks, --symptom ------------------------------------------------------


def test_list_shows_every_id_in_fixed_order_and_the_guide_messages(fake_home: Path) -> None:
    write(fake_home / ".cursor" / "mcp.json", '{"mcpServers": {}}\n')
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')

    shown = human("--list")
    code, env, err = doctor("--list")

    assert shown.code == 0 and code == 0, shown.err + err
    assert "Checking" not in shown.err + err  # listing runs nothing
    listed = [c["id"] for c in env["data"]["checks"]]
    assert in_fixed_order(listed), listed
    assert listed[:5] == ["env.node", "env.npx", "env.proxy", "env.clock", "env.browser"]
    assert any(i.startswith("client.cursor.") for i in listed)
    assert any(i.startswith("client.codex.") for i in listed)
    assert "client.cursor.live" in listed and "client.codex.live" in listed
    for row in env["data"]["checks"]:
        assert set(row) == {"id", "title", "category", "fixable"}, row
    fixable = {r["id"] for r in env["data"]["checks"] if r["fixable"]}
    assert "client.cursor.permissions" in fixable and "env.node" not in fixable
    assert [s["message"] for s in env["data"]["symptoms"]] == [
        s.message for s in get_service("dot").troubleshooting
    ]

    lines = shown.out.splitlines()
    human_ids = [line.split()[0] for line in lines[: len(listed)]]
    assert human_ids == listed
    assert lines[len(listed)] == ""
    for symptom in get_service("dot").troubleshooting:
        assert f'"{symptom.message}": {", ".join(symptom.checks)}' in shown.out
    marks = {line.split()[0]: line.endswith("  (--fix)") for line in lines[: len(listed)]}
    assert marks == {r["id"]: r["fixable"] for r in env["data"]["checks"]}


def test_chosen_ids_run_only_those_in_fixed_order(fake_home: Path) -> None:
    _, env, err = doctor("net.http", "env.node")
    assert ids(env) == ["env.node", "net.http"], err


def test_a_prefix_runs_one_clients_checks(fake_home: Path) -> None:
    write(fake_home / ".cursor" / "mcp.json", '{"mcpServers": {}}\n')
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')
    _, listing, _ = doctor("--list")
    cursor_ids = [i for i in ids(listing) if i.startswith("client.cursor.")]

    _, env, err = doctor("client.cursor")

    assert ids(env) == cursor_ids, err
    assert len(cursor_ids) >= 10


def test_unknown_id_exits_2_naming_list(fake_home: Path) -> None:
    shown = human("env.node", "no.such-check")
    assert shown.code == 2
    errors = error_lines(shown.err)
    assert len(errors) == 1, shown.err
    assert "no.such-check" in errors[0]
    assert "env.node" not in errors[0]
    assert "dot-setup doctor --list" in shown.err
    assert shown.out == ""
    assert "Checking" not in shown.err

    code, env, _ = doctor("no.such-check")
    assert code == 2 and env["status"] == "error" and env["exit_code"] == 2
    assert "--list" in env["errors"][0]["hint"]


def test_symptom_runs_the_token_checks(regions: Regions, fake_home: Path) -> None:
    old = regions.us.mcp_token()
    regions.us.mcp_token()  # a new token revokes the old one
    write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, old))

    code, env, err = doctor("--symptom", "Invalid API token")

    assert ids(env) == [
        "auth.token-env",
        "client.cursor.url",
        "client.cursor.duplicates",
        "client.cursor.token",
    ]
    assert code == 1
    token = check(env, "client.cursor.token")
    assert token["status"] == "fail"
    assert token["summary"].startswith("Invalid API token: the server refused")
    assert "Invalid API token: token not copied completely" in err
    assert old not in json.dumps(env) + err


def test_symptom_matching_nothing_exits_2(fake_home: Path) -> None:
    shown = human("--symptom", "nonsense words")
    assert shown.code == 2
    errors = error_lines(shown.err)
    assert len(errors) == 1 and "nonsense words" in errors[0], shown.err
    assert "--list" in shown.err
    assert "Checking" not in shown.err


# -- 3. fixed order -----------------------------------------------------------------------------


def slow_node(bin_dir: Path, seconds: float) -> None:
    """A `node` (and `npx`) that answers --version after `seconds`."""
    write(bin_dir / "node", f"#!/bin/sh\nsleep {seconds}\necho v22.1.0\n", 0o755)
    write(bin_dir / "npx", "#!/bin/sh\necho 10.0.0\n", 0o755)


def test_report_order_is_fixed_whatever_order_checks_finish_in(
    regions: Regions, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = regions.us.mcp_token()
    write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, token))
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')
    _, listing, _ = doctor("--list")
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    orders, finished = [], []
    for seconds in (2.0, 0):  # env.node, first in the report, finishes last, then early
        slow_node(bin_dir, seconds)
        code, env, err = doctor()
        assert code == 0, err
        orders.append(ids(env))
        by_end = sorted(env["data"]["checks"], key=lambda c: c["duration_ms"])
        finished.append([c["id"] for c in by_end])
        node = check(env, "env.node")
        assert node["status"] == "pass" and "22.1.0" in node["summary"], node
    assert orders[0] == orders[1] == ids(listing)
    assert in_fixed_order(orders[0])
    assert finished[0][-1] == "env.node", finished[0]  # it really finished after all others
    assert finished[0] != orders[0] and finished[1][-1] != "env.node", finished
    assert token not in json.dumps(orders)

    shown = human("-v")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    names = {"cursor": "Cursor", "codex": "Codex CLI"}
    clients = list(dict.fromkeys(i.split(".")[1] for i in orders[0] if i.startswith("client.")))
    assert sorted(clients) == sorted(names)
    headings = [*HEADINGS, *(f"{names[c]} (client.{c})" for c in clients)]
    at = [lines.index(h) for h in headings]
    assert at == sorted(at), shown.out
    shown_ids = [m[1] for line in lines if (m := re.match(r"^  . (\S+): ", line))]
    assert shown_ids == orders[0]
    assert lines[-1] == lines[-1].strip() and COUNTS_LINE.match(lines[-1]), shown.out
    assert lines[-2] == ""
    assert token not in shown.out + shown.err


def test_counts_line_is_last_and_tells_how_many_skipped_are_hidden(fake_home: Path) -> None:
    shown = human("env.node", "auth.token-env", "auth.signin")
    last = shown.out.splitlines()[-1]
    assert COUNTS_LINE.match(last), shown.out
    assert last.endswith("(2 skipped not shown; -v shows them)"), last
    assert "auth.signin" not in shown.out  # skipped, hidden without -v
    assert "auth.token-env" in human("-v", "auth.token-env").out


# -- 4. exit codes ------------------------------------------------------------------------------


def test_failure_exits_1(regions: Regions, fake_home: Path) -> None:
    token = regions.us.mcp_token()
    cfg = write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, token))
    cfg.chmod(0o644)

    code, env, err = doctor()

    assert code == 1 and env["exit_code"] == 1 and env["status"] == "fail"
    assert env["data"]["counts"]["fail"] == 1
    perms = check(env, "client.cursor.permissions")
    assert perms["status"] == "fail" and perms["data"] == {"mode": "0644"}
    assert perms["remediation"]["auto_fixable"] is True
    shown = human()
    assert shown.code == 1
    assert "(dot-setup doctor --fix does this)" in shown.out
    assert token not in json.dumps(env) + err + shown.out + shown.err


def test_warnings_exit_0_and_1_with_strict(regions: Regions, fake_home: Path) -> None:
    token = regions.us.mcp_token()
    write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, token))
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')  # Dot not configured: a warning

    code, env, err = doctor()
    counts = env["data"]["counts"]
    assert "Checking" in err
    assert counts["warn"] >= 1 and counts["fail"] == 0 and counts["error"] == 0, env
    assert (code, env["exit_code"], env["status"], env["data"]["strict"]) == (0, 0, "ok", False)

    code, env, _ = doctor("--strict")
    assert (code, env["exit_code"], env["status"], env["data"]["strict"]) == (1, 1, "fail", True)
    assert human("--strict").code == 1
    assert human().code == 0


def test_exit_code_rule() -> None:
    def outcome(status: Status) -> Outcome:
        return Outcome(
            Check("x", "x", "environment", lambda ctx: passed("")), Result(status, ""), 0
        )

    assert exit_code([outcome(Status.PASS), outcome(Status.SKIP)], strict=True) == 0
    assert exit_code([outcome(Status.WARN)], strict=False) == 0
    assert exit_code([outcome(Status.WARN)], strict=True) == 1
    assert exit_code([outcome(Status.FAIL)], strict=False) == 1
    assert exit_code([outcome(Status.ERROR)], strict=False) == 1


# -- 5. --fix -----------------------------------------------------------------------------------


def test_fix_without_a_terminal_or_yes_changes_nothing(fake_home: Path) -> None:
    cfg = write(
        fake_home / ".cursor" / "mcp.json", cursor_http_entry("http://127.0.0.1:9/ai/mcp", TOKEN)
    )
    cfg.chmod(0o644)
    before = snapshot(fake_home)

    shown = human("--fix")
    code, env, err = doctor("--fix")

    assert shown.code == 2 and code == 2
    errors = error_lines(shown.err)
    assert len(errors) == 1 and "--yes" in errors[0], shown.err
    assert "dot-setup doctor --help" in shown.err and "install" not in shown.err, shown.err
    assert env["status"] == "error" and env["errors"][0]["code"] == "needs_input"
    assert "--yes" in env["errors"][0]["message"]
    assert "Checking" not in shown.err + err
    assert snapshot(fake_home) == before
    assert mode(cfg) == 0o644
    assert TOKEN not in shown.out + shown.err + json.dumps(env) + err


def test_fix_yes_applies_the_chmod_and_checks_again(regions: Regions, fake_home: Path) -> None:
    token = regions.us.mcp_token()
    cfg = write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, token))
    cfg.chmod(0o644)
    content = cfg.read_bytes()

    code, env, err = doctor("--fix", "--yes")

    assert mode(cfg) == 0o600
    assert cfg.read_bytes() == content  # only the mode changed
    assert env["data"]["fixes"] == [
        {"id": "client.cursor.permissions", "status": "applied", "message": f"chmod 600 {cfg}"}
    ]
    perms = check(env, "client.cursor.permissions")  # the re-check, not the first run
    assert perms["status"] == "pass" and perms["data"] == {"mode": "0600"}, perms
    assert code == 0 and env["status"] == "ok", err
    assert "applied: client.cursor.permissions" in err
    assert "Checking again" in err
    assert token not in json.dumps(env) + err


def test_fix_yes_with_nothing_fixable_says_so(regions: Regions, fake_home: Path) -> None:
    token = regions.us.mcp_token()
    cfg = write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, token))
    before = snapshot(fake_home)

    code, env, err = doctor("--fix", "--yes")

    assert code == 0, err
    assert "nothing here that --fix can repair safely" in err
    assert env["data"]["fixes"] == []
    assert check(env, "client.cursor.permissions")["status"] == "pass"
    assert snapshot(fake_home) == before
    assert mode(cfg) == 0o600
    assert token not in json.dumps(env) + err


# -- 6. the runner ------------------------------------------------------------------------------


@pytest.fixture
def ctx(fake_home: Path) -> Any:
    return build_context(DoctorRequest(timeout=0.3), Paths.from_env())


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets the stuck checks' threads end once the test is over."""
    event = threading.Event()
    yield event
    event.set()


def test_a_check_that_raises_is_an_error_and_the_others_still_run(ctx: Any) -> None:
    REDACT.add(TOKEN)

    def broken(_ctx: Any) -> Result:
        raise ValueError(f"boom with {TOKEN}")

    checks = [
        Check("t.first", "first", "environment", lambda c: passed("one")),
        Check("t.broken", "broken", "environment", broken),
        Check("t.last", "last", "environment", lambda c: passed("three")),
    ]
    outcomes = run_checks(checks, ctx)

    assert [o.check.id for o in outcomes] == ["t.first", "t.broken", "t.last"]
    assert [o.result.status for o in outcomes] == [Status.PASS, Status.ERROR, Status.PASS]
    broken_result = outcomes[1].result
    assert broken_result.summary.startswith("the check itself failed: ValueError: boom with ")
    assert TOKEN not in broken_result.summary
    assert re.fullmatch(r"at test_cli\.py:\d+", broken_result.details[0]), broken_result.details


def test_a_check_that_hangs_is_an_error_after_its_timeout(
    ctx: Any, release: threading.Event
) -> None:
    def hangs(_ctx: Any) -> Result:
        release.wait()
        return passed("too late")

    checks = [
        Check("t.stuck", "stuck", "environment", hangs, timeout=0.2),
        Check("t.stuck-default", "stuck, the --timeout", "environment", hangs),
        Check("t.fine", "fine", "environment", lambda c: passed("fine")),
    ]
    started = time.monotonic()
    outcomes = run_checks(checks, ctx)
    took = time.monotonic() - started

    assert [o.check.id for o in outcomes] == ["t.stuck", "t.stuck-default", "t.fine"]
    stuck, default, fine = (o.result for o in outcomes)
    assert stuck.status is Status.ERROR
    assert stuck.summary == "no result within 0.2 s (the check was stopped)"
    assert default.status is Status.ERROR
    assert default.summary == "no result within 0.3 s (the check was stopped)"
    assert fine.status is Status.PASS
    assert took < 0.3 + GRACE + 1.0, took  # the run ended; the stuck threads were left behind
    assert not release.is_set()


def test_outcomes_keep_the_given_order_not_the_finishing_order(ctx: Any) -> None:
    finished: list[str] = []

    def after(seconds: float, name: str) -> Check:
        def run(_ctx: Any) -> Result:
            time.sleep(seconds)
            finished.append(name)
            return passed(name)

        return Check(name, name, "environment", run)

    outcomes = run_checks([after(0.25, "a"), after(0.15, "b"), after(0.0, "c")], ctx)

    assert finished == ["c", "b", "a"]
    assert [o.check.id for o in outcomes] == ["a", "b", "c"]
    assert [o.result.summary for o in outcomes] == ["a", "b", "c"]
    assert outcomes[0].duration_ms >= 250 > outcomes[2].duration_ms


def test_every_string_a_result_carries_is_redacted(ctx: Any) -> None:
    REDACT.add(TOKEN)
    leaky = Result(
        Status.FAIL,
        f"summary {TOKEN}",
        (f"detail {TOKEN}",),
        Remediation(f"text {TOKEN}", (f"cmd {TOKEN}",), True),
    )
    (outcome,) = run_checks([Check("t.leaky", "leaky", "auth", lambda c: leaky)], ctx)
    assert TOKEN not in json.dumps(outcome.as_json())
    assert outcome.result.summary.startswith("summary ")


# -- 7. live checks -----------------------------------------------------------------------------


def test_live_check_lists_the_tools_with_the_clients_token(
    regions: Regions, fake_home: Path
) -> None:
    token = regions.us.mcp_token()
    write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, token))

    code, env, err = doctor("client.cursor.live")

    assert ids(env) == ["client.cursor.live"]
    live = check(env, "client.cursor.live")
    assert live["status"] == "pass", live
    assert live["summary"].startswith("connected over HTTP with the client's token: 5 tools ("), (
        live
    )
    assert len(live["data"]["tools"]) == 5
    assert code == 0
    assert token not in json.dumps(env) + err


def test_live_check_is_skipped_when_the_token_is_revoked(regions: Regions, fake_home: Path) -> None:
    old = regions.us.mcp_token()
    regions.us.mcp_token()  # replaces (revokes) the old one
    write(fake_home / ".cursor" / "mcp.json", cursor_http_entry(regions.us.mcp_url, old))

    code, env, err = doctor("client.cursor")

    assert code == 1
    token = check(env, "client.cursor.token")
    assert token["status"] == "fail" and token["summary"].startswith("Invalid API token"), token
    live = check(env, "client.cursor.live")
    assert live["status"] == "skip", live
    assert live["summary"] == "the token is refused (see the token check)"
    assert old not in json.dumps(env) + err
