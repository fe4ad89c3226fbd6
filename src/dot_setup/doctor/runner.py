"""Run checks concurrently, each under its own time limit, and return them in their fixed order.

Each check runs in a daemon thread, so a check stuck in a blocking call cannot keep the doctor
alive: when its limit passes it is reported as an error and left behind. Checks that need the
network share one probe (`Context.once`), so an unreachable server costs one timeout in all.
A check that raises becomes an `error` result; it never stops the other checks.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from dot_setup.doctor.context import Context
from dot_setup.doctor.model import Check, Outcome, Result, Status
from dot_setup.secrets import REDACT

GRACE = 0.5  # on top of a check's own limit: its network calls use the same limit


def _guarded(check: Check, ctx: Context, box: list[Outcome]) -> None:
    started = time.monotonic()
    try:
        result = _redacted(check.run(ctx))
    except Exception as exc:  # a broken check is a finding of its own, not a crash
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
        result = Result(
            Status.ERROR,
            REDACT(f"the check itself failed: {type(exc).__name__}: {exc}")[:300],
            (f"at {where}",),
        )
    box.append(Outcome(check, result, int((time.monotonic() - started) * 1000)))


def _redacted(result: Result) -> Result:
    """Every string a renderer will see passes through the one redaction function."""
    fix = result.remediation
    if fix is not None:
        fix = type(fix)(REDACT(fix.text), tuple(REDACT(c) for c in fix.commands), fix.auto_fixable)
    return Result(
        result.status,
        REDACT(result.summary),
        tuple(REDACT(d) for d in result.details),
        fix,
        result.data,
    )


def run_checks(
    checks: list[Check], ctx: Context, on_slow: Callable[[list[str]], None] | None = None
) -> list[Outcome]:
    boxes: list[list[Outcome]] = [[] for _ in checks]
    threads = []
    for check, box in zip(checks, boxes, strict=True):
        thread = threading.Thread(target=_guarded, args=(check, ctx, box), daemon=True)
        thread.start()
        threads.append(thread)
    start = time.monotonic()
    slow_told = False
    outcomes = []
    for check, box, thread in zip(checks, boxes, threads, strict=True):
        limit = (check.timeout or ctx.timeout) + GRACE
        while thread.is_alive():
            left = start + limit - time.monotonic()
            if left <= 0:
                break
            thread.join(min(left, 2.0))
            if on_slow and not slow_told and time.monotonic() - start > 2.0:
                slow_told = True
                on_slow([c.id for c, t in zip(checks, threads, strict=True) if t.is_alive()])
        if box:
            outcomes.append(box[0])
            continue
        outcomes.append(
            Outcome(
                check,
                Result(
                    Status.ERROR,
                    f"no result within {limit - GRACE:g} s (the check was stopped)",
                    (),
                ),
                int(limit * 1000),
            )
        )
    return outcomes
