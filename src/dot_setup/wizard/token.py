"""The wizard's MCP token: read one given by stdin/file/env, take a pasted one, or plan one.

A given or pasted token is checked against the server before anything is written: a regular
API token, a sign-in (OAuth) token, a token of the other region or one the server does not
know is refused with the guide's message and the cause. Generating signs dot-setup in
(OAuth + PKCE, or the device grant) and is done only after the user confirmed the plan,
because a new token revokes the previous one (one active MCP token per user).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dot_setup.engine.endpoint import Endpoint, token_region
from dot_setup.errors import AuthError, NeedsInputError, TokenInputError
from dot_setup.profiles.schema import ServiceProfile
from dot_setup.secrets import REDACT, TokenSource
from dot_setup.signin.mcp_token import date
from dot_setup.ui.console import OUT
from dot_setup.ui.prompts import Prompter

PASTE_TRIES = 3


def token_page(service: ServiceProfile) -> str:
    """Where the service's app makes MCP tokens, for hints: `in Dot (Settings → Integrations)`."""
    return f"in {service.name}" + (f" ({service.token_page})" if service.token_page else "")


def _regular_api(service: ServiceProfile) -> TokenInputError:
    return TokenInputError(
        service.no_mcp_access_message,
        f"this is a regular API token; clients need an MCP token (made {token_page(service)}),"
        " or let dot-setup generate one",
    )


@dataclass
class TokenPlan:
    """Either a token in hand (given or pasted, already checked) or one to generate."""

    source: TokenSource | None = None
    generate: bool = False
    replaces: str = ""  # display of the active token a new one will revoke

    def placeholder(self, endpoint: Endpoint) -> TokenSource:
        """Stands in for the token to generate while the plan is previewed."""
        region = endpoint.region if endpoint.region in endpoint.service.regions else "us"
        fake = f"{endpoint.service.token_prefix}{region}_" + "x" * 40 + "new0"
        REDACT.add(fake)
        return TokenSource(fake, "to be generated")


def check_token(token: str, endpoint: Endpoint) -> str:
    """Ask the server about the token; returns a one-line description, raises if refused."""
    from dot_setup.signin import api

    api_prefix = endpoint.service.api_token_prefix
    if api_prefix and token.startswith(api_prefix):
        raise _regular_api(endpoint.service)
    local = token_region(endpoint.service, token)
    if local and endpoint.region in endpoint.service.regions and local != endpoint.region:
        raise WrongRegion(local)
    info = api.token_info(endpoint.url, token)
    if info.kind == "api_token":
        raise _regular_api(endpoint.service)
    if info.kind == "oauth_access":
        raise TokenInputError(
            "this is a sign-in (OAuth) token that expires within the hour, not an MCP token",
            f"paste an MCP token (it starts with {endpoint.service.token_prefix}), or let dot-setup"
            " generate one",
        )
    if not info.mcp_access:
        raise TokenInputError(
            endpoint.service.no_mcp_access_message,
            f"{info.owner} has no MCP access; ask a {endpoint.service.name} admin",
        )
    return f"MCP token {info.display} of {info.owner}, {info.region.upper()}, valid until {date(info.expires_at)}"


class WrongRegion(TokenInputError):
    def __init__(self, region: str) -> None:
        super().__init__(
            f"this token is for the {region.upper()} region",
            f"choose region {region}, or use a token from the region you chose",
        )
        self.region = region


def given_token(source: TokenSource, endpoint: Endpoint) -> TokenPlan:
    OUT.message(f"Checking the token from {source.origin} ...")
    OUT.message(f"  {check_token(source.token, endpoint)}")
    return TokenPlan(source=source)


def ask_token(
    prompter: Prompter, endpoint: Endpoint, switch_region: Callable[[str], Endpoint | None]
) -> tuple[TokenPlan, Endpoint]:
    """Interactive: generate (sign in) or paste; a pasted token is checked, up to 3 tries."""
    service = endpoint.service
    generate = f"Sign in to {service.name} and generate a new MCP token (recommended)"
    paste = "Paste an MCP token I already have"
    if (
        prompter.select(
            "The token clients need: how do you want to get it?", [generate, paste], generate
        )
        == generate
    ):
        return TokenPlan(generate=True), endpoint
    for attempt in range(1, PASTE_TRIES + 1):
        where = f"{service.token_page} in {service.name}" if service.token_page else service.name
        raw = prompter.secret(f"MCP token (hidden; {where}):").strip()
        if not raw:
            OUT.message("no token was entered")
            continue
        REDACT.add(raw)
        try:
            OUT.message(f"  {check_token(raw, endpoint)}")
            return TokenPlan(source=TokenSource(raw, "pasted")), endpoint
        except WrongRegion as exc:
            OUT.message(f"error: {exc.message}", "red")
            moved = switch_region(exc.region)
            if moved is not None:
                endpoint = moved
                try:  # the other region's server may refuse it too: one more failed try
                    OUT.message(f"  {check_token(raw, endpoint)}")
                    return TokenPlan(source=TokenSource(raw, "pasted")), endpoint
                except (AuthError, TokenInputError) as again:
                    _refused(again)
        except (AuthError, TokenInputError) as exc:
            _refused(exc)
        if attempt < PASTE_TRIES:
            OUT.message(f"Try again ({PASTE_TRIES - attempt} left), or press Ctrl-C to stop.")
    raise TokenInputError(
        f"no valid MCP token after {PASTE_TRIES} tries",
        f"generate a new token {token_page(service)}, or run `dot-setup` and choose to sign in",
    )


def _refused(exc: AuthError | TokenInputError) -> None:
    OUT.message(f"error: {exc.message}", "red")
    if exc.hint:
        OUT.message(f"hint: {exc.hint}")


def non_interactive(source: TokenSource | None, new_token: bool, endpoint: Endpoint) -> TokenPlan:
    if source is not None:
        return given_token(source, endpoint)
    if new_token:
        return TokenPlan(generate=True)
    raise NeedsInputError(
        "--new-token, --token-stdin or --token-file", f"an MCP token for {endpoint.service.name}"
    )
