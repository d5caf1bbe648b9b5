"""HTTP adapter of a simulated router (``ip http server``) on its loopback ``http_port``.

Requests are read by h11 through :class:`pkilab.protocols.http.ServerConnection` (the reader the
virtual network's HTTP and the host's file server share; its module says what is refused and how)
in an asyncio protocol, and handed to the router's HTTP applications (each feature's
:meth:`~pkilab.sim.router.Feature.http_apps`: path prefix -> handler). The SCEP server of the
certificate server registers ``/cgi-bin/pkiclient.exe`` there.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pkilab.protocols import http as wire
from pkilab.protocols.http import HttpApp, HttpRequest, HttpResponse, ServerConnection
from pkilab.sim.features.system import System
from pkilab.sim.router import Router

__all__ = ["HttpApp", "HttpRequest", "HttpResponse", "HttpServer", "dispatch"]


def dispatch(router: Router, request: HttpRequest) -> HttpResponse:
    """Route a request to the router feature that serves its path (404 otherwise)."""
    for feature in router.features.values():
        for prefix, app in feature.http_apps().items():
            if request.path.startswith(prefix):
                try:
                    return app(request)
                except Exception:  # a bad request must never take the server down
                    return HttpResponse(500, "text/plain", b"Internal Server Error\n")
    return HttpResponse(404, "text/html", b"<html><body>404 Not Found</body></html>\n")


class _Connection(asyncio.Protocol):
    """One client connection: requests are read from the stream and answered in turn.

    HTTP/1.1 keep-alive: the connection stays open until the client closes it, asks to close,
    sends something refused, or stays idle for ``IDLE_SECONDS``. Requests are answered as soon
    as they are complete, in the event loop's callback (no task per request).
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self.transport: asyncio.Transport | None = None
        self.http: ServerConnection | None = None
        self.last = 0.0
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer: Any = transport.get_extra_info("peername")
        self.http = ServerConnection(str(peer[0]) if peer else "")
        loop = asyncio.get_running_loop()
        self.last = loop.time()
        self.idle = loop.call_later(wire.IDLE_SECONDS, self._check_idle)

    def _check_idle(self) -> None:
        # One timer per connection, re-armed for what is left rather than reset at every request.
        loop = asyncio.get_running_loop()
        left = self.last + wire.IDLE_SECONDS - loop.time()
        if left > 0:
            self.idle = loop.call_later(left, self._check_idle)
        elif self.transport is not None:
            self.transport.close()

    def _app(self, request: HttpRequest) -> HttpResponse:
        return dispatch(self.router, request)

    def data_received(self, data: bytes) -> None:
        transport, http = self.transport, self.http
        if transport is None or http is None or transport.is_closing():
            return
        out = http.serve(data, self._app)
        if out:
            transport.write(out)
            self.last = asyncio.get_running_loop().time()
        if http.closing:
            transport.close()

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
