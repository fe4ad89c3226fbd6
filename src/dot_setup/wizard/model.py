"""The wizard's inputs (one flag per question) and what it decided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dot_setup.engine.changes import Change
from dot_setup.engine.endpoint import Endpoint
from dot_setup.engine.guide import Guide
from dot_setup.secrets import TokenSource

REFUSAL = "the wizard needs a terminal to ask its questions"
REFUSAL_HINT = (
    "answer them with flags (dot-setup --client ID --region us|eu --auth oauth|token "
    "--new-token --yes), or use `dot-setup install` (see `dot-setup install --help`)"
)


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
    """The plan the wizard applied: the file changes, the in-app guides, where, which token."""

    endpoint: Endpoint
    changes: list[Change] = field(default_factory=list)
    guides: list[Guide] = field(default_factory=list)
    token: TokenSource | None = None
