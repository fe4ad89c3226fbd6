"""`dot-setup profiles check|docs`: validate the profile data and generate docs/clients/*.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dot_setup.commands.options import command_app
from dot_setup.ui.console import OUT

app = command_app()
profiles = command_app(name="profiles", help="Validate client profiles and generate their docs.")
app.add_typer(profiles)


@profiles.command("check")
def check_command() -> None:
    """Load and validate every client and service profile."""
    from dot_setup.profiles.loader import data_root, load_clients, load_services

    clients, services = load_clients(), load_services()
    OUT.result(f"{len(clients)} client and {len(services)} service profiles valid ({data_root()})")


@profiles.command("docs")
def docs_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the <id>.md files.")] = Path(
        "docs/clients"
    ),
    check: Annotated[
        bool, typer.Option("--check", help="Fail (exit 1) if the files are stale; write nothing.")
    ] = False,
) -> None:
    """Generate docs/clients/<id>.md from the profiles."""
    from dot_setup.profiles.docs import generate

    stale = generate(out, check=check)
    if check and stale:
        OUT.message(f"stale client docs: {', '.join(stale)}; run `dot-setup profiles docs`", "red")
        raise typer.Exit(1)
    OUT.result(f"{'checked' if check else 'wrote'} client docs in {out}")
