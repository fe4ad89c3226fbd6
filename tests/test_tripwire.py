"""The fake-home fixture really fakes HOME and really stops writes outside tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dot_setup.paths import Paths


def test_paths_point_into_the_fake_home(fake_home: Path) -> None:
    paths = Paths.from_env()
    assert paths.home == fake_home
    assert str(paths.state_dir).startswith(str(fake_home))


def test_write_outside_tmp_path_fails(tmp_path: Path) -> None:
    outside = Path(os.path.expanduser("~")).parent.parent / "dot-setup-tripwire-probe"
    with pytest.raises(AssertionError, match="outside its tmp_path"):
        outside.write_text("x")
    assert not outside.exists()
    (tmp_path / "inside.txt").write_text("fine")


def test_dot_setup_home_sandboxes_everything(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    env = {
        "HOME": "/real/home",
        "XDG_CONFIG_HOME": "/real/home/.config",
        "DOT_SETUP_HOME": str(sandbox),
    }
    paths = Paths.from_env(env)
    assert paths.home == sandbox
    assert paths.xdg_config == sandbox / ".config"
    assert str(paths.state_dir).startswith(str(sandbox))
