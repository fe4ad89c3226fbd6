"""A file that does not parse is reported by position and key, never by its values.

Was: a goose config.yaml with a duplicated key whose values were `Bearer ...` printed both
values in full on stderr, in --json, and in list, remove and doctor; a TOML inline table with a
duplicated key, a YAML `!!int x`, or a document nested 10,000 deep was a crash (exit 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import run

SECRET_A = "dot_mcp_us_FirstSecretValueInTheFile0000000001"
SECRET_B = "dot_mcp_us_SecondSecretValueInTheFile000000002"

GOOSE = Path(".config/goose/config.yaml")
CODEX = Path(".codex/config.toml")
CURSOR = Path(".cursor/mcp.json")
CLAUDE = Path(".claude.json")

BROKEN = {
    "yaml-duplicate-key": (
        "goose",
        GOOSE,
        f"extensions:\n  dot:\n    headers:\n      Authorization: Bearer {SECRET_A}\n"
        f"      Authorization: Bearer {SECRET_B}\n",
        "duplicate key 'Authorization'",
    ),
    "yaml-bad-int": ("goose", GOOSE, f"extensions: !!int {SECRET_A}\n", "not valid YAML"),
    "yaml-reused-anchor": (
        "goose",
        GOOSE,
        f"a: &x {SECRET_A}\nb: &x {SECRET_B}\nextensions: [\n",
        "",
    ),
    "toml-duplicate-inline-key": (
        "codex",
        CODEX,
        f'x = {{ y = "{SECRET_A}", y = "{SECRET_B}" }}\n',
        "duplicate key 'y'",
    ),
    "toml-unterminated": ("codex", CODEX, f'a = "{SECRET_A}\n', ""),
    "jsonc-bad-escape": ("cursor", CURSOR, f'{{"a": "{SECRET_A}\\q"}}', ""),
    "json-nested-10000": (
        "claude-code",
        CLAUDE,
        '{"a": "' + SECRET_A + '", "b": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "nested too deeply",
    ),
    "toml-nested-10000": ("codex", CODEX, "a = " + "[" * 10_000 + "\n", ""),
    "yaml-nested-10000": ("goose", GOOSE, "a: " + "[" * 10_000 + "\n", ""),
}


def _assert_clean(text: str) -> None:
    assert SECRET_A not in text and SECRET_B not in text
    assert "FirstSecret" not in text and "SecondSecret" not in text
    assert "internal error" not in text and "Traceback" not in text


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_command_reports_position_and_key_only(fake_home: Path, case: str) -> None:
    client, relative, content, words = BROKEN[case]
    path = fake_home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    install = run("install", "-c", client, "--auth", "oauth", "--region", "us", "--yes")
    assert install.code == 1, install.err
    _assert_clean(install.out + install.err)
    error = [line for line in install.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and f"{path}:" in error[0] and words in error[0]
    as_json = run("install", "-c", client, "--auth", "oauth", "--region", "us", "--json")
    assert as_json.code == 1
    _assert_clean(as_json.out + as_json.err)
    assert json.loads(as_json.out)["errors"][0]["code"] == "config_parse"
    for args in (("list",), ("list", "--json"), ("remove", "-c", client, "--yes")):
        other = run(*args)
        assert other.code in (0, 1), other.err
        _assert_clean(other.out + other.err)
    doctor = run("doctor", "--client", client, "--timeout", "2", "--json", f"client.{client}.*")
    assert doctor.code == 1
    _assert_clean(doctor.out + doctor.err)
    assert path.read_text() == content
