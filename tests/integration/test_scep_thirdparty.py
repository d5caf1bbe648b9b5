"""strongSwan's ``pki`` and openssl against the SCEP server core, over real HTTP on 127.0.0.1.

The HTTP adapter here is a test-local stdlib server; the simulated routers use the lab's own.
Needs the Debian packages ``strongswan-pki`` and ``libstrongswan-extra-plugins`` (its curl
plugin is pki's HTTP client); skips when ``pki`` is absent.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.pki.ca import create_ca_certificate
from pkilab.pki.keys import generate_rsa_key
from pkilab.pki.names import parse_ios_dn
from pkilab.protocols.scep.memory import MemoryCa
from pkilab.protocols.scep.server import CGI_PATH, ScepServer

PKI = shutil.which("pki")
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(PKI is None, reason="strongSwan 'pki' not installed (Debian package strongswan-pki)")


def _handler(server: ScepServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without TCP_NODELAY the client's delayed ACK
        # holds the body back ~40 ms per request.
        disable_nagle_algorithm = True

        def _answer(self, body: bytes) -> None:
            parts = urllib.parse.urlsplit(self.path)
            response = server.handle(self.command, parts.path, dict(urllib.parse.parse_qsl(parts.query)), body)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@dataclass
class Lab:
    ca: MemoryCa
    url: str
    tmp: Path

    def pki(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert PKI is not None
        run = subprocess.run([PKI, *args], capture_output=True, text=True, timeout=timeout, check=False)
        if "no capable fetcher found" in run.stderr:
            pytest.skip("strongSwan has no HTTP fetcher (install libstrongswan-extra-plugins for its curl plugin)")
        return run

    def enroll(
        self, *extra: str, password: str = "whatever", cn: str = "r1.example.com"
    ) -> subprocess.CompletedProcess[str]:
        return self.pki(
            "--scep",
            "--url",
            self.url,
            "--in",
            str(self.tmp / "key.der"),
            "--dn",
            f"CN={cn}, O=pkilab",
            "--password",
            password,
            "--cacert-enc",
            str(self.tmp / "ca.der"),
            "--cacert-sig",
            str(self.tmp / "ca.der"),
            "--outform",
            "pem",
            *extra,
        )


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return generate_rsa_key(2048), generate_rsa_key(2048)


@pytest.fixture
def lab(keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], tmp_path: Path) -> Iterator[Lab]:
    ca_key, client_key = keys
    now = dt.datetime.now(dt.UTC)
    subject = parse_ios_dn("CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US")
    ca_cert = create_ca_certificate(ca_key, subject, now - dt.timedelta(minutes=5), 1095)
    ca = MemoryCa(ca_key, ca_cert, lambda: dt.datetime.now(dt.UTC))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ScepServer(ca)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "key.der").write_bytes(
        client_key.private_bytes(
            Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    lab = Lab(ca, f"http://127.0.0.1:{httpd.server_address[1]}{CGI_PATH}", tmp_path)
    fetched = lab.pki("--scepca", "--url", lab.url, "--caout", str(tmp_path / "ca.der"), "--force")
    assert fetched.returncode == 0, fetched.stderr
    assert x509.load_der_x509_certificate((tmp_path / "ca.der").read_bytes()) == ca_cert
    try:
        yield lab
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(("cipher", "digest"), [("des3", "sha256"), ("des3", "sha1"), ("aes", "sha256")])
def test_strongswan_enrolls(lab: Lab, cipher: str, digest: str) -> None:
    run = lab.enroll("--cipher", cipher, "--digest", digest)
    assert run.returncode == 0, run.stderr
    cert = x509.load_pem_x509_certificate(run.stdout.encode())
    cert.verify_directly_issued_by(lab.ca.ca_certificate())
    assert cert.serial_number == 2
    (record,) = lab.ca.records.values()
    # strongSwan sends extensionRequest before challengePassword: read only thanks to the lenient loader.
    assert record.request.csr.challenge_password == "whatever"
    assert record.request.csr.signature_valid
    assert record.state == "granted"


def _grant_when_pending(ca: MemoryCa, deadline: float) -> None:
    while time.monotonic() < deadline:
        pending = [tid for tid, rec in list(ca.records.items()) if rec.state == "pending"]
        if pending:
            ca.grant(pending[0])
            return
        time.sleep(0.05)


def test_strongswan_polls_until_granted(lab: Lab) -> None:
    lab.ca.auto_grant = False
    granter = threading.Thread(target=_grant_when_pending, args=(lab.ca, time.monotonic() + 30), daemon=True)
    granter.start()
    run = lab.enroll("--cipher", "des3", "--digest", "sha256", "--interval", "1", "--maxpolltime", "30")
    granter.join(timeout=5)
    assert run.returncode == 0, run.stderr
    assert "pending" in run.stderr.lower()
    x509.load_pem_x509_certificate(run.stdout.encode()).verify_directly_issued_by(lab.ca.ca_certificate())


def test_strongswan_sees_a_rejection(lab: Lab) -> None:
    lab.ca.auto_grant = False

    def reject_when_pending(deadline: float) -> None:
        while time.monotonic() < deadline:
            pending = [tid for tid, rec in list(lab.ca.records.items()) if rec.state == "pending"]
            if pending:
                lab.ca.reject(pending[0])
                return
            time.sleep(0.05)

    rejecter = threading.Thread(target=reject_when_pending, args=(time.monotonic() + 30,), daemon=True)
    rejecter.start()
    run = lab.enroll("--cipher", "des3", "--digest", "sha256", "--interval", "1", "--maxpolltime", "30")
    rejecter.join(timeout=5)
    assert run.returncode != 0
    assert "badRequest" in run.stderr


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_crl_check_before_and_after_revoke(lab: Lab) -> None:
    assert OPENSSL is not None
    run = lab.enroll("--cipher", "des3", "--digest", "sha256")
    assert run.returncode == 0, run.stderr
    leaf = lab.tmp / "leaf.pem"
    leaf.write_text(run.stdout)
    ca_pem = lab.tmp / "ca.pem"
    ca_pem.write_bytes(lab.ca.ca_certificate().public_bytes(Encoding.PEM))

    def check() -> str:
        # Fetch the CRL from the CDP URL the way a relying party does, then let openssl judge.
        with urllib.request.urlopen(f"{lab.url}?operation=GetCRL", timeout=10) as response:
            (lab.tmp / "ca.crl").write_bytes(response.read())
        converted = subprocess.run(
            [
                OPENSSL,
                "crl",
                "-inform",
                "DER",
                "-in",
                str(lab.tmp / "ca.crl"),
                "-out",
                str(lab.tmp / "crl.pem"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert converted.returncode == 0, converted.stderr
        done = subprocess.run(
            [
                OPENSSL,
                "verify",
                "-crl_check",
                "-CAfile",
                str(ca_pem),
                "-CRLfile",
                str(lab.tmp / "crl.pem"),
                str(leaf),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr

    assert check().strip().endswith(": OK")
    lab.ca.revoke(x509.load_pem_x509_certificate(run.stdout.encode()).serial_number)
    assert "certificate revoked" in check()


def test_garbage_does_not_stop_the_server(lab: Lab) -> None:
    request = urllib.request.Request(f"{lab.url}?operation=PKIOperation", data=b"\x30\x80garbage", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(f"{lab.url}?operation=Nope", timeout=10)
    assert unknown.value.code == 400
    run = lab.enroll("--cipher", "des3", "--digest", "sha256")
    assert run.returncode == 0, run.stderr
