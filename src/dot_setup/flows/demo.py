"""`dot-setup demo`: the whole wizard against the embedded reference server, in a sandbox.

It makes a sandbox (a fake home with a few clients' config folders, some already holding other
servers and settings), starts the reference server for both regions on 127.0.0.1, points the
regions at it, and runs the wizard there. The sign-in page is answered by a scripted browser
as the demo analyst unless --browser is given. Nothing outside the sandbox is read for clients
or written: not the real home, not the system keyring, not the clipboard.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dot_setup.errors import DotSetupError, UsageError
from dot_setup.ui.console import OUT
from dot_setup.ui.terminal import interactive

if TYPE_CHECKING:
    from dot_setup.paths import Paths

SANDBOX = Path(__file__).with_name("demo_sandbox.toml")  # the fake home and the demo's clients
DEMO_USER = "analyst@demo.dot.local"


def sandbox_plan() -> dict[str, Any]:
    """The sandbox as data: {"clients": [...], "shown": "...", "files": {path: text}}."""
    import tomllib

    with SANDBOX.open("rb") as f:
        return tomllib.load(f)


def make_sandbox(root: Path, files: dict[str, str]) -> Path:
    home = root / "home"
    for rel, text in files.items():
        path = home / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return home


@contextmanager
def embedded_server(data_dir: Path) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Both regions on free 127.0.0.1 ports in a background thread; yields (urls, passwords)."""
    from dot_setup.flows.serve import region_configs
    from dot_setup.server import runner

    configs = region_configs(
        region="all",
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        db=None,
        public_url=None,
        dev_no_auth=False,
    )
    passwords, _ = runner.demo_passwords(data_dir, {}, None)
    runner.configure_logging(quiet=True)
    running = runner.prepare(configs, passwords)
    ready = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(runner.serve(running, lambda _r: ready.set()))
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=main, name="dot-demo-server", daemon=True)
    thread.start()
    if not ready.wait(30) or failure:
        raise DotSetupError(
            f"the demo server did not start: {failure[0] if failure else 'timeout'}", ""
        )
    try:
        yield {r.config.region: r.config.mcp_url for r in running}, passwords
    finally:
        for r in running:
            r.uvicorn.should_exit = True
        thread.join(10)
        for r in running:
            r.sock.close()


def scripted_browser(password: str) -> Callable[[str], None]:
    """Plays the person at the browser: signs in as the demo analyst and presses Allow."""

    def browse(url: str) -> None:
        import httpx2

        from dot_setup.server.headless import HeadlessBrowser

        OUT.message(f"(demo) a scripted browser signs in as {DEMO_USER} and selects Allow")
        with HeadlessBrowser(DEMO_USER, password) as browser:
            if "/device" in url:
                browser.approve_device(url)
                return
            outcome = browser.authorize(url)
        with httpx2.Client(timeout=15) as http:
            http.get(outcome.location)  # the redirect to dot-setup's loopback listener

    return browse


def demo_env(sandbox: Path, home: Path, urls: dict[str, str]) -> dict[str, str]:
    return {
        "DOT_SETUP_HOME": str(home),
        "DOT_SETUP_STATE_DIR": str(sandbox / "state"),
        "DOT_SETUP_REGION_URLS": ",".join(f"{k}={v}" for k, v in sorted(urls.items())),
        "DOT_SETUP_CREDENTIAL_STORE": "file",
        "DOT_SETUP_NO_CLIPBOARD": "1",
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_demo(sandbox: Path | None, yes: bool, own_browser: bool, no_input: bool) -> int:
    from dot_setup.paths import Paths
    from dot_setup.wizard.flow import Wizard
    from dot_setup.wizard.model import WizardOptions

    root = (sandbox or Path(tempfile.mkdtemp(prefix="dot-setup-demo-"))).absolute()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--sandbox {root} is not a folder", "name a new or existing folder")
    plan = sandbox_plan()
    home = make_sandbox(root, plan["files"])
    auto = yes or not interactive(no_input)
    OUT.message(f"dot-setup demo: a sandbox in {root}")
    OUT.message(f"  fake home with {plan['shown']} configs: {home}")
    with embedded_server(root / "server") as (urls, passwords):
        OUT.message("  the reference Dot server (both regions, demo data) is running:")
        for region, url in sorted(urls.items()):
            OUT.message(f"    {region.upper()}  {url}")
        password = passwords[DEMO_USER]
        if own_browser:
            OUT.message(f"  sign in as {DEMO_USER} with password {password}")
        options = WizardOptions(browser=None if own_browser else scripted_browser(password))
        if auto:
            OUT.message("  no questions asked (no terminal, or --yes): the demo answers them")
            options.clients = list(plan["clients"])
            options.region = "us"
            options.no_input = True  # every answer comes from these options, none from a prompt
            options.new_token = True
            options.yes = True
            options.show_diff = True
        OUT.message("")
        with environment(demo_env(root, home, urls)):
            paths = Paths.from_env()
            code = Wizard(options, paths).run()
            if code == 0:
                code = check_with_doctor(paths)
    summary(root, home)
    return code


def check_with_doctor(paths: Paths) -> int:
    """End the demo the way a user ends a setup: `dot-setup doctor` on what was written."""
    from dot_setup.doctor.run import DoctorRequest, run_doctor

    OUT.message("")
    OUT.message("Then `dot-setup doctor` checks the result (as you would on your own machine):")
    return run_doctor(DoctorRequest(interactive=False), paths)


def summary(root: Path, home: Path) -> None:
    OUT.result("")
    OUT.result(f"Demo done. Everything it wrote is under {root}:")
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        OUT.result(f"  {path}")
    connectors = root / "state" / "connectors"
    if connectors.is_dir():
        for path in sorted(connectors.iterdir()):
            OUT.result(f"  {path}  (holds the token, mode 0600)")
    OUT.result("Your real home and client configs were not touched. Remove the folder when done.")
