"""What a command tells the user about its changes: the plan (one line per file, the masked
diff on request), the JSON of each change, and the next steps (each client's own, and the
guides of clients set up in their apps). One report for install, remove, the wizard and the
doctor's fixes."""

from __future__ import annotations

import stat
from typing import Any

from dot_setup.engine.changes import Change
from dot_setup.engine.guide import Guide
from dot_setup.engine.render import fill
from dot_setup.paths import Paths
from dot_setup.secrets import REDACT
from dot_setup.ui.console import OUT


def describe(change: Change) -> str:
    return f"  {change.status:<9} {change.path}  ({change.client.id}, {change.shape or 'remove'})"


def report_plan(changes: list[Change], dry_run: bool) -> None:
    """One line per file (stderr), its masked diff with --dry-run, a warning for a file other
    users can read that is about to hold a token."""
    for change in changes:
        OUT.message(describe(change))
        if dry_run and change.changed:
            OUT.result(change.diff().rstrip("\n"))
        if change.holds_secret and change.before is not None and change.changed:
            try:
                mode = stat.S_IMODE(change.path.stat().st_mode)
            except OSError:
                mode = 0
            if mode & 0o044:
                OUT.warn(
                    f"{change.path} is readable by other users and will hold a token; "
                    f"run `chmod 600 {change.path}`"
                )


def report_written(changes: list[Change]) -> None:
    for change in changes:
        if change.changed:
            backup = f" (backup {change.backup.id})" if change.backup else ""
            OUT.result(f"{change.status:<9} {change.path}{backup}")


def change_data(change: Change, with_diff: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client": change.client.id,
        "path": str(change.path),
        "scope": change.target.scope,
        "status": change.status,
        "shape": change.shape,
        "backup": change.backup.id if change.backup else None,
    }
    if with_diff:
        data["diff"] = change.diff()
    return data


def guide_data(guide: Guide) -> dict[str, Any]:
    """An in-app client's steps in the --json envelope."""
    return {
        "client": guide.client.id,
        "steps": list(guide.steps),
        "fields": [[label, value] for label, value in guide.fields],
    }


def next_steps(changes: list[Change]) -> list[str]:
    """What to do in each client whose file changed (restart, reload, check)."""
    return [
        f"{c.client.name}: {fill(c.client.next_step, {'name': c.name})}"
        for c in changes
        if c.changed
    ]


def report_next_steps(
    changes: list[Change], guides: list[Guide], paths: Paths, dry_run: bool = False
) -> None:
    """What to do in each client. With dry_run nothing is copied or saved (and the files'
    own steps wait for the real run)."""
    steps = [] if dry_run else next_steps(changes)
    if steps or guides:
        OUT.result("")
        OUT.result("Next steps:")
    for step in steps:
        OUT.result(f"  • {step}")
    for item in guides:
        _report_guide(item, paths, keep=not dry_run)


def _report_guide(item: Guide, paths: Paths, keep: bool) -> None:
    """An in-app client's steps and fields. A URL goes to the clipboard; a field that holds
    the token is never printed: it is on the clipboard or in a 0600 file whose path is shown
    (`keep` false: masked)."""
    from dot_setup.ui import clipboard

    OUT.result(f"  • {item.client.name}: {item.next_step}")
    for i, step in enumerate(item.steps, 1):
        OUT.result(f"      {i}. {step}")
    for label, text in item.fields:
        secret = REDACT(text) != text
        if not keep:
            OUT.result(f"      {label}: {text}")  # masked by the console if it holds the token
        elif "url" in label.lower() and clipboard.copy(text, paths):
            shown = "on your clipboard" + (
                " (it holds your token, so it is not shown)" if secret else f": {text}"
            )
            OUT.result(f"      {label}: {shown}")
        elif secret:
            saved = _save_secret(paths, item.client.id, text)
            OUT.result(
                f"      {label}: holds your token, so it is not shown; saved in {saved} (mode 0600)"
            )
        else:
            OUT.result(f"      {label}: {text}")


def _save_secret(paths: Paths, client_id: str, text: str) -> str:
    from dot_setup.fs.fsio import private_dir, write_atomic

    path = paths.state_dir / "connectors" / f"{client_id}.txt"
    private_dir(path.parent)
    write_atomic(path, (text + "\n").encode(), 0o600, None)
    return str(path)
