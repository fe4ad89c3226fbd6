"""From what was chosen (the clients, the endpoint, each client's auth, the token) to the
changes to make: one entry per file client, rendered from its profile and planned against its
file; a client set up in its own app (ChatGPT, Claude connectors) gets its guide instead."""

from __future__ import annotations

from dataclasses import dataclass

from dot_setup.engine import guide
from dot_setup.engine.auth import connection
from dot_setup.engine.changes import Change, plan, resolve_target
from dot_setup.engine.endpoint import Endpoint
from dot_setup.engine.render import render_entry
from dot_setup.paths import Paths
from dot_setup.profiles.schema import ClientProfile
from dot_setup.secrets import TokenSource


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
    endpoint: Endpoint,
    auths: dict[str, str],
    spec: EntrySpec,
    paths: Paths,
) -> tuple[list[Change], list[guide.Guide]]:
    """The planned changes of the file clients, and the guides of the in-app ones."""
    changes: list[Change] = []
    manual: list[guide.Guide] = []
    for profile in clients:
        conn = connection(
            endpoint, auths[profile.id], spec.name, spec.token, spec.token_env, spec.transport
        )
        if profile.kind == "manual":
            manual.append(guide.build(profile, conn, paths.os_name, None))
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
