"""Backups of every file dot-setup changes, kept 0600 in the state dir, and restoring them.

Each backup is the file's exact bytes before our write, plus one line in `index.jsonl` saying
where it came from. Backups can hold tokens (the file did), so the folder is 0700. Only the
newest `KEEP_PER_FILE` backups of each file are kept: a 12 MB `~/.claude.json` changed every day
must not fill the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dot_setup.errors import UsageError
from dot_setup.fs.fsio import file_lock, read_bytes, write_atomic
from dot_setup.paths import Paths

KEEP_PER_FILE = 10


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


def _new_id(digest: str, taken: set[str]) -> str:
    """Time to the microsecond and the content's digest; unique even for two backups of the
    same bytes in the same second (which once made `restore ID` answer "several match")."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f".{int(now * 1e6) % 10**6:06d}"
    base = f"{stamp}-{digest[:8]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def make_backup(paths: Paths, original: Path, data: bytes) -> Backup:
    paths.backups_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(paths.backups_dir, 0o700)
    with file_lock(paths, _index(paths)):  # one writer of the index at a time
        existing = list_backups(paths)
        digest = hashlib.sha256(data).hexdigest()
        backup_id = _new_id(digest, {b.id for b in existing})
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
            fh.write(json.dumps(asdict(record)) + "\n")
        _prune(paths, [*existing, record], record.path)
    return record


def _prune(paths: Paths, backups: list[Backup], path: str) -> None:
    """Keep the newest KEEP_PER_FILE backups of `path`; older files and index lines go."""
    same = [b for b in backups if b.path == path]
    if len(same) <= KEEP_PER_FILE:
        return
    drop = {b.id for b in same[:-KEEP_PER_FILE]}  # the index is in creation order
    kept = [b for b in backups if b.id not in drop]
    text = "".join(json.dumps(asdict(b)) + "\n" for b in kept)
    write_atomic(_index(paths), text.encode("utf-8"), 0o600, None)
    for b in backups:
        if b.id in drop:
            with contextlib.suppress(FileNotFoundError):
                Path(b.file).unlink()


def list_backups(paths: Paths) -> list[Backup]:
    data = read_bytes(_index(paths))
    if data is None:
        return []
    records = []
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            records.append(Backup(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # a torn last line from a crash mid-append; the others are still good
    return records


def find_backup(paths: Paths, backup_id: str) -> Backup:
    backups = list_backups(paths)
    exact = [b for b in backups if b.id == backup_id]
    matches = exact or [b for b in backups if b.id.startswith(backup_id)]
    if len(matches) != 1:
        what = "no backup" if not matches else "several backups"
        raise UsageError(
            f"{what} matches {backup_id!r}", "list them with `dot-setup restore --list`"
        )
    return matches[0]


def newest_backup_of(paths: Paths, path: Path) -> Backup:
    """The most recent backup of this file (named as the user knows it, or its target)."""
    names = {str(path), os.path.realpath(path)}
    matches = [b for b in list_backups(paths) if b.path in names]
    if not matches:
        raise UsageError(
            f"dot-setup has no backup of {path}", "list them with `dot-setup restore --list`"
        )
    return matches[-1]
