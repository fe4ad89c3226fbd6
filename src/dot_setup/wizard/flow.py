"""The `dot-setup` wizard: detect → choose → token → preview → confirm → apply → verify → next.

Every question has a flag (`WizardOptions`), so a script answers them all; without a terminal
the wizard never prompts and a missing answer is exit 2 naming its flag. No client file is
written and no token is generated before the one confirmation; Ctrl-C before it leaves every
client file as it was (exit 130). Only dot-setup's own sign-in, made earlier to show which token
a new one would revoke, is kept (it is the user's session, not a change to their clients).

The mechanics are the engine's (endpoint, auth, entries, changes, report, verify); this module
holds the questions and their order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dot_setup.engine import endpoint as ep
from dot_setup.engine.auth import allowed_auth, choose_auth, get_token
from dot_setup.engine.changes import Change, apply, preflight
from dot_setup.engine.clients import named_clients
from dot_setup.engine.endpoint import CUSTOM, Endpoint
from dot_setup.engine.entries import EntrySpec, changes_for
from dot_setup.engine.guide import Guide
from dot_setup.engine.report import report_plan
from dot_setup.errors import DotSetupError, NeedsInputError, UsageError
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client, get_service
from dot_setup.profiles.schema import ClientProfile, ServiceProfile
from dot_setup.secrets import TokenSource
from dot_setup.ui.console import OUT
from dot_setup.ui.prompts import Prompter, confirm, default_prompter
from dot_setup.ui.terminal import interactive
from dot_setup.wizard.model import REFUSAL, REFUSAL_HINT, Outcome, WizardOptions
from dot_setup.wizard.token import TokenPlan
from dot_setup.wizard.view import STATUS_WORDS

if TYPE_CHECKING:
    from dot_setup.signin.account import Account


class Wizard:
    def __init__(self, options: WizardOptions, paths: Paths, prompter: Prompter | None = None):
        self.opt = options
        self.paths = paths
        self.service: ServiceProfile = get_service(options.service)
        self.name = options.name or self.service.default_server_name
        self.tty = prompter is not None or interactive(options.no_input)
        self._prompter = prompter
        self._account: Account | None = None

    @property
    def ask(self) -> Prompter:
        if self._prompter is None:
            self._prompter = default_prompter()
        return self._prompter

    # -- the flow -----------------------------------------------------------------------------

    def run(self) -> int:
        if not self.tty and not self.opt.answered():
            raise UsageError(REFUSAL, REFUSAL_HINT)
        given = get_token(self.service, self.opt.token_stdin, self.opt.token_file)
        rows = self.detect()
        clients = self.choose_clients(rows)
        endpoint = self.choose_endpoint(given)
        auths = self.choose_auth(clients, given)
        tokens = TokenPlan()
        if "token" in auths.values():
            tokens, endpoint = self.token_plan(given, endpoint)
        preview_token = tokens.source or (tokens.placeholder(endpoint) if tokens.generate else None)
        outcome = self.preview(clients, endpoint, auths, preview_token)
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
        if not pending and not outcome.guides:
            OUT.message("everything is already configured: nothing to write")
            ep.remember(self.paths, endpoint)
            return 0
        if not self.confirm(pending, outcome.guides, tokens):
            OUT.message("nothing was changed")
            return 1
        if tokens.generate:
            from dot_setup.signin.mcp_token import generate

            tokens.source = generate(self.account(endpoint), endpoint)
            outcome = self.write_new_token(clients, endpoint, auths, tokens.source)
        else:
            apply(outcome.changes, self.paths)
        outcome.token = tokens.source
        ep.remember(self.paths, endpoint)
        from dot_setup.wizard.finish import finish

        return finish(outcome, self.paths, self.account_token(endpoint))

    def write_new_token(
        self,
        clients: list[ClientProfile],
        endpoint: Endpoint,
        auths: dict[str, str],
        token: TokenSource,
    ) -> Outcome:
        """Plan and apply with the token just generated. It revoked the previous one, so if a
        write still fails (the files were checked before), it is kept and its file named."""
        from dot_setup.signin.mcp_token import rescue

        try:
            outcome = self.plan(clients, endpoint, auths, token)
            apply(outcome.changes, self.paths)
        except DotSetupError as exc:
            exc.hint = rescue(self.paths, token.token)
            raise
        return outcome

    # -- steps --------------------------------------------------------------------------------

    def detect(self) -> list[dict[str, Any]]:
        from dot_setup.engine.status import client_statuses
        from dot_setup.wizard.view import detection_table

        rows = client_statuses(self.paths, self.opt.service, "user", self.name)
        detection_table([r for r in rows if r["detected"]], len(rows), self.service.name)
        return rows

    def choose_clients(self, rows: list[dict[str, Any]]) -> list[ClientProfile]:
        if self.opt.clients:
            return named_clients(self.opt.clients)
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
                f"Which clients should use {self.service.name}? (space toggles, enter confirms)",
                list(labels),
                checked,
            )
            if picked:
                return [get_client(labels[p]) for p in picked]
            OUT.message("choose at least one client (or press Ctrl-C to stop)")

    def choose_endpoint(self, given: TokenSource | None) -> Endpoint:
        """Flags and the token decide as for every command; else the terminal asks, with the
        remembered server preselected (without a terminal, the remembered one or exit 2)."""
        explicit = self.opt.server_url or self.opt.region or ep.token_region(self.service, given)
        # A service with one region has nothing to ask.
        if explicit or not self.tty or len(self.service.regions) == 1:
            return ep.resolve_endpoint(
                self.service,
                region=self.opt.region,
                server_url=self.opt.server_url,
                token=given,
                paths=self.paths,
            )
        last = ep.remembered(self.paths, self.service)
        labels = {
            f"{r.name} ({r.id.upper()}): {r.url}": r.id for r in self.service.regions.values()
        }
        labels["A custom server URL (self-hosted or local)"] = CUSTOM
        default_id = last.region if last else self.service.default_region
        default = next(k for k, v in labels.items() if v == default_id)
        choice = labels[
            self.ask.select(
                f"Which region is your {self.service.name} account in?", list(labels), default
            )
        ]
        if choice != CUSTOM:
            return ep.resolve_endpoint(self.service, region=choice)
        remembered_url = last.url if last and last.region == CUSTOM else ""
        url = self.ask.text("MCP server URL:", remembered_url).strip()
        return Endpoint(self.service, ep.check_url(url), CUSTOM)

    def switch_region(self, region: str) -> Endpoint | None:
        if region not in self.service.regions:
            return None
        if not self.ask.confirm(f"Switch to the {region.upper()} region?", default=True):
            return None
        return ep.resolve_endpoint(self.service, region=region)

    def choose_auth(
        self, clients: list[ClientProfile], given: TokenSource | None
    ) -> dict[str, str]:
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
        oauth = f"OAuth: each client signs in to {self.service.name} itself (recommended)"
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

    def token_plan(
        self, given: TokenSource | None, endpoint: Endpoint
    ) -> tuple[TokenPlan, Endpoint]:
        from dot_setup.wizard import token as wizard_token

        if given is not None or self.opt.new_token or not self.tty:
            plan = wizard_token.non_interactive(given, self.opt.new_token, endpoint)
        else:
            plan, endpoint = wizard_token.ask_token(self.ask, endpoint, self.switch_region)
        if plan.generate:
            from dot_setup.signin.account import SignInOptions
            from dot_setup.signin.mcp_token import active_token

            account = self.account(endpoint)
            account.ensure(SignInOptions(no_browser=self.opt.no_browser, browser=self.opt.browser))
            plan.replaces = active_token(account, endpoint)
        return plan, endpoint

    def plan(
        self,
        clients: list[ClientProfile],
        endpoint: Endpoint,
        auths: dict[str, str],
        token: TokenSource | None,
    ) -> Outcome:
        spec = EntrySpec(name=self.name, token=token)
        changes, guides = changes_for(clients, endpoint, auths, spec, self.paths)
        return Outcome(endpoint=endpoint, changes=changes, guides=guides, token=token)

    def preview(
        self,
        clients: list[ClientProfile],
        endpoint: Endpoint,
        auths: dict[str, str],
        token: TokenSource | None,
    ) -> Outcome:
        outcome = self.plan(clients, endpoint, auths, token)
        OUT.message("")
        OUT.message(f"Plan for {endpoint.url}:")
        report_plan(outcome.changes, dry_run=False)
        for item in outcome.guides:
            OUT.message(f"  {'in-app':<9} {item.client.name}: steps at the end")
        changed = [c for c in outcome.changes if c.changed]
        show = self.opt.show_diff or self.opt.dry_run
        if changed and not show and self.tty and not self.opt.yes:
            show = self.ask.confirm("Show the changes (tokens are masked)?", default=False)
        if show:
            for change in changed:
                OUT.result(change.diff().rstrip("\n"))
        return outcome

    def confirm(self, pending: list[Change], guides: list[Guide], tokens: TokenPlan) -> bool:
        parts = [f"write {len(pending)} file(s)"] if pending else []
        if tokens.generate:
            parts.insert(0, "generate a new MCP token")
        if guides and not parts:
            parts = ["show the in-app steps"]
        question = " and ".join(parts)
        return confirm(
            question[0].upper() + question[1:] + "?",
            yes=self.opt.yes,
            no_input=not self.tty,
            prompter=self.ask if self.tty else None,
        )

    # -- credentials --------------------------------------------------------------------------

    def account(self, endpoint: Endpoint) -> Account:
        if self._account is None or self._account.mcp_url != endpoint.url:
            from dot_setup.signin.account import Account

            self._account = Account(self.paths, endpoint.url, endpoint.region)
        return self._account

    def account_token(self, endpoint: Endpoint) -> str | None:
        """The wizard's own sign-in for this server, if it has one (for the verify step)."""
        try:
            if self._account is None:
                from dot_setup.signin.account import Account

                account = Account(self.paths, endpoint.url, endpoint.region)
                if account.current() is None:
                    return None
                self._account = account
            return self._account.access_token()
        except Exception:  # the verify step reports what it can; a broken keyring is not fatal
            return None
