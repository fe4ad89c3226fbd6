"""Put text on the system clipboard with the platform's own tool, the text on stdin.

The text (a connector URL that may hold a token) goes to the tool's stdin, never its argv.
Returns False when no clipboard tool works (a headless server, a container).
"""

from __future__ import annotations

import subprocess

from dot_setup.paths import Paths

_TOOLS = {
    "macos": [["pbcopy"]],
    "windows": [["clip"]],
    "linux": [
        ["wl-copy"],
        ["xclip", "-selection", "clipboard"],
        ["xsel", "--clipboard", "--input"],
    ],
}


def copy(text: str, paths: Paths) -> bool:
    if paths.env.get("DOT_SETUP_NO_CLIPBOARD"):
        return False
    for argv in _TOOLS.get(paths.os_name, []):
        if argv[0] in ("wl-copy",) and not paths.env.get("WAYLAND_DISPLAY"):
            continue
        if argv[0] in ("xclip", "xsel") and not paths.env.get("DISPLAY"):
            continue
        exe = paths.which(argv[0])
        if exe is None:
            continue
        try:
            subprocess.run(
                [str(exe), *argv[1:]],
                input=text.encode(),
                timeout=5,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        return True
    return False
