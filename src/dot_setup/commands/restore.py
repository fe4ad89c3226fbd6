"""`dot-setup restore`: list backups, or put a backed-up file back."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import JsonOpt, NoInputOpt, WindowsOpt, YesOpt, command_app
from dot_setup.ui.console import OUT

app = command_app()


@app.command("restore")
def restore_command(
    backup_id: Annotated[str | None, typer.Argument(help="Backup id (or a unique prefix).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List backups, newest last.")] = False,
    client: Annotated[
        str | None,
        typer.Option("--client", "-c", help="Restore the newest backup of this client's file."),
    ] = None,
    yes: YesOpt = False,
    windows: WindowsOpt = False,
    json_out: JsonOpt = False,
    no_input: NoInputOpt = False,
) -> None:
    """Restore a config file from one of dot-setup's backups."""
    OUT.json_mode, OUT.command = json_out, "restore"
    from dot_setup.flows.restore import chosen_backup, restore, show_backups
    from dot_setup.paths import Paths

    paths = Paths.from_env().side(windows)
    if list_:
        show_backups(paths)
        return
    backup = chosen_backup(paths, backup_id, client)
    if not restore(paths, backup, yes, no_input or json_out):
        raise typer.Exit(1)
    if OUT.json_mode:
        OUT.envelope("ok", 0, {"restored": backup.__dict__}, [])
