"""Writing other programs' config files without ever leaving them torn or lost.

- Only regular files: a FIFO, a device node, a socket or a folder at a config path (also behind
  a symlink) is refused before it is opened for reading, never replaced. Reads are bounded in
  size (a never-ending file is refused, not read into memory) and cannot block.
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
import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dot_setup.errors import ConfigParseError, FileAccessError, WriteError
from dot_setup.paths import Paths

CAS_ATTEMPTS = 5
LOCK_TIMEOUT_S = 30.0


# ~/.claude.json grows to tens of MB; nothing a client reads is anywhere near this. The cap turns a
# runaway or never-ending file into a clear refusal instead of a MemoryError.
MAX_FILE_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused right after the fstat).
# O_NOCTTY: a terminal device must never become our controlling terminal.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def kind_of(mode: int) -> str:
    """What a file-system object is, in words, for a refusal."""
    return next((word for test, word in _KINDS if test(mode)), "not a regular file")


def _name(path: Path, label: Path | None) -> str:
    if label is None or str(label) == str(path):
        return str(path)
    return f"{label} (a symlink to {path})"


def _access_error(path: Path, label: Path | None, exc: OSError) -> FileAccessError:
    name = _name(path, label)
    if exc.errno == errno.ELOOP:
        return FileAccessError(f"{name}: the symlinks loop", "fix or remove the symlink")
    if isinstance(exc, NotADirectoryError):
        return FileAccessError(f"{name}: a parent of it is a file, not a folder", "move it aside")
    if isinstance(exc, PermissionError):
        return FileAccessError(
            f"{name}: permission denied", "check the owner and mode of the file and its folders"
        )
    return FileAccessError(f"{name}: {exc.strerror or exc}", "check the path")


def _refuse_kind(path: Path, label: Path | None, mode: int) -> FileAccessError:
    return FileAccessError(
        f"{_name(path, label)} is {kind_of(mode)}, not a regular file",
        "dot-setup reads and changes only regular files; put a regular file there",
    )


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES, label: Path | None = None) -> bytes | None:
    """A regular file's bytes, None if it does not exist; anything else is refused.

    Bounded in time and size: a FIFO, a device node, a socket or a directory (also behind a
    symlink) is refused before it is read, so nothing can block on it or read forever, and a
    file larger than `limit` is refused. `label` is the name the user knows the file by (the
    symlink), for messages.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _access_error(path, label, exc) from None
    if not stat.S_ISREG(before.st_mode):
        raise _refuse_kind(path, label, before.st_mode)
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _access_error(path, label, exc) from None
    try:
        st = os.fstat(fd)  # what was opened, not what the name pointed to a moment ago
        if not stat.S_ISREG(st.st_mode):
            raise _refuse_kind(path, label, st.st_mode)
        chunks: list[bytes] = []
        total, want = 0, min(st.st_size, limit) + 1
        while True:
            chunk = os.read(fd, max(1, min(want, limit + 1 - total)))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileAccessError(
                    f"{_name(path, label)} is larger than {limit // (1024 * 1024) or limit} "
                    f"{'MiB' if limit >= 1024 * 1024 else 'bytes'}",
                    "dot-setup does not read files that large; check that it is the right file",
                )
            want = _READ_CHUNK
    except OSError as exc:
        raise _access_error(path, label, exc) from None
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_pipe(fd: int, limit: int, timeout: float, name: str) -> bytes:
    """Up to `limit` bytes from a pipe until its end, waiting at most `timeout` seconds in all.

    For tokens from stdin or `--token-file <(command)`: a writer that never finishes, or never
    stops (`yes |`), gets a clear error instead of a hang or a MemoryError.
    """
    import select

    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    total = 0
    # A FIFO opened after its last writer left never reports end-of-file to select (Linux sets
    # POLLHUP only for writers seen since this open), so a non-blocking fd is also read directly.
    probe = not os.get_blocking(fd)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FileAccessError(
                f"{name} did not end within {timeout:.0f} s",
                "close the pipe after the token (e.g. `printf %s TOKEN |`), or use a file",
            )
        ready, _, _ = select.select([fd], [], [], min(left, 0.2) if probe else left)
        if not ready and not probe:
            continue
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise FileAccessError(
                f"{name} holds more than {limit} bytes", "give only the token, on one line"
            )


def read_secret_file(path: Path, limit: int, timeout: float) -> bytes:
    """A small file that holds a secret: a regular file, or a pipe (`--token-file <(pass x)`).

    Devices, sockets and folders are refused; size and waiting time are bounded.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _access_error(path, None, exc) from None
    if stat.S_ISREG(st.st_mode):
        data = read_bytes(path, limit=limit)
        if data is None:
            raise FileAccessError(f"{path}: no such file", "check the path")
        return data
    if not stat.S_ISFIFO(st.st_mode):
        raise _refuse_kind(path, None, st.st_mode)
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise _access_error(path, None, exc) from None
    try:
        return read_pipe(fd, limit, timeout, str(path))
    finally:
        os.close(fd)


def read_json(path: Path, limit: int = 16 * 1024 * 1024) -> object:
    """A small JSON file dot-setup reads but does not edit (its settings, its sign-in, another
    tool's cache): bounded like every read; None if it is missing, unreadable or not JSON."""
    import json

    try:
        data = read_bytes(path, limit=limit)
        return None if data is None else json.loads(data.decode("utf-8"))
    except (FileAccessError, ValueError, RecursionError):
        return None


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


def _lock_path(paths: Paths, real: Path) -> Path:
    try:
        paths.locks_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise WriteError(
            f"cannot create dot-setup's lock folder {paths.locks_dir}: {exc.strerror or exc}",
            "check DOT_SETUP_STATE_DIR and the permissions of that folder",
        ) from None
    digest = hashlib.sha256(str(real).encode()).hexdigest()[:20]
    return paths.locks_dir / f"{digest}.lock"


def check_writable(paths: Paths, path: Path) -> None:
    """Raise unless `path` can be written now: what a write needs, checked without writing.

    For steps that cannot be undone (generating a token revokes the previous one): the file is
    absent or a regular, writable file; the nearest existing folder on its path, and on the
    path of its lock file, is a folder we may write in. Nothing is created.
    """
    real = resolve(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _access_error(real, path, exc) from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise _refuse_kind(real, path, st.st_mode)
        if not st.st_mode & stat.S_IWUSR or not os.access(real, os.W_OK):
            raise WriteError(
                f"{path} is read-only (mode {stat.S_IMODE(st.st_mode):o})",
                f"make it writable (chmod u+w {path}) if dot-setup may change it",
            )
    _check_folder(real.parent, f"for {path}")
    _check_folder(paths.locks_dir, "for dot-setup's lock files")


def _check_folder(folder: Path, purpose: str) -> None:
    """The folder, or the nearest one of its parents that exists, is a folder we may write in:
    checked without creating anything (a declined confirmation leaves no trace)."""
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise FileAccessError(f"{folder} is not a folder ({purpose})", "move it aside")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(
            f"cannot write in {folder} ({purpose}): permission denied",
            "check the owner and mode of that folder",
        )


@contextlib.contextmanager
def file_lock(paths: Paths, real: Path) -> Iterator[None]:
    """One lock file per target, in our state dir (never beside the user's file)."""
    lock_path = _lock_path(paths, real)
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

    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise WriteError(
            f"cannot create the lock file {lock_path}: {exc.strerror}", "check DOT_SETUP_STATE_DIR"
        ) from None
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


def private_dir(path: Path) -> None:
    """Create `path` and each missing folder above it, mode 0700 whatever the umask. Folders
    that exist are left as they are (a --data-dir of /tmp must not become private)."""
    missing = []
    folder = path
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)
        os.chmod(new, 0o700)


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
    transform: Callable[[str | None], str] | None,
    *,
    holds_secret: bool,
    on_before_replace: Callable[[Path, bytes | None], None] | None = None,
    planned: tuple[bytes | None, bytes] | None = None,
    transform_bytes: Callable[[bytes | None], bytes] | None = None,
) -> WriteOutcome:
    """Read, transform and atomically replace one file under its lock, retrying on a race.

    `transform` computes the new text from the current one (None: no file yet);
    `transform_bytes`, if given instead, the new bytes from the current bytes (faster for big
    files, and it decides itself what to do with bytes that are not UTF-8). `planned` is (bytes
    the plan read, bytes it computed): when the file still holds those bytes, the planned result
    is reused instead of computing the edit again.
    """
    real = resolve(path)
    with file_lock(paths, real):
        for _attempt in range(CAS_ATTEMPTS):
            before = read_bytes(real, label=path)
            if planned is not None and before == planned[0]:
                after = planned[1]
            elif transform_bytes is not None:
                after = transform_bytes(before)
            else:
                assert transform is not None, "update_file needs a transform"
                after = transform(decode(path, before)).encode("utf-8")
            if after == before:
                return WriteOutcome(path, real, before, after, changed=False)
            existing = real.stat() if before is not None else None
            if existing is not None and not existing.st_mode & stat.S_IWUSR:
                raise WriteError(
                    f"{path} is read-only (mode {stat.S_IMODE(existing.st_mode):o})",
                    f"make it writable (chmod u+w {path}) if dot-setup may change it",
                )
            if on_before_replace is not None:
                on_before_replace(real, before)
            if read_bytes(real, label=path) != before:
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
