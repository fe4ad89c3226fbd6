"""TOML (Codex `config.toml`) through tomlkit, which round-trips comments and layout.

The entry becomes a table (`[mcp_servers.dot]`) whose nested maps are inline tables
(`http_headers = { Authorization = "..." }`), the way Codex's own `mcp add` writes it.
"""

from __future__ import annotations

from typing import Any

from dot_setup.formats.base import ParseFailure, ShapeFailure


def _parse(text: str) -> Any:
    import tomlkit  # imported here: only commands that touch TOML files pay for it
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise ParseFailure(exc.line, max(exc.col, 1), str(exc).split(" at line ")[0]) from None


def _container(doc: Any, container: tuple[str, ...], create: bool) -> Any:
    import tomlkit

    node = doc
    for depth, key in enumerate(container):
        if key not in node:
            if not create:
                return None
            table = tomlkit.table(is_super_table=True)  # no empty [mcp_servers] header
            node.append(key, table)
        node = node[key]
        if not isinstance(node, dict):
            where = ".".join(container[: depth + 1])
            raise ShapeFailure(f"{where} holds a {type(node).__name__}, expected a table")
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


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if unwrap else value


class TomlFormat:
    name = "toml"

    def entries(self, text: str, container: tuple[str, ...], list_key: str = "") -> dict[str, Any]:
        node = _container(_parse(text), container, create=False)
        return {} if node is None else {str(k): _plain(v) for k, v in node.items()}

    def set_entry(
        self, text: str, container: tuple[str, ...], list_key: str, name: str, value: Any
    ) -> str:
        import tomlkit

        doc = _parse(text)
        node = _container(doc, container, create=True)
        node[name] = _to_item(value, top=True)
        return tomlkit.dumps(doc)

    def remove_entry(self, text: str, container: tuple[str, ...], list_key: str, name: str) -> str:
        import tomlkit

        doc = _parse(text)
        node = _container(doc, container, create=False)
        if node is None or name not in node:
            return text
        del node[name]
        out: str = tomlkit.dumps(doc)
        # tomlkit keeps the blank line it put before a table it appended; drop it with the table.
        if out.endswith("\n\n") and not text.endswith("\n\n"):
            out = out.rstrip("\n") + "\n"
        return out
