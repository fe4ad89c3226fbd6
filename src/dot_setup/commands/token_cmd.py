"""`dot-setup token create | revoke | status`: your MCP token, without the web page.

The token itself is written only to a 0600 file (create --output); status shows the masked
form, owner, region and expiry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dot_setup.commands.options import (
    JsonOpt,
    NoInputOpt,
    RegionOpt,
    ServerUrlOpt,
    ServiceOpt,
    TokenFileOpt,
    TokenStdinOpt,
    YesOpt,
    command_app,
)
from dot_setup.ui.console import OUT

app = command_app()
token_app = command_app(help="Create, revoke or inspect your MCP token.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create_command(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write the new token to (mode 0600).")
    ],
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    yes: YesOpt = False,
    no_input: NoInputOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Generate a new MCP token (this revokes the previous one: one active token per user)."""
    OUT.json_mode, OUT.command = json_out, "token create"
    from dot_setup.paths import Paths
    from dot_setup.signin.flow import Where, token_create

    where = Where(service, region, server_url)
    data = token_create(Paths.from_env(), where, output, yes, no_input or json_out)
    if json_out:
        OUT.envelope("ok", 0, data, [])
    raise typer.Exit(0 if data.get("created") else 1)


@token_app.command("revoke")
def revoke_command(
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    yes: YesOpt = False,
    no_input: NoInputOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Revoke your active MCP token (clients using it stop working)."""
    OUT.json_mode, OUT.command = json_out, "token revoke"
    from dot_setup.paths import Paths
    from dot_setup.signin.flow import Where, token_revoke

    where = Where(service, region, server_url)
    data = token_revoke(Paths.from_env(), where, yes, no_input or json_out)
    if json_out:
        OUT.envelope("ok", 0, data, [])


@token_app.command("status")
def status_command(
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    token_file: TokenFileOpt = None,
    token_stdin: TokenStdinOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Owner, region and expiry of your MCP token (or of one given by file, stdin or env)."""
    OUT.json_mode, OUT.command = json_out, "token status"
    from dot_setup.engine.auth import get_token
    from dot_setup.profiles.loader import get_service
    from dot_setup.signin.flow import Where, token_status

    given = get_token(get_service(service), token_stdin, token_file)
    from dot_setup.paths import Paths

    data = token_status(Paths.from_env(), Where(service, region, server_url), given)
    if json_out:
        OUT.envelope("ok", 0, data, [])
