"""What `dot-setup serve` does: check the options, build the regions, print where they are."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dot_setup import __version__
from dot_setup.errors import UsageError
from dot_setup.paths import Paths
from dot_setup.ui.console import OUT


def region_configs(
    *,
    region: str,
    host: str,
    port: int,
    data_dir: Path,
    db: str | None,
    public_url: str | None,
    dev_no_auth: bool,
) -> list[Any]:
    from dot_setup.server.config import LOOPBACK_HOSTS, REGIONS, RegionConfig, normalise_db_url

    loopback = host in LOOPBACK_HOSTS
    if dev_no_auth and not loopback:
        raise UsageError(
            f"--dev-no-auth refuses to listen on {host}: without authentication only loopback is allowed",
            "use --host 127.0.0.1 (or localhost, ::1)",
        )
    if not loopback and not public_url:
        raise UsageError(
            f"--host {host} needs --public-url: the OAuth issuer must be the exact URL clients use",
            "pass --public-url https://your-host (behind TLS), or use --host 127.0.0.1",
        )
    regions = list(REGIONS) if region == "all" else [region]
    if public_url and len(regions) > 1:
        raise UsageError(
            "--public-url names one origin; it cannot serve --region all",
            "run one process per region",
        )
    if db and len(regions) > 1 and "{region}" not in db:
        raise UsageError(
            "--region all needs one database per region",
            "put {region} in --db, e.g. postgresql://u@h/dot_{region}",
        )
    configs = []
    for i, name in enumerate(regions):
        url = db.replace("{region}", name) if db else f"sqlite:///{data_dir / name / 'dot.db'}"
        if not db:
            from dot_setup.fs.fsio import private_dir

            private_dir(data_dir / name)
            (data_dir / name).chmod(0o700)  # the region's folder holds only its database
        configs.append(
            RegionConfig(
                region=name,
                host=host,
                port=port + i if port else 0,
                db_url=normalise_db_url(url),
                data_dir=data_dir,
                public_url=public_url or "",
                auth=not dev_no_auth,
            )
        )
    return configs


def run_serve(
    *,
    region: str,
    host: str,
    port: int,
    data_dir: Path | None,
    db: str | None,
    public_url: str | None,
    demo_password_file: Path | None,
    ready_file: Path | None,
    dev_no_auth: bool,
    quiet: bool,
) -> None:
    paths = Paths.from_env()
    folder = (data_dir or paths.data_dir / "server").absolute()
    configs = region_configs(
        region=region,
        host=host,
        port=port,
        data_dir=folder,
        db=db,
        public_url=public_url,
        dev_no_auth=dev_no_auth,
    )
    from dot_setup.server import runner

    passwords, password_path = runner.demo_passwords(folder, paths.env, demo_password_file)
    runner.configure_logging(quiet)
    running = runner.prepare(configs, passwords)

    def ready(items: list[runner.Running]) -> None:
        if ready_file is not None:
            runner.write_ready_file(ready_file, items)
        _banner(items, passwords, password_path, dev_no_auth)

    try:
        asyncio.run(runner.serve(running, ready))
    finally:
        for r in running:
            r.sock.close()
    OUT.message("Dot server stopped")


def _banner(
    items: list[Any], passwords: dict[str, str], password_path: Path | None, dev_no_auth: bool
) -> None:
    from dot_setup.server.seed import DEMO_USERS

    OUT.result(f"Dot reference server (dot-setup {__version__})")
    for r in items:
        c = r.config
        OUT.result(f"  {c.region.upper()}  MCP URL   {c.mcp_url}")
        OUT.result(f"      SSE URL   {c.sse_url}")
        OUT.result(
            f"      Sign in   {c.origin}/login   (Settings → Integrations: {c.origin}/settings/integrations)"
        )
        OUT.result(f"      Database  {r.server.state.db.safe_url}")
    if dev_no_auth:
        OUT.warn("--dev-no-auth: /ai/mcp accepts calls WITHOUT authentication, as the demo admin")
    OUT.result("Demo users:")
    notes = {
        "admin": "admin, every data source",
        "analyst": "sales and marketing only",
        "viewer": "no MCP access",
    }
    # Generated passwords of a loopback demo are shown (they guard nothing but local demo
    # data); otherwise only where they are kept.
    show = password_path is not None and all(r.config.loopback for r in items)
    for u in DEMO_USERS:
        secret = f"  password {passwords[u.email]}" if show else ""
        OUT.result(f"  {u.email:<24} {notes[u.email.split('@')[0]]:<26}{secret}")
    if password_path is not None:
        OUT.result(f"  passwords are kept in {password_path} (mode 0600)")
    else:
        OUT.result("  password: the one you chose")
    OUT.message("Press Ctrl-C to stop.")
