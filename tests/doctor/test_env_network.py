"""`dot-setup doctor`: this machine (Node.js, npx, proxies, the clock, a browser) and the network
stages (DNS, TCP, TLS, HTTP). Each test builds the broken state for real: a fake old `node` on
PATH, a proxy variable naming a closed port, a server whose clock was moved, a socket that
accepts and never answers, a closed port, a name that never resolves, a self-signed certificate.
Only 127.0.0.1 and a `.invalid` name are ever contacted.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.doctor.conftest import Regions, check, doctor, human, install, write

MCP_REMOTE_CLIENT = ("--transport", "stdio", "--auth", "oauth")


# -- the broken states ---------------------------------------------------------------------------


def fake_bin(tmp_path: Path, **scripts: str) -> Path:
    """tmp_path/bin with one shell script per name, each printing its text (`node="v18.19.0"`)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name, text in scripts.items():
        write(folder / name, f"#!/bin/sh\necho {text}\n", mode=0o755)
    return folder


def path_first(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """PATH = folder, then the real PATH (so the fake comes first, as nvm's old node would)."""
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: bound, read, closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that completes the TCP handshake (the kernel's backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(32)
        yield sock.getsockname()[1]


def local_url(port: int, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{port}/ai/mcp"


def mcp_remote_client(fake_home: Path, url: str, *extra: str) -> None:
    """Cursor connected through `npx mcp-remote URL` with OAuth (install --transport stdio)."""
    write(fake_home / ".cursor" / "mcp.json", '{"mcpServers": {}}\n')
    install("--client", "cursor", "--server-url", url, *MCP_REMOTE_CLIENT)
    config = fake_home / ".cursor" / "mcp.json"
    entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]["dot"]
    assert "mcp-remote" in " ".join(entry["args"]), entry  # the state this file is about
    if extra:
        data = json.loads(config.read_text(encoding="utf-8"))
        data["mcpServers"]["dot"]["args"] += list(extra)
        write(config, json.dumps(data, indent=2) + "\n")


def statuses(envelope: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in envelope["data"]["checks"]}


def commands(result: dict[str, Any]) -> list[str]:
    assert result["remediation"] is not None, result
    cmds: list[str] = result["remediation"]["commands"]
    return cmds


# -- env.node ------------------------------------------------------------------------------------


def test_old_node_fails_when_a_client_runs_mcp_remote(
    tmp_path: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path_first(monkeypatch, fake_bin(tmp_path, node="v18.19.0"))
    mcp_remote_client(fake_home, local_url(closed_port()))

    code, env, err = doctor("env.node")

    node = check(env, "env.node")
    assert node["status"] == "fail", (node, err)
    assert "Node.js 18.19.0" in node["summary"] and "needs 20+" in node["summary"]
    assert str(tmp_path / "bin" / "node") in node["summary"]
    assert "Cursor" in node["summary"]  # who needs it
    assert node["data"]["version"] == "18.19.0"
    assert "node --version" in commands(node)
    assert "Node.js 20 or newer" in node["remediation"]["text"]
    assert any("which -a node" in d for d in node["details"])
    assert code == 1 and env["status"] == "fail"

    shown = human("env.node")
    assert shown.code == 1
    assert "✗ env.node: Node.js 18.19.0" in shown.out
    assert "fix: install Node.js 20 or newer" in shown.out
    assert "$ node --version" in shown.out


def test_old_node_only_warns_when_no_client_runs_mcp_remote(
    tmp_path: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path_first(monkeypatch, fake_bin(tmp_path, node="v18.19.0"))
    # A client over plain HTTP does not need Node.js.
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')
    install("--client", "codex", "--server-url", local_url(closed_port()), "--auth", "oauth")

    code, env, _ = doctor("env.node")

    node = check(env, "env.node")
    assert node["status"] == "warn", node
    assert "Node.js 18.19.0" in node["summary"] and "needs 20+" in node["summary"]
    assert "run mcp-remote" not in node["summary"]
    assert "node --version" in commands(node)
    assert code == 0


def test_no_node_on_path_fails_for_mcp_remote_and_warns_otherwise(
    tmp_path: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = fake_bin(tmp_path)
    monkeypatch.setenv("PATH", str(empty))

    code, env, _ = doctor("env.node")
    node = check(env, "env.node")
    assert node["status"] == "warn", node
    assert node["summary"] == "Node.js is not on PATH"
    assert code == 0

    mcp_remote_client(fake_home, local_url(closed_port()))
    code, env, _ = doctor("env.node")
    node = check(env, "env.node")
    assert node["status"] == "fail", node
    assert node["summary"].startswith("Node.js is not on PATH; Cursor run mcp-remote")
    assert "node --version" in commands(node)
    assert code == 1


def test_a_node_that_does_not_run_is_reported(
    tmp_path: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fake_bin(tmp_path)
    write(folder / "node", "#!/bin/sh\necho 'node: cannot execute' >&2\nexit 126\n", mode=0o755)
    path_first(monkeypatch, folder)
    mcp_remote_client(fake_home, local_url(closed_port()))

    _, env, _ = doctor("env.node")

    node = check(env, "env.node")
    assert node["status"] == "fail", node
    assert "does not run" in node["summary"] and str(folder / "node") in node["summary"]


def test_the_real_node_passes(fake_home: Path) -> None:
    real = shutil.which("node")
    if real is None:
        pytest.skip("no Node.js on this machine's PATH")
    out = subprocess.run([real, "--version"], capture_output=True, text=True, check=True).stdout
    version = out.strip().lstrip("v")
    if int(version.split(".")[0]) < 20:
        pytest.skip(f"this machine's Node.js {version} is older than 20")
    mcp_remote_client(fake_home, local_url(closed_port()))

    code, env, _ = doctor("env.node")

    node = check(env, "env.node")
    assert node["status"] == "pass", node
    assert node["summary"].startswith(f"Node.js {version} (")
    assert node["remediation"] is None
    assert code == 0


# -- env.npx -------------------------------------------------------------------------------------


def test_npx_missing_fails_when_a_client_runs_mcp_remote(
    tmp_path: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new enough node, but no npx anywhere on PATH (only our folder).
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, node="v22.1.0")))
    mcp_remote_client(fake_home, local_url(closed_port()))

    code, env, _ = doctor("env.node", "env.npx")

    assert check(env, "env.node")["status"] == "pass"
    npx = check(env, "env.npx")
    assert npx["status"] == "fail", npx
    assert npx["summary"] == "npx is not on PATH; Cursor start mcp-remote with it"
    assert "npx --version" in commands(npx)
    assert "Node.js 20 or newer" in npx["remediation"]["text"]
    assert code == 1

    shown = human("env.npx")
    assert "✗ env.npx: npx is not on PATH" in shown.out
    assert "$ npx --version" in shown.out


def test_npx_missing_only_warns_without_mcp_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, node="v22.1.0")))

    code, env, _ = doctor("env.npx")

    npx = check(env, "env.npx")
    assert npx["status"] == "warn", npx
    assert "needed only for clients that use mcp-remote" in npx["summary"]
    assert code == 0


# -- env.proxy -----------------------------------------------------------------------------------


def test_proxy_that_does_not_answer_fails_with_the_no_proxy_command(
    regions: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")

    code, env, _ = doctor("--timeout", "3")

    proxy = check(env, "env.proxy")
    assert proxy["status"] == "fail", proxy
    assert proxy["summary"].startswith(f"the proxy 127.0.0.1:{port} does not answer")
    assert "refused" in proxy["summary"].lower()
    assert commands(proxy) == ["export NO_PROXY=127.0.0.1"]
    assert "NO_PROXY" in proxy["remediation"]["text"]
    assert f"HTTP_PROXY=http://127.0.0.1:{port}" in proxy["details"][0]
    # The probe goes through that proxy too, so the server is not reached.
    tcp = check(env, "net.tcp")
    assert tcp["status"] == "fail" and f"127.0.0.1:{port}" in tcp["summary"], tcp
    assert check(env, "net.http")["status"] == "skip"
    assert code == 1

    shown = human("env.proxy")
    assert "✗ env.proxy: the proxy 127.0.0.1" in shown.out
    assert "$ export NO_PROXY=127.0.0.1" in shown.out

    # What the fix says, done: NO_PROXY covers the Dot host, and everything reaches it again.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    code, env, _ = doctor("--timeout", "3")
    proxy = check(env, "env.proxy")
    assert proxy["status"] == "pass", proxy
    assert "NO_PROXY covers 127.0.0.1" in proxy["summary"]
    assert check(env, "net.http")["status"] == "pass"
    assert code == 0, statuses(env)


def test_proxy_password_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:pr0xy-s3cret-pw@127.0.0.1:{port}")

    _, env, err = doctor("env.proxy", "--server-url", local_url(closed_port()))

    proxy = check(env, "env.proxy")
    assert proxy["status"] == "fail", proxy
    assert "alice:****@127.0.0.1" in proxy["details"][0]
    assert "pr0xy-s3cret-pw" not in json.dumps(env) + err
    shown = human("env.proxy", "-v", "--server-url", local_url(closed_port()))
    assert "pr0xy-s3cret-pw" not in shown.out + shown.err


def test_live_proxy_warns_when_mcp_remote_ignores_it(
    fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with silent_server() as proxy_port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        mcp_remote_client(fake_home, local_url(closed_port()))

        code, env, _ = doctor("env.proxy")

        proxy = check(env, "env.proxy")
        assert proxy["status"] == "warn", proxy
        assert "mcp-remote ignores it without --enable-proxy (Cursor)" in proxy["summary"]
        assert "--enable-proxy" in proxy["remediation"]["text"]
        assert code == 0

        # With --enable-proxy in its arguments, the same proxy is fine.
        mcp_remote_client(fake_home, local_url(closed_port()), "--enable-proxy")
        _, env, _ = doctor("env.proxy")
        proxy = check(env, "env.proxy")
        assert proxy["status"] == "pass", proxy
        assert proxy["summary"] == f"proxy 127.0.0.1:{proxy_port} answers"


# -- env.clock -----------------------------------------------------------------------------------


def test_clock_far_off_fails_naming_the_skew(regions: Regions) -> None:
    regions.us.clock.advance(400)  # the server is 400 s ahead: this machine is behind

    code, env, _ = doctor("env.clock")

    clock = check(env, "env.clock")
    assert clock["status"] == "fail", clock
    skew = clock["data"]["skew_seconds"]
    assert -402 <= skew <= -380, clock  # the fake clock stands still while the test runs
    assert clock["summary"] == f"this machine's clock is {-skew} s behind 127.0.0.1"
    assert "time sync (NTP)" in clock["remediation"]["text"]
    assert any("Authorization session expired" in d for d in clock["details"])
    assert code == 1

    shown = human("env.clock")
    assert "✗ env.clock: this machine's clock is" in shown.out
    assert "s behind 127.0.0.1" in shown.out


def test_clock_somewhat_off_warns(regions: Regions) -> None:
    regions.us.clock.advance(120)  # the server is 2 minutes ahead

    code, env, _ = doctor("env.clock")

    clock = check(env, "env.clock")
    assert clock["status"] == "warn", clock
    skew = clock["data"]["skew_seconds"]
    assert -122 <= skew <= -100, clock
    assert clock["summary"] == f"this machine's clock is {-skew} s behind 127.0.0.1"
    assert "time sync (NTP)" in clock["remediation"]["text"]
    assert code == 0

    regions.us.clock.advance(-240)  # now 2 minutes behind: this machine is ahead
    _, env, _ = doctor("env.clock")
    clock = check(env, "env.clock")
    assert clock["status"] == "warn", clock
    assert 100 <= clock["data"]["skew_seconds"] <= 140, clock
    assert re.fullmatch(r"this machine's clock is \d+ s ahead of 127\.0\.0\.1", clock["summary"])


def test_clock_in_step_passes(regions: Regions) -> None:
    code, env, _ = doctor("env.clock")

    clock = check(env, "env.clock")
    assert clock["status"] == "pass", clock
    assert abs(clock["data"]["skew_seconds"]) <= 30, clock
    assert re.fullmatch(r"clock within \d+ s of 127\.0\.0\.1", clock["summary"])
    assert code == 0


# -- env.browser ---------------------------------------------------------------------------------


@pytest.fixture
def headless_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Linux box with no BROWSER and no display (DOT_SETUP_OS pins the OS rules)."""
    monkeypatch.setenv("DOT_SETUP_OS", "linux")
    for var in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.usefixtures("headless_linux")
def test_no_display_warns_with_the_no_browser_login() -> None:
    code, env, _ = doctor("env.browser")

    browser = check(env, "env.browser")
    assert browser["status"] == "warn", browser
    assert browser["summary"] == (
        "no browser can open here: there is no display (DISPLAY/WAYLAND_DISPLAY)"
    )
    assert "dot-setup login --no-browser" in commands(browser)
    assert "Browser doesn't open" in browser["remediation"]["text"]
    assert code == 0

    shown = human("env.browser")
    assert "! env.browser: no browser can open here" in shown.out
    assert "$ dot-setup login --no-browser" in shown.out


@pytest.mark.usefixtures("headless_linux")
def test_ssh_session_warns_naming_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")  # even with X forwarding, the browser opens elsewhere
    monkeypatch.setenv("SSH_CONNECTION", "127.0.0.1 50000 127.0.0.1 22")

    _, env, _ = doctor("env.browser")

    browser = check(env, "env.browser")
    assert browser["status"] == "warn", browser
    assert "SSH session" in browser["summary"]
    assert "dot-setup login --no-browser" in commands(browser)


@pytest.mark.usefixtures("headless_linux")
def test_browser_variable_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "w3m")

    _, env, _ = doctor("env.browser")

    browser = check(env, "env.browser")
    assert browser["status"] == "pass", browser
    assert browser["summary"] == "a browser can open for OAuth sign-in (BROWSER=w3m)"


# -- network -------------------------------------------------------------------------------------


def test_server_that_never_answers_costs_one_timeout() -> None:
    with silent_server() as port:
        started = time.monotonic()
        code, env, err = doctor("--server-url", local_url(port), "--timeout", "2")
        took = time.monotonic() - started

    assert took < 3.0, f"the doctor took {took:.1f} s with --timeout 2"
    http = check(env, "net.http")
    assert http["status"] == "fail", (http, err)
    assert "timed out" in http["summary"] and "no HTTP answer" in http["summary"]
    assert http["data"]["timed_out"] is True
    assert any(local_url(port) in c for c in commands(http))
    assert check(env, "net.dns")["status"] == "pass"
    assert check(env, "net.tcp")["status"] == "pass"
    assert check(env, "net.tls")["summary"] == "no TLS to check: plain http (a local server)"
    for cid, status in statuses(env).items():
        if cid.startswith(("server.", "auth.")):
            assert status == "skip", (cid, status)
    assert "not reached" in check(env, "server.endpoint")["summary"]
    assert check(env, "env.clock")["status"] == "skip"
    assert not [c for c, s in statuses(env).items() if s == "error"], statuses(env)
    assert code == 1 and env["exit_code"] == 1


def test_timeout_remediation_names_the_clients_timeout_setting(fake_home: Path) -> None:
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')
    with silent_server() as port:
        install("--client", "codex", "--server-url", local_url(port), "--auth", "oauth")
        started = time.monotonic()
        code, env, _ = doctor("--timeout", "2")
        took = time.monotonic() - started
        shown = human("--timeout", "2")

    assert took < 3.0, f"the doctor took {took:.1f} s with --timeout 2"
    http = check(env, "net.http")
    assert http["status"] == "fail", http
    text = http["remediation"]["text"]
    assert "tool timeout setting" in text
    assert "Codex CLI: tool_timeout_sec" in text
    assert check(env, "client.codex.live")["status"] == "skip"
    assert code == 1

    assert "✗ net.http: HTTP to 127.0.0.1 timed out" in shown.out
    assert "tool_timeout_sec" in shown.out


def test_closed_port_fails_tcp_and_skips_http() -> None:
    port = closed_port()

    code, env, _ = doctor("--server-url", local_url(port), "--timeout", "3")

    assert check(env, "net.dns")["status"] == "pass"
    tcp = check(env, "net.tcp")
    assert tcp["status"] == "fail", tcp
    assert tcp["summary"] == f"TCP to 127.0.0.1 failed: 127.0.0.1:{port}: Connection refused"
    assert any(local_url(port) in c for c in commands(tcp))
    http = check(env, "net.http")
    assert http["status"] == "skip" and http["summary"] == "not tried: TCP failed first", http
    assert check(env, "server.endpoint")["status"] == "skip"
    assert code == 1

    shown = human("net", "--server-url", local_url(port), "--timeout", "3", "-v")
    assert "✗ net.tcp: TCP to 127.0.0.1 failed" in shown.out
    assert "- net.http: not tried: TCP failed first" in shown.out


def test_unresolvable_host_fails_dns() -> None:
    # https: dot-setup refuses plain http to anything but a local server (a usage error).
    url = "https://dot-doctor-test.invalid/ai/mcp"

    started = time.monotonic()
    code, env, _ = doctor("--server-url", url, "--timeout", "2")
    assert time.monotonic() - started < 3.0

    dns = check(env, "net.dns")
    assert dns["status"] == "fail", dns
    assert dns["summary"].startswith("DNS to dot-doctor-test.invalid ")
    assert "does not resolve" in dns["summary"] or "timed out" in dns["summary"], dns
    assert commands(dns) == ["nslookup dot-doctor-test.invalid"]
    for cid in ("net.tcp", "net.tls", "net.http"):
        assert check(env, cid)["summary"] == "not tried: DNS failed first"
    assert check(env, "server.endpoint")["status"] == "skip"
    assert code == 1


# -- TLS -----------------------------------------------------------------------------------------


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that nobody trusts, and its key (PEM files in folder)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = write(folder / "cert.pem", cert.public_bytes(serialization.Encoding.PEM).decode())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_path, write(folder / "key.pem", key_pem.decode())


@contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[int]:
    """HTTPS on 127.0.0.1 with that certificate; answers every request 401."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            except OSError:  # the client refused the certificate, or only opened TCP
                pass

    def accept(listener: socket.socket) -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        thread = threading.Thread(target=accept, args=(listener,), daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            thread.join(5)


def test_self_signed_certificate_fails_tls(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    cert, key = self_signed(tmp_path / "tls")

    with tls_server(cert, key) as port:
        code, env, _ = doctor("--server-url", local_url(port, "https"), "--timeout", "3")

    assert check(env, "net.tcp")["status"] == "pass"
    tls = check(env, "net.tls")
    assert tls["status"] == "fail", tls
    assert "certificate not trusted" in tls["summary"]
    assert "self-signed" in tls["summary"] or "self signed" in tls["summary"], tls
    assert "NODE_EXTRA_CA_CERTS" in tls["remediation"]["text"]
    http = check(env, "net.http")
    assert http["status"] == "skip" and http["summary"] == "not tried: TLS failed first", http
    assert code == 1


def test_trusted_certificate_passes_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same server with its certificate trusted (SSL_CERT_FILE, as for a company's TLS
    proxy): TLS passes, and so does HTTP, which trusts the same certificates."""
    pytest.importorskip("cryptography")
    cert, key = self_signed(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    with tls_server(cert, key) as port:
        _, env, _ = doctor("net", "--server-url", local_url(port, "https"), "--timeout", "3")

    tls = check(env, "net.tls")
    assert tls["status"] == "pass", tls
    assert "certificate valid for 127.0.0.1" in tls["summary"]
    http = check(env, "net.http")
    assert http["status"] == "pass", http
    assert "GET /ai/mcp → 401" in http["summary"]


def test_stale_ssl_cert_file_does_not_break_a_plain_http_server(
    regions: Regions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "gone.pem"))

    _, env, err = doctor("net", "--timeout", "3")

    assert statuses(env) == {
        "net.dns": "pass",
        "net.tcp": "pass",
        "net.tls": "skip",
        "net.http": "pass",
    }, (env["data"]["checks"], err)


def test_tls_handshake_that_never_finishes_fails_in_time() -> None:
    with silent_server() as port:
        started = time.monotonic()
        code, env, _ = doctor("--server-url", local_url(port, "https"), "--timeout", "2")
        took = time.monotonic() - started

    assert took < 3.0, f"the doctor took {took:.1f} s with --timeout 2"
    assert check(env, "net.tcp")["status"] == "pass"
    tls = check(env, "net.tls")
    assert tls["status"] == "fail", tls
    assert "timed out" in tls["summary"] and "did not finish in time" in tls["summary"]
    assert check(env, "net.http")["summary"] == "not tried: TLS failed first"
    assert code == 1


# -- exit codes ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("headless_linux")
def test_warnings_exit_0_and_fail_with_strict(regions: Regions) -> None:
    code, env, err = doctor("--timeout", "3")

    states = statuses(env)
    assert states["env.browser"] == "warn"
    assert not [c for c, s in states.items() if s in ("fail", "error")], states
    assert code == 0 and env["status"] == "ok" and env["exit_code"] == 0, err
    assert env["data"]["strict"] is False

    code, env, _ = doctor("--timeout", "3", "--strict")
    assert code == 1 and env["status"] == "fail" and env["exit_code"] == 1
    assert env["data"]["strict"] is True
    assert env["data"]["counts"]["warn"] >= 1 and env["data"]["counts"]["fail"] == 0

    shown = human("--timeout", "3", "--strict")
    assert shown.code == 1
    last = shown.out.strip().splitlines()[-1]
    assert re.match(r"\d+ passed, \d+ warnings?, 0 failed", last), last
