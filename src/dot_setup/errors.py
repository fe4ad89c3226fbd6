"""The one error hierarchy of dot-setup, and the exit codes it maps to.

Every error a user can cause is a `DotSetupError` with a one-line message (what went wrong and
where) and a hint (how to fix it). `cli.py` is the only place that turns them into exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes, documented in `dot-setup --help` and README.md."""

    OK = 0
    ERROR = 1
    USAGE = 2
    INTERNAL = 3
    AUTH = 4
    INTERRUPTED = 130


class DotSetupError(Exception):
    """A problem the user can fix; carries a hint and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR
    code: str = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(DotSetupError):
    """Bad or conflicting command-line input."""

    exit_code = ExitCode.USAGE
    code = "usage"


class NeedsInputError(UsageError):
    """A required answer is missing and dot-setup may not prompt for it."""

    code = "needs_input"

    def __init__(self, flag: str, what: str = "") -> None:
        what = what or flag
        super().__init__(f"{what} is required: pass {flag}", "see `dot-setup install --help`")
        self.flag = flag


class ProfileError(DotSetupError):
    """A client or service profile does not match the schema (a bug in the shipped data)."""

    code = "profile_invalid"


class ConfigParseError(DotSetupError):
    """A client's config file does not parse; it is never overwritten."""

    code = "config_parse"

    def __init__(self, path: str, line: int, col: int, what: str) -> None:
        super().__init__(
            f"{path}:{line}:{col}: {what}",
            "fix the file by hand; `--force` replaces it, after a backup",
        )
        self.path = path
        self.line = line
        self.col = col
        self.what = what


class ConfigShapeError(DotSetupError):
    """The file parses, but the place dot-setup writes to holds something unexpected."""

    code = "config_shape"


class WriteError(DotSetupError):
    """A file could not be written (permissions, disk, a concurrent writer)."""

    code = "write_failed"


class FileAccessError(DotSetupError):
    """A file cannot be read safely: not a regular file, too large, unreadable, a symlink loop."""

    code = "file_access"


class NetworkError(DotSetupError):
    """A server could not be reached or did not answer in time."""

    code = "network"


class AuthError(DotSetupError):
    """Authentication is required or failed."""

    exit_code = ExitCode.AUTH
    code = "auth"


class TokenInputError(UsageError):
    """A token was missing, empty or given in an unsafe way."""

    code = "token_input"
