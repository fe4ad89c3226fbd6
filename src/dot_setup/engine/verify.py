"""After writing: every file read back holds the planned entry, and the endpoint answers.

Where dot-setup holds a credential (the MCP token it wrote, or its own sign-in for OAuth
clients) it connects to the MCP endpoint with the real SDK client and lists the tools; without
one it checks that the server offers OAuth, which is what an OAuth client meets first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dot_setup.engine.changes import Change, current_entry
from dot_setup.engine.endpoint import Endpoint
from dot_setup.engine.render import entry_matches
from dot_setup.errors import DotSetupError
from dot_setup.secrets import TokenSource, mask
from dot_setup.ui.console import OUT

if TYPE_CHECKING:
    from dot_setup.engine.connect import CheckResult


def verify_files(changes: list[Change]) -> bool:
    ok = True
    for change in changes:
        if change.entry is None:
            continue
        try:
            entries = current_entry(change.target, change.path)
            found = entries.get(change.name) if isinstance(entries, Mapping) else None
        except DotSetupError as exc:  # reported; the write itself already succeeded
            ok = False
            OUT.message(
                f"  ✗ {change.client.name}: {change.path} cannot be read back: {exc.message}",
                "red",
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


def verify_connection(
    endpoint: Endpoint,
    changes: list[Change],
    in_app: bool,
    token: TokenSource | None,
    account_token: str | None,
) -> bool:
    """Connect with the token written; for OAuth clients (and in-app ones without a token)
    with dot-setup's own sign-in, else check that the endpoint offers OAuth."""
    from dot_setup.engine.connect import list_tools

    oauth = any(c.shape.endswith("oauth") for c in changes)
    ok = True
    if token is not None:
        ok = _report(f"MCP token {mask(token.token)}", list_tools(endpoint.url, token.token))
    if oauth or (in_app and token is None):
        if account_token:
            result = list_tools(endpoint.url, account_token)
            ok = _report("your dot-setup sign-in (as the OAuth clients will)", result) and ok
        else:
            ok = _oauth_offered(endpoint.url) and ok
    return ok


def _report(what: str, result: CheckResult) -> bool:
    if result.ok:
        names = ", ".join(result.tools[:4]) + (", ..." if len(result.tools) > 4 else "")
        OUT.message(f"  ✓ connected with {what}: {len(result.tools)} tools ({names})")
        return True
    OUT.message(f"  ✗ could not connect with {what}: {result.reason}", "red")
    OUT.message("    run `dot-setup doctor` for a diagnosis")
    return False


def _oauth_offered(url: str) -> bool:
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
