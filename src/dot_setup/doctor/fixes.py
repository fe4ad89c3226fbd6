"""`--fix`: apply the safe fixes one by one, each re-checked on fresh state first (an earlier
fix may already have repaired it), asking before each one unless `--yes`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dot_setup.doctor.context import Context
from dot_setup.doctor.model import Outcome, Status
from dot_setup.doctor.runner import run_checks
from dot_setup.secrets import REDACT

PROBLEMS = (Status.WARN, Status.FAIL)


@dataclass(frozen=True)
class FixResult:
    id: str
    status: str  # applied, failed, declined, not-needed
    message: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, "message": self.message}


def fixable(outcomes: list[Outcome]) -> list[Outcome]:
    return [
        o
        for o in outcomes
        if o.result.status in PROBLEMS
        and o.result.remediation is not None
        and o.result.remediation.auto_fixable
        and o.check.fix is not None
    ]


def apply_fixes(
    todo: list[Outcome],
    fresh_context: Callable[[], Context],
    confirm: Callable[[Outcome], bool],
) -> list[FixResult]:
    done = []
    for outcome in todo:
        check = outcome.check
        ctx = fresh_context()
        current = run_checks([check], ctx)[0]
        if current.result.status not in PROBLEMS:
            done.append(FixResult(check.id, "not-needed", "already repaired by an earlier fix"))
            continue
        if not confirm(current):
            done.append(FixResult(check.id, "declined", "not applied"))
            continue
        assert check.fix is not None
        try:
            message = check.fix(ctx)
        except Exception as exc:  # one failed fix must not stop the others
            text = getattr(exc, "message", "") or str(exc) or type(exc).__name__
            done.append(FixResult(check.id, "failed", REDACT(text)))
            continue
        done.append(FixResult(check.id, "applied", REDACT(message)))
    return done
