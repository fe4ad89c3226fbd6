"""A service guide's troubleshooting messages, each mapped to the checks that find its causes.

The entries are data in the service profile (`[[troubleshooting]]`): `dot-setup doctor --symptom
"Invalid API token"` runs just those checks and prints the guide's advice; docs/doctor.md lists
Dot's table. Matching is by words, case-insensitive, so a pasted error line finds its entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from dot_setup.profiles.schema import Trouble


def _words(text: str) -> set[str]:
    return {
        w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if len(w) > 2
    }


def find(text: str, troubles: Sequence[Trouble]) -> Trouble | None:
    """The guide message that shares the most words with `text` (at least two, or all of a
    shorter message's): a pasted error line such as `ofid_reference` finds its entry."""
    if not troubles:
        return None
    wanted = _words(text)
    best = max(troubles, key=lambda s: len(_words(s.message) & wanted))
    return best if len(_words(best.message) & wanted) >= min(2, len(_words(best.message))) else None
