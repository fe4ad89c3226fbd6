"""`dot-setup` with no command: the wizard. Every question it asks has one of these flags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dot_setup.commands.options import (
    Auth,
    ClientOpt,
    DryRunOpt,
    NameOpt,
    NoInputOpt,
    RegionOpt,
    ServerUrlOpt,
    ServiceOpt,
    TokenFileOpt,
    TokenStdinOpt,
    TokenTrapOpt,
    YesOpt,
    refuse_token_argument,
)
from dot_setup.errors import UsageError
from dot_setup.ui.console import OUT

if TYPE_CHECKING:
    from dot_setup.wizard.model import WizardOptions

NewTokenOpt = Annotated[
    bool,
    typer.Option(
        "--new-token", help="Sign in and generate a new MCP token (revokes the previous one)."
    ),
]
NoBrowserOpt = Annotated[
    bool,
    typer.Option("--no-browser", help="Sign in with a code on another device (device grant)."),
]


def _version(value: bool) -> None:
    if value:
        from dot_setup import __version__

        print(f"dot-setup {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    client: ClientOpt = None,
    all_detected: Annotated[
        bool, typer.Option("--all-detected", help="Every detected client.")
    ] = False,
    service: ServiceOpt = "dot",
    region: RegionOpt = None,
    server_url: ServerUrlOpt = None,
    auth: Annotated[
        Auth | None, typer.Option("--auth", help="oauth or token, for every chosen client.")
    ] = None,
    token_stdin: TokenStdinOpt = False,
    token_file: TokenFileOpt = None,
    new_token: NewTokenOpt = False,
    no_browser: NoBrowserOpt = False,
    name: NameOpt = None,
    show_diff: Annotated[
        bool, typer.Option("--show-diff", help="Show the (masked) diff of every file.")
    ] = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    no_input: NoInputOpt = False,
    token: TokenTrapOpt = None,
) -> None:
    """Run the setup wizard (with no command), or one of the commands below."""
    refuse_token_argument(token)
    if ctx.invoked_subcommand is not None:
        # A command runs: the wizard is not imported, and its answers may not be given.
        if any(p != "service" or service != "dot" for p in _given(ctx)):
            raise UsageError(
                f"wizard options were given before the `{ctx.invoked_subcommand}` command",
                f"put them after it: dot-setup {ctx.invoked_subcommand} --help lists its options",
            )
        return
    refuse_without_terminal(ctx, no_input)
    from dot_setup.wizard.model import WizardOptions

    options = WizardOptions(
        clients=client or [],
        all_detected=all_detected,
        service=service,
        region=region,
        server_url=server_url,
        auth=auth.value if auth else None,
        token_stdin=token_stdin,
        token_file=token_file,
        new_token=new_token,
        no_browser=no_browser,
        name=name,
        show_diff=show_diff,
        dry_run=dry_run,
        yes=yes,
        no_input=no_input,
    )
    OUT.command = "wizard"
    code = run_wizard(options)
    raise typer.Exit(code)


def _given(ctx: typer.Context) -> list[str]:
    """The wizard's answers given on the command line (not --version, --no-input, --token)."""
    return [
        p
        for p in ctx.params
        if p not in ("version", "no_input", "token")
        and getattr(ctx.get_parameter_source(p), "name", "DEFAULT") != "DEFAULT"
    ]


def refuse_without_terminal(ctx: typer.Context, no_input: bool) -> None:
    """A bare `dot-setup` with nobody to ask: exit 2 before importing the wizard."""
    from dot_setup.ui.terminal import interactive

    if not _given(ctx) and not interactive(no_input):
        from dot_setup.wizard.model import REFUSAL, REFUSAL_HINT

        raise UsageError(REFUSAL, REFUSAL_HINT)


def run_wizard(options: WizardOptions) -> int:
    from dot_setup.paths import Paths
    from dot_setup.wizard.flow import Wizard

    return Wizard(options, Paths.from_env()).run()
