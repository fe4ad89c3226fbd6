"""Writing other programs' config files without ever leaving them torn or lost.

- Atomic: a temp file in the same directory, fsync, then `os.replace`; a crash at any moment
  leaves the old file or the new one. The directory is fsynced so the rename survives power loss.
- Through symlinks: the link's target is replaced, the link stays (dotfile managers rely on it).
- Mode and owner of an existing file are kept; a new file that holds a token is 0600.
- One lock per target file (in our state dir, never beside the user's file) serialises our own
  concurrent runs; the read-modify-write happens under it.
- Compare-and-swap against other writers: a running Claude Code rewrites `~/.claude.json` on its
  own schedule. Just before the rename the file is read again; if it changed since we read it,
  our edit is recomputed on the new content instead of overwriting theirs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dot_setup.errors import ConfigParseError, WriteError
from dot_setup.paths import Paths

CAS_ATTEMPTS = 5
LOCK_TIMEOUT_S = 30.0


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise WriteError(f"{path} is a directory, expected a file", "move it aside") from None
    except NotADirectoryError:
        raise WriteError(
            f"{path}: a parent of it is a file, not a folder", "move it aside"
        ) from None
    except PermissionError:
        raise WriteError(f"{path}: permission denied", "check the file's owner and mode") from None


def decode(path: Path, data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data[: exc.start].decode("utf-8", "replace")
        line = text.count("\n") + 1
        col = exc.start - (text.rfind("\n") + 1) + 1
        raise ConfigParseError(str(path), line, col, "not UTF-8 text") from None


def resolve(path: Path) -> Path:
    """The file a write really changes: symlinks followed, even dangling ones."""
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def file_lock(paths: Paths, real: Path) -> Iterator[None]:
    """One lock file per target, in our state dir (never beside the user's file)."""
    paths.locks_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(str(real).encode()).hexdigest()[:20]
    lock_path = paths.locks_dir / f"{digest}.lock"
    timeout = WriteError(
        f"{real}: another dot-setup run has held its lock for {LOCK_TIMEOUT_S:.0f} s",
        "wait for it to finish, then try again",
    )
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
                yield
        except Timeout:
            raise timeout from None
        return
    import fcntl  # POSIX: flock is released by the kernel if we are killed

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise timeout from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _target_mode(existing: os.stat_result | None, holds_secret: bool) -> int:
    if existing is not None:
        return stat.S_IMODE(existing.st_mode)
    return 0o600 if holds_secret else 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return  # directories cannot be opened for fsync on Windows; NTFS journals the rename
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(real: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    """Replace `real` with `data` in one rename. `real` must already be symlink-resolved."""
    real.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.dot-setup-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if owner is not None and hasattr(os, "chown"):
            with contextlib.suppress(PermissionError):
                os.chown(tmp, *owner)  # only root can give a file away; others keep their own
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(real.parent)


@dataclass(frozen=True)
class WriteOutcome:
    path: Path
    real_path: Path
    before: bytes | None
    after: bytes
    changed: bool


def update_file(
    paths: Paths,
    path: Path,
    transform: Callable[[str | None], str],
    *,
    holds_secret: bool,
    allow_readonly: bool = False,
    on_before_replace: Callable[[Path, bytes | None], None] | None = None,
    planned: tuple[bytes | None, bytes] | None = None,
    transform_bytes: Callable[[bytes | None, str | None], bytes] | None = None,
) -> WriteOutcome:
    """Read, transform and atomically replace one file under its lock, retrying on a race.

    `planned` is (bytes the plan read, bytes it computed): when the file still holds those
    bytes, the planned result is reused instead of computing the edit again. `transform_bytes`,
    if given, computes the new bytes from the old bytes and text (faster for big files).
    """
    real = resolve(path)
    with file_lock(paths, real):
        for _attempt in range(CAS_ATTEMPTS):
            before = read_bytes(real)
            if planned is not None and before == planned[0]:
                after = planned[1]
            elif transform_bytes is not None:
                after = transform_bytes(before, decode(path, before))
            else:
                after = transform(decode(path, before)).encode("utf-8")
            if after == before:
                return WriteOutcome(path, real, before, after, changed=False)
            existing = real.stat() if before is not None else None
            if existing is not None and not allow_readonly and not existing.st_mode & stat.S_IWUSR:
                raise WriteError(
                    f"{path} is read-only (mode {stat.S_IMODE(existing.st_mode):o})",
                    f"make it writable (chmod u+w {path}) if dot-setup may change it",
                )
            if on_before_replace is not None:
                on_before_replace(real, before)
            if read_bytes(real) != before:
                continue  # someone else wrote it meanwhile: redo our edit on their version
            owner = (existing.st_uid, existing.st_gid) if existing is not None else None
            try:
                write_atomic(real, after, _target_mode(existing, holds_secret), owner)
            except OSError as exc:
                raise WriteError(
                    f"{path}: {exc.strerror or exc}", "check free space and permissions"
                ) from None
            return WriteOutcome(path, real, before, after, changed=True)
    raise WriteError(
        f"{path} kept changing while dot-setup was writing it",
        "close the program that is rewriting it, then run the command again",
    )
