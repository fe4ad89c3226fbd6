"""The install flow behind `dot-setup install` (and, later, the wizard's apply step).

gather (clients, server, auth, token) → plan (read every file, compute new text) → show the plan
→ confirm → apply (atomic, backed up, rolled back on failure) → report next steps.
Nothing is written before every file has been read and planned without error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dot_setup.engine.auth import (
    Target,
    choose_auth,
    choose_server,
    connection,
    get_token,
    interactive,
    parse_token_ref,
)
from dot_setup.engine.changes import Change, apply, plan, resolve_target
from dot_setup.engine.detect import detect
from dot_setup.engine.render import fill, render_entry, render_manual
from dot_setup.errors import NeedsInputError, TokenInputError, UsageError
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client, load_clients
from dot_setup.profiles.schema import ClientProfile
from dot_setup.secrets import TokenSource
from dot_setup.ui.console import OUT


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
    project_dir: Path | None = None
    name: str | None = None
    transport: str = "auto"
    force: bool = False
    dry_run: bool = False
    yes: bool = False
    no_input: bool = False


def select_clients(request: InstallRequest, paths: Paths) -> list[ClientProfile]:
    if request.clients and request.all_detected:
        raise UsageError("--client and --all-detected both given", "use one of them")
    if request.all_detected:
        found = [
            p for p in load_clients().values() if p.kind == "file" and detect(p, paths).installed
        ]
        if not found:
            raise UsageError(
                "no supported client was detected on this machine",
                "name clients with --client (see `dot-setup list`)",
            )
        return found
    if not request.clients:
        raise NeedsInputError("--client ID (or --all-detected)", "the client to configure")
    seen: dict[str, ClientProfile] = {}
    for cid in request.clients:
        for part in cid.split(","):
            if part.strip():
                seen.setdefault(part.strip(), get_client(part.strip()))
    return list(seen.values())


def build_changes(
    request: InstallRequest, paths: Paths
) -> tuple[list[Change], list[dict[str, Any]]]:
    clients = select_clients(request, paths)
    token_env = parse_token_ref(request.token_ref)
    from dot_setup.profiles.loader import get_service

    service = get_service(request.service)
    token = get_token(service, request.token_stdin, request.token_file)
    if token and token_env:
        raise UsageError(
            "--token-ref and a token were both given",
            "with --token-ref the client reads the token from the variable; give no token",
        )
    server = choose_server(request.service, request.region, request.server_url, token)
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
    return changes_for(clients, server, auths, spec, paths)


@dataclass(frozen=True)
class EntrySpec:
    """How every chosen client's entry is written (the per-client part is its auth mode)."""

    name: str
    token: TokenSource | None = None
    token_env: str = ""
    scope: str = "user"
    transport: str = "auto"
    force: bool = False


def changes_for(
    clients: list[ClientProfile],
    server: Target,
    auths: dict[str, str],
    spec: EntrySpec,
    paths: Paths,
) -> tuple[list[Change], list[dict[str, Any]]]:
    """Plan each file client's change; manual clients (ChatGPT, Claude connectors) get steps."""
    changes: list[Change] = []
    manual: list[dict[str, Any]] = []
    for profile in clients:
        conn = connection(
            server, auths[profile.id], spec.name, spec.token, spec.token_env, spec.transport
        )
        if profile.kind == "manual":
            shown = render_manual(profile, conn)
            manual.append({"client": profile.id, "steps": shown.steps, "fields": shown.fields})
            continue
        target, path = resolve_target(profile, spec.scope, paths)
        rendered = render_entry(profile, conn, paths.os_name)
        changes.append(
            Change(
                client=profile,
                target=target,
                path=path,
                name=spec.name,
                entry=rendered.entry,
                holds_secret=rendered.holds_secret,
                shape=rendered.shape,
                force=spec.force,
            )
        )
    return plan(changes, paths), manual


def confirm(question: str, request: InstallRequest) -> bool:
    if request.yes:
        return True
    if not interactive(request.no_input):
        raise NeedsInputError("--yes", "confirmation to change these files")
    from dot_setup.ui.prompts import default_prompter

    return default_prompter().confirm(question, default=True)


def _describe(change: Change) -> str:
    return f"  {change.status:<9} {change.path}  ({change.client.id}, {change.shape or 'remove'})"


def report_plan(changes: list[Change], dry_run: bool) -> None:
    for change in changes:
        OUT.message(_describe(change))
        if dry_run and change.changed:
            OUT.result(change.diff().rstrip("\n"))
        if change.holds_secret and change.before is not None and change.changed:
            mode = change.path.stat().st_mode & 0o077 if change.path.exists() else 0
            if mode & 0o044:
                OUT.warn(
                    f"{change.path} is readable by other users and will hold a token; "
                    f"run `chmod 600 {change.path}`"
                )


def report_manual(manual: list[dict[str, Any]]) -> None:
    import json

    for item in manual:
        OUT.result(f"{get_client(item['client']).name}: nothing to write; do this in its app:")
        for i, step in enumerate(item["steps"], 1):
            OUT.result(f"  {i}. {step}")
        for label, value in item["fields"]:
            text = value if isinstance(value, str) else json.dumps(value, indent=2)
            OUT.result(f"     {label}: {text}")


def change_data(change: Change, with_diff: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client": change.client.id,
        "path": str(change.path),
        "scope": change.target.scope,
        "status": change.status,
        "shape": change.shape,
        "backup": change.backup.id if change.backup else None,
    }
    if with_diff:
        data["diff"] = change.diff()
    return data


def next_steps(changes: list[Change]) -> list[str]:
    steps = []
    for change in changes:
        if change.changed:
            text = fill(change.client.next_step, {"name": change.name})
            steps.append(f"{change.client.name}: {text}")
    return steps


def run_install(request: InstallRequest) -> int:
    paths = Paths.from_env(project=request.project_dir)
    changes, manual = build_changes(request, paths)
    pending = [c for c in changes if c.changed]
    report_plan(changes, request.dry_run)
    if request.dry_run:
        OUT.message(f"dry run: {len(pending)} file(s) would change; nothing was written")
    elif pending:
        if not confirm(f"Write {len(pending)} file(s)?", request):
            OUT.message("nothing was changed")
            return 1
        apply(changes, paths)
        for change in pending:
            backup = f" (backup {change.backup.id})" if change.backup else ""
            OUT.result(f"{change.status:<9} {change.path}{backup}")
        for step in next_steps(changes):
            OUT.message(f"next: {step}")
    else:
        OUT.message("everything is already configured: nothing to write")
    report_manual(manual)
    if OUT.json_mode:
        data = {
            "dry_run": request.dry_run,
            "changes": [change_data(c, request.dry_run) for c in changes],
            "manual": manual,
            "next_steps": [] if request.dry_run else next_steps(changes),
        }
        OUT.envelope("ok", 0, data, [])
    return 0
