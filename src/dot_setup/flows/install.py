"""`dot-setup install`: every answer a flag, for CI scripts and device management.

gather (clients, endpoint, auth, token) → plan (read every file, compute new text) → show the
plan → confirm → apply (atomic, backed up, rolled back on failure) → report next steps.
Nothing is written before every file has been read, planned and checked writable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dot_setup.engine.auth import choose_auth, get_token, parse_token_ref
from dot_setup.engine.changes import Change, apply
from dot_setup.engine.clients import select_clients
from dot_setup.engine.endpoint import resolve_endpoint
from dot_setup.engine.entries import EntrySpec, changes_for
from dot_setup.engine.guide import Guide
from dot_setup.engine.report import (
    change_data,
    guide_data,
    next_steps,
    report_next_steps,
    report_plan,
    report_written,
)
from dot_setup.errors import TokenInputError, UsageError
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_service
from dot_setup.ui.console import OUT
from dot_setup.ui.prompts import confirm


@dataclass
class InstallRequest:
    clients: list[str]
    all_detected: bool = False
    service: str = "dot"
    region: str | None = None
    server_url: str | None = None
    auth: str | None = None
    token_file: Path | None = None
    token_stdin: bool = False
    token_ref: str | None = None
    scope: str = "user"
    name: str | None = None
    transport: str = "auto"
    force: bool = False
    dry_run: bool = False
    yes: bool = False
    no_input: bool = False


def build_changes(request: InstallRequest, paths: Paths) -> tuple[list[Change], list[Guide]]:
    clients = select_clients(request.clients, request.all_detected, paths)
    token_env = parse_token_ref(request.token_ref)
    service = get_service(request.service)
    token = get_token(service, request.token_stdin, request.token_file)
    if token and token_env:
        raise UsageError(
            "--token-ref and a token were both given",
            "with --token-ref the client reads the token from the variable; give no token",
        )
    endpoint = resolve_endpoint(
        service, region=request.region, server_url=request.server_url, token=token
    )
    auths = {}
    for profile in clients:
        auth = choose_auth(profile, service, request.auth, bool(token or token_env))
        if auth == "token" and not (token or token_env):
            raise TokenInputError(
                f"{profile.name} needs an MCP token for {service.name}",
                f"pass --token-stdin or --token-file PATH, or set {service.token_env}",
            )
        auths[profile.id] = auth
    spec = EntrySpec(
        name=request.name or service.default_server_name,
        token=token,
        token_env=token_env,
        scope=request.scope,
        transport=request.transport,
        force=request.force,
    )
    return changes_for(clients, endpoint, auths, spec, paths)


def run_install(request: InstallRequest, paths: Paths) -> int:
    changes, guides = build_changes(request, paths)
    pending = [c for c in changes if c.changed]
    report_plan(changes, request.dry_run)
    if request.dry_run:
        OUT.message(f"dry run: {len(pending)} file(s) would change; nothing was written")
    elif pending:
        question = f"Write {len(pending)} file(s)?"
        if not confirm(question, yes=request.yes, no_input=request.no_input):
            OUT.message("nothing was changed")
            return 1
        apply(changes, paths)
        report_written(changes)
    else:
        OUT.message("everything is already configured: nothing to write")
    if not OUT.json_mode:  # the envelope carries them
        report_next_steps(changes, guides, paths, dry_run=request.dry_run)
    if OUT.json_mode:
        data = {
            "dry_run": request.dry_run,
            "changes": [change_data(c, request.dry_run) for c in changes],
            "manual": [guide_data(g) for g in guides],
            "next_steps": [] if request.dry_run else next_steps(changes),
        }
        OUT.envelope("ok", 0, data, [])
    return 0
