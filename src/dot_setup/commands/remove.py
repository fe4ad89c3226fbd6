"""`dot-setup remove`: take our entry out of clients' config files, and nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import (
    ClientOpt,
    DryRunOpt,
    JsonOpt,
    NameOpt,
    NoInputOpt,
    ProjectOpt,
    Scope,
    ScopeOpt,
    ServiceOpt,
    WindowsOpt,
    YesOpt,
    command_app,
)
from dot_setup.ui.console import OUT

app = command_app()


@app.command("remove")
def remove_command(
    client: ClientOpt = None,
    all_clients: Annotated[
        bool, typer.Option("--all", help="Every client whose file holds the entry.")
    ] = False,
    scope: ScopeOpt = Scope.user,
    project_dir: ProjectOpt = None,
    name: NameOpt = None,
    service: ServiceOpt = "dot",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    windows: WindowsOpt = False,
    json_out: JsonOpt = False,
    no_input: NoInputOpt = False,
) -> None:
    """Remove the server entry from clients' config files (backed up first)."""
    OUT.json_mode, OUT.command = json_out, "remove"
    from dot_setup.flows.remove import RemoveRequest, run_remove
    from dot_setup.paths import Paths

    request = RemoveRequest(
        clients=client or [],
        all_clients=all_clients,
        scope=scope.value,
        name=name,
        service=service,
        dry_run=dry_run,
        yes=yes,
        no_input=no_input or json_out,
    )
    raise typer.Exit(run_remove(request, Paths.from_env(project=project_dir).side(windows)))
