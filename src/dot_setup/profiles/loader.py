"""Find and load the shipped profiles (or the ones under `DOT_SETUP_PROFILES_DIR`).

Service profiles can also come from a vendor: `--service PATH` names one file, and
`DOT_SETUP_SERVICE_PROFILES` names extra folders of them (separated like PATH). They are
validated by the same schema, and errors name the file and the key (docs/service-format.md).

In a wheel they sit in `dot_setup/_data/`; in a source checkout (editable install, tests) they are
read straight from the repository's `client_profiles/` and `service_profiles/` folders, so an edit
to a profile takes effect without a reinstall.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import replace
from functools import cache
from pathlib import Path

from dot_setup.errors import ProfileError, UsageError
from dot_setup.profiles.schema import ClientProfile, ServiceProfile
from dot_setup.profiles.validate import parse_client
from dot_setup.profiles.validate_service import parse_service

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_SAFE_ID = re.compile(r"^[a-z][a-z0-9-]*$")
MAX_PROFILE_BYTES = 1024 * 1024  # a profile is a few KiB; anything bigger is not one


def data_root() -> Path:
    override = os.environ.get("DOT_SETUP_PROFILES_DIR")
    if override:
        return Path(override)
    bundled = _PACKAGE_DIR / "_data"
    if (bundled / "client_profiles").is_dir():
        return bundled
    return _PACKAGE_DIR.parent.parent  # the repository root of a source checkout


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}", "profiles must be valid TOML") from exc


def _files(folder: str) -> list[Path]:
    root = data_root() / folder
    if not root.is_dir():
        raise ProfileError(f"{root}: profile folder not found", "reinstall dot-setup")
    return sorted(root.glob("*.toml"))


@cache
def load_clients() -> dict[str, ClientProfile]:
    profiles: dict[str, ClientProfile] = {}
    for path in _files("client_profiles"):
        profile = parse_client(_read_toml(path), str(path))
        if profile.id != path.stem:
            raise ProfileError(f"{path}: id {profile.id!r} must match the file name", "")
        if profile.id in profiles:
            raise ProfileError(f"{path}: duplicate client id {profile.id!r}", "")
        profiles[profile.id] = profile
    return profiles


@cache
def load_services() -> dict[str, ServiceProfile]:
    services: dict[str, ServiceProfile] = {}
    seen: dict[str, Path] = {}
    shipped = _files("service_profiles")
    for path in [*shipped, *_extra_service_files()]:
        # A vendor's folder is read like user input: bounded, regular files only.
        data = _read_toml(path) if path in shipped else _read_vendor_toml(path)
        service = parse_service(data, str(path))
        if service.id != path.stem:
            raise ProfileError(f"{path}: id {service.id!r} must match the file name", "")
        if service.id in seen:
            raise ProfileError(
                f"{path}: service id {service.id!r} is already defined by {seen[service.id]}",
                "give the service another id (and file name)",
            )
        seen[service.id] = path
        services[service.id] = service
    return services


def _extra_service_files() -> list[Path]:
    """The *.toml files in each folder of DOT_SETUP_SERVICE_PROFILES."""
    found: list[Path] = []
    for folder in filter(None, os.environ.get("DOT_SETUP_SERVICE_PROFILES", "").split(os.pathsep)):
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise ProfileError(
                f"DOT_SETUP_SERVICE_PROFILES: {root} is not a folder",
                "name folders of service profile files (*.toml), separated by " + repr(os.pathsep),
            )
        found += sorted(root.glob("*.toml"))
    return found


def is_service_file(value: str) -> bool:
    """`--service` names a file (a vendor's own profile) rather than a known id."""
    return value.endswith(".toml") or "/" in value or os.sep in value


def _read_vendor_toml(path: Path) -> dict[str, object]:
    """A service profile from outside the package: at most 1 MiB, a regular file, UTF-8 TOML."""
    from dot_setup.fs.fsio import read_bytes

    data = read_bytes(path, limit=MAX_PROFILE_BYTES)
    if data is None:
        raise UsageError(f"--service {path}: no such file", "name a service profile (*.toml)")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: {exc}", "profiles must be valid TOML (UTF-8)") from exc


@cache
def _service_file(value: str) -> ServiceProfile:
    path = Path(value).expanduser()
    return parse_service(_read_vendor_toml(path), str(path))


@cache
def _one_client(client_id: str) -> ClientProfile | None:
    """Load just this client's file: a command naming a few clients skips parsing all 30+."""
    if not _SAFE_ID.match(client_id):
        return None
    path = data_root() / "client_profiles" / f"{client_id}.toml"
    if not path.is_file():
        return None
    profile = parse_client(_read_toml(path), str(path))
    return profile if profile.id == client_id else None


def get_client(client_id: str) -> ClientProfile:
    if load_clients.cache_info().currsize == 0:
        single = _one_client(client_id)
        if single is not None:
            return single
    clients = load_clients()
    if client_id not in clients:
        raise UsageError(
            f"unknown client {client_id!r}",
            f"known clients: {', '.join(sorted(clients))} (see `dot-setup list`)",
        )
    return clients[client_id]


def get_service(service_id: str) -> ServiceProfile:
    if is_service_file(service_id):
        service = _service_file(service_id)
        return _with_region_urls(service, os.environ.get("DOT_SETUP_REGION_URLS", ""))
    services = load_services()
    if service_id not in services:
        raise UsageError(
            f"unknown service {service_id!r}", f"known services: {', '.join(sorted(services))}"
        )
    return _with_region_urls(services[service_id], os.environ.get("DOT_SETUP_REGION_URLS", ""))


def _with_region_urls(service: ServiceProfile, spec: str) -> ServiceProfile:
    """`DOT_SETUP_REGION_URLS="us=URL,eu=URL"` points regions at another server (a staging or
    local reference server: `dot-setup demo` and the tests use it). Every command then agrees
    on the URLs, so `status` and `doctor` recognise what `install` wrote."""
    from dot_setup.engine.endpoint import check_url, shown

    if not spec:
        return service
    regions = dict(service.regions)
    for item in spec.split(","):
        rid, sep, url = item.strip().partition("=")
        if not sep or rid not in regions or not url.startswith(("http://", "https://")):
            raise UsageError(
                f"DOT_SETUP_REGION_URLS item '{shown(item.strip())}' is not REGION=URL for a "
                "known region",
                f"regions: {', '.join(regions)}; e.g. us=http://127.0.0.1:8765/ai/mcp",
            )
        url = check_url(url, f"DOT_SETUP_REGION_URLS {rid}=")
        sse = url[: -len("/mcp")] + "/sse" if url.endswith("/mcp") else ""
        regions[rid] = replace(regions[rid], url=url, sse_url=sse)
    return replace(service, regions=regions)
