"""`dot-setup login`: sign dot-setup in to Dot (OAuth 2.1 + PKCE, or a code with --no-browser)."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import JsonOpt, RegionOpt, ServerUrlOpt, ServiceOpt, command_app
from dot_setup.ui.console import OUT

app = command_app()

NoBrowser = Annotated[
    bool, typer.Option("--no-browser", help="Sign in with a code on another device.")
]


@app.command("login")
def login_command(
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    no_browser: NoBrowser = False,
    json_out: JsonOpt = False,
) -> None:
    """Sign in, so the wizard and `token` can create MCP tokens for you."""
    OUT.json_mode, OUT.command = json_out, "login"
    from dot_setup.paths import Paths
    from dot_setup.signin.flow import Where, login

    data = login(Paths.from_env(), Where(service, region, server_url), no_browser)
    if json_out:
        OUT.envelope("ok", 0, data, [])
