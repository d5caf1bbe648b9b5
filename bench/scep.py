"""Certificates issued per second over SCEP, next to this machine's RSA-2048 signing ceiling.

Run: ``.venv/bin/python bench/scep.py [--ca-bits 1024] [--requests 200]``

What is measured (all on this host, figures printed as one table):

* ceiling: RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with cryptography, one thread
  (cryptography holds the GIL while signing, so one Python process gets one core's worth).
* core: ``ScepServer.pki_operation`` called in-process on pre-built PKCSReq messages (no HTTP):
  what the SCEP core and the CA crypto cost.
* SCEP/HTTP: the same pre-built requests POSTed over one or ``--connections`` keep-alive
  connections (one client thread each) to the core behind a local HTTP server in a separate
  process (the simulated lab runs apart from the suites that drive it); every reply is
  checked after the clock stops. This is the CA's throughput over SCEP, the figure the target
  is about. Two adapters: a lean asyncio one (as a lab's event-loop HTTP server would be) and
  the stdlib ``http.server`` one (its header parsing alone costs about as much as the SCEP work).
* enroll: full client enrollments one after another, timed: build and sign the PKCSReq
  (client RSA-2048), POST, verify and decrypt the CertRep. The client's own two RSA-2048
  private-key operations per enrollment cap this below half the ceiling by arithmetic.

Each run is bracketed by two one-second ceiling measurements and compared with their mean,
and each figure is the best of ``--rounds`` runs: the machine is shared with other work, so
this compares like with like and keeps the least disturbed run. Rates are also given per CPU
second of the measured process (the CA's process for the HTTP figures; client and CA together
for full enrollments), which other load disturbs less than wall-clock time.

Each issued certificate costs the CA three private-key operations (unwrap the request's
content key, sign the certificate, sign the CertRep), so with an RSA-2048 CA key the core
cannot pass a third of the RSA-2048 ceiling; the seed's CA key is 1024 bits (``modulus 1024``),
which is the default here.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
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


@dataclass(frozen=True)
class Figure:
    """One measured rate: wall-clock seconds, and the CPU seconds the measured side used."""

    name: str
    count: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        """Operations per wall-clock second."""
        return self.count / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Operations per CPU second (robust to other load on a shared machine)."""
        return self.count / self.cpu_seconds if self.cpu_seconds > 0 else float("nan")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_CEILING_KEY: list[rsa.RSAPrivateKey] = []


def ceiling(seconds: float) -> Figure:
    if not _CEILING_KEY:
        _CEILING_KEY.append(generate_rsa_key(2048))
    key = _CEILING_KEY[0]
    count = 0
    cpu = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        key.sign(b"pkilab ceiling %d" % count, padding.PKCS1v15(), hashes.SHA256())
        count += 1
    elapsed = time.perf_counter() - start
    return Figure("RSA-2048 signatures (ceiling)", count, elapsed, time.process_time() - cpu)


@dataclass(frozen=True)
class Measured:
    """A figure next to the ceiling measured just before and just after it."""

    figure: Figure
    ceiling_wall: float
    ceiling_cpu: float

    @property
    def wall_share(self) -> float:
        """Percent of the ceiling, wall-clock rates."""
        return 100 * self.figure.rate / self.ceiling_wall

    @property
    def cpu_share(self) -> float:
        """Percent of the ceiling, per-CPU-second rates."""
        return 100 * self.figure.cpu_rate / self.ceiling_cpu


def bracketed(rounds: int, seconds: float, run: Callable[[], Figure]) -> Measured:
    """Run ``rounds`` times between two ceiling measurements; keep the best share.

    The machine is shared: bracketing each run with the ceiling compares the two under the
    same load, and the best round is the least disturbed one.
    """
    results = []
    for _ in range(rounds):
        before = ceiling(seconds)
        fig = run()
        after = ceiling(seconds)
        wall = (before.rate + after.rate) / 2
        results.append(Measured(fig, wall, (before.cpu_rate + after.cpu_rate) / 2))
    return max(results, key=lambda m: m.wall_share)


def _ca(bits: int) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
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


def core(ca: tuple[rsa.RSAPrivateKey, x509.Certificate], clients: list[ScepClient]) -> Figure:
    server = ScepServer(MemoryCa(ca[0], ca[1], lambda: NOW))
    bodies = _requests(clients)
    cpu = time.process_time()
    start = time.perf_counter()
    replies = [server.pki_operation(body) for body in bodies]
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    _check(clients, [(r.status, r.content_type, r.body) for r in replies])
    return Figure("SCEP core in-process", len(bodies), elapsed, cpu)


def _check(clients: list[ScepClient], replies: list[tuple[int, str, bytes]]) -> None:
    for client, (status, content_type, body) in zip(clients, replies, strict=True):
        result = client.read_cert_rep(status, content_type, body)
        if result.status is not PkiStatus.SUCCESS:
            raise SystemExit(f"enrollment not granted: {result}")
        client.issued_certificate(result)


def _serve(ca_der: bytes, key_der: bytes, port_out: Connection, adapter: str) -> None:
    key = serialization.load_der_private_key(key_der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    server = ScepServer(MemoryCa(key, x509.load_der_x509_certificate(ca_der), lambda: dt.datetime.now(dt.UTC)))
    if adapter == "asyncio":
        asyncio.run(_serve_asyncio(server, port_out))
    else:
        _serve_threading(server, port_out)


async def _serve_asyncio(server: ScepServer, port_out: Connection) -> None:
    """A lean HTTP/1.1 keep-alive adapter: what a lab's asyncio HTTP server costs per request."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                parts = urlsplit(target)
                response = server.handle(method, parts.path, dict(parse_qsl(parts.query)), body)
                writer.write(
                    f"HTTP/1.1 {response.status} X\r\nContent-Type: {response.content_type}\r\n"
                    f"Content-Length: {len(response.body)}\r\n\r\n".encode()
                    + response.body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    listener = await asyncio.start_server(connection, "127.0.0.1", 0)
    port_out.send(listener.sockets[0].getsockname()[1])
    await listener.serve_forever()


def _serve_threading(server: ScepServer, port_out: Connection) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without TCP_NODELAY the client's delayed ACK
        # holds the body back ~40 ms per request.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            response = server.handle("POST", parts.path, dict(parse_qsl(parts.query)), body)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(httpd.server_address[1])
    httpd.serve_forever()


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, str, bytes]:
    conn.request("POST", f"{CGI_PATH}?operation=PKIOperation", body, {"Content-Type": "application/x-pki-message"})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


def with_server(
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate], run: Callable[[int, int], Measured], adapter: str = "asyncio"
) -> Measured:
    key_der = ca[0].private_bytes(Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(ca[1].public_bytes(Encoding.DER), key_der, child, adapter))
    process.start()
    try:
        if not parent.poll(30):
            raise SystemExit("bench HTTP server did not start")
        assert process.pid is not None
        return run(int(parent.recv()), process.pid)
    finally:
        process.terminate()
        process.join(5)


def over_http(port: int, pid: int, clients: list[ScepClient], connections: int, adapter: str) -> Figure:
    bodies = _requests(clients)
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(connections)]
    for conn in conns:
        _post(conn, bodies[0])  # open and warm up each connection; not counted
    replies: list[tuple[int, str, bytes] | None] = [None] * len(bodies)

    def worker(index: int) -> None:
        for at in range(1 + index, len(bodies), connections):
            replies[at] = _post(conns[index], bodies[at])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    cpu = process_cpu(pid)
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    cpu = process_cpu(pid) - cpu
    done = [reply for reply in replies[1:] if reply is not None]
    _check(clients[1:], done)
    return Figure(f"SCEP/HTTP ({adapter}), {connections} conn.", len(done), elapsed, cpu)


def enroll(port: int, pid: int, clients: list[ScepClient]) -> Figure:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    csrs = [build_csr(c.key, c.subject, "bench") for c in clients]
    cpu = process_cpu(pid) + time.process_time()
    start = time.perf_counter()
    for client, csr in zip(clients, csrs, strict=True):
        status, content_type, body = _post(conn, client.pkcs_req(csr).body)
        result = client.read_cert_rep(status, content_type, body)
        if result.status is not PkiStatus.SUCCESS:
            raise SystemExit(f"enrollment not granted: {result}")
    elapsed = time.perf_counter() - start
    cpu = process_cpu(pid) + time.process_time() - cpu
    return Figure("full enrollment (client + CA CPU)", len(clients), elapsed, cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ca-bits", type=int, default=1024, help="CA key modulus (seed: 1024)")
    parser.add_argument("--client-bits", type=int, default=2048, help="router key modulus")
    parser.add_argument("--requests", type=int, default=200, help="enrollments per figure")
    parser.add_argument("--client-keys", type=int, default=4, help="distinct router keys (keygen is slow)")
    parser.add_argument("--ceiling-seconds", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=2, help="concurrent HTTP connections")
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure (the best is kept)")
    args = parser.parse_args(argv)

    ca = _ca(args.ca_bits)
    keys = [generate_rsa_key(args.client_bits) for _ in range(args.client_keys)]
    rounds, secs, n = args.rounds, args.ceiling_seconds, args.requests

    def http(connections: int, adapter: str) -> Measured:
        return with_server(
            ca,
            lambda port, pid: bracketed(
                rounds, secs, lambda: over_http(port, pid, _clients(ca[1], keys, n + 1), connections, adapter)
            ),
            adapter=adapter,
        )

    top = max((ceiling(secs) for _ in range(rounds)), key=lambda fig: fig.rate)
    rows = [
        bracketed(rounds, secs, lambda: core(ca, _clients(ca[1], keys, n))),
        http(1, "asyncio"),
        http(args.connections, "asyncio"),
        http(args.connections, "http.server"),
        with_server(ca, lambda port, pid: bracketed(rounds, secs, lambda: enroll(port, pid, _clients(ca[1], keys, n)))),
    ]
    print(
        f"CA key RSA-{args.ca_bits}, router keys RSA-{args.client_bits}, 3DES envelopes, SHA-256, "
        f"best of {rounds}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':36s} {'/s':>7s} {'ceiling/s':>9s} {'share':>6s} {'/CPU s':>7s} {'share':>6s}")
    print(f"{top.name:36s} {top.rate:7.1f} {'':9s} {'':6s} {top.cpu_rate:7.1f}")
    for row in rows:
        fig = row.figure
        print(
            f"{fig.name:36s} {fig.rate:7.1f} {row.ceiling_wall:9.1f} {row.wall_share:5.1f}% "
            f"{fig.cpu_rate:7.1f} {row.cpu_share:5.1f}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
