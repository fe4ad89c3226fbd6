"""Which clients are installed here, and where their config files are.

Read-only: it looks at paths and PATH through `Paths`, so a fake home in tests (or
`DOT_SETUP_HOME`) decides everything it sees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dot_setup.paths import Paths
from dot_setup.profiles.schema import ClientProfile, Target


@dataclass(frozen=True)
class Detection:
    client: ClientProfile
    installed: bool
    evidence: tuple[str, ...]


def _present(path: Path) -> bool:
    """Something is there. Unlike Path.exists(), a folder on the way that we may not search
    (EACCES) answers no instead of raising: detection must survive an unreadable folder."""
    return os.path.exists(path)  # noqa: PTH110


def target_path(target: Target, paths: Paths) -> Path | None:
    """The config file for this OS, honouring the client's own env overrides (CODEX_HOME...)."""
    for var, template in target.env_paths.items():
        if paths.env.get(var):
            return paths.expand(template)
    for template in target.prefer_existing:
        candidate = paths.expand(template)
        if _present(candidate):
            return candidate
    chosen = target.paths.get(paths.os_name) or target.paths.get("all")
    return paths.expand(chosen) if chosen else None


def detect(profile: ClientProfile, paths: Paths) -> Detection:
    evidence: list[str] = []
    templates = [*profile.detect.paths.get("all", ()), *profile.detect.paths.get(paths.os_name, ())]
    for template in templates:
        candidate = paths.expand(template)
        if _present(candidate):
            evidence.append(str(candidate))
    for name in profile.detect.executables:
        found = paths.which(name)
        if found:
            evidence.append(f"{name} on PATH ({found})")
    for target in profile.targets:
        if target.scope != "user":
            continue
        path = target_path(target, paths)
        if path is not None and _present(path) and str(path) not in evidence:
            evidence.append(str(path))
    return Detection(client=profile, installed=bool(evidence), evidence=tuple(evidence))
