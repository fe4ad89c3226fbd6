"""YAML (Goose, Continue) through ruamel.yaml's round-trip mode, which keeps comments.

ruamel re-emits the whole document, so the indentation settings must match the file's own or
untouched lines would move. We try the usual layouts and keep the one that reproduces the file
exactly; only if none does (unusual hand formatting) can lines outside our entry change, and the
diff preview shows it before anything is written.
"""

from __future__ import annotations

import io
from typing import Any

from dot_setup.formats.base import ParseFailure, ShapeFailure

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


def _load(text: str) -> tuple[Any, tuple[int, int, int]]:
    from ruamel.yaml.error import MarkedYAMLError

    try:
        doc = _yaml(_LAYOUTS[0]).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ParseFailure(line, col, str(exc.problem or exc.context or "invalid YAML")) from None
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
        if node is None:
            return {}
        if list_key:
            return {str(i.get(list_key)): _plain(i) for i in node if isinstance(i, dict)}
        return {str(k): _plain(v) for k, v in node.items()}

    def set_entry(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> str:
        from ruamel.yaml.comments import CommentedMap

        doc, layout = _load(text)
        if doc is None:
            doc = CommentedMap()
        node = _container(doc, container, list_key, create=True)
        if list_key:
            item = {list_key: name, **{k: v for k, v in value.items() if k != list_key}}
            index = next(
                (i for i, e in enumerate(node) if isinstance(e, dict) and e.get(list_key) == name),
                None,
            )
            if index is None:
                node.append(item)
            else:
                node[index] = item
        else:
            node[name] = value
        return _dump(_yaml(layout), doc)

    def remove_entry(self, text: str, container: tuple[str, ...], list_key: str, name: str) -> str:
        doc, layout = _load(text)
        if doc is None:
            return text
        node = _container(doc, container, list_key, create=False)
        if node is None:
            return text
        if list_key:
            keep = [e for e in node if not (isinstance(e, dict) and e.get(list_key) == name)]
            if len(keep) == len(node):
                return text
            node[:] = keep
        elif name in node:
            del node[name]
        else:
            return text
        return _dump(_yaml(layout), doc)
