"""`dot-setup list`: every known client, whether it is installed, and its Dot entry's state."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.install import JsonOpt, ProjectOpt, Scope, ScopeOpt
from dot_setup.ui.console import OUT

app = typer.Typer()


@app.command("list")
def list_command(
    scope: ScopeOpt = Scope.user,
    project_dir: ProjectOpt = None,
    service: Annotated[str, typer.Option("--service", help="Service profile id.")] = "dot",
    name: Annotated[str | None, typer.Option("--name", help="Server name to look for.")] = None,
    detected: Annotated[bool, typer.Option("--detected", help="Only installed clients.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List clients: detected or not, config path, configured / absent / differs."""
    OUT.json_mode, OUT.command = json_out, "list"
    from dot_setup.engine.status import client_statuses
    from dot_setup.paths import Paths

    paths = Paths.from_env(project=project_dir)
    rows = client_statuses(paths, service, scope.value, name)
    if detected:
        rows = [r for r in rows if r["detected"]]
    if OUT.json_mode:
        OUT.envelope("ok", 0, {"scope": scope.value, "clients": rows}, [])
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("client", "installed", "dot entry", "config file", "verified"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"],
            "yes" if row["detected"] else "-",
            row["status"] + (f" ({row['detail']})" if row["detail"] else ""),
            row["path"] or "(set up in the app: dot-setup show --client " + row["id"] + ")",
            row["verified"],
        )
    OUT.rich(table)
