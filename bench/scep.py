"""Certificates issued per second over SCEP, next to this machine's RSA-2048 signing ceiling.

Run: ``.venv/bin/python bench/scep.py [--ca-bits 1024] [--requests 200]``

What is measured (all on this host, figures printed as one table):

* ceiling: RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with cryptography, one thread
  (cryptography holds the GIL while signing, so one Python process gets one core's worth).
* core: ``ScepServer.pki_operation`` called in-process on pre-built PKCSReq messages (no HTTP):
  what the SCEP core and the CA crypto cost.
* http: the same pre-built requests POSTed one after another over one keep-alive connection
  to the core behind a stdlib HTTP server running in a separate process (the simulated lab
  runs apart from the suites that drive it); every reply is checked after the clock stops.
* enroll: a full client enrollment per request, timed: build and sign the PKCSReq (client
  RSA-2048), POST, verify and decrypt the CertRep; the server runs in its own process.

Each issued certificate costs the CA three private-key operations (unwrap the request's
content key, sign the certificate, sign the CertRep), so with an RSA-2048 CA key the core
cannot pass a third of the RSA-2048 ceiling; the seed's CA key is 1024 bits (``modulus 1024``),
which is the default here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

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
    """One measured rate."""

    name: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.count / self.seconds


def ceiling(seconds: float) -> Figure:
    key = generate_rsa_key(2048)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        key.sign(b"pkilab ceiling %d" % count, padding.PKCS1v15(), hashes.SHA256())
        count += 1
    return Figure("RSA-2048 signatures (ceiling)", count, time.perf_counter() - start)


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
    start = time.perf_counter()
    replies = [server.pki_operation(body) for body in bodies]
    elapsed = time.perf_counter() - start
    _check(clients, [(r.status, r.content_type, r.body) for r in replies])
    return Figure("issued/s, SCEP core in-process", len(bodies), elapsed)


def _check(clients: list[ScepClient], replies: list[tuple[int, str, bytes]]) -> None:
    for client, (status, content_type, body) in zip(clients, replies, strict=True):
        result = client.read_cert_rep(status, content_type, body)
        if result.status is not PkiStatus.SUCCESS:
            raise SystemExit(f"enrollment not granted: {result}")
        client.issued_certificate(result)


def _serve(ca_der: bytes, key_der: bytes, port_out: multiprocessing.connection.Connection) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qsl, urlsplit

    key = serialization.load_der_private_key(key_der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    server = ScepServer(MemoryCa(key, x509.load_der_x509_certificate(ca_der), lambda: dt.datetime.now(dt.UTC)))

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


def with_server(ca: tuple[rsa.RSAPrivateKey, x509.Certificate], run: Callable[[int], Figure]) -> Figure:
    key_der = ca[0].private_bytes(Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(ca[1].public_bytes(Encoding.DER), key_der, child))
    process.start()
    try:
        if not parent.poll(30):
            raise SystemExit("bench HTTP server did not start")
        return run(int(parent.recv()))
    finally:
        process.terminate()
        process.join(5)


def over_http(port: int, clients: list[ScepClient]) -> Figure:
    bodies = _requests(clients)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _post(conn, bodies[0])  # warm up the connection; not counted
    start = time.perf_counter()
    replies = [_post(conn, body) for body in bodies[1:]]
    elapsed = time.perf_counter() - start
    _check(clients[1:], replies)
    return Figure("issued/s, SCEP over HTTP (pre-built requests)", len(replies), elapsed)


def enroll(port: int, clients: list[ScepClient]) -> Figure:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    csrs = [build_csr(c.key, c.subject, "bench") for c in clients]
    start = time.perf_counter()
    for client, csr in zip(clients, csrs, strict=True):
        status, content_type, body = _post(conn, client.pkcs_req(csr).body)
        result = client.read_cert_rep(status, content_type, body)
        if result.status is not PkiStatus.SUCCESS:
            raise SystemExit(f"enrollment not granted: {result}")
    elapsed = time.perf_counter() - start
    return Figure("issued/s, full client enrollment over HTTP", len(clients), elapsed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ca-bits", type=int, default=1024, help="CA key modulus (seed: 1024)")
    parser.add_argument("--client-bits", type=int, default=2048, help="router key modulus")
    parser.add_argument("--requests", type=int, default=200, help="enrollments per figure")
    parser.add_argument("--client-keys", type=int, default=4, help="distinct router keys (keygen is slow)")
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)

    top = ceiling(args.ceiling_seconds)
    ca = _ca(args.ca_bits)
    keys = [generate_rsa_key(args.client_bits) for _ in range(args.client_keys)]
    figures = [
        top,
        core(ca, _clients(ca[1], keys, args.requests)),
        with_server(ca, lambda port: over_http(port, _clients(ca[1], keys, args.requests + 1))),
        with_server(ca, lambda port: enroll(port, _clients(ca[1], keys, args.requests))),
    ]
    print(f"CA key RSA-{args.ca_bits}, router keys RSA-{args.client_bits}, 3DES envelopes, SHA-256")
    for fig in figures:
        share = "" if fig is top else f"  {100 * fig.rate / top.rate:5.1f} % of ceiling"
        print(f"{fig.name:50s} {fig.rate:8.1f}/s  ({fig.count} in {fig.seconds:.2f} s){share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
