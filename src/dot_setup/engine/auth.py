"""What several commands share: choosing the service, region and URL, auth, and confirmation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dot_setup.engine.endpoint import check_url
from dot_setup.engine.render import Connection
from dot_setup.errors import NeedsInputError, UsageError
from dot_setup.profiles.loader import get_service
from dot_setup.profiles.schema import ClientProfile, ServiceProfile
from dot_setup.secrets import TokenSource, read_token
from dot_setup.ui.terminal import interactive

__all__ = ["check_url", "interactive"]


def token_region(service: ServiceProfile, token: str | TokenSource | None) -> str | None:
    """MCP tokens carry their region after the prefix: dot_mcp_eu_... belongs to eu."""
    if isinstance(token, TokenSource):
        token = token.token
    if not token or not service.token_prefix or not token.startswith(service.token_prefix):
        return None
    rest = token[len(service.token_prefix) :]
    region = rest.split("_", 1)[0]
    return region if region in service.regions else None


@dataclass(frozen=True)
class Target:
    service: ServiceProfile
    url: str
    region: str  # region id, or "custom" for --server-url


def choose_server(
    service_id: str, region: str | None, server_url: str | None, token: TokenSource | None
) -> Target:
    service = get_service(service_id)
    if server_url and region:
        raise UsageError("--region and --server-url both given", "use one of them")
    if server_url:
        return Target(service, check_url(server_url), "custom")
    from_token = token_region(service, token.token) if token else None
    if region is None:
        region = from_token
    if region is None and len(service.regions) == 1:
        region = next(iter(service.regions))
    if region is None:
        choices = "|".join(service.regions)
        raise NeedsInputError(f"--region {choices}", f"the {service.name} region")
    if region not in service.regions:
        raise UsageError(
            f"unknown region {region!r} for {service.name}",
            f"use one of: {', '.join(service.regions)}",
        )
    if from_token and from_token != region:
        raise UsageError(
            f"the token is for region {from_token} but --region is {region}",
            f"use --region {from_token}: a token only works in the region that issued it",
        )
    return Target(service, service.regions[region].url, region)


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
    target: Target,
    auth: str,
    name: str,
    token: TokenSource | None,
    token_env: str,
    transport: str,
) -> Connection:
    return Connection(
        service=target.service,
        url=target.url,
        auth=auth,
        name=name,
        token=token.token if (token and auth == "token") else None,
        token_env=token_env if auth == "token" else "",
        transport=transport,
    )
