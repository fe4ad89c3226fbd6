"""When did a running client start? From `ps` (Linux and macOS); None on Windows or if not running."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import PurePath

_ETIME = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$")


def _seconds(etime: str) -> int | None:
    match = _ETIME.match(etime.strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def running_since(names: tuple[str, ...]) -> float | None:
    """The start time of the oldest process with one of these names, or None."""
    try:
        out = subprocess.run(
            ["ps", "-axo", "etime=,comm="], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    now = time.time()
    wanted = {n.lower() for n in names}
    oldest: float | None = None
    for line in out.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        # macOS prints the full path of the executable; Linux the name (up to 15 characters).
        name = PurePath(parts[1].strip()).name.lower()
        if name not in wanted and not any(w.startswith(name) and len(name) == 15 for w in wanted):
            continue
        elapsed = _seconds(parts[0])
        if elapsed is not None:
            started = now - elapsed
            oldest = started if oldest is None else min(oldest, started)
    return oldest
