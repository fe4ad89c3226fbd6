"""Which clients a command works on: the ids given (`--client a --client b,c`), or every
detected client."""

from __future__ import annotations

from collections.abc import Iterable

from dot_setup.engine.detect import detect
from dot_setup.errors import NeedsInputError, UsageError
from dot_setup.paths import Paths
from dot_setup.profiles.loader import get_client, load_clients
from dot_setup.profiles.schema import ClientProfile


def client_ids(values: Iterable[str]) -> list[str]:
    """`--client` values, each possibly a comma list, in order, without repeats."""
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return list(dict.fromkeys(ids))


def named_clients(values: Iterable[str]) -> list[ClientProfile]:
    """The profiles named; an unknown id is a usage error naming the known ones."""
    return [get_client(cid) for cid in client_ids(values)]


def detected_clients(paths: Paths, kind: str | None = "file") -> list[ClientProfile]:
    return [
        p
        for p in load_clients().values()
        if (kind is None or p.kind == kind) and detect(p, paths).installed
    ]


def select_clients(
    values: list[str], all_detected: bool, paths: Paths, flag: str = "--client ID"
) -> list[ClientProfile]:
    """The clients of `--client` or `--all-detected` (for install, remove, the doctor)."""
    if values and all_detected:
        raise UsageError("--client and --all-detected both given", "use one of them")
    if all_detected:
        found = detected_clients(paths)
        if not found:
            raise UsageError(
                "no supported client was detected on this machine",
                "name clients with --client (see `dot-setup list`)",
            )
        return found
    if not values:
        raise NeedsInputError(f"{flag} (or --all-detected)", "the client to configure")
    return named_clients(values)
