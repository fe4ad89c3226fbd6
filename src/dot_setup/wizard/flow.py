"""The `dot-setup` wizard: detect → choose → token → preview → confirm → apply → verify → next.

Every question has a flag (`WizardOptions`), so a script answers them all; without a terminal
the wizard never prompts and a missing answer is exit 2 naming its flag. No client file is
written and no token is generated before the one confirmation; Ctrl-C before it leaves every
client file as it was (exit 130). Only dot-setup's own sign-in, made earlier to show which token
a new one would revoke, is kept (it is the user's session, not a change to their clients).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dot_setup.engine import remembered as settings
from dot_setup.engine.auth import (
    Target,
    allowed_auth,
    check_url,
    get_token,
    interactive,
    token_region,
)
from dot_setup.engine.changes import Change, apply, preflight
from dot_setup.errors import NeedsInputError, UsageError
from dot_setup.flows.install import EntrySpec, changes_for, report_plan
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client, get_service
from dot_setup.profiles.schema import ClientProfile, ServiceProfile
from dot_setup.secrets import TokenSource
from dot_setup.ui.console import OUT
from dot_setup.ui.prompts import Prompter, default_prompter
from dot_setup.wizard.token import TokenPlan
from dot_setup.wizard.view import STATUS_WORDS

CUSTOM = "custom"


@dataclass
class WizardOptions:
    clients: list[str] = field(default_factory=list)
    all_detected: bool = False
    service: str = "dot"
    region: str | None = None
    server_url: str | None = None
    auth: str | None = None
    token_stdin: bool = False
    token_file: Path | None = None
    new_token: bool = False
    no_browser: bool = False
    name: str | None = None
    show_diff: bool = False
    dry_run: bool = False
    yes: bool = False
    no_input: bool = False
    browser: Callable[[str], None] | None = None  # the demo's scripted browser

    def answered(self) -> bool:
        """Did the caller answer anything with flags? (a bare `dot-setup` did not)."""
        return bool(
            self.clients
            or self.all_detected
            or self.region
            or self.server_url
            or self.auth
            or self.token_stdin
            or self.token_file
            or self.new_token
            or self.yes
            or self.dry_run
        )


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    manual: list[dict[str, Any]] = field(default_factory=list)
    target: Target | None = None
    token: TokenSource | None = None


class Wizard:
    def __init__(self, options: WizardOptions, paths: Paths, prompter: Prompter | None = None):
        self.opt = options
        self.paths = paths
        self.service: ServiceProfile = get_service(options.service)
        self.name = options.name or self.service.default_server_name
        self.tty = interactive(options.no_input)
        self._prompter = prompter
        if prompter is not None:
            self.tty = True
        self._account: Any = None

    @property
    def ask(self) -> Prompter:
        if self._prompter is None:
            self._prompter = default_prompter()
        return self._prompter

    # -- the flow -----------------------------------------------------------------------------

    def run(self) -> int:
        if not self.tty and not self.opt.answered():
            from dot_setup.commands.wizard import REFUSAL, REFUSAL_HINT

            raise UsageError(REFUSAL, REFUSAL_HINT)
        given = get_token(self.service, self.opt.token_stdin, self.opt.token_file)
        rows = self.detect()
        clients = self.choose_clients(rows)
        target = self.choose_target(given)
        auths = self.choose_auth(clients, given)
        tokens = TokenPlan()
        if "token" in auths.values():
            tokens, target = self.token_plan(given, target)
        preview_token = tokens.source or (tokens.placeholder(target) if tokens.generate else None)
        outcome = self.preview(clients, target, auths, preview_token)
        if tokens.generate and tokens.replaces:
            OUT.warn(
                f"a new MCP token revokes your current one ({tokens.replaces}); "
                "clients still using it stop working until they get the new one"
            )
        if self.opt.dry_run:
            OUT.message("dry run: nothing was written and no token was generated")
            return 0
        pending = [c for c in outcome.changes if c.changed]
        preflight(pending, self.paths)  # before the question, and before a token is generated
        if not pending and not outcome.manual:
            OUT.message("everything is already configured: nothing to write")
            settings.remember_target(self.paths, target)
            return 0
        if not self.confirm(pending, outcome.manual, tokens):
            OUT.message("nothing was changed")
            return 1
        if tokens.generate:
            from dot_setup.wizard.token import generate

            tokens.source = generate(self.account(target), target)
            outcome = self.write_new_token(clients, target, auths, tokens.source)
        else:
            apply(outcome.changes, self.paths)
        outcome.target, outcome.token = target, tokens.source
        settings.remember_target(self.paths, target)
        from dot_setup.wizard.finish import finish

        return finish(outcome, self.paths, self.account_token(target))

    def write_new_token(
        self,
        clients: list[ClientProfile],
        target: Target,
        auths: dict[str, str],
        token: TokenSource,
    ) -> Outcome:
        """Plan and apply with the token just generated. It revoked the previous one, so if a
        write still fails (the files were checked before), it is kept and its file named."""
        from dot_setup.errors import DotSetupError
        from dot_setup.wizard.token import rescue

        try:
            outcome = self.plan(clients, target, auths, token)
            apply(outcome.changes, self.paths)
        except DotSetupError as exc:
            exc.hint = rescue(self.paths, token.token)
            raise
        return outcome

    # -- steps --------------------------------------------------------------------------------

    def detect(self) -> list[dict[str, Any]]:
        from dot_setup.engine.status import client_statuses

        rows = client_statuses(self.paths, self.service.id, "user", self.name)
        found = [r for r in rows if r["detected"]]
        from dot_setup.wizard.view import detection_table

        detection_table(found, len(rows), self.service.name)
        return rows

    def choose_clients(self, rows: list[dict[str, Any]]) -> list[ClientProfile]:
        if self.opt.clients:
            ids = [p.strip() for c in self.opt.clients for p in c.split(",") if p.strip()]
            return [get_client(i) for i in dict.fromkeys(ids)]
        detected = [r["id"] for r in rows if r["detected"]]
        if self.opt.all_detected or not self.tty:
            if not detected:
                raise NeedsInputError("--client ID", "the clients to connect (none was detected)")
            return [get_client(i) for i in detected]
        labels: dict[str, str] = {}
        checked: list[str] = []
        for row in sorted(
            rows, key=lambda r: (not r["detected"], r["kind"] != "manual", r["name"])
        ):
            if row["kind"] == "manual":
                label = f"{row['name']} (in its app: dot-setup shows the steps)"
            elif row["detected"]:
                label = f"{row['name']} ({STATUS_WORDS.get(row['status'], row['status'])})"
            else:
                label = f"{row['name']} (not detected)"
            labels[label] = row["id"]
            if row["detected"] and row["kind"] == "file":
                checked.append(label)
        while True:
            picked = self.ask.checkbox(
                "Which clients should use Dot? (space toggles, enter confirms)",
                list(labels),
                checked,
            )
            if picked:
                return [get_client(labels[p]) for p in picked]
            OUT.message("choose at least one client (or press Ctrl-C to stop)")

    def choose_target(self, given: TokenSource | None) -> Target:
        from dot_setup.engine.auth import choose_server

        if self.opt.server_url or self.opt.region or token_region(self.service, given):
            return choose_server(self.service.id, self.opt.region, self.opt.server_url, given)
        memory = settings.remembered(self.paths, self.service.id)
        if not self.tty:
            last = settings.remembered_target(self.paths, self.service.id)
            if last is not None:
                return last
            raise NeedsInputError(
                f"--region {'|'.join(self.service.regions)}", f"the {self.service.name} region"
            )
        labels = {
            f"{r.name} ({r.id.upper()}): {r.url}": r.id for r in self.service.regions.values()
        }
        labels["A custom server URL (self-hosted or local)"] = CUSTOM
        default_id = memory.get("region") or self.service.default_region
        if default_id not in self.service.regions:  # a stale or hand-edited settings.json
            default_id = self.service.default_region
        if memory.get("server_url"):
            default_id = CUSTOM
        default = next(k for k, v in labels.items() if v == default_id)
        choice = labels[
            self.ask.select("Which region is your Dot account in?", list(labels), default)
        ]
        if choice != CUSTOM:
            return choose_server(self.service.id, choice, None, None)
        url = self.ask.text("MCP server URL:", memory.get("server_url", "")).strip()
        return Target(self.service, check_url(url), CUSTOM)

    def switch_region(self, region: str) -> Target | None:
        if region not in self.service.regions:
            return None
        if not self.ask.confirm(f"Switch to the {region.upper()} region?", default=True):
            return None
        from dot_setup.engine.auth import choose_server

        return choose_server(self.service.id, region, None, None)

    def choose_auth(
        self, clients: list[ClientProfile], given: TokenSource | None
    ) -> dict[str, str]:
        from dot_setup.engine.auth import choose_auth

        modes = {c.id: allowed_auth(c, self.service) for c in clients}
        if self.opt.auth or not self.tty:
            return {
                c.id: choose_auth(c, self.service, self.opt.auth, given is not None)
                for c in clients
            }
        both = [c for c in clients if len(modes[c.id]) > 1]
        auths = {c.id: (modes[c.id] or ["token"])[0] for c in clients}
        if not both:
            return auths
        oauth = "OAuth: each client signs in to Dot itself (recommended)"
        token = "MCP token: one token for every client"
        each = "Choose for each client"
        how = self.ask.select("How should the clients sign in?", [oauth, token, each], oauth)
        for c in both:
            if how == token:
                auths[c.id] = "token"
            elif how == each:
                picked = self.ask.select(f"{c.name}: sign in with", ["OAuth", "MCP token"], "OAuth")
                auths[c.id] = "oauth" if picked == "OAuth" else "token"
        return auths

    def token_plan(self, given: TokenSource | None, target: Target) -> tuple[TokenPlan, Target]:
        from dot_setup.wizard import token as wizard_token

        if given is not None or self.opt.new_token or not self.tty:
            plan = wizard_token.non_interactive(given, self.opt.new_token, target)
        else:
            plan, target = wizard_token.ask_token(self.ask, target, self.switch_region)
        if plan.generate:
            account = self.account(target)
            from dot_setup.signin.account import SignInOptions

            account.ensure(SignInOptions(no_browser=self.opt.no_browser, browser=self.opt.browser))
            plan.replaces = wizard_token.active_token(account, target)
        return plan, target

    def plan(
        self,
        clients: list[ClientProfile],
        target: Target,
        auths: dict[str, str],
        token: TokenSource | None,
    ) -> Outcome:
        spec = EntrySpec(name=self.name, token=token)
        changes, manual = changes_for(clients, target, auths, spec, self.paths)
        return Outcome(changes=changes, manual=manual, target=target, token=token)

    def preview(
        self,
        clients: list[ClientProfile],
        target: Target,
        auths: dict[str, str],
        token: TokenSource | None,
    ) -> Outcome:
        outcome = self.plan(clients, target, auths, token)
        OUT.message("")
        OUT.message(f"Plan for {target.url}:")
        report_plan(outcome.changes, dry_run=False)
        for item in outcome.manual:
            OUT.message(f"  {'in-app':<9} {get_client(item['client']).name}: steps at the end")
        changed = [c for c in outcome.changes if c.changed]
        show = self.opt.show_diff or self.opt.dry_run
        if changed and not show and self.tty and not self.opt.yes:
            show = self.ask.confirm("Show the changes (tokens are masked)?", default=False)
        if show:
            for change in changed:
                OUT.result(change.diff().rstrip("\n"))
        return outcome

    def confirm(
        self, pending: list[Change], manual: list[dict[str, Any]], tokens: TokenPlan
    ) -> bool:
        if self.opt.yes:
            return True
        if not self.tty:
            raise NeedsInputError("--yes", "confirmation to change these files")
        parts = [f"write {len(pending)} file(s)"] if pending else []
        if tokens.generate:
            parts.insert(0, "generate a new MCP token")
        if manual and not parts:
            parts = ["show the in-app steps"]
        question = " and ".join(parts)
        return self.ask.confirm(question[0].upper() + question[1:] + "?", default=True)

    # -- credentials --------------------------------------------------------------------------

    def account(self, target: Target) -> Any:
        if self._account is None or self._account.mcp_url != target.url:
            from dot_setup.signin.account import Account

            self._account = Account(self.paths, target.url, target.region)
        return self._account

    def account_token(self, target: Target) -> str | None:
        """The wizard's own sign-in for this server, if it has one (for the verify step)."""
        if self._account is None:
            from dot_setup.signin.account import Account

            account = Account(self.paths, target.url, target.region)
            try:
                if account.current() is None:
                    return None
            except Exception:
                return None
            self._account = account
        try:
            token: str | None = self._account.access_token()
            return token
        except Exception:
            return None
