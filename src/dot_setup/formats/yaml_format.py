"""YAML (Goose, Continue) through ruamel.yaml's round-trip mode, which keeps comments.

ruamel re-emits the whole document, normalising what it does not keep (escapes in quoted
scalars, CRLF, a BOM, odd indentation). So the edit is not taken from ruamel's output directly:
we dump the document before and after the change, diff the two dumps, and apply only that diff's
hunks to the user's original text. Lines outside our entry therefore stay byte for byte, also
next to lines ruamel normalised (matched by position between unchanged lines). Only if a hunk
cannot be placed at all is ruamel's whole output used instead.
"""

from __future__ import annotations

import bisect
import difflib
import io
import re
from typing import Any

from dot_setup.formats.base import (
    ParseFailure,
    ShapeFailure,
    duplicate_key,
    named_entries,
    named_index,
    named_item,
    nesting_failure,
    newline_of,
    safe_what,
)

_LAYOUTS = [(m, s, o) for m in (2, 4) for s in (2, 4) for o in (0, 2) if o < s or o == 0]


def _yaml(layout: tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: Any, doc: Any) -> str:
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def _splice(original: str, before: str, after: str) -> str:
    """Apply the before→after diff of two dumps to the original text (see module doc)."""
    nl = newline_of(original)
    bom = "\ufeff" if original.startswith("\ufeff") else ""
    text = original[len(bom) :].replace("\r\n", "\n")
    source, old, new = (x.splitlines(keepends=True) for x in (text, before, after))
    unterminated = bool(source) and not source[-1].endswith("\n")
    if unterminated:  # a line added after it must not be joined onto it
        source[-1] += "\n"
    at = _Lines(old, source)
    result = list(source)
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(ops):
        if tag == "equal":
            continue
        if i1 < i2:
            first, last = at.line(i1), at.line(i2 - 1)
            if first is None or last is None or last - first != i2 - i1 - 1:
                return _with_newlines(after, nl, bom)  # lines ruamel rewrote beyond recognition
            start, stop = first, last + 1
            stop -= _section_comments_at_end(result[start:stop], new[j1:j2])
        else:
            point = at.gap(i1)
            if point is None:
                return _with_newlines(after, nl, bom)
            start = stop = _above_section_comments(result, point, new[j1:j2])
        result[start:stop] = new[j1:j2]
    if unterminated and result and result[-1] == source[-1]:
        result[-1] = result[-1][:-1]  # still the file's last line: as it was, unterminated
    return _with_newlines("".join(result), nl, bom)


class _Lines:
    """Where a line of the dump is in the user's text. Lines ruamel normalised (`a:  1` dumped
    as `a: 1`, an escape decoded) have no exact match; between two matched lines with as many
    lines between them on both sides, they are taken to correspond one to one."""

    def __init__(self, dump: list[str], source: list[str]) -> None:
        self.where: dict[int, int] = {}
        matcher = difflib.SequenceMatcher(None, dump, source, autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                self.where[block.a + k] = block.b + k
        self.matched = sorted(self.where)
        self.dump_len, self.source_len = len(dump), len(source)

    def line(self, i: int) -> int | None:
        if i in self.where:
            return self.where[i]
        below = bisect.bisect_left(self.matched, i)
        lo = self.matched[below - 1] if below else -1
        hi = self.matched[below] if below < len(self.matched) else self.dump_len
        src_lo = self.where[lo] if lo >= 0 else -1
        src_hi = self.where[hi] if hi < self.dump_len else self.source_len
        return src_lo + (i - lo) if hi - lo == src_hi - src_lo else None

    def gap(self, i: int) -> int | None:
        """The source position of the point before dump line `i` (an insertion point)."""
        if i < self.dump_len and (here := self.line(i)) is not None:
            return here
        if i == 0:
            return 0
        above = self.line(i - 1)
        return None if above is None else above + 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_section_comment(line: str, limit: int) -> bool:
    return line.lstrip(" ").startswith("#") and _indent(line) < limit


def _limit(lines: list[str]) -> int:
    """Comment lines indented left of this belong to what follows (see below)."""
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    return _indent(first) + (1 if first.lstrip(" ").startswith("- ") else 0)


def _section_comments_at_end(deleted: list[str], inserted: list[str]) -> int:
    """How many lines at the end of a removed entry are the next section's comment (with the
    blank lines around it): ruamel removes them with the entry they follow, but they are the
    user's and stay."""
    limit, keep, comments = _limit(deleted), 0, 0
    for line in reversed(deleted):
        if line in inserted:
            break
        if _is_section_comment(line, limit):
            comments += 1
        elif line.strip():
            break
        keep += 1
    return keep if comments else 0


def _above_section_comments(lines: list[str], start: int, inserted: list[str]) -> int:
    """ruamel keeps a comment after a container's last entry with that entry, so a new entry
    dumps below it: a section comment for the next key (`# next section`), or the file's last
    comment, would move away from what it describes. The insertion goes above such comment
    lines (and the blank lines around them): those indented left of the new entry, or, for a
    `- ` item, not right of it."""
    limit = _limit(inserted)
    point, crossed_comment = start, False
    while point > 0:
        line = lines[point - 1]
        if not line.strip():
            point -= 1
        elif _is_section_comment(line, limit):
            point, crossed_comment = point - 1, True
        else:
            break
    return point if crossed_comment else start


def _with_newlines(text: str, nl: str, bom: str) -> str:
    return bom + (re.sub(r"(?<!\r)\n", "\r\n", text) if nl == "\r\n" else text)


_DUPLICATE = re.compile(r'found duplicate key "(.*?)" with value')


def _failure(exc: Exception) -> ParseFailure:
    """ruamel's error as a ParseFailure: position and grammar, never a value from the file."""
    from ruamel.yaml.error import MarkedYAMLError

    if not isinstance(exc, MarkedYAMLError):  # a constructor's ValueError ("!!int x"), ...
        return ParseFailure(1, 1, f"not valid YAML ({type(exc).__name__})")
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = str(exc.problem or exc.context or "invalid YAML")
    duplicate = _DUPLICATE.match(problem)
    return ParseFailure(
        line, col, duplicate_key(duplicate.group(1)) if duplicate else safe_what(problem)
    )


# ruamel's scanner slows down sharply with deep flow collections ([[[...: 4 s at 2,000 levels)
# before its parser runs out of stack anyway, so such a file is refused before it gets there.
# Quoted strings and comments are skipped; anything they hide only makes the count smaller.
MAX_FLOW_DEPTH = 100
_NOT_SYNTAX = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|#[^\n]*""")
_FLOW = re.compile(r"[\[\]{}]")


def _flow_too_deep(text: str) -> bool:
    depth = 0
    for match in _FLOW.finditer(_NOT_SYNTAX.sub("", text)):
        depth += 1 if match.group(0) in "[{" else -1
        if depth > MAX_FLOW_DEPTH:
            return True
    return False


def _load(text: str) -> tuple[Any, tuple[int, int, int]]:
    import warnings

    if _flow_too_deep(text):
        raise nesting_failure()
    try:
        # ruamel warns about reused anchors by printing the file's lines: never shown.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = _yaml(_LAYOUTS[0]).load(text)
    except RecursionError:
        raise nesting_failure() from None
    except Exception as exc:  # every ruamel error, whatever its class, is "does not parse"
        raise _failure(exc) from None
    if doc is None:
        return doc, _LAYOUTS[0]
    for layout in _LAYOUTS:
        if _dump(_yaml(layout), doc) == text:
            return doc, layout
    return doc, _LAYOUTS[0]


def _container(doc: Any, container: tuple[str, ...], list_key: str, create: bool) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = doc
    for depth, key in enumerate(container):
        last = depth == len(container) - 1
        if not isinstance(node, dict):
            where = ".".join(container[:depth]) or "the document"
            raise ShapeFailure(f"{where} is not a mapping")
        if key not in node or node[key] is None:
            if not create:
                return None
            node[key] = CommentedSeq() if (last and list_key) else CommentedMap()
        node = node[key]
    expected = list if list_key else dict
    if not isinstance(node, expected):
        kind = "a list" if list_key else "a mapping"
        raise ShapeFailure(f"{'.'.join(container)} must be {kind}")
    return node


def _assign(node: Any, key: Any, value: Any) -> None:
    """node[key] = value, changing an existing map in place: ruamel keeps a comment with the
    key it follows, so replacing the whole map would drop a comment written after the entry
    (`# the end`), and its keys' own comments."""
    present = key in node if isinstance(node, dict) else 0 <= key < len(node)
    old = node[key] if present else None
    if isinstance(old, dict) and isinstance(value, dict):
        for gone in [k for k in old if k not in value]:
            del old[gone]
        for k, v in value.items():
            if k not in old or _plain(old[k]) != v:
                _assign(old, k, v)
        return
    node[key] = value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _checked(text: str, before: str, after: str, doc: Any) -> str:
    """The spliced text, if it reads back as the edited document; else ruamel's own output
    (correct, if less faithful to the file's formatting). A file is never written broken."""
    spliced = _splice(text, before, after)
    try:
        if _plain(_yaml(_LAYOUTS[0]).load(spliced)) == _plain(doc):
            return spliced
    except Exception:  # noqa: S110 - any failure to read it back means: do not use it
        pass
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return _with_newlines(after, newline_of(text), bom)


class YamlFormat:
    name = "yaml"

    def entries(self, text: str, container: tuple[str, ...], list_key: str = "") -> dict[str, Any]:
        doc, _ = _load(text)
        if doc is None:
            return {}
        node = _container(doc, container, list_key, create=False)
        return {} if node is None else named_entries(node, list_key, _plain)

    def set_entry(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> str:
        from ruamel.yaml.comments import CommentedMap

        doc, layout = _load(text)
        if doc is None:
            doc = CommentedMap()
            if not text.strip():  # an empty or blank file: the document is just our entry
                text = text[:1] if text.startswith("\ufeff") else ""
        before = _dump(_yaml(layout), doc) if doc else ""
        node = _container(doc, container, list_key, create=True)
        if list_key:
            item = named_item(list_key, name, value)
            index = named_index(node, list_key, name)
            if index is None:
                node.append(item)
            elif _plain(node[index]) == item:
                return text  # already so: not even a comment may move
            else:
                _assign(node, index, item)
        elif name in node and _plain(node[name]) == value:
            return text
        else:
            _assign(node, name, value)
        return _checked(text, before, _dump(_yaml(layout), doc), doc)

    def remove_entry(self, text: str, container: tuple[str, ...], list_key: str, name: str) -> str:
        doc, layout = _load(text)
        if doc is None:
            return text
        node = _container(doc, container, list_key, create=False)
        if node is None:
            return text
        before = _dump(_yaml(layout), doc)
        if list_key:
            keep = [e for e in node if not (isinstance(e, dict) and e.get(list_key) == name)]
            if len(keep) == len(node):
                return text
            node[:] = keep
        elif name in node:
            del node[name]
        else:
            return text
        return _checked(text, before, _dump(_yaml(layout), doc), doc)
