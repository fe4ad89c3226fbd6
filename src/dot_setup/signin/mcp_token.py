"""MCP tokens dot-setup generates for the user (the wizard, `token create`): a new one revokes
the previous one (one active MCP token per user), so a generated token must never be lost."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dot_setup.engine.endpoint import Endpoint
from dot_setup.errors import AuthError
from dot_setup.paths import Paths
from dot_setup.secrets import REDACT, TokenSource, mask
from dot_setup.ui.console import OUT

if TYPE_CHECKING:
    from dot_setup.signin.account import Account


def date(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def active_token(account: Account, endpoint: Endpoint) -> str:
    """The display of the user's active MCP token ("" if none), for the revoke warning."""
    from dot_setup.signin import api

    token = account.access_token()
    if token is None:
        return ""
    status = api.mcp_token_status(endpoint.url, token)
    if not status.get("active"):
        return ""
    return f"{status.get('display', '')}, created {date(int(status.get('created_at', 0)))}"


def keep_new_token(paths: Paths, token: str) -> Path:
    """A generated token whose destination could not be written: it revoked the previous
    one, so it must not be lost. Kept in a 0600 file in the state dir; the path is printed."""
    from dot_setup.fs.fsio import private_dir, write_atomic

    folder = paths.state_dir / "tokens"
    private_dir(folder)
    path = folder / f"mcp-token-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.txt"
    write_atomic(path, (token + "\n").encode(), 0o600, None)
    return path


def rescue(paths: Paths, token: str) -> str:
    """keep_new_token, as the hint of the error that made it necessary."""
    try:
        kept = keep_new_token(paths, token)
    except OSError as exc:
        return f"the new token could not be kept either ({exc.strerror}): generate another one"
    OUT.message(f"The new MCP token was kept in {kept} (mode 0600).", "yellow")
    return f"fix the cause, then: dot-setup install --client ID --token-file {kept}"


def generate(account: Account, endpoint: Endpoint) -> TokenSource:
    from dot_setup.signin import api

    access = account.access_token()
    if access is None:
        raise AuthError("the sign-in ended before the token was generated", "run `dot-setup` again")
    body = api.create_mcp_token(endpoint.url, access)
    token = str(body["token"])
    REDACT.add(token)
    OUT.message(f"Generated MCP token {mask(token)} (valid until {date(int(body['expires_at']))})")
    return TokenSource(token, "generated")
