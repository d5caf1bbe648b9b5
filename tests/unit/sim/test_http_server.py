"""pkilab's HTTP: the sans-IO server connection on h11 and a simulated router's server on a real socket.

The hostile probes (framing, smuggling, sizes) on every server are in test_http_probes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkilab.protocols import http as wire
from pkilab.protocols.http import HttpRequest, HttpResponse, ServerConnection, read_response
from pkilab.sim.http import HttpServer
from pkilab.sim.router import Router
from unit.sim.simkit import OfflineLab, make_spec

CGI = "/cgi-bin/pkiclient.exe"
STATUS_LINE = re.compile(rb"^HTTP/1\.1 (\d{3}) ", re.MULTILINE)


class Echo:
    """An application that answers with the request's body and remembers every request."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return HttpResponse(
            200, "text/plain", (request.body or request.path.encode()) + b"\n"
        )  # a status line starts a line


def _statuses(data: bytes) -> list[int]:
    return [int(s) for s in STATUS_LINE.findall(data)]


# ---- sans-IO -----------------------------------------------------------------------------------
def test_a_request_is_read_and_a_pipelined_one_answered_after_it() -> None:
    app = Echo()
    conn = ServerConnection("10.0.0.2")
    raw = (
        b"POST /cgi-bin/pkiclient.exe?operation=PKIOperation&message= HTTP/1.1\r\nHost: ca\r\n"
        b"Content-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\nHost: ca\r\n\r\n"
    )
    out = conn.serve(raw, app)
    first = app.requests[0]
    assert (first.method, first.path, first.query) == ("POST", CGI, {"operation": "PKIOperation", "message": ""})
    assert (first.body, first.client) == (b"abc", "10.0.0.2")
    assert [r.path for r in app.requests] == [CGI, "/next"]
    assert out.index(b"\r\n\r\nabc") < out.index(b"\r\n\r\n/next")  # answered in turn
    assert not conn.closing


def test_a_request_fed_byte_by_byte_is_answered_once_complete() -> None:
    app = Echo()
    conn = ServerConnection("")
    raw = b"POST /x HTTP/1.1\r\nHost: ca\r\nContent-Length: 5\r\n\r\nhello"
    outs = [conn.serve(raw[i : i + 1], app) for i in range(len(raw))]
    assert outs[:-1] == [b""] * (len(raw) - 1)
    assert read_response(outs[-1]) == HttpResponse(200, "text/plain", b"hello\n")


@pytest.mark.parametrize(
    ("version", "connection", "closing"),
    [("1.1", "", False), ("1.1", "close", True), ("1.0", "", True), ("1.0", "keep-alive", True)],
)
def test_keep_alive_is_http_1_1_until_the_client_asks_to_close(version: str, connection: str, closing: bool) -> None:
    header = f"Connection: {connection}\r\n" if connection else ""
    conn = ServerConnection("")
    out = conn.serve(f"GET / HTTP/{version}\r\nHost: ca\r\n{header}\r\n".encode(), Echo())
    assert _statuses(out) == [200]
    assert conn.closing is closing
    assert (b"\r\nConnection: close\r\n" in out) is closing


def test_responses_carry_type_length_and_reason() -> None:
    out = ServerConnection("").serve(b"GET /abc HTTP/1.1\r\nHost: ca\r\n\r\n", Echo())
    assert out == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n/abc\n"


def test_chunked_bodies_are_assembled() -> None:
    app = Echo()
    raw = b"POST /x HTTP/1.1\r\nHost: ca\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
    out = ServerConnection("").serve(raw, app)
    assert read_response(out).body == b"abcde\n" and len(app.requests) == 1


def test_expect_100_continue_gets_its_interim_answer_before_the_body() -> None:
    app = Echo()
    conn = ServerConnection("")
    head = b"POST /x HTTP/1.1\r\nHost: ca\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    assert conn.serve(head, app) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert read_response(conn.serve(b"ok", app)).body == b"ok\n"


def test_expect_100_continue_with_a_body_too_large_is_refused_at_once() -> None:
    conn = ServerConnection("")
    head = b"POST /x HTTP/1.1\r\nHost: ca\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (wire.MAX_BODY + 1)
    out = conn.serve(head, Echo())
    assert _statuses(out) == [413] and b"100 Continue" not in out and conn.closing


def test_head_is_answered_with_the_length_but_without_the_body() -> None:
    out = ServerConnection("").serve(b"HEAD /abcdef HTTP/1.1\r\nHost: ca\r\n\r\n", Echo())
    assert out.endswith(b"Content-Length: 8\r\n\r\n")


def test_the_end_of_the_stream_inside_a_request_is_refused_and_after_one_closes() -> None:
    conn = ServerConnection("")
    assert _statuses(conn.serve(b"POST /x HTTP/1.1\r\nHost: ca\r\nContent-Length: 5\r\n\r\nab", Echo(), eof=True)) == [
        400
    ]
    conn = ServerConnection("")
    out = conn.serve(b"GET /x HTTP/1.1\r\nHost: ca\r\n\r\n", Echo(), eof=True)
    assert _statuses(out) == [200] and b"Connection: close" in out and conn.closing


def test_read_response_reads_what_a_server_wrote() -> None:
    assert read_response(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nno") == (
        HttpResponse(404, "text/html", b"no")
    )
    assert read_response(b"HTTP/1.0 200 OK\r\n\r\nuntil the end") == HttpResponse(200, "", b"until the end")
    assert read_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD").body == b""


@pytest.mark.parametrize(
    "raw",
    [b"", b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", b"HTTP/1.1 2x0 OK\r\n\r\n"],
)
def test_read_response_refuses_what_is_not_one_whole_response(raw: bytes) -> None:
    with pytest.raises(ValueError, match="HTTP response"):
        read_response(raw)


_VALID = (
    b"POST /a?b=c HTTP/1.1\r\nHost: ca\r\nContent-Length: 3\r\n\r\nabc"
    b"POST /d HTTP/1.1\r\nHost: ca\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
    b"GET /e HTTP/1.0\r\n\r\n"
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.integers(0, len(_VALID) - 1), max_size=4),
    edits=st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.binary(max_size=3)), max_size=3),
    noise=st.binary(max_size=40),
)
def test_any_bytes_get_answers_and_never_an_exception(
    cuts: list[int], edits: list[tuple[int, bytes]], noise: bytes
) -> None:
    raw = bytearray(_VALID)
    for at, replacement in edits:
        raw[at : at + 1] = replacement
    raw += noise
    conn = ServerConnection("")
    app = Echo()
    bounds = sorted({0, *cuts, len(raw)})
    out = b"".join(conn.serve(bytes(raw[a:b]), app) for a, b in itertools.pairwise(bounds))
    statuses = _statuses(out)
    assert len(statuses) >= len(app.requests)  # every request the application saw was answered
    if conn.refusal is not None:
        assert conn.closing and statuses[-1] == conn.refusal.status
        assert conn.serve(b"GET / HTTP/1.1\r\nHost: ca\r\n\r\n", app) == b""  # nothing read after it


# ---- a router's server on a real socket -----------------------------------------------------------
async def _exchange(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(-1), 5)  # until the server closes
    writer.close()
    return data


@contextlib.asynccontextmanager
async def _serving(router: Router) -> AsyncIterator[int]:
    """The router's HTTP server on an ephemeral loopback port, stopped afterwards."""
    server = HttpServer(router, "127.0.0.1", 0)
    await server.start()
    assert isinstance(server.server, asyncio.Server)  # what create_server made
    try:
        yield server.server.sockets[0].getsockname()[1]
    finally:
        await server.stop()


@pytest.fixture
def router() -> Router:
    lab = OfflineLab(make_spec("r1", config=["ip http server"]))
    return lab.routers["r1"]


def test_the_server_answers_pipelined_requests_in_turn_and_closes_when_asked(router: Router) -> None:
    async def scenario() -> bytes:
        async with _serving(router) as port:
            pipelined = (
                b"GET /nothing HTTP/1.1\r\nHost: r1\r\n\r\n"
                b"POST /other HTTP/1.1\r\nHost: r1\r\nContent-Length: 2\r\n\r\nab"
                b"GET /last HTTP/1.1\r\nHost: r1\r\nConnection: close\r\n\r\n"
            )
            return await _exchange(port, pipelined)

    data = asyncio.run(scenario())
    assert _statuses(data) == [404, 404, 404]  # no application serves these paths
    assert data.count(b"Connection: close") == 1 and data.rindex(b"HTTP/1.1") < data.index(b"Connection: close")


def test_an_http_1_0_request_is_answered_and_the_connection_closed(router: Router) -> None:
    async def scenario() -> bytes:
        async with _serving(router) as port:
            return await _exchange(port, b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n")

    assert _statuses(asyncio.run(scenario())) == [404]


def test_an_idle_keep_alive_connection_is_closed(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "IDLE_SECONDS", 0.2)

    async def scenario() -> tuple[bytes, float]:
        async with _serving(router) as port:
            loop = asyncio.get_running_loop()
            start = loop.time()
            data = await _exchange(port, b"GET / HTTP/1.1\r\nHost: r1\r\n\r\n")  # ends only when the server closes
            return data, loop.time() - start

    data, elapsed = asyncio.run(scenario())
    assert _statuses(data) == [404] and b"Connection: close" not in data
    assert 0.2 <= elapsed < 4
