"""After the wizard wrote: what changed, the files and the connection verified, what to do
next (all three from the engine, as for install)."""

from __future__ import annotations

from dot_setup.engine.report import report_next_steps, report_written
from dot_setup.engine.verify import verify_connection, verify_files
from dot_setup.paths import Paths
from dot_setup.wizard.model import Outcome


def finish(outcome: Outcome, paths: Paths, account_token: str | None) -> int:
    report_written(outcome.changes)
    ok = verify_files(outcome.changes)
    token = outcome.token if outcome.token and outcome.token.origin != "to be generated" else None
    in_app = bool(outcome.guides)
    ok = verify_connection(outcome.endpoint, outcome.changes, in_app, token, account_token) and ok
    report_next_steps(outcome.changes, outcome.guides, paths)
    return 0 if ok else 1
