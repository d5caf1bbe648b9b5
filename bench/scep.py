"""Certificates issued per second over SCEP, next to this machine's RSA-2048 signing ceiling.

Run: ``.venv/bin/python bench/scep.py [--ca-bits 1024] [--requests 300]``

Figures (routers with RSA-2048 keys, 3DES envelopes, SHA-256):

* ceiling: RSA-2048 PKCS#1 v1.5 SHA-256 signatures with cryptography, one thread
  (cryptography holds the GIL while signing: one Python process gets one core's worth).
* core: ``ScepServer.pki_operation`` in-process on pre-built PKCSReq messages (no HTTP).
* SCEP/HTTP: the same pre-built requests POSTed over one or ``--connections`` keep-alive
  connections to the core behind a local HTTP server in a separate process (the simulated lab
  runs apart from the suites that drive it). This is the CA's throughput over SCEP, the figure
  the target is about. Two adapters: a lean asyncio one (what an event-loop HTTP server in the
  lab costs) and the stdlib ``http.server`` one (its header parsing costs about as much as the
  SCEP work).
* enroll: full enrollments by one client, one after another: build and sign the PKCSReq
  (RSA-2048), POST, verify and decrypt the CertRep. The client's own two RSA-2048 private-key
  operations cap this below half the ceiling by arithmetic; it shows end-to-end latency.

The machine is shared with other work whose load comes and goes, so every figure is measured
in chunks of ``--chunk`` operations alternating with chunks of ceiling signatures, and the two
totals are compared: both sides see the same load. Shares are given by wall-clock time and by
CPU time of the measured side (the CA process for HTTP, read from the adapter; client and CA
together for full enrollments), which other load disturbs less. Every reply is checked after
the clock stops.

Each certificate costs the CA three private-key operations (unwrap the request's content key,
sign the certificate, sign the CertRep), so with an RSA-2048 CA key the core cannot pass a
third of the ceiling; the seed's CA key is 1024 bits (``modulus 1024``), the default here.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.pki.ca import create_ca_certificate
from pkilab.pki.csr import build_csr
from pkilab.pki.keys import generate_rsa_key
from pkilab.pki.names import parse_ios_dn, router_subject
from pkilab.protocols.scep.client import ClientOptions, ScepClient
from pkilab.protocols.scep.memory import MemoryCa
from pkilab.protocols.scep.message import PkiStatus
from pkilab.protocols.scep.server import CGI_PATH, ScepServer

NOW = dt.datetime.now(dt.UTC)
CPU_PATH = "/bench/cpu"  # bench-only: the adapter reports its process CPU time here
Reply = tuple[int, str, bytes]
Ca = tuple[rsa.RSAPrivateKey, x509.Certificate]


@dataclass(frozen=True)
class Row:
    """One figure: operations, and wall/CPU seconds for them and for the interleaved ceiling."""

    name: str
    count: int
    wall: float
    cpu: float
    ceiling_count: int
    ceiling_wall: float
    ceiling_cpu: float

    def line(self) -> str:
        """The table line."""
        rate, crate = self.count / self.wall, self.count / self.cpu
        top, ctop = self.ceiling_count / self.ceiling_wall, self.ceiling_count / self.ceiling_cpu
        return (
            f"{self.name:34s} {rate:7.1f} {top:9.1f} {100 * rate / top:5.1f}% "
            f"{crate:8.1f} {ctop:9.1f} {100 * crate / ctop:5.1f}%"
        )


# A chunk runs ``n`` operations and returns (wall seconds, CPU seconds of the measured side).
Chunk = Callable[[int], tuple[float, float]]


def interleaved(name: str, total: int, size: int, chunk: Chunk, signer: rsa.RSAPrivateKey) -> Row:
    """Alternate chunks of the figure with chunks of RSA-2048 signatures, and total both."""
    wall = cpu = top_wall = top_cpu = 0.0
    done = 0
    while done < total:
        n = min(size, total - done)
        w, c = chunk(n)
        wall, cpu, done = wall + w, cpu + c, done + n
        start_cpu, start = time.process_time(), time.perf_counter()
        for i in range(n):
            signer.sign(b"pkilab ceiling %d" % i, padding.PKCS1v15(), hashes.SHA256())
        top_wall += time.perf_counter() - start
        top_cpu += time.process_time() - start_cpu
    return Row(name, total, wall, cpu, total, top_wall, top_cpu)


def _ca(bits: int) -> Ca:
    key = generate_rsa_key(bits)
    subject = parse_ios_dn("CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US")
    return key, create_ca_certificate(key, subject, NOW - dt.timedelta(hours=1), 1095)


def _clients(ca_cert: x509.Certificate, keys: list[rsa.RSAPrivateKey], count: int) -> list[ScepClient]:
    options = ClientOptions(cipher="3des", digest="sha256", post=True)
    return [
        ScepClient(keys[i % len(keys)], router_subject(f"r{i}.bench.example"), ca_cert, NOW, options)
        for i in range(count)
    ]


def _requests(clients: list[ScepClient]) -> list[bytes]:
    return [c.pkcs_req(build_csr(c.key, c.subject, "bench")).body for c in clients]


def _check(clients: list[ScepClient], replies: list[Reply]) -> None:
    for client, (status, content_type, body) in zip(clients, replies, strict=True):
        result = client.read_cert_rep(status, content_type, body)
        if result.status is not PkiStatus.SUCCESS:
            raise SystemExit(f"enrollment not granted: {result}")
        client.issued_certificate(result)


def _post(conn: http.client.HTTPConnection, body: bytes) -> Reply:
    conn.request("POST", f"{CGI_PATH}?operation=PKIOperation", body, {"Content-Type": "application/x-pki-message"})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


# ---- the CA process -------------------------------------------------------------------------


def _serve(ca_der: bytes, key_der: bytes, port_out: Connection, adapter: str) -> None:
    key = serialization.load_der_private_key(key_der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    server = ScepServer(MemoryCa(key, x509.load_der_x509_certificate(ca_der), lambda: dt.datetime.now(dt.UTC)))

    def answer(method: str, target: str, body: bytes) -> tuple[int, str, bytes]:
        parts = urlsplit(target)
        if parts.path == CPU_PATH:
            return 200, "text/plain", repr(time.process_time()).encode()
        response = server.handle(method, parts.path, dict(parse_qsl(parts.query)), body)
        return response.status, response.content_type, response.body

    if adapter == "asyncio":
        asyncio.run(_serve_asyncio(answer, port_out))
    else:
        _serve_threading(answer, port_out)


async def _serve_asyncio(answer: Callable[[str, str, bytes], Reply], port_out: Connection) -> None:
    """A lean HTTP/1.1 keep-alive adapter; headers and body leave in one write."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, content_type, payload = answer(method, target, body)
                head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n"
                writer.write(head.encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    listener = await asyncio.start_server(connection, "127.0.0.1", 0)
    port_out.send(listener.sockets[0].getsockname()[1])
    await listener.serve_forever()


def _serve_threading(answer: Callable[[str, str, bytes], Reply], port_out: Connection) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without TCP_NODELAY the client's delayed ACK
        # holds the body back ~40 ms per request.
        disable_nagle_algorithm = True

        def _reply(self, body: bytes) -> None:
            status, content_type, payload = answer(self.command, self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._reply(b"")

        def do_POST(self) -> None:
            self._reply(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(httpd.server_address[1])
    httpd.serve_forever()


@contextmanager
def ca_process(ca: Ca, adapter: str) -> Iterator[int]:
    """Run the CA behind ``adapter`` in its own process; yield its port."""
    key_der = ca[0].private_bytes(Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(ca[1].public_bytes(Encoding.DER), key_der, child, adapter))
    process.start()
    try:
        if not parent.poll(30):
            raise SystemExit("bench HTTP server did not start")
        yield int(parent.recv())
    finally:
        process.terminate()
        process.join(5)


def _server_cpu(conn: http.client.HTTPConnection) -> float:
    conn.request("GET", CPU_PATH)
    return float(conn.getresponse().read())


# ---- figures --------------------------------------------------------------------------------


def core_figure(ca: Ca, clients: list[ScepClient], size: int, signer: rsa.RSAPrivateKey) -> Row:
    server = ScepServer(MemoryCa(ca[0], ca[1], lambda: NOW))
    bodies = _requests(clients)
    replies: list[Reply] = []

    def chunk(n: int) -> tuple[float, float]:
        todo = bodies[len(replies) : len(replies) + n]
        cpu, start = time.process_time(), time.perf_counter()
        answers = [server.pki_operation(body) for body in todo]
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        replies.extend((a.status, a.content_type, a.body) for a in answers)
        return wall, cpu

    row = interleaved("SCEP core in-process", len(bodies), size, chunk, signer)
    _check(clients, replies)
    return row


def http_figure(
    ca: Ca, clients: list[ScepClient], size: int, signer: rsa.RSAPrivateKey, adapter: str, connections: int
) -> Row:
    bodies = _requests(clients)
    replies: list[Reply] = []
    with ca_process(ca, adapter) as port:
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(connections)]
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        _server_cpu(probe)
        with ThreadPoolExecutor(connections) as pool:

            def chunk(n: int) -> tuple[float, float]:
                todo = bodies[len(replies) : len(replies) + n]
                cpu, start = _server_cpu(probe), time.perf_counter()
                # One task per connection, each working through its own share in order.
                shares = list(
                    pool.map(lambda k: [_post(conns[k], b) for b in todo[k::connections]], range(connections))
                )
                answers: list[Reply] = [shares[i % connections][i // connections] for i in range(len(todo))]
                wall, cpu = time.perf_counter() - start, _server_cpu(probe) - cpu
                replies.extend(answers)
                return wall, cpu

            row = interleaved(f"SCEP/HTTP {adapter}, {connections} conn.", len(bodies), size, chunk, signer)
    _check(clients, replies)
    return row


def enroll_figure(ca: Ca, clients: list[ScepClient], size: int, signer: rsa.RSAPrivateKey) -> Row:
    csrs = [build_csr(c.key, c.subject, "bench") for c in clients]
    done = [0]
    with ca_process(ca, "asyncio") as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def chunk(n: int) -> tuple[float, float]:
            cpu = _server_cpu(probe) + time.process_time()
            start = time.perf_counter()
            for client, csr in zip(clients[done[0] : done[0] + n], csrs[done[0] : done[0] + n], strict=True):
                status, content_type, body = _post(conn, client.pkcs_req(csr).body)
                if client.read_cert_rep(status, content_type, body).status is not PkiStatus.SUCCESS:
                    raise SystemExit("enrollment not granted")
            wall = time.perf_counter() - start
            done[0] += n
            return wall, _server_cpu(probe) + time.process_time() - cpu

        return interleaved("full enrollment, 1 client (+client)", len(clients), size, chunk, signer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ca-bits", type=int, default=1024, help="CA key modulus (seed: 1024)")
    parser.add_argument("--client-bits", type=int, default=2048, help="router key modulus")
    parser.add_argument("--requests", type=int, default=300, help="enrollments per figure")
    parser.add_argument("--chunk", type=int, default=20, help="operations per interleaved chunk")
    parser.add_argument("--client-keys", type=int, default=4, help="distinct router keys (keygen is slow)")
    parser.add_argument("--connections", type=int, default=2, help="concurrent HTTP connections")
    args = parser.parse_args(argv)

    ca = _ca(args.ca_bits)
    keys = [generate_rsa_key(args.client_bits) for _ in range(args.client_keys)]
    signer = generate_rsa_key(2048)
    n, size = args.requests, args.chunk

    def fresh() -> list[ScepClient]:
        return _clients(ca[1], keys, n)

    rows = [
        core_figure(ca, fresh(), size, signer),
        http_figure(ca, fresh(), size, signer, "asyncio", 1),
        http_figure(ca, fresh(), size, signer, "asyncio", args.connections),
        http_figure(ca, fresh(), size, signer, "http.server", args.connections),
        enroll_figure(ca, fresh(), size, signer),
    ]
    print(
        f"CA key RSA-{args.ca_bits}, router keys RSA-{args.client_bits}, 3DES, SHA-256; {n} certificates per "
        f"figure in chunks of {size}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    heads = ("wall", "ceiling", "share", "CPU", "ceiling", "share")
    print(
        f"{'issued per second':34s} " + " ".join(f"{h:>{w}s}" for h, w in zip(heads, (7, 9, 6, 8, 9, 6), strict=True))
    )
    for row in rows:
        print(row.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
