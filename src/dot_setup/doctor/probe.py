"""One probe of a Dot endpoint, stage by stage: DNS, TCP, TLS, HTTP, under one time budget.

Shared by the network, clock and server checks through `Context.once`, so a server that does
not answer costs the doctor one timeout. Blocking calls that take no timeout of their own
(getaddrinfo) run in a daemon thread the probe stops waiting for.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from dot_setup.doctor.context import Context

STAGES = ("dns", "tcp", "tls", "http")


@dataclass
class Stage:
    ok: bool | None = None  # None: not tried (an earlier stage failed) or not applicable
    ms: int = 0
    detail: str = ""
    timed_out: bool = False


@dataclass
class Probe:
    url: str
    host: str
    port: int
    https: bool
    via_proxy: str = ""
    stages: dict[str, Stage] = field(default_factory=lambda: {s: Stage() for s in STAGES})
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    server_time: float | None = None  # from the Date header
    local_time: float = 0.0

    @property
    def reachable(self) -> bool:
        return bool(self.stages["http"].ok)

    @property
    def failed_stage(self) -> str:
        return next((s for s in STAGES if self.stages[s].ok is False), "")


def proxy_for(url: str, env: dict[str, str]) -> str:
    """The proxy HTTP clients here would use for `url` (honouring NO_PROXY), or ""."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
    for rule in (r.strip().lower().lstrip(".") for r in no_proxy.split(",")):
        if rule == "*" or (rule and (host == rule or host.endswith("." + rule))):
            return ""
    names = (
        ("HTTPS_PROXY", "https_proxy") if parts.scheme == "https" else ("HTTP_PROXY", "http_proxy")
    )
    for name in (*names, "ALL_PROXY", "all_proxy"):
        if env.get(name):
            return env[name]
    return ""


def _resolve(host: str, port: int, budget: float) -> list[str]:
    box: list[object] = []

    def work() -> None:
        try:
            box.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            box.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(budget)
    if not box:
        raise TimeoutError
    if isinstance(box[0], OSError):
        raise box[0]
    infos = box[0]
    assert isinstance(infos, list)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _timed(stage: Stage, started: float) -> None:
    stage.ms = int((time.monotonic() - started) * 1000)


def run_probe(url: str, timeout: float, env: dict[str, str]) -> Probe:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    probe = Probe(url, parts.hostname or "", parts.port or (443 if https else 80), https)
    deadline = time.monotonic() + timeout
    proxy = proxy_for(url, env)
    probe.via_proxy = proxy
    connect_host, connect_port = probe.host, probe.port
    if proxy:
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        connect_host, connect_port = p.hostname or "", p.port or 8080
    if not _dns(probe, connect_host, connect_port, deadline):
        return probe
    sock = _tcp(probe, connect_host, connect_port, deadline)
    if sock is None:
        return probe
    sock.close()
    if https and not proxy and not _tls(probe, deadline):
        return probe
    _http(probe, url, deadline, env)
    return probe


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.05)


def _dns(probe: Probe, host: str, port: int, deadline: float) -> bool:
    stage, started = probe.stages["dns"], time.monotonic()
    try:
        addresses = _resolve(host, port, _left(deadline))
        stage.ok, stage.detail = True, f"{host} → {', '.join(addresses[:3])}"
    except TimeoutError:
        stage.ok, stage.timed_out, stage.detail = False, True, f"no DNS answer for {host} in time"
    except OSError as exc:
        stage.ok, stage.detail = False, f"{host} does not resolve ({exc.strerror or exc})"
    _timed(stage, started)
    return bool(stage.ok)


def _tcp(probe: Probe, host: str, port: int, deadline: float) -> socket.socket | None:
    stage, started = probe.stages["tcp"], time.monotonic()
    sock = None
    try:
        sock = socket.create_connection((host, port), timeout=_left(deadline))
        stage.ok, stage.detail = True, f"connected to {host}:{port}"
    except TimeoutError:
        stage.ok, stage.timed_out = False, True
        stage.detail = f"no answer from {host}:{port} in time"
    except OSError as exc:
        stage.ok, stage.detail = False, f"{host}:{port}: {exc.strerror or exc}"
    _timed(stage, started)
    return sock


def _tls(probe: Probe, deadline: float) -> bool:
    stage, started = probe.stages["tls"], time.monotonic()
    try:
        with socket.create_connection((probe.host, probe.port), timeout=_left(deadline)) as raw:
            raw.settimeout(_left(deadline))
            context = ssl.create_default_context()
            with context.wrap_socket(raw, server_hostname=probe.host) as tls:
                stage.ok, stage.detail = (
                    True,
                    f"{tls.version()}, certificate valid for {probe.host}",
                )
    except ssl.SSLCertVerificationError as exc:
        stage.ok, stage.detail = False, f"certificate not trusted: {exc.verify_message}"
    except TimeoutError:
        stage.ok, stage.timed_out, stage.detail = (
            False,
            True,
            "TLS handshake did not finish in time",
        )
    except (ssl.SSLError, OSError) as exc:
        stage.ok, stage.detail = False, f"TLS failed: {exc}"
    _timed(stage, started)
    return bool(stage.ok)


def _http(probe: Probe, url: str, deadline: float, env: dict[str, str]) -> None:
    import httpx2

    stage, started = probe.stages["http"], time.monotonic()
    budget = _left(deadline)
    # trust_env=False (the proxy is chosen above) would also drop SSL_CERT_FILE/SSL_CERT_DIR,
    # which the TLS stage and dot-setup's own HTTP calls honour: trust what they trust.
    cafile, capath = env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None
    try:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=cafile, capath=capath)
            if probe.https and (cafile or capath)
            else True
        )
    except (OSError, ssl.SSLError) as exc:
        stage.ok, stage.detail = False, f"SSL_CERT_FILE/SSL_CERT_DIR cannot be loaded: {exc}"
        _timed(stage, started)
        return
    try:
        with httpx2.Client(
            timeout=httpx2.Timeout(budget),
            proxy=probe.via_proxy or None,
            trust_env=False,
            verify=verify,
        ) as http:
            resp = http.get(url, headers={"Accept": "application/json, text/event-stream"})
        probe.local_time = time.time()
        probe.status = resp.status_code
        probe.headers = {k.lower(): v for k, v in resp.headers.items()}
        if "date" in probe.headers:
            try:
                probe.server_time = parsedate_to_datetime(probe.headers["date"]).timestamp()
            except (TypeError, ValueError):
                probe.server_time = None
        stage.ok = resp.status_code < 500
        stage.detail = f"GET {urlsplit(url).path or '/'} → {resp.status_code}"
    except httpx2.TimeoutException:
        stage.ok, stage.timed_out = False, True
        stage.detail = f"no HTTP answer within {budget:.1f} s"
    except httpx2.HTTPError as exc:
        stage.ok, stage.detail = (
            False,
            f"HTTP failed: {str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}",
        )
    _timed(stage, started)


def probe_of(ctx: Context, url: str) -> Probe:
    return ctx.once(f"probe:{url}", lambda: run_probe(url, ctx.timeout, ctx.env))
