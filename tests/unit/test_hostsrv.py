"""The host's TFTP/HTTP file servers (pkilab.hostsrv) and the simulator's use of them.

Servers bind to 127.0.0.1 on ephemeral ports (port 0), so these tests run in parallel under
xdist. tftpy, a third-party TFTP implementation, checks that both ends speak RFC 1350.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pkilab.errors import TestbedError
from pkilab.hostsrv import (
    BLOCK,
    ERR_ACCESS,
    ERR_NOT_FOUND,
    ERR_UNDEFINED,
    HostServers,
    HostServerSpec,
    TftpError,
    TftpTimeout,
    Timing,
    parse_packet,
    request_packet,
    spec_from_testbed,
    tftp_read,
    tftp_write,
)
from pkilab.protocols import http as wire
from pkilab.testbed import Testbed
from pkilab.wait import wait_until

if TYPE_CHECKING:
    from pkilab.sim.router import Router

LOCAL = "127.0.0.1"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[HostServers]:
    with HostServers(HostServerSpec(LOCAL, 0, 0), tmp_path / "root") as hs:
        hs.precreate("certs", ["a.ser", "b.crl", "empty.cnm"])
        yield hs


def _sizes() -> list[int]:
    return [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 3 * BLOCK + 7]


@pytest.mark.parametrize("size", _sizes())
def test_write_then_read_round_trip(servers: HostServers, size: int) -> None:
    data = os.urandom(size)
    tftp_write(LOCAL, servers.tftp.port, "certs/a.ser", data)
    assert (servers.root / "certs" / "a.ser").read_bytes() == data
    assert tftp_read(LOCAL, servers.tftp.port, "/certs/a.ser") == data


def test_write_replaces_the_whole_file(servers: HostServers) -> None:
    tftp_write(LOCAL, servers.tftp.port, "certs/a.ser", b"x" * 2000)
    tftp_write(LOCAL, servers.tftp.port, "certs/a.ser", b"short")
    assert (servers.root / "certs" / "a.ser").read_bytes() == b"short"


def test_write_to_missing_file_is_refused(servers: HostServers) -> None:
    with pytest.raises(TftpError) as caught:
        tftp_write(LOCAL, servers.tftp.port, "certs/new.cnm", b"data")
    assert caught.value.code == ERR_NOT_FOUND
    assert not (servers.root / "certs" / "new.cnm").exists()
    transfer = wait_until(
        lambda: next((t for t in servers.tftp.transfers if t.filename == "certs/new.cnm"), None),
        5,
        0.05,
        "the refused transfer recorded",
    )
    assert transfer.op == "write" and transfer.error == "File not found"


def test_read_of_missing_file_is_refused(servers: HostServers) -> None:
    with pytest.raises(TftpError) as caught:
        tftp_read(LOCAL, servers.tftp.port, "certs/none")
    assert caught.value.code == ERR_NOT_FOUND


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_write_to_read_only_file_is_refused(servers: HostServers) -> None:
    path = servers.root / "certs" / "b.crl"
    path.chmod(0o444)
    with pytest.raises(TftpError) as caught:
        tftp_write(LOCAL, servers.tftp.port, "certs/b.crl", b"data")
    assert caught.value.code == ERR_ACCESS


@pytest.mark.parametrize("name", ["../outside", "certs/../../outside", "/../outside"])
def test_paths_cannot_leave_the_root(servers: HostServers, name: str) -> None:
    (servers.root.parent / "outside").write_bytes(b"secret")
    with pytest.raises(TftpError) as caught:
        tftp_read(LOCAL, servers.tftp.port, name)
    assert caught.value.code == ERR_ACCESS


def test_netascii_mode_is_refused(servers: HostServers) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(request_packet(1, "certs/a.ser", "netascii"), (LOCAL, servers.tftp.port))
        opcode, code, message = parse_packet(sock.recvfrom(600)[0])
    assert (opcode, code) == (5, ERR_UNDEFINED) and "octet" in message


def test_no_server_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCAL, 0))  # a port nobody answers on
        port = sock.getsockname()[1]
        with pytest.raises(TftpTimeout):
            tftp_read(LOCAL, port, "x", Timing(timeout=0.1, retries=2))


def test_concurrent_transfers(servers: HostServers) -> None:
    blobs = {f"f{i}": os.urandom(BLOCK * 2 + i) for i in range(4)}
    servers.precreate("par", list(blobs))
    errors: list[BaseException] = []

    def put(name: str, data: bytes) -> None:
        try:
            tftp_write(LOCAL, servers.tftp.port, f"par/{name}", data)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=item) for item in blobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert {n: (servers.root / "par" / n).read_bytes() for n in blobs} == blobs


def test_http_serves_the_same_directory(servers: HostServers) -> None:
    data = os.urandom(700)
    tftp_write(LOCAL, servers.tftp.port, "certs/b.crl", data)
    with urllib.request.urlopen(f"http://{LOCAL}:{servers.http.port}/certs/b.crl", timeout=5) as resp:
        assert resp.read() == data
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://{LOCAL}:{servers.http.port}/certs/none.crl", timeout=5)
    assert caught.value.code == 404
    hits = [(h.method, h.path, h.status) for h in servers.http.hits]
    assert hits == [("GET", "/certs/b.crl", 200), ("GET", "/certs/none.crl", 404)]


def test_http_keeps_the_connection_for_the_next_request(servers: HostServers) -> None:
    (servers.root / "certs" / "b.crl").write_bytes(b"crl bytes")
    conn = http.client.HTTPConnection(LOCAL, servers.http.port, timeout=5)
    try:
        conn.request("GET", "/certs/b.crl")
        first = conn.getresponse()
        assert (first.status, first.getheader("Content-Type"), first.read()) == (
            200,
            "application/pkix-crl",
            b"crl bytes",
        )
        local = conn.sock.getsockname()
        conn.request("HEAD", "/certs/b.crl")
        head = conn.getresponse()
        assert (head.status, head.getheader("Content-Length"), head.read()) == (200, "9", b"")
        conn.request("DELETE", "/certs/b.crl")
        assert conn.getresponse().status == 501
        assert conn.sock.getsockname() == local  # one connection for all three
    finally:
        conn.close()
    assert (servers.root / "certs" / "b.crl").exists()


def test_http_reads_a_request_that_arrives_in_pieces(servers: HostServers) -> None:
    (servers.root / "certs" / "b.crl").write_bytes(b"crl bytes")
    with socket.create_connection((LOCAL, servers.http.port), timeout=5) as sock:
        for piece in (b"GET /certs/", b"b.crl HTTP/1.1\r\nHo", b"st: x\r\nConnection: close\r\n", b"\r\n"):
            sock.sendall(piece)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\ncrl bytes")


@pytest.mark.parametrize(
    "path", ["/../outside.crl", "/certs/%2e%2e/%2e%2e/outside.crl", "/certs/a%00.ser", "/certs", "/", "/certs/loop/x"]
)
def test_http_serves_only_files_under_the_root(
    servers: HostServers, path: str, capfd: pytest.CaptureFixture[str]
) -> None:
    (servers.root.parent / "outside.crl").write_bytes(b"secret")
    (servers.root / "certs" / "loop").symlink_to("loop")
    conn = http.client.HTTPConnection(LOCAL, servers.http.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert (response.status, response.read()) == (404, b"Not Found\n")
    finally:
        conn.close()
    assert capfd.readouterr().err == ""


def test_stopping_ends_open_keep_alive_connections(tmp_path: Path) -> None:
    servers = HostServers(HostServerSpec(LOCAL, 0, 0), tmp_path).start()
    with socket.create_connection((LOCAL, servers.http.port), timeout=5) as sock:
        sock.sendall(b"GET /none HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 404 ")
        started = time.monotonic()
        servers.stop()
        assert sock.recv(4096) == b""  # closed by the stop, not by the idle timeout
        assert time.monotonic() - started < wire.IDLE_SECONDS / 2


def test_http_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOCAL, 0))
        taken.listen()
        spec = HostServerSpec(LOCAL, 0, taken.getsockname()[1])
        with pytest.raises(Exception, match=r"custom\.hostsrv\.http_port: cannot listen"):
            HostServers(spec, tmp_path).start()


def test_precreate_makes_empty_writable_files(servers: HostServers) -> None:
    path = servers.root / "certs" / "empty.cnm"
    assert path.read_bytes() == b""
    assert path.stat().st_mode & 0o666 == 0o666
    with pytest.raises(Exception, match="outside"):
        servers.precreate("..", ["escape"])


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOCAL, 0))
        spec = HostServerSpec(LOCAL, taken.getsockname()[1], 0)
        with pytest.raises(Exception, match=r"custom\.hostsrv\.tftp_port: cannot listen"):
            HostServers(spec, tmp_path).start()


# ---- third-party interoperability (tftpy) ------------------------------------------------------
def test_tftpy_client_against_our_server(servers: HostServers, tmp_path: Path) -> None:
    import tftpy

    client = tftpy.TftpClient(LOCAL, servers.tftp.port)
    upload = tmp_path / "up"
    upload.write_bytes(os.urandom(BLOCK * 2))  # an exact multiple: the transfer ends with an empty block
    client.upload("certs/a.ser", str(upload))
    assert (servers.root / "certs" / "a.ser").read_bytes() == upload.read_bytes()
    client.download("certs/a.ser", str(tmp_path / "down"))
    assert (tmp_path / "down").read_bytes() == upload.read_bytes()


def test_our_client_against_tftpy_server(tmp_path: Path) -> None:
    import tftpy

    (tmp_path / "file.bin").write_bytes(os.urandom(BLOCK * 3 + 5))
    server = tftpy.TftpServer(str(tmp_path))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOCAL, 0))
        port = probe.getsockname()[1]
    thread = threading.Thread(target=server.listen, args=(LOCAL, port), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.is_running.is_set(), 5, 0.05, "tftpy server listening")
        assert tftp_read(LOCAL, port, "file.bin") == (tmp_path / "file.bin").read_bytes()
        tftp_write(LOCAL, port, "uploaded.bin", b"z" * 1000)
        wait_until(
            lambda: (tmp_path / "uploaded.bin").exists() and (tmp_path / "uploaded.bin").read_bytes() == b"z" * 1000,
            5,
            0.05,
            "tftpy stored the upload",
        )
    finally:
        # tftpy's loop notices the flag at its next 5 s select timeout; its thread is a daemon.
        server.stop(now=True)


# ---- testbed settings ------------------------------------------------------------------------
def _testbed(hostsrv: object) -> Testbed:
    return Testbed(name="t", path=Path("t.yaml"), devices=(), extra={"hostsrv": hostsrv} if hostsrv else {})


def test_spec_from_testbed() -> None:
    spec = spec_from_testbed(_testbed({"address": "127.0.0.1", "tftp_port": 6900, "http_port": 6901, "root": "/x"}))
    assert spec == HostServerSpec("127.0.0.1", 6900, 6901, Path("/x"))
    assert spec.tftp_url("certs", "files") == "tftp://files/certs"
    assert spec.http_url("/certs/ca.crl") == "http://127.0.0.1:6901/certs/ca.crl"
    assert spec_from_testbed(_testbed({"address": "10.0.0.5"})) == HostServerSpec("10.0.0.5", 69, 80)
    assert HostServerSpec("10.0.0.5").http_url("c.crl") == "http://10.0.0.5/c.crl"
    assert spec_from_testbed(_testbed(None)) is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"address": "files.example"}, "custom.hostsrv.address"),
        ({"address": "127.0.0.1", "tftp_port": 70000}, "custom.hostsrv.tftp_port"),
        ({"address": "127.0.0.1", "http_port": "80"}, "custom.hostsrv.http_port"),
        ("127.0.0.1", "custom.hostsrv"),
    ],
)
def test_bad_spec_names_the_field(raw: object, field: str) -> None:
    with pytest.raises(TestbedError) as caught:
        spec_from_testbed(_testbed(raw))
    assert caught.value.field == field


# ---- the simulated router's side ---------------------------------------------------------------
def _offline_ca(hostsrv_spec: HostServerSpec | None) -> tuple[Router, Callable[[str], str]]:
    """One simulated router booted without sockets (TFTP transfers are synchronous)."""
    from unit.sim.simkit import OfflineLab, make_spec

    lab = OfflineLab(make_spec("ca", role="ca"), hostsrv=dataclasses.asdict(hostsrv_spec) if hostsrv_spec else None)
    return lab.routers["ca"], lab.cli("ca")


def _start_ca(cli: Callable[[str], str], url: str) -> str:
    for line in (
        "clock set 09:58:20 30 Jan 2026",
        "configure terminal",
        "ip http server",
        "ip host files 127.0.0.1",
        "crypto key generate rsa general-keys label ese-ios-ca modulus 1024 exportable",
        "crypto pki server ese-ios-ca",
        "database level names",
        f"database url {url}",
        "cdp-url http://files/certs/ese-ios-ca.crl",
        "no shutdown",
    ):
        cli(line)
    out = cli("yes")
    cli("end")
    return out


def test_simulated_ca_writes_its_database_over_tftp(servers: HostServers) -> None:
    from cryptography import x509

    _, cli = _offline_ca(servers.bound_spec())
    servers.precreate("certs", ["ese-ios-ca.ser", "ese-ios-ca.crl", "1.cnm"])
    assert "Certificate Server enabled" in _start_ca(cli, "tftp://files/certs")
    folder = servers.root / "certs"
    assert b"serial = 0x1" in (folder / "ese-ios-ca.ser").read_bytes()
    assert x509.load_der_x509_crl((folder / "ese-ios-ca.crl").read_bytes()).issuer.rfc4514_string() == "CN=ese-ios-ca"
    assert b"subjectname_str" in (folder / "1.cnm").read_bytes()
    assert "tftp://files/certs" in cli("show crypto pki server")


def test_simulated_ca_on_an_unknown_tftp_host_does_not_start(servers: HostServers) -> None:
    _, cli = _offline_ca(servers.bound_spec())
    out = _start_ca(cli, "tftp://10.9.9.9/certs")
    assert "Failed to start" in out and "tftp://10.9.9.9/certs" in out


def test_simulated_copy_to_tftp(servers: HostServers) -> None:
    _, cli = _offline_ca(servers.bound_spec())
    servers.precreate("certs", ["startup-confg"])
    for line in ("configure terminal", "ip host files 127.0.0.1", "end", "write memory"):
        cli(line)
    assert cli("copy start tftp://files/certs/startup-confg").endswith("[files]? ")
    assert cli("").endswith("[certs/startup-confg]? ")
    out = cli("")
    assert "bytes copied" in out
    assert b"hostname ca" in (servers.root / "certs" / "startup-confg").read_bytes()
    # IOS asks the remote host and the source file even when the URL names them.
    assert cli("copy tftp://files/certs/startup-confg flash:").endswith("Address or name of remote host [files]? ")
    assert cli("").endswith("Source filename [certs/startup-confg]? ")
    assert cli("").endswith("Destination filename [startup-confg]? ")
    assert "bytes copied" in cli("")
    assert "hostname ca" in cli("more flash:startup-confg")
    cli("copy start tftp://files/certs/never-created")
    cli("")
    assert cli("").splitlines()[0] == "%Error opening tftp://files/certs/never-created (No such file or directory)"


def test_simulated_copy_without_hostsrv_times_out() -> None:
    _, cli = _offline_ca(None)
    cli("copy start tftp://127.0.0.1/x")
    cli("")
    assert "(Timed out)" in cli("")


def test_an_idle_keep_alive_connection_is_closed(servers: HostServers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "IDLE_SECONDS", 0.2)
    with socket.create_connection((LOCAL, servers.http.port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /none HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):  # until the server closes
            data += chunk
    assert data.startswith(b"HTTP/1.1 404 ") and b"Connection: close" not in data
    assert 0.2 <= time.monotonic() - started < 4


def test_a_head_dripped_byte_by_byte_is_cut_at_the_idle_limit(
    servers: HostServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle counts from the last answer: a client sending one byte at a time cannot hold a thread."""
    monkeypatch.setattr(wire, "IDLE_SECONDS", 0.3)
    head = b"GET /none HTTP/1.1\r\nHost: x\r\nX-Drip: " + b"a" * 100
    with socket.create_connection((LOCAL, servers.http.port), timeout=5) as sock:
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for byte in head:  # about 5 s of drip, each byte well within the idle limit
                sock.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.05)
        assert sent < len(head)
        try:
            rest = sock.recv(4096)
        except ConnectionResetError:  # the server closed while bytes were still arriving
            rest = b""
        assert rest == b""  # closed, nothing answered
