"""The schema of client and service profiles: their vocabularies and frozen dataclasses.

Profiles are data (`client_profiles/*.toml`, `service_profiles/*.toml`); `profiles.validate`
turns one parsed TOML document into these dataclasses or raises `ProfileError` naming the file
and the key. docs/profile-format.md describes every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
FORMATS = ("json", "jsonc", "toml", "yaml")
SCOPES = ("user", "project")
OS_KEYS = ("all", "linux", "macos", "windows")
SHAPES = ("http_bearer", "http_bearer_env", "http_oauth", "stdio_bearer", "stdio_oauth")
AUTH_MODES = ("oauth", "token")
PROOFS = ("connects", "lists")
# How Settings → Integrations groups the clients (its picker), in this order.
CATEGORIES = ("desktop", "ide", "cli", "connector", "other")
# Placeholders a template may use; renderer.py fills them.
PLACEHOLDERS = frozenset(
    {
        "url",
        "url_with_token",
        "authorization",
        "token",
        "token_env",
        "name",
        "service",
        "service_description",
        "connector_name",
        "mcp_remote",
        "token_variable",
    }
)
# An install link's values (the OAuth entry, never a token) and the filters between them.
LINK_VALUES = frozenset(
    {"name", "url", "service", "service_description", "connector_name", "entry", "named_entry"}
)
LINK_FILTERS = frozenset({"json", "base64", "url"})

Template = Any  # JSON-like data: dict / list / str / bool / int


@dataclass(frozen=True)
class Shape:
    """One way to write the entry: a template plus how to wrap a command on Windows."""

    entry: Template
    windows_wrap: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A config file the client reads, for one scope."""

    scope: str
    format: str
    container: tuple[str, ...]
    paths: Mapping[str, str]
    env_paths: Mapping[str, str] = field(default_factory=dict)
    prefer_existing: tuple[str, ...] = ()
    list_key: str = ""
    note: str = ""
    # The top-level keys a file starts with when dot-setup creates it (Continue's config.yaml
    # must have `name` and `version`); empty: a new file holds only the container.
    new_file: Mapping[str, Any] = field(default_factory=dict)
    # Settings the entry does not work without, set beside it on install (gptme's
    # `[mcp] enabled = true`): nested tables down to the values.
    requires: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Link:
    """An install link ("Add to Cursor"): `url` is a template of LINK_VALUES and filters."""

    label: str
    url: str


@dataclass(frozen=True)
class ManualField:
    label: str
    value: Template


@dataclass(frozen=True)
class Manual:
    """UI steps and values to paste, per auth mode, for clients with no config file."""

    steps: Mapping[str, tuple[str, ...]]
    fields: Mapping[str, tuple[ManualField, ...]]


@dataclass(frozen=True)
class Detect:
    paths: Mapping[str, tuple[str, ...]]
    executables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verified:
    """How a profile's shape was checked; `program`/`version`/`proof` when a test runs the client."""

    method: str
    source: str
    date: str
    notes: str = ""
    program: str = ""  # the command the test runs ("kilo")
    version: str = ""  # the exact version it ran ("7.7.7")
    proof: str = ""  # "connects" (good token connected, wrong one refused) or "lists"

    def summary(self) -> str:
        """One line for `list` and the docs: `real-client: kilo 7.7.7 (connects)` or `docs: URL`."""
        if self.method == "real-client" and self.program:
            return f"real-client: {self.program} {self.version} ({self.proof})"
        return f"{self.method}: {self.source}"


@dataclass(frozen=True)
class ClientProfile:
    id: str
    name: str
    kind: str  # "file" or "manual"
    docs_url: str
    next_step: str
    oauth: bool
    verified: Verified
    detect: Detect
    targets: tuple[Target, ...] = ()
    shapes: Mapping[str, Shape] = field(default_factory=dict)
    header_env_syntax: str = ""
    # The client's own setting for how long a tool call may take, named in timeout findings.
    timeout_setting: str = ""
    # Process names (as `ps` shows them) of a running client that reads its config at start.
    processes: tuple[str, ...] = ()
    manual: Manual | None = None
    notes: str = ""
    source_file: str = ""
    category: str = "other"
    commands: Mapping[str, str] = field(default_factory=dict)  # auth mode -> shell command
    links: tuple[Link, ...] = ()

    def target(self, scope: str) -> Target | None:
        return next((t for t in self.targets if t.scope == scope), None)


@dataclass(frozen=True)
class Region:
    id: str
    name: str
    url: str
    sse_url: str = ""


@dataclass(frozen=True)
class ServiceClientRule:
    auth: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Trouble:
    """One troubleshooting entry of a service's guide: the message a user sees, its causes, the
    doctor checks that find them (ids or globs such as `client.*.token`) and advice."""

    message: str
    causes: str
    checks: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceProfile:
    id: str
    name: str
    description: str
    connector_name: str
    default_server_name: str
    auth: tuple[str, ...]
    regions: Mapping[str, Region]
    default_region: str
    token_env: str
    token_url_param: str
    token_prefix: str
    api_token_prefix: str
    docs_url: str
    clients: Mapping[str, ServiceClientRule] = field(default_factory=dict)
    integrations_client: str = ""  # the client Settings → Integrations opens on
    source_file: str = ""
    token_length: int = 0  # characters in a whole MCP token; 0: unknown (no truncation check)
    token_page: str = ""  # where the service's app makes MCP tokens ("Settings → Integrations")
    # The service's own words for a refused token and for one without MCP access.
    invalid_token_message: str = "the token was refused"
    no_mcp_access_message: str = "the token has no MCP access"
    troubleshooting: tuple[Trouble, ...] = ()

    def region_urls(self) -> str:
        """`https://app.getdot.ai/ai/mcp (United States), ...`: for messages about a wrong URL."""
        return ", ".join(f"{r.url} ({r.name})" for r in self.regions.values())
