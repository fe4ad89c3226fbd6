"""JSON and JSONC editing that keeps every byte outside the entry it changes.

The model is node-jsonc-parser's `modify` + `applyEdits`: parse the text once to find the spans
(start/end offsets) of the objects on the container path and of their members, then splice the new
text into those spans. Comments, trailing commas, key order, indentation, a BOM and CRLF line
endings outside the entry are never touched, because they are never re-serialised.

Strict JSON (`~/.claude.json` can be 10+ MB) is scanned with the C scanner behind `json.loads`:
only the members on the container path are walked in Python, every other value is skipped at C
speed, so one edit costs about one `json.loads`. JSONC files (VS Code, Zed, Cursor) are small and
go through a pure-Python parser that understands `//` and `/* */` comments and trailing commas.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dot_setup.formats.base import (
    ShapeFailure,
    nesting_failure,
    newline_of,
)
from dot_setup.formats.jsonc_parse import JsonObject, Member, Parser, path_chain

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_INDENTED_LINE = re.compile(r"\n([ \t]+)\S")
_LINE_BREAK = re.compile(r"\r?\n")

Edit = tuple[int, int, str]


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _indent_of_line(text: str, pos: int) -> str:
    start = _line_start(text, pos)
    line = text[start:pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _own_line_unit(text: str, node: JsonObject) -> str:
    """The indent step inside `node`: a member on a line of its own, beyond the node's line.
    The last such member wins: a new member is aligned with the last one, so the unit read
    after an edit is the unit the edit used (set_entry is idempotent)."""
    base = _indent_of_line(text, node.start)
    for member in reversed(node.members):
        line = _line_start(text, member.key_start)
        indent = _indent_of_line(text, member.key_start)
        own_line = line > node.start and text[line : member.key_start] == indent
        if own_line and indent.startswith(base) and len(indent) > len(base):
            return indent[len(base) :]
    return ""


def _indent_unit(text: str, chain: list[JsonObject]) -> str:
    """The file's indent step where the edit happens: the innermost object on the container
    path that shows one, else the file's first indented line, else two spaces."""
    for node in reversed(chain):
        unit = _own_line_unit(text, node)
        if unit:
            return unit
    match = _INDENTED_LINE.search(text)
    return match.group(1) if match else "  "


def _render(value: Any, indent: str, unit: str, newline: str, multiline: bool) -> str:
    if not multiline:
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, indent=unit).replace("\n", newline + indent)


def _same_line_tail(text: str, pos: int) -> int:
    """Skip spaces and comments that end on this line: they belong to the member before them."""
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if text.startswith("//", pos):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            return end - 1 if text[end - 1] == "\r" else end
        if text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0 or "\n" in text[pos:close]:
                return pos
            pos = close + 2
            continue
        return pos


def _comment_end(text: str, match: re.Match[str]) -> int:
    end = match.end()
    return end - 1 if text[end - 1] == "\r" else end  # a // comment's match takes CRLF's \r


class _Editor:
    def __init__(self, text: str, comments: bool, chain: list[JsonObject]) -> None:
        self.text = text
        self.comments = comments
        self.newline = newline_of(text)
        self.unit = _indent_unit(text, chain)

    def multiline(self, node: JsonObject) -> bool:
        first = node.members[0].key_start if node.members else node.end - 1
        return "\n" in self.text[node.start : first]

    def insert(self, node: JsonObject, key: str, value: Any) -> list[Edit]:
        text, nl = self.text, self.newline
        parent_indent = _indent_of_line(text, node.start)
        key_json = json.dumps(key, ensure_ascii=False)
        if not node.members:
            indent = parent_indent + self.unit
            member = f"{key_json}: {_render(value, indent, self.unit, nl, True)}"
            inner_start, close = node.start + 1, node.end - 1
            if not text[inner_start:close].strip():
                return [(inner_start, close, nl + indent + member + nl + parent_indent)]
            line = _line_start(text, close)
            if not text[line:close].strip():  # "}" on its own line, comments above it
                return [(line, line, indent + member + nl)]
            compact = f"{key_json}: {_render(value, '', self.unit, nl, False)}"
            return [(close, close, " " + compact + " ")]
        last = node.members[-1]
        # A file that ends its last member with a comma gets ours with one too, so the style is
        # kept and `remove` can undo the insertion exactly.
        trailing = "," if last.comma >= 0 else ""
        if not self.multiline(node):
            member = f"{key_json}: {_render(value, '', self.unit, nl, False)}"
            if last.comma < 0:
                return [(last.value_end, last.value_end, ", " + member)]
            return [(last.comma + 1, last.comma + 1, " " + member + trailing)]
        indent = _indent_of_line(text, last.key_start)
        # The new member's own indentation beyond the object's line is the unit the next edit
        # will read (_own_line_unit): render with it, so a second set_entry changes nothing.
        base = _indent_of_line(text, node.start)
        unit = indent[len(base) :] if indent.startswith(base) and indent != base else self.unit
        member = f"{key_json}: {_render(value, indent, unit, nl, True)}"
        anchor = _same_line_tail(text, last.comma + 1 if last.comma >= 0 else last.value_end)
        if last.comma >= 0:
            return [(anchor, anchor, nl + indent + member + trailing)]
        if anchor == last.value_end:
            return [(anchor, anchor, "," + nl + indent + member)]
        return [(anchor, anchor, nl + indent + member), (last.value_end, last.value_end, ",")]

    def replace(self, node: JsonObject, member: Member, value: Any) -> list[Edit]:
        indent = _indent_of_line(self.text, member.key_start)
        rendered = _render(value, indent, self.unit, self.newline, self.multiline(node))
        return [(member.value_start, member.value_end, rendered)]

    def remove(self, node: JsonObject, index: int) -> list[Edit]:
        text = self.text
        member = node.members[index]
        end = member.comma + 1 if member.comma >= 0 else member.value_end
        if index + 1 < len(node.members):  # a member follows: take ours and its separator
            after = end
            while after < len(text) and text[after] in " \t\r\n":
                after += 1
            return [(member.key_start, after, "")]
        if index > 0:  # the last member: take it with the separator before it
            prev = node.members[index - 1]
            if not self.multiline(node):
                if member.comma >= 0:
                    return [(prev.comma + 1, end, "")]
                return [(prev.comma, member.value_end, "")]
            tail = _same_line_tail(text, prev.comma + 1)
            start = tail
            for comment in _COMMENT.finditer(text, tail, member.key_start):
                start = _comment_end(
                    text, comment
                )  # keep comment lines (commented-out servers) above it
            # If a // comment now ends the kept text, what follows must start on a new line:
            # the line break that was there (a file may mix CRLF and LF).
            kept = list(_COMMENT.finditer(text, prev.comma + 1, start))
            ends_in_line_comment = bool(kept) and kept[-1].group(0).startswith("//")
            keep_break = ends_in_line_comment and text[end : end + 1] not in "\r\n"
            removed_break = _LINE_BREAK.match(text, start)
            filler = (
                (removed_break.group(0) if removed_break else self.newline) if keep_break else ""
            )
            if member.comma >= 0:
                return [(start, end, filler)]
            return [(start, member.value_end, filler), (prev.comma, prev.comma + 1, "")]
        inner_start, close = node.start + 1, node.end - 1
        rest = text[inner_start : member.key_start] + text[end:close]
        if not rest.strip():
            return [(inner_start, close, "")]
        line = _line_start(text, member.key_start)
        line_end = text.find("\n", end)
        if (
            line > inner_start
            and not text[line : member.key_start].strip()
            and line_end >= 0
            and not text[end:line_end].strip()
        ):
            return [(line, line_end + 1, "")]  # the member had its own lines: take them whole
        if text[member.key_start - 1] == " " and text[end : end + 1] == " ":
            return [(member.key_start - 1, end + 1, "")]  # the spaces insert() put around it
        return [(member.key_start, end, "")]


def splice_bytes(data: bytes, text: str, edits: list[Edit]) -> bytes:
    """Apply `text`'s edits to `data`, its UTF-8 encoding, without building a new str.

    A 12 MB ~/.claude.json with one emoji is stored by CPython at 4 bytes per character, so
    every str splice moves ~50 MB; splicing the bytes moves 12 MB once.
    """
    pieces, done = [], 0
    for start, end, new in sorted(edits, key=lambda edit: edit[0]):
        byte_start = _byte_offset(data, text, start)
        pieces += [data[done:byte_start], new.encode("utf-8")]
        done = _byte_offset(data, text, end)
    pieces.append(data[done:])
    return b"".join(pieces)


def _byte_offset(data: bytes, text: str, pos: int) -> int:
    # Encode the shorter side of the split: at most half the document.
    if pos <= len(text) // 2:
        return len(text[:pos].encode("utf-8"))
    return len(data) - len(text[pos:].encode("utf-8"))


def _apply(text: str, edits: list[Edit]) -> str:
    for start, end, new in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text


class JsonFormat:
    """Strict JSON (comments=False) or JSONC (comments=True)."""

    def __init__(self, comments: bool) -> None:
        self.comments = comments
        self.name = "jsonc" if comments else "json"

    def _parse(self, text: str, container: tuple[str, ...]) -> JsonObject | None:
        try:
            return Parser(text, self.comments).document(container)
        except RecursionError:  # both scanners recurse per level: 10,000 nested [ is refused
            raise nesting_failure() from None

    def entries(self, text: str, container: tuple[str, ...], list_key: str = "") -> dict[str, Any]:
        _no_lists(list_key)
        root = self._parse(text, container)
        if root is None:
            return {}
        chain = path_chain(root, container)
        if len(chain) <= len(container):
            return {}
        return {m.key: m.value for m in chain[-1].members}

    def set_entry(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> str:
        return _apply(*self.set_entry_edits(text, container, list_key, name, value))

    def set_entry_edits(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> tuple[str, list[Edit]]:
        """The edits that set the entry, and the text they apply to (`text` itself, unless the
        document was empty and a fresh `{}` was started)."""
        _no_lists(list_key)
        root = self._parse(text, container)
        if root is None:  # empty, whitespace or only comments: start the object after them
            nl = newline_of(text)
            bom = "\ufeff" if text.startswith("\ufeff") else ""
            body = text[len(bom) :]
            if body.strip():
                text = bom + body + ("" if body.endswith("\n") else nl) + "{}" + nl
            else:
                text = bom + "{}" + nl
            root = self._parse(text, container)
            assert root is not None
        chain = path_chain(root, container)
        editor = _Editor(text, self.comments, chain)
        depth = len(chain) - 1
        if depth == len(container):
            node = chain[-1]
            existing = [i for i, m in enumerate(node.members) if m.key == name]
            if existing:
                return text, editor.replace(node, node.members[existing[-1]], value)
            return text, editor.insert(node, name, value)
        nested: Any = {name: value}
        for key in reversed(container[depth + 1 :]):
            nested = {key: nested}
        return text, editor.insert(chain[-1], container[depth], nested)

    def remove_entry(self, text: str, container: tuple[str, ...], list_key: str, name: str) -> str:
        _no_lists(list_key)
        while True:  # duplicates of our own name are removed too, one at a time
            root = self._parse(text, container)
            if root is None:
                return text
            chain = path_chain(root, container)
            if len(chain) <= len(container):
                return text
            node = chain[-1]
            indexes = [i for i, m in enumerate(node.members) if m.key == name]
            if not indexes:
                return text
            editor = _Editor(text, self.comments, chain)
            text = _apply(text, editor.remove(node, indexes[-1]))


def _no_lists(list_key: str) -> None:
    if list_key:
        raise ShapeFailure("list containers are only supported in YAML files")
