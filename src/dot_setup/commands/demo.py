"""`dot-setup demo`: see the whole wizard work on a local Dot server, in a sandbox home."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dot_setup.commands.options import NoInputOpt, YesOpt, command_app
from dot_setup.ui.console import OUT

app = command_app()


@app.command("demo")
def demo_command(
    sandbox: Annotated[
        Path | None,
        typer.Option(
            "--sandbox", help="Folder for the fake home and server (default: a new temp folder)."
        ),
    ] = None,
    browser: Annotated[
        bool,
        typer.Option("--browser", help="Sign in yourself in a browser (the password is shown)."),
    ] = False,
    yes: YesOpt = False,
    no_input: NoInputOpt = False,
) -> None:
    """Run the wizard against the embedded reference server; real configs are never touched."""
    OUT.command = "demo"
    from dot_setup.flows.demo import run_demo

    raise typer.Exit(run_demo(sandbox, yes, browser, no_input))
