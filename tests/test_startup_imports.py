"""Start-up stays light: the wizard's refusal, help screens and account commands' help import
none of the heavy libraries (the MCP SDK ~0.9 s, questionary, keyring, httpx2, the server stack).
They are imported by the step that uses them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "mcp",
    "questionary",
    "prompt_toolkit",
    "keyring",
    "httpx2",
    "sqlalchemy",
    "uvicorn",
    "argon2",
    "starlette",
)
PROBE = """
import sys, runpy
sys.argv = ['dot-setup', *{argv!r}]
try:
    runpy.run_module('dot_setup', run_name='__main__')
except SystemExit as exc:
    code = exc.code
heavy = sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {heavy!r}}})
print('HEAVY', heavy, 'EXIT', code, file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["login", "--help"],
        ["token", "status", "--help"],
        ["demo", "--help"],
        ["--client", "cursor", "--region", "us", "--dry-run"],
        ["doctor", "--help"],
        ["doctor", "--list"],
    ],
    ids=lambda a: " ".join(a) or "bare",
)
def test_start_up_imports_nothing_heavy(fake_home: Path, argv: list[str]) -> None:
    code = PROBE.format(argv=argv, heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("HEAVY"))
    assert line.startswith("HEAVY [] EXIT"), proc.stderr
    if not argv:  # no terminal, no flags: the usage error naming `dot-setup install`
        assert line.endswith("EXIT 2"), proc.stderr
        assert "dot-setup install" in proc.stderr
