"""What `dot-setup show` prints: one client's block, command, install links or in-app steps,
with the token masked. The content is the guide (guide.py), the same one the reference
server's Settings → Integrations page shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dot_setup.engine import guide
from dot_setup.engine.auth import allowed_auth, choose_auth, connection, get_token
from dot_setup.engine.detect import target_path
from dot_setup.engine.endpoint import resolve_endpoint
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client, get_service
from dot_setup.secrets import REDACT, TokenSource
from dot_setup.ui.console import OUT


def show_client(
    paths: Paths,
    *,
    client_id: str,
    service_id: str,
    region: str | None,
    server_url: str | None,
    auth: str | None,
    token_file: Path | None,
    token_stdin: bool,
    scope: str,
    name: str | None,
    clipboard: bool,
    link_only: bool = False,
) -> None:
    profile = get_client(client_id)
    service = get_service(service_id)
    token = get_token(service, token_stdin, token_file)
    server = resolve_endpoint(
        service, region=region, server_url=server_url, token=token, default=True
    )
    if link_only and auth is None and "oauth" in allowed_auth(profile, service):
        auth = "oauth"  # links are for clients that sign in themselves
    chosen = choose_auth(profile, service, auth, True)
    if chosen == "token" and token is None:
        token = TokenSource(guide.PLACEHOLDER_TOKEN, "placeholder")
    conn = connection(server, chosen, name or service.default_server_name, token, "", "auto")
    target = profile.target(scope) if profile.kind == "file" else None
    if profile.kind == "file" and target is None:
        from dot_setup.errors import UsageError

        scopes = ", ".join(f"--scope {t.scope}" for t in profile.targets)
        raise UsageError(f"{profile.name} has no {scope}-scope config file", f"try {scopes}")
    shown = guide.build(profile, conn, paths.os_name, target)
    data = shown.data()
    if link_only:
        _print_links(profile.name, shown)
    else:
        to_copy = _print(profile.name, service.name, server.region, shown, target, paths, data)
        _print_notes(profile.id, service, profile.notes, profile.docs_url, shown.next_step)
        if clipboard and to_copy and (token is None or token.origin != "placeholder"):
            from dot_setup.ui import clipboard as board

            if board.copy(to_copy, paths):
                OUT.message("copied to the clipboard")
    if OUT.json_mode:
        OUT.envelope("ok", 0, json.loads(REDACT(json.dumps(data))), [])


def _print(
    client: str,
    service: str,
    region: str,
    shown: guide.Guide,
    target: Any,
    paths: Paths,
    data: dict[str, Any],
) -> str:
    """The guide as text; returns what to put on the clipboard."""
    OUT.result(f"{client} → {service} ({region}, {shown.auth})", "bold")
    to_copy = ""
    if shown.client.kind == "manual":
        for i, step in enumerate(shown.steps, 1):
            OUT.result(f"  {i}. {step}")
        for label, value in shown.fields:
            OUT.result(f"  {label}: {value}")
            if not to_copy and ("URL" in label or value.startswith("{")):
                to_copy = value
    else:
        path = target_path(target, paths)
        data["path"] = str(path)
        OUT.result(f"Add this to {path} ({shown.format}):")
        OUT.result(shown.block.rstrip("\n"))
        to_copy = shown.block
    if shown.command:
        OUT.result(f"Or run {client}'s own command:")
        OUT.result(f"  {shown.command}")
    for label, url in shown.links:
        OUT.result(f"{label}: {url}")
    return to_copy


def _print_links(client: str, shown: guide.Guide) -> None:
    if not shown.links:
        from dot_setup.errors import UsageError

        why = (
            "install links carry no token: use the block (dot-setup show without --link)"
            if shown.auth == "token"
            else f"{client} has no install link"
        )
        raise UsageError(f"no install link for {client} ({shown.auth})", why)
    for _label, url in shown.links:
        OUT.result(url)


def _print_notes(client_id: str, service: Any, notes: str, docs: str, next_step: str) -> None:
    rule = service.clients.get(client_id)
    for note in filter(None, [rule.note if rule else "", notes]):
        OUT.message(f"note: {note}")
    OUT.message(f"docs: {docs}")
    OUT.message(f"next: {next_step}")
