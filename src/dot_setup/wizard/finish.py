"""After the wizard wrote: verify each file and the connection, then say what to do next.

Verify re-reads every written file and checks the entry is the one planned. Where dot-setup
holds a credential (the MCP token it wrote, or its own sign-in for OAuth clients) it connects to
the MCP endpoint with the real SDK client and lists the tools; without one it checks that the
server offers OAuth, which is what an OAuth client meets first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dot_setup.engine.changes import Change, current_entry
from dot_setup.engine.render import entry_matches, fill
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client
from dot_setup.secrets import REDACT, mask
from dot_setup.ui.console import OUT


def finish(outcome: Any, paths: Paths, account_token: str | None) -> int:
    written = [c for c in outcome.changes if c.changed]
    for change in written:
        backup = f" (backup {change.backup.id})" if change.backup else ""
        OUT.result(f"{change.status:<9} {change.path}{backup}")
    ok = verify_files(outcome.changes)
    ok = verify_connection(outcome, account_token) and ok
    next_steps(outcome, paths)
    return 0 if ok else 1


def verify_files(changes: list[Change]) -> bool:
    ok = True
    for change in changes:
        if change.entry is None:
            continue
        try:
            entries = current_entry(change.target, change.path)
            found = entries.get(change.name) if isinstance(entries, Mapping) else None
        except Exception as exc:  # reported; the write itself already succeeded
            found, ok = None, False
            OUT.message(
                f"  ✗ {change.client.name}: {change.path} cannot be read back: {exc}", "red"
            )
            continue
        if found is not None and entry_matches(found, change.entry, None):
            OUT.message(f"  ✓ {change.client.name}: {change.path} has the {change.name!r} entry")
        else:
            ok = False
            OUT.message(
                f"  ✗ {change.client.name}: {change.path} does not hold the planned entry "
                "(did another program rewrite it?)",
                "red",
            )
    return ok


def verify_connection(outcome: Any, account_token: str | None) -> bool:
    from dot_setup.engine.connect import list_tools

    target = outcome.target
    auths = {c.client.id for c in outcome.changes if c.shape.endswith("oauth")}
    tokened = outcome.token is not None and outcome.token.origin != "to be generated"
    ok = True
    if tokened:
        result = list_tools(target.url, outcome.token.token)
        ok = _report(f"MCP token {mask(outcome.token.token)}", result) and ok
    if auths or (outcome.manual and not tokened):
        if account_token:
            result = list_tools(target.url, account_token)
            ok = _report("your dot-setup sign-in (as the OAuth clients will)", result) and ok
        else:
            ok = _oauth_offered(target.url) and ok
    return ok


def _report(what: str, result: Any) -> bool:
    if result.ok:
        names = ", ".join(result.tools[:4]) + (", ..." if len(result.tools) > 4 else "")
        OUT.message(f"  ✓ connected with {what}: {len(result.tools)} tools ({names})")
        return True
    OUT.message(f"  ✗ could not connect with {what}: {result.reason}", "red")
    OUT.message("    run `dot-setup doctor` for a diagnosis")
    return False


def _oauth_offered(url: str) -> bool:
    from dot_setup.errors import DotSetupError
    from dot_setup.signin import oauth

    try:
        with oauth.client() as http:
            disc = oauth.discover(http, url)
    except DotSetupError as exc:
        OUT.message(f"  ✗ {url}: {exc.message}", "red")
        return False
    OUT.message(
        f"  ✓ {url} offers OAuth sign-in ({disc.server.issuer}); "
        "each client signs in the first time it connects"
    )
    return True


def next_steps(outcome: Any, paths: Paths) -> None:
    steps: list[str] = []
    for change in outcome.changes:
        if change.changed:
            steps.append(
                f"{change.client.name}: {fill(change.client.next_step, {'name': change.name})}"
            )
    if steps or outcome.manual:
        OUT.result("")
        OUT.result("Next steps:")
    for step in steps:
        OUT.result(f"  • {step}")
    for item in outcome.manual:
        manual_steps(item, paths)


def manual_steps(item: dict[str, Any], paths: Paths) -> None:
    from dot_setup.ui import clipboard

    profile = get_client(item["client"])
    OUT.result(f"  • {profile.name}: {fill(profile.next_step, {})}")
    for i, step in enumerate(item["steps"], 1):
        OUT.result(f"      {i}. {step}")
    for label, value in item["fields"]:
        text = value if isinstance(value, str) else json.dumps(value)
        secret = REDACT(text) != text
        if "url" in label.lower() and clipboard.copy(text, paths):
            shown = "on your clipboard" + (
                " (it holds your token, so it is not shown)" if secret else f": {text}"
            )
            OUT.result(f"      {label}: {shown}")
        elif secret:
            saved = _save_secret(paths, profile.id, text)
            OUT.result(
                f"      {label}: holds your token, so it is not shown; saved in {saved} (mode 0600)"
            )
        else:
            OUT.result(f"      {label}: {text}")


def _save_secret(paths: Paths, client_id: str, text: str) -> str:
    from dot_setup.fs.fsio import write_atomic

    path = paths.state_dir / "connectors" / f"{client_id}.txt"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, (text + "\n").encode(), 0o600, None)
    return str(path)
