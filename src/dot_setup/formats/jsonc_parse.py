"""The JSON / JSONC parser behind the editor in `formats.jsonc`: it finds the spans (start/end
offsets) of the objects on a container path and of their members.

Strict JSON is scanned with the C scanner behind `json.loads`: only the members on the container
path are walked in Python, every other value is skipped at C speed. JSONC (`//` and `/* */`
comments, trailing commas) goes through a pure-Python parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from json.decoder import JSONDecodeError
from json.scanner import NUMBER_RE
from typing import Any

from dot_setup.formats.base import ParseFailure, ShapeFailure, line_col

_WS = re.compile(r"[ \t\n\r]*")
_WS_COMMENTS = re.compile(r"(?:[ \t\n\r]+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
# The C scanner and string decoder behind json.loads (typeshed does not declare them).
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_DESCENDED = object()  # value placeholder for members walked as part of the path


@dataclass
class Member:
    key: str
    key_start: int
    value_start: int
    value_end: int
    value: Any
    comma: int = -1  # offset of the comma after the value, -1 if none


@dataclass
class JsonObject:
    start: int  # offset of "{"
    end: int  # offset just after "}"
    members: list[Member] = field(default_factory=list)
    child: JsonObject | None = None  # the next object on the container path, if walked
    child_member: Member | None = None  # the member holding the next path key, if any


class Parser:
    """One pass over the text; walks objects along a key path and parses everything else."""

    def __init__(self, text: str, comments: bool) -> None:
        self.text = text
        self.comments = comments
        self._ws = _WS_COMMENTS if comments else _WS
        self.value: Callable[[int], tuple[Any, int]] = (
            self._jsonc_value if comments else self._strict_value
        )

    def fail(self, pos: int, what: str) -> ParseFailure:
        line, col = line_col(self.text, pos)
        return ParseFailure(line, col, what)

    def skip(self, pos: int) -> int:
        end = self._ws.match(self.text, pos).end()  # type: ignore[union-attr]
        if self.comments and self.text.startswith("/*", end):
            raise self.fail(end, "unterminated /* comment")
        return end

    def string(self, pos: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, pos + 1, True)
        except JSONDecodeError as exc:
            raise self.fail(exc.pos, exc.msg) from None

    def _strict_value(self, pos: int) -> tuple[Any, int]:
        try:
            return _scan_once(self.text, pos)
        except StopIteration as stop:
            raise self.fail(stop.value, "expected a value") from None
        except JSONDecodeError as exc:
            raise self.fail(exc.pos, exc.msg) from None

    def _jsonc_value(self, pos: int) -> tuple[Any, int]:
        text = self.text
        char = text[pos : pos + 1]
        if char == "{":
            node = self.walk(pos, ())
            return {m.key: m.value for m in node.members}, node.end
        if char == "[":
            return self._jsonc_array(pos)
        if char == '"':
            return self.string(pos)
        number = NUMBER_RE.match(text, pos)
        if number:
            integer, frac, exp = number.groups()
            num = float(integer + (frac or "") + (exp or "")) if frac or exp else int(integer)
            return num, number.end()
        for literal, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(literal, pos):
                return value, pos + len(literal)
        raise self.fail(pos, "expected a value")

    def _jsonc_array(self, pos: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        pos = self.skip(pos + 1)
        if self.text.startswith("]", pos):
            return items, pos + 1
        while True:
            value, pos = self.value(pos)
            items.append(value)
            pos = self.skip(pos)
            if self.text.startswith(",", pos):
                pos = self.skip(pos + 1)
                if self.text.startswith("]", pos):
                    return items, pos + 1
            elif self.text.startswith("]", pos):
                return items, pos + 1
            else:
                raise self.fail(pos, "expected ',' or ']'")

    def walk(self, start: int, path: tuple[str, ...]) -> JsonObject:
        """Parse the object at `start`; descend (instead of parsing) into `path[0]` if an object."""
        text = self.text
        node = JsonObject(start=start, end=start)
        pos = self.skip(start + 1)
        if text.startswith("}", pos):
            node.end = pos + 1
            return node
        while True:
            if not text.startswith('"', pos):
                raise self.fail(pos, "expected a property name in double quotes")
            key_start = pos
            key, pos = self.string(pos)
            pos = self.skip(pos)
            if not text.startswith(":", pos):
                raise self.fail(pos, "expected ':' after a property name")
            pos = self.skip(pos + 1)
            value_start = pos
            on_path = bool(path) and key == path[0]
            if on_path and text.startswith("{", pos):
                child = self.walk(pos, path[1:])
                value, pos = _DESCENDED, child.end
            else:
                child = None
                value, pos = self.value(pos)
            member = Member(key, key_start, value_start, pos, value)
            node.members.append(member)
            if on_path:  # the last duplicate wins, as in every JSON parser
                node.child, node.child_member = child, member
            pos = self.skip(pos)
            if text.startswith(",", pos):
                member.comma = pos
                pos = self.skip(pos + 1)
                if text.startswith("}", pos):
                    if not self.comments:
                        raise self.fail(member.comma, "trailing comma is not allowed in JSON")
                    node.end = pos + 1
                    return node
            elif text.startswith("}", pos):
                node.end = pos + 1
                return node
            else:
                raise self.fail(pos, "expected ',' or '}'")

    def document(self, path: tuple[str, ...]) -> JsonObject | None:
        """The root object (None for an empty document); rejects trailing garbage."""
        pos = self.skip(1 if self.text.startswith("\ufeff") else 0)
        if pos == len(self.text):
            return None
        if not self.text.startswith("{", pos):
            raise self.fail(pos, "expected a JSON object at the top level")
        root = self.walk(pos, path)
        end = self.skip(root.end)
        if end != len(self.text):
            raise self.fail(end, "unexpected content after the end of the document")
        return root


def path_chain(root: JsonObject, container: tuple[str, ...]) -> list[JsonObject]:
    """Objects from the root down the container path, as far as they exist."""
    chain = [root]
    for depth in range(len(container)):
        node = chain[-1]
        if node.child is None:
            member = node.child_member
            if member is not None:  # the key exists but does not hold an object
                where = ".".join(container[: depth + 1])
                kind = type(member.value).__name__.replace("NoneType", "null")
                raise ShapeFailure(f"{where} holds a {kind}, expected an object")
            break
        chain.append(node.child)
    return chain
