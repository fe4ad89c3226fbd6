"""What `dot-setup restore` does: list backups, pick one (by id or by client), put it back."""

from __future__ import annotations

from pathlib import Path

from dot_setup.errors import NeedsInputError, UsageError
from dot_setup.fs.backups import Backup, find_backup, list_backups, make_backup, newest_backup_of
from dot_setup.fs.fsio import read_bytes, resolve, update_file
from dot_setup.paths import Paths
from dot_setup.ui.console import OUT


def show_backups(paths: Paths) -> None:
    backups = list_backups(paths)
    for b in backups:
        OUT.result(f"{b.id}  {b.created}  {b.size:>8} B  {b.path}")
    if not backups:
        OUT.message("no backups yet")
    if OUT.json_mode:
        OUT.envelope("ok", 0, {"backups": [b.__dict__ for b in backups]}, [])


def chosen_backup(paths: Paths, backup_id: str | None, client: str | None) -> Backup:
    if client is not None and backup_id is not None:
        raise UsageError("BACKUP_ID and --client both given", "use one of them")
    if client is not None:
        from dot_setup.engine.changes import resolve_target
        from dot_setup.profiles.loader import get_client

        _, config = resolve_target(get_client(client), "user", paths)
        return newest_backup_of(paths, config)
    if backup_id is None:
        raise NeedsInputError("BACKUP_ID (or --client ID, or --list)", "the backup to restore")
    return find_backup(paths, backup_id)


def restore(paths: Paths, backup: Backup, yes: bool, no_input: bool) -> bool:
    """Put the backup's bytes back (the current file is backed up first). False: declined."""
    from dot_setup.ui.prompts import confirm

    data = read_bytes(Path(backup.file))
    if data is None:
        raise UsageError(
            f"the file of backup {backup.id} is gone ({backup.file})",
            "list the others with `dot-setup restore --list`",
        )
    target = Path(backup.path)
    if read_bytes(resolve(target), label=target) == data:
        OUT.message(f"{target} already matches backup {backup.id}: nothing to do")
        return True
    if not confirm(f"Replace {target} with backup {backup.id}?", yes=yes, no_input=no_input):
        return False

    def keep_current(real: Path, before: bytes | None) -> None:
        if before is not None:
            make_backup(paths, real, before)  # restoring is undoable too

    update_file(
        paths,
        target,
        None,
        transform_bytes=lambda _before: data,
        holds_secret=True,
        on_before_replace=keep_current,
    )
    OUT.result(f"restored {target} from {backup.id}")
    return True
