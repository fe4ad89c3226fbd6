"""The `dot-setup` command: the Typer app, and the one place that maps errors to exit codes.

Exit codes: 0 ok, 1 error, 2 usage or missing input, 3 internal error (a redacted log is
written), 4 authentication, 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from dot_setup.commands import wizard
from dot_setup.errors import DotSetupError, ExitCode
from dot_setup.ui.console import OUT

HELP = """Connect AI clients (Claude, Cursor, Codex, Gemini CLI, ...) to the Dot MCP server.

Run `dot-setup` with no command for the setup wizard; `dot-setup demo` shows it on a local
server without touching your real configs.

Exit codes: 0 ok, 1 error, 2 usage or missing input, 3 internal error, 4 authentication,
130 interrupted."""

# Every command: its module in dot_setup.commands and the first paragraph of its help (what
# `dot-setup --help` lists). Only the command that runs is imported and built; a test checks
# these lines against the commands' own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "install": ("install", "Connect clients to the service by writing their config files."),
    "remove": ("remove", "Remove the server entry from clients' config files (backed up first)."),
    "list": (
        "list_cmd",
        "List clients: detected or not, config path, configured / absent / differs.",
    ),
    "show": ("show", "Show what to paste into a client (config block, URL, or UI steps)."),
    "restore": ("restore", "Restore a config file from one of dot-setup's backups."),
    "doctor": (
        "doctor",
        "Diagnose every client's Dot setup (exit 0: no failures; 1: failures).",
    ),
    "profiles": ("profiles_cmd", "Validate client profiles and generate their docs."),
    "login": ("login", "Sign in, so the wizard and `token` can create MCP tokens for you."),
    "logout": (
        "logout",
        "Sign out (client configs and MCP tokens already written are not touched).",
    ),
    "token": ("token_cmd", "Create, revoke or inspect your MCP token."),
    "serve": (
        "serve",
        "Run a local Dot: the MCP endpoint, OAuth sign-in, MCP tokens and a demo dataset.",
    ),
    "demo": (
        "demo",
        "Run the wizard against the embedded reference server; real configs are never touched.",
    ),
}


def load_command(name: str) -> Any:
    """Import one command's module and build its click command (a command or a group)."""
    import importlib

    module = importlib.import_module(f"dot_setup.commands.{COMMANDS[name][0]}")
    command = typer.main.get_command(module.app)
    if isinstance(command, TyperGroup):  # a module whose app holds one named group
        command = command.commands[name]
    return command


class _Commands(Mapping[str, Any]):
    """The root group's commands, built on first use."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        if name not in self._built:
            self._built[name] = load_command(name)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(TyperGroup):
    """The root: the wizard's options, and the commands, each imported only when it runs."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands()  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the table above, without importing any command."""
        built = self.commands
        self.commands = {
            name: TyperCommand(name=name, help=text) for name, (_, text) in COMMANDS.items()
        }
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.commands = built


app = typer.Typer(
    cls=LazyGroup,
    help=HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.callback(invoke_without_command=True)(wizard.root)


def _report(exc: DotSetupError) -> int:
    code = int(exc.exit_code)
    if OUT.json_mode:
        error = {"code": exc.code, "message": exc.message, "hint": exc.hint}
        OUT.envelope("error", code, None, [error])
    OUT.message(f"error: {exc.message}", "red")
    if exc.hint:
        OUT.message(f"hint: {exc.hint}")
    return code


def _crash(exc: BaseException) -> int:
    from dot_setup.ui.crashlog import write_crash_log

    path = write_crash_log(exc)
    OUT.message(f"internal error: {type(exc).__name__}: {exc}", "red")
    OUT.message(f"a redacted report was written to {path}; please attach it to a bug report")
    if OUT.json_mode:
        error = {"code": "internal", "message": f"{type(exc).__name__}", "hint": str(path)}
        OUT.envelope("error", int(ExitCode.INTERNAL), None, [error])
    return int(ExitCode.INTERNAL)


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Click's usage errors, from the copy typer really uses (typer >= 0.2x vendors click)."""
    import importlib

    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            return (importlib.import_module(module).ClickException,)
        except ImportError:
            continue
    return ()


def run(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    usage_errors = _usage_errors()
    try:
        result = command.main(args=argv, prog_name="dot-setup", standalone_mode=False)
    except DotSetupError as exc:
        return _report(exc)
    except typer.Exit as exc:
        return _interrupted() if exc.exit_code == ExitCode.INTERRUPTED else int(exc.exit_code)
    except typer.Abort:
        OUT.message("interrupted", "yellow")
        return int(ExitCode.INTERRUPTED)
    except usage_errors as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        OUT.message("interrupted: nothing more was changed", "yellow")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        return _crash(exc)
    # typer turns Ctrl-C (KeyboardInterrupt) into Exit(130), which click's non-standalone
    # main returns as a value: the notice must be printed here, not only in the except above.
    if result == ExitCode.INTERRUPTED:
        return _interrupted()
    return int(result or 0)


def _interrupted() -> int:
    OUT.message("interrupted: nothing more was changed", "yellow")
    return int(ExitCode.INTERRUPTED)


def main() -> None:
    sys.exit(run())
