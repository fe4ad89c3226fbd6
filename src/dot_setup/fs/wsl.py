"""Inside WSL: find the Windows user whose apps (Cursor, Claude Desktop, VS Code...) run beside
this Linux, so their config files can be found and written where those apps read them.

A Windows app never reads the Linux home. Its files live under the Windows user's profile,
which WSL mounts as `/mnt/<drive>/Users/<name>`. The profile folder is asked of Windows itself
(`cmd.exe /c echo %USERPROFILE%`, converted with `wslpath`) when those are on PATH, else found
on the mount: the one user folder there, or the one named like the Linux user.

Overrides (tests, unusual set-ups): `DOT_SETUP_WINDOWS_HOME` names the folder;
`DOT_SETUP_WSL_MOUNT` replaces `/mnt` (a fake mount laid out as WSL lays it out).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from dot_setup.errors import UsageError

# Folders under C:\Users that are not a person's profile.
_NOT_USERS = frozenset(
    {"all users", "default", "default user", "public", "defaultapppool", "wsiaccount"}
)
_ASK_SECONDS = 5.0


def windows_home(env: Mapping[str, str]) -> Path:
    """The Windows user's profile folder as seen from WSL, or UsageError saying how to name it."""
    given = env.get("DOT_SETUP_WINDOWS_HOME")
    if given:
        home = Path(given)
        if not home.is_dir():
            raise UsageError(
                f"DOT_SETUP_WINDOWS_HOME={given} is not a folder",
                "name the Windows profile folder as WSL mounts it, e.g. /mnt/c/Users/alice",
            )
        return home
    asked = None if env.get("DOT_SETUP_WSL_MOUNT") else _ask_windows(env)
    return asked or _from_mount(Path(env.get("DOT_SETUP_WSL_MOUNT") or "/mnt"), env)


def _ask_windows(env: Mapping[str, str]) -> Path | None:
    """%USERPROFILE% from cmd.exe, as a WSL path; None when Windows interop is not there."""
    path = env.get("PATH", "")
    cmd, wslpath = shutil.which("cmd.exe", path=path), shutil.which("wslpath", path=path)
    if not cmd or not wslpath:
        return None
    try:
        raw = subprocess.run(
            [cmd, "/c", "echo %USERPROFILE%"],
            capture_output=True,
            timeout=_ASK_SECONDS,
            check=True,
            cwd="/",
        ).stdout.decode("utf-8", "replace")
        win = raw.strip().splitlines()[-1].strip() if raw.strip() else ""
        if not win or "%" in win:
            return None
        out = subprocess.run(
            [wslpath, "-u", win], capture_output=True, timeout=_ASK_SECONDS, check=True
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return None
    home = Path(out.strip())
    return home if home.is_dir() else None


def _from_mount(mount: Path, env: Mapping[str, str]) -> Path:
    """The user folder under <mount>/<drive>/Users: the only one, or the one named like $USER."""
    found: list[Path] = []
    try:
        drives = sorted(p for p in mount.iterdir() if len(p.name) == 1 and p.name.isalpha())
    except OSError:
        drives = []
    for drive in drives:
        users = drive / "Users"
        try:
            entries = sorted(users.iterdir()) if users.is_dir() else []
        except OSError:
            continue
        found += [p for p in entries if p.is_dir() and p.name.lower() not in _NOT_USERS]
    me = (env.get("USER") or env.get("LOGNAME") or "").lower()
    mine = [p for p in found if p.name.lower() == me]
    if len(mine) == 1:
        return mine[0]
    if len(found) == 1:
        return found[0]
    where = f"{mount}/<drive>/Users"
    if not found:
        raise UsageError(
            f"no Windows user folder found under {where}",
            "set DOT_SETUP_WINDOWS_HOME to your Windows profile folder, e.g. /mnt/c/Users/alice",
        )
    names = ", ".join(str(p) for p in found)
    raise UsageError(
        f"several Windows user folders under {where}: {names}",
        "set DOT_SETUP_WINDOWS_HOME to yours",
    )


def windows_env(env: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment a Windows-side `Paths` sees: the Windows profile as home, Windows'
    own folders under it, and no Linux PATH (Windows programs are found by their folders)."""
    keep = {k: v for k, v in env.items() if k.startswith("DOT_SETUP_") and k != "DOT_SETUP_HOME"}
    keep.update(
        {
            "DOT_SETUP_OS": "windows",
            "USERPROFILE": str(home),
            "APPDATA": str(home / "AppData" / "Roaming"),
            "LOCALAPPDATA": str(home / "AppData" / "Local"),
            "PATH": "",
        }
    )
    return keep
