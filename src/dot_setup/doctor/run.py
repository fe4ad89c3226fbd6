"""The flow behind `dot-setup doctor`: build the context, pick the checks, run them, report,
then with --fix apply the safe fixes and check again. Returns the exit code (0, or 1 with
failures; warnings count only with --strict)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dot_setup.doctor.context import Context, select_clients
from dot_setup.doctor.model import Check, Outcome, Status
from dot_setup.errors import NeedsInputError, UsageError
from dot_setup.paths import Paths
from dot_setup.ui.console import OUT


@dataclass
class DoctorRequest:
    ids: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    service: str = "dot"
    region: str | None = None
    server_url: str | None = None
    name: str | None = None
    symptom: str | None = None
    timeout: float = 10.0
    list_only: bool = False
    fix: bool = False
    yes: bool = False
    strict: bool = False
    verbose: bool = False
    interactive: bool = False


def build_context(request: DoctorRequest, paths: Paths) -> Context:
    from dot_setup.engine.clients import client_ids, named_clients
    from dot_setup.engine.endpoint import resolve_endpoint
    from dot_setup.profiles.loader import get_service, load_clients

    service = get_service(request.service)
    wanted = client_ids(request.clients)
    named_clients(wanted)  # an unknown id is a usage error naming the known ones
    endpoint = resolve_endpoint(
        service, region=request.region, server_url=request.server_url, paths=paths, default=True
    )
    name = request.name or service.default_server_name
    profiles = list(load_clients().values())
    return Context(
        paths=paths,
        service=service,
        name=name,
        clients=select_clients(profiles, paths, name, wanted),
        timeout=request.timeout,
        server_url=endpoint.url,
    )


def choose_checks(request: DoctorRequest, ctx: Context) -> list[Check]:
    from dot_setup.doctor.registry import all_checks, matches, select
    from dot_setup.doctor.symptoms import find

    checks = all_checks(ctx)
    patterns = list(request.ids)
    if request.symptom:
        trouble = find(request.symptom, ctx.service.troubleshooting)
        if trouble is None:
            raise UsageError(
                f"no {ctx.service.name} troubleshooting entry matches {request.symptom!r}",
                "`dot-setup doctor --list` shows the messages it knows",
            )
        OUT.message(f"{trouble.message}: {trouble.causes}")
        for advice in trouble.advice:
            OUT.message(f"  - {advice}")
        found = [p for p in trouble.checks if any(matches(c.id, p) for c in checks)]
        if not found:
            return []  # advice only: nothing on this machine can find these causes
        patterns += found
    if request.clients and not patterns:
        # --client narrows the run to those clients, plus what every client depends on.
        return checks
    return select(checks, patterns)


def list_checks(checks: list[Check], ctx: Context) -> None:
    rows = [
        {"id": c.id, "title": c.title, "category": c.category, "fixable": c.fix is not None}
        for c in checks
    ]
    troubles = ctx.service.troubleshooting
    if OUT.json_mode:
        symptoms = [
            {
                "message": t.message,
                "causes": t.causes,
                "checks": list(t.checks),
                "advice": list(t.advice),
            }
            for t in troubles
        ]
        OUT.envelope("ok", 0, {"checks": rows, "symptoms": symptoms}, [])
        return
    width = max(len(c.id) for c in checks)
    for row in rows:
        mark = "  (--fix)" if row["fixable"] else ""
        OUT.result(f"{row['id']:<{width}}  {row['title']}{mark}")
    if troubles:
        OUT.result("")
        OUT.result(f"Messages from {ctx.service.name}'s guide (dot-setup doctor --symptom TEXT):")
    for t in troubles:
        OUT.result(f'  "{t.message}": {", ".join(t.checks) or "advice only"}')


def exit_code(outcomes: list[Outcome], strict: bool) -> int:
    bad = {Status.FAIL, Status.ERROR} | ({Status.WARN} if strict else set())
    return 1 if any(o.result.status in bad for o in outcomes) else 0


def run_doctor(request: DoctorRequest, paths: Paths) -> int:
    from dot_setup.doctor import report
    from dot_setup.doctor.registry import all_checks
    from dot_setup.doctor.runner import run_checks

    if request.fix and not request.yes and not request.interactive and not request.list_only:
        refused = NeedsInputError(
            "--yes", "confirmation to apply the fixes (no terminal to ask in)"
        )
        refused.hint = "run it in a terminal to be asked first; see `dot-setup doctor --help`"
        raise refused
    if request.timeout <= 0:
        raise UsageError(
            f"--timeout {request.timeout:g} is not a positive number of seconds",
            "e.g. --timeout 10",
        )
    ctx = build_context(request, paths)
    checks = choose_checks(request, ctx)
    if request.list_only:
        list_checks(checks or all_checks(ctx), ctx)
        return 0
    if not checks:  # a troubleshooting entry with advice only
        if OUT.json_mode:
            data = {**report.as_data([]), "fixes": [], "strict": request.strict}
            OUT.envelope("ok", 0, data, [])
        return 0
    names = {s.profile.id: s.profile.name for s in ctx.clients}
    OUT.message(f"Checking {len(checks)} things for {len(ctx.clients)} client(s)…")
    outcomes = run_checks(checks, ctx, _slow_notice)
    fixes: list[dict[str, str]] = []
    if request.fix:
        outcomes, fixes = _fix(request, paths, checks, outcomes, names)
    code = exit_code(outcomes, request.strict)
    if OUT.json_mode:
        data = {**report.as_data(outcomes), "fixes": fixes, "strict": request.strict}
        OUT.envelope("ok" if code == 0 else "fail", code, data, [])
    else:
        report.render(outcomes, names, request.verbose, ctx.service.name)
    return code


def _slow_notice(ids: list[str]) -> None:
    OUT.message(f"still checking: {', '.join(ids[:4])}{' …' if len(ids) > 4 else ''}")


def _service_name(request: DoctorRequest) -> str:
    from dot_setup.profiles.loader import get_service

    return get_service(request.service).name


def _fix(
    request: DoctorRequest,
    paths: Paths,
    checks: list[Check],
    outcomes: list[Outcome],
    names: dict[str, str],
) -> tuple[list[Outcome], list[dict[str, str]]]:
    from dot_setup.doctor import report
    from dot_setup.doctor.fixes import apply_fixes, fixable
    from dot_setup.doctor.runner import run_checks
    from dot_setup.ui.prompts import confirm as ui_confirm
    from dot_setup.ui.prompts import default_prompter

    todo = fixable(outcomes)
    if not todo:
        OUT.message("nothing here that --fix can repair safely")
        return outcomes, []
    if not OUT.json_mode:
        service = _service_name(request)
        report.render(outcomes, names, request.verbose, service)
        OUT.result("")

    def confirm(outcome: Outcome) -> bool:
        fix = outcome.result.remediation
        assert fix is not None
        question = f"{outcome.check.id}: {fix.text}?"
        if request.yes:
            OUT.message(f"fixing {question[:-1]}")
        asker = default_prompter() if request.interactive else None  # checked before: a terminal
        return ui_confirm(question, yes=request.yes, no_input=True, prompter=asker)

    done = apply_fixes(todo, lambda: build_context(request, paths), confirm)
    for item in done:
        style = {"applied": "green", "failed": "red"}.get(item.status, "")
        OUT.message(f"  {item.status}: {item.id}: {item.message}", style)
    OUT.message("Checking again…")
    ctx = build_context(request, paths)
    again = [c for c in choose_checks(request, ctx)]
    outcomes = run_checks(again, ctx)
    return outcomes, [d.as_json() for d in done]
