"""The containers dot-setup created in other programs' files, so `remove` can take them away.

`install` into `{}` adds `"mcpServers": {"dot": ...}`; removing only the entry would leave
`"mcpServers": {}`, and the file would not be what it was. So when an install has to create
the container (or several levels of it: VS Code's `mcp.servers`), the number of levels it created
is recorded here, per file and entry; `remove` then also removes those levels, but only while
they are empty (a server the user added since keeps its container). The record is in the state
dir (`containers.json`, 0600), changed under its own lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dot_setup.formats import get_format
from dot_setup.formats.base import ParseFailure, ShapeFailure
from dot_setup.fs.fsio import file_lock, read_bytes, write_atomic
from dot_setup.paths import Paths
from dot_setup.profiles.schema import Target


def _file(paths: Paths) -> Path:
    return paths.state_dir / "containers.json"


def _key(target: Target, name: str) -> str:
    return "/".join([*target.container, name])


def _load(paths: Paths) -> dict[str, Any]:
    try:
        data = json.loads((read_bytes(_file(paths)) or b"{}").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def recorded(paths: Paths, real: Path, target: Target, name: str) -> int:
    """Levels of the container that dot-setup created for this entry (0: none recorded)."""
    value = _load(paths).get(str(real), {}).get(_key(target, name), 0)
    return value if isinstance(value, int) and 0 <= value <= len(target.container) else 0


def record(paths: Paths, real: Path, target: Target, name: str, levels: int) -> None:
    _file(paths).parent.mkdir(parents=True, exist_ok=True)
    with file_lock(paths, _file(paths)):  # two runs changing two files share this record
        data = _load(paths)
        entries = data.setdefault(str(real), {})
        if levels:
            entries[_key(target, name)] = levels
        else:
            entries.pop(_key(target, name), None)
        if not entries:
            data.pop(str(real), None)
        write_atomic(_file(paths), (json.dumps(data, indent=2) + "\n").encode(), 0o600, None)


def strip(target: Target, text: str, levels: int) -> str:
    """`text` without the innermost `levels` levels of the container, each only if empty."""
    fmt = get_format(target.format)
    container = target.container
    for depth in range(len(container) - 1, len(container) - 1 - levels, -1):
        list_key = target.list_key if depth == len(container) - 1 else ""
        try:
            if fmt.entries(text, container[: depth + 1], list_key):
                break  # something else lives there now: it stays, and so do its parents
            text = fmt.remove_entry(text, container[:depth], "", container[depth])
        except (ParseFailure, ShapeFailure):
            break
    return text


def created_levels(target: Target, before: str | None, unwound: str) -> int:
    """How many container levels an insert created: `unwound` is the file after the insert
    with the entry removed again; the levels whose removal gives back `before` exactly."""
    if before is None or unwound == before:
        return 0
    for levels in range(1, len(target.container) + 1):
        if strip(target, unwound, levels) == before:
            return levels
    return 0
