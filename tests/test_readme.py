"""README.md keeps its two commands, and CI runs the test one verbatim."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _commands() -> dict[str, str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"<!-- (main|test) command -->\s*```(?:bash|sh)?\n(.+?)\n```", text, re.S)
    return {kind: body.strip() for kind, body in blocks}


def test_readme_has_both_commands() -> None:
    commands = _commands()
    assert set(commands) == {"main", "test"}
    assert "dot-setup" in commands["main"]
    assert "pytest" in commands["test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert _commands()["test"] in ci
