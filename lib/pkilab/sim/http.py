"""HTTP adapter of a simulated router (``ip http server``) on its loopback ``http_port``.

It parses HTTP/1.0-1.1 requests with asyncio streams and hands them to the router's HTTP
applications (features register ``http_apps``: path prefix -> handler). The SCEP server of
the certificate server registers ``/cgi-bin/pkiclient.exe`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from pkilab.sim.router import Router


@dataclass(frozen=True)
class HttpRequest:
    """A parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    client: str
    keep_alive: bool = False


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response."""

    status: int
    content_type: str
    body: bytes


HttpApp = Callable[[HttpRequest], HttpResponse]
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Request Entity Too Large", 500: "Internal Server Error"}
MAX_BODY = 1 << 20
IDLE_SECONDS = 10.0


def dispatch(router: Router, request: HttpRequest) -> HttpResponse:
    """Route a request to the router feature that serves its path (404 otherwise)."""
    for feature in router.features.values():
        for prefix, app in getattr(feature, "http_apps", {}).items():
            if request.path.startswith(prefix):
                try:
                    return app(request)  # type: ignore[no-any-return]
                except Exception:  # a bad request must never take the server down
                    return HttpResponse(500, "text/plain", b"Internal Server Error\n")
    return HttpResponse(404, "text/html", b"<html><body>404 Not Found</body></html>\n")


class HttpServer:
    """One router's HTTP server on the host's loopback."""

    def __init__(self, router: Router, host: str, port: int) -> None:
        self.router = router
        self.host = host
        self.port = port
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen (a port already in use is logged on the router, as IOS logs a bind failure)."""
        try:
            self.server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        except OSError as exc:
            from pkilab.sim.features.system import System

            self.router.feature(System).logmsg(f"%HTTP-3-SERVER_INIT_FAILED: cannot bind port {self.port}: "
                                               f"{exc.strerror}")

    async def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # HTTP/1.1 keep-alive: requests on one connection are answered in turn until the client
        # closes it, asks to close, or stays idle for IDLE_SECONDS.
        try:
            while True:
                async with asyncio.timeout(IDLE_SECONDS):
                    request = await self._read(reader, writer)
                if request is None:
                    break
                response = dispatch(self.router, request)
                await self._write(writer, response, keep_alive=request.keep_alive)
                if not request.keep_alive:
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> HttpRequest | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        if len(parts) != 3:
            await self._write(writer, HttpResponse(400, "text/plain", b"Bad Request\n"))
            return None
        method, target, _ = parts
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            await self._write(writer, HttpResponse(413, "text/plain", b"Too large\n"))
            return None
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        peer: Any = writer.get_extra_info("peername")
        connection = headers.get("connection", "").lower()
        keep = connection == "keep-alive" if parts[2].upper() == "HTTP/1.0" else connection != "close"
        return HttpRequest(method.upper(), url.path, dict(parse_qsl(url.query, keep_blank_values=True)), body,
                           str(peer[0]) if peer else "", keep)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: HttpResponse, keep_alive: bool = False) -> None:
        reason = _REASONS.get(response.status, "Error")
        connection = "keep-alive" if keep_alive else "close"
        writer.write(f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
                     f"Content-Length: {len(response.body)}\r\nConnection: {connection}\r\n\r\n".encode()
                     + response.body)
        await writer.drain()
