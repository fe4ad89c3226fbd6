"""The code base stays typed (mypy strict), linted and formatted (ruff)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "argv",
    [
        ["ruff", "check", "src", "tests", "bench"],
        ["ruff", "format", "--check", "src", "tests", "bench"],
        ["mypy"],
    ],
)
def test_static_checks(argv: list[str], no_tripwire: None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
