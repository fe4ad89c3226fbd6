"""`dot-setup list`: every known client, whether it is installed, and its entry's state."""

from __future__ import annotations

from dot_setup.engine.status import client_statuses
from dot_setup.paths import Paths
from dot_setup.ui.console import OUT


def run_list(paths: Paths, service: str, scope: str, name: str | None, detected: bool) -> None:
    rows = client_statuses(paths, service, scope, name)
    if detected:
        rows = [r for r in rows if r["detected"]]
    if OUT.json_mode:
        OUT.envelope("ok", 0, {"scope": scope, "clients": rows}, [])
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("client", "installed", "dot entry", "config file", "verified"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"],
            "yes" if row["detected"] else "-",
            row["status"] + (f" ({row['detail']})" if row["detail"] else ""),
            row["path"] or "(set up in the app: dot-setup show --client " + row["id"] + ")",
            row["verified"],
        )
    OUT.rich(table)
