"""What the wizard shows: the detection table (rich when on a terminal, plain text otherwise)."""

from __future__ import annotations

import sys
from typing import Any

from dot_setup.ui.console import OUT

STATUS_WORDS = {
    "configured": "configured",
    "absent": "not configured",
    "differs": "differs (will be replaced)",
    "unreadable": "file does not parse",
    "manual": "set up in its app",
}


def detection_table(found: list[dict[str, Any]], total: int, service: str) -> None:
    if not found:
        OUT.message(f"No supported client was detected on this machine ({total} are supported).")
        return
    OUT.message(f"Found {len(found)} of {total} supported clients on this machine:")
    if sys.stderr.isatty():
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in ("Client", f"{service}", "Evidence"):
            table.add_column(column, overflow="fold")
        for row in found:
            table.add_row(
                row["name"], STATUS_WORDS.get(row["status"], row["status"]), _evidence(row)
            )
        OUT.rich(table, stderr=True)
        return
    for row in found:
        status = STATUS_WORDS.get(row["status"], row["status"])
        OUT.message(f"  {row['name']:<22} {status:<28} {_evidence(row)}")


def _evidence(row: dict[str, Any]) -> str:
    evidence = list(row.get("evidence") or [])
    return (
        evidence[0] + (f" (+{len(evidence) - 1})" if len(evidence) > 1 else "") if evidence else ""
    )
