"""`dot-setup list`: every known client, whether it is installed, and its entry's state.

Inside WSL it also lists the Windows apps found beside it (their rows say `--windows`, the
flag that writes them), because those apps never read the Linux home."""

from __future__ import annotations

from typing import Any

from dot_setup.engine.status import client_statuses
from dot_setup.errors import DotSetupError
from dot_setup.paths import Paths
from dot_setup.ui.console import OUT


def run_list(paths: Paths, service: str, scope: str, name: str | None, detected: bool) -> None:
    rows = client_statuses(paths, service, scope, name)
    for row in rows:
        row["side"] = "windows" if paths.os_name == "windows" and paths.wsl else "here"
    if paths.wsl and paths.os_name != "windows":
        rows += _windows_rows(paths, service, scope, name)
    if detected:
        rows = [r for r in rows if r["detected"]]
    if OUT.json_mode:
        OUT.envelope("ok", 0, {"scope": scope, "clients": rows}, [])
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("client", "installed", "entry", "config file", "verified"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"] + (" (Windows: --windows)" if row["side"] == "windows" else ""),
            "yes" if row["detected"] else "-",
            row["status"] + (f" ({row['detail']})" if row["detail"] else ""),
            row["path"] or "(set up in the app: dot-setup show --client " + row["id"] + ")",
            row["verified"],
        )
    OUT.rich(table)


def _windows_rows(paths: Paths, service: str, scope: str, name: str | None) -> list[dict[str, Any]]:
    """The Windows apps detected beside WSL; none when no Windows user folder is found."""
    try:
        windows = paths.windows_side()
    except DotSetupError:
        return []
    rows = [r for r in client_statuses(windows, service, scope, name) if r["detected"]]
    for row in rows:
        row["side"] = "windows"
    return rows
