"""Client core <-> server core, in process: every path an enrollment can take."""

from __future__ import annotations

import base64
import datetime as dt
import random
import urllib.parse
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.errors import PkiError, ScepError
from pkilab.pki.ca import create_ca_certificate
from pkilab.pki.csr import build_csr
from pkilab.pki.fingerprints import request_fingerprint
from pkilab.pki.names import parse_ios_dn, router_subject
from pkilab.protocols.scep.client import (
    CertRepResult,
    ClientOptions,
    HttpRequest,
    ScepClient,
    get_ca_caps_request,
    get_ca_cert_request,
    get_crl_request,
    parse_ca_caps,
    parse_ca_cert,
    parse_crl,
    self_signed_certificate,
)
from pkilab.protocols.scep.memory import MemoryCa
from pkilab.protocols.scep.message import (
    FailInfo,
    MessageType,
    PkiStatus,
    envelope,
    new_nonce,
    sign_message,
)
from pkilab.protocols.scep.reader import parse_message
from pkilab.protocols.scep.server import (
    CGI_PATH,
    Decision,
    EnrollmentRequest,
    Response,
    ScepServer,
)

KeyFactory = Callable[..., rsa.RSAPrivateKey]
Ca = tuple[rsa.RSAPrivateKey, x509.Certificate]
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
FQDN = "ese-cryagg.ese.cisco.com"


def send(server: ScepServer, request: HttpRequest) -> Response:
    """What an HTTP adapter does: split the target, decode the query, pass the body."""
    parts = urllib.parse.urlsplit(request.target)
    query = dict(urllib.parse.parse_qsl(parts.query))
    return server.handle(request.method, parts.path, query, request.body)


def new_client(rsa_key: KeyFactory, ca_cert: x509.Certificate, slot: int = 1, **options: object) -> ScepClient:
    opts = ClientOptions(**options)  # type: ignore[arg-type]
    return ScepClient(rsa_key(1024, slot=slot), router_subject(FQDN), ca_cert, NOW, opts)


def enroll(
    server: ScepServer, client: ScepClient, password: str | None = "whatever"
) -> tuple[CertRepResult, x509.CertificateSigningRequest]:
    csr = build_csr(client.key, client.subject, password)
    response = send(server, client.pkcs_req(csr))
    return client.read_cert_rep(response.status, response.content_type, response.body), csr


def test_get_ca_caps_and_cert(server: ScepServer, ca_pair: Ca) -> None:
    caps = send(server, get_ca_caps_request())
    assert caps.status == 200 and caps.content_type == "text/plain"
    assert {"POSTPKIOperation", "DES3", "AES", "SHA-1", "SHA-256"} <= parse_ca_caps(caps.body)
    cert = send(server, get_ca_cert_request(ClientOptions(ca_ident="ese-ios-ca")))
    assert cert.status == 200 and cert.content_type == "application/x-x509-ca-cert"
    assert parse_ca_cert(cert.content_type, cert.body) == [ca_pair[1]]
    with pytest.raises(ScepError):
        parse_ca_cert("application/x-x509-ca-cert", b"junk")


@pytest.mark.parametrize(
    ("cipher", "digest", "post"),
    [
        ("3des", "sha1", False),
        ("des", "sha256", True),
        ("aes128", "sha256", False),
        ("aes256", "sha512", True),
    ],
)
def test_granted_at_once(
    server: ScepServer,
    memory_ca: MemoryCa,
    rsa_key: KeyFactory,
    ca_pair: Ca,
    cipher: str,
    digest: str,
    post: bool,
) -> None:
    client = new_client(rsa_key, ca_pair[1], cipher=cipher, digest=digest, post=post)
    result, csr = enroll(server, client)
    assert result.status is PkiStatus.SUCCESS
    cert = client.issued_certificate(result)
    cert.verify_directly_issued_by(ca_pair[1])
    assert cert.subject == router_subject(FQDN)
    assert cert.serial_number == 2 == memory_ca.last_serial
    (record,) = memory_ca.records.values()
    assert record.request.fingerprint == request_fingerprint(csr.public_bytes(Encoding.DER))
    assert record.request.csr.challenge_password == "whatever"
    assert record.request.renewal is False


def test_pending_then_granted_by_poll(
    memory_ca: MemoryCa, server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca
) -> None:
    memory_ca.auto_grant = False
    client = new_client(rsa_key, ca_pair[1])
    result, _ = enroll(server, client)
    assert result.status is PkiStatus.PENDING
    poll = send(server, client.cert_poll())
    assert client.read_cert_rep(poll.status, poll.content_type, poll.body).status is PkiStatus.PENDING
    issued = memory_ca.grant(client.transaction_id)
    poll = send(server, client.cert_poll())
    final = client.read_cert_rep(poll.status, poll.content_type, poll.body)
    assert final.status is PkiStatus.SUCCESS
    assert client.issued_certificate(final) == issued


def test_rejected(memory_ca: MemoryCa, server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    memory_ca.auto_grant = False
    client = new_client(rsa_key, ca_pair[1])
    enroll(server, client)
    memory_ca.reject(client.transaction_id)
    poll = send(server, client.cert_poll())
    result = client.read_cert_rep(poll.status, poll.content_type, poll.body)
    assert (result.status, result.fail_info) == (PkiStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert result.certificates == ()
    with pytest.raises(PkiError):
        client.issued_certificate(result)


def test_poll_for_unknown_transaction(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    client = new_client(rsa_key, ca_pair[1])
    poll = send(server, client.cert_poll())
    result = client.read_cert_rep(poll.status, poll.content_type, poll.body)
    assert (result.status, result.fail_info) == (PkiStatus.FAILURE, FailInfo.BAD_CERT_ID)


def test_one_time_challenge_password(memory_ca: MemoryCa, server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    memory_ca.auto_grant = False
    memory_ca.challenge = "7A2D9C"
    first, _ = enroll(server, new_client(rsa_key, ca_pair[1], slot=1), password="7A2D9C")
    assert first.status is PkiStatus.SUCCESS
    again, _ = enroll(server, new_client(rsa_key, ca_pair[1], slot=2), password="7A2D9C")
    assert again.status is PkiStatus.PENDING


def _raw_request(
    client: ScepClient,
    content: bytes,
    signer_key: rsa.RSAPrivateKey | None = None,
    signer_cert: x509.Certificate | None = None,
    recipient: x509.Certificate | None = None,
) -> bytes:
    return sign_message(
        envelope(content, recipient or client.ca_cert, "3des"),
        signer_cert or client.signer_cert,
        signer_key or client.key,
        MessageType.PKCS_REQ,
        client.transaction_id,
        sender_nonce=new_nonce(),
    )


def _post(server: ScepServer, der: bytes) -> Response:
    return server.handle("POST", CGI_PATH, {"operation": "PKIOperation"}, der)


def _failure_of(response: Response, ca_cert: x509.Certificate) -> FailInfo | None:
    assert response.status == 200 and response.content_type == "application/x-pki-message"
    reply = parse_message(response.body)
    assert reply.signature_valid and reply.signer_cert == ca_cert
    assert reply.message_type is MessageType.CERT_REP and reply.pki_status is PkiStatus.FAILURE
    return reply.fail_info


def test_bad_signature_gets_bad_message_check(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    client = new_client(rsa_key, ca_pair[1])
    der = bytearray(send_body(client))
    der[-3] ^= 0x01
    response = _post(server, bytes(der))
    assert _failure_of(response, ca_pair[1]) is FailInfo.BAD_MESSAGE_CHECK
    assert "signature" in response.detail


def send_body(client: ScepClient) -> bytes:
    request = client.pkcs_req(build_csr(client.key, client.subject, "pw"))
    if request.method == "POST":
        return request.body
    return base64.b64decode(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.target).query))["message"])


def test_wrong_recipient_gets_bad_message_check(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    other_key = rsa_key(1024, slot=5)
    other_ca = create_ca_certificate(other_key, parse_ios_dn("CN=other-ca"), NOW, 30)
    client = new_client(rsa_key, other_ca)
    response = send(server, client.pkcs_req(build_csr(client.key, client.subject, "pw")))
    assert _failure_of(response, ca_pair[1]) is FailInfo.BAD_MESSAGE_CHECK
    # The router that trusts the other CA cannot take this reply as genuine.
    with pytest.raises(ScepError, match="not signed by the CA"):
        client.read_cert_rep(response.status, response.content_type, response.body)


def test_garbage_csr_gets_bad_request(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    client = new_client(rsa_key, ca_pair[1])
    response = _post(server, _raw_request(client, b"this is not a PKCS#10 request"))
    assert _failure_of(response, ca_pair[1]) is FailInfo.BAD_REQUEST


def test_signer_key_must_be_the_requested_key(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    client = new_client(rsa_key, ca_pair[1])
    stranger = rsa_key(1024, slot=6)
    signer = self_signed_certificate(stranger, client.subject, NOW)
    csr = build_csr(client.key, client.subject, "pw").public_bytes(Encoding.DER)
    response = _post(server, _raw_request(client, csr, stranger, signer))
    assert _failure_of(response, ca_pair[1]) is FailInfo.BAD_MESSAGE_CHECK


def test_renewal_is_signed_with_the_issued_certificate(
    server: ScepServer, memory_ca: MemoryCa, rsa_key: KeyFactory, ca_pair: Ca
) -> None:
    first = new_client(rsa_key, ca_pair[1])
    result, _ = enroll(server, first)
    current = first.issued_certificate(result)
    # Sign with the current key and certificate; request a certificate for a new key.
    renewing = ScepClient(first.key, first.subject, ca_pair[1], NOW, signer_cert=current)
    new_key = rsa_key(1024, slot=7)
    csr = build_csr(new_key, first.subject, None).public_bytes(Encoding.DER)
    response = send(server, renewing.pkcs_req(csr))
    reply = renewing.read_cert_rep(response.status, response.content_type, response.body)
    assert reply.status is PkiStatus.SUCCESS
    assert reply.certificates[0].public_key() == new_key.public_key()
    renewal_records = [r for r in memory_ca.records.values() if r.request.renewal]
    assert len(renewal_records) == 1


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x30\x82\xff\xff", b"garbage" * 50])
def test_unreadable_pki_messages_get_400_and_server_keeps_serving(
    server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca, body: bytes
) -> None:
    assert _post(server, body).status == 400
    # Truncated versions of a valid message too.
    valid = send_body(new_client(rsa_key, ca_pair[1]))
    for cut in (1, 50, len(valid) // 2, len(valid) - 1):
        assert _post(server, valid[:cut]).status == 400
    result, _ = enroll(server, new_client(rsa_key, ca_pair[1]))
    assert result.status is PkiStatus.SUCCESS


def test_get_message_survives_form_decoding(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    client = new_client(rsa_key, ca_pair[1], post=False)
    message = base64.b64encode(send_body(client)).decode()
    assert "+" in message or "/" in message
    # A naive query decoder turns '+' into ' ', and routers wrap base64 with newlines.
    mangled = message.replace("+", " ")
    wrapped = "\n".join(mangled[i : i + 64] for i in range(0, len(mangled), 64))
    response = server.handle("GET", CGI_PATH, {"operation": "PKIOperation", "message": wrapped}, b"")
    reply = parse_message(response.body)
    assert reply.pki_status is PkiStatus.SUCCESS
    bad = server.handle("GET", CGI_PATH, {"operation": "PKIOperation", "message": "!!!"}, b"")
    assert bad.status == 400


def test_http_errors(server: ScepServer) -> None:
    assert server.handle("GET", "/other", {"operation": "GetCACert"}, b"").status == 404
    assert server.handle("PUT", CGI_PATH, {"operation": "GetCACert"}, b"").status == 405
    assert server.handle("GET", CGI_PATH, {"operation": "Bogus"}, b"").status == 400
    assert server.handle("GET", CGI_PATH, {}, b"").status == 400
    assert server.handle("GET", CGI_PATH + "/", {"operation": "GetCACaps"}, b"").status == 200


def test_crl_from_the_cdp_url(server: ScepServer, memory_ca: MemoryCa, ca_pair: Ca) -> None:
    response = send(server, get_crl_request())
    crl = parse_crl(response.status, response.body)
    assert crl.issuer == ca_pair[1].subject
    memory_ca.revoke(7)
    response = send(server, get_crl_request())
    assert parse_crl(response.status, response.body).get_revoked_certificate_by_serial_number(7) is not None
    pem = parse_crl(200, crl.public_bytes(Encoding.PEM))
    assert pem == crl
    with pytest.raises(ScepError):
        parse_crl(404, b"404 Not Found")
    with pytest.raises(ScepError):
        parse_crl(200, b"not a crl")


def test_crl_plain_and_over_scep(server: ScepServer, memory_ca: MemoryCa, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    plain = server.handle("GET", CGI_PATH, {"operation": "GetCRL"}, b"")
    assert plain.status == 200 and plain.content_type == "application/pkix-crl"
    crl = x509.load_der_x509_crl(plain.body)
    assert crl.is_signature_valid(ca_pair[0].public_key())
    memory_ca.revoke(2)
    client = new_client(rsa_key, ca_pair[1])
    response = send(server, client.get_crl())
    result = client.read_cert_rep(response.status, response.content_type, response.body)
    assert result.status is PkiStatus.SUCCESS
    (fresh,) = result.crls
    assert fresh.get_revoked_certificate_by_serial_number(2) is not None


class _Broken:
    def __init__(self, inner: MemoryCa, error: Exception):
        self.inner = inner
        self.error = error

    def ca_certificate(self) -> x509.Certificate:
        return self.inner.ca_certificate()

    def ca_key(self) -> rsa.RSAPrivateKey:
        return self.inner.ca_key()

    def submit(self, request: EnrollmentRequest) -> Decision:
        raise self.error

    def poll(self, transaction_id: str, subject: x509.Name) -> Decision:
        raise self.error

    def crl(self) -> x509.CertificateRevocationList | None:
        return None


def test_backend_errors_never_escape(memory_ca: MemoryCa, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    client = new_client(rsa_key, ca_pair[1])
    pkilab_error = ScepServer(_Broken(memory_ca, PkiError("CA certificate expired")))
    assert _failure_of(_post(pkilab_error, send_body(client)), ca_pair[1]) is FailInfo.BAD_REQUEST
    crashing = ScepServer(_Broken(memory_ca, RuntimeError("bug")))
    response = _post(crashing, send_body(client))
    assert response.status == 500 and b"bug" not in response.body
    assert crashing.handle("GET", CGI_PATH, {"operation": "GetCRL"}, b"").status == 404


def test_client_rejects_replies_that_are_not_for_it(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    alice = new_client(rsa_key, ca_pair[1], slot=1)
    bob = new_client(rsa_key, ca_pair[1], slot=2)
    alice_reply = send(server, alice.pkcs_req(build_csr(alice.key, alice.subject, "pw")))
    bob.pkcs_req(build_csr(bob.key, bob.subject, "pw"))
    with pytest.raises(ScepError, match="transactionID"):
        bob.read_cert_rep(alice_reply.status, alice_reply.content_type, alice_reply.body)
    alice.pkcs_req(build_csr(alice.key, alice.subject, "pw"))  # a new nonce: the old reply is stale
    with pytest.raises(ScepError, match="recipientNonce"):
        alice.read_cert_rep(alice_reply.status, alice_reply.content_type, alice_reply.body)
    with pytest.raises(ScepError, match="HTTP 400"):
        alice.read_cert_rep(400, "text/plain", b"400 Bad Request")


def _mutate(rng: random.Random, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        at = rng.randrange(len(data))
        if kind < 0.6:
            data[at] ^= 1 << rng.randrange(8)
        elif kind < 0.8:
            del data[at : at + rng.randint(1, 40)]
        else:
            data[at:at] = rng.randbytes(rng.randint(1, 8))
    return bytes(data)


def test_mutated_replies_only_raise_scep_errors(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    rng = random.Random(4242)
    client = new_client(rsa_key, ca_pair[1])
    request = client.pkcs_req(build_csr(client.key, client.subject, "pw"))
    reply = send(server, request)
    outcomes: set[str] = set()
    for _ in range(300):
        try:
            result = client.read_cert_rep(200, reply.content_type, _mutate(rng, reply.body))
            outcomes.add(result.status.name)
        except (ScepError, PkiError):
            outcomes.add("error")
    assert "error" in outcomes


def test_mutated_messages_never_break_the_server(server: ScepServer, rsa_key: KeyFactory, ca_pair: Ca) -> None:
    """Flip, cut and splice bytes of a valid request: every answer is a CertRep or an HTTP 400."""
    rng = random.Random(20260301)
    valid = send_body(new_client(rsa_key, ca_pair[1]))
    statuses: set[int] = set()
    for _ in range(600):
        response = _post(server, _mutate(rng, valid))
        statuses.add(response.status)
        assert response.status in (200, 400), response.detail
        if response.status == 200:
            reply = parse_message(response.body)
            assert reply.signature_valid and reply.message_type is MessageType.CERT_REP
    assert statuses == {200, 400}
