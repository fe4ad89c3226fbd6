"""`dot-setup serve`: run the reference Dot MCP server (OAuth 2.1, MCP tokens, demo data)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dot_setup.commands.options import command_app
from dot_setup.ui.console import OUT

app = command_app()


class ServeRegion(StrEnum):
    us = "us"
    eu = "eu"
    all = "all"


@app.command("serve")
def serve_command(
    region: Annotated[
        ServeRegion,
        typer.Option("--region", help="us, eu, or all (both, each on its own port and database)."),
    ] = ServeRegion.us,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", help="Port (0 picks a free one; with --region all, EU uses the next port)."
        ),
    ] = 8765,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder for the databases and demo passwords.")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default: SQLite in --data-dir). postgresql://... works too; {region} is replaced by us/eu.",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="The server's public origin (issuer), e.g. https://dot.example.com; required off loopback.",
        ),
    ] = None,
    demo_password_file: Annotated[
        Path | None,
        typer.Option(
            "--demo-password-file",
            help="File with the demo users' password (else $DOT_SERVE_DEMO_PASSWORD, else generated).",
        ),
    ] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option(
            "--ready-file", help="Write the URLs here as JSON once the server accepts connections."
        ),
    ] = None,
    dev_no_auth: Annotated[
        bool,
        typer.Option(
            "--dev-no-auth",
            help="DEVELOPMENT ONLY: no authentication on /ai/mcp (calls run as the demo admin). Loopback only.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No access log.")] = False,
) -> None:
    """Run a local Dot: the MCP endpoint, OAuth sign-in, MCP tokens and a demo dataset."""
    OUT.command = "serve"
    from dot_setup.flows.serve import run_serve

    run_serve(
        region=region.value,
        host=host,
        port=port,
        data_dir=data_dir,
        db=db,
        public_url=public_url,
        demo_password_file=demo_password_file,
        ready_file=ready_file,
        dev_no_auth=dev_no_auth,
        quiet=quiet,
    )
