"""`login`, `logout` and `token create|revoke|status`: dot-setup's own account commands.

Which server: --region or --server-url, else the one the last run used (`resolve_endpoint`). Tokens created
here go to a 0600 file (--output), never to the terminal; status shows the masked form only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dot_setup.engine.endpoint import Endpoint, remember, resolve_endpoint
from dot_setup.errors import AuthError, UsageError
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_service
from dot_setup.secrets import REDACT, TokenSource, mask
from dot_setup.signin.account import Account, SignInOptions
from dot_setup.signin.mcp_token import date
from dot_setup.ui.console import OUT
from dot_setup.ui.prompts import confirm
from dot_setup.ui.terminal import interactive


@dataclass(frozen=True)
class Where:
    service: str = "dot"
    region: str | None = None
    server_url: str | None = None


def target_for(where: Where, paths: Paths, token: TokenSource | None = None) -> Endpoint:
    """The flags, the token's region, else the server the last run used (`resolve_endpoint`)."""
    return resolve_endpoint(
        get_service(where.service),
        region=where.region,
        server_url=where.server_url,
        token=token,
        paths=paths,
    )


def _with_tokens(where: Where, paths: Paths, token: TokenSource | None = None) -> Endpoint:
    """The target of a `token` command: refused for a service that issues no MCP tokens."""
    service = get_service(where.service)
    if "token" not in service.auth:
        raise UsageError(
            f"{service.name} issues no MCP tokens: its clients sign in with OAuth",
            f"connect clients with `dot-setup install --service {where.service} --client ID`",
        )
    return target_for(where, paths, token)


def login(paths: Paths, where: Where, no_browser: bool) -> dict[str, Any]:
    target = target_for(where, paths)
    account = Account(paths, target.url, target.region)
    session = account.login(SignInOptions(no_browser=no_browser))
    remember(paths, target)
    OUT.message(f"Signed in to {session.issuer} as {session.account} ({session.region.upper()}).")
    OUT.message(f"The sign-in is kept in {account.store.location}; `dot-setup logout` removes it.")
    return {
        "issuer": session.issuer,
        "account": session.account,
        "region": session.region,
        "store": account.store.kind,
    }


def logout(paths: Paths, where: Where, everywhere: bool) -> dict[str, Any]:
    if everywhere:
        from dot_setup.signin.store import open_store

        store = open_store(paths)
        issuers = store.issuers()
        for issuer in issuers:
            Account(paths, issuer + "/ai/mcp", "", store).logout()
        OUT.message(f"Signed out of {len(issuers)} server(s).")
        return {"signed_out": issuers}
    target = target_for(where, paths)
    account = Account(paths, target.url, target.region)
    session = account.logout()
    if session is None:
        OUT.message(f"Not signed in to {target.url}: nothing to do.")
        return {"signed_out": []}
    OUT.message(
        f"Signed out of {session.issuer} ({session.account})"
        + ("; its refresh token was revoked." if account.revoked else ".")
    )
    return {"signed_out": [session.issuer]}


def _signed_in(account: Account, no_input: bool) -> str:
    token = account.access_token()
    if token:
        return token
    if not interactive(no_input):
        raise AuthError(
            f"dot-setup is not signed in to {account.issuer_guess}",
            "run `dot-setup login` first (on this machine, in a terminal)",
        )
    return account.login(SignInOptions()).access_token


def _confirm(question: str, yes: bool, no_input: bool) -> bool:
    return confirm(question, yes=yes, no_input=no_input, default=False, what="confirmation")


def token_create(
    paths: Paths, where: Where, output: Path, yes: bool, no_input: bool
) -> dict[str, Any]:
    from dot_setup.fs.fsio import check_writable
    from dot_setup.signin import api

    output = output.absolute()
    # Before signing in and generating: a new token revokes the current one, so one that
    # cannot be written anywhere would leave the user with none.
    target = _with_tokens(where, paths)
    check_writable(paths, output)
    account = Account(paths, target.url, target.region)
    access = _signed_in(account, no_input)
    status = api.mcp_token_status(target.url, access)
    if status.get("active"):
        OUT.warn(
            f"a new MCP token revokes your current one ({status.get('display')}, created "
            f"{date(int(status.get('created_at', 0)))}); clients using it stop working"
        )
        if not _confirm("Generate a new token and revoke the current one?", yes, no_input):
            OUT.message("nothing was changed")
            return {"created": False}
    body = api.create_mcp_token(target.url, access)
    token = str(body["token"])
    REDACT.add(token)
    _write_token(paths, output, token)
    OUT.message(
        f"Created MCP token {mask(token)} for {status.get('owner', '')} "
        f"({str(body.get('region') or target.region).upper()}), "
        f"valid until {date(int(body['expires_at']))}."
    )
    OUT.message(f"It was written to {output} (mode 0600); it is not shown again.")
    OUT.message(f"Use it with: dot-setup install --client ID --token-file {output}")
    return {
        "created": True,
        "display": mask(token),
        "file": str(output),
        "expires_at": int(body["expires_at"]),
        "replaced_previous": bool(body.get("replaced_previous")),
    }


def _write_token(paths: Paths, output: Path, token: str) -> None:
    from dot_setup.errors import WriteError
    from dot_setup.fs.fsio import write_atomic
    from dot_setup.signin.mcp_token import rescue

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, (token + "\n").encode(), 0o600, None)
    except OSError as exc:
        raise WriteError(f"{output}: {exc.strerror or exc}", rescue(paths, token)) from None


def token_revoke(paths: Paths, where: Where, yes: bool, no_input: bool) -> dict[str, Any]:
    from dot_setup.signin import api

    target = _with_tokens(where, paths)
    access = _signed_in(Account(paths, target.url, target.region), no_input)
    if not _confirm("Revoke your MCP token? Clients using it stop working.", yes, no_input):
        OUT.message("nothing was changed")
        return {"revoked": 0}
    n = api.revoke_mcp_token(target.url, access)
    OUT.message(f"Revoked {n} MCP token(s)." if n else "You had no active MCP token.")
    return {"revoked": n}


def token_status(paths: Paths, where: Where, given: TokenSource | None) -> dict[str, Any]:
    """The given token (stdin/file/env) if any, else the signed-in user's active token."""
    from dot_setup.signin import api

    target = _with_tokens(where, paths, given)  # a dot_mcp_eu_ token names its region
    if given is not None:
        info = api.token_info(target.url, given.token)
        data = {
            "source": given.origin,
            "kind": info.kind,
            "display": info.display,
            "owner": info.owner,
            "region": info.region,
            "expires_at": info.expires_at,
            "mcp_access": info.mcp_access,
        }
        _print_status(data)
        return data
    account = Account(paths, target.url, target.region)
    session = account.current()
    access = account.access_token() if session else None
    if access is None:
        raise AuthError(
            f"dot-setup is not signed in to {target.url}",
            "run `dot-setup login`, or check a token with --token-file / --token-stdin",
        )
    status = api.mcp_token_status(target.url, access)
    data = {
        "source": "account",
        "signed_in_as": session.account if session else "",
        "active": bool(status.get("active")),
        "owner": status.get("owner", ""),
        "region": status.get("region", ""),
        "display": status.get("display", ""),
        "expires_at": int(status.get("expires_at", 0)),
    }
    _print_status(data)
    return data


def _print_status(data: dict[str, Any]) -> None:
    if data.get("source") == "account" and not data.get("active"):
        OUT.result(f"{data['owner']} ({str(data['region']).upper()}) has no active MCP token.")
        return
    days = (int(data["expires_at"]) - time.time()) / 86400
    OUT.result(f"token    {data['display']}")
    if "kind" in data:
        OUT.result(
            f"kind     {data['kind']}" + ("" if data.get("mcp_access") else "  (no MCP access)")
        )
    OUT.result(f"owner    {data['owner']}")
    OUT.result(f"region   {str(data['region']).upper()}")
    OUT.result(f"expires  {date(int(data['expires_at']))} (in {int(days)} days)")
    if days < 30:
        OUT.warn("the token expires within 30 days; `dot-setup token create` makes a new one")
