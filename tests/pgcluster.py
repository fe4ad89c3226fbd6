"""A real, throw-away PostgreSQL server for tests.

`PostgresCluster(workdir)` runs `initdb` into `workdir`, starts the server on a free port of
127.0.0.1 only, creates the database `dot`, and stops the server (then kills whatever is left)
when the `with` block ends, even on error. Nothing is faked: the tests talk to the real server.

PostgreSQL refuses to run as root. When the tests run as root, every PostgreSQL program runs as
the unprivileged `postgres` system user that Debian's `postgresql` package creates; the cluster's
files are handed to that user, and the directories above `workdir` are given the search bit that
user needs to reach it (pytest makes its temporary directories mode 0700). Those bits are put back
when the last cluster that needed them stops.

Durability is switched off (fsync, full_page_writes, synchronous_commit): the data is thrown away.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_SERVER_USER = "postgres"
# A Unix socket path must fit in sockaddr_un.sun_path (107 bytes); the server adds
# "/.s.PGSQL.NNNNN" to the directory. Longer directories get TCP only.
_MAX_SOCKET_DIR = 90
_INSTALL_HINT = "install the PostgreSQL server: `apt-get install postgresql` (Debian/Ubuntu)"


class PostgresError(RuntimeError):
    """The throw-away PostgreSQL server could not be set up."""


class PostgresNotFoundError(PostgresError):
    """No PostgreSQL server binaries (initdb, pg_ctl, postgres) on this machine."""


def _has_programs(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _PROGRAMS)


def _version_key(directory: Path) -> tuple[int, ...]:
    # Debian names the directories after the major version: "15", "9.6".
    return tuple(int(part) for part in re.findall(r"\d+", directory.name))


def find_pg_bin() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None.

    PATH first (resolving symlinks, because initdb finds `postgres` and the share directory
    relative to its real location), then Debian's /usr/lib/postgresql/*/bin, newest first:
    Debian keeps the server programs off PATH.
    """
    for name in _PROGRAMS:
        found = shutil.which(name)
        if found:
            directory = Path(found).resolve().parent
            if _has_programs(directory):
                return directory
    if _DEBIAN_ROOT.is_dir():
        for version in sorted(_DEBIAN_ROOT.iterdir(), key=_version_key, reverse=True):
            if _has_programs(version / "bin"):
                return version / "bin"
    return None


def _free_port() -> int:
    # The kernel picks a port nobody listens on; the server binds it a moment later. The race
    # is retried in `_start_server`.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _conf_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _SearchGrants:
    """Search bits added to directories above a workdir, put back when no cluster needs them.

    Counted per directory so that two clusters in one process do not take the bit away from
    each other.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Path, tuple[int, int, int]] = {}  # path: (old mode, new mode, users)

    def grant(self, directory: Path, bit: int) -> None:
        with self._lock:
            if directory in self._held:
                old, new, users = self._held[directory]
                self._held[directory] = (old, new, users + 1)
                return
            old = stat.S_IMODE(directory.stat().st_mode)
            os.chmod(directory, old | bit)
            self._held[directory] = (old, old | bit, 1)

    def release(self, directory: Path) -> None:
        with self._lock:
            old, new, users = self._held[directory]
            if users > 1:
                self._held[directory] = (old, new, users - 1)
                return
            del self._held[directory]
            try:
                # Leave the mode alone if someone else changed it meanwhile.
                if stat.S_IMODE(directory.stat().st_mode) == new:
                    os.chmod(directory, old)
            except FileNotFoundError:
                pass


_GRANTS = _SearchGrants()
_RUNNING: set[PostgresCluster] = set()


@atexit.register
def _stop_leftovers() -> None:
    # A test process that exits with a cluster still running (interrupted run) must not leave a
    # server behind.
    for cluster in list(_RUNNING):
        cluster.stop()


class PostgresCluster:
    """A PostgreSQL server in `workdir`, on 127.0.0.1 only, with an empty database `dot`.

    Use as a context manager; `url` (SQLAlchemy, asyncpg driver) and `plain_url` (libpq,
    asyncpg.connect) are valid inside the block. Files: `workdir/data` (the cluster),
    `workdir/sock` (Unix socket), `workdir/postgres.log` (the server log).
    """

    dbname = "dot"

    def __init__(self, workdir: Path, *, bin_dir: Path | None = None) -> None:
        self.workdir = Path(workdir)
        self.bin_dir = bin_dir
        self.data_dir = self.workdir / "data"
        self.socket_dir = self.workdir / "sock"
        self.log_file = self.workdir / "postgres.log"
        self.port = 0
        self.user = ""
        self.startup_seconds = 0.0
        self._as_root = os.geteuid() == 0
        self._account: pwd.struct_passwd | None = None
        self._granted: list[Path] = []
        self._postmaster_pid: int | None = None

    # -- public API ---------------------------------------------------------------------

    @property
    def plain_url(self) -> str:
        """postgresql://USER@127.0.0.1:PORT/dot (libpq / asyncpg.connect)."""
        self._require_running()
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.dbname}"

    @property
    def url(self) -> str:
        """postgresql+asyncpg://USER@127.0.0.1:PORT/dot (SQLAlchemy async engine)."""
        return self.plain_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster, start the server and create the database; cleans up on failure."""
        began = time.monotonic()
        bin_dir = self.bin_dir or find_pg_bin()
        if bin_dir is None:
            raise PostgresNotFoundError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or "
                f"under {_DEBIAN_ROOT}/*/bin; {_INSTALL_HINT}"
            )
        self.bin_dir = bin_dir
        try:
            self._prepare_workdir()
            self._initdb()
            self._start_server()
            self._create_database()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server (fast shutdown), kill what survives, put directory modes back."""
        self._stop_server()
        for directory in reversed(self._granted):
            _GRANTS.release(directory)
        self._granted.clear()

    # -- steps ----------------------------------------------------------------------------

    def _stop_server(self) -> None:
        _RUNNING.discard(self)
        if self._postmaster_pid is not None:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    [self._program("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast"],
                    check=False,
                    timeout=30,
                )
            self._kill_leftover(self._postmaster_pid)
            self._postmaster_pid = None

    def _prepare_workdir(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = self.workdir.resolve()
        self.data_dir = self.workdir / "data"
        self.socket_dir = self.workdir / "sock"
        self.log_file = self.workdir / "postgres.log"
        self.socket_dir.mkdir(exist_ok=True)
        self.log_file.touch()
        if not self._as_root:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
            return
        try:
            self._account = pwd.getpwnam(_SERVER_USER)
        except KeyError:
            raise PostgresError(
                "PostgreSQL refuses to run as root and there is no unprivileged "
                f"'{_SERVER_USER}' user to run it as; {_INSTALL_HINT} (it creates that user), "
                "or run the tests as a normal user"
            ) from None
        self.user = self._account.pw_name
        uid, gid = self._account.pw_uid, self._account.pw_gid
        # The server user owns everything the cluster writes; root can still clean it up.
        for path in (self.workdir, self.socket_dir, self.log_file):
            os.chown(path, uid, gid)
        self._make_reachable(self.workdir.parent)

    def _make_reachable(self, start: Path) -> None:
        """Give the server user the search bit on every directory above the workdir."""
        assert self._account is not None
        uid = self._account.pw_uid
        groups = set(os.getgrouplist(self._account.pw_name, self._account.pw_gid))
        # Top-down, so each grant is checked with its parents already reachable.
        for directory in reversed([start, *start.parents]):
            info = directory.stat()
            # Permission classes are exclusive: the owner bits apply to the owner even when
            # "other" would allow more; same for the group.
            if info.st_uid == uid:
                bit = stat.S_IXUSR
            elif info.st_gid in groups:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if not info.st_mode & bit:
                _GRANTS.grant(directory, bit)
                self._granted.append(directory)

    def _initdb(self) -> None:
        self._run(
            [
                self._program("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                # No fsync of the new cluster: it is thrown away; this saves most of initdb's time.
                "--no-sync",
            ],
            timeout=120,
        )
        socket_dirs = str(self.socket_dir) if len(str(self.socket_dir)) <= _MAX_SOCKET_DIR else ""
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": socket_dirs,
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
        }
        # Later lines of postgresql.conf win; appending keeps the file owned by the server user.
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# throw-away test cluster (tests/pgcluster.py)\n")
            for key, value in settings.items():
                conf.write(f"{key} = {_conf_string(value)}\n")

    def _start_server(self) -> None:
        for attempt in range(3):
            self.port = _free_port()
            result = self._run(
                [
                    self._program("pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port}",
                ],
                check=False,
                timeout=90,
            )
            pid = self._read_postmaster_pid()
            if pid is not None:
                self._postmaster_pid = pid
                _RUNNING.add(self)
            if result.returncode == 0 and pid is not None:
                return
            log = self.log_file.read_text(errors="replace")
            # Another process took the port between the probe and the bind: try another one.
            if "could not bind" in log and attempt < 2:
                self._stop_server()
                continue
            raise PostgresError(
                f"pg_ctl start failed ({result.returncode}):\n{result.stdout}\n"
                f"--- {self.log_file} ---\n{log[-4000:]}"
            )

    def _create_database(self) -> None:
        self._run(
            [
                self._program("psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-c",
                f'CREATE DATABASE "{self.dbname}"',
            ],
            timeout=60,
        )

    # -- helpers --------------------------------------------------------------------------

    def _require_running(self) -> None:
        if self._postmaster_pid is None:
            raise PostgresError("the PostgreSQL cluster is not running (use it as `with ...:`)")

    def _program(self, name: str) -> str:
        assert self.bin_dir is not None
        path = self.bin_dir / name
        if os.access(path, os.X_OK):
            return str(path)
        # psql is a client program: some layouts keep it apart from the server ones.
        found = shutil.which(name)
        if found is None:
            raise PostgresNotFoundError(
                f"{name} not found in {self.bin_dir} or on PATH; {_INSTALL_HINT}"
            )
        return found

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if self._account is None:
            return argv
        # setpriv changes only the ids (no PAM session, no environment rewrite), so it is the
        # quickest; runuser is the fallback. Both come with util-linux.
        setpriv = shutil.which("setpriv")
        if setpriv:
            return [
                setpriv,
                f"--reuid={self._account.pw_uid}",
                f"--regid={self._account.pw_gid}",
                "--init-groups",
                "--",
                *argv,
            ]
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self._account.pw_name, "--", *argv]
        raise PostgresError(
            "running as root needs setpriv or runuser (util-linux) to drop to 'postgres'"
        )

    def _env(self) -> dict[str, str]:
        # A clean environment: no PG* variable from the caller may redirect the programs, and
        # TZ set spares initdb its scan of the time zone database.
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.workdir),
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
            "PGCONNECT_TIMEOUT": "10",
        }

    def _run(
        self, argv: list[str], *, check: bool = True, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._as_server_user(argv),
            # The caller's cwd may be unreadable for the server user; the workdir is its own.
            cwd=self.workdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise PostgresError(
                f"{Path(argv[0]).name} failed ({result.returncode}): {' '.join(argv)}\n{result.stdout}"
            )
        return result

    def _read_postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    @staticmethod
    def _kill_leftover(pid: int) -> None:
        """SIGQUIT (immediate shutdown, passed on to the backends), then SIGKILL."""
        for sig, wait in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            if not _alive(pid):
                return
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether `pid` is still a live PostgreSQL process (not gone, not a zombie, not reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no procfs: trust the signal
    try:
        name = (proc / "comm").read_text().strip()
        state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[:1]
    except OSError:
        return False
    # A zombie still answers signal 0, and a recycled pid belongs to someone else: neither is
    # ours to kill.
    return state != ["Z"] and name.startswith("postgres")
