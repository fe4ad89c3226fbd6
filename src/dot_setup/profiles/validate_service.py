"""Turn one parsed service profile (`service_profiles/*.toml`, or a vendor's own file) into a
`ServiceProfile`, or raise `ProfileError` naming the file and the key.

Everything a user reads about a service comes from here: its name, regions and URLs, where its
app makes MCP tokens, and its guide's troubleshooting entries (docs/service-format.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dot_setup.profiles.schema import (
    AUTH_MODES,
    SCHEMA_VERSION,
    Region,
    ServiceClientRule,
    ServiceProfile,
    Trouble,
)
from dot_setup.profiles.validate import _ID_RE, _Reader


def parse_service(data: Mapping[str, Any], source: str) -> ServiceProfile:
    r = _Reader(data, "", source)
    schema = r.get("schema", int)
    if schema != SCHEMA_VERSION:
        raise r.fail("schema", f"this dot-setup reads profile schema {SCHEMA_VERSION}")
    sid = r.text("id")
    if not _ID_RE.match(sid):
        raise r.fail("id", "use lowercase letters, digits and dashes")
    regions_sub = r.sub("regions")
    assert regions_sub is not None
    regions: dict[str, Region] = {}
    for rid in list(regions_sub.data):
        rr = regions_sub.sub(rid)
        assert rr is not None
        regions[rid] = Region(
            id=rid, name=rr.text("name"), url=rr.text("url"), sse_url=rr.text("sse_url", "")
        )
        rr.finish()
    regions_sub.finish()
    if not regions:
        raise r.fail("regions", "needs at least one region")
    auth = r.strings("auth")
    if not auth or any(a not in AUTH_MODES for a in auth):
        raise r.fail("auth", f"list one or more of {', '.join(AUTH_MODES)}")
    clients_sub = r.sub("clients", None)
    clients: dict[str, ServiceClientRule] = {}
    if clients_sub is not None:
        for cid in list(clients_sub.data):
            cr = clients_sub.sub(cid)
            assert cr is not None
            rule = ServiceClientRule(auth=cr.strings("auth", ()), note=cr.text("note", ""))
            if any(a not in auth for a in rule.auth):
                raise cr.fail("auth", "may only narrow the service's own auth modes")
            clients[cid] = rule
            cr.finish()
        clients_sub.finish()
    service = ServiceProfile(
        id=sid,
        name=r.text("name"),
        description=r.text("description", "") or r.text("name"),
        connector_name=r.text("connector_name", "") or r.text("name"),
        default_server_name=r.text("default_server_name", "") or sid,
        auth=auth,
        regions=regions,
        default_region=r.text("default_region", "") or next(iter(regions)),
        token_env=r.text("token_env", ""),
        token_url_param=r.text("token_url_param", ""),
        token_prefix=r.text("token_prefix", ""),
        api_token_prefix=r.text("api_token_prefix", ""),
        token_length=r.get("token_length", int, 0),
        docs_url=r.text("docs_url", ""),
        clients=clients,
        integrations_client=r.text("integrations_client", ""),
        token_page=r.text("token_page", ""),
        invalid_token_message=r.text("invalid_token_message", "the token was refused"),
        no_mcp_access_message=r.text("no_mcp_access_message", "the token has no MCP access"),
        troubleshooting=_troubles(r),
        source_file=source,
    )
    r.finish()
    if service.default_region not in regions:
        raise r.fail("default_region", "must name one of the regions")
    if "token" in auth and not service.token_env:
        raise r.fail("token_env", "a service with token auth names its token variable")
    return service


def _troubles(r: _Reader) -> tuple[Trouble, ...]:
    """`[[troubleshooting]]`: a message users see, its causes, the checks and the advice."""
    items = r.get("troubleshooting", list, [])
    found: list[Trouble] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise r.fail(f"troubleshooting[{i}]", "each entry is a table")
        tr = _Reader(item, f"troubleshooting[{i}]", r.source)
        trouble = Trouble(
            message=tr.text("message"),
            causes=tr.text("causes"),
            checks=tr.strings("checks", ()),
            advice=tr.strings("advice", ()),
        )
        tr.finish()
        if not trouble.checks and not trouble.advice:
            raise tr.fail("advice", "an entry needs checks that find its causes, or advice")
        found.append(trouble)
    return tuple(found)
