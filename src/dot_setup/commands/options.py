"""The option types every command shares (one declaration each), and the trap for a token
given as an argument."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


def command_app(**settings: object) -> typer.Typer:
    """A command module's Typer app, with the root's settings: plain click help (rich is never
    imported) and no shell-completion options."""
    return typer.Typer(add_completion=False, rich_markup_mode=None, **settings)  # type: ignore[arg-type]


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
ServiceOpt = Annotated[
    str,
    typer.Option("--service", help="Service profile id (dot, doit), or a service profile file."),
]
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
    bool,
    typer.Option("--dry-run", "-n", help="Show what would change (masked diffs); write nothing."),
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


WindowsOpt = Annotated[
    bool,
    typer.Option(
        "--windows",
        help="Inside WSL: the Windows apps' config files (under /mnt/<drive>/Users), Windows shapes.",
    ),
]
