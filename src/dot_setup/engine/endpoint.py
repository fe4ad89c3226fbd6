"""Checking an MCP server URL a user typed (--server-url, the wizard, DOT_SETUP_REGION_URLS).

The URL is written into other programs' config files and onto command lines (`cmd /c npx
mcp-remote URL` on Windows), and shown in messages. So it must be one plain http(s) URL: no
user:password (it would be printed and stored in clear), no whitespace or control characters
(one line, one argument), no fragment, and plain http only to this machine.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from dot_setup.errors import UsageError

_CONTROL_OR_SPACE = re.compile(
    r"[\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]"
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
EXAMPLE = "e.g. https://app.getdot.ai/ai/mcp"


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
        port = parts.port  # raises for a port that is not a number or out of range
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
    del port
    return None
