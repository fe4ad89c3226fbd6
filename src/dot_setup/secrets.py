"""Tokens: where they may come from, and how they are kept out of every output.

A token is read from stdin, a file or the service's environment variable, never from argv (other
users can read argv through `ps`). `Redactor` is the one function every renderer of text (human
output, diffs, --json, logs, errors) passes its text through.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dot_setup.errors import TokenInputError

_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")
_PREFIX = re.compile(r"^(?:[a-z]+_){1,3}")


def mask(token: str) -> str:
    """Show enough to recognise a token (its prefix and last 4), never enough to use it."""
    if len(token) < 20:
        return "*" * len(token)
    # Keep a recognisable prefix such as dot_mcp_eu_ (it tells the kind and region), and never
    # more than that: at least 16 characters stay hidden.
    # The prefix is up to three lowercase words, each ending in "_" (dot_mcp_us_), so a random
    # part that itself starts with "_" is not taken for part of the prefix.
    prefix = _PREFIX.match(token)
    cut = len(prefix.group(0)) if prefix and len(prefix.group(0)) <= 12 else 0
    if cut == 0 or len(token) - cut - 4 < 16:
        cut = 4
    return f"{token[:cut]}…{token[-4:]}"


@dataclass
class Redactor:
    secrets: set[str] = field(default_factory=set)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def __call__(self, text: str) -> str:
        # Longest first, so a token inside a longer secret (a URL with the token) is caught whole.
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, mask(secret))
        return text


REDACT = Redactor()  # process-wide: every token read is registered here before anything prints


@dataclass(frozen=True)
class TokenSource:
    token: str
    origin: str  # "stdin", "file PATH", "env NAME"


def _clean(raw: str, origin: str) -> str:
    token = raw.strip()
    if not token:
        raise TokenInputError(f"the token from {origin} is empty", "paste the whole MCP token")
    if "\n" in token or not _TOKEN_CHARS.match(token):
        raise TokenInputError(
            f"the token from {origin} contains spaces, line breaks or control characters",
            "give only the token itself, on one line",
        )
    for prefix in ("Bearer ", "bearer "):
        if raw.strip().startswith(prefix):
            raise TokenInputError(
                f"the token from {origin} starts with 'Bearer'", "give only the token"
            )
    REDACT.add(token)
    return token


def read_token(
    *,
    stdin: bool,
    file: Path | None,
    env_name: str,
    env: dict[str, str] | os._Environ[str],
    stream: TextIO | None = None,
) -> TokenSource | None:
    """The token from exactly one source, or None if none was given."""
    if stdin and file is not None:
        raise TokenInputError("--token-stdin and --token-file both given", "use one of them")
    if stdin:
        source = stream or sys.stdin
        if source.isatty():
            raise TokenInputError(
                "--token-stdin needs the token piped in",
                "e.g. `pbpaste | dot-setup install ... --token-stdin`, or use --token-file",
            )
        return TokenSource(_clean(source.read(), "stdin"), "stdin")
    if file is not None:
        try:
            raw = file.read_text(encoding="utf-8")
            mode = file.stat().st_mode
        except OSError as exc:
            raise TokenInputError(
                f"cannot read the token file {file}: {exc.strerror}", "check the path"
            ) from None
        token = _clean(raw, f"file {file}")
        if mode & (stat.S_IRGRP | stat.S_IROTH) and os.name != "nt":
            print(
                f"warning: {file} is readable by other users; run `chmod 600 {file}`",
                file=sys.stderr,
            )
        return TokenSource(token, f"file {file}")
    if env_name and env.get(env_name):
        return TokenSource(_clean(env[env_name], f"${env_name}"), f"env {env_name}")
    return None
