"""What dot-setup remembers between runs: the region or server URL last used, per service, in
the state dir (`settings.json`). endpoint.py decides what it means.

Nothing secret lives here; sign-ins are in the credential store (signin/store.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dot_setup.fs.fsio import read_json, write_atomic
from dot_setup.paths import Paths


def _path(paths: Paths) -> Path:
    return paths.state_dir / "settings.json"


def _all(paths: Paths) -> dict[str, Any]:
    data = read_json(_path(paths))
    return data if isinstance(data, dict) else {}


def load(paths: Paths, service: str) -> dict[str, str]:
    """The values remembered for a service ({} if none, or if the file is unreadable)."""
    value = _all(paths).get("services", {}).get(service, {})
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def save(paths: Paths, service: str, **values: str) -> None:
    data = _all(paths)
    data.setdefault("services", {}).setdefault(service, {}).update(values)
    path = _path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), 0o600, None)
