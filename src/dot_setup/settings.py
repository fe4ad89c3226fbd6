"""Choices the wizard remembers between runs (the region or server URL), in the state dir.

Nothing secret lives here; sign-ins are in the credential store (signin/store.py).
"""

from __future__ import annotations

import json
from typing import Any

from dot_setup.fsio import write_atomic
from dot_setup.paths import Paths


def _path(paths: Paths) -> Any:
    return paths.state_dir / "settings.json"


def load(paths: Paths) -> dict[str, Any]:
    try:
        data = json.loads(_path(paths).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered(paths: Paths, service: str) -> dict[str, str]:
    value = load(paths).get("services", {}).get(service, {})
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def remember(paths: Paths, service: str, **values: str) -> None:
    data = load(paths)
    data.setdefault("services", {}).setdefault(service, {}).update(values)
    path = _path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), 0o600, None)
