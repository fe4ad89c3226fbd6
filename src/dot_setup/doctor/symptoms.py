"""The connect guide's troubleshooting messages, each mapped to the checks that find its causes.

`dot-setup doctor --symptom "Invalid API token"` runs just those checks; docs/doctor.md lists the
same table. Matching is by words, case-insensitive, so a pasted error line finds its entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Symptom:
    message: str
    causes: str
    checks: tuple[str, ...]  # check ids; "client.*.x" means that check for every client


SYMPTOMS = (
    Symptom(
        "Browser doesn't open for authentication",
        "no browser here (SSH, no display), an OAuth sign-in left half-done in mcp-remote's cache",
        ("env.browser", "client.*.mcp-remote-cache", "auth.signin"),
    ),
    Symptom(
        "Authorization session expired",
        "the consent page was left open over 10 minutes, or the clock is wrong",
        ("env.clock", "client.*.mcp-remote-cache", "server.signin-page"),
    ),
    Symptom(
        "Sign in to continue",
        "the browser is not signed in to Dot: Open Dot Login, sign in, then Continue",
        ("server.signin-page", "auth.signin"),
    ),
    Symptom(
        "Invalid API token",
        "token not copied completely, revoked, replaced by a newer one, or for the other region's URL",
        ("client.*.token", "client.*.url", "client.*.duplicates", "auth.token-env"),
    ),
    Symptom(
        "Token does not have required MCP access",
        "a regular API token instead of an MCP token, or an account without MCP access",
        ("client.*.token", "auth.token-env"),
    ),
    Symptom(
        "Connection timeout",
        "no network path to Dot (DNS, TCP, TLS, proxy), a wrong Dot URL, or a tool timeout too short",
        ("net.dns", "net.tcp", "net.tls", "net.http", "env.proxy", "client.*.url", "client.*.live"),
    ),
)


def _words(text: str) -> set[str]:
    return {
        w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if len(w) > 2
    }


def find(text: str) -> Symptom | None:
    """The guide message that shares the most words with `text` (at least two)."""
    wanted = _words(text)
    best = max(SYMPTOMS, key=lambda s: len(_words(s.message) & wanted))
    return best if len(_words(best.message) & wanted) >= min(2, len(_words(best.message))) else None
