"""`dot-setup install`: write the Dot entry into clients' config files, without prompts.

For CI scripts and device management: every answer is a flag; a missing answer without a
terminal is exit 2 naming the flag. The token comes from --token-stdin, --token-file or the
service's variable (DOT_MCP_TOKEN for Dot), never from an argument.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import (
    Auth,
    ClientOpt,
    DryRunOpt,
    JsonOpt,
    NameOpt,
    NoInputOpt,
    ProjectOpt,
    RegionOpt,
    Scope,
    ScopeOpt,
    ServerUrlOpt,
    ServiceOpt,
    TokenFileOpt,
    TokenStdinOpt,
    TokenTrapOpt,
    Transport,
    WindowsOpt,
    YesOpt,
    command_app,
    refuse_token_argument,
)
from dot_setup.ui.console import OUT

app = command_app()


@app.command("install")
def install_command(
    client: ClientOpt = None,
    all_detected: Annotated[
        bool, typer.Option("--all-detected", help="Every detected client with a config file.")
    ] = False,
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    auth: Annotated[
        Auth | None, typer.Option("--auth", help="oauth (client signs in) or token.")
    ] = None,
    token_file: TokenFileOpt = None,
    token_stdin: TokenStdinOpt = False,
    token_ref: Annotated[
        str | None,
        typer.Option("--token-ref", help="env:NAME: write a reference to $NAME, not the token."),
    ] = None,
    scope: ScopeOpt = Scope.user,
    project_dir: ProjectOpt = None,
    name: NameOpt = None,
    transport: Annotated[
        Transport, typer.Option("--transport", help="http, stdio (mcp-remote) or auto.")
    ] = Transport.auto,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a file that does not parse (after a backup).")
    ] = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    windows: WindowsOpt = False,
    json_out: JsonOpt = False,
    no_input: NoInputOpt = False,
    token: TokenTrapOpt = None,
) -> None:
    """Connect clients to the service by writing their config files."""
    OUT.json_mode, OUT.command = json_out, "install"
    refuse_token_argument(token)
    from dot_setup.flows.install import InstallRequest, run_install
    from dot_setup.paths import Paths

    request = InstallRequest(
        clients=client or [],
        all_detected=all_detected,
        service=service,
        region=region,
        server_url=server_url,
        auth=auth.value if auth else None,
        token_file=token_file,
        token_stdin=token_stdin,
        token_ref=token_ref,
        scope=scope.value,
        name=name,
        transport=transport.value,
        force=force,
        dry_run=dry_run,
        yes=yes,
        no_input=no_input or json_out,
    )
    code = run_install(request, Paths.from_env(project=project_dir).side(windows))
    raise typer.Exit(code)
