"""How each client signs in: the auth modes a client can use with a service, the one chosen,
the MCP token given (stdin, file or the service's variable), and the connection to render."""

from __future__ import annotations

import os
from pathlib import Path

from dot_setup.engine.endpoint import Endpoint
from dot_setup.engine.render import Connection
from dot_setup.errors import UsageError
from dot_setup.profiles.schema import ClientProfile, ServiceProfile
from dot_setup.secrets import TokenSource, read_token


def get_token(
    service: ServiceProfile, token_stdin: bool, token_file: Path | None
) -> TokenSource | None:
    return read_token(
        stdin=token_stdin, file=token_file, env_name=service.token_env, env=os.environ
    )


def allowed_auth(client: ClientProfile, service: ServiceProfile) -> list[str]:
    rule = service.clients.get(client.id)
    modes = list(rule.auth) if rule and rule.auth else list(service.auth)
    if not client.oauth:
        modes = [m for m in modes if m != "oauth"]
    return modes


def choose_auth(
    client: ClientProfile, service: ServiceProfile, requested: str | None, has_token: bool
) -> str:
    modes = allowed_auth(client, service)
    if requested:
        if requested not in modes:
            why = "" if client.oauth or requested != "oauth" else f"{client.name} has no OAuth; "
            raise UsageError(
                f"{client.name} cannot use --auth {requested} with {service.name}",
                f"{why}it supports: {', '.join(modes) or 'nothing'}",
            )
        return requested
    if has_token and "token" in modes:
        return "token"
    if not modes:
        raise UsageError(f"{client.name} cannot connect to {service.name}", "")
    return modes[0]


def parse_token_ref(value: str | None) -> str:
    if not value:
        return ""
    kind, _, name = value.partition(":")
    if kind != "env" or not name.replace("_", "").isalnum() or name[0].isdigit():
        raise UsageError(
            f"--token-ref {value!r} is not of the form env:NAME",
            "e.g. --token-ref env:DOT_MCP_TOKEN",
        )
    return name


def connection(
    endpoint: Endpoint,
    auth: str,
    name: str,
    token: TokenSource | None,
    token_env: str,
    transport: str,
) -> Connection:
    return Connection(
        service=endpoint.service,
        url=endpoint.url,
        auth=auth,
        name=name,
        token=token.token if (token and auth == "token") else None,
        token_env=token_env if auth == "token" else "",
        transport=transport,
    )
