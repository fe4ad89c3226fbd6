"""`dot-setup logout`: revoke dot-setup's sign-in at the server and forget it here."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import JsonOpt, RegionOpt, ServerUrlOpt, ServiceOpt, command_app
from dot_setup.ui.console import OUT

app = command_app()


@app.command("logout")
def logout_command(
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    everywhere: Annotated[
        bool, typer.Option("--all", help="Sign out of every server dot-setup is signed in to.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Sign out (client configs and MCP tokens already written are not touched)."""
    OUT.json_mode, OUT.command = json_out, "logout"
    from dot_setup.paths import Paths
    from dot_setup.signin.flow import Where, logout

    data = logout(Paths.from_env(), Where(service, region, server_url), everywhere)
    if json_out:
        OUT.envelope("ok", 0, data, [])
