"""Every check in its fixed order: environment, network, server, auth, then each client."""

from __future__ import annotations

import fnmatch

from dot_setup.doctor.checks import auth, clients, environment, live, network, server
from dot_setup.doctor.context import Context
from dot_setup.doctor.model import Check
from dot_setup.errors import UsageError


def all_checks(ctx: Context) -> list[Check]:
    found: list[Check] = []
    for module in (environment, network, server, auth):
        found.extend(module.checks(ctx))
    per_client = clients.checks(ctx) + live.checks(ctx)
    order = {s.profile.id: i for i, s in enumerate(ctx.clients)}
    per_client.sort(
        key=lambda c: order[c.category.split(":", 1)[1]]
    )  # stable: keeps each client's order
    return found + per_client


def matches(check_id: str, pattern: str) -> bool:
    """An exact id, a prefix like `client.cursor`, or a glob like `client.*.token`."""
    return (
        check_id == pattern
        or check_id.startswith(pattern + ".")
        or fnmatch.fnmatchcase(check_id, pattern)
    )


def select(checks: list[Check], patterns: list[str]) -> list[Check]:
    """Checks whose id matches one of the patterns."""
    if not patterns:
        return checks
    unknown = [p for p in patterns if not any(matches(c.id, p) for c in checks)]
    if unknown:
        raise UsageError(
            f"no check named {', '.join(unknown)}",
            "`dot-setup doctor --list` shows every check id",
        )
    return [c for c in checks if any(matches(c.id, p) for p in patterns)]
