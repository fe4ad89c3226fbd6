"""Reaching the Dot host: DNS, TCP, TLS and HTTP, each reported with what failed and how long.

All four read one shared probe per endpoint, so they cost one round of network calls together.
"""

from __future__ import annotations

from collections.abc import Callable

from dot_setup.doctor.context import Context
from dot_setup.doctor.model import Check, Remediation, Result, failed, passed, skipped
from dot_setup.doctor.probe import Probe, probe_of


def timeout_settings(ctx: Context) -> list[str]:
    """The tool-timeout setting of every checked client that has one (from its profile)."""
    return [
        f"{c.profile.name}: {c.profile.timeout_setting}"
        for c in ctx.clients
        if c.profile.timeout_setting
    ]


def _fix(ctx: Context, stage: str, probe: Probe) -> Remediation:
    host, service = probe.host, ctx.service
    if stage == "dns":
        return Remediation(
            f"check the network connection to {service.name} and that the URL is right ({host});"
            f" {service.name}'s URLs: {service.region_urls()}",
            (f"nslookup {host}",),
        )
    if stage == "tls":
        return Remediation(
            "a proxy or security product may be intercepting TLS: trust its certificate"
            f" (NODE_EXTRA_CA_CERTS for Node-based clients) or ask IT to exempt the {service.name} host",
        )
    text = f"check the network connection to {service.name} ({host}) and that the {service.name} URL is correct"
    timed_out = any(s.timed_out for s in probe.stages.values())
    if timed_out:
        settings = timeout_settings(ctx)
        text += "; some clients have a tool timeout setting, adjust it accordingly"
        if settings:
            text += " (" + "; ".join(settings) + ")"
    return Remediation(text, (f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {probe.url}",))


def stage_check(stage: str) -> Callable[[Context], Result]:
    def run(ctx: Context) -> Result:
        probes = [probe_of(ctx, url) for url in ctx.endpoints()]
        results = [(p, p.stages[stage]) for p in probes]
        bad = [(p, s) for p, s in results if s.ok is False]
        if bad:
            probe, st = bad[0]
            details = [f"{p.url}: {s.detail}" for p, s in results if s.detail]
            # Behind a proxy, DNS and TCP are those of the proxy: say so.
            proxied = probe.via_proxy and stage in ("dns", "tcp")
            target = f"the proxy for {probe.host}" if proxied else probe.host
            what = f"{stage.upper()} to {target} failed: {st.detail}"
            if st.timed_out:
                what = f"{stage.upper()} to {target} timed out after {ctx.timeout:g} s: {st.detail}"
            return failed(
                what, _fix(ctx, stage, probe), *details, stage=stage, timed_out=st.timed_out
            )
        tried = [(p, s) for p, s in results if s.ok]
        if not tried:
            if stage == "tls" and all(not p.https or p.via_proxy for p in probes):
                reason = (
                    "plain http (a local server)"
                    if not any(p.https for p in probes)
                    else "through the proxy"
                )
                return skipped(f"no TLS to check: {reason}")
            first = next((p.failed_stage for p in probes if p.failed_stage), "")
            return skipped(f"not tried: {first.upper()} failed first")
        summary = "; ".join(f"{s.detail} ({s.ms} ms)" for _, s in tried)
        return passed(summary, ms=[s.ms for _, s in tried])

    return run


def checks(ctx: Context) -> list[Check]:
    titles = {"dns": "DNS", "tcp": "TCP connection", "tls": "TLS", "http": "HTTP answer"}
    return [
        Check(
            f"net.{stage}", f"{title} to the {ctx.service.name} host", "network", stage_check(stage)
        )
        for stage, title in titles.items()
    ]
