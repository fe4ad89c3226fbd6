"""The human view (fixed order, the fix under each finding, a counts line) and the JSON data."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dot_setup.doctor.model import Outcome, Status
from dot_setup.ui.console import OUT

SYMBOL = {
    Status.PASS: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "red"),
    Status.SKIP: ("-", "dim"),
    Status.ERROR: ("?", "magenta"),
}
HEADINGS = {
    "environment": "This machine",
    "network": "Network",
    "server": "{service} server",
    "auth": "Sign-in and tokens",
}


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    found = Counter(o.result.status.value for o in outcomes)
    return {s.value: found.get(s.value, 0) for s in Status}


def counts_line(outcomes: list[Outcome]) -> str:
    c = counts(outcomes)
    parts = [
        f"{c['pass']} passed",
        f"{c['warn']} warning{'s' if c['warn'] != 1 else ''}",
        f"{c['fail']} failed",
        f"{c['skip']} skipped",
    ]
    if c["error"]:
        parts.append(f"{c['error']} check error{'s' if c['error'] != 1 else ''}")
    return ", ".join(parts)


def _heading(category: str, names: dict[str, str], service: str) -> str:
    if category.startswith("client:"):
        cid = category.split(":", 1)[1]
        return f"{names.get(cid, cid)} (client.{cid})"
    return HEADINGS.get(category, category).format(service=service)


def render(outcomes: list[Outcome], names: dict[str, str], verbose: bool, service: str) -> None:
    category = None
    hidden = 0
    for outcome in outcomes:
        check, result = outcome.check, outcome.result
        if result.status is Status.SKIP and not verbose:
            hidden += 1
            continue
        if check.category != category:
            category = check.category
            OUT.result(_heading(category, names, service), "bold")
        symbol, style = SYMBOL[result.status]
        OUT.result(
            f"  {symbol} {check.id}: {result.summary}",
            style if result.status is not Status.PASS else "",
        )
        problem = result.status in (Status.WARN, Status.FAIL, Status.ERROR)
        if problem or verbose:
            for line in result.details:
                if line:
                    OUT.result(f"      {line}")
        fix = result.remediation
        if fix is not None and problem:
            OUT.result(f"      fix: {fix.text}")
            for command in fix.commands:
                OUT.result(f"        $ {command}")
            if fix.auto_fixable and check.fix is not None:
                OUT.result("      (dot-setup doctor --fix does this)")
    line = counts_line(outcomes)
    if hidden:
        line += f" ({hidden} skipped not shown; -v shows them)"
    c = counts(outcomes)
    style = "red" if c["fail"] or c["error"] else "yellow" if c["warn"] else "green"
    OUT.result("")
    OUT.result(line, style)


def as_data(outcomes: list[Outcome]) -> dict[str, Any]:
    return {"checks": [o.as_json() for o in outcomes], "counts": counts(outcomes)}
