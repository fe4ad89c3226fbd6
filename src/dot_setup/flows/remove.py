"""`dot-setup remove`: take our entry (and a container install created) out of clients' files,
and nothing else; every file is backed up first."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dot_setup.engine.changes import Change, apply, plan, resolve_target
from dot_setup.engine.clients import select_clients
from dot_setup.engine.report import change_data, report_plan
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_service, load_clients
from dot_setup.profiles.schema import ClientProfile
from dot_setup.ui.console import OUT
from dot_setup.ui.prompts import confirm


@dataclass
class RemoveRequest:
    clients: list[str]
    all_clients: bool = False
    scope: str = "user"
    name: str | None = None
    service: str = "dot"
    dry_run: bool = False
    yes: bool = False
    no_input: bool = False


def _profiles(request: RemoveRequest, paths: Paths) -> list[ClientProfile]:
    if request.all_clients:
        return [p for p in load_clients().values() if p.target(request.scope)]
    return [p for p in select_clients(request.clients, False, paths) if p.kind == "file"]


def run_remove(request: RemoveRequest, paths: Paths) -> int:
    entry_name = request.name or get_service(request.service).default_server_name
    changes = []
    for profile in _profiles(request, paths):
        target, path = resolve_target(profile, request.scope, paths)
        if request.all_clients and not os.path.exists(path):  # noqa: PTH110 (never raises)
            continue
        changes.append(
            Change(client=profile, target=target, path=path, name=entry_name, entry=None)
        )
    plan(changes, paths)
    pending = [c for c in changes if c.changed]
    report_plan(changes, request.dry_run)
    if pending and not request.dry_run:
        question = f"Remove {entry_name!r} from {len(pending)} file(s)?"
        if not confirm(question, yes=request.yes, no_input=request.no_input):
            OUT.message("nothing was changed")
            return 1
        apply(changes, paths)
        for change in pending:
            backup = change.backup.id if change.backup else "-"
            OUT.result(f"removed  {change.path} (backup {backup})")
    elif not pending:
        OUT.message(f"no entry named {entry_name!r} found: nothing to remove")
    if OUT.json_mode:
        data = {
            "dry_run": request.dry_run,
            "changes": [change_data(c, request.dry_run) for c in changes],
        }
        OUT.envelope("ok", 0, data, [])
    return 0
