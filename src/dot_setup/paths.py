"""The one place that knows where things live: the user's home, platform dirs and our state.

Nobody else calls `Path.home()` or reads HOME/APPDATA/XDG_*: they ask a `Paths`. Client profiles
describe their config files with templates such as `{home}/.cursor/mcp.json` or
`{app_support}/Claude/claude_desktop_config.json`; `Paths.expand()` fills them in for the OS.

Environment overrides (tests and device management use them):
- `DOT_SETUP_HOME`: treat this directory as the user's home for client configs.
- `DOT_SETUP_STATE_DIR`: where backups, logs and dot-setup's own records go.
- `DOT_SETUP_OS`: pretend to be `linux`, `macos` or `windows` (previews for other machines), or
  `wsl`: Linux inside WSL, whose Windows-side clients `windows_side()` finds (fs/wsl.py).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dot_setup.errors import UsageError

OS_NAMES = ("linux", "macos", "windows")
_PLATFORM_VARS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "APPDATA", "LOCALAPPDATA")
_PLACEHOLDER = re.compile(r"\{([a-z_]+|env:[A-Za-z_][A-Za-z0-9_]*)\}")


def current_os() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("win"):
        return "windows"
    return "linux"


@dataclass(frozen=True)
class Paths:
    """Resolved locations for one run. Build it with `Paths.from_env()`."""

    home: Path
    os_name: str
    state_dir: Path
    project: Path
    env: Mapping[str, str] = field(default_factory=dict)
    wsl: bool = False  # Linux inside WSL: Windows apps run beside it (see windows_side)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, project: Path | None = None) -> Paths:
        env = dict(os.environ if env is None else env)
        if env.get("DOT_SETUP_HOME"):
            # A sandbox home: platform folders derive from it, not from the real user's settings.
            for var in _PLATFORM_VARS:
                env.pop(var, None)
        os_name = env.get("DOT_SETUP_OS") or current_os()
        wsl = os_name == "wsl" or (
            os_name == "linux" and not env.get("DOT_SETUP_OS") and in_wsl(env)
        )
        os_name = "linux" if os_name == "wsl" else os_name
        if os_name not in OS_NAMES:
            raise UsageError(
                f"DOT_SETUP_OS={os_name!r} is not a known OS",
                f"use one of: {', '.join(OS_NAMES)}, wsl",
            )
        home = Path(env.get("DOT_SETUP_HOME") or env.get("HOME") or env.get("USERPROFILE") or "~")
        home = home.expanduser()
        state = env.get("DOT_SETUP_STATE_DIR")
        state_dir = Path(state) if state else _platform_state_dir(os_name, home, env)
        return cls(
            home=home,
            os_name=os_name,
            state_dir=state_dir,
            project=(project or Path.cwd()).absolute(),
            env=env,
            wsl=wsl,
        )

    def side(self, windows: bool) -> Paths:
        """This run's paths, or with `--windows` those of the Windows apps beside WSL."""
        return self.windows_side() if windows else self

    def windows_side(self) -> Paths:
        """Inside WSL: the same run, for the Windows user's apps (their home under /mnt/<drive>,
        Windows file places and entry shapes). dot-setup's own state stays on the Linux side."""
        if not self.wsl:
            raise UsageError(
                "--windows is for WSL: it writes the Windows apps' files from inside WSL",
                "run it inside WSL (or set DOT_SETUP_OS=wsl to preview it)",
            )
        from dot_setup.fs.wsl import windows_env, windows_home

        home = windows_home(self.env)
        return Paths(
            home=home,
            os_name="windows",
            state_dir=self.state_dir,
            project=self.project,
            env=windows_env(self.env, home),
            wsl=True,
        )

    # Platform folders, derived from home and the environment the way each OS does it.
    @property
    def xdg_config(self) -> Path:
        return Path(self.env.get("XDG_CONFIG_HOME") or self.home / ".config")

    @property
    def xdg_data(self) -> Path:
        return Path(self.env.get("XDG_DATA_HOME") or self.home / ".local" / "share")

    @property
    def appdata(self) -> Path:
        return Path(self.env.get("APPDATA") or self.home / "AppData" / "Roaming")

    @property
    def localappdata(self) -> Path:
        return Path(self.env.get("LOCALAPPDATA") or self.home / "AppData" / "Local")

    @property
    def app_support(self) -> Path:
        return self.home / "Library" / "Application Support"

    @property
    def data_dir(self) -> Path:
        """Where `dot-setup serve` keeps its databases, unless --data-dir says otherwise."""
        if self.os_name == "macos":
            return self.app_support / "dot-setup"
        if self.os_name == "windows":
            return self.localappdata / "dot-setup" / "Data"
        return self.xdg_data / "dot-setup"

    @property
    def backups_dir(self) -> Path:
        return self.state_dir / "backups"

    @property
    def locks_dir(self) -> Path:
        return self.state_dir / "locks"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def variables(self) -> dict[str, str]:
        return {
            "home": str(self.home),
            "xdg_config": str(self.xdg_config),
            "xdg_data": str(self.xdg_data),
            "appdata": str(self.appdata),
            "localappdata": str(self.localappdata),
            "app_support": str(self.app_support),
            "project": str(self.project),
        }

    def expand(self, template: str) -> Path:
        """Fill a profile path template; `{env:NAME}` reads the environment."""
        return Path(self.expand_text(template))

    def expand_text(self, template: str) -> str:
        values = self.variables()

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key.startswith("env:"):
                return self.env.get(key[4:], "")
            if key not in values:
                raise KeyError(key)
            return values[key]

        return _PLACEHOLDER.sub(fill, template)

    def which(self, name: str) -> Path | None:
        """Find an executable on this run's PATH (the env given, not necessarily os.environ)."""
        exts = [""]
        if self.os_name == "windows":
            exts = [e.lower() for e in self.env.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(";")]
            exts.insert(0, "")
        for folder in self.env.get("PATH", "").split(os.pathsep):
            if not folder:
                continue
            for ext in exts:
                candidate = Path(folder) / (name + ext)
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return candidate
        return None


def in_wsl(env: Mapping[str, str]) -> bool:
    """WSL sets WSL_DISTRO_NAME / WSL_INTEROP; its kernel's release names Microsoft."""
    if env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP"):
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/sys/kernel/osrelease", "rb") as f:  # noqa: PTH123
            return b"microsoft" in f.read(256).lower()
    except OSError:
        return False


def _platform_state_dir(os_name: str, home: Path, env: Mapping[str, str]) -> Path:
    if os_name == current_os() and "DOT_SETUP_HOME" not in env and env == os.environ:
        import platformdirs  # only here: the common case of a real machine

        return Path(platformdirs.user_state_dir("dot-setup", appauthor=False))
    # Same layout as platformdirs, computed from *our* home so that DOT_SETUP_HOME, fake homes
    # in tests and previews for another OS keep every write inside that home.
    if os_name == "macos":
        return home / "Library" / "Application Support" / "dot-setup"
    if os_name == "windows":
        local = env.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "dot-setup" / "State"
    return Path(env.get("XDG_STATE_HOME") or home / ".local" / "state") / "dot-setup"
