"""The CLI's start-up shortcuts stay true to the CLI: the command table in cli.py lists every
command with its own help, and the static answers to `--help` and `--version` are what the Typer
app prints, without importing Typer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dot_setup import cli
from dot_setup.__main__ import static_answer

ROOT_HELP = Path(cli.__file__).with_name("root_help.txt")


def _cli(argv: list[str], columns: int) -> subprocess.CompletedProcess[str]:
    """The Typer CLI itself (not the shortcut), at a given terminal width."""
    code = f"from dot_setup.cli import run; raise SystemExit(run({argv!r}))"
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_the_command_table_matches_each_commands_help(name: str) -> None:
    command = cli.load_command(name)
    assert command.name == name
    assert (command.help or "").split("\n\n")[0].strip() == cli.COMMANDS[name][1]


def test_the_static_root_help_is_the_clis_own() -> None:
    result = _cli(["--help"], 80)
    assert result.returncode == 0, result.stderr
    assert ROOT_HELP.read_text(encoding="utf-8") == result.stdout, (
        "src/dot_setup/root_help.txt is stale: regenerate it with "
        "COLUMNS=80 .venv/bin/python -c \"from dot_setup.cli import run; run(['--help'])\" "
        "> src/dot_setup/root_help.txt"
    )
    assert "Commands:" in result.stdout and all(n in result.stdout for n in cli.COMMANDS)


def test_the_static_version_is_the_clis_own() -> None:
    result = _cli(["--version"], 80)
    assert result.returncode == 0
    assert static_answer(["--version"]) == result.stdout


def test_a_narrow_terminal_gets_help_wrapped_by_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert static_answer(["--help"]) is None  # the CLI renders it for 60 columns
    narrow = _cli(["--help"], 60).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 60
    monkeypatch.setenv("COLUMNS", "120")
    assert static_answer(["--help"]) == ROOT_HELP.read_text(encoding="utf-8")
    assert static_answer(["install", "--help"]) is None


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"]])
def test_static_answers_import_no_cli(argv: list[str]) -> None:
    """`dot-setup --help` as the installed script runs it: no Typer, no command module."""
    probe = (
        "import sys; from dot_setup.__main__ import main\n"
        f"sys.argv = ['dot-setup', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')"
        " or (m.startswith('dot_setup.') and m != 'dot_setup.__main__'))\n"
        "print('LOADED', loaded, 'EXIT', code, file=sys.stderr)"
    )
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert "LOADED [] EXIT 0" in result.stderr, result.stderr
    assert result.stdout.startswith("dot-setup " if argv == ["--version"] else "Usage: dot-setup")


def test_a_command_imports_only_its_own_module() -> None:
    """`dot-setup list --help` builds `list` alone: no other command module, no wizard."""
    probe = (
        "import sys; from dot_setup.cli import run\n"
        "run(['list', '--help'])\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(('dot_setup.commands.',"
        " 'dot_setup.wizard', 'dot_setup.doctor', 'dot_setup.server', 'dot_setup.signin'))),"
        " file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    loaded = result.stderr.split("LOADED", 1)[1]
    assert "dot_setup.commands.list_cmd" in loaded
    for other in (
        "install",
        "doctor",
        "serve",
        "token_cmd",
        "dot_setup.wizard",
        "dot_setup.server",
    ):
        assert other not in loaded, loaded
