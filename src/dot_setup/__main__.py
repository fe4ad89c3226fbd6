"""The `dot-setup` command and `python -m dot_setup`.

`dot-setup --version` and `dot-setup --help` are answered here without importing the CLI
(Typer alone costs more than the rest of start-up): the version from `__version__`, the help
from `root_help.txt`, the CLI's own help as rendered for a terminal 80 or more columns wide (a
test keeps the file in step with the CLI). Everything else, and help for a narrower terminal,
goes to `dot_setup.cli`.
"""

from __future__ import annotations

import os
import sys

HELP_COLUMNS = 80  # click renders help at most this wide: wider terminals get the same text


def _columns() -> int:
    """The terminal width as click measures it (shutil.get_terminal_size, without shutil)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 80
    except (AttributeError, ValueError, OSError):
        return 80


def static_answer(argv: list[str]) -> str | None:
    """The output of `dot-setup ARGV` when it needs no CLI, else None."""
    if argv == ["--version"]:
        from dot_setup import __version__

        return f"dot-setup {__version__}\n"
    if argv in (["--help"], ["-h"]) and _columns() >= HELP_COLUMNS:
        from pathlib import Path

        return Path(__file__).with_name("root_help.txt").read_text(encoding="utf-8")
    return None


def main() -> None:
    answer = static_answer(sys.argv[1:])
    if answer is None:
        from dot_setup.cli import main as run

        run()
    sys.stdout.write(answer or "")
    sys.exit(0)


if __name__ == "__main__":
    main()
