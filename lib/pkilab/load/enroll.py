"""Virtual branches enroll with the lab's CA over SCEP (RFC 8894), from this host over HTTP.

The SCEP messages are the project's sans-IO client's (:mod:`pkilab.protocols.scep.client`);
this module moves them over a few keep-alive HTTP/1.1 connections to the CA's HTTP server. With
one-time passwords, each enrollment takes a fresh password from the CA (over its CLI, by the
caller) and uses it before the next is generated: an IOS CA holds one password at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import h11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.errors import PkilabError, ScepError
from pkilab.pki.csr import build_csr
from pkilab.pki.fingerprints import md5_hex
from pkilab.pki.names import router_subject
from pkilab.protocols.http import MAX_HEAD
from pkilab.protocols.scep.client import (
    ClientOptions,
    HttpRequest,
    ScepClient,
    get_ca_caps_request,
    get_ca_cert_request,
    parse_ca_caps,
    parse_ca_cert,
)
from pkilab.protocols.scep.message import PkiStatus

POLL_INTERVAL = 1.0
MAX_POLLS = 60


class EnrollError(PkilabError):
    """An enrollment did not end with a certificate (the reason is the CA's or the transport's)."""


@dataclass(frozen=True)
class HttpAnswer:
    """Status, content type and body of an HTTP response, and when the request left (monotonic)."""

    status: int
    content_type: str
    body: bytes
    sent: float = 0.0


@dataclass
class _Connection:
    """One keep-alive connection and h11's view of it (the one HTTP reader, :mod:`pkilab.protocols.http`)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    http: h11.Connection


class HttpPool:
    """A few keep-alive HTTP/1.1 connections to one server, used one request at a time each."""

    def __init__(self, host: str, port: int, size: int = 4, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._free: list[_Connection] = []
        self._slots = asyncio.Semaphore(size)

    async def request(self, req: HttpRequest) -> HttpAnswer:
        """Send ``req`` and read the answer; a connection the server closed is replaced once.

        Raises:
            EnrollError: the server cannot be reached or answers garbage.
        """
        async with self._slots:
            for attempt in (1, 2):
                conn = self._free.pop() if self._free else await self._connect()
                sent = time.monotonic()
                try:
                    answer, keep = await asyncio.wait_for(self._exchange(conn, req, sent), self.timeout)
                except (OSError, TimeoutError, ValueError, h11.ProtocolError) as exc:
                    conn.writer.close()
                    if attempt == 2:
                        raise EnrollError(f"HTTP {self.host}:{self.port}: {type(exc).__name__} {exc}") from None
                    continue
                if keep:
                    self._free.append(conn)
                else:
                    conn.writer.close()
                return answer
        raise AssertionError("unreachable")

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise EnrollError(f"cannot reach the CA's HTTP server {self.host}:{self.port} ({exc})") from None
        return _Connection(reader, writer, h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD))

    async def _exchange(self, conn: _Connection, req: HttpRequest, sent: float) -> tuple[HttpAnswer, bool]:
        http = conn.http
        headers = [("Host", self.host)]
        if req.method == "POST":
            headers += [
                ("Content-Length", str(len(req.body))),
                ("Content-Type", req.content_type or "application/octet-stream"),
            ]
        out = http.send(h11.Request(method=req.method, target=req.target, headers=headers)) or b""
        if req.body:
            out += http.send(h11.Data(data=req.body)) or b""
        conn.writer.write(out + (http.send(h11.EndOfMessage()) or b""))
        await conn.writer.drain()
        head: h11.Response | None = None
        body = bytearray()
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(await conn.reader.read(1 << 16))
            elif type(event) is h11.Response:
                head = event
            elif type(event) is h11.Data:
                body += event.data
            elif type(event) is h11.EndOfMessage and head is not None:
                break
            elif type(event) is not h11.InformationalResponse:
                raise ValueError("the server closed the connection before its answer was complete")
        assert head is not None  # the loop ends only on a complete answer
        ctype = next((v for k, v in head.headers if k == b"content-type"), b"").decode("latin-1")
        keep = http.our_state is h11.DONE and http.their_state is h11.DONE
        if keep:
            http.start_next_cycle()
        return HttpAnswer(head.status_code, ctype, bytes(body), sent), keep

    def close(self) -> None:
        """Close the idle connections."""
        for conn in self._free:
            conn.writer.close()
        self._free.clear()


@dataclass(frozen=True)
class CaView:
    """The CA as the branches trust it: its certificate (fingerprint checked) and SCEP options."""

    certificate: x509.Certificate
    options: ClientOptions


async def fetch_ca(pool: HttpPool, fingerprint: str | None) -> CaView:
    """GetCACaps and GetCACert; the certificate must have the MD5 fingerprint the CA shows on its CLI.

    Raises:
        EnrollError: the CA cannot be reached, or its certificate is not the one its CLI shows.
    """
    caps_answer = await pool.request(get_ca_caps_request())
    caps = {c.lower() for c in parse_ca_caps(caps_answer.body)} if caps_answer.status == 200 else set()
    answer = await pool.request(get_ca_cert_request())
    if answer.status != 200:
        raise EnrollError(f"GetCACert answered HTTP {answer.status}")
    try:
        cert = parse_ca_cert(answer.content_type, answer.body)[0]
    except ScepError as exc:
        raise EnrollError(str(exc)) from None
    if fingerprint is not None and md5_hex(cert) != fingerprint.replace(" ", "").upper():
        raise EnrollError(f"GetCACert returned a certificate whose MD5 is not the CA's ({fingerprint})")
    options = ClientOptions(cipher="3des", digest="sha256", post="postpkioperation" in caps)
    return CaView(cert, options)


OneTimePassword = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class Enrollment:
    """An issued certificate, and when its request left and its answer came (monotonic seconds)."""

    certificate: x509.Certificate
    sent: float
    done: float


class Enroller:
    """Enrolls key pairs for subjects ``hostname=NAME.DOMAIN`` (and the branch's address)."""

    def __init__(self, pool: HttpPool, ca: CaView, domain: str, otp: OneTimePassword | None = None) -> None:
        self.pool = pool
        self.ca = ca
        self.domain = domain
        self.otp = otp
        self._otp_lock = asyncio.Lock()

    async def enroll(self, key: rsa.RSAPrivateKey, name: str, address: str) -> Enrollment:
        """One PKCSReq (and CertPoll while pending); the issued certificate and the request's timing.

        Raises:
            EnrollError: the CA refused, kept the request pending too long, or could not be reached.
        """
        fqdn = f"{name}.{self.domain}" if self.domain else name
        subject = router_subject(fqdn, ip_address=address)
        if self.otp is None:
            return await self._request(key, subject, None)
        async with self._otp_lock:  # the CA holds one password at a time
            return await self._request(key, subject, await self.otp())

    async def _request(self, key: rsa.RSAPrivateKey, subject: x509.Name, password: str | None) -> Enrollment:
        csr = build_csr(key, subject, password)
        client = ScepClient(key, subject, self.ca.certificate, dt.datetime.now(dt.UTC), self.ca.options)
        req = client.pkcs_req(csr)
        first: float | None = None
        for _ in range(MAX_POLLS):
            answer = await self.pool.request(req)
            first = first or answer.sent
            try:
                result = client.read_cert_rep(answer.status, answer.content_type, answer.body)
            except ScepError as exc:
                raise EnrollError(f"CertRep: {exc}") from None
            if result.status is PkiStatus.SUCCESS:
                with contextlib.suppress(PkilabError):
                    return Enrollment(client.issued_certificate(result), first, time.monotonic())
                raise EnrollError("CertRep SUCCESS without a certificate for our key")
            if result.status is PkiStatus.FAILURE:
                why = result.fail_info.name if result.fail_info is not None else "no failInfo"
                raise EnrollError(f"the CA refused the request ({why})")
            await asyncio.sleep(POLL_INTERVAL)
            req = client.cert_poll()
        raise EnrollError(f"request still pending after {MAX_POLLS} polls (is the CA granting?)")
