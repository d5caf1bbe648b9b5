"""HTTP/1.1, sans-IO: h11 is the one reader of requests and responses for every pkilab server.

The simulated routers' HTTP servers on the host (:mod:`pkilab.sim.http`), the HTTP between
simulated routers on the virtual network (:mod:`pkilab.sim.vhttp`) and the host's file server
(:mod:`pkilab.hostsrv`) all read requests through :class:`ServerConnection`, which drives h11
(python-hyper/h11): bytes in, complete requests out, answers back to bytes. The simulated
routers' HTTP client reads its answers with :func:`read_response`, h11 as well.

What a request must look like, and what happens when it does not (the same on every path):

* framing is h11's: ``Content-Length`` is plain ASCII digits (at most 20), repeated only with the
  same value (RFC 9110 §8.6); ``Transfer-Encoding: chunked`` bodies are accepted (RFC 9112 §7),
  any other transfer coding is refused;
* refused with **400** and the connection closed: whatever h11 refuses (request line, header
  syntax, bad or conflicting ``Content-Length``, a transfer coding other than chunked, an
  HTTP/1.1 request without ``Host``, a message cut short by the end of the stream), a request
  carrying both ``Transfer-Encoding`` and ``Content-Length`` (RFC 9112 §6.3 calls it a possible
  smuggling attempt, to be handled as an error) and ``Transfer-Encoding`` in an HTTP/1.0 request
  (RFC 9112 §6.1: its framing is faulty);
* **431** for a head over :data:`MAX_HEAD` bytes, **413** for a body over :data:`MAX_BODY`
  (declared or received), **505** for an HTTP version other than 1.0 and 1.1; closed likewise;
* after a refusal nothing more is read: bytes behind it (a request hidden in a body) are never
  answered;
* HTTP/1.1 keep-alive and pipelining: requests are answered in turn until the client asks to
  close (``Connection: close``); an HTTP/1.0 request is answered and the connection closed (no
  HTTP/1.0 keep-alive, as in h11); ``Expect: 100-continue`` gets its interim answer once the head
  has passed these checks.

The status texts and this policy are pkilab's (invented: no capture of an IOS HTTP server's
answers to malformed requests exists in the corpus).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import h11

MAX_BODY = 1 << 20
MAX_HEAD = 1 << 16
IDLE_SECONDS = 10.0
REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    505: b"HTTP Version Not Supported",
}


@dataclass(frozen=True)
class HttpRequest:
    """A complete HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    client: str


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response."""

    status: int
    content_type: str
    body: bytes


HttpApp = Callable[[HttpRequest], HttpResponse]


class HttpError(Exception):
    """A request refused with ``status``; the connection closes after the answer."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"{status} {why}")
        self.status = status
        self.response = HttpResponse(status, "text/plain", REASONS.get(status, b"Error") + b"\n")


def _refusal(exc: h11.RemoteProtocolError) -> HttpError:
    # h11 hints 501 for any transfer coding but chunked. pkilab answers 400 to every framing it
    # cannot use: RFC 9112 §6.1 requires 400 when chunked is not the final coding (the body's
    # length is unknown); for "gzip, chunked" a 501 would do as well.
    return HttpError(431 if exc.error_status_hint == 431 else 400, str(exc))


class ServerConnection:
    """One server connection's HTTP state (sans-IO).

    Feed it what the client sent with :meth:`serve`; it answers every complete request with the
    application and returns the bytes to write. Once :attr:`closing` is true the caller writes
    what it got and closes the connection.

    h11 reads each request (a fresh reader per request, handed the bytes the previous one left:
    pipelined requests); the answers are written here. They are one shape only (status line,
    ``Content-Type``, ``Content-Length``, ``Connection: close`` when closing), and h11's writer
    cost as much as its reader: it runs its whole state machine three times per answer.
    """

    def __init__(self, client: str) -> None:
        self.client = client
        self.max_body = MAX_BODY  # read at every connection: tests lower the limits
        self.max_head = MAX_HEAD
        self._reader = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_head)
        self._head: h11.Request | None = None
        self._body = bytearray()
        self._keep_alive = True
        self._continue = False  # the client waits for "100 Continue" before it sends the body
        self.closing = False
        self.refusal: HttpError | None = None

    def serve(self, data: bytes, app: HttpApp, eof: bool = False) -> bytes:
        """Take ``data`` (and the end of the stream if ``eof``); answer what is complete.

        After the end of the stream every answer closes the connection.

        Returns:
            The bytes to send: the answers to every request completed by ``data``, or the
            refusal that ends the connection (then :attr:`closing` is true and ``refusal`` says why).
        """
        if self.closing:
            return b""  # nothing more is read
        self._reader.receive_data(data)
        if eof:
            self._reader.receive_data(b"")
        out = b""
        while True:
            try:
                request = self._next_request()
            except HttpError as exc:
                self.refusal = exc
                self.closing = True
                return out + self._answer(exc.response, close=True)
            if request is None:
                if self._continue and self._head is not None:
                    self._continue = False
                    out += b"HTTP/1.1 100 Continue\r\n\r\n"
                return out
            keep = self._keep_alive and not eof
            out += self._answer(app(request), close=not keep)
            if not keep:
                self.closing = True
                return out
            if not self._next_reader():
                return out  # nothing pipelined: the next request comes with the next data

    def _next_reader(self) -> bool:
        """A fresh h11 reader for the next request, given what the last one left (False: nothing)."""
        rest, ended = self._reader.trailing_data
        self._reader = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_head)
        self._head = None
        if rest:
            self._reader.receive_data(rest)
        if ended:
            self._reader.receive_data(b"")
        return bool(rest) or ended

    def _next_request(self) -> HttpRequest | None:
        """The request completed so far, or None until more data comes (HttpError: refused)."""
        reader = self._reader
        while True:
            try:
                event = reader.next_event()
            except h11.RemoteProtocolError as exc:
                raise _refusal(exc) from None
            if type(event) is h11.Data:
                self._body += event.data
                if len(self._body) > self.max_body:
                    raise HttpError(413, "body too large")
            elif type(event) is h11.Request:
                self._start(event)
            elif type(event) is h11.EndOfMessage:
                return self._complete()
            else:  # NEED_DATA, or the end of the stream between requests
                return None

    def _start(self, head: h11.Request) -> None:
        """Check a request's head before its body is read (the smuggling shapes h11 lets through)."""
        self._head = head
        self._body = bytearray()
        if head.http_version not in (b"1.1", b"1.0"):
            raise HttpError(505, "HTTP version not supported")
        length = coding = None
        keep = head.http_version == b"1.1"  # h11 does not do HTTP/1.0 keep-alive, nor does pkilab
        size = len(head.target)
        for name, value in head.headers:
            size += len(name) + len(value) + 4
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                coding = value
            elif name == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
                keep = False
        if size > self.max_head:  # h11 bounds only a head still incomplete; one that came whole is checked here
            raise HttpError(431, "head too large")
        if coding is not None and (length is not None or head.http_version == b"1.0"):
            raise HttpError(400, "Transfer-Encoding with Content-Length or in HTTP/1.0")
        if length is not None and int(length) > self.max_body:  # h11 checked: at most 20 digits
            raise HttpError(413, "declared body too large")
        self._keep_alive = keep
        self._continue = self._reader.they_are_waiting_for_100_continue

    def _complete(self) -> HttpRequest:
        head = self._head
        assert head is not None  # h11 gives EndOfMessage only after a Request
        self._continue = False
        url = urlsplit(head.target.decode("latin-1"))
        return HttpRequest(
            head.method.decode("ascii"),
            url.path,
            dict(parse_qsl(url.query, keep_blank_values=True)) if url.query else {},
            bytes(self._body),
            self.client,
        )

    def _answer(self, response: HttpResponse, close: bool) -> bytes:
        """The bytes of ``response`` (no body after HEAD; ``close``: the connection ends with it)."""
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            response.status,
            REASONS.get(response.status, b""),  # the reason phrase may be empty (RFC 9112 §4)
            response.content_type.encode("ascii"),
            len(response.body),
            b"Connection: close\r\n" if close else b"",
        )
        if self._head is not None and self._head.method == b"HEAD":
            return head
        return head + response.body


def read_response(data: bytes, method: str = "GET") -> HttpResponse:
    """Read the response in ``data`` (everything the server sent, up to the end of the stream).

    h11 reads a response only on a connection that has sent a request, so it is told the
    request's method (a response to HEAD has no body); the request's own bytes are the caller's
    (the simulated routers write IOS's HTTP/1.0, which h11 does not write).

    Raises:
        ValueError: ``data`` is not one complete HTTP response.
    """
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "-")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    conn.receive_data(b"")
    head: h11.Response | None = None
    body = bytearray()
    try:
        while True:
            event = conn.next_event()
            if type(event) is h11.Response:
                head = event
            elif type(event) is h11.Data:
                body += event.data
            elif type(event) is h11.EndOfMessage and head is not None:
                ctype = next((v for k, v in head.headers if k == b"content-type"), b"")
                return HttpResponse(head.status_code, ctype.decode("latin-1"), bytes(body))
            elif type(event) is not h11.InformationalResponse:
                raise ValueError("incomplete HTTP response")
    except h11.RemoteProtocolError as exc:
        raise ValueError(f"malformed HTTP response: {exc}") from None
