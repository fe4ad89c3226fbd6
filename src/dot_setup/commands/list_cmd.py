"""`dot-setup list`: every known client, whether it is installed, and its Dot entry's state."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import (
    JsonOpt,
    ProjectOpt,
    Scope,
    ScopeOpt,
    ServiceOpt,
    WindowsOpt,
    command_app,
)
from dot_setup.ui.console import OUT

app = command_app()


@app.command("list")
def list_command(
    scope: ScopeOpt = Scope.user,
    project_dir: ProjectOpt = None,
    service: ServiceOpt = "dot",
    name: Annotated[str | None, typer.Option("--name", help="Server name to look for.")] = None,
    detected: Annotated[bool, typer.Option("--detected", help="Only installed clients.")] = False,
    windows: WindowsOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """List clients: detected or not, config path, configured / absent / differs."""
    OUT.json_mode, OUT.command = json_out, "list"
    from dot_setup.flows.list import run_list
    from dot_setup.paths import Paths

    run_list(
        Paths.from_env(project=project_dir).side(windows), service, scope.value, name, detected
    )
