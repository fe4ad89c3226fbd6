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

# Patterns are strings, compiled on first use by re's own cache: most commands never need them.
# RFC 6750 section 2.1: a bearer token is a b64token. Anything else (a quote, a backslash, %, $)
# would need escaping in the JSON, TOML, YAML, URLs and command lines it is written into.
_TOKEN_CHARS = r"^[A-Za-z0-9\-._~+/]+=*$"
_PREFIX = r"^(?:[a-z]+_){1,3}"


def mask(token: str) -> str:
    """Show enough to recognise a token (its prefix and last 4), never enough to use it."""
    if len(token) < 20:
        return "*" * len(token)
    # Keep a recognisable prefix such as dot_mcp_eu_ (it tells the kind and region), and never
    # more than that: at least 16 characters stay hidden.
    # The prefix is up to three lowercase words, each ending in "_" (dot_mcp_us_), so a random
    # part that itself starts with "_" is not taken for part of the prefix.
    prefix = re.match(_PREFIX, token)
    cut = len(prefix.group(0)) if prefix and len(prefix.group(0)) <= 12 else 0
    if cut == 0 or len(token) - cut - 4 < 16:
        cut = 4
    return f"{token[:cut]}…{token[-4:]}"


@dataclass
class Redactor:
    secrets: set[str] = field(default_factory=set)

    def add(self, secret: str) -> None:
        """Register a secret in every encoding dot-setup writes it in (raw, JSON/TOML/YAML
        string escapes, URL-encoded, HTML), so each form is masked wherever it appears."""
        if secret and len(secret) >= 4:
            self.secrets.update(_encodings(secret))

    def __call__(self, text: str) -> str:
        # Longest first, so a token inside a longer secret (a URL with the token) is caught whole.
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, mask(secret))
        return text


# Values that other programs keep in the same files (another server's key, a password): a diff
# of the file shows them as context, and dot-setup does not know them, so they are recognised by
# where they stand: after a key that names a secret, or after "Bearer".
_SECRET_VALUE = r"""(?ix)
    (  (?:bearer|basic)\s+
     | [\w.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|auth(?:orization)?|credential)[\w.-]*
       ["']?\s*[:=]\s*["']?(?:(?:bearer|basic)\s+)?
    )
    ([^\s"',}\]]{8,})
    """


_VARIABLE_NAME = r"^\$?\{?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\}?$"
# ... and, wherever they stand, opaque strings: 20+ characters of a token's alphabet with both
# letters and digits (URLs, paths, commands and words do not look like that).
_OPAQUE = r"(?<![\w\-+=…])(?=[\w\-+=]*\d)(?=[\w\-+=]*[A-Za-z])[\w\-+=]{20,}(?![\w\-+=…])"


def mask_secret_values(text: str) -> str:
    """Mask values that stand where secrets stand (see _SECRET_VALUE) in a diff's lines (its
    ---/+++ headers name files and are left). A value already masked, or the name of a
    variable (DOT_MCP_TOKEN, ${DOT_MCP_TOKEN}), is left."""
    return "".join(
        line if line.startswith(("--- ", "+++ ")) else _mask_line(line)
        for line in text.splitlines(keepends=True)
    )


def _mask_line(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        value = match.group(2)
        if "…" in value or re.match(_VARIABLE_NAME, value):
            return match.group(0)
        return match.group(1) + mask(value)

    text = re.sub(_SECRET_VALUE, masked, text)
    return re.sub(
        _OPAQUE,
        lambda m: m.group(0) if re.match(_VARIABLE_NAME, m.group(0)) else mask(m.group(0)),
        text,
    )


def _encodings(secret: str) -> set[str]:
    import html
    import json
    from urllib.parse import quote, quote_plus

    return {
        secret,
        json.dumps(secret)[1:-1],  # JSON, and TOML's and YAML's double-quoted strings
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret, safe="<>"),  # the ?token= URL (render.Connection.url_with_token)
        quote_plus(secret),
        html.escape(secret, quote=True),
    }


REDACT = Redactor()  # process-wide: every token read is registered here before anything prints


@dataclass(frozen=True)
class TokenSource:
    token: str
    origin: str  # "stdin", "file PATH", "env NAME"


def _clean(raw: str, origin: str) -> str:
    token = raw.strip()
    if not token:
        raise TokenInputError(f"the token from {origin} is empty", "paste the whole MCP token")
    REDACT.add(token)  # before any message could quote it
    if "\n" in token or not re.match(_TOKEN_CHARS, token):
        raise TokenInputError(
            f"the token from {origin} contains spaces, line breaks, quotes, backslashes or "
            "other characters a bearer token cannot have",
            "give only the token itself, on one line (letters, digits and - . _ ~ + / =)",
        )
    if token.lower().startswith("bearer "):
        raise TokenInputError(
            f"the token from {origin} starts with 'Bearer'", "give only the token"
        )
    return token


MAX_TOKEN_BYTES = 64 * 1024
STDIN_TIMEOUT_S = 60.0


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenInputError(f"{where} is not UTF-8 text", "give only the token itself") from None


def _read_stdin(source: TextIO) -> str:
    """stdin, bounded in size and time (a pipe that never ends or never closes is refused)."""
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream (tests, embedding)
        raw = source.read(MAX_TOKEN_BYTES + 1)
        if len(raw) > MAX_TOKEN_BYTES:
            raise TokenInputError(
                f"stdin holds more than {MAX_TOKEN_BYTES} bytes", "give only the token"
            ) from None
        return raw
    from dot_setup.errors import FileAccessError
    from dot_setup.fs.fsio import read_pipe

    try:
        data = read_pipe(fd, MAX_TOKEN_BYTES, STDIN_TIMEOUT_S, "stdin")
    except FileAccessError as exc:
        raise TokenInputError(exc.message, exc.hint) from None
    return _text(data, "stdin")


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
        return TokenSource(_clean(_read_stdin(source), "stdin"), "stdin")
    if file is not None:
        from dot_setup.errors import FileAccessError
        from dot_setup.fs.fsio import read_secret_file

        try:
            data = read_secret_file(file, MAX_TOKEN_BYTES, STDIN_TIMEOUT_S)
            mode = file.stat().st_mode
        except (FileAccessError, OSError) as exc:
            why = exc.message if isinstance(exc, FileAccessError) else exc.strerror
            raise TokenInputError(f"cannot read the token file: {why}", "check the path") from None
        token = _clean(_text(data, f"the token file {file}"), f"file {file}")
        if mode & (stat.S_IRGRP | stat.S_IROTH) and os.name != "nt":
            print(
                f"warning: {file} is readable by other users; run `chmod 600 {file}`",
                file=sys.stderr,
            )
        return TokenSource(token, f"file {file}")
    if env_name and env.get(env_name):
        return TokenSource(_clean(env[env_name], f"${env_name}"), f"env {env_name}")
    return None
