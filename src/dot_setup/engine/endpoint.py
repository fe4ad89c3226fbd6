"""Which MCP server a command talks to: one rule for every command.

`resolve_endpoint` decides from, in this order: `--server-url`; `--region`; the region an MCP
token names (`dot_mcp_eu_...`); the server the last run used (for the commands that remember);
the service's only region; its default region (for the commands that may assume one); else the
user is asked for `--region` (exit 2, naming the flag). The wizard asks the same question in the
terminal, with the remembered server preselected.

A URL a user types is checked here too (`check_url`): it is written into other programs' config
files and onto command lines (`cmd /c npx mcp-remote URL` on Windows) and shown in messages, so it
must be one plain http(s) URL: no user:password (it would be printed and stored in clear), no
whitespace or control characters, no fragment, and plain http only to this machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from dot_setup.errors import NeedsInputError, UsageError
from dot_setup.paths import Paths
from dot_setup.profiles.schema import ServiceProfile
from dot_setup.secrets import TokenSource

CUSTOM = "custom"  # the region of an endpoint given by its URL
LOOPBACK = ("127.0.0.1", "localhost", "::1")
EXAMPLE = "e.g. https://app.getdot.ai/ai/mcp"
_CONTROL_OR_SPACE = re.compile(
    r"[\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]"
)


@dataclass(frozen=True)
class Endpoint:
    """The MCP server: its service, its URL, and its region (or CUSTOM for a URL given)."""

    service: ServiceProfile
    url: str
    region: str


def token_region(service: ServiceProfile, token: str | TokenSource | None) -> str | None:
    """MCP tokens carry their region after the prefix: dot_mcp_eu_... belongs to eu."""
    if isinstance(token, TokenSource):
        token = token.token
    if not token or not service.token_prefix or not token.startswith(service.token_prefix):
        return None
    region = token[len(service.token_prefix) :].split("_", 1)[0]
    return region if region in service.regions else None


def resolve_endpoint(
    service: ServiceProfile,
    *,
    region: str | None = None,
    server_url: str | None = None,
    token: TokenSource | None = None,
    paths: Paths | None = None,
    default: bool = False,
) -> Endpoint:
    """The endpoint by the rule above. `paths` given: the remembered server counts;
    `default`: the service's default region may be assumed."""
    if server_url and region:
        raise UsageError("--region and --server-url both given", "use one of them")
    if server_url:
        return Endpoint(service, check_url(server_url), CUSTOM)
    from_token = token_region(service, token)
    if region is None and from_token is None and paths is not None:
        last = remembered(paths, service)
        if last is not None:
            return last
    region = region or from_token
    if region is None and (len(service.regions) == 1 or default):
        region = service.default_region if default else next(iter(service.regions))
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
    return Endpoint(service, service.regions[region].url, region)


def remember(paths: Paths, endpoint: Endpoint) -> None:
    """Remember the region, or the custom server URL, for the next run."""
    from dot_setup.engine import remembered as memory

    if endpoint.region in endpoint.service.regions:
        memory.save(paths, endpoint.service.id, region=endpoint.region, server_url="")
    else:
        memory.save(paths, endpoint.service.id, server_url=endpoint.url, region="")


def remembered(paths: Paths, service: ServiceProfile) -> Endpoint | None:
    """The endpoint of the last run, if it is still valid for this service (a stale region or
    a hand-edited URL is ignored)."""
    from dot_setup.engine import remembered as memory

    last = memory.load(paths, service.id)
    try:
        if last.get("server_url"):
            return Endpoint(service, check_url(last["server_url"]), CUSTOM)
    except UsageError:
        return None
    if last.get("region") in service.regions:
        region = last["region"]
        return Endpoint(service, service.regions[region].url, region)
    return None


def shown(url: str) -> str:
    """The URL as it may appear in a message: userinfo hidden, control characters escaped."""
    try:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            host = parts.netloc.rsplit("@", 1)[1]
            url = urlunsplit(parts._replace(netloc=f"***@{host}"))
    except ValueError:
        pass
    text = url.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 120 else text[:117] + "..."


def check_url(url: str, what: str = "--server-url") -> str:
    """The URL, normalised (no trailing slash on a path), or a UsageError (exit 2)."""
    bad = _problem(url)
    if bad:
        message, hint = bad
        raise UsageError(f"{what} '{shown(url)}' {message}", hint)
    parts = urlsplit(url)
    return url.rstrip("/") if parts.path not in ("", "/") else url


def _problem(url: str) -> tuple[str, str] | None:
    if _CONTROL_OR_SPACE.search(url):
        return "contains whitespace or control characters", "give the URL alone, on one line"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError:
        return "is not a valid URL", EXAMPLE
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL", EXAMPLE
    if "@" in parts.netloc:
        return (
            "holds a user name or password",
            "remove the user:password@ part; clients sign in with OAuth or an MCP token",
        )
    if parts.fragment or url.endswith("#"):
        return "has a #fragment", "remove the part from # on"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        return (
            "uses plain http to a remote host",
            "use https (plain http is only for a local server on 127.0.0.1)",
        )
    return None
