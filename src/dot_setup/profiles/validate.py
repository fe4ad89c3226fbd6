"""Validation of client and service profiles: one parsed TOML document in, frozen dataclasses
(`profiles.schema`) out, or a `ProfileError` naming the file and the key.

Unknown keys are errors, so a typo in a profile never silently changes what gets written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dot_setup.errors import ProfileError
from dot_setup.profiles.schema import (
    AUTH_MODES,
    CATEGORIES,
    FORMATS,
    LINK_FILTERS,
    LINK_VALUES,
    OS_KEYS,
    PLACEHOLDERS,
    PROOFS,
    SCHEMA_VERSION,
    SCOPES,
    SHAPES,
    ClientProfile,
    Detect,
    Link,
    Manual,
    ManualField,
    Shape,
    Target,
    Template,
    Verified,
)

_LINK_RE = re.compile(r"\{\{([a-z_]+)((?:\|[a-z0-9]+)*)\}\}")
_PLACEHOLDER_RE = re.compile(r"\{\{([a-z_]+)\}\}")
_ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)+([-+.][0-9A-Za-z.-]+)?$")


class _Reader:
    """Reads one table, recording which keys were used, so leftovers are reported as unknown."""

    def __init__(self, data: Mapping[str, Any], where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ProfileError(f"{source}: {where or 'top level'} must be a table", _HINT)
        self.data = data
        self.where = where
        self.source = source
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, what: str) -> ProfileError:
        return ProfileError(f"{self.source}: {self._path(key)}: {what}", _HINT)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "missing required field")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {names}, got {type(value).__name__}")
        return value

    def text(self, key: str, default: Any = ...) -> str:
        value: str = self.get(key, str, default)
        return value

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if any(not isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of strings")
        return tuple(value)

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.text(key, default)
        if value not in allowed:
            raise self.fail(key, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def sub(self, key: str, default: Any = ...) -> _Reader | None:
        value = self.get(key, dict, default)
        return None if value is None else _Reader(value, self._path(key), self.source)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "unknown field (typo, or a newer profile format?)")


_HINT = "profiles ship with dot-setup: report this, or fix the file if you edited it"


def check_placeholders(template: Template, where: str, source: str) -> None:
    """Reject any `{{name}}` that the renderer does not know."""
    if isinstance(template, str):
        for name in _PLACEHOLDER_RE.findall(template):
            if name not in PLACEHOLDERS:
                raise ProfileError(f"{source}: {where}: unknown placeholder {{{{{name}}}}}", _HINT)
    elif isinstance(template, Mapping):
        for key, value in template.items():
            check_placeholders(key, f"{where} (key {key!r})", source)
            check_placeholders(value, f"{where}.{key}", source)
    elif isinstance(template, list):
        for i, value in enumerate(template):
            check_placeholders(value, f"{where}[{i}]", source)


def _os_map(reader: _Reader, key: str, required: bool) -> dict[str, str]:
    sub = reader.sub(key, ... if required else None)
    if sub is None:
        return {}
    result = {os_key: sub.text(os_key) for os_key in OS_KEYS if os_key in sub.data}
    for os_key in OS_KEYS:
        sub.used.add(os_key)
    sub.finish()
    if required and not result:
        raise reader.fail(key, "needs at least one of all, linux, macos, windows")
    return result


def _verified(vr: _Reader) -> Verified:
    """A real-client proof names the program, its exact version and what it showed."""
    method = vr.choice("method", ("real-client", "docs"))
    real = method == "real-client"
    verified = Verified(
        method=method,
        source=vr.text("source"),
        date=vr.text("date"),
        notes=vr.text("notes", ""),
        program=vr.text("program") if real else "",
        version=vr.text("version") if real else "",
        proof=vr.choice("proof", PROOFS) if real else "",
    )
    if real and not _VERSION_RE.match(verified.version):
        raise vr.fail("version", "an exact version such as 7.7.7, as the test installed it")
    vr.finish()
    return verified


def _target(data: Any, index: int, source: str) -> Target:
    r = _Reader(data, f"targets[{index}]", source)
    container = r.strings("container")
    if not container:
        raise r.fail("container", "must name at least one key")
    env_sub = r.sub("env_paths", None)
    env_paths: dict[str, str] = {}
    if env_sub is not None:
        env_paths = {k: env_sub.text(k) for k in list(env_sub.data)}
        env_sub.finish()
    target = Target(
        scope=r.choice("scope", SCOPES),
        format=r.choice("format", FORMATS),
        container=container,
        paths=_os_map(r, "paths", required=True),
        env_paths=env_paths,
        prefer_existing=r.strings("prefer_existing", ()),
        list_key=r.text("list_key", ""),
        note=r.text("note", ""),
        new_file=_new_file(r, container),
        requires=_requires(r, container),
    )
    r.finish()
    return target


def _new_file(r: _Reader, container: tuple[str, ...]) -> dict[str, Any]:
    """`new_file`: plain values (no placeholders, no token) the created file starts with."""
    value: dict[str, Any] = r.get("new_file", dict, {})
    if container[0] in value:
        raise r.fail("new_file", f"{container[0]!r} is the container: the entry creates it")
    bad = _not_plain(value)
    if bad:
        raise r.fail("new_file", bad)
    return value


def _requires(r: _Reader, container: tuple[str, ...]) -> dict[str, Any]:
    """`requires`: plain settings beside the entry; never the container itself."""
    value: dict[str, Any] = r.get("requires", dict, {})
    for path, _ in requirement_leaves(value):
        if path == container[: len(path)] and len(path) >= len(container):
            raise r.fail("requires", "may not set keys inside the container: the entry goes there")
    bad = _not_plain(value)
    if bad:
        raise r.fail("requires", bad)
    return value


def requirement_leaves(
    value: Mapping[str, Any], path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    """`{mcp: {enabled: true}}` -> [(("mcp", "enabled"), True)]: each setting with its key path."""
    leaves: list[tuple[tuple[str, ...], Any]] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            leaves += requirement_leaves(item, (*path, key))
        else:
            leaves.append(((*path, key), item))
    return leaves


def _not_plain(value: Any) -> str:
    """Why `value` cannot go in every format as it is (a date, a placeholder), or ""."""
    if isinstance(value, str):
        if _PLACEHOLDER_RE.search(value):
            return "no {{placeholders}} here: a new file starts the same for everyone"
        return ""
    if isinstance(value, bool | int | float):
        return ""
    if isinstance(value, Mapping):
        return next((why for v in value.values() if (why := _not_plain(v))), "")
    if isinstance(value, list):
        return next((why for v in value if (why := _not_plain(v))), "")
    return f"{type(value).__name__} values cannot be written to every format"


def _shape(data: Any, name: str, source: str) -> Shape:
    r = _Reader(data, f"shapes.{name}", source)
    entry = r.get("entry", dict)
    check_placeholders(entry, f"shapes.{name}.entry", source)
    wrap_sub = r.sub("windows_wrap", None)
    wrap: dict[str, str] = {}
    if wrap_sub is not None:
        wrap = {k: wrap_sub.text(k) for k in ("command", "args", "argv") if k in wrap_sub.data}
        wrap_sub.used.update(wrap)
        wrap_sub.finish()
        if set(wrap) not in ({"command", "args"}, {"argv"}):
            raise r.fail("windows_wrap", "give either command + args, or argv")
    r.finish()
    return Shape(entry=entry, windows_wrap=wrap)


def _manual(reader: _Reader) -> Manual:
    steps: dict[str, tuple[str, ...]] = {}
    fields: dict[str, tuple[ManualField, ...]] = {}
    for mode in AUTH_MODES:
        sub = reader.sub(mode, None)
        if sub is None:
            continue
        steps[mode] = sub.strings("steps")
        for i, step in enumerate(steps[mode]):
            check_placeholders(step, f"manual.{mode}.steps[{i}]", reader.source)
        items = []
        for i, raw in enumerate(sub.get("fields", list, [])):
            fr = _Reader(raw, f"manual.{mode}.fields[{i}]", reader.source)
            value = fr.get("value", (str, dict, list))
            check_placeholders(value, f"manual.{mode}.fields[{i}].value", reader.source)
            items.append(ManualField(label=fr.text("label"), value=value))
            fr.finish()
        fields[mode] = tuple(items)
        sub.finish()
    reader.finish()
    if not steps:
        raise reader.fail("oauth", "a manual section needs an oauth or a token part")
    return Manual(steps=steps, fields=fields)


def _commands(reader: _Reader | None) -> dict[str, str]:
    if reader is None:
        return {}
    commands = {mode: reader.text(mode) for mode in AUTH_MODES if mode in reader.data}
    reader.used.update(commands)
    for mode, command in commands.items():
        check_placeholders(command, f"commands.{mode}", reader.source)
    reader.finish()
    return commands


def _links(raw: list[Any], source: str) -> tuple[Link, ...]:
    links = []
    for i, item in enumerate(raw):
        r = _Reader(item, f"links[{i}]", source)
        link = Link(label=r.text("label"), url=r.text("url"))
        r.finish()
        for name, filters in _LINK_RE.findall(link.url):
            if name not in LINK_VALUES:
                raise r.fail(
                    "url", f"{{{{{name}}}}} cannot go in a link (links never carry a token)"
                )
            for f in filter(None, filters.split("|")):
                if f not in LINK_FILTERS:
                    raise r.fail(
                        "url", f"unknown filter |{f}; known: {', '.join(sorted(LINK_FILTERS))}"
                    )
        links.append(link)
    return tuple(links)


def _detect(reader: _Reader | None) -> Detect:
    if reader is None:
        return Detect(paths={})
    paths: dict[str, tuple[str, ...]] = {}
    for os_key in OS_KEYS:
        if os_key == "all":
            continue
        sub = reader.sub(os_key, None)
        if sub is not None:
            paths[os_key] = sub.strings("paths")
            sub.finish()
    paths["all"] = reader.strings("paths", ())
    detect = Detect(paths=paths, executables=reader.strings("executables", ()))
    reader.finish()
    return detect


def parse_client(data: Mapping[str, Any], source: str) -> ClientProfile:
    r = _Reader(data, "", source)
    schema = r.get("schema", int)
    if schema != SCHEMA_VERSION:
        raise r.fail("schema", f"this dot-setup reads profile schema {SCHEMA_VERSION}")
    pid = r.text("id")
    if not _ID_RE.match(pid):
        raise r.fail("id", "use lowercase letters, digits and dashes")
    kind = r.choice("kind", ("file", "manual"))
    vr = r.sub("verified")
    assert vr is not None
    verified = _verified(vr)
    targets = tuple(_target(t, i, source) for i, t in enumerate(r.get("targets", list, [])))
    shapes_sub = r.sub("shapes", None)
    shapes: dict[str, Shape] = {}
    if shapes_sub is not None:
        for name in list(shapes_sub.data):
            if name not in SHAPES:
                raise shapes_sub.fail(name, f"unknown shape; known: {', '.join(SHAPES)}")
            shapes[name] = _shape(shapes_sub.data[name], name, source)
            shapes_sub.used.add(name)
        shapes_sub.finish()
    manual_sub = r.sub("manual", None)
    profile = ClientProfile(
        id=pid,
        name=r.text("name"),
        kind=kind,
        docs_url=r.text("docs_url"),
        next_step=r.text("next_step"),
        oauth=r.get("oauth", bool),
        verified=verified,
        detect=_detect(r.sub("detect", None)),
        targets=targets,
        shapes=shapes,
        header_env_syntax=r.text("header_env_syntax", ""),
        timeout_setting=r.text("timeout_setting", ""),
        processes=r.strings("processes", ()),
        manual=_manual(manual_sub) if manual_sub is not None else None,
        notes=r.text("notes", ""),
        source_file=source,
        category=r.choice("category", CATEGORIES),
        commands=_commands(r.sub("commands", None)),
        links=_links(r.get("links", list, []), source),
    )
    r.finish()
    _check_client(profile, r)
    return profile


def _check_client(p: ClientProfile, r: _Reader) -> None:
    if p.kind == "file":
        if not p.targets:
            raise r.fail("targets", "a file client needs at least one target")
        if not p.shapes:
            raise r.fail("shapes", "a file client needs at least one shape")
        scopes = [t.scope for t in p.targets]
        if len(scopes) != len(set(scopes)):
            raise r.fail("targets", "one target per scope")
        if p.oauth and not ({"http_oauth", "stdio_oauth"} & set(p.shapes)):
            raise r.fail("oauth", "oauth = true needs an http_oauth or stdio_oauth shape")
    elif p.manual is None:
        raise r.fail("manual", "a manual client needs a manual section")
    if p.header_env_syntax and "VAR" not in p.header_env_syntax:
        raise r.fail("header_env_syntax", "must contain VAR where the variable name goes")
    if p.links and not p.oauth:
        raise r.fail("links", "install links carry the OAuth entry: the client needs oauth = true")
