"""A DoiT user never reads "Dot": every command takes the service's words from its profile.

`--service doit` runs each command against DoiT's profile, pointed at a closed port on
127.0.0.1 (DOT_SETUP_REGION_URLS) so nothing leaves the machine; its output and --json must name
DoiT where they name the service, and "Dot" nowhere ("dot-setup" is the tool's own name).
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from helpers import run

DOT = re.compile(r"(?<![\w-])Dot(?![\w-])")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def doit(fake_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (fake_home / ".cursor").mkdir()
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"global={url}")
    return fake_home


COMMANDS = [
    ("--service", "doit", "--client", "cursor", "--yes", "--no-input"),
    ("install", "--service", "doit", "--client", "cursor", "--yes"),
    ("install", "--service", "doit", "--client", "cursor", "--yes", "--json"),
    ("list", "--service", "doit"),
    ("list", "--service", "doit", "--json"),
    ("show", "--service", "doit", "--client", "chatgpt"),
    ("show", "--service", "doit", "--client", "cursor", "--json"),
    ("doctor", "--service", "doit", "--timeout", "1"),
    ("doctor", "--service", "doit", "--timeout", "1", "--json"),
    ("doctor", "--service", "doit", "--list"),
    ("doctor", "--service", "doit", "--list", "--json"),
    ("login", "--service", "doit", "--no-browser"),
    ("token", "status", "--service", "doit"),
    ("token", "create", "--service", "doit", "--yes"),
    ("logout", "--service", "doit"),
    ("remove", "--service", "doit", "--client", "cursor", "--yes"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_doit_output_never_names_dot(doit: Path, args: tuple[str, ...]) -> None:
    res = run(*args)
    text = res.out + res.err
    assert not DOT.findall(text), f"exit {res.code}:\n{text}"
    assert "getdot.ai" not in text
    assert "Traceback" not in text


def test_doit_is_named_where_the_service_is(doit: Path) -> None:
    res = run("install", "--service", "doit", "--client", "cursor", "--yes")
    assert res.code == 0, res.err
    doctor = run("doctor", "--service", "doit", "--timeout", "1")
    assert "DoiT" in doctor.out + doctor.err
    assert "network connection to DoiT" in doctor.out
    listing = run("doctor", "--service", "doit", "--list").out
    assert "DNS to the DoiT host" in listing
    assert "Cursor: DoiT entry" in listing


def test_the_doit_guides_own_failure_case(doit: Path) -> None:
    res = run("doctor", "--service", "doit", "--symptom", "ofid_reference", "--timeout", "1")
    assert res.code in (0, 1), res.err
    assert "Billing Profiles Admin" in res.err + res.out
    assert "DoiT API access" in res.err + res.out
    dev = run("doctor", "--service", "doit", "--symptom", "developer mode")
    assert dev.code == 0, dev.err
    assert "enable developer mode" in dev.err + dev.out


def test_a_service_without_tokens_says_so(doit: Path, tmp_path: Path) -> None:
    for args in (
        ("token", "create", "--service", "doit", "--yes", "-o", str(tmp_path / "tok")),
        ("token", "status", "--service", "doit"),
        ("token", "revoke", "--service", "doit", "--yes"),
    ):
        res = run(*args)
        assert res.code == 2, (args, res.err)
        assert "DoiT issues no MCP tokens" in res.err, res.err
    assert not (tmp_path / "tok").exists()


def test_one_region_service_asks_no_region(doit: Path) -> None:
    for args in (
        ("--service", "doit", "--client", "cursor", "--yes", "--no-input", "--dry-run"),
        ("install", "--service", "doit", "--client", "cursor", "--yes", "--dry-run"),
        ("show", "--service", "doit", "--client", "cursor"),
    ):
        res = run(*args)
        assert res.code == 0, (args, res.err)
        assert not re.search(r"\bregions?\b", (res.out + res.err).lower()), (
            args,
            res.out + res.err,
        )
