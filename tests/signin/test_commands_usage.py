"""Usage errors and the not-signed-in answers of the account commands (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dot_setup import cli

NOWHERE = "http://127.0.0.1:9/ai/mcp"  # never contacted: every case fails before the network


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_token_create_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "token", "create", "--server-url", NOWHERE)
    assert code == 2
    assert "--output" in err


def test_region_and_server_url_together(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "login", "--region", "us", "--server-url", NOWHERE)
    assert code == 2
    assert "--region and --server-url both given" in err


def test_plain_http_to_a_remote_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "login", "--server-url", "http://dot.example/ai/mcp")
    assert code == 2
    assert "plain http" in err


def test_unknown_credential_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "vault")
    code, _, err = run(capsys, "token", "status", "--server-url", NOWHERE)
    assert code == 2
    assert "DOT_SETUP_CREDENTIAL_STORE" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("token", "create", "--output", "t.token", "--no-input"),
        ("token", "create", "--output", "t.token", "--yes"),
        ("token", "revoke", "--yes"),
        ("token", "status"),
    ],
)
def test_not_signed_in_is_an_auth_error(
    capsys: pytest.CaptureFixture[str], project: Path, argv: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *argv, "--server-url", NOWHERE)
    assert code == 4
    assert "not signed in to http://127.0.0.1:9" in err
    assert "dot-setup login" in err
    assert not (project / "t.token").exists()


def test_not_signed_in_json_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "token", "revoke", "--json", "--server-url", NOWHERE)
    assert code == 4
    envelope = json.loads(out)
    assert envelope["status"] == "error" and envelope["exit_code"] == 4
    assert envelope["errors"][0]["code"] == "auth"


def test_logout_when_not_signed_in(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "logout", "--server-url", NOWHERE)
    assert code == 0
    assert "Not signed in" in err
