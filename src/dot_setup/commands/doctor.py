"""`dot-setup doctor`: find what stops a client from reaching Dot, and fix what is safe to fix."""

from __future__ import annotations

from typing import Annotated

import typer

from dot_setup.commands.options import (
    ClientOpt,
    JsonOpt,
    NameOpt,
    NoInputOpt,
    RegionOpt,
    ServerUrlOpt,
    ServiceOpt,
    WindowsOpt,
    YesOpt,
    command_app,
)
from dot_setup.ui.console import OUT

app = command_app()


@app.command("doctor")
def doctor_command(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Check ids to run (a prefix like client.cursor or a glob); default all."
        ),
    ] = None,
    client: ClientOpt = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the checks and exit.")] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Apply the safe fixes (asks first; --yes in scripts).")
    ] = False,
    yes: YesOpt = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the run too.")] = False,
    symptom: Annotated[
        str | None,
        typer.Option("--symptom", help='A message you saw, e.g. "Invalid API token".'),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds each network check may take.")
    ] = 10.0,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show skipped checks and all details.")
    ] = False,
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    name: NameOpt = None,
    no_input: NoInputOpt = False,
    windows: WindowsOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Diagnose every client's Dot setup (exit 0: no failures; 1: failures)."""
    OUT.json_mode, OUT.command = json_out, "doctor"
    from dot_setup.doctor.run import DoctorRequest, run_doctor
    from dot_setup.ui.terminal import interactive

    request = DoctorRequest(
        ids=list(ids or []),
        clients=list(client or []),
        service=service,
        region=region,
        server_url=server_url,
        name=name,
        symptom=symptom,
        timeout=timeout,
        list_only=list_only,
        fix=fix,
        yes=yes,
        strict=strict,
        verbose=verbose,
        interactive=interactive(no_input or json_out),
    )
    from dot_setup.paths import Paths

    raise typer.Exit(run_doctor(request, Paths.from_env().side(windows)))
