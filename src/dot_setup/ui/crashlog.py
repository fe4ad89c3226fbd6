"""Redacted crash reports for unexpected errors (exit code 3)."""

from __future__ import annotations

import os
import platform
import time
import traceback
from pathlib import Path

from dot_setup import __version__
from dot_setup.paths import Paths
from dot_setup.secrets import REDACT


def write_crash_log(exc: BaseException) -> Path:
    paths = Paths.from_env()
    paths.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = paths.logs_dir / f"crash-{time.strftime('%Y%m%dT%H%M%S')}.log"
    body = "\n".join(
        [
            f"dot-setup {__version__}",
            f"python {platform.python_version()} on {platform.platform()}",
            "",
            "".join(traceback.format_exception(exc)),
        ]
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(REDACT(body))
    return path
