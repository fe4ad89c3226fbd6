"""Drive mcp-remote's OAuth sign-in against the reference Dot server, as a person would.

`run_mcp_remote` starts mcp-remote (the pinned copy in the client cache) under the `mcp` SDK
stdio client, in a child Python (`python oauth_driver.py probe SPEC_JSON`), the way a desktop
client runs a stdio entry. While it runs, the parent watches mcp-remote's stderr for

    Please authorize this client by visiting:
    <authorization URL>

(real-clients-offline.md §8). With a `HeadlessBrowser`, it then plays the user: follows the URL,
signs in, presses Allow or Deny, and delivers the final redirect to mcp-remote's callback
listener (`http://localhost:N/oauth/callback`, reached on 127.0.0.1; the listener may start after
the URL is printed, so connection refusals are retried for up to 15 s). Without a browser, a
printed URL ends the run at once: the caller expected cached tokens to be used.

Everything is bounded: the child gives up after `timeout - 5` seconds, the parent kills the whole
process group (mcp-remote included) at `timeout`. mcp-remote's browser launchers fail in the
sandbox (no DISPLAY, no session bus), so nothing opens a real browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients
from clients import Sandbox

from dot_setup.server.headless import BrowserError, HeadlessBrowser, Outcome

# The URL is complete once its line ends.
AUTH_PROMPT = re.compile(
    r"Please authorize this client by visiting:[ \t]*\r?\n[ \t]*(\S+)[ \t]*\r?\n"
)
CALLBACK_RETRY_SECONDS = 15.0
# mcp-remote starts waiting for the callback only after its first connect gets 401. A redirect
# that lands before that is dropped and mcp-remote waits out its 30 s auth timeout; a person
# never clicks that fast, so the driver, like them, answers once mcp-remote says it waits.
WAITING = "Waiting for authorization"
WAITING_SECONDS = 10.0
_LOG_PID = re.compile(r"^\[(\d+)\] ", re.MULTILINE)


@dataclass
class RemoteRun:
    """What happened during one mcp-remote run: the sign-in steps and what the SDK client saw."""

    rc: int | None
    report: dict[str, Any]  # the probe's JSON line: ok, server, tools, calls, error
    mcp_remote_stderr: str
    probe_output: str
    seconds: float
    auth_url: str | None = None
    consent: Outcome | None = None
    callback_status: int | None = None
    callback_body: str = ""
    problems: list[str] = field(default_factory=list)  # the driver's own findings
    timed_out: bool = False

    @property
    def connected(self) -> bool:
        return self.rc == 0 and bool(self.report.get("ok"))

    @property
    def tools(self) -> list[str]:
        return list(self.report.get("tools", []))

    def call_result(self, index: int) -> Any:
        """The JSON a tool call answered (its first text content), or the text itself."""
        call = self.report["calls"][index]
        assert not call["is_error"], f"{call}\n{self.describe()}"
        text = call["content"][0]
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def describe(self) -> str:
        """Everything needed to understand a failure, for assertion messages."""
        return (
            f"rc={self.rc} timed_out={self.timed_out} {self.seconds:.2f} s\n"
            f"auth_url={self.auth_url}\n"
            f"consent={self.consent.location if self.consent else None}\n"
            f"callback={self.callback_status} {self.callback_body[:300]!r}\n"
            f"problems={self.problems}\nreport={json.dumps(self.report)[:3000]}\n"
            f"--- probe stdout/stderr ---\n{self.probe_output[-3000:]}\n"
            f"--- mcp-remote stderr (last 5000 chars) ---\n{self.mcp_remote_stderr[-5000:]}"
        )


def mcp_remote_entry(mcp_url: str, config_dir: Path) -> dict[str, Any]:
    """The stdio entry: mcp-remote from the client cache, its token cache in `config_dir`."""
    return {
        "command": clients.client_bin("mcp-remote"),
        "args": [mcp_url],
        "env": {"MCP_REMOTE_CONFIG_DIR": str(config_dir)},
    }


def token_files(config_dir: Path) -> list[Path]:
    """mcp-remote's cached files (`mcp-remote-v1/<hash>_{client_info,tokens}.json`, ...)."""
    return sorted(p for p in config_dir.rglob("*") if p.is_file())


def run_mcp_remote(
    sb: Sandbox,
    mcp_url: str,
    config_dir: Path,
    *,
    browser: HeadlessBrowser | None = None,
    action: str = "allow",
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    timeout: float = 60.0,
    label: str = "mcp-remote (OAuth)",
) -> RemoteRun:
    """Run mcp-remote under the SDK stdio client, sign in through `browser` when it asks."""
    config_dir.mkdir(parents=True, exist_ok=True)
    spec = clients.stdio_entry_process(sb, mcp_remote_entry(mcp_url, config_dir))
    run_dir = sb.root / f"mcp-remote-{time.monotonic_ns()}"
    run_dir.mkdir(parents=True)
    errlog, probe_log = run_dir / "mcp-remote.stderr", run_dir / "probe.out"
    spec["errlog"] = str(errlog)
    spec["calls"] = [{"tool": t, "arguments": a} for t, a in calls]
    spec["timeout"] = max(5.0, timeout - 5.0)
    extra = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else None

    start = time.monotonic()
    deadline = start + timeout
    run = RemoteRun(rc=None, report={}, mcp_remote_stderr="", probe_output="", seconds=0.0)
    with probe_log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "probe", json.dumps(spec)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=sb.env(extra),
            cwd=str(sb.root),
            start_new_session=True,
        )
    try:
        _watch(proc, errlog, run, browser, action, deadline)
        try:
            run.rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            run.timed_out = True
            run.problems.append(f"killed after {timeout} s")
    finally:
        _kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        _kill_mcp_remote(errlog)
    run.seconds = time.monotonic() - start
    clients.TIMINGS.append((label, run.seconds))
    run.mcp_remote_stderr = _read(errlog)
    run.probe_output = _read(probe_log)
    for line in run.probe_output.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            parsed = json.loads(line)
            if isinstance(parsed, dict) and "ok" in parsed:
                run.report = parsed
    return run


def _watch(
    proc: subprocess.Popen[bytes],
    errlog: Path,
    run: RemoteRun,
    browser: HeadlessBrowser | None,
    action: str,
    deadline: float,
) -> None:
    """Until the probe ends: answer the first authorization prompt (or stop on an unexpected one)."""
    while proc.poll() is None and time.monotonic() < deadline:
        if run.auth_url is None:
            m = AUTH_PROMPT.search(_read(errlog))
            if m:
                run.auth_url = m.group(1)
                if browser is None:
                    run.problems.append("mcp-remote asked for authorization; no browser was given")
                    _kill_group(proc)
                    return
                try:
                    run.consent = browser.authorize(run.auth_url, action)
                except (BrowserError, httpx2.HTTPError) as exc:
                    run.problems.append(f"browser: {type(exc).__name__}: {exc}")
                    _kill_group(proc)
                    return
                _await_waiting(errlog, deadline)
                deliver_callback(run, deadline)
                continue
        time.sleep(0.05)


def _await_waiting(errlog: Path, deadline: float) -> None:
    """Until mcp-remote says it waits for the redirect (bounded; delivery goes on regardless)."""
    give_up = min(deadline, time.monotonic() + WAITING_SECONDS)
    while WAITING not in _read(errlog) and time.monotonic() < give_up:
        time.sleep(0.05)


def deliver_callback(run: RemoteRun, deadline: float) -> None:
    """GET the consent page's redirect on 127.0.0.1, as the browser would; retry while refused."""
    assert run.consent is not None
    parts = urlsplit(run.consent.location)
    if parts.hostname not in ("localhost", "127.0.0.1"):
        run.problems.append(f"the redirect does not go to a loopback listener: {parts.netloc}")
        return
    url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port or 80}"))
    give_up = min(deadline, time.monotonic() + CALLBACK_RETRY_SECONDS)
    with httpx2.Client(timeout=10.0, trust_env=False, follow_redirects=False) as http:
        while True:
            try:
                resp = http.get(url)
            except httpx2.ConnectError as exc:
                if time.monotonic() >= give_up:
                    run.problems.append(f"callback listener never answered: {exc}")
                    return
                time.sleep(0.1)
                continue
            except httpx2.HTTPError as exc:
                run.problems.append(f"callback: {type(exc).__name__}: {exc}")
                return
            run.callback_status, run.callback_body = resp.status_code, resp.text
            return


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill_mcp_remote(errlog: Path) -> None:
    """Kill an mcp-remote the probe left behind when it was killed itself.

    The SDK starts mcp-remote in a session of its own, so killing the probe's group misses it;
    a survivor keeps its callback port and makes the next run wait for "another instance". Its
    pid is the `[PID]` prefix of its log lines; it is killed (with its group) only while that
    pid still runs mcp-remote.
    """
    for pid in sorted({int(p) for p in _LOG_PID.findall(_read(errlog))}):
        cmdline = Path(f"/proc/{pid}/cmdline")
        try:
            if "mcp-remote" not in cmdline.read_bytes().decode(errors="replace"):
                continue
        except OSError:
            if Path("/proc/self").exists():
                continue  # gone already
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)


# ---- child side ---------------------------------------------------------------------------------


def _probe(spec: dict[str, Any]) -> int:
    """Run the stdio entry under the SDK client: list tools, make the calls, print one JSON line."""
    import anyio
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=spec["command"], args=spec["args"], env=spec["env"], cwd=spec["cwd"]
    )
    out: dict[str, Any] = {"ok": False, "calls": []}

    async def main() -> None:
        with (
            Path(spec["errlog"]).open("w", encoding="utf-8") as errlog,
            anyio.fail_after(float(spec["timeout"])),
        ):
            async with Client(stdio_client(params, errlog=errlog)) as client:
                out["server"] = client.server_info.name if client.server_info else ""
                out["protocol"] = client.protocol_version
                out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
                for call in spec["calls"]:
                    result = await client.call_tool(call["tool"], call["arguments"])
                    out["calls"].append(
                        {
                            "tool": call["tool"],
                            "is_error": bool(result.is_error),
                            "content": [getattr(c, "text", repr(c)) for c in result.content],
                        }
                    )
        out["ok"] = True

    try:
        anyio.run(main)
    except BaseException as exc:  # an ExceptionGroup from the transport: report its leaves
        out["error"] = clients._leaf_errors(exc)
        print(json.dumps(out), flush=True)
        return 1
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "probe":
        sys.exit(_probe(json.loads(sys.argv[2])))
    print(f"usage: {sys.argv[0]} probe SPEC_JSON", file=sys.stderr)
    sys.exit(2)
