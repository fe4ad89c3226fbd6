"""Choices the wizard remembers between runs (the region or server URL), in the state dir.

Nothing secret lives here; sign-ins are in the credential store (signin/store.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dot_setup.fs.fsio import read_json, write_atomic
from dot_setup.paths import Paths

if TYPE_CHECKING:
    from dot_setup.engine.auth import Target


def _path(paths: Paths) -> Any:
    return paths.state_dir / "settings.json"


def load(paths: Paths) -> dict[str, Any]:
    data = read_json(_path(paths))
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


def remember_target(paths: Paths, target: Target) -> None:
    """Remember the region, or the custom server URL, for the next run."""
    if target.region in target.service.regions:
        remember(paths, target.service.id, region=target.region, server_url="")
    else:
        remember(paths, target.service.id, server_url=target.url, region="")


def remembered_target(paths: Paths, service_id: str) -> Target | None:
    """The server of the last run, if it is still valid for this service."""
    from dot_setup.engine.auth import choose_server
    from dot_setup.profiles.loader import get_service

    memory = remembered(paths, service_id)
    if memory.get("server_url"):
        return choose_server(service_id, None, memory["server_url"], None)
    if memory.get("region") in get_service(service_id).regions:
        return choose_server(service_id, memory["region"], None, None)
    return None
