"""The layout keeps its shape (docs/architecture.md): few loose modules, no import cycles,
nothing imports the typer adapters, small modules, client knowledge only in the profiles."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "src" / "dot_setup"
MAX_LOOSE = 8
MAX_LINES = 400


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = module.split(".")
            parts = parts if is_package else parts[:-1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        yield base
        yield from (f"{base}.{alias.name}" for alias in node.names)


@cache
def imports() -> dict[str, set[str]]:
    """Each module's imports of dot_setup modules, at module level or inside functions."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _imported(node, name, path.name == "__init__.py"):
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target.startswith("dot_setup") and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_few_modules_sit_loose_at_the_top() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(loose) <= MAX_LOOSE, loose


def test_no_import_cycles() -> None:
    assert cycles(imports()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_imports_the_command_adapters() -> None:
    """commands/ are typer adapters: only the CLI entry point (and they themselves) use them."""
    offenders = {
        name: sorted(t for t in targets if t.startswith("dot_setup.commands"))
        for name, targets in imports().items()
        if not name.startswith("dot_setup.commands") and name != "dot_setup.cli"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_typer_is_only_used_by_the_command_adapters() -> None:
    users = sorted(
        name
        for name, path in modules().items()
        if any(
            target.split(".")[0] == "typer"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            for target in _imported(node, name, path.name == "__init__.py")
        )
    )
    assert [u for u in users if not u.startswith("dot_setup.commands")] == ["dot_setup.cli"]


def test_modules_stay_small() -> None:
    sizes = {
        name: sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        for name, path in modules().items()
    }
    assert {k: v for k, v in sizes.items() if v > MAX_LINES} == {}


def _client_ids() -> set[str]:
    ids = set()
    for path in (REPO / "client_profiles").glob("*.toml"):
        ids.add(tomllib.loads(path.read_text(encoding="utf-8"))["id"])
    return ids


def _strings(tree: ast.AST) -> Iterator[ast.Constant]:
    """Every string constant except docstrings (prose may name a client)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node


def test_no_client_is_spelled_in_code() -> None:
    """Client knowledge is data (client_profiles/*.toml): code holds mechanisms only."""
    ids = _client_ids()
    assert len(ids) > 20
    found = sorted(
        f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}"
        for path in modules().values()
        for node in _strings(ast.parse(path.read_text(encoding="utf-8")))
        if node.value in ids
    )
    assert found == []


def test_the_demo_sandbox_names_known_clients_and_their_files() -> None:
    """The demo's client list is data; each of its clients exists, and each sandbox file is
    one of those clients' own config files (so the demo shows edits that keep other bytes)."""
    from dot_setup.flows.demo import sandbox_plan
    from dot_setup.profiles.loader import load_clients

    plan = sandbox_plan()
    clients = load_clients()
    assert set(plan["clients"]) <= set(clients), plan["clients"]
    user_files = {
        t.paths.get("linux") or t.paths.get("all")
        for cid in plan["clients"]
        for t in clients[cid].targets
        if t.scope == "user"
    }
    assert {f"{{home}}/{rel}" for rel in plan["files"]} <= user_files
