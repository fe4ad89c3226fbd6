#!/usr/bin/env python3
"""Whole-process benchmarks of dot-setup, side by side with add-mcp 2.4.0 when it is installed.

Run it with the project's interpreter (stdlib only, besides dot-setup itself):

    .venv/bin/python bench/run.py              # everything, default run counts
    .venv/bin/python bench/run.py --quick      # a fast smoke run (3 runs each)
    .venv/bin/python bench/run.py --only startup,install20 --runs 30
    .venv/bin/python bench/run.py --profile    # also cProfile the install paths

Sections (bench/README.md says what every number means):
  imports   `python -X importtime -c 'import dot_setup.cli'`: top 10 cumulative imports, and a
            check that mcp, questionary and httpx2 are not imported at start-up; the same
            summary for the 20-client install process.
  startup   `--version` and `--help`, whole process, vs add-mcp.
  install20 ONE `dot-setup install --client a ... --auth token --region us --yes` process
            writing 20 config files into an empty fake home, vs
            `add-mcp URL -n dot -h 'Authorization: Bearer ...' -y -g --all`.
  large     a generated ~12 MiB ~/.claude.json: JsonFormat.set_entry + write vs json.loads +
            write (in-process, target: ratio <= 1.5), and the whole install process on it.
  serve     `dot-setup serve`: tools/call throughput and p50/p99 latency at 1, 8 and 64
            clients, bearer auth vs --dev-no-auth (target: auth overhead < 15%), and checks of
            the request path (bench/serve_bench.py; it needs httpx2, a dot-setup dependency).

Every process runs in a fresh fake home (HOME, XDG_*_HOME, DOT_SETUP_STATE_DIR point into a temp
dir made before the clock starts and removed after it stops); the token reaches dot-setup through
DOT_MCP_TOKEN, never argv. Timings are wall-clock `time.perf_counter()` around `subprocess.run`;
CPU is the child's user+sys from `resource.getrusage(RUSAGE_CHILDREN)`. A and B run in turn
(A B A B ...) so drift of the machine's speed hits both alike. If `hyperfine` is on PATH, the
process comparisons are repeated with it as a second opinion.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADD_MCP_VERSION = "2.4.0"
# Targets (dot-setup / baseline, medians): start-up and the 20-client install against add-mcp;
# the 12 MiB edit as a whole process against a stdlib read + json.loads + atomic write process.
TARGET_STARTUP = 0.6
TARGET_INSTALL = 0.8
TARGET_LARGE_PROCESS = 1.5
TARGET_LARGE_IN_PROCESS = 1.5
ADD_MCP_URL = "https://example.test/ai/mcp"
# A syntactically valid Dot token for region us (dot_mcp_<region>_...). Given through the
# environment only; add-mcp has no such input and takes its header on argv (its own design).
TOKEN = "dot_mcp_us_BENCHTOKEN0123456789abcdef"
CLAUDE_ENTRY = {
    "type": "http",
    "url": "https://app.getdot.ai/ai/mcp",
    "headers": {"Authorization": f"Bearer {TOKEN}"},
}
FORBIDDEN_AT_STARTUP = ("mcp", "mcp_types", "questionary", "httpx2", "httpx")
# The format mix of add-mcp's 20 `--all` files (17 JSON/JSONC, 2 TOML, 1 YAML), so both tools
# write comparable files.
FORMAT_QUOTAS = ((("json", "jsonc"), 17), (("toml",), 2), (("yaml",), 1))
# Variables that would send a write outside the fake home (client overrides, our own knobs);
# the profiles' own `env_paths` variables are added to these at start (client_env_vars).
_CLEARED_PREFIXES = ("DOT_SETUP_", "XDG_")
_CLEARED = {
    "DOT_MCP_TOKEN",
    "CI",
    "CODEX_HOME",
    "CLAUDE_CONFIG_DIR",
    "COPILOT_HOME",
    "GEMINI_CLI_HOME",
    "QWEN_HOME",
    "VIBE_HOME",
}


# ---------------------------------------------------------------------------------------------
# Statistics and printing


@dataclass
class Series:
    label: str
    wall: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)  # seconds, user + sys
    codes: list[int] = field(default_factory=list)

    def med(self) -> float:
        return statistics.median(self.wall)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def print_table(rows: list[Series]) -> None:
    width = max(len(r.label) for r in rows) + 2
    print(
        f"  {'command':<{width}} {'runs':>4} {'min ms':>8} {'median':>8} {'max ms':>8}"
        f" {'cpu med':>8}  exit"
    )
    for r in rows:
        codes = ",".join(str(c) for c in sorted(set(r.codes)))
        cpu = ms(statistics.median(r.cpu)) if r.cpu else "       -"
        print(
            f"  {r.label:<{width}} {len(r.wall):>4} {ms(min(r.wall))} {ms(r.med())}"
            f" {ms(max(r.wall))} {cpu}  {codes}"
        )


def print_ratio(
    a: Series, b: Series, target: float, what: str, inclusive: bool = False
) -> dict[str, Any]:
    ratio = a.med() / b.med()
    paired = statistics.median(x / y for x, y in zip(a.wall, b.wall, strict=False))
    meets = ratio <= target if inclusive else ratio < target
    verdict = "MEETS" if meets else "MISSES"
    print(
        f"  ratio {a.label} / {b.label}: {ratio:.2f} (medians), {paired:.2f} (paired runs)"
        f" -> {verdict} the target ({what})"
    )
    return {"ratio": ratio, "paired_ratio": paired, "target": target, "meets": meets}


def section(title: str) -> None:
    print()
    print(f"== {title} " + "=" * max(0, 90 - len(title)))


# ---------------------------------------------------------------------------------------------
# Fake homes and whole-process timing


def client_env_vars() -> set[str]:
    """Every variable a client profile reads to relocate its config file (CODEX_HOME, ...)."""
    from dot_setup.profiles.loader import load_clients

    return {var for p in load_clients().values() for t in p.targets for var in t.env_paths}


def fake_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _CLEARED and not k.startswith(_CLEARED_PREFIXES)
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        DOT_SETUP_STATE_DIR=str(home / ".local" / "state" / "dot-setup"),
        DOT_MCP_TOKEN=TOKEN,
        NO_COLOR="1",
        NO_UPDATE_NOTIFIER="1",
        npm_config_update_notifier="false",
    )
    env.update(extra or {})
    return env


@dataclass
class Cmd:
    label: str
    argv: list[str]
    setup: Callable[[Path], None] | None = None  # prepares the fresh home (outside the clock)
    check: Callable[[Path, subprocess.CompletedProcess[bytes]], str] | None = None
    ok_codes: tuple[int, ...] = (0,)


class Bench:
    def __init__(self, root: Path, runs: int, warmup: int, hyperfine: str | None) -> None:
        self.root = root
        self.hyperfine_exe = hyperfine
        self.runs = runs
        self.warmup = max(1, warmup)  # the first warm-up run is also the correctness check
        self.cwd = root / "cwd"  # a stable, empty working directory for every process
        self.cwd.mkdir(exist_ok=True)
        self._n = 0

    @contextlib.contextmanager
    def home(self) -> Iterator[Path]:
        self._n += 1
        home = self.root / f"home-{self._n}"
        home.mkdir()
        try:
            yield home
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def once(self, cmd: Cmd, capture: bool) -> tuple[float, float, int, str]:
        with self.home() as home:
            if cmd.setup:
                cmd.setup(home)
            env = fake_env(home)
            out = subprocess.PIPE if capture else subprocess.DEVNULL
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd.argv,
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                check=False,
            )
            t1 = time.perf_counter()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            note = ""
            if capture:
                if proc.returncode not in cmd.ok_codes:
                    tail = (proc.stderr or b"").decode(errors="replace")[-2000:]
                    raise SystemExit(f"{cmd.label}: exit {proc.returncode}\n{tail}")
                if cmd.check:
                    note = cmd.check(home, proc)
        return t1 - t0, cpu, proc.returncode, note

    def compare(self, cmds: list[Cmd]) -> list[Series]:
        """Run the commands in turn (A B A B ...); the first warm-up run of each is checked."""
        series = [Series(c.label) for c in cmds]
        for i in range(self.warmup + self.runs):
            for cmd, s in zip(cmds, series, strict=True):
                wall, cpu, code, note = self.once(cmd, capture=i == 0)
                if note:
                    print(f"  check {cmd.label}: {note}")
                if i >= self.warmup:
                    s.wall.append(wall)
                    s.cpu.append(cpu)
                    s.codes.append(code)
        print_table(series)
        return series

    def hyperfine(self, cmds: list[Cmd], setup_sh: str = "") -> None:
        """The same comparison under hyperfine (if on PATH): its median / min / max."""
        exe = self.hyperfine_exe
        if not exe:
            return
        home = self.root / "hf-home"
        prepare = f"rm -rf {shlex.quote(str(home))} && mkdir -p {shlex.quote(str(home))}"
        if setup_sh:
            prepare += " && " + setup_sh.format(home=shlex.quote(str(home)))
        out = self.root / "hyperfine.json"
        argv = [
            exe,
            "-N",
            "-i",
            "--style",
            "none",
            "--warmup",
            str(self.warmup),
            "--runs",
            str(self.runs),
            "--prepare",
            f"sh -c {shlex.quote(prepare)}",
            "--export-json",
            str(out),
        ]
        for c in cmds:
            argv += ["-n", c.label, shlex.join(c.argv)]
        subprocess.run(
            argv,
            env=fake_env(home),
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if not out.exists():
            print("  hyperfine: no result")
            return
        results = json.loads(out.read_text())["results"]
        for r in results:
            print(
                f"  hyperfine {r['command']:<{max(len(c.label) for c in cmds)}}"
                f" min {ms(r['min'])}  median {ms(r['median'])}  max {ms(r['max'])} ms"
                f"  (mean {ms(r['mean']).strip()} ± {r['stddev'] * 1000:.1f})"
            )
        if len(results) == 2:
            print(
                f"  hyperfine ratio of medians: {results[0]['median'] / results[1]['median']:.2f}"
            )
        shutil.rmtree(home, ignore_errors=True)


def config_files(home: Path) -> list[str]:
    """Files a run left in the fake home, minus dot-setup's own state (locks, backups)."""
    state = home / ".local" / "state"
    return sorted(
        str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and state not in p.parents
    )


def check_count(expected: int) -> Callable[[Path, subprocess.CompletedProcess[bytes]], str]:
    def check(home: Path, proc: subprocess.CompletedProcess[bytes]) -> str:
        files = config_files(home)
        flag = "" if len(files) >= expected else f"  (EXPECTED {expected})"
        return f"exit {proc.returncode}, {len(files)} config files written{flag}"

    return check


# ---------------------------------------------------------------------------------------------
# Tools


def find_dot_setup() -> str:
    beside = Path(sys.executable).parent / "dot-setup"
    if beside.exists():
        return str(beside)
    found = shutil.which("dot-setup")
    if not found:
        raise SystemExit("dot-setup is not installed: run `pip install -e .` in the venv")
    return found


def find_add_mcp(install: bool) -> str | None:
    cache = Path(
        os.environ.get("DOT_SETUP_CLIENTS_DIR")
        or Path.home() / ".cache" / "dot-setup" / "test-clients"
    )
    exe = cache / "node_modules" / ".bin" / "add-mcp"
    if exe.exists():
        return str(exe)
    npm = shutil.which("npm")
    if install and npm:
        print(f"  installing add-mcp@{ADD_MCP_VERSION} into {cache} ...")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(cache),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"add-mcp@{ADD_MCP_VERSION}",
            ],
            check=False,
        )
        if exe.exists():
            return str(exe)
    print("  add-mcp not available")
    return None


def compile_bytecode() -> None:
    """Compile dot-setup's modules first, as installing a wheel does. Without this, a machine
    with PYTHONDONTWRITEBYTECODE set would time dot-setup compiling itself on every run."""
    import dot_setup

    package = Path(dot_setup.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    print(f"bytecode   compiled ({package})")


def version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


# ---------------------------------------------------------------------------------------------
# Import time


def importtime(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, tuple[int, int, int]]:
    """module -> (cumulative us, self us, depth) from one `python -X importtime` run."""
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    mods: dict[str, tuple[int, int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumul, name = line[len("import time:") :].split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        mods[name.strip()] = (int(cumul), int(self_us), depth)
    return mods


def importtime_summary(
    title: str, argv: list[str], bench: Bench, repeats: int, top: int = 10
) -> dict[str, Any]:
    """Median over `repeats` runs (after one warm-up) of each module's cumulative time."""
    samples: list[dict[str, tuple[int, int, int]]] = []
    for i in range(repeats + 1):
        with bench.home() as home:
            result = importtime(argv, fake_env(home), bench.cwd)
        if i:
            samples.append(result)
    names = set().union(*samples)
    med = {n: statistics.median(s[n][0] for s in samples if n in s) for n in names}
    depth = {n: next(s[n][2] for s in samples if n in s) for n in names}
    total = statistics.median(sum(v[0] for v in s.values() if v[2] == 0) for s in samples)
    print(
        f"  {title}: {len(names)} modules, top-level imports total {total / 1000:.1f} ms"
        f" (median of {repeats}; -X importtime itself adds overhead)"
    )
    print(f"  {'cumulative ms':>13}  module (indent = nesting)")
    for n in sorted(names, key=lambda n: -med[n])[:top]:
        print(f"  {med[n] / 1000:13.1f}  {'  ' * depth[n]}{n}")
    bad = sorted(n for n in names if n.split(".")[0] in FORBIDDEN_AT_STARTUP)
    return {
        "modules": sorted(names),
        "top": sorted(names, key=lambda n: -med[n])[:top],
        "total_ms": total / 1000,
        "forbidden": bad,
        "cumulative_ms": {n: med[n] / 1000 for n in names},
    }


# ---------------------------------------------------------------------------------------------
# Choosing 20 clients


def pick_clients(dot_setup: str, bench: Bench, count: int) -> list[str]:
    """`count` file-kind clients with a user-scope file on linux, in add-mcp's format mix."""
    from dot_setup.profiles.loader import get_client

    with bench.home() as home:
        out = subprocess.run(
            [dot_setup, "list", "--json"],
            env=fake_env(home),
            cwd=bench.cwd,
            capture_output=True,
            text=True,
            check=True,
        )
    rows = json.loads(out.stdout)["data"]["clients"]
    usable = []
    for row in rows:
        if row["kind"] != "file" or not row["path"]:
            continue
        target = get_client(row["id"]).target("user")
        if target is not None:
            usable.append((row["id"], target.format))
    chosen: list[str] = []
    for formats, quota in FORMAT_QUOTAS:
        chosen += [cid for cid, fmt in usable if fmt in formats][:quota]
    chosen += [cid for cid, _ in usable if cid not in chosen]
    if len(usable) < count:
        print(f"  only {len(usable)} file clients have a user-scope file here; using them all")
    return chosen[:count]


# ---------------------------------------------------------------------------------------------
# The large ~/.claude.json


_TEXT = (
    "fix the failing test in refactor the parser so that it handles add a flag for "
    "why does this crash when run the migration and explain implement pagination on "
    "the endpoint update README with review this diff café naïve résumé 日本語 ünïcödé "
    'emoji 🚀 done "quoted" path\\to\\file tab\there newline\nnext line src/app/main.ts '
    "tests/test_api.py components/Button.tsx TypeError: undefined is not a function"
)
_WORDS = _TEXT.split(" ")


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(lo, hi)))


def _paste(rng: random.Random) -> str:
    lines = [
        f'  File "/srv/app/module_{rng.randint(1, 99)}.py", line {rng.randint(1, 999)}, in'
        f" handler_{rng.randint(1, 50)}\n    {_sentence(rng, 4, 12)}"
        for _ in range(rng.randint(5, 40))
    ]
    return "Traceback (most recent call last):\n" + "\n".join(lines) + "\nValueError: bad input"


def _project(rng: random.Random, i: int) -> tuple[str, dict[str, Any]]:
    history = []
    for _ in range(rng.randint(20, 100)):  # Claude Code keeps up to 100 prompts per project
        pasted: dict[str, Any] = {}
        if rng.random() < 0.15:
            pasted = {"1": {"id": 1, "type": "text", "content": _paste(rng)}}
        history.append({"display": _sentence(rng, 3, 60), "pastedContents": pasted})
    model = rng.choice(["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805"])
    project = {
        "allowedTools": rng.sample(["Bash(npm test:*)", "Edit", "Read", "WebFetch"], 2),
        "history": history,
        "mcpContextUris": [],
        "mcpServers": {},
        "enabledMcpjsonServers": [],
        "disabledMcpjsonServers": [],
        "hasTrustDialogAccepted": True,
        "projectOnboardingSeenCount": rng.randint(0, 4),
        "hasClaudeMdExternalIncludesApproved": False,
        "hasClaudeMdExternalIncludesWarningShown": False,
        "exampleFiles": [f"src/file_{rng.randint(1, 500)}.ts" for _ in range(5)],
        "exampleFilesGeneratedAt": 1_730_000_000_000 + rng.randint(0, 10**10),
        "hasCompletedProjectOnboarding": True,
        "lastCost": round(rng.random() * 5, 6),
        "lastAPIDuration": rng.randint(1000, 10**6),
        "lastDuration": rng.randint(1000, 10**7),
        "lastLinesAdded": rng.randint(0, 900),
        "lastLinesRemoved": rng.randint(0, 400),
        "lastTotalInputTokens": rng.randint(0, 10**6),
        "lastTotalOutputTokens": rng.randint(0, 10**5),
        "lastTotalCacheCreationInputTokens": rng.randint(0, 10**6),
        "lastTotalCacheReadInputTokens": rng.randint(0, 10**7),
        "lastTotalWebSearchRequests": 0,
        "lastModelUsage": {
            model: {
                "inputTokens": rng.randint(0, 10**5),
                "outputTokens": rng.randint(0, 10**5),
                "cacheReadInputTokens": rng.randint(0, 10**6),
                "cacheCreationInputTokens": rng.randint(0, 10**5),
                "webSearchRequests": 0,
                "costUSD": round(rng.random() * 3, 6),
            }
        },
        "lastSessionId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }
    return f"/home/dev/code/project-{i:04d}-{rng.choice(_WORDS[:10])}", project


def make_claude_json(target_bytes: int, seed: int = 20261122) -> str:
    """A ~/.claude.json the way Claude Code writes it (JSON.stringify(obj, null, 2))."""
    rng = random.Random(seed)
    projects: dict[str, Any] = {}
    size = 0
    while size < target_bytes:
        key, value = _project(rng, len(projects))
        projects[key] = value
        encoded = json.dumps(value, indent=2, ensure_ascii=False).encode()
        # nested two levels deep in the file: every line gets 4 more spaces of indentation
        size += len(encoded) + 4 * encoded.count(b"\n") + len(key.encode()) + 12
    doc: dict[str, Any] = {
        "numStartups": 412,
        "installMethod": "npm-global",
        "autoUpdates": True,
        "tipsHistory": {f"tip-{i}": rng.randint(1, 400) for i in range(30)},
        "promptQueueUseCount": 37,
        "userID": f"{rng.getrandbits(256):064x}",
        "firstStartTime": "2025-03-02T09:14:51.118Z",
        "projects": projects,
        "oauthAccount": {
            "accountUuid": "00000000-0000-4000-8000-000000000000",
            "emailAddress": "dev@example.test",
            "organizationName": "Example",
        },
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": "2.1.197",
        "cachedChangelog": "# Changelog\n\n"
        + "\n".join(f"- {_sentence(rng, 5, 20)}" for _ in range(300)),
        "mcpServers": {
            "github": {"type": "stdio", "command": "npx", "args": ["-y", "gh-mcp"], "env": {}},
            "linear": {"type": "http", "url": "https://mcp.example.test/linear"},
        },
        "isQualifiedForDataSharing": False,
        "fallbackAvailableWarningThreshold": 0.5,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def big_file(bench: Bench, size_mb: float) -> Path:
    """The generated ~/.claude.json, made once per bench run."""
    big = bench.root / "claude.json"
    if big.exists():
        return big
    t0 = time.perf_counter()
    text = make_claude_json(int(size_mb * 1024 * 1024))
    data = text.encode("utf-8")
    big.write_bytes(data)
    doc = json.loads(text)
    width = (sys.getsizeof(text) - sys.getsizeof("")) / len(text)
    print(
        f"  generated {len(data):,} bytes ({len(data) / 2**20:.2f} MiB), "
        f"{len(doc['projects'])} projects, "
        f"{sum(len(p['history']) for p in doc['projects'].values()):,} history entries, "
        f"in {time.perf_counter() - t0:.1f} s; as a str: {len(text):,} characters at "
        f"~{width:.0f} bytes each (CPython's widest character decides)"
    )
    return big


def large_in_process(
    text: str, runs: int, warmup: int, out: Path, verdict: bool = True
) -> dict[str, Any]:
    from dot_setup.formats.jsonc import JsonFormat, splice_bytes

    fmt = JsonFormat(comments=False)
    data_in = text.encode("utf-8")
    after = fmt.set_entry(text, ("mcpServers",), "", "dot", CLAUDE_ENTRY)
    new, old = json.loads(after), json.loads(text)
    assert new["mcpServers"].pop("dot") == CLAUDE_ENTRY and new == old, "set_entry changed more"
    assert after.startswith(text[: text.rindex('"linear"')]), "bytes before the entry changed"
    after_bytes = after.encode("utf-8")

    a = Series("(a) set_entry_edits + splice bytes + write")
    b = Series("(b) json.loads + write same bytes")
    parts: dict[str, list[float]] = {"set_entry": [], "splice": [], "write": [], "json.loads": []}

    def run_a() -> float:
        # What the writer does: find the spans in the text, splice the file's UTF-8 bytes.
        t0 = time.perf_counter()
        base, edits = fmt.set_entry_edits(text, ("mcpServers",), "", "dot", CLAUDE_ENTRY)
        t1 = time.perf_counter()
        data = splice_bytes(data_in, base, edits)
        t2 = time.perf_counter()
        _write(out, data)
        t3 = time.perf_counter()
        parts["set_entry"].append(t1 - t0)
        parts["splice"].append(t2 - t1)
        parts["write"].append(t3 - t2)
        return t3 - t0

    def run_b() -> float:
        t0 = time.perf_counter()
        json.loads(text)
        t1 = time.perf_counter()
        _write(out, after_bytes)
        t2 = time.perf_counter()
        parts["json.loads"].append(t1 - t0)
        return t2 - t0

    for i in range(warmup + runs):
        order = ((a, run_a), (b, run_b)) if i % 2 == 0 else ((b, run_b), (a, run_a))
        for series, fn in order:
            gc.collect()
            elapsed = fn()
            if i >= warmup:
                series.wall.append(elapsed)
    for values in parts.values():
        del values[: len(values) - runs]
    print_table([a, b])
    print(
        "  parts (median ms): "
        + ", ".join(f"{k} {statistics.median(v) * 1000:.1f}" for k, v in parts.items())
    )
    if verdict:
        result = print_ratio(
            a, b, TARGET_LARGE_IN_PROCESS, f"(a)/(b) <= {TARGET_LARGE_IN_PROCESS}", True
        )
    else:
        result = {"ratio": a.med() / b.med()}
        print(f"  ratio (a)/(b): {result['ratio']:.2f}")
    result["parts_ms"] = {k: statistics.median(v) * 1000 for k, v in parts.items()}
    result["a_ms"], result["b_ms"] = a.med() * 1000, b.med() * 1000
    return result


def check_claude(home: Path, proc: subprocess.CompletedProcess[bytes]) -> str:
    path = home / ".claude.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    servers = doc.get("mcpServers", {})
    ok = "dot" in servers
    return (
        f"exit {proc.returncode}, ~/.claude.json {path.stat().st_size:,} bytes,"
        f" mcpServers {sorted(servers)}{'' if ok else '  (NO dot ENTRY)'}"
    )


# ---------------------------------------------------------------------------------------------
# Sections


def run_imports(bench: Bench, dot_setup: str, clients: list[str], repeats: int) -> dict[str, Any]:
    section("start-up imports: python -X importtime -c 'import dot_setup.cli'")
    py = sys.executable
    cli = importtime_summary(
        "import dot_setup.cli",
        [py, "-X", "importtime", "-c", "import dot_setup.cli"],
        bench,
        repeats,
    )
    if cli["forbidden"]:
        print(f"  FAIL: imported at start-up: {', '.join(cli['forbidden'])}")
    else:
        print(f"  ok: none of {', '.join(FORBIDDEN_AT_STARTUP)} is imported at start-up")
    argv = [py, "-X", "importtime", "-m", "dot_setup", "install"]
    for cid in clients:
        argv += ["--client", cid]
    argv += ["--auth", "token", "--region", "us", "--yes"]
    print()
    inst = importtime_summary(
        "install into 20 clients (python -m dot_setup install ...)", argv, bench, repeats
    )
    extra = sorted(
        {n.split(".")[0] for n in inst["modules"]}
        - {n.split(".")[0] for n in cli["modules"]}
        - set(sys.stdlib_module_names)
    )
    extra = [n for n in extra if not n.startswith("_")]
    print(f"  non-stdlib packages imported by install but not at start-up: {', '.join(extra)}")
    if inst["forbidden"]:
        print(f"  note: the install path imports {', '.join(inst['forbidden'])}")
    return {"cli": cli, "install20": inst, "install_extra_packages": extra}


def run_startup(bench: Bench, dot_setup: str, add_mcp: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for flag in ("--version", "--help"):
        section(f"dot-setup {flag}" + (" vs add-mcp" if add_mcp else ""))
        cmds = [Cmd(f"dot-setup {flag}", [dot_setup, flag])]
        if add_mcp:
            cmds.append(Cmd(f"add-mcp {flag}", [add_mcp, flag]))
        s = bench.compare(cmds)
        results[flag] = {"dot_setup_ms": s[0].med() * 1000}
        if add_mcp:
            results[flag].update(
                print_ratio(s[0], s[1], TARGET_STARTUP, f"<= {TARGET_STARTUP} x add-mcp", True)
            )
            results[flag]["add_mcp_ms"] = s[1].med() * 1000
        bench.hyperfine(cmds)
    section("interpreter floor (for reading the numbers above)")
    floor = bench.compare(
        [
            Cmd("python -c pass", [sys.executable, "-c", "pass"]),
            Cmd("python -c 'import dot_setup.cli'", [sys.executable, "-c", "import dot_setup.cli"]),
        ]
    )
    results["python_floor_ms"] = floor[0].med() * 1000
    results["import_cli_ms"] = floor[1].med() * 1000
    return results


def run_install20(
    bench: Bench, dot_setup: str, add_mcp: str | None, clients: list[str]
) -> dict[str, Any]:
    section(
        f"install into {len(clients)} clients, one process"
        + (" vs add-mcp --all" if add_mcp else "")
    )
    print(f"  clients: {' '.join(clients)}")
    argv = [dot_setup, "install"]
    for cid in clients:
        argv += ["--client", cid]
    argv += ["--auth", "token", "--region", "us", "--yes"]
    cmds = [Cmd(f"dot-setup install x{len(clients)}", argv, check=check_count(len(clients)))]
    if add_mcp:
        # add-mcp exits 1 here: it writes 20 files and reports that its `fx` agent refuses a
        # literal Authorization header. That is the reference command, so exit 1 is accepted.
        cmds.append(
            Cmd(
                "add-mcp --all (20 files)",
                [
                    add_mcp,
                    ADD_MCP_URL,
                    "-n",
                    "dot",
                    "-h",
                    f"Authorization: Bearer {TOKEN}",
                    "-y",
                    "-g",
                    "--all",
                ],
                check=check_count(20),
                ok_codes=(0, 1),
            )
        )
    one = [
        dot_setup,
        "install",
        "--client",
        "claude-code",
        "--auth",
        "token",
        "--region",
        "us",
        "--yes",
    ]
    cmds.append(Cmd("dot-setup install x1 (claude-code)", one, check=check_count(1)))
    # Diagnostic: the same 20-file install through dot-setup's own API, without the CLI layer
    # (Typer and what it imports to convert option values). Internal API: if it changes, this
    # row shows a non-zero exit and its check line says so; the rows above are unaffected.
    direct = (
        "from dot_setup.flows.install import InstallRequest, run_install\n"
        "from dot_setup.paths import Paths\n"
        f"raise SystemExit(run_install(InstallRequest(clients={clients!r}, auth='token',"
        " region='us', yes=True), Paths.from_env()))"
    )
    cmds.append(
        Cmd(
            "diag: run_install() without the CLI",
            [sys.executable, "-c", direct],
            check=check_count(len(clients)),
            ok_codes=tuple(range(256)),
        )
    )
    # Diagnostic: the stdlib floor of what each of the 20 files costs with dot-setup's
    # durability (read, parse, a backup fsynced, a temporary file fsynced, rename, the folder
    # fsynced), in a fresh temporary folder. add-mcp does none of the fsyncs or backups.
    cmds.append(
        Cmd(
            "diag: stdlib durable edit of 20 files",
            [sys.executable, "-c", DURABLE_FLOOR_20],
        )
    )
    s = bench.compare(cmds)
    result: dict[str, Any] = {
        "clients": clients,
        "durable_floor_ms": s[-1].med() * 1000,
        "dot_setup_ms": s[0].med() * 1000,
        "one_client_ms": s[-3].med() * 1000,
        "no_cli_layer_ms": s[-2].med() * 1000,
    }
    if add_mcp:
        result.update(
            print_ratio(s[0], s[1], TARGET_INSTALL, f"<= {TARGET_INSTALL} x add-mcp", True)
        )
        result["add_mcp_ms"] = s[1].med() * 1000
        budget = TARGET_INSTALL * result["add_mcp_ms"]
        print(
            f"  the target's budget is {budget:.1f} ms; the stdlib durable edit of 20 files alone"
            f" takes {result['durable_floor_ms']:.1f} ms and dot-setup without its CLI layer"
            f" {result['no_cli_layer_ms']:.1f} ms"
        )
    bench.hyperfine(cmds[:2])
    return result


DURABLE_FLOOR_20 = """
import json, os, tempfile
root = tempfile.mkdtemp()
for i in range(20):
    d = os.path.join(root, str(i))
    os.mkdir(d)
    p = os.path.join(d, "mcp.json")
    with open(p, "w") as f:
        json.dump({"mcpServers": {"github": {"url": "https://example.test/mcp"}}}, f)
    data = open(p, "rb").read()
    doc = json.loads(data)
    for name, body in (("backup", data), ("tmp", None)):
        if body is None:
            doc["mcpServers"]["dot"] = {"type": "http", "url": "https://app.getdot.ai/ai/mcp"}
            body = json.dumps(doc, indent=2).encode()
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, body)
        os.fsync(fd)
        os.close(fd)
    os.replace(os.path.join(d, "tmp"), p)
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
"""


def run_large(
    bench: Bench, dot_setup: str, add_mcp: str | None, size_mb: float, runs: int
) -> dict[str, Any]:
    section(f"large ~/.claude.json ({size_mb:g} MiB)")
    big = big_file(bench, size_mb)
    text = big.read_text(encoding="utf-8")
    print(f"  in-process, median of {runs} runs (after 2 warm-up runs), A and B alternating:")
    result = large_in_process(text, runs, 2, bench.root / "out.json")
    # Diagnostic: the same document written with \uXXXX escapes (pure ASCII). CPython stores an
    # ASCII str at 1 byte per character, one with an emoji at 4, which is what slicing costs.
    ascii_text = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    print()
    print("  diagnostic, not the target: the same document as pure ASCII (ensure_ascii):")
    diag = large_in_process(ascii_text, runs, 2, bench.root / "out.json", verdict=False)
    result["ascii_ratio"], result["ascii_parts_ms"] = diag["ratio"], diag["parts_ms"]
    del ascii_text

    print()
    print("  whole process on that file (fresh home with a copy of it each run):")

    def with_big(home: Path) -> None:
        shutil.copyfile(big, home / ".claude.json")

    install = [
        dot_setup,
        "install",
        "--client",
        "claude-code",
        "--auth",
        "token",
        "--region",
        "us",
        "--yes",
    ]
    # The stdlib floor does what any careful editor must: read, parse, write a temporary file,
    # fsync it, rename it over the original.
    floor_src = (
        "import json,os; p=os.path.expanduser('~/.claude.json'); "
        "t=open(p,encoding='utf-8').read(); json.loads(t); f=open(p+'.tmp','wb'); "
        "f.write(t.encode()); f.flush(); os.fsync(f.fileno()); f.close(); os.replace(p+'.tmp',p)"
    )
    cmds = [
        Cmd(
            "(c) dot-setup install claude-code, 12 MiB", install, setup=with_big, check=check_claude
        ),
        Cmd(
            "(d) python: read + json.loads + write + fsync + rename",
            [sys.executable, "-c", floor_src],
            setup=with_big,
        ),
        Cmd("(e) dot-setup install claude-code, no file", install),
    ]
    if add_mcp:
        cmds.append(
            Cmd(
                "(f) add-mcp -a claude-code, 12 MiB",
                [
                    add_mcp,
                    ADD_MCP_URL,
                    "-n",
                    "dot",
                    "-h",
                    f"Authorization: Bearer {TOKEN}",
                    "-y",
                    "-g",
                    "-a",
                    "claude-code",
                ],
                setup=with_big,
                check=check_claude,
            )
        )
    s = bench.compare(cmds)
    result["process_ms"] = {x.label: x.med() * 1000 for x in s}
    result["process_c_ms"], result["process_d_ms"] = s[0].med() * 1000, s[1].med() * 1000
    print(f"  (c) - (e): {(s[0].med() - s[2].med()) * 1000:.1f} ms spent on the 12 MiB file")
    result["process"] = print_ratio(
        s[0], s[1], TARGET_LARGE_PROCESS, f"(c)/(d) <= {TARGET_LARGE_PROCESS}", True
    )
    if add_mcp:
        print(f"  (c) / (f) = {s[0].med() / s[3].med():.2f}")
    bench.hyperfine(
        [cmds[0], cmds[3]] if add_mcp else cmds[:2],
        setup_sh=f"cp {shlex.quote(str(big))} {{home}}/.claude.json",
    )
    return result


def run_profiles(bench: Bench, clients: list[str], size_mb: float) -> None:
    """cProfile of the 20-client install and of the 12 MiB install: top functions."""
    import pstats

    big = big_file(bench, size_mb)
    cases = [("install x20", clients, None), ("install claude-code, 12 MiB", ["claude-code"], big)]
    for title, ids, src in cases:
        section(f"cProfile: {title}")
        prof = bench.root / "profile.out"
        argv = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "dot_setup", "install"]
        for cid in ids:
            argv += ["--client", cid]
        argv += ["--auth", "token", "--region", "us", "--yes"]
        with bench.home() as home:
            if src is not None:
                shutil.copyfile(src, home / ".claude.json")
            subprocess.run(argv, env=fake_env(home), cwd=bench.cwd, capture_output=True, check=True)
        stats = pstats.Stats(str(prof), stream=sys.stdout)
        stats.strip_dirs().sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(12)


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=15, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (>= 1)")
    parser.add_argument("--large-runs", type=int, default=9, help="in-process runs (>= 7)")
    parser.add_argument("--large-mb", type=float, default=12.0, help="size of ~/.claude.json")
    parser.add_argument("--import-repeats", type=int, default=5)
    parser.add_argument(
        "--only",
        default="imports,startup,install20,large,serve",
        help="comma-separated sections: imports,startup,install20,large,serve",
    )
    parser.add_argument("--serve-calls", type=int, default=2000, help="serve: calls per run")
    parser.add_argument("--serve-repeats", type=int, default=3, help="serve: runs per case")
    parser.add_argument(
        "--clients",
        default="",
        help="comma-separated client ids (default: 20 picked from `dot-setup list --json`)",
    )
    parser.add_argument("--no-add-mcp", action="store_true", help="skip the add-mcp columns")
    parser.add_argument(
        "--no-install", action="store_true", help="do not `npm install` add-mcp when it is missing"
    )
    parser.add_argument("--no-hyperfine", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also print cProfile summaries")
    parser.add_argument("--quick", action="store_true", help="3 runs each, 1 warm-up")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.warmup, args.large_runs, args.import_repeats = 3, 1, 7, 2
        args.serve_calls, args.serve_repeats = 500, 1
    sections = {s.strip() for s in args.only.split(",") if s.strip()}

    hyperfine = None if args.no_hyperfine else shutil.which("hyperfine")
    _CLEARED.update(client_env_vars())
    dot_setup = find_dot_setup()
    compile_bytecode()
    add_mcp = None if args.no_add_mcp else find_add_mcp(install=not args.no_install)
    print(f"dot-setup  {version_of([dot_setup, '--version'])} ({dot_setup})")
    print(f"add-mcp    {version_of([add_mcp, '--version']) if add_mcp else 'not available'}")
    print(f"python     {platform.python_version()} ({sys.executable})")
    print(f"node       {version_of(['node', '--version']) if shutil.which('node') else '-'}")
    print(f"hyperfine  {version_of([hyperfine, '--version']) if hyperfine else 'not used'}")
    print(f"machine    {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}")
    print(f"runs       {args.runs} timed after {max(1, args.warmup)} warm-up; times in ms")

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dot-setup-bench-") as tmp:
        bench = Bench(Path(tmp), args.runs, args.warmup, hyperfine)
        clients = (
            [c for c in args.clients.split(",") if c]
            if args.clients
            else pick_clients(dot_setup, bench, 20)
        )
        if "imports" in sections:
            results["imports"] = run_imports(bench, dot_setup, clients, args.import_repeats)
        if "startup" in sections:
            results["startup"] = run_startup(bench, dot_setup, add_mcp)
        if "install20" in sections:
            results["install20"] = run_install20(bench, dot_setup, add_mcp, clients)
        if "large" in sections:
            results["large"] = run_large(
                bench, dot_setup, add_mcp, args.large_mb, max(7, args.large_runs)
            )
        if "serve" in sections:
            results["serve"] = run_serve(bench, dot_setup, args.serve_calls, args.serve_repeats)
        if args.profile:
            run_profiles(bench, clients, args.large_mb)
    summary(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    # A benchmark that misses a target still exits 0; a forbidden start-up import does not, nor
    # a request path of `serve` that hashes passwords or scans for tokens.
    forbidden = results.get("imports", {}).get("cli", {}).get("forbidden")
    bad_path = results.get("serve", {}).get("verify", {}).get("ok") is False
    return 1 if forbidden or bad_path else 0


def run_serve(bench: Bench, dot_setup: str, calls: int, repeats: int) -> dict[str, Any]:
    """The `serve` section: bench/serve_bench.py with this run's settings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import serve_bench

    root = bench.root / "serve"
    root.mkdir()
    return serve_bench.run_serve_bench(
        dot_setup,
        root,
        concurrencies=[1, 8, 64],
        calls=calls,
        warmup=max(100, calls // 10),
        repeats=max(1, repeats),
    )


def summary(results: dict[str, Any]) -> None:
    section("summary (medians, ms)")
    rows = []
    for flag in ("--version", "--help"):
        r = results.get("startup", {}).get(flag)
        if r:
            rows.append(
                (
                    f"dot-setup {flag}",
                    r["dot_setup_ms"],
                    r.get("add_mcp_ms"),
                    r.get("ratio"),
                    f"<= {TARGET_STARTUP}",
                    r.get("meets"),
                )
            )
    r = results.get("install20")
    if r:
        rows.append(
            (
                f"install x{len(r['clients'])}",
                r["dot_setup_ms"],
                r.get("add_mcp_ms"),
                r.get("ratio"),
                f"<= {TARGET_INSTALL}",
                r.get("meets"),
            )
        )
    r = results.get("large")
    if r:
        rows.append(
            (
                "12 MiB set_entry+write vs loads+write",
                r["a_ms"],
                r["b_ms"],
                r["ratio"],
                f"<= {TARGET_LARGE_IN_PROCESS}",
                r["ratio"] <= TARGET_LARGE_IN_PROCESS,
            )
        )
        rows.append(
            (
                "12 MiB install, whole process (c)/(d)",
                r["process_c_ms"],
                r["process_d_ms"],
                r["process"]["ratio"],
                f"<= {TARGET_LARGE_PROCESS}",
                r["process"]["meets"],
            )
        )
    print(f"  {'case':<40} {'dot-setup':>10} {'baseline':>10} {'ratio':>6}  target  verdict")
    for case, a, b, ratio, target, meets in rows:
        base = f"{b:10.1f}" if b is not None else "         -"
        rat = f"{ratio:6.2f}" if ratio is not None else "     -"
        verdict = "-" if meets is None else ("meets" if meets else "MISSES")
        print(f"  {case:<40} {a:10.1f} {base} {rat}  {target:<6}  {verdict}")
    imp = results.get("imports")
    if imp:
        bad = imp["cli"]["forbidden"]
        print(f"  start-up imports of mcp/questionary/httpx2: {', '.join(bad) if bad else 'none'}")
    if results.get("serve"):
        import serve_bench

        for line in serve_bench.summary_lines(results["serve"]):
            print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
