"""The Dot server: it speaks Streamable HTTP where the clients point, and publishes OAuth
metadata that is present and consistent (RFC 9728 → RFC 8414), with sign-in pages that load."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from dot_setup.doctor.context import Context
from dot_setup.doctor.model import Check, Remediation, Result, failed, passed, skipped, warned
from dot_setup.doctor.probe import probe_of
from dot_setup.errors import DotSetupError


def discovery_fix(ctx: Context) -> Remediation:
    token = "token" in ctx.service.auth
    return Remediation(
        "the server's OAuth metadata is broken, so OAuth clients cannot sign in: "
        + ("use an MCP token meanwhile, and " if token else "")
        + f"report it to {ctx.service.name} support with this output",
        ("dot-setup install --client ID --auth token --token-stdin",) if token else (),
    )


def discovery(ctx: Context, url: str) -> Any:
    """oauth.Discovery for an endpoint, shared by the checks (raises DotSetupError)."""

    def compute() -> Any:
        from dot_setup.signin import oauth

        with oauth.client(_timeout(ctx)) as http:
            return oauth.discover(http, url)

    return ctx.once(f"discovery:{url}", compute)


def _timeout(ctx: Context) -> Any:
    import httpx2

    return httpx2.Timeout(ctx.timeout)


def _unreachable(ctx: Context, url: str) -> Result | None:
    probe = probe_of(ctx, url)
    if not probe.reachable:
        return skipped(f"{probe.host} not reached (see the network checks)")
    return None


def check_endpoint(ctx: Context) -> Result:
    """401 with a resource_metadata challenge: an MCP endpoint that wants OAuth or a token."""
    problems, fine = [], []
    for url in ctx.endpoints():
        if (skip := _unreachable(ctx, url)) is not None:
            return skip
        probe = probe_of(ctx, url)
        challenge = probe.headers.get("www-authenticate", "")
        if probe.status == 401 and "resource_metadata" in challenge:
            fine.append(f"{url} → 401 with an OAuth challenge")
        elif probe.status == 404:
            problems.append(f"{url} → 404: no MCP endpoint at this path")
        elif probe.status in (200, 405, 406) and not challenge:
            problems.append(f"{url} → {probe.status} without asking for a token")
        else:
            problems.append(f"{url} → {probe.status} {challenge[:80]}".rstrip())
    if problems:
        name, regions = ctx.service.name, ctx.service.regions
        urls = " or ".join(f"{r.url} ({r.id.upper()})" for r in regions.values())
        return failed(
            problems[0],
            Remediation(
                f"verify the {name} URL: it is {urls}, the host you sign in to {name} with",
                (f"dot-setup install --client ID --region {'|'.join(regions)}",),
            ),
            *problems[1:],
            *fine,
        )
    return passed(fine[0], *fine[1:])


def check_discovery(ctx: Context) -> Result:
    details = []
    for url in ctx.endpoints():
        if (skip := _unreachable(ctx, url)) is not None:
            return skip
        try:
            disc = discovery(ctx, url)
        except DotSetupError as exc:
            return failed(exc.message, discovery_fix(ctx), exc.hint)
        origin = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        if disc.resource.rstrip("/") not in (origin, url.rstrip("/")):
            return failed(
                f"the metadata names resource {disc.resource}, not {origin}: clients will"
                " get tokens the server refuses",
                discovery_fix(ctx),
            )
        server = disc.server
        missing = [
            name
            for name, value in (
                ("registration_endpoint", server.registration_endpoint),
                ("authorization_endpoint", server.authorization_endpoint),
                ("token_endpoint", server.token_endpoint),
            )
            if not value
        ]
        if missing:
            return warned(
                f"the authorization server lacks {', '.join(missing)}: clients that register"
                " themselves (Claude Code, Cursor, mcp-remote) cannot sign in",
                discovery_fix(ctx),
            )
        details.append(f"{url}: resource {disc.resource}, issuer {server.issuer}")
    return passed("OAuth metadata present and consistent (RFC 9728, RFC 8414, PKCE S256)", *details)


def check_signin_page(ctx: Context) -> Result:
    """The authorization endpoint answers with a page (not an error), as a browser will see."""
    import httpx2

    url = ctx.endpoints()[0]
    if (skip := _unreachable(ctx, url)) is not None:
        return skip
    try:
        disc = discovery(ctx, url)
    except DotSetupError:
        return skipped("no OAuth metadata (see server.discovery)")
    endpoint = disc.server.authorization_endpoint
    try:
        with httpx2.Client(timeout=ctx.timeout, follow_redirects=False, trust_env=True) as http:
            resp = http.get(endpoint, headers={"Accept": "text/html"})
    except httpx2.HTTPError as exc:
        return failed(f"the sign-in page {endpoint} does not load: {exc}", discovery_fix(ctx))
    if resp.status_code >= 500 or resp.status_code == 404:
        return failed(f"the sign-in page {endpoint} answers {resp.status_code}", discovery_fix(ctx))
    # What the service's guide says about that page's messages (its troubleshooting entries).
    advice = [
        f'"{t.message}": {t.causes}' + "".join(f"; {a[0].lower()}{a[1:]}" for a in t.advice)
        for t in ctx.service.troubleshooting
        if "server.signin-page" in t.checks
    ]
    return passed(f"the sign-in page loads ({endpoint})", *advice)


def checks(ctx: Context) -> list[Check]:
    return [
        Check("server.endpoint", "Streamable HTTP endpoint", "server", check_endpoint),
        Check("server.discovery", "OAuth metadata", "server", check_discovery),
        Check("server.signin-page", "Sign-in page", "server", check_signin_page),
    ]
