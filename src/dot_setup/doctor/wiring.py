"""Read a client's Dot entry back into what it will do: which URL, which transport, which token.

Generic over every profile's shapes (no per-client code): URLs come from the url-like keys or
the argument after mcp-remote, tokens from an Authorization header, a `token=` query parameter
or an env block, and variable references in the forms clients expand (`${VAR}`, `${env:VAR}`,
`{env:VAR}`, `$VAR`, or a `*_env_var` / `*_env` key naming the variable).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

URL_KEYS = ("url", "serverUrl", "httpUrl", "uri")
HEADER_KEYS = ("headers", "http_headers")
ENV_KEYS = ("env", "environment", "envs")
VAR_KEYS = ("bearer_token_env_var", "api_key_env")
_REF = re.compile(
    r"^\$\{env:([A-Za-z_]\w*)\}$|^\$\{([A-Za-z_]\w*)\}$|^\{env:([A-Za-z_]\w*)\}$|^\$([A-Za-z_]\w*)$"
)


@dataclass
class Wiring:
    """What an entry does. `token` is the resolved secret (never printed: see `token_where`)."""

    transport: str = "unknown"  # http, mcp-remote, stdio (another command), unknown
    url: str = ""
    argv: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    token_where: str = ""  # "Authorization header", "URL", "env block", "variable NAME"
    token_var: str = ""  # the variable the client reads the token from, if any
    token_var_set: bool = False
    header_with_space: bool = False  # "Authorization: Bearer x" as one argument

    @property
    def query_token(self) -> str | None:
        values = parse_qs(urlsplit(self.url).query).get("token")
        return values[0] if values else None

    @property
    def base_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _argv(entry: Mapping[str, Any]) -> list[str]:
    command = entry.get("command", entry.get("cmd"))
    if isinstance(command, list):
        return [str(a) for a in command]
    if isinstance(command, str):
        args = entry.get("args", [])
        return [command, *(str(a) for a in args)] if isinstance(args, list) else [command]
    return []


def _headers(entry: Mapping[str, Any]) -> dict[str, str]:
    for key in HEADER_KEYS:
        value = entry.get(key)
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    nested = entry.get("requestOptions")
    if isinstance(nested, dict):
        return _headers(nested)
    return {}


def _mcp_remote(argv: list[str], wiring: Wiring) -> bool:
    at = next((i for i, a in enumerate(argv) if "mcp-remote" in a), None)
    if at is None:
        return False
    rest = argv[at + 1 :]
    wiring.url = next((a for a in rest if a.startswith(("http://", "https://"))), "")
    for i, arg in enumerate(rest):
        if arg == "--header" and i + 1 < len(rest):
            key, _, value = rest[i + 1].partition(":")
            wiring.headers[key.strip()] = value.strip()
            wiring.header_with_space = wiring.header_with_space or ": " in rest[i + 1]
    return True


def var_ref(value: str) -> str:
    """The variable a whole value refers to (`${X}`, `${env:X}`, `{env:X}`, `$X`), or ""."""
    match = _REF.match(value.strip())
    return next((g for g in match.groups() if g), "") if match else ""


def read_wiring(entry: Mapping[str, Any], environ: Mapping[str, str]) -> Wiring:
    wiring = Wiring()
    for key in ENV_KEYS:
        if isinstance(entry.get(key), dict):
            wiring.env = {str(k): str(v) for k, v in entry[key].items()}
    wiring.argv = _argv(entry)
    if wiring.argv:
        wiring.transport = "mcp-remote" if _mcp_remote(wiring.argv, wiring) else "stdio"
    else:
        wiring.url = next((str(entry[k]) for k in URL_KEYS if isinstance(entry.get(k), str)), "")
        wiring.headers = _headers(entry)
        wiring.transport = "http" if wiring.url else "unknown"
    _resolve_token(entry, wiring, environ)
    return wiring


def _lookup(name: str, wiring: Wiring, environ: Mapping[str, str]) -> str | None:
    if wiring.transport != "http" and name in wiring.env:
        return wiring.env[name]
    return environ.get(name) or None


def _resolve_token(entry: Mapping[str, Any], wiring: Wiring, environ: Mapping[str, str]) -> None:
    for key in VAR_KEYS:
        if isinstance(entry.get(key), str):
            wiring.token_var = entry[key]
            wiring.token = environ.get(wiring.token_var) or None
            wiring.token_var_set = wiring.token is not None
            wiring.token_where = f"variable {wiring.token_var}"
            return
    auth = next((v for k, v in wiring.headers.items() if k.lower() == "authorization"), None)
    if auth is not None:
        value, where = auth, "Authorization header"
        name = var_ref(value)
        if name:
            resolved = _lookup(name, wiring, environ)
            in_block = wiring.transport != "http" and name in wiring.env
            where = "env block" if in_block else f"variable {name}"
            wiring.token_var = "" if in_block else name
            wiring.token_var_set = resolved is not None
            value = resolved or ""
        else:
            # "Bearer ${env:VAR}" style: the reference sits after the scheme.
            scheme, _, rest = value.partition(" ")
            name = var_ref(rest)
            if name:
                resolved = _lookup(name, wiring, environ)
                wiring.token_var, where = name, f"variable {name}"
                wiring.token_var_set = resolved is not None
                value = f"{scheme} {resolved}" if resolved else ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            wiring.token = token.strip()
        wiring.token_where = where
        return
    if wiring.query_token:
        wiring.token, wiring.token_where = wiring.query_token, "URL"
