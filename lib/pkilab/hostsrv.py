"""File servers on the test host: TFTP (RFC 1350), HTTP and optionally FTP over one directory.

The seed's "Using TFTP/HTTP Server for Off-System Storage of CA Files" has the CA write its
database over TFTP to a UNIX server whose HTTP daemon serves the same directory, and the VPN
routers fetch the CRL from it over HTTP. pkilab plays that server on the test host, for real
labs and for the simulated one alike. The testbed says where (``testbed.custom.hostsrv``)::

    hostsrv: {address: 127.0.0.1, tftp_port: 6900, http_port: 6901, root: /srv/pkilab}

``address`` is the host address the routers reach (on a real lab, an address of the test host on
the routers' network), ``root`` is optional (the fixture then uses a fresh temporary directory).
``ftp_port`` with ``ftp_username``/``ftp_password`` adds an FTP server (:mod:`pkilab.ftpsrv`).

The HTTP server reads requests with h11 (:mod:`pkilab.protocols.http`, as the simulated routers'
HTTP does): GET and HEAD of files, HTTP/1.1 keep-alive, malformed requests answered 400 and closed.
The TFTP server behaves like the usual UNIX daemons: octet mode only, options ignored, and a
write to a file that does not exist is refused with "File not found" — hence the seed's advice to
pre-create every file. The client half (:func:`tftp_read`, :func:`tftp_write`) is what the
simulated routers use to reach this server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import mimetypes
import os
import socket
import socketserver
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkilab.errors import PkilabError, TestbedError
from pkilab.ftpsrv import FtpCredentials, FtpServer, account_from
from pkilab.protocols import http as wire
from pkilab.protocols.http import HttpRequest, HttpResponse, ServerConnection

BLOCK = 512
RRQ, WRQ, DATA, ACK, ERROR = 1, 2, 3, 4, 5
ERR_UNDEFINED, ERR_NOT_FOUND, ERR_ACCESS, ERR_ILLEGAL, ERR_UNKNOWN_TID = 0, 1, 2, 4, 5


class TftpError(PkilabError):
    """A TFTP transfer failed: the peer's ERROR packet, or no answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class TftpTimeout(TftpError, TimeoutError):
    """The TFTP peer stopped answering."""

    def __init__(self, message: str) -> None:
        super().__init__(-1, message)


# ---- packets -----------------------------------------------------------------------------
def request_packet(opcode: int, filename: str, mode: str = "octet") -> bytes:
    """An RRQ or WRQ."""
    return struct.pack("!H", opcode) + filename.encode("ascii") + b"\0" + mode.encode("ascii") + b"\0"


def data_packet(block: int, payload: bytes) -> bytes:
    """A DATA packet."""
    return struct.pack("!HH", DATA, block & 0xFFFF) + payload


def ack_packet(block: int) -> bytes:
    """An ACK packet."""
    return struct.pack("!HH", ACK, block & 0xFFFF)


def error_packet(code: int, message: str) -> bytes:
    """An ERROR packet."""
    return struct.pack("!HH", ERROR, code) + message.encode("ascii", "replace") + b"\0"


def parse_packet(packet: bytes) -> tuple[int, Any, Any]:
    """Decode one packet into (opcode, a, b).

    RRQ/WRQ → (filename, mode), DATA → (block, payload), ACK → (block, None), ERROR → (code,
    message). Raises :class:`TftpError` on a malformed packet.
    """
    if len(packet) < 4:
        raise TftpError(ERR_ILLEGAL, "short packet")
    opcode = struct.unpack("!H", packet[:2])[0]
    if opcode in (RRQ, WRQ):
        fields = packet[2:].split(b"\0")
        if len(fields) < 3:
            raise TftpError(ERR_ILLEGAL, "malformed request")
        return opcode, fields[0].decode("ascii", "replace"), fields[1].decode("ascii", "replace").lower()
    (number,) = struct.unpack("!H", packet[2:4])
    if opcode == DATA:
        return opcode, number, packet[4:]
    if opcode == ACK:
        return opcode, number, None
    if opcode == ERROR:
        return opcode, number, packet[4:].split(b"\0")[0].decode("ascii", "replace")
    raise TftpError(ERR_ILLEGAL, f"unknown opcode {opcode}")


# ---- transfers (both ends) -----------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Retransmission timing: wait ``timeout`` seconds per try, give up after ``retries`` tries."""

    timeout: float = 1.0
    retries: int = 5


def _exchange(
    sock: socket.socket,
    dest: tuple[str, int],
    packet: bytes,
    want: int,
    block: int,
    timing: Timing,
    peer: tuple[str, int] | None = None,
) -> tuple[bytes, tuple[str, int]]:
    """Send ``packet`` to ``dest`` until the answer ``want`` for ``block`` arrives; return (payload, peer).

    ``peer`` None means the first answer fixes the peer's transfer ID (a client after its
    request: the server answers from a new port). Packets from another TID get ERROR 5 and are
    otherwise ignored (RFC 1350 §4); duplicates of earlier packets are ignored.
    """
    sock.settimeout(timing.timeout)
    for _ in range(timing.retries):
        sock.sendto(packet, dest)
        while True:
            try:
                raw, source = sock.recvfrom(BLOCK + 64)
            except TimeoutError:
                break
            if peer is not None and source != peer:
                sock.sendto(error_packet(ERR_UNKNOWN_TID, "Unknown transfer ID"), source)
                continue
            opcode, a, b = parse_packet(raw)
            if opcode == ERROR:
                raise TftpError(a, b)
            if opcode == want and a == block & 0xFFFF:
                return (b or b""), source
    raise TftpTimeout(f"timed out waiting for block {block}" if peer else "no answer to the request")


def _send_file(sock: socket.socket, peer: tuple[str, int], data: bytes, first_block: int, timing: Timing) -> None:
    """Send ``data`` as DATA blocks, each acknowledged, ending with a short block."""
    block = first_block
    offset = 0
    while True:
        chunk = data[offset : offset + BLOCK]
        _exchange(sock, peer, data_packet(block, chunk), ACK, block, timing, peer)
        if len(chunk) < BLOCK:
            return
        offset += BLOCK
        block += 1


def _receive_file(sock: socket.socket, peer: tuple[str, int], first: bytes, timing: Timing) -> tuple[bytes, int]:
    """Receive DATA blocks after ``first`` (block 1's payload), acknowledging all but the last.

    Returns the data and the last block number; the caller acknowledges it once the data is
    stored, so a writer that sees the final ACK can rely on the file being there.
    """
    parts = [first]
    block = 1
    while len(parts[-1]) == BLOCK:
        payload, _ = _exchange(sock, peer, ack_packet(block), DATA, block + 1, timing, peer)
        parts.append(payload)
        block += 1
    return b"".join(parts), block


# ---- client ----------------------------------------------------------------------------------
def _client_socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_DGRAM)


def tftp_read(host: str, port: int, filename: str, timing: Timing = Timing()) -> bytes:
    """Read ``filename`` from a TFTP server (octet mode).

    Raises:
        TftpError: the server refused (its code and message), or did not answer (:class:`TftpTimeout`).
    """
    with _client_socket(host) as sock:
        payload, peer = _exchange(sock, (host, port), request_packet(RRQ, filename), DATA, 1, timing)
        data, last = _receive_file(sock, peer, payload, timing)
        sock.sendto(ack_packet(last), peer)  # sent once: a lost final ACK only makes the server retry
        return data


def tftp_write(host: str, port: int, filename: str, data: bytes, timing: Timing = Timing()) -> None:
    """Write ``data`` to ``filename`` on a TFTP server (octet mode).

    Raises:
        TftpError: the server refused (its code and message), or did not answer (:class:`TftpTimeout`).
    """
    with _client_socket(host) as sock:
        _, peer = _exchange(sock, (host, port), request_packet(WRQ, filename), ACK, 0, timing)
        _send_file(sock, peer, data, 1, timing)


# ---- server ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transfer:
    """One TFTP transfer the server handled: ``op`` is ``read`` or ``write``; ``error`` is empty on success."""

    client: str
    op: str
    filename: str
    size: int
    error: str = ""


@dataclass(frozen=True)
class HttpHit:
    """One HTTP request the server answered."""

    client: str
    method: str
    path: str
    status: int


def confined(root: Path, filename: str) -> Path | None:
    """``filename`` under ``root``, or None when it would leave ``root``."""
    target = (root / filename.lstrip("/")).resolve()
    base = root.resolve()
    return target if target == base or base in target.parents else None


class TftpServer:
    """RFC 1350 TFTP server over ``root`` (octet mode; writes only to files that exist)."""

    def __init__(self, root: Path, host: str, port: int, timing: Timing = Timing()) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.timing = timing
        self.transfers: list[Transfer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> TftpServer:
        """Bind and serve in a daemon thread (raise OSError if the port is taken)."""
        sock = _client_socket(self.host)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        sock.settimeout(0.2)  # how often the loop looks at the stop flag
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name=f"pkilab-tftp-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError), _client_socket(self.host) as wake:
                wake.sendto(b"", (self.host, self.port))  # ends the wait in recvfrom now
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                raw, client = self._sock.recvfrom(BLOCK + 64)
            except (TimeoutError, OSError):
                continue
            if self._stop.is_set():
                break
            threading.Thread(target=self._transfer, args=(raw, client), daemon=True).start()

    def _record(self, transfer: Transfer) -> None:
        with self._lock:
            self.transfers.append(transfer)

    def _transfer(self, raw: bytes, client: tuple[str, int]) -> None:
        with _client_socket(self.host) as sock:
            sock.bind((self.host, 0))  # a new transfer ID per transfer (RFC 1350 §4)
            op, filename, size = "?", "", 0
            try:
                opcode, filename, mode = parse_packet(raw)
                if opcode not in (RRQ, WRQ):
                    raise TftpError(ERR_ILLEGAL, "expected a read or write request")
                op = "read" if opcode == RRQ else "write"
                if mode != "octet":
                    raise TftpError(ERR_UNDEFINED, "Only octet mode is supported")
                path = confined(self.root, filename)
                if path is None:
                    raise TftpError(ERR_ACCESS, "Access violation")
                size = self._read(sock, client, path) if opcode == RRQ else self._write(sock, client, path)
            except TftpError as exc:
                if exc.code >= 0:
                    sock.sendto(error_packet(exc.code, str(exc)), client)
                self._record(Transfer(client[0], op, filename, size, str(exc)))
                return
            except OSError as exc:
                sock.sendto(error_packet(ERR_ACCESS, exc.strerror or "Access violation"), client)
                self._record(Transfer(client[0], op, filename, size, exc.strerror or str(exc)))
                return
            self._record(Transfer(client[0], op, filename, size))

    def _read(self, sock: socket.socket, client: tuple[str, int], path: Path) -> int:
        if not path.is_file():
            raise TftpError(ERR_NOT_FOUND, "File not found")
        data = path.read_bytes()
        _send_file(sock, client, data, 1, self.timing)
        return len(data)

    def _write(self, sock: socket.socket, client: tuple[str, int], path: Path) -> int:
        # As tftpd without -c: only existing, writable files may be written.
        if not path.is_file():
            raise TftpError(ERR_NOT_FOUND, "File not found")
        if not os.access(path, os.W_OK):
            raise TftpError(ERR_ACCESS, "Access violation")
        first, _ = _exchange(sock, client, ack_packet(0), DATA, 1, self.timing, client)
        data, last = _receive_file(sock, client, first, self.timing)
        path.write_bytes(data)
        sock.sendto(ack_packet(last), client)
        return len(data)


class _FileHttpServer(socketserver.ThreadingTCPServer):
    """Accepts connections; one daemon thread reads each through :class:`ServerConnection`."""

    allow_reuse_address = True
    daemon_threads = True
    # socketserver's default backlog of 5 made a burst of clients wait for SYN retries (1 s each).
    request_queue_size = 128

    def __init__(self, owner: HttpFileServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in owner.host else socket.AF_INET
        self.owner = owner
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__((owner.host, owner.port), _FileHandler)

    def close_connections(self) -> None:
        """End every open connection now (keep-alive clients would otherwise hold a thread until idle)."""
        with self.open_lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _FileHandler(socketserver.BaseRequestHandler):
    """One connection: requests answered in turn until the client closes, a refusal, or idle."""

    server: _FileHttpServer
    request: socket.socket

    def handle(self) -> None:
        owner, sock = self.server.owner, self.request
        with self.server.open_lock:
            self.server.open.add(sock)
        conn = ServerConnection(self.client_address[0])
        # Idle counts from the last answer, not the last byte: a client dripping a head one byte at a
        # time would otherwise hold its thread for ever (the simulated routers' HTTP does the same).
        last = time.monotonic()
        try:
            while not conn.closing:
                left = last + wire.IDLE_SECONDS - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                data = sock.recv(65536)
                out = conn.serve(data, owner.answer, eof=not data)
                if out:
                    sock.sendall(out)
                    last = time.monotonic()
                if not data:
                    break
            if conn.refusal is not None:
                owner.record(HttpHit(self.client_address[0], "", "", conn.refusal.status))
        except OSError:  # idle timeout, reset, or the server stopping
            pass
        finally:
            with self.server.open_lock:
                self.server.open.discard(sock)


class HttpFileServer:
    """HTTP/1.1 server of the files under ``root`` (GET and HEAD), in daemon threads.

    Requests are read by h11 (:class:`pkilab.protocols.http.ServerConnection`, the reader of the
    simulated routers' HTTP too): malformed ones get 400 and the connection closes. Files only:
    a directory, a missing file or a path leaving ``root`` is 404; other methods are 501.
    """

    def __init__(self, root: Path, host: str, port: int) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.hits: list[HttpHit] = []
        self._lock = threading.Lock()
        self._server: _FileHttpServer | None = None
        self._thread: threading.Thread | None = None

    def record(self, hit: HttpHit) -> None:
        """Add ``hit`` to :attr:`hits` (connections are served in threads)."""
        with self._lock:
            self.hits.append(hit)

    def answer(self, request: HttpRequest) -> HttpResponse:
        """The file ``request`` asks for (recorded in :attr:`hits`)."""
        response = self._file(request)
        self.record(HttpHit(request.client, request.method, request.path, response.status))
        return response

    def _file(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(501, "text/plain", b"Not Implemented\n")
        try:
            path = confined(self.root, urllib.parse.unquote(request.path))
            if path is None or not path.is_file():
                return HttpResponse(404, "text/plain", b"Not Found\n")
            data = path.read_bytes()
        except (OSError, ValueError, RuntimeError):  # unreadable, a NUL in the decoded path, a symlink loop
            return HttpResponse(404, "text/plain", b"Not Found\n")
        return HttpResponse(200, mimetypes.guess_type(path.name)[0] or "application/octet-stream", data)

    def start(self) -> HttpFileServer:
        """Bind and serve (raise OSError if the port is taken)."""
        self._server = _FileHttpServer(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"pkilab-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)


# ---- testbed settings and the pair of servers ------------------------------------------------
@dataclass(frozen=True)
class HostServerSpec:
    """``testbed.custom.hostsrv``: where the host's file servers listen."""

    address: str
    tftp_port: int = 69
    http_port: int = 80
    root: Path | None = None
    ftp_port: int | None = None  # FTP is served only when the testbed gives a port (pkilab.ftpsrv)
    ftp_account: FtpCredentials | None = None

    def tftp_url(self, path: str, host: str | None = None) -> str:
        """``tftp://HOST/path`` (IOS takes no port in TFTP URLs: the routers use ``tftp_port``)."""
        return f"tftp://{host or self.address}/{path.lstrip('/')}"

    def http_url(self, path: str, host: str | None = None) -> str:
        """``http://HOST[:PORT]/path``."""
        port = "" if self.http_port == 80 else f":{self.http_port}"
        return f"http://{host or self.address}{port}/{path.lstrip('/')}"


def spec_from_testbed(testbed: Any) -> HostServerSpec | None:
    """The testbed's ``custom.hostsrv`` settings, or None when it has none.

    Raises:
        TestbedError: a field is missing or out of range.
    """
    raw = getattr(testbed, "extra", {}).get("hostsrv")
    if raw is None:
        return None
    where = str(getattr(testbed, "path", "testbed"))
    if not hasattr(raw, "get"):
        raise TestbedError(where, "must be a mapping", field="custom.hostsrv")
    try:
        address = str(ipaddress.ip_address(str(raw.get("address", ""))))
    except ValueError:
        raise TestbedError(
            where, f"not an IP address: {raw.get('address')!r}", field="custom.hostsrv.address"
        ) from None
    ports = {}
    for key, default in (("tftp_port", 69), ("http_port", 80)):
        port = raw.get(key, default)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise TestbedError(where, f"must be an integer 1-65535 (got {port!r})", field=f"custom.hostsrv.{key}")
        ports[key] = port
    root = raw.get("root")
    ftp_port, account = _ftp_settings(raw, where)
    return HostServerSpec(
        address, ports["tftp_port"], ports["http_port"], Path(str(root)) if root else None, ftp_port, account
    )


def _ftp_settings(raw: Any, where: str) -> tuple[int | None, FtpCredentials | None]:
    """``ftp_port`` with its account (``ftp_username``, ``ftp_password``), both or neither."""
    port = raw.get("ftp_port")
    account = account_from(raw)
    if port is None:
        if account is not None:
            raise TestbedError(where, "ftp_username/ftp_password given without ftp_port", field="custom.hostsrv")
        return None, None
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise TestbedError(where, f"must be an integer 1-65535 (got {port!r})", field="custom.hostsrv.ftp_port")
    if account is None or not account.username or not account.password:
        raise TestbedError(where, "ftp_port needs ftp_username and ftp_password", field="custom.hostsrv")
    return port, account


class HostServers:
    """The TFTP and HTTP servers of one directory, started and stopped together."""

    def __init__(self, spec: HostServerSpec, root: Path, bind: str | None = None) -> None:
        self.spec = spec
        self.root = root
        bind_to = bind or spec.address
        self.tftp = TftpServer(root, bind_to, spec.tftp_port)
        self.http = HttpFileServer(root, bind_to, spec.http_port)
        self.ftp = (
            FtpServer(root, bind_to, spec.ftp_port, spec.ftp_account)
            if spec.ftp_port is not None and spec.ftp_account is not None
            else None
        )

    def start(self) -> HostServers:
        """Start both; raise :class:`PkilabError` naming the port that could not be bound."""
        self.root.mkdir(parents=True, exist_ok=True)
        servers: list[tuple[str, Any]] = [("tftp_port", self.tftp), ("http_port", self.http)]
        if self.ftp is not None:
            servers.append(("ftp_port", self.ftp))
        for name, server in servers:
            try:
                server.start()
            except OSError as exc:
                self.stop()
                raise PkilabError(
                    f"custom.hostsrv.{name}: cannot listen on {server.host}:{server.port} ({exc.strerror})"
                ) from None
        return self

    def bound_spec(self) -> HostServerSpec:
        """The spec with the ports actually bound (they differ when the spec asked for port 0)."""
        ftp_port = self.ftp.port if self.ftp is not None else None
        return HostServerSpec(
            self.spec.address, self.tftp.port, self.http.port, self.root, ftp_port, self.spec.ftp_account
        )

    def stop(self) -> None:
        """Stop both (idempotent)."""
        for server in (self.tftp, self.http, self.ftp):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()

    def precreate(self, folder: str, names: list[str]) -> list[Path]:
        """Create empty, world-writable files under ``root/folder`` (the seed's ``touch``, ``chmod``)."""
        made = []
        for name in names:
            path = confined(self.root, f"{folder}/{name}")
            if path is None:
                raise PkilabError(f"{folder}/{name}: outside {self.root}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            path.chmod(0o666)
            made.append(path)
        return made

    def __enter__(self) -> HostServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
