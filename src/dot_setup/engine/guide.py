"""What a person does by hand to connect one client: the block and where it goes, the client's
own command, its install links, or the steps in its app.

One model for `dot-setup show` (text and --json) and for Settings → Integrations of the
reference server, both built from the client profiles: the terminal and the web page can never
disagree. Install links carry the OAuth entry only, never a token (browser history and the
operating system's URL handlers keep them); a client that needs a token gets the block.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dot_setup.engine.render import (
    Connection,
    fill,
    placeholder_values,
    render_entry,
    render_manual,
)
from dot_setup.profiles.schema import ClientProfile, Link, Target

PLACEHOLDER_TOKEN = "<YOUR_MCP_TOKEN>"
OS_LABELS = {"macos": "macOS", "linux": "Linux", "windows": "Windows"}
# How a path template reads for a person on each OS (the page cannot know the user's home).
_SHOWN_DIRS = {
    "macos": {
        "home": "~",
        "app_support": "~/Library/Application Support",
        "xdg_config": "~/.config",
        "xdg_data": "~/.local/share",
    },
    "linux": {"home": "~", "xdg_config": "~/.config", "xdg_data": "~/.local/share"},
    "windows": {
        "home": "%USERPROFILE%",
        "appdata": "%APPDATA%",
        "localappdata": "%LOCALAPPDATA%",
        "xdg_config": "%USERPROFILE%\\.config",
    },
}
_PATH_VAR = re.compile(r"\{([a-z_]+)\}")
_LINK_VAR = re.compile(r"\{\{([a-z_]+)((?:\|[a-z0-9]+)*)\}\}")


@dataclass(frozen=True)
class Guide:
    """One client, one way to sign in (`auth`), for one OS."""

    client: ClientProfile
    auth: str
    url: str
    name: str
    os_name: str
    shape: str = ""
    format: str = ""
    block: str = ""  # the file's content to add (file clients)
    command: str = ""  # the client's own command, where it has one
    links: tuple[tuple[str, str], ...] = ()  # (label, URL)
    steps: tuple[str, ...] = ()  # in-app clients
    fields: tuple[tuple[str, str], ...] = ()  # (label, value as text)
    next_step: str = ""

    def data(self) -> dict[str, Any]:
        """The JSON form (`show --json`); the page shows the same values."""
        data: dict[str, Any] = {
            "client": self.client.id,
            "category": self.client.category,
            "auth": self.auth,
            "url": self.url,
            "command": self.command,
            "links": [{"label": label, "url": url} for label, url in self.links],
            "next_step": self.next_step,
        }
        if self.client.kind == "manual":
            data.update(
                steps=list(self.steps), fields=[{"label": k, "value": v} for k, v in self.fields]
            )
        else:
            data.update(format=self.format, shape=self.shape, block=self.block)
        return data


def build(profile: ClientProfile, conn: Connection, os_name: str, target: Target | None) -> Guide:
    """The guide for this connection (its token, or PLACEHOLDER_TOKEN, fills token blocks)."""
    values = placeholder_values(profile, conn)
    common: dict[str, Any] = {
        "client": profile,
        "auth": conn.auth,
        "url": conn.url,
        "name": conn.name,
        "os_name": os_name,
        "command": fill(profile.commands[conn.auth], values)
        if conn.auth in profile.commands
        else "",
        "links": links(profile, conn, os_name) if conn.auth == "oauth" else (),
        "next_step": fill(profile.next_step, {"name": conn.name, "service": conn.service.name}),
    }
    if profile.kind == "manual":
        shown = render_manual(profile, conn)
        fields = tuple(
            (label, value if isinstance(value, str) else json.dumps(value, indent=2))
            for label, value in shown.fields
        )
        return Guide(**common, steps=tuple(shown.steps), fields=fields)
    assert target is not None
    rendered = render_entry(profile, conn, os_name)
    return Guide(
        **common,
        shape=rendered.shape,
        format=target.format,
        block=snippet(target, conn.name, rendered.entry),
    )


def default_target(profile: ClientProfile) -> Target | None:
    """The file a page shows for a client: its user file, else its only (project) file."""
    return profile.target("user") or (profile.targets[0] if profile.targets else None)


def snippet(target: Target, name: str, entry: Any) -> str:
    """The entry as it sits in a new file of the target's format."""
    from dot_setup.formats import get_format

    return get_format(target.format).set_entry("", target.container, target.list_key, name, entry)


def shown_paths(target: Target) -> list[tuple[str, str]]:
    """(OS, path as a person reads it) for each OS the client keeps this file on."""
    result = []
    for os_name, label in OS_LABELS.items():
        template = target.paths.get(os_name) or target.paths.get("all")
        if not template:
            continue
        result.append((label, _shown(template, os_name)))
    return result


def _shown(template: str, os_name: str) -> str:
    dirs = {**_SHOWN_DIRS[os_name], "project": "<project>"}
    text = _PATH_VAR.sub(lambda m: dirs.get(m.group(1), m.group(0)), template)
    return text.replace("/", "\\") if os_name == "windows" else text


def links(profile: ClientProfile, conn: Connection, os_name: str) -> tuple[tuple[str, str], ...]:
    """The client's install links for this (OAuth) connection."""
    if not profile.links or conn.auth != "oauth" or conn.token:
        return ()
    entry = render_entry(profile, conn, os_name).entry
    values: dict[str, Any] = {
        "name": conn.name,
        "url": conn.url,
        "service": conn.service.name,
        "service_description": conn.service.description,
        "connector_name": conn.service.connector_name,
        "entry": entry,
        "named_entry": {"name": conn.name, **entry},
    }
    return tuple((link.label, _link_url(link, values)) for link in profile.links)


def _link_url(link: Link, values: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        value: Any = values[match.group(1)]
        for name in filter(None, match.group(2).split("|")):
            value = _FILTERS[name](value)
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return _LINK_VAR.sub(one, link.url)


_FILTERS = {
    "json": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
    "base64": lambda v: base64.b64encode(str(v).encode("utf-8")).decode("ascii"),
    "url": lambda v: quote(str(v), safe=""),
}
