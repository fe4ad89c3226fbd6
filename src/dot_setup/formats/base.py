"""What every config format offers the writer: read, set and remove one named entry, as text.

Formats work on text and return text, so the writer can diff, back up and write atomically
without knowing the format. A format changes only the entry it is asked about; everything else in
the file is kept byte for byte (JSON/JSONC, TOML) or as closely as the format library allows
(YAML, see yaml_format.py).
"""

from __future__ import annotations

import re
from typing import Any, Protocol


class ParseFailure(Exception):
    """The text is not valid for the format; line and column are 1-based."""

    def __init__(self, line: int, col: int, what: str) -> None:
        super().__init__(f"{line}:{col}: {what}")
        self.line = line
        self.col = col
        self.what = what


# A quoted piece of a parser's message can be a value from the file (ruamel's duplicate-key error
# quotes both values in full, tokens included). Messages keep the position and the grammar words;
# quoted text longer than a character or an escape (`'\\t'`) is cut.
_QUOTED = re.compile(r"""(["'])((?:(?!\1).){3,}?)\1""")


def safe_what(message: str) -> str:
    """A parser's message without the file's values, for ParseFailure.what."""
    first = message.strip().splitlines()[0] if message.strip() else "invalid syntax"

    def cut(match: re.Match[str]) -> str:
        inner = match.group(2)
        if inner.startswith("<") and inner.endswith(">"):
            return match.group(0)  # '<stream end>', '<scalar>': grammar, not content
        return f"{match.group(1)}…{match.group(1)}"

    return _QUOTED.sub(cut, first)[:200]


def duplicate_key(key: str) -> str:
    """The message for a key given twice: its name (cut), never its values."""
    return f"duplicate key {key[:40]!r}"


def nesting_failure() -> ParseFailure:
    """Python's parsers recurse per level; a document nested thousands deep is refused."""
    return ParseFailure(1, 1, "the document is nested too deeply to read")


class ShapeFailure(Exception):
    """The text parses, but something on the container path is not what it must be."""


class Missing:
    """Marker for an absent entry (None is a valid JSON value)."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


class Format(Protocol):
    name: str

    def entries(self, text: str, container: tuple[str, ...], list_key: str) -> dict[str, Any]:
        """All entries in the container (empty if the container is absent); validates the text."""

    def set_entry(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> str:
        """Text with `name` set to `value` in the container (created if absent)."""

    def remove_entry(self, text: str, container: tuple[str, ...], list_key: str, name: str) -> str:
        """Text without `name`; unchanged text if it was not there."""


def named_entries(node: Any, list_key: str, plain: Any) -> dict[str, Any]:
    """Entries of a container: a mapping by key, or a list of maps named by `list_key`."""
    if list_key:
        return {str(i.get(list_key)): plain(i) for i in node if isinstance(i, dict)}
    return {str(k): plain(v) for k, v in node.items()}


def named_index(node: Any, list_key: str, name: str) -> int | None:
    """Position of the entry named `name` in a list container, or None."""
    return next(
        (i for i, item in enumerate(node) if isinstance(item, dict) and item.get(list_key) == name),
        None,
    )


def named_item(list_key: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    """The entry as a list item: its name first, then the rest of the entry."""
    return {list_key: name, **{k: v for k, v in value.items() if k != list_key}}


def line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def newline_of(text: str) -> str:
    """The file's own line ending, so inserted lines match the rest (CRLF files stay CRLF)."""
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        return "\r\n"
    return "\n"
