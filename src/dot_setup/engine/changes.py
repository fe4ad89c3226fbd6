"""Plan and apply changes to client config files: the mechanism behind install and remove.

Planning reads each file and computes its new text without writing; the plan is what --dry-run
shows and what the confirmation lists. Applying re-runs each edit under the file's lock on the
file's then-current content (see fsio), backs up the old bytes, and rolls back the files already
written if a later one fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dot_setup.engine import containers
from dot_setup.engine.detect import target_path
from dot_setup.errors import (
    ConfigParseError,
    ConfigShapeError,
    DotSetupError,
    UsageError,
    WriteError,
)
from dot_setup.formats import get_format
from dot_setup.formats.base import MISSING, ParseFailure, ShapeFailure
from dot_setup.fs.backups import Backup, make_backup
from dot_setup.fs.fsio import (
    check_writable,
    decode,
    read_bytes,
    resolve,
    update_file,
    write_atomic,
)
from dot_setup.paths import Paths
from dot_setup.profiles.schema import ClientProfile, Target
from dot_setup.secrets import REDACT, mask_secret_values

Transform = Callable[[str | None], str]


@dataclass
class Change:
    """One named entry to set (entry given) or remove (entry None) in one client's file."""

    client: ClientProfile
    target: Target
    path: Path
    name: str
    entry: dict[str, Any] | None
    holds_secret: bool = False
    shape: str = ""
    force: bool = False
    before: str | None = None
    before_bytes: bytes | None = None
    after_bytes: bytes = b""
    status: str = ""  # create, update, unchanged, remove, absent
    backup: Backup | None = None
    warnings: list[str] = field(default_factory=list)
    created_levels: int = 0  # container levels this insert creates, or that remove may take

    @property
    def after(self) -> str:
        return self.after_bytes.decode("utf-8")

    @property
    def changed(self) -> bool:
        return self.status in ("create", "update", "remove")

    def diff(self) -> str:
        before = (self.before or "").splitlines(keepends=True)
        after = self.after.splitlines(keepends=True)
        label = str(self.path)
        import difflib  # only a diff shown needs it

        lines = difflib.unified_diff(
            before, after, fromfile=label if self.before is not None else "/dev/null", tofile=label
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        return mask_secret_values(REDACT(text))


def resolve_target(profile: ClientProfile, scope: str, paths: Paths) -> tuple[Target, Path]:
    target = profile.target(scope)
    if target is None:
        scopes = ", ".join(t.scope for t in profile.targets) or "none"
        raise UsageError(
            f"{profile.name} has no {scope}-scope config file", f"scopes it has: {scopes}"
        )
    path = target_path(target, paths)
    if path is None:
        raise UsageError(
            f"{profile.name} has no config file on {paths.os_name}",
            f"see `dot-setup show --client {profile.id}`",
        )
    return target, path


def new_document(target: Target) -> str:
    """The text a file starts as when dot-setup creates it: the target's `new_file` keys (a
    Continue config.yaml without `name` and `version` is refused), or nothing."""
    fmt = get_format(target.format)
    text = ""
    for key, value in target.new_file.items():
        text = fmt.set_entry(text, (), "", key, value)
    return text


def _with_requirements(target: Target, text: str) -> str:
    """Set the settings the entry needs beside it (`requires`); a value already there as
    required leaves the text as it was."""
    from dot_setup.profiles.validate import requirement_leaves

    fmt = get_format(target.format)
    for path, value in requirement_leaves(target.requires):
        text = fmt.set_entry(text, path[:-1], "", path[-1], value)
    return text


def _fresh(change: Change) -> str:
    """A new file: the target's `new_file` keys and the entry. What a missing file is created
    as, and what --force writes over a file that does not parse."""
    t = change.target
    text = get_format(t.format).set_entry(
        new_document(t), t.container, t.list_key, change.name, change.entry
    )
    return _with_requirements(t, text)


def _edit(change: Change, text: str | None) -> str:
    if text is None and change.entry is not None:
        return _fresh(change)
    fmt = get_format(change.target.format)
    source = text if text is not None else ""
    t = change.target
    try:
        if change.entry is None:
            removed = fmt.remove_entry(source, t.container, t.list_key, change.name)
            return containers.strip(t, removed, change.created_levels)
        text = fmt.set_entry(source, t.container, t.list_key, change.name, change.entry)
        return _with_requirements(t, text)
    except ParseFailure as exc:
        if change.force and change.entry is not None:
            return _fresh(change)  # the unreadable file is backed up before this is written
        raise ConfigParseError(str(change.path), exc.line, exc.col, exc.what) from None
    except ShapeFailure as exc:
        raise ConfigShapeError(
            f"{change.path}: {exc}", "fix that key by hand; dot-setup will not guess"
        ) from None


def _forced(change: Change) -> bool:
    return change.force and change.entry is not None


def _text(change: Change, data: bytes | None) -> str | None:
    """The file's text; under --force, bytes that are not UTF-8 are shown with U+FFFD."""
    try:
        return decode(change.path, data)
    except ConfigParseError:
        if data is None or not _forced(change):
            raise
        return data.decode("utf-8", "replace")


def _new_bytes(change: Change, data: bytes | None, text: str | None = None) -> bytes:
    """The file's bytes after the change. A JSON file's bytes are spliced directly (see
    jsonc.splice_bytes); --force replaces a file that is not UTF-8 or does not parse. `text`
    is `data` decoded, when the caller has it already (decoding 12 MB is not free)."""
    if text is None and data is not None:
        try:
            text = decode(change.path, data)
        except ConfigParseError:
            if not _forced(change):
                raise
            return _fresh(change).encode("utf-8")
    elif text is not None and _forced(change) and "\ufffd" in text:
        try:
            decode(change.path, data)
        except ConfigParseError:
            return _fresh(change).encode("utf-8")  # --force over bytes that are not UTF-8
    fmt = get_format(change.target.format)
    if change.entry is not None and data is not None and text is not None:
        from dot_setup.formats.jsonc import JsonFormat, splice_bytes

        if isinstance(fmt, JsonFormat):
            t = change.target
            try:
                base, edits = fmt.set_entry_edits(
                    text, t.container, t.list_key, change.name, change.entry
                )
            except (ParseFailure, ShapeFailure):
                pass  # _edit below reports it (or replaces the file under --force)
            else:
                if base is text:
                    return splice_bytes(data, text, edits)
    return _edit(change, text).encode("utf-8")


def current_entry(target: Target, path: Path) -> Any:
    """The entry dict for every name in the file (MISSING if the file does not exist)."""
    text = decode(path, read_bytes(resolve(path), label=path))
    if text is None:
        return MISSING
    try:
        return get_format(target.format).entries(text, target.container, target.list_key)
    except ParseFailure as exc:
        raise ConfigParseError(str(path), exc.line, exc.col, exc.what) from None
    except ShapeFailure as exc:
        raise ConfigShapeError(f"{path}: {exc}", "fix that key by hand") from None


def plan(changes: list[Change], paths: Paths) -> list[Change]:
    """Compute before/after for every change; files named twice see the earlier edits."""
    planned: dict[Path, bytes | None] = {}
    for change in changes:
        real = resolve(change.path)
        if real not in planned:
            planned[real] = read_bytes(real, label=change.path)
        change.before_bytes = planned[real]
        change.before = _text(change, change.before_bytes)
        if change.entry is None:
            change.created_levels = containers.recorded(paths, real, change.target, change.name)
        change.after_bytes = _new_bytes(change, change.before_bytes, change.before)
        if change.after_bytes == change.before_bytes:
            change.status = "unchanged" if change.entry is not None else "absent"
        elif change.entry is None:
            change.status = "remove"
        else:
            change.status = "create" if change.before is None else "update"
            change.created_levels = _created_levels(change)
        if change.changed:
            planned[real] = change.after_bytes
    return changes


def _created_levels(change: Change) -> int:
    """Container levels this insert creates (see containers.py). The innermost key appearing
    no more often than before means the container was there: no second parse of a 12 MB file."""
    before, key = change.before_bytes, change.target.container[-1].encode("utf-8")
    if (
        before is None
        or change.status != "update"
        or change.after_bytes.count(key) <= before.count(key)
    ):
        return 0
    t = change.target
    try:
        unwound = get_format(t.format).remove_entry(
            change.after, t.container, t.list_key, change.name
        )
    except (ParseFailure, ShapeFailure):
        return 0  # not undoable exactly: remove will leave the container
    return containers.created_levels(t, change.before, unwound)


def preflight(changes: list[Change], paths: Paths) -> None:
    """Check that every file to change can be written, before anything is (see check_writable)."""
    for change in changes:
        if change.changed:
            check_writable(paths, change.path)


def apply(changes: list[Change], paths: Paths) -> list[Change]:
    """Write every changed file; on failure restore the ones already written, then re-raise."""
    preflight(changes, paths)
    done: list[tuple[Change, bytes | None]] = []
    try:
        for change in changes:
            if not change.changed:
                continue

            def backup(real: Path, before: bytes | None, change: Change = change) -> None:
                if before is not None and (
                    change.backup is None or change.backup.path != str(real)
                ):
                    change.backup = make_backup(paths, real, before)

            def transform(data: bytes | None, change: Change = change) -> bytes:
                return _new_bytes(change, data)

            outcome = update_file(
                paths,
                change.path,
                None,
                holds_secret=change.holds_secret,
                on_before_replace=backup,
                planned=(change.before_bytes, change.after_bytes),
                transform_bytes=transform,
            )
            if outcome.changed:
                done.append((change, outcome.before))
                _remember_containers(paths, outcome.real_path, change)
    except DotSetupError:
        _roll_back(done)
        raise
    except OSError as exc:  # a backup that could not be written, a vanished folder, ...
        _roll_back(done)
        where = f"{exc.filename}: " if exc.filename else ""
        raise WriteError(
            f"{where}{exc.strerror or exc}", "check free space and permissions"
        ) from None
    return changes


def _remember_containers(paths: Paths, real: Path, change: Change) -> None:
    if change.entry is None and change.created_levels:
        containers.record(paths, real, change.target, change.name, 0)
    elif change.entry is not None and change.created_levels:
        containers.record(paths, real, change.target, change.name, change.created_levels)


def _roll_back(done: list[tuple[Change, bytes | None]]) -> None:
    for change, before in reversed(done):
        real = resolve(change.path)
        if before is None:
            real.unlink(missing_ok=True)
        else:
            mode = real.stat().st_mode & 0o7777 if real.exists() else 0o600
            write_atomic(real, before, mode, None)
