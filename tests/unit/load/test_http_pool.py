"""The virtual branches' HTTP client (h11, the project's one HTTP reader) against a real server."""

from __future__ import annotations

import asyncio

import pytest

from pkilab.load.enroll import EnrollError, HttpAnswer, HttpPool
from pkilab.protocols.scep.client import HttpRequest

GET = HttpRequest("GET", "/cgi-bin/pkiclient.exe?operation=GetCACaps", b"", None)


async def _serve(answers: list[bytes], connections: list[int]) -> asyncio.Server:
    """A server that answers each request with the next canned answer; counts its connections."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while answers:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(answers: list[bytes], requests: int) -> tuple[list[HttpAnswer | EnrollError], int]:
    async def main() -> tuple[list[HttpAnswer | EnrollError], int]:
        connections: list[int] = []
        server = await _serve(answers, connections)
        port = server.sockets[0].getsockname()[1]
        pool = HttpPool("127.0.0.1", port, size=1, timeout=5)
        out: list[HttpAnswer | EnrollError] = []
        for _ in range(requests):
            try:
                out.append(await pool.request(GET))
            except EnrollError as exc:
                out.append(exc)
        pool.close()
        server.close()
        return out, len(connections)

    return asyncio.run(main())


def test_keep_alive_reuses_one_connection_and_reads_chunked_bodies() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nPOST\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    ]
    out, connections = _run(answers, 2)
    got = [a for a in out if isinstance(a, HttpAnswer)]
    assert [(a.status, a.body) for a in got] == [(200, b"POST\n"), (200, b"abcde")], out
    assert got[0].content_type == "text/plain"
    assert connections == 1


def test_a_closed_connection_is_replaced() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    ]
    out, connections = _run(answers, 2)
    assert [a.status for a in out if isinstance(a, HttpAnswer)] == [200, 404], out
    assert connections == 2


@pytest.mark.parametrize(
    "garbage",
    [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Length: 3\r\n\r\nabc"],
    ids=["not-http", "two-lengths"],
)
def test_garbage_is_an_enroll_error(garbage: bytes) -> None:
    out, _ = _run([garbage, garbage], 1)
    assert isinstance(out[0], EnrollError) and "HTTP 127.0.0.1" in str(out[0])
