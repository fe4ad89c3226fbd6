"""Tokens are masked everywhere and only accepted from safe sources."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dot_setup.errors import TokenInputError
from dot_setup.secrets import Redactor, mask, read_token


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("dot_mcp_us_sample0000000000000000", "dot_mcp_us_…0000"),
        ("abcdefghijklmnopqrstuvwxyz0123", "abcd…0123"),
        ("short-token", "***********"),
    ],
)
def test_mask_keeps_a_prefix_and_hides_the_rest(token: str, shown: str) -> None:
    assert mask(token) == shown
    hidden = len(token) - len(shown.replace("…", "").replace("*", ""))
    assert hidden >= 11


def test_redactor_masks_every_occurrence_longest_first() -> None:
    redact = Redactor()
    redact.add("dot_mcp_us_AAAAAAAAAAAAAAAAAAAAAAAA")
    text = (
        "Bearer dot_mcp_us_AAAAAAAAAAAAAAAAAAAAAAAA and ?token=dot_mcp_us_AAAAAAAAAAAAAAAAAAAAAAAA"
    )
    out = redact(text)
    assert "AAAAAAAAAAAA" not in out and out.count("dot_mcp_us_…AAAA") == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("two words", "contains spaces"),
        ("Bearer dot_mcp_us_xxxxxxxxxxxxxxxxxxxx", "contains spaces"),
        ("line1\nline2", "contains spaces, line breaks"),
    ],
)
def test_bad_tokens_get_one_clear_error(raw: str, message: str) -> None:
    with pytest.raises(TokenInputError, match=message):
        read_token(stdin=True, file=None, env_name="X", env={}, stream=_Pipe(raw))


def test_token_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tok"
    path.write_text("dot_mcp_us_fromfile00000000000000\n")
    path.chmod(0o644)
    got = read_token(stdin=False, file=path, env_name="X", env={})
    assert got is not None and got.token == "dot_mcp_us_fromfile00000000000000"
    assert "readable by other users" in capsys.readouterr().err
    got = read_token(
        stdin=False, file=None, env_name="X", env={"X": "dot_mcp_eu_fromenv000000000000"}
    )
    assert got is not None and got.origin == "env X"
    assert read_token(stdin=False, file=None, env_name="X", env={}) is None
    with pytest.raises(TokenInputError, match="both given"):
        read_token(stdin=True, file=path, env_name="X", env={})
    with pytest.raises(TokenInputError, match="cannot read the token file"):
        read_token(stdin=False, file=tmp_path / "missing", env_name="X", env={})
