"""What `dot-setup show` prints: one client's block, URL or steps, with the token masked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from dot_setup.common import choose_auth, choose_server, connection, get_token
from dot_setup.console import OUT
from dot_setup.detect import target_path
from dot_setup.formats import get_format
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client, get_service
from dot_setup.render import render_entry, render_manual
from dot_setup.secrets import REDACT, TokenSource

PLACEHOLDER_TOKEN = "<YOUR_MCP_TOKEN>"

# Clipboard programs by OS, first found wins; each reads the text on stdin.
_CLIPBOARDS = {
    "macos": [["pbcopy"]],
    "windows": [["clip"]],
    "linux": [
        ["wl-copy"],
        ["xclip", "-selection", "clipboard"],
        ["xsel", "--clipboard", "--input"],
    ],
}


def copy_to_clipboard(paths: Paths, text: str) -> str | None:
    """Copy `text`; returns the program used, or None where no clipboard is available."""
    for argv in _CLIPBOARDS.get(paths.os_name, []):
        program = paths.which(argv[0])
        if program is None:
            continue
        try:
            subprocess.run([str(program), *argv[1:]], input=text.encode(), check=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        return argv[0]
    return None


def snippet(fmt_name: str, container: tuple[str, ...], list_key: str, name: str, entry: Any) -> str:
    return get_format(fmt_name).set_entry("", container, list_key, name, entry)


def show_client(
    *,
    client_id: str,
    service_id: str,
    region: str | None,
    server_url: str | None,
    auth: str | None,
    token_file: Path | None,
    token_stdin: bool,
    scope: str,
    project_dir: Path | None,
    name: str | None,
    clipboard: bool,
) -> None:
    paths = Paths.from_env(project=project_dir)
    profile = get_client(client_id)
    service = get_service(service_id)
    token = get_token(service, token_stdin, token_file)
    if region is None and server_url is None and token is None:
        region = service.default_region
    server = choose_server(service_id, region, server_url, token)
    chosen = choose_auth(profile, service, auth, True)
    if chosen == "token" and token is None:
        token = TokenSource(PLACEHOLDER_TOKEN, "placeholder")
    conn = connection(server, chosen, name or service.default_server_name, token, "", "auto")
    data: dict[str, Any] = {"client": profile.id, "auth": chosen, "url": server.url}
    to_copy = ""
    OUT.result(f"{profile.name} → {service.name} ({server.region}, {chosen})", "bold")
    if profile.kind == "manual":
        shown = render_manual(profile, conn)
        for i, step in enumerate(shown.steps, 1):
            OUT.result(f"  {i}. {step}")
        for label, value in shown.fields:
            text = value if isinstance(value, str) else json.dumps(value, indent=2)
            OUT.result(f"  {label}: {text}")
            if not to_copy and ("URL" in label or not isinstance(value, str)):
                to_copy = text
        data.update(steps=shown.steps, fields=[{"label": k, "value": v} for k, v in shown.fields])
    else:
        target = profile.target(scope)
        if target is None:
            from dot_setup.errors import UsageError

            raise UsageError(f"{profile.name} has no {scope}-scope config file", "try --scope user")
        rendered = render_entry(profile, conn, paths.os_name)
        path = target_path(target, paths)
        block = snippet(target.format, target.container, target.list_key, conn.name, rendered.entry)
        OUT.result(f"Add this to {path} ({target.format}):")
        OUT.result(block.rstrip("\n"))
        to_copy = block
        data.update(path=str(path), format=target.format, shape=rendered.shape, block=block)
    for note in filter(
        None,
        [service.clients.get(profile.id, None) and service.clients[profile.id].note, profile.notes],
    ):
        OUT.message(f"note: {note}")
    OUT.message(f"docs: {profile.docs_url}")
    OUT.message(f"next: {profile.next_step.replace('{{name}}', conn.name)}")
    if clipboard and to_copy and (token is None or token.origin != "placeholder"):
        used = copy_to_clipboard(paths, to_copy)
        if used:
            OUT.message(f"copied to the clipboard ({used})")
    if OUT.json_mode:
        OUT.envelope("ok", 0, json.loads(REDACT(json.dumps(data))), [])
