"""A check, its result and its remediation: plain data, rendered by report.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dot_setup.doctor.context import Context


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"  # the check itself broke (or ran out of time)


@dataclass(frozen=True)
class Remediation:
    """What to do: a sentence, commands to run, and whether `--fix` may do it unasked."""

    text: str
    commands: tuple[str, ...] = ()
    auto_fixable: bool = False


@dataclass(frozen=True)
class Result:
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    remediation: Remediation | None = None
    data: dict[str, Any] = field(default_factory=dict)


def passed(summary: str, *details: str, **data: Any) -> Result:
    return Result(Status.PASS, summary, details, None, data)


def skipped(summary: str, *details: str) -> Result:
    return Result(Status.SKIP, summary, details)


def warned(summary: str, fix: Remediation | None, *details: str, **data: Any) -> Result:
    return Result(Status.WARN, summary, details, fix, data)


def failed(summary: str, fix: Remediation | None, *details: str, **data: Any) -> Result:
    return Result(Status.FAIL, summary, details, fix, data)


Runner = Callable[["Context"], Result]
Fixer = Callable[["Context"], str]  # applies the fix, returns what it did in one line


@dataclass(frozen=True)
class Check:
    """One diagnosis. `id` is stable: it selects the check on the command line and keys JSON."""

    id: str
    title: str
    category: str  # environment, network, server, auth, client:<id>, live
    run: Runner
    fix: Fixer | None = None
    timeout: float | None = None  # None: the doctor's --timeout


@dataclass(frozen=True)
class Outcome:
    check: Check
    result: Result
    duration_ms: int

    def as_json(self) -> dict[str, Any]:
        r = self.result
        fix = r.remediation
        return {
            "id": self.check.id,
            "category": self.check.category,
            "title": self.check.title,
            "status": r.status.value,
            "summary": r.summary,
            "details": list(r.details),
            "remediation": None
            if fix is None
            else {
                "text": fix.text,
                "commands": list(fix.commands),
                "auto_fixable": fix.auto_fixable and self.check.fix is not None,
            },
            "duration_ms": self.duration_ms,
            "data": r.data,
        }
