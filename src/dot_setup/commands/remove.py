"""`dot-setup remove`: take our entry out of clients' config files, and nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.install import (
    ClientOpt,
    DryRunOpt,
    JsonOpt,
    NameOpt,
    NoInputOpt,
    ProjectOpt,
    Scope,
    ScopeOpt,
    YesOpt,
)
from dot_setup.ui.console import OUT

app = typer.Typer()


@app.command("remove")
def remove_command(
    client: ClientOpt = None,
    all_clients: Annotated[
        bool, typer.Option("--all", help="Every client whose file holds the entry.")
    ] = False,
    scope: ScopeOpt = Scope.user,
    project_dir: ProjectOpt = None,
    name: NameOpt = None,
    service: Annotated[str, typer.Option("--service", help="Service profile id.")] = "dot",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
    no_input: NoInputOpt = False,
) -> None:
    """Remove the server entry from clients' config files (backed up first)."""
    OUT.json_mode, OUT.command = json_out, "remove"
    import os

    from dot_setup.engine.changes import Change, apply, plan, resolve_target
    from dot_setup.flows.install import InstallRequest, change_data, confirm, report_plan
    from dot_setup.paths import Paths
    from dot_setup.profiles.loader import get_service, load_clients

    request = InstallRequest(
        clients=client or [], yes=yes, no_input=no_input or json_out, dry_run=dry_run
    )
    paths = Paths.from_env(project=project_dir)
    entry_name = name or get_service(service).default_server_name
    if all_clients:
        profiles = [p for p in load_clients().values() if p.target(scope.value)]
    else:
        from dot_setup.flows.install import select_clients

        profiles = [p for p in select_clients(request, paths) if p.kind == "file"]
    changes = []
    for profile in profiles:
        target, path = resolve_target(profile, scope.value, paths)
        if all_clients and not os.path.exists(path):  # noqa: PTH110 (never raises)
            continue
        changes.append(
            Change(client=profile, target=target, path=path, name=entry_name, entry=None)
        )
    plan(changes, paths)
    pending = [c for c in changes if c.changed]
    report_plan(changes, dry_run)
    if pending and not dry_run:
        if not confirm(f"Remove {entry_name!r} from {len(pending)} file(s)?", request):
            OUT.message("nothing was changed")
            raise typer.Exit(1)
        apply(changes, paths)
        for change in pending:
            OUT.result(
                f"removed  {change.path} (backup {change.backup.id if change.backup else '-'})"
            )
    elif not pending:
        OUT.message(f"no entry named {entry_name!r} found: nothing to remove")
    if OUT.json_mode:
        data = {"dry_run": dry_run, "changes": [change_data(c, dry_run) for c in changes]}
        OUT.envelope("ok", 0, data, [])
