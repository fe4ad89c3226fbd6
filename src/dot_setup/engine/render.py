"""Turn a client profile's templates into the exact entry to write (or the values to paste).

Pure functions: no I/O, so every profile and shape is covered by fast tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dot_setup.errors import UsageError
from dot_setup.profiles.schema import ClientProfile, ServiceProfile, Shape, Template

# The mcp-remote release the stdio fallback runs; pinned so every machine runs the same bridge
# (a floating @latest is how a broken release reaches every user at once).
MCP_REMOTE = "mcp-remote@0.15.1"
_PLACEHOLDER_RE = re.compile(r"\{\{([a-z_]+)\}\}")
_SECRET_PLACEHOLDERS = re.compile(r"\{\{(token|authorization|url_with_token)\}\}")


@dataclass(frozen=True)
class Connection:
    """What the user chose: which server, how to authenticate, under which name."""

    service: ServiceProfile
    url: str
    auth: str  # "oauth" or "token"
    name: str
    token: str | None = None
    token_env: str = ""  # with --token-ref env:NAME: write a reference, not the token
    transport: str = "auto"  # auto, http or stdio

    @property
    def url_with_token(self) -> str:
        if not self.token:
            return self.url
        param = self.service.token_url_param or "token"
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}{param}={quote(self.token, safe='<>')}"


@dataclass(frozen=True)
class Rendered:
    shape: str
    entry: dict[str, Any]
    holds_secret: bool


def shape_order(profile: ClientProfile, conn: Connection) -> list[str]:
    if conn.auth == "oauth":
        http, stdio = ["http_oauth"], ["stdio_oauth"]
    elif conn.token_env:
        http = ["http_bearer_env"] if "http_bearer_env" in profile.shapes else []
        if profile.header_env_syntax:
            http.append("http_bearer")
        stdio = ["stdio_bearer"] if profile.header_env_syntax else []
    else:
        http, stdio = ["http_bearer"], ["stdio_bearer"]
    order = {"auto": http + stdio, "http": http, "stdio": stdio}[conn.transport]
    return [name for name in order if name in profile.shapes]


def choose_shape(profile: ClientProfile, conn: Connection) -> str:
    order = shape_order(profile, conn)
    if order:
        return order[0]
    if conn.token_env:
        raise UsageError(
            f"{profile.name} cannot read the token from an environment variable",
            "drop --token-ref to write the token itself into its config (0600)",
        )
    if conn.auth == "oauth":
        raise UsageError(
            f"{profile.name} cannot sign in with OAuth by itself",
            "use --auth token with an MCP token",
        )
    raise UsageError(f"{profile.name} has no {conn.transport} entry shape", "try --transport auto")


def placeholder_values(profile: ClientProfile, conn: Connection) -> dict[str, str]:
    authorization = ""
    if conn.token_env:
        syntax = profile.header_env_syntax or "<value of $VAR>"
        authorization = "Bearer " + syntax.replace("VAR", conn.token_env)
    elif conn.token:
        authorization = f"Bearer {conn.token}"
    return {
        "url": conn.url,
        "url_with_token": conn.url_with_token,
        "authorization": authorization,
        "token": conn.token or "",
        "token_env": conn.token_env,
        "name": conn.name,
        "service": conn.service.name,
        "service_description": conn.service.description,
        "connector_name": conn.service.connector_name,
        "mcp_remote": MCP_REMOTE,
        "token_variable": conn.service.token_env,
    }


def fill(template: Template, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {fill(key, values): fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    return template


def _wrap_for_windows(entry: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """Run `npx` through `cmd /c`: npx is a .cmd shim that Windows cannot spawn directly."""
    wrap = shape.windows_wrap
    if "argv" in wrap:
        argv = entry[wrap["argv"]]
        _safe_for_cmd(argv)
        return {**entry, wrap["argv"]: ["cmd", "/c", *argv]}
    command, args = wrap["command"], wrap["args"]
    _safe_for_cmd([entry[command], *entry.get(args, [])])
    return {**entry, command: "cmd", args: ["/c", entry[command], *entry.get(args, [])]}


# cmd.exe reads these on its command line even where the client quotes nothing: `&` and `|`
# start another command, `<` `>` redirect, `^` escapes, `%` expands variables. Escaping cannot be
# made right (npx.cmd is a batch file that parses its arguments again), so they are refused.
_CMD_METACHARACTERS = re.compile(r'[&|<>^%"]')


def _safe_for_cmd(argv: list[Any]) -> None:
    for arg in argv:
        found = _CMD_METACHARACTERS.search(str(arg))
        if found:
            raise UsageError(
                f"{arg!r} cannot be passed through `cmd /c` on Windows: cmd would read its "
                f"{found.group(0)!r} as a command character",
                "use a server URL without & | < > ^ % or quotes",
            )


def render_entry(profile: ClientProfile, conn: Connection, os_name: str) -> Rendered:
    shape_name = choose_shape(profile, conn)
    shape = profile.shapes[shape_name]
    entry = fill(shape.entry, placeholder_values(profile, conn))
    if os_name == "windows" and shape.windows_wrap:
        entry = _wrap_for_windows(entry, shape)
    # Decided from the template, not by searching the output: a URL-encoded token (`?token=`)
    # is not the raw token, and the file must be 0600 all the same.
    holds_secret = bool(conn.token) and bool(_SECRET_PLACEHOLDERS.search(repr(shape.entry)))
    return Rendered(shape=shape_name, entry=entry, holds_secret=holds_secret)


@dataclass(frozen=True)
class ManualStep:
    steps: list[str]
    fields: list[tuple[str, Any]]


def render_manual(profile: ClientProfile, conn: Connection) -> ManualStep:
    assert profile.manual is not None
    mode = conn.auth if conn.auth in profile.manual.steps else next(iter(profile.manual.steps))
    values = placeholder_values(profile, conn)
    steps = [fill(step, values) for step in profile.manual.steps[mode]]
    fields = [(f.label, fill(f.value, values)) for f in profile.manual.fields.get(mode, ())]
    return ManualStep(steps=steps, fields=fields)


def entry_matches(existing: Any, desired: Any, secret: str | None) -> bool:
    """Equal, treating `secret` in `desired` as "any token" (for reporting without a token)."""
    if secret and isinstance(desired, str) and secret in desired and isinstance(existing, str):
        prefix, _, suffix = desired.partition(secret)
        return (
            existing.startswith(prefix)
            and existing.endswith(suffix)
            and len(existing) > len(prefix) + len(suffix)
        )
    if isinstance(desired, dict) and isinstance(existing, dict):
        return existing.keys() == desired.keys() and all(
            entry_matches(existing[k], desired[k], secret) for k in desired
        )
    if isinstance(desired, list) and isinstance(existing, list):
        return len(existing) == len(desired) and all(
            entry_matches(e, d, secret) for e, d in zip(existing, desired, strict=True)
        )
    return bool(existing == desired)
