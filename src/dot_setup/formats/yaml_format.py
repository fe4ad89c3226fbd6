"""YAML (Goose, Continue) through ruamel.yaml's round-trip mode, which keeps comments.

ruamel re-emits the whole document, normalising what it does not keep (escapes in quoted
scalars, CRLF, a BOM, odd indentation). So the edit is not taken from ruamel's output directly:
we dump the document before and after the change, diff the two dumps, and apply only that diff's
hunks to the user's original text. Lines outside our entry therefore stay byte for byte. Only if
a hunk touches a line ruamel normalised (rare) is ruamel's whole output used instead.
"""

from __future__ import annotations

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
    where: dict[int, int] = {}  # line of `before` -> the same line in the original
    for block in difflib.SequenceMatcher(None, old, source, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            where[block.a + k] = block.b + k
    result = list(source)
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(ops):
        if tag == "equal":
            continue
        if i1 < i2:
            if (
                any(i not in where for i in range(i1, i2))
                or where[i2 - 1] - where[i1] != i2 - i1 - 1
            ):
                return _with_newlines(after, nl, bom)  # a hunk on a normalised line
            start, stop = where[i1], where[i2 - 1] + 1
        elif i1 in where:
            start = stop = where[i1]
        elif i1 - 1 in where:
            start = stop = where[i1 - 1] + 1
        elif i1 == 0:
            start = stop = 0
        else:
            return _with_newlines(after, nl, bom)
        result[start:stop] = new[j1:j2]
    return _with_newlines("".join(result), nl, bom)


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


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
            else:
                node[index] = item
        else:
            node[name] = value
        return _splice(text, before, _dump(_yaml(layout), doc))

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
        return _splice(text, before, _dump(_yaml(layout), doc))
