"""Hostile HTTP requests against every pkilab HTTP server, on real sockets and the virtual network.

The same probes (malformed framing, request smuggling shapes, oversized heads and bodies) go to a
simulated router's HTTP server on a loopback socket, to the host's file server on a loopback
socket, and from one simulated router to another over the virtual network. Each must be answered
once with its status, the connection closed, and nothing logged: a request hidden behind a
refused one is never answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pkilab.hostsrv import HostServers, HostServerSpec
from pkilab.protocols import http as wire
from pkilab.protocols.http import HttpRequest, HttpResponse, ServerConnection
from pkilab.sim import vhttp
from pkilab.sim.features.ip import Ip
from pkilab.sim.http import HttpServer
from unit.sim.simkit import OfflineLab, make_spec

LOCAL = "127.0.0.1"
HIDDEN = b"GET /hidden HTTP/1.1\r\nHost: a\r\n\r\n"
SMALL_BODY = 4096  # MAX_BODY in these tests: a too-large body fits in one virtual-network segment


def _post(*headers: str, body: bytes = b"", version: str = "1.1") -> bytes:
    head = f"POST /probe HTTP/{version}\r\nHost: a\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head.encode("utf-8") + b"\r\n" + body


# (id, request bytes, the one status it gets before the connection closes)
PROBES = [
    ("content-length-superscript-two", _post("Content-Length: ²", body=b"ab"), 400),
    ("content-length-superscript-two-latin-1", _post("Content-Length: ²").replace(b"\xc2", b"") + b"ab", 400),
    ("content-length-5000-digits", _post("Content-Length: " + "9" * 5000, body=b"ab"), 400),
    ("content-length-negative", _post("Content-Length: -1"), 400),
    ("content-length-plus-sign", _post("Content-Length: +2", body=b"ab"), 400),
    ("content-length-hex", _post("Content-Length: 0x2", body=b"ab"), 400),
    ("content-length-words", _post("Content-Length: ten"), 400),
    ("content-length-list-differing", _post("Content-Length: 3, 4", body=b"abcd"), 400),
    ("content-length-space-before-colon", _post("Content-Length : 2", body=b"ab"), 400),
    # CL.CL: the first length says the body is empty, the second hides a request in it
    (
        "content-length-duplicate-differing",
        _post("Content-Length: 0", f"Content-Length: {len(HIDDEN)}", body=HIDDEN),
        400,
    ),
    # CL.TE and TE.CL: chunked says the body ends at "0", the length says later (or the reverse)
    (
        "transfer-encoding-with-content-length",
        _post("Content-Length: 40", "Transfer-Encoding: chunked", body=b"0\r\n\r\n" + HIDDEN),
        400,
    ),
    (
        "content-length-with-transfer-encoding",
        _post("Transfer-Encoding: chunked", "Content-Length: 3", body=b"3\r\nabc\r\n0\r\n\r\n"),
        400,
    ),
    ("transfer-encoding-gzip", _post("Transfer-Encoding: gzip", body=b"ab"), 400),
    ("transfer-encoding-gzip-chunked", _post("Transfer-Encoding: gzip, chunked", body=b"0\r\n\r\n"), 400),
    ("transfer-encoding-chunked-identity", _post("Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n"), 400),
    ("transfer-encoding-xchunked", _post("Transfer-Encoding: xchunked", body=b"0\r\n\r\n" + HIDDEN), 400),
    ("transfer-encoding-space-before-colon", _post("Transfer-Encoding : chunked", body=b"0\r\n\r\n" + HIDDEN), 400),
    (
        "transfer-encoding-in-http-1.0",
        _post("Transfer-Encoding: chunked", body=b"0\r\n\r\n" + HIDDEN, version="1.0"),
        400,
    ),
    ("chunk-size-not-hex", _post("Transfer-Encoding: chunked", body=b"zz\r\nab\r\n0\r\n\r\n"), 400),
    ("chunk-size-5000-digits", _post("Transfer-Encoding: chunked", body=b"f" * 5000 + b"\r\n"), 400),
    ("request-line-garbage", b"NONSENSE\r\n\r\n" + HIDDEN, 400),
    ("request-line-bare-newlines", b"GET\n/\nHTTP/1.1\r\n\r\n" + HIDDEN, 400),
    ("header-without-colon", b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n" + HIDDEN, 400),
    ("header-with-nul", b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n" + HIDDEN, 400),
    ("http-1.1-without-host", b"GET / HTTP/1.1\r\n\r\n" + HIDDEN, 400),
    ("http-version-2", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n" + HIDDEN, 505),
    ("head-too-large", b"GET /" + b"a" * (wire.MAX_HEAD + 10) + b" HTTP/1.1\r\nHost: a\r\n\r\n", 431),
    ("declared-body-too-large", _post(f"Content-Length: {SMALL_BODY + 1}"), 413),
    (
        "chunked-body-too-large",
        _post(
            "Transfer-Encoding: chunked", body=b"%x\r\n" % (SMALL_BODY + 1) + b"a" * (SMALL_BODY + 1) + b"\r\n0\r\n\r\n"
        ),
        413,
    ),
]
STATUS_LINE = re.compile(rb"^HTTP/1\.1 (\d{3}) ", re.MULTILINE)


@pytest.fixture(autouse=True)
def small_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_BODY", SMALL_BODY)


def _app(seen: list[str]) -> Callable[[HttpRequest], HttpResponse]:
    def app(request: HttpRequest) -> HttpResponse:
        seen.append(request.path)
        return HttpResponse(200, "text/plain", b"answered\n")

    return app


def _recv_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a server that keeps the connection open times out)."""
    sock.settimeout(5)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _over_socket(port: int, raw: bytes) -> bytes:
    with socket.create_connection((LOCAL, port), timeout=5) as sock:
        sock.sendall(raw)
        return _recv_until_closed(sock)


@contextlib.contextmanager
def _router_server() -> Iterator[int]:
    """A simulated router's HTTP server on an ephemeral port, its event loop in a thread."""
    router = OfflineLab(make_spec("r1", config=["ip http server"])).routers["r1"]
    loop = asyncio.new_event_loop()
    server = HttpServer(router, LOCAL, 0)
    loop.run_until_complete(server.start())
    assert isinstance(server.server, asyncio.Server)  # what create_server made
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.server.sockets[0].getsockname()[1]
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _through_virtual_network(raw: bytes) -> bytes:
    lab = OfflineLab(
        make_spec("r1", "10.0.0.1/24", config=["ip http server"]),
        make_spec("r2", "10.0.0.2/24"),
    )
    return asyncio.run(vhttp.exchange(lab.routers["r2"].feature(Ip), "10.0.0.1", 80, raw))


def _check_refused(data: bytes, status: int) -> None:
    statuses = [int(s) for s in STATUS_LINE.findall(data)]
    assert statuses == [status], data[:300]
    assert b"\r\nConnection: close\r\n" in data
    assert b"/hidden" not in data and b"answered" not in data


@pytest.mark.parametrize(("raw", "status"), [p[1:] for p in PROBES], ids=[p[0] for p in PROBES])
def test_sans_io_refuses_once_and_answers_nothing_behind(raw: bytes, status: int) -> None:
    seen: list[str] = []
    conn = ServerConnection("10.0.0.2")
    _check_refused(conn.serve(raw, _app(seen)) + conn.serve(HIDDEN, _app(seen)), status)
    assert conn.closing and conn.refusal is not None and conn.refusal.status == status
    assert seen == []


@pytest.mark.parametrize(("raw", "status"), [p[1:] for p in PROBES], ids=[p[0] for p in PROBES])
def test_router_http_server_refuses_and_closes(
    raw: bytes, status: int, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG), _router_server() as port:
        data = _over_socket(port, raw)
    _check_refused(data, status)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(("raw", "status"), [p[1:] for p in PROBES], ids=[p[0] for p in PROBES])
def test_host_file_server_refuses_and_closes(
    raw: bytes, status: int, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hidden").write_bytes(b"answered\n")  # what a smuggled GET /hidden would fetch
    with HostServers(HostServerSpec(LOCAL, 0, 0), tmp_path) as servers:
        data = _over_socket(servers.http.port, raw)
        hits = list(servers.http.hits)
    _check_refused(data, status)
    assert [(h.path, h.status) for h in hits] == [("", status)]  # the refusal, recorded; nothing served
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("raw", "status"),
    [p[1:] for p in PROBES if p[0] != "head-too-large"],  # 64 kB: over one IPv4 packet
    ids=[p[0] for p in PROBES if p[0] != "head-too-large"],
)
def test_virtual_network_http_refuses(raw: bytes, status: int) -> None:
    _check_refused(_through_virtual_network(raw), status)


# ---- what is accepted, on every path ------------------------------------------------------------
CHUNKED_THEN_CLOSE = (
    _post("Transfer-Encoding: chunked", body=b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    + b"GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
)


def test_chunked_bodies_and_pipelining_on_a_router_and_the_file_server(tmp_path: Path) -> None:
    with _router_server() as port:
        data = _over_socket(port, CHUNKED_THEN_CLOSE)
    assert [int(s) for s in STATUS_LINE.findall(data)] == [404, 404]  # no application on these paths
    with HostServers(HostServerSpec(LOCAL, 0, 0), tmp_path) as servers:
        data = _over_socket(servers.http.port, CHUNKED_THEN_CLOSE)
        hits = [(h.method, h.path, h.status) for h in servers.http.hits]
    assert [int(s) for s in STATUS_LINE.findall(data)] == [501, 404]
    assert hits == [("POST", "/probe", 501), ("GET", "/second", 404)]


def test_a_chunked_request_over_the_virtual_network_is_answered() -> None:
    data = _through_virtual_network(_post("Transfer-Encoding: chunked", body=b"3\r\nabc\r\n0\r\n\r\n"))
    assert [int(s) for s in STATUS_LINE.findall(data)] == [404]
    assert b"\r\nConnection: close\r\n" in data  # one segment each way: the answer ends the connection


def test_identical_duplicate_content_length_is_one_length() -> None:
    seen: list[str] = []
    raw = _post("Content-Length: 2", "Content-Length: 2", body=b"ab") + HIDDEN
    out = ServerConnection("").serve(raw, _app(seen))
    assert [int(s) for s in STATUS_LINE.findall(out)] == [200, 200]
    assert seen == ["/probe", "/hidden"]  # here the second request is a real one, pipelined
