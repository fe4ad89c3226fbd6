"""Backups of every file dot-setup changes, kept 0600 in the state dir, and restoring them.

Each backup is the file's exact bytes before our write, plus one line in `index.jsonl` saying
where it came from. Backups can hold tokens (the file did), so the folder is 0700.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from dot_setup.errors import UsageError
from dot_setup.fsio import write_atomic
from dot_setup.paths import Paths


@dataclass(frozen=True)
class Backup:
    id: str
    created: str
    path: str
    file: str
    sha256: str
    size: int


def _index(paths: Paths) -> Path:
    return paths.backups_dir / "index.jsonl"


def make_backup(paths: Paths, original: Path, data: bytes) -> Backup:
    paths.backups_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(paths.backups_dir, 0o700)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(data).hexdigest()
    backup_id = f"{stamp}-{digest[:8]}"
    file = paths.backups_dir / f"{backup_id}-{original.name}"
    write_atomic(file, data, 0o600, None)
    record = Backup(
        id=backup_id,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        path=str(original),
        file=str(file),
        sha256=digest,
        size=len(data),
    )
    fd = os.open(_index(paths), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record.__dict__) + "\n")
    return record


def list_backups(paths: Paths) -> list[Backup]:
    try:
        lines = _index(paths).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            records.append(Backup(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # a torn last line from a crash mid-append; the others are still good
    return records


def find_backup(paths: Paths, backup_id: str) -> Backup:
    matches = [b for b in list_backups(paths) if b.id == backup_id or b.id.startswith(backup_id)]
    if len(matches) != 1:
        what = "no backup" if not matches else "several backups"
        raise UsageError(
            f"{what} matches {backup_id!r}", "list them with `dot-setup restore --list`"
        )
    return matches[0]
