"""TOML (Codex `config.toml`) through tomlkit, which round-trips comments and layout.

The entry becomes a table (`[mcp_servers.dot]`) whose nested maps are inline tables
(`http_headers = { Authorization = "..." }`), the way Codex's own `mcp add` writes it.
"""

from __future__ import annotations

import re
from typing import Any

from tomlkit.items import Array, InlineTable

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

_DUPLICATE = re.compile(r'Key "(.*)" already exists')


def _parse(text: str) -> Any:
    import tomlkit  # imported here: only commands that touch TOML files pay for it
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text)
    except RecursionError:
        raise nesting_failure() from None
    except ParseError as exc:
        # tomlkit counts columns from 0; ParseFailure (like every editor) from 1
        raise ParseFailure(exc.line, exc.col + 1, _what(str(exc).split(" at line ")[0])) from None
    except Exception as exc:  # KeyAlreadyPresent in an inline table, and other TOMLKitErrors
        raise ParseFailure(1, 1, _what(str(exc)) or type(exc).__name__) from None


def _what(message: str) -> str:
    duplicate = _DUPLICATE.match(message)
    return duplicate_key(duplicate.group(1)) if duplicate else safe_what(message)


def _container(doc: Any, container: tuple[str, ...], list_key: str, create: bool) -> Any:
    """The table holding the entries, or with list_key the array of tables ([[mcp_servers]])."""
    import tomlkit

    node = doc
    for depth, key in enumerate(container):
        last = depth == len(container) - 1
        if key not in node:
            if not create:
                return None
            # a super table prints no empty [mcp_servers] header above [mcp_servers.dot]
            new = tomlkit.aot() if (last and list_key) else tomlkit.table(is_super_table=True)
            node.append(key, new)
        node = node[key]
        expected: type = list if (last and list_key) else dict
        if not isinstance(node, expected):
            where = ".".join(container[: depth + 1])
            want = "an array of tables" if expected is list else "a table"
            raise ShapeFailure(f"{where} holds a {type(node).__name__}, expected {want}")
    return node


def _to_item(value: Any, top: bool) -> Any:
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.table() if top else tomlkit.inline_table()
        for key, item in value.items():
            table.add(key, _to_item(item, top=False))
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_to_item(item, top=False) for item in value)
        return array
    return value


def _ends_blank(text: str) -> bool:
    return text.endswith(("\n\n", "\n\r\n"))


def _same_newlines(original: str, out: str) -> str:
    """tomlkit writes new lines with LF; a CRLF file keeps CRLF throughout."""
    if newline_of(original) == "\r\n":
        return re.sub(r"(?<!\r)\n", "\r\n", out)
    return out


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if unwrap else value


class TomlFormat:
    name = "toml"

    def entries(self, text: str, container: tuple[str, ...], list_key: str = "") -> dict[str, Any]:
        node = _container(_parse(text), container, list_key, create=False)
        return {} if node is None else named_entries(node, list_key, _plain)

    def set_entry(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> str:
        import tomlkit

        doc = _parse(text)
        node = _container(doc, container, list_key, create=True)
        # Inside an inline table or inline array only inline tables may go.
        top = not isinstance(node, InlineTable | Array)
        if not list_key:
            node[name] = _to_item(value, top=top)
            return _same_newlines(text, tomlkit.dumps(doc))
        item = _to_item(named_item(list_key, name, value), top)
        index = named_index(node, list_key, name)
        if index is None:
            node.append(item)
        else:
            node[index] = item
        return _same_newlines(text, tomlkit.dumps(doc))

    def remove_entry(self, text: str, container: tuple[str, ...], list_key: str, name: str) -> str:
        import tomlkit

        doc = _parse(text)
        node = _container(doc, container, list_key, create=False)
        if node is None:
            return text
        if list_key:
            index = named_index(node, list_key, name)
            if index is None:
                return text
            del node[index]
        elif name in node:
            del node[name]
        else:
            return text
        out: str = tomlkit.dumps(doc)
        # tomlkit keeps the blank line it put before a table it appended; drop it with the table.
        if _ends_blank(out) and not _ends_blank(text):
            out = out.rstrip("\r\n") + newline_of(text)
        return _same_newlines(text, out)
