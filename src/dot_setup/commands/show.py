"""`dot-setup show`: the exact block, command, install link or UI steps for one client.

On screen the token is masked; the clipboard (where one is available) gets the real value.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import (
    Auth,
    JsonOpt,
    NameOpt,
    ProjectOpt,
    RegionOpt,
    Scope,
    ScopeOpt,
    ServerUrlOpt,
    ServiceOpt,
    TokenFileOpt,
    TokenStdinOpt,
    TokenTrapOpt,
    WindowsOpt,
    command_app,
    refuse_token_argument,
)
from dot_setup.ui.console import OUT

app = command_app()


@app.command("show")
def show_command(
    client: Annotated[str, typer.Option("--client", "-c", help="Client id.")],
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    auth: Annotated[Auth | None, typer.Option("--auth", help="oauth or token.")] = None,
    token_file: TokenFileOpt = None,
    token_stdin: TokenStdinOpt = False,
    scope: ScopeOpt = Scope.user,
    project_dir: ProjectOpt = None,
    name: NameOpt = None,
    clipboard: Annotated[
        bool, typer.Option("--clipboard/--no-clipboard", help="Copy the value to paste.")
    ] = True,
    link: Annotated[
        bool,
        typer.Option("--link", help="Print only the client's install link(s), e.g. Add to Cursor."),
    ] = False,
    windows: WindowsOpt = False,
    json_out: JsonOpt = False,
    token: TokenTrapOpt = None,
) -> None:
    """Show what to paste into a client (config block, URL, or UI steps)."""
    OUT.json_mode, OUT.command = json_out, "show"
    refuse_token_argument(token)
    from dot_setup.flows.show import show_client
    from dot_setup.paths import Paths

    show_client(
        Paths.from_env(project=project_dir).side(windows),
        client_id=client,
        service_id=service,
        region=region,
        server_url=server_url,
        auth=auth.value if auth else None,
        token_file=token_file,
        token_stdin=token_stdin,
        scope=scope.value,
        name=name,
        clipboard=clipboard and not json_out and not link,
        link_only=link,
    )
