"""HTTP adapter of a simulated router (``ip http server``) on its loopback ``http_port``.

It reads HTTP/1.0-1.1 requests with a sans-IO parser (:func:`parse_request`, shared with the
virtual network's HTTP) in an asyncio protocol and hands them to the router's HTTP applications
(features register ``http_apps``: path prefix -> handler). The SCEP server of the certificate
server registers ``/cgi-bin/pkiclient.exe`` here.
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
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}
MAX_BODY = 1 << 20
MAX_HEAD = 1 << 16
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


class HttpError(Exception):
    """A request the server answers with an error status and then closes the connection."""

    def __init__(self, status: int, text: bytes) -> None:
        super().__init__(status)
        self.response = HttpResponse(status, "text/plain", text)


def parse_request(buffer: bytes | bytearray, client: str) -> tuple[HttpRequest | None, int]:
    """Read one request from the front of ``buffer`` (sans-IO).

    Returns:
        The request and how many bytes it used, or ``(None, 0)`` while it is incomplete.

    Raises:
        HttpError: a malformed request line (400) or a body over ``MAX_BODY`` (413).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise HttpError(400, b"Bad Request\n")
        return None, 0
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3:
        raise HttpError(400, b"Bad Request\n")
    method, target, version = parts
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    raw_length = headers.get("content-length", "0") or "0"
    if not raw_length.isdigit():
        raise HttpError(400, b"Bad Request\n")
    length = int(raw_length)
    if length > MAX_BODY:
        raise HttpError(413, b"Too large\n")
    used = end + 4 + length
    if len(buffer) < used:
        return None, 0
    body = bytes(buffer[end + 4 : used])
    url = urlsplit(target)
    connection = headers.get("connection", "").lower()
    keep = connection == "keep-alive" if version.upper() == "HTTP/1.0" else connection != "close"
    query = dict(parse_qsl(url.query, keep_blank_values=True)) if url.query else {}
    return HttpRequest(method.upper(), url.path, query, body, client, keep), used


def encode_response(response: HttpResponse, keep_alive: bool = False) -> bytes:
    """The bytes of ``response`` (HTTP/1.1, with its length and connection headers)."""
    reason = _REASONS.get(response.status, "Error")
    connection = "keep-alive" if keep_alive else "close"
    return (
        f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\nConnection: {connection}\r\n\r\n"
    ).encode() + response.body


class _Connection(asyncio.Protocol):
    """One client connection: requests are read from the stream and answered in turn.

    HTTP/1.1 keep-alive: the connection stays open until the client closes it, asks to close,
    or stays idle for ``IDLE_SECONDS``. Requests are answered as soon as they are complete,
    in the event loop's callback (no task per request).
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self.last = 0.0
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer: Any = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        loop = asyncio.get_running_loop()
        self.last = loop.time()
        self.idle = loop.call_later(IDLE_SECONDS, self._check_idle)

    def _check_idle(self) -> None:
        # One timer per connection, re-armed for what is left rather than reset at every request.
        loop = asyncio.get_running_loop()
        left = self.last + IDLE_SECONDS - loop.time()
        if left > 0:
            self.idle = loop.call_later(left, self._check_idle)
        elif self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.buffer += data
        while self.buffer:
            try:
                request, used = parse_request(self.buffer, self.client)
            except HttpError as exc:
                transport.write(encode_response(exc.response))
                transport.close()
                return
            if request is None:
                return
            del self.buffer[:used]
            response = dispatch(self.router, request)
            transport.write(encode_response(response, keep_alive=request.keep_alive))
            self.last = asyncio.get_running_loop().time()
            if not request.keep_alive:
                transport.close()
                return

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.transport = None


class HttpServer:
    """One router's HTTP server on the host's loopback."""

    def __init__(self, router: Router, host: str, port: int) -> None:
        self.router = router
        self.host = host
        self.port = port
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen (a port already in use is logged on the router, as IOS logs a bind failure)."""
        loop = asyncio.get_running_loop()
        try:
            self.server = await loop.create_server(
                lambda: _Connection(self.router), self.host, self.port, reuse_address=True
            )
        except OSError as exc:
            from pkilab.sim.features.system import System

            self.router.feature(System).logmsg(
                f"%HTTP-3-SERVER_INIT_FAILED: cannot bind port {self.port}: {exc.strerror}"
            )

    async def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
