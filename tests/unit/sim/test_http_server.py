"""The simulated routers' HTTP: the sans-IO request parser and the host-side server on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from simkit import OfflineLab, make_spec

from pkilab.sim import http
from pkilab.sim.http import HttpError, HttpResponse, HttpServer, encode_response, parse_request

CGI = "/cgi-bin/pkiclient.exe"


def test_a_complete_request_is_read_and_its_bytes_counted() -> None:
    raw = (
        b"POST /cgi-bin/pkiclient.exe?operation=PKIOperation HTTP/1.1\r\nHost: ca\r\nContent-Length: 3\r\n\r\n"
        b"abcGET / HTTP/1.1\r\n\r\n"
    )
    request, used = parse_request(raw, "10.0.0.2")
    assert request is not None
    assert (request.method, request.path, request.query) == ("POST", CGI, {"operation": "PKIOperation"})
    assert (request.body, request.client, request.keep_alive) == (b"abc", "10.0.0.2", True)
    assert raw[used:] == b"GET / HTTP/1.1\r\n\r\n"  # the next (pipelined) request starts there


@pytest.mark.parametrize("raw", [b"GET / HTTP/1.1\r\nHost: ca\r\n", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"])
def test_an_incomplete_request_waits_for_more(raw: bytes) -> None:
    assert parse_request(raw, "") == (None, 0)


@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [
        ("HTTP/1.1", "", True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.0", "", False),
        ("HTTP/1.0", "Keep-Alive", True),
    ],
)
def test_keep_alive_follows_the_version_and_the_connection_header(version: str, connection: str, keep: bool) -> None:
    header = f"Connection: {connection}\r\n" if connection else ""
    request, _ = parse_request(f"GET / {version}\r\n{header}\r\n".encode(), "")
    assert request is not None and request.keep_alive is keep


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (http.MAX_BODY + 1), 413),
        (b"GET /" + b"a" * (http.MAX_HEAD + 1), 400),  # a head that never ends
    ],
)
def test_malformed_requests_get_an_error_status(raw: bytes, status: int) -> None:
    with pytest.raises(HttpError) as caught:
        parse_request(raw, "")
    assert caught.value.response.status == status


def test_responses_carry_length_and_connection() -> None:
    data = encode_response(HttpResponse(200, "text/plain", b"POSTPKIOperation\n"), keep_alive=True)
    assert data == (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
        b"Connection: keep-alive\r\n\r\nPOSTPKIOperation\n"
    )
    assert b"Connection: close" in encode_response(HttpResponse(404, "text/html", b""))


async def _exchange(port: int, payload: bytes, until_closed: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(-1) if until_closed else reader.read(65536), 5)
    writer.close()
    return data


@contextlib.asynccontextmanager
async def _serving(router) -> AsyncIterator[int]:
    """The router's HTTP server on an ephemeral loopback port, stopped afterwards."""
    server = HttpServer(router, "127.0.0.1", 0)
    await server.start()
    assert server.server is not None
    try:
        yield server.server.sockets[0].getsockname()[1]
    finally:
        await server.stop()


@pytest.fixture
def router():
    lab = OfflineLab(make_spec("r1", config=["ip http server"]))
    return lab.routers["r1"]


def test_the_server_answers_pipelined_requests_in_turn_and_closes_when_asked(router) -> None:
    async def scenario() -> bytes:
        async with _serving(router) as port:
            pipelined = b"GET /nothing HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\nConnection: close\r\n\r\n"
            return await _exchange(port, pipelined)

    data = asyncio.run(scenario())
    assert data.count(b"HTTP/1.1 404 Not Found") == 2  # no application serves these paths
    assert data.index(b"Connection: keep-alive") < data.index(b"Connection: close")


def test_a_bad_request_is_answered_and_the_connection_closed(router) -> None:
    async def scenario() -> bytes:
        async with _serving(router) as port:
            return await _exchange(port, b"NONSENSE\r\n\r\nGET / HTTP/1.1\r\n\r\n")

    data = asyncio.run(scenario())
    assert data.startswith(b"HTTP/1.1 400 Bad Request") and data.count(b"HTTP/1.1") == 1


def test_an_idle_keep_alive_connection_is_closed(router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "IDLE_SECONDS", 0.2)

    async def scenario() -> tuple[bytes, float]:
        async with _serving(router) as port:
            loop = asyncio.get_running_loop()
            start = loop.time()
            data = await _exchange(port, b"GET / HTTP/1.1\r\n\r\n")  # keep-alive: ends only when the server closes
            return data, loop.time() - start

    data, elapsed = asyncio.run(scenario())
    assert data.startswith(b"HTTP/1.1 404") and b"Connection: keep-alive" in data
    assert 0.2 <= elapsed < 4
