"""`dot-setup install`: write the Dot entry into clients' config files, without prompts.

For CI scripts and device management: every answer is a flag; a missing answer without a
terminal is exit 2 naming the flag. The token comes from --token-stdin, --token-file or the
service's variable (DOT_MCP_TOKEN for Dot), never from an argument.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dot_setup.ui.console import OUT

app = typer.Typer()


class Scope(StrEnum):
    user = "user"
    project = "project"


class Auth(StrEnum):
    oauth = "oauth"
    token = "token"


class Transport(StrEnum):
    auto = "auto"
    http = "http"
    stdio = "stdio"


ClientOpt = Annotated[
    list[str] | None,
    typer.Option("--client", "-c", help="Client id (repeatable); see `dot-setup list`."),
]
ServiceOpt = Annotated[str, typer.Option("--service", help="Service profile id.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Service region, e.g. us or eu.")]
ServerUrlOpt = Annotated[
    str | None, typer.Option("--server-url", help="MCP URL of a self-hosted or local server.")
]
TokenFileOpt = Annotated[
    Path | None, typer.Option("--token-file", help="Read the MCP token from this file.")
]
TokenStdinOpt = Annotated[
    bool, typer.Option("--token-stdin", help="Read the MCP token from stdin.")
]
ScopeOpt = Annotated[Scope, typer.Option("--scope", help="user (default) or project config.")]
ProjectOpt = Annotated[
    Path | None, typer.Option("--project-dir", help="Project folder for --scope project.")
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Server name in the client's config.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", "-n", help="Show redacted diffs; write nothing.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON envelope on stdout.")]
NoInputOpt = Annotated[bool, typer.Option("--no-input", help="Never prompt.")]
TokenTrapOpt = Annotated[str | None, typer.Option("--token", hidden=True)]


def refuse_token_argument(value: str | None) -> None:
    if value is not None:
        from dot_setup.errors import TokenInputError
        from dot_setup.secrets import REDACT

        REDACT.add(value)
        raise TokenInputError(
            "tokens are never taken as command-line arguments (other users can read them)",
            "use --token-stdin, --token-file PATH, or the DOT_MCP_TOKEN variable",
        )


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
    json_out: JsonOpt = False,
    no_input: NoInputOpt = False,
    token: TokenTrapOpt = None,
) -> None:
    """Connect clients to the service by writing their config files."""
    OUT.json_mode, OUT.command = json_out, "install"
    refuse_token_argument(token)
    from dot_setup.flows.install import InstallRequest, run_install

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
        project_dir=project_dir,
        name=name,
        transport=transport.value,
        force=force,
        dry_run=dry_run,
        yes=yes,
        no_input=no_input or json_out,
    )
    code = run_install(request)
    raise typer.Exit(code)
