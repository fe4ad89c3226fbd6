"""Credentials: each MCP token in use (kind, validity, region, expiry) and dot-setup's own sign-in.

`judge_token` maps the connect guide's messages to their causes: "Invalid API token" (not the
whole token, revoked, replaced by a newer one, or meant for the other region's URL) and "Token
does not have required MCP access" (a regular API token, or an account without MCP access).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from dot_setup.doctor.context import Context
from dot_setup.doctor.model import Check, Remediation, Result, failed, passed, skipped, warned
from dot_setup.doctor.probe import probe_of
from dot_setup.errors import DotSetupError, NetworkError
from dot_setup.secrets import REDACT, mask

EXPIRY_WARN_DAYS = 30


def new_token_fix(ctx: Context, client_id: str = "ID") -> Remediation:
    where = (
        f"{ctx.service.name}: {ctx.service.token_page}"
        if ctx.service.token_page
        else ctx.service.name
    )
    return Remediation(
        f"generate a new MCP token (in {where}, or let dot-setup do it; a new token revokes the"
        " previous one) and write it to the clients",
        (f"dot-setup --client {client_id} --new-token",),
    )


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def judge_token(ctx: Context, token: str, url: str, client_id: str = "ID") -> Result:
    """What is wrong with a token used against `url`, in the guide's words plus the cause."""
    REDACT.add(token)
    service = ctx.service
    shown = mask(token)
    if service.api_token_prefix and token.startswith(service.api_token_prefix):
        return failed(
            f"{ctx.service.no_mcp_access_message}: {shown} is a regular API token, not an MCP token",
            new_token_fix(ctx, client_id),
            kind="api_token",
        )
    region, _ = ctx.region_of(url)
    prefix = service.token_prefix
    token_region = ""
    if prefix and token.startswith(prefix):
        token_region = token[len(prefix) :].split("_", 1)[0]
    if region and token_region in service.regions and token_region != region.id:
        return failed(
            f"{ctx.service.invalid_token_message}: {shown} is an {token_region.upper()} token but the client uses the"
            f" {region.id.upper()} URL",
            Remediation(
                f"use the {token_region.upper()} {service.name} URL, the host you sign in to"
                f" {service.name} with",
                (f"dot-setup install --client {client_id} --region {token_region} --token-stdin",),
                auto_fixable=True,
            ),
            kind="mcp_token",
            token_region=token_region,
            url_region=region.id,
        )
    probe = probe_of(ctx, url)
    if not probe.reachable:
        return skipped(f"{shown} not checked: {probe.host} not reached")
    key = "token:" + hashlib.sha256(f"{url}|{token}".encode()).hexdigest()
    return ctx.once(key, lambda: _ask_server(ctx, token, url, client_id))


def _ask_server(ctx: Context, token: str, url: str, client_id: str) -> Result:
    from dot_setup.signin import api

    shown = mask(token)
    try:
        info = api.token_info(url, token)
    except api.TokenRejected as exc:
        details = [exc.hint] if exc.hint else []
        length = ctx.service.token_length
        if length and token.startswith(ctx.service.token_prefix) and len(token) < length:
            details.insert(
                0,
                f"the token has {len(token)} of {length} characters: it was not copied completely",
            )
        return failed(
            f"{ctx.service.invalid_token_message}: the server refused {shown}",
            new_token_fix(ctx, client_id),
            *details,
        )
    except NetworkError as exc:
        return skipped(f"{shown} not checked: {exc.message}")
    if info.kind == "api_token":
        return failed(
            f"{ctx.service.no_mcp_access_message}: {shown} is a regular API token",
            new_token_fix(ctx, client_id),
        )
    if not info.mcp_access:
        return failed(
            f"{ctx.service.no_mcp_access_message}: {info.owner} has no MCP access",
            Remediation(f"ask a {ctx.service.name} admin to enable MCP for the account"),
        )
    if info.kind == "oauth_access":
        return warned(
            f"{shown} is a sign-in (OAuth) access token that expires within the hour",
            new_token_fix(ctx, client_id),
        )
    # The server enforces the expiry by its own clock (the Date header), not this machine's.
    left = info.expires_at - (probe_of(ctx, url).server_time or time.time())
    summary = f"MCP token {info.display} of {info.owner} ({info.region.upper()})"
    if left < EXPIRY_WARN_DAYS * 86400:
        return warned(
            f"{summary} expires on {_date(info.expires_at)}, in {max(int(left // 86400), 0)} days",
            new_token_fix(ctx, client_id),
            expires_at=info.expires_at,
        )
    return passed(f"{summary}, valid until {_date(info.expires_at)}", expires_at=info.expires_at)


def check_env_token(ctx: Context) -> Result:
    name = ctx.service.token_env
    token = ctx.env.get(name, "").strip()
    if not token:
        return skipped(f"{name} is not set")
    return judge_token(ctx, token, ctx.endpoints()[0])


def check_signin(ctx: Context) -> Result:
    from dot_setup.signin.account import Account

    url = ctx.endpoints()[0]
    region, _ = ctx.region_of(url)
    account = Account(ctx.paths, url, region.id if region else "custom")
    try:
        session = account.current()
    except DotSetupError as exc:
        return failed(f"dot-setup's sign-in cannot be read: {exc.message}", Remediation(exc.hint))
    if session is None:
        return skipped("dot-setup is not signed in (needed only to generate tokens)")
    if not probe_of(ctx, url).reachable:
        return skipped("not checked: the server was not reached")
    relogin = Remediation(
        "sign dot-setup in again (the browser opens; `--no-browser` gives a code)",
        ("dot-setup login",),
    )
    try:
        token = account.access_token()
    except DotSetupError as exc:
        return failed(f"dot-setup's sign-in could not be refreshed: {exc.message}", relogin)
    if token is None:
        return warned(
            f"dot-setup's sign-in as {session.account or 'you'} has ended"
            " (password changed, revoked, or a year passed)",
            relogin,
        )
    from dot_setup.signin import api

    try:
        me = api.me(url, token)
    except DotSetupError as exc:
        return warned(
            f"dot-setup's sign-in was refused: {exc.message}",
            relogin,
            *([exc.hint] if exc.hint else []),
        )
    return passed(f"dot-setup is signed in as {me.get('email', session.account)}")


def checks(ctx: Context) -> list[Check]:
    return [
        Check("auth.signin", "dot-setup's own sign-in", "auth", check_signin),
        Check("auth.token-env", f"MCP token in ${ctx.service.token_env}", "auth", check_env_token),
    ]
