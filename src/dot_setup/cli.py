"""The `dot-setup` command: the Typer app, and the one place that maps errors to exit codes.

Exit codes: 0 ok, 1 error, 2 usage or missing input, 3 internal error (a redacted log is
written), 4 authentication, 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from dot_setup.commands import (
    demo,
    doctor,
    install,
    list_cmd,
    login,
    logout,
    profiles_cmd,
    remove,
    restore,
    serve,
    show,
    token_cmd,
    wizard,
)
from dot_setup.errors import DotSetupError, ExitCode
from dot_setup.ui.console import OUT

HELP = """Connect AI clients (Claude, Cursor, Codex, Gemini CLI, ...) to the Dot MCP server.

Run `dot-setup` with no command for the setup wizard; `dot-setup demo` shows it on a local
server without touching your real configs.

Exit codes: 0 ok, 1 error, 2 usage or missing input, 3 internal error, 4 authentication,
130 interrupted."""

app = typer.Typer(
    help=HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for module in (
    install,
    remove,
    list_cmd,
    show,
    restore,
    doctor,
    profiles_cmd,
    login,
    logout,
    token_cmd,
):
    app.add_typer(module.app)
app.add_typer(serve.app)
app.add_typer(demo.app)
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
