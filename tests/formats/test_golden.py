"""Golden files: what set_entry writes for every file client, on a fixed set of inputs.

Inputs: tests/golden/<format>/<case>.<ext> (bytes as they are: BOM, CRLF and tabs are kept).
A target whose container is a list (list_key, e.g. Mistral Vibe's [[mcp_servers]]) reads
<case>.list.<ext> first when it exists, because a file cannot hold both shapes of the container.
The `missing` case has no input: the writer passes "" for a file that does not exist.

Expected: tests/golden/<client>/<case>.after (the exact output text), or <case>.error when the
edit must fail (`ParseFailure line:col` or `ShapeFailure: message`).

Every client profile with kind = "file" and a user-scope target is covered, rendering its
`http_bearer` shape (or the first shape `render_entry` picks for a token) for the name "dot" on
linux. Besides the exact text, each output is parsed with an independent parser (json, json5,
tomllib, ruamel safe) and must equal the input's value with only the dot entry added.

Regenerate after an intended change, then review the diff by eye:

    DOT_SETUP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/formats/test_golden.py
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import json5
import pytest

from dot_setup.engine.render import Connection, render_entry
from dot_setup.formats import get_format
from dot_setup.formats.base import ParseFailure, ShapeFailure
from dot_setup.profiles import loader
from dot_setup.profiles.schema import ClientProfile, Target

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("DOT_SETUP_UPDATE_GOLDEN") == "1"
NAME = "dot"
URL = "https://app.getdot.ai/ai/mcp"
TOKEN = "dot_mcp_us_GOLDENTOKEN0000000000"

COMMON = [
    "empty",
    "whitespace-only",
    "missing",
    "other-servers",
    "unknown-top-level-keys",
    "empty-container",
    "bom",
    "crlf",
    "unicode",
    "nested-container",
    "malformed",
]
CASES = {
    "json": COMMON,
    "jsonc": [*COMMON, "comments", "trailing-commas"],
    "toml": [*COMMON, "comments"],
    "yaml": [*COMMON, "comments"],
}
# Where each malformed input is broken, found by hand (not by running the editor).
MALFORMED_AT = {
    "json": (5, 7),  # the "args" key after "command": "npx" with no comma
    "jsonc": (7, 7),  # the "env" key after the block comment, no comma before it
    "toml": (4, 17),  # the second string after `command = "npx" `
    "yaml": (5, 4),  # "type:" indented less than its sibling "enabled:"
}


def _file_clients() -> list[tuple[ClientProfile, Target]]:
    clients = loader.load_clients()
    out = []
    for profile in clients.values():
        target = profile.target("user")
        if profile.kind == "file" and target is not None:
            out.append((profile, target))
    return out


CLIENTS = _file_clients()
SERVICE = loader.load_services()["dot"]

# Open editor bugs the goldens show, as (format, list container?, case) -> reason (none at the
# moment). test_golden is marked xfail(strict=True) there, so a fix shows up as an XPASS failure
# and the mark must go. Add a minimal reproducer to test_toml_yaml_bugs.py for each.
GOLDEN_BUGS: dict[tuple[str, bool, str], str] = {}


def _params() -> list[Any]:
    out = []
    for profile, target in CLIENTS:
        for case in CASES[target.format]:
            reason = GOLDEN_BUGS.get((target.format, bool(target.list_key), case))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(profile, target, case, id=f"{profile.id}-{case}", marks=marks))
    return out


_RENDERED: dict[str, dict[str, Any]] = {}


def rendered(profile: ClientProfile) -> dict[str, Any]:
    if profile.id not in _RENDERED:
        conn = Connection(service=SERVICE, url=URL, auth="token", name=NAME, token=TOKEN)
        _RENDERED[profile.id] = render_entry(profile, conn, "linux").entry
    return copy.deepcopy(_RENDERED[profile.id])


def input_file(target: Target, case: str) -> Path | None:
    if case == "missing":
        return None
    folder = GOLDEN / target.format
    if target.list_key:
        listed = folder / f"{case}.list.{target.format}"
        if listed.exists():
            return listed
    return folder / f"{case}.{target.format}"


def read(path: Path | None) -> str:
    # bytes, not read_text: universal newlines would turn CRLF into LF
    return "" if path is None else path.read_bytes().decode("utf-8")


def outcome(target: Target, text: str, entry: dict[str, Any]) -> tuple[str, str]:
    fmt = get_format(target.format)
    try:
        return "after", fmt.set_entry(text, target.container, target.list_key, NAME, entry)
    except ParseFailure as exc:
        return "error", f"ParseFailure {exc.line}:{exc.col}\n"
    except ShapeFailure as exc:
        return "error", f"ShapeFailure: {exc}\n"


def independent_parse(format_name: str, text: str) -> Any:
    """The document's value by a parser that is not the editor's (None: empty document)."""
    return copy.deepcopy(_independent_parse(format_name, text))


@functools.lru_cache(maxsize=512)  # inputs are shared by the clients of a format; json5 is slow
def _independent_parse(format_name: str, text: str) -> Any:
    body = text.removeprefix("\ufeff")
    if not body.strip():
        return None
    if format_name == "json":
        return json.loads(body)
    if format_name == "jsonc":
        return json5.loads(body)
    if format_name == "toml":
        return tomllib.loads(body)
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def ordered(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def expected_value(before: Any, target: Target, entry: dict[str, Any]) -> Any:
    """The input's value with only our entry added (appended, or replaced in place)."""
    doc = copy.deepcopy(before) if before is not None else {}
    node = doc
    for key in target.container[:-1]:
        node = node.setdefault(key, {})
    last = target.container[-1]
    if target.list_key:
        item = {target.list_key: NAME, **{k: v for k, v in entry.items() if k != target.list_key}}
        items = node.get(last) or []
        at = next((i for i, e in enumerate(items) if e.get(target.list_key) == NAME), None)
        if at is None:
            items.append(item)
        else:
            items[at] = item
        node[last] = items
    else:
        if node.get(last) is None:
            node[last] = {}
        node[last][NAME] = entry
    return doc


def _golden_paths(profile: ClientProfile, case: str) -> dict[str, Path]:
    folder = GOLDEN / profile.id
    return {"after": folder / f"{case}.after", "error": folder / f"{case}.error"}


@pytest.mark.parametrize(("profile", "target", "case"), _params())
def test_golden(profile: ClientProfile, target: Target, case: str, request: Any) -> None:
    entry = rendered(profile)
    source = input_file(target, case)
    text = read(source)
    kind, result = outcome(target, text, entry)
    paths = _golden_paths(profile, case)

    if UPDATE:
        request.getfixturevalue("no_tripwire")  # the goldens live in the repository
        paths[kind].parent.mkdir(parents=True, exist_ok=True)
        paths[kind].write_bytes(result.encode("utf-8"))
        other = paths["error" if kind == "after" else "after"]
        if other.exists():
            other.unlink()

    expected_file = next((p for p in paths.values() if p.exists()), None)
    assert expected_file is not None, f"no golden for {profile.id}/{case}; see the module docstring"
    assert expected_file.suffix == f".{kind}", (
        f"expected {expected_file.name}, got {kind}: {result}"
    )
    assert result == read(expected_file)

    if case == "malformed":  # the position found by hand, not just what the golden recorded
        assert result == "ParseFailure {}:{}\n".format(*MALFORMED_AT[target.format])
    if kind == "error":
        return
    if case == "crlf":  # was broken for TOML (new lines in LF) and YAML (whole file in LF)
        assert result.count("\n") == result.count("\r\n"), "CRLF lost"
    if case == "bom":  # was broken for YAML (ruamel dropped it); a BOM TOML file is refused
        assert result.startswith("\ufeff") and result.count("\ufeff") == 1, "BOM lost"

    # the output parses with an independent parser and holds exactly one change: our entry
    before = independent_parse(target.format, text)
    after = independent_parse(target.format, result)
    assert ordered(after) == ordered(expected_value(before, target, entry))
    # ... and the editor reads back what it wrote
    fmt = get_format(target.format)
    assert fmt.entries(result, target.container, target.list_key)[NAME] == {
        **({target.list_key: NAME} if target.list_key else {}),
        **entry,
    }
    # setting the same entry again changes nothing
    assert fmt.set_entry(result, target.container, target.list_key, NAME, entry) == result
    # and removing it gives back the input
    check_remove_restores(target, text, result)


def check_remove_restores(target: Target, text: str, result: str) -> None:
    fmt = get_format(target.format)
    back = fmt.remove_entry(result, target.container, target.list_key, NAME)
    if fmt.entries(text, target.container, target.list_key):
        assert back == text, "remove_entry(set_entry(input)) is not the input"
        return
    # The container was absent or empty. JSON and YAML leave it, empty; TOML drops a
    # [mcp_servers.dot] super table with its entry, and leaves `mcp_servers = []` for a list.
    before = independent_parse(target.format, text)
    with_empty = copy.deepcopy(before) if before is not None else {}
    node = with_empty
    for key in target.container[:-1]:
        node = node.setdefault(key, {})
    node[target.container[-1]] = [] if target.list_key else {}
    # (key order not compared: TOML puts a left-over `mcp_servers = []` at the top)
    assert independent_parse(target.format, back) in (before, with_empty)
    if target.format in ("json", "jsonc") and text.strip():
        assert _is_subsequence(text, back), "bytes of the input were lost"


def _is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def test_every_file_client_is_covered() -> None:
    ids = {profile.id for profile, _ in CLIENTS}
    file_clients = {p.id for p in loader.load_clients().values() if p.kind == "file"}
    # The goldens edit user-scope files; these clients read only a project's file.
    project_only = {"librechat", "fast-agent", "mcp-cli"}
    assert file_clients - ids == project_only
    for pid in project_only:
        assert loader.get_client(pid).target("user") is None, (
            f"{pid} now has a user file: add goldens"
        )
    for profile, _ in CLIENTS:
        assert (GOLDEN / profile.id).is_dir(), f"no goldens for {profile.id}"


def test_no_stale_goldens() -> None:
    """Every file under tests/golden/<client>/ belongs to a current (client, case)."""
    wanted = {
        path
        for profile, target in CLIENTS
        for case in CASES[target.format]
        for path in _golden_paths(profile, case).values()
    }
    formats = set(CASES)
    for folder in GOLDEN.iterdir():
        if folder.is_dir() and folder.name not in formats:
            for path in folder.iterdir():
                assert path in wanted, f"stale golden {path.relative_to(GOLDEN)}"


@pytest.mark.parametrize("format_name", sorted(CASES))
def test_inputs_exist_and_parse(format_name: str) -> None:
    """Every input is there, and every input but the malformed and BOM-TOML ones is valid."""
    for case in CASES[format_name]:
        if case == "missing":
            continue
        path = GOLDEN / format_name / f"{case}.{format_name}"
        assert path.exists(), path
        text = read(path)
        if case == "malformed":
            with pytest.raises(Exception):  # noqa: B017 - each parser has its own error
                independent_parse(format_name, text)
        elif not (format_name == "toml" and case == "bom"):
            independent_parse(format_name, text)


# --- bytes outside the entry -------------------------------------------------------------------


def test_yaml_keeps_escapes_outside_the_entry() -> None:
    """Was broken: ruamel re-emitted "caf\\u00e9" outside the entry as "café"."""
    (profile, target), *_ = [(p, t) for p, t in CLIENTS if p.id == "goose"]
    text = read(input_file(target, "unicode"))
    kind, result = outcome(target, text, rendered(profile))
    assert kind == "after"
    assert '"caf\\u00e9 \\U0001F370 \\"quoted\\""' in text
    assert '"caf\\u00e9 \\U0001F370 \\"quoted\\""' in result
