"""Is the service configured in a client's file? configured, absent, differs, or unreadable.

"configured" means the entry equals what `install` would write for one of the service's regions
and auth modes, whatever the token (the token itself is never compared or shown).
"""

from __future__ import annotations

from typing import Any

from dot_setup.engine.changes import current_entry
from dot_setup.engine.detect import detect, target_path
from dot_setup.engine.render import Connection, entry_matches, render_entry
from dot_setup.errors import DotSetupError, UsageError
from dot_setup.formats.base import MISSING
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_service, load_clients
from dot_setup.profiles.schema import ClientProfile, ServiceProfile

SENTINEL = "dot-setup-any-token-7f3a"


def expected_entries(
    profile: ClientProfile, service: ServiceProfile, name: str, os_name: str, urls: dict[str, str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(region, auth, entry) for every way install could have written this client."""
    options = []
    for region, url in urls.items():
        variants = [("oauth", None, ""), ("token", SENTINEL, ""), ("token", None, SENTINEL)]
        for auth, token, token_env in variants:
            for transport in ("http", "stdio"):
                conn = Connection(
                    service=service,
                    url=url,
                    auth=auth,
                    name=name,
                    token=token,
                    token_env=token_env,
                    transport=transport,
                )
                try:
                    rendered = render_entry(profile, conn, os_name)
                except UsageError:
                    continue
                options.append((region, f"{auth}/{rendered.shape}", rendered.entry))
    return options


def entry_status(
    profile: ClientProfile, service: ServiceProfile, paths: Paths, scope: str, name: str
) -> dict[str, Any]:
    target = profile.target(scope)
    path = target_path(target, paths) if target else None
    row: dict[str, Any] = {"path": str(path) if path else "", "status": "manual", "detail": ""}
    if target is None or path is None:
        if profile.kind == "file":
            row["status"] = "no such scope"
        return row
    try:
        entries = current_entry(target, path)
    except DotSetupError as exc:
        row.update(status="unreadable", detail=exc.message)
        return row
    if entries is MISSING:
        row.update(status="absent", detail="no file")
        return row
    if name not in entries:
        row["status"] = "absent"
        return row
    urls = {rid: r.url for rid, r in service.regions.items()}
    for region, how, entry in expected_entries(profile, service, name, paths.os_name, urls):
        if entry_matches(entries[name], entry, SENTINEL):
            row.update(status="configured", detail=f"{region}, {how}")
            return row
    row.update(
        status="differs", detail="not what dot-setup would write; `dot-setup install` replaces it"
    )
    return row


def client_statuses(
    paths: Paths, service_id: str, scope: str, name: str | None
) -> list[dict[str, Any]]:
    service = get_service(service_id)
    name = name or service.default_server_name
    rows = []
    for profile in load_clients().values():
        found = detect(profile, paths)
        row = {
            "id": profile.id,
            "name": profile.name,
            "kind": profile.kind,
            "detected": found.installed,
            "evidence": list(found.evidence),
            "verified": profile.verified.summary(),
        }
        row.update(entry_status(profile, service, paths, scope, name))
        rows.append(row)
    return rows
