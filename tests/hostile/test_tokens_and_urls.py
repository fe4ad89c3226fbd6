"""Tokens and server URLs as an attacker or an unlucky user gives them.

Was: a token holding `"` or `\\` was shown unmasked in its JSON-escaped form (--dry-run diffs,
--json); `--server-url https://u:password@host/...` was accepted and the password printed, and
URLs with spaces or newlines were accepted; with DOT_SETUP_OS=windows a URL holding `&` went
as-is into `cmd /c npx mcp-remote URL`; a token file that never ends (/dev/zero) was a
MemoryError, a token file or stdin that is not UTF-8 a crash.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from tests.helpers import TOKEN, run
from tests.hostile.conftest import cli

from dot_setup import secrets
from dot_setup.secrets import Redactor

PASSWORD = "hunter2-Sup3rSecretPw"


@pytest.mark.parametrize("bad", ['"', "\\", "%22", "'", "$", "`", "&", ";"])
def test_a_token_a_bearer_header_cannot_hold_is_refused(fake_home: Path, bad: str) -> None:
    token = f"dot_mcp_us_abcdefghijklmnop{bad}qrstuvwxyz0123456789"
    for args in (("install", "-c", "cursor", "--yes"), ("show", "-c", "generic")):
        r = run(*args, "--auth", "token", "--token-stdin", "--region", "us", stdin=token)
        assert r.code == 2, r.err
        assert "characters a bearer token cannot have" in r.err
        assert token not in r.out + r.err
        assert json.dumps(token)[1:-1] not in r.out + r.err
    assert not (fake_home / ".cursor").exists()


def test_every_written_encoding_of_a_secret_is_masked() -> None:
    """Secrets not read by dot-setup's token input (a server's access token, say) may hold
    anything: each form they are written in is masked, not only the raw one."""
    from urllib.parse import quote

    secret = 'abc"def\\ghi/jkl+mno=pqr&stu<vwx>yz0123'
    redact = Redactor()
    redact.add(secret)
    text = "\n".join(
        [secret, json.dumps(secret), json.dumps({"h": f"Bearer {secret}"}), quote(secret, safe="")]
    )
    out = redact(text)
    for piece in ("def", "ghi", "jkl", "mno", "pqr", "stu", "vwx"):
        assert piece not in out, out


def test_a_url_encoded_token_makes_the_file_private_and_is_masked(fake_home: Path) -> None:
    """A valid token with `/`, `+`, `=` is URL-encoded in `?token=`: still a secret."""
    token = "dot_mcp_us_ab/cd+ef/ghijklmnopqrstuvwxyz0123456=="
    r = run("show", "-c", "chatgpt", "--token-stdin", "--region", "us", "--json", stdin=token)
    assert r.code == 0, r.err
    from urllib.parse import quote

    assert quote(token, safe="<>") not in r.out + r.err
    assert token not in r.out + r.err


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"https://user:{PASSWORD}@app.example.com/ai/mcp", "holds a user name or password"),
        (f"https://{PASSWORD}@app.example.com/ai/mcp", "holds a user name or password"),
        ("https://app.example.com/ai/mcp --header x", "whitespace or control characters"),
        ("https://app.example.com/ai/mcp\nhttps://evil.example", "whitespace or control"),
        ("https://app.example.com/ai/\tmcp", "whitespace or control characters"),
        ("https://app.example.com/ai/mcp\x00", "whitespace or control characters"),
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("javascript:alert(1)", "is not an http(s) URL"),
        ("ftp://app.example.com/ai/mcp", "is not an http(s) URL"),
        ("https://", "is not an http(s) URL"),
        ("http://[::1/ai/mcp", "is not a valid URL"),
        ("https://app.example.com:99999/ai/mcp", "is not a valid URL"),
        ("https://app.example.com/ai/mcp#frag", "has a #fragment"),
        ("http://app.example.com/ai/mcp", "plain http to a remote host"),
    ],
)
def test_a_bad_server_url_is_one_line_and_exit_2(fake_home: Path, url: str, words: str) -> None:
    for command in (
        ("install", "-c", "cursor", "--auth", "oauth", "--yes"),
        ("show", "-c", "cursor", "--auth", "oauth"),
        ("--client", "cursor", "--auth", "oauth", "--dry-run"),
        ("token", "status"),
    ):
        r = run(*command, "--server-url", url)
        assert r.code == 2, (command, r.err)
        errors = [line for line in r.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and words in errors[0], r.err
        assert PASSWORD not in r.out + r.err
        assert "\x00" not in r.err
    assert not (fake_home / ".cursor").exists()


def test_region_urls_from_the_environment_are_checked_too(
    fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"us=https://u:{PASSWORD}@h.example/ai/mcp")
    r = run("install", "-c", "cursor", "--auth", "oauth", "--region", "us", "--yes")
    assert r.code == 2 and "user name or password" in r.err
    assert PASSWORD not in r.out + r.err


@pytest.mark.parametrize("char", ["&", "|", "<", ">", "^", "%", '"'])
def test_windows_cmd_never_gets_a_command_character(
    fake_home: Path, monkeypatch: pytest.MonkeyPatch, char: str
) -> None:
    monkeypatch.setenv("DOT_SETUP_OS", "windows")
    url = f"https://app.example.com/ai/mcp?x=1{char}calc.exe"
    r = run("install", "-c", "claude-desktop", "--server-url", url, "--auth", "oauth", "--yes")
    assert r.code == 2, r.err
    assert "cannot be passed through `cmd /c`" in r.err
    assert not list(fake_home.rglob("claude_desktop_config.json"))
    # the same URL is fine where no cmd is involved (an http entry on Windows)
    ok = run("install", "-c", "cursor", "--server-url", url, "--auth", "oauth", "--yes")
    assert ok.code == 0, ok.err


def test_a_token_file_that_never_ends_is_refused(fake_home: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can make a device node")
    zero = tmp_path / "zero"  # a zero device (1:5) made here, like /dev/zero
    os.mknod(zero, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    r = run("install", "-c", "cursor", "--token-file", str(zero), "--region", "us", "--yes")
    assert r.code == 2, r.err
    assert "is a character device" in r.err


@pytest.mark.timeout(30)
def test_a_token_pipe_that_never_stops_is_refused(fake_home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    stop = threading.Event()

    def endless() -> None:
        with open(fifo, "wb") as fh:
            try:
                while not stop.is_set():
                    fh.write(b"a" * 65536)
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    try:
        r = run("install", "-c", "cursor", "--token-file", str(fifo), "--region", "us", "--yes")
    finally:
        stop.set()
    assert r.code == 2, r.err
    assert "holds more than 65536 bytes" in r.err


@pytest.mark.timeout(30)
def test_a_token_pipe_that_never_closes_times_out(
    fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "STDIN_TIMEOUT_S", 1.0)
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)  # a writer that holds the pipe open and writes nothing
    try:
        r = run("install", "-c", "cursor", "--token-file", str(fifo), "--region", "us", "--yes")
    finally:
        os.close(fd)
    assert r.code == 2, r.err
    assert "did not end within 1 s" in r.err


def test_a_token_from_a_pipe_works(fake_home: Path, tmp_path: Path) -> None:
    """`--token-file <(pass show dot)`: a pipe is a fine token file."""
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    os.write(fd, (TOKEN + "\n").encode())
    reader = os.open(fifo, os.O_RDONLY)  # keep a reader so closing the writer delivers EOF
    os.close(fd)
    try:
        r = run("install", "-c", "cursor", "--token-file", str(fifo), "--region", "us", "--yes")
    finally:
        os.close(reader)
    assert r.code == 0, r.err
    assert TOKEN in (fake_home / ".cursor" / "mcp.json").read_text()


def test_a_token_file_that_is_not_utf8_is_refused(fake_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"dot_mcp_us_\xff\xfe" + b"a" * 30)
    r = run("install", "-c", "cursor", "--token-file", str(path), "--region", "us", "--yes")
    assert r.code == 2, r.err
    assert "is not UTF-8 text" in r.err and "internal error" not in r.err


@pytest.mark.slow
def test_stdin_that_is_not_utf8_or_never_ends(fake_home: Path, tmp_path: Path) -> None:
    """A real process reading a real pipe: invalid UTF-8, then a never-ending stream."""
    env = {"DOT_SETUP_HOME": str(fake_home), "DOT_SETUP_STATE_DIR": str(tmp_path / "state")}
    args = ("install", "-c", "cursor", "--token-stdin", "--region", "us", "--yes")
    bad = cli(*args, env=env, stdin=None, timeout=30)  # stdin closed: empty
    assert bad.returncode == 2 and "is empty" in bad.stderr
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "dot_setup", *args],
        input=b"dot_mcp_us_\xff\xfe" + b"a" * 30,
        capture_output=True,
        env={**os.environ, **env},
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and b"stdin is not UTF-8 text" in proc.stderr
    with subprocess.Popen(
        ["yes"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as yes:  # a stream that never ends
        endless = cli(*args, env=env, stdin=yes.stdout.fileno(), timeout=30)  # type: ignore[union-attr]
        yes.kill()
    assert endless.returncode == 2 and "holds more than 65536 bytes" in endless.stderr
    assert not (fake_home / ".cursor").exists()
