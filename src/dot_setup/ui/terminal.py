"""Is there a person at a terminal to ask? (Its own module: the wizard's refusal imports only this.)"""

from __future__ import annotations

import os
import sys


def interactive(no_input: bool) -> bool:
    """Prompts only on a terminal, never in CI or with --no-input / DOT_SETUP_NO_INPUT."""
    if no_input or os.environ.get("DOT_SETUP_NO_INPUT") or os.environ.get("CI"):
        return False
    return sys.stdin.isatty() and sys.stdout.isatty()
