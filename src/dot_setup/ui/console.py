"""Output channels: results and --json on stdout, everything else on stderr.

Every string passes through the redactor before it reaches a stream, so no command can print a
token by accident. Rich is imported only when something is actually printed with style.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from dot_setup import __version__
from dot_setup.secrets import REDACT

ENVELOPE_VERSION = 1


class Output:
    def __init__(self) -> None:
        self.json_mode = False
        self.quiet = False
        self.command = ""
        self._err: Any = None
        self._out: Any = None

    def _console(self, stderr: bool) -> Any:
        from rich.console import Console

        attr = "_err" if stderr else "_out"
        if getattr(self, attr) is None:
            no_color = bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"
            stream = sys.stderr if stderr else sys.stdout
            # Piped output (scripts, CI logs) is not cut to 80 columns.
            width = None if stream.isatty() else 200
            console = Console(
                stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True, width=width
            )
            setattr(self, attr, console)
        return getattr(self, attr)

    def _print(self, stderr: bool, text: str, style: str) -> None:
        stream = sys.stderr if stderr else sys.stdout
        if style and _styled(stream):
            self._console(stderr).print(REDACT(text), style=style, markup=False)
        else:
            # Plain text needs no rich (~40 ms of imports) in pipes, CI logs and scripts.
            stream.write(REDACT(text) + "\n")
            stream.flush()

    def message(self, text: str, style: str = "") -> None:
        """Progress, warnings and hints: stderr, never mixed into --json."""
        if self.quiet and style not in ("red", "yellow"):
            return
        self._print(True, text, style)

    def warn(self, text: str) -> None:
        self.message(f"warning: {text}", "yellow")

    def result(self, text: str = "", style: str = "") -> None:
        """Human results: stdout (suppressed under --json, whose envelope is the result)."""
        if self.json_mode:
            return
        self._print(False, text, style)

    def rich(self, renderable: Any, stderr: bool = False) -> None:
        """A rich renderable (a table), rendered to text first so it passes the redactor too."""
        if self.json_mode and not stderr:
            return
        console = self._console(stderr)
        with console.capture() as captured:
            console.print(renderable)
        stream = sys.stderr if stderr else sys.stdout
        stream.write(REDACT(captured.get()))
        stream.flush()

    def envelope(
        self, status: str, exit_code: int, data: Any, errors: list[dict[str, str]]
    ) -> None:
        body = {
            "schema_version": ENVELOPE_VERSION,
            "tool_version": __version__,
            "command": self.command,
            "status": status,
            "exit_code": exit_code,
            "data": data,
            "errors": errors,
        }
        sys.stdout.write(REDACT(json.dumps(body, indent=2, ensure_ascii=False)) + "\n")
        sys.stdout.flush()


def _styled(stream: Any) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


OUT = Output()
