"""`dot-setup restore`: list backups, or put a backed-up file back."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.install import JsonOpt, NoInputOpt, YesOpt
from dot_setup.console import OUT

app = typer.Typer()


@app.command("restore")
def restore_command(
    backup_id: Annotated[str | None, typer.Argument(help="Backup id (or a unique prefix).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List backups, newest last.")] = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
    no_input: NoInputOpt = False,
) -> None:
    """Restore a config file from one of dot-setup's backups."""
    OUT.json_mode, OUT.command = json_out, "restore"
    from pathlib import Path

    from dot_setup.backups import find_backup, list_backups, make_backup
    from dot_setup.errors import NeedsInputError, UsageError
    from dot_setup.fsio import read_bytes, resolve, update_file
    from dot_setup.install_flow import InstallRequest, confirm
    from dot_setup.paths import Paths

    paths = Paths.from_env()
    if list_ or backup_id is None:
        if backup_id is None and not list_:
            raise NeedsInputError("BACKUP_ID (or --list)", "the backup to restore")
        backups = list_backups(paths)
        for b in backups:
            OUT.result(f"{b.id}  {b.created}  {b.size:>8} B  {b.path}")
        if not backups:
            OUT.message("no backups yet")
        if OUT.json_mode:
            OUT.envelope("ok", 0, {"backups": [b.__dict__ for b in backups]}, [])
        return
    backup = find_backup(paths, backup_id)
    data = read_bytes(Path(backup.file))
    if data is None:
        raise UsageError(
            f"the file of backup {backup.id} is gone ({backup.file})",
            "list the others with `dot-setup restore --list`",
        )
    target = Path(backup.path)
    request = InstallRequest(clients=[], yes=yes, no_input=no_input or json_out)
    if read_bytes(resolve(target), label=target) == data:
        OUT.message(f"{target} already matches backup {backup.id}: nothing to do")
    else:
        if not confirm(f"Replace {target} with backup {backup.id}?", request):
            raise typer.Exit(1)

        def keep_current(real: Path, before: bytes | None) -> None:
            if before is not None:
                make_backup(paths, real, before)  # restoring is undoable too

        update_file(
            paths,
            target,
            lambda _before: data,
            holds_secret=True,
            on_before_replace=keep_current,
        )
        OUT.result(f"restored {target} from {backup.id}")
    if OUT.json_mode:
        OUT.envelope("ok", 0, {"restored": backup.__dict__}, [])
