"""Backups stay bounded and addressable.

Was: every install kept another full copy (31 × 8 MB after 31 installs of a big
~/.claude.json), and two backups of the same content within one second got the same id, so
`restore ID` answered "several backups match". The doctor's advice `dot-setup restore --client
ID` named an option restore did not have.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import TOKEN, run

from dot_setup.fs.backups import KEEP_PER_FILE, list_backups, make_backup
from dot_setup.paths import Paths


def test_backups_are_bounded_per_file(fake_home: Path) -> None:
    path = fake_home / ".claude.json"
    other = fake_home / ".cursor" / "mcp.json"
    other.parent.mkdir()
    other.write_text("{}\n")
    for i in range(KEEP_PER_FILE + 6):
        path.write_text(json.dumps({"numStartups": i, "blob": "x" * 10_000}) + "\n")
        r = run("install", "-c", "claude-code", "--token-stdin", "--yes", stdin=TOKEN)
        assert r.code == 0, r.err
    assert run("install", "-c", "cursor", "--auth", "oauth", "--region", "us", "--yes").code == 0
    paths = Paths.from_env()
    mine = [b for b in list_backups(paths) if b.path == str(path)]
    assert len(mine) == KEEP_PER_FILE
    assert json.loads(Path(mine[-1].file).read_text())["numStartups"] == KEEP_PER_FILE + 5
    assert len([b for b in list_backups(paths) if b.path == str(other)]) == 1
    files = [p for p in paths.backups_dir.iterdir() if p.name != "index.jsonl"]
    assert len(files) == KEEP_PER_FILE + 1  # no orphans: every file is in the index
    assert {str(p) for p in files} == {b.file for b in list_backups(paths)}


def test_two_backups_of_the_same_bytes_in_one_second_have_their_own_ids(fake_home: Path) -> None:
    paths = Paths.from_env()
    target = fake_home / "x.json"
    first = make_backup(paths, target, b"{}\n")
    second = make_backup(paths, target, b"{}\n")
    assert first.id != second.id and first.file != second.file
    target.write_text('{"changed": true}\n')
    r = run("restore", first.id, "--yes")
    assert r.code == 0, r.err
    assert target.read_text() == "{}\n"
    assert run("restore", second.id[:15], "--yes").code == 2  # a prefix of several: ambiguous


def test_restore_by_client_takes_the_newest_backup_of_its_file(fake_home: Path) -> None:
    path = fake_home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    path.write_text('{"first": 1}\n')
    assert run("install", "-c", "cursor", "--auth", "oauth", "--region", "us", "--yes").code == 0
    installed = path.read_text()
    r = run("restore", "--client", "cursor", "--yes")
    assert r.code == 0, r.err
    assert path.read_text() == '{"first": 1}\n'
    r = run("restore", "--client", "cursor", "--yes")  # the restore itself was backed up
    assert r.code == 0 and path.read_text() == installed
    none = run("restore", "--client", "codex", "--yes")
    assert none.code == 2 and "has no backup of" in none.err
