"""Sans-IO SCEP client core, as a simulated router uses it to authenticate and enroll.

The client builds HTTP requests (:class:`HttpRequest`) and reads HTTP responses; the caller
moves the bytes (over the virtual network, or a real socket) and owns the clock.

Flow, as ``crypto pki authenticate`` / ``crypto pki enroll`` do it::

    client = ScepClient(key, subject, ca_cert, now=router_clock())
    req = client.pkcs_req(csr)               # POST or GET PKIOperation
    result = client.read_cert_rep(resp.status, resp.content_type, resp.body)
    while result.status is PkiStatus.PENDING:
        req = client.cert_poll()             # GetCertInitial, same transactionID
        result = client.read_cert_rep(...)

The router signs its requests with a short-lived self-signed certificate over its own key
(subject = the requested subject), as RFC 8894 section 2.3 describes for a first enrollment.
"""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
from dataclasses import dataclass

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.errors import PkiError, ScepError
from pkilab.pki.ca import utc
from pkilab.pki.csr import x509_hash
from pkilab.protocols.scep import asn1 as scep_asn1
from pkilab.protocols.scep.message import (
    Cipher_,
    Digest,
    FailInfo,
    MessageType,
    PkiStatus,
    envelope,
    new_nonce,
    sign_message,
    transaction_id_for,
)
from pkilab.protocols.scep.reader import open_envelope, parse_certs_only, parse_message
from pkilab.protocols.scep.server import CGI_PATH, CT_CA_CERT, CT_PKI_MESSAGE


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request for the caller to send.

    Attributes:
        method: ``GET`` or ``POST``.
        target: path and query string.
        body: the body (POST), else empty.
        content_type: the Content-Type of the body, or None.
    """

    method: str
    target: str
    body: bytes = b""
    content_type: str | None = None


@dataclass(frozen=True)
class ClientOptions:
    """How the client talks SCEP.

    Attributes:
        cipher: envelope cipher (IOS routers: 3DES or DES; AES for newer builds).
        digest: message digest.
        post: send PKIOperation as POST (else GET with base64 ``message=``, as IOS does).
        path: the CGI path.
        ca_ident: the ``message=`` of GetCACert/GetCACaps (IOS sends the trustpoint's CA name).
    """

    cipher: Cipher_ = "3des"
    digest: Digest = "sha256"
    post: bool = False
    path: str = CGI_PATH
    ca_ident: str = ""


@dataclass(frozen=True)
class CertRepResult:
    """A CertRep the client has verified and opened.

    Attributes:
        status: SUCCESS, PENDING or FAILURE.
        fail_info: the failInfo when FAILURE.
        certificates: the certificates delivered (SUCCESS).
        crls: the CRLs delivered (SUCCESS to a GetCRL).
        transaction_id: the transactionID.
    """

    status: PkiStatus
    fail_info: FailInfo | None
    certificates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    transaction_id: str


def _query(path: str, operation: str, message: str) -> str:
    return f"{path}?{urllib.parse.urlencode({'operation': operation, 'message': message})}"


def get_ca_caps_request(options: ClientOptions | None = None) -> HttpRequest:
    """The GetCACaps request."""
    opts = options or ClientOptions()
    return HttpRequest("GET", _query(opts.path, "GetCACaps", opts.ca_ident))


def parse_ca_caps(body: bytes) -> frozenset[str]:
    """The capabilities in a GetCACaps answer (case kept, blank lines dropped)."""
    lines = body.decode("ascii", errors="replace").splitlines()
    return frozenset(line.strip() for line in lines if line.strip())


def get_ca_cert_request(options: ClientOptions | None = None) -> HttpRequest:
    """The GetCACert request."""
    opts = options or ClientOptions()
    return HttpRequest("GET", _query(opts.path, "GetCACert", opts.ca_ident))


def parse_ca_cert(content_type: str, body: bytes) -> list[x509.Certificate]:
    """The certificates of a GetCACert answer: one DER certificate, or a certs-only PKCS#7.

    Raises:
        ScepError: the body is neither.
    """
    kind = content_type.split(";")[0].strip().lower()
    if kind == CT_CA_CERT:
        try:
            return [x509.load_der_x509_certificate(body)]
        except (ValueError, x509.InvalidVersion) as exc:
            raise ScepError(f"GetCACert answer is not a DER certificate: {exc}") from exc
    certs, _ = parse_certs_only(body)
    if not certs:
        raise ScepError(f"GetCACert answer ({content_type}) holds no certificate")
    return certs


def get_crl_request(options: ClientOptions | None = None) -> HttpRequest:
    """A plain GET of the CRL at the IOS CDP URL (``…/pkiclient.exe?operation=GetCRL``)."""
    opts = options or ClientOptions()
    return HttpRequest("GET", f"{opts.path}?operation=GetCRL")


def parse_crl(status: int, body: bytes) -> x509.CertificateRevocationList:
    """The CRL in a CDP answer (DER, or PEM as some servers send).

    Raises:
        ScepError: an HTTP error or a body that is not a CRL.
    """
    if status != 200:
        raise ScepError(f"CRL fetch answered HTTP {status}")
    try:
        if body.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(body)
        return x509.load_der_x509_crl(body)
    except ValueError as exc:
        raise ScepError(f"CRL fetch answer is not a CRL: {exc}") from exc


def self_signed_certificate(key: rsa.RSAPrivateKey, subject: x509.Name, now: dt.datetime) -> x509.Certificate:
    """The throw-away certificate a router signs its first SCEP request with."""
    start = utc(now)
    serial = int.from_bytes(new_nonce()[:8], "big") >> 1
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial or 1)
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=1))
        .sign(key, x509_hash("sha256"))
    )


class ScepClient:
    """One router's SCEP exchanges with one CA (one transaction at a time)."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        subject: x509.Name,
        ca_cert: x509.Certificate,
        now: dt.datetime,
        options: ClientOptions | None = None,
        signer_cert: x509.Certificate | None = None,
    ):
        """Set up a client.

        Args:
            key: the router's key pair (the one being certified).
            subject: the subject being requested.
            ca_cert: the authenticated CA certificate (encrypts requests, verifies replies).
            now: the router's clock (dates the self-signed signer certificate).
            options: how to talk SCEP.
            signer_cert: sign with this certificate instead (renewal with the current one).
        """
        self.key = key
        self.subject = subject
        self.ca_cert = ca_cert
        self.options = options or ClientOptions()
        self.signer_cert = signer_cert or self_signed_certificate(key, subject, now)
        self.transaction_id = transaction_id_for(key.public_key())
        self._nonce: bytes | None = None

    def _request(self, content: bytes, message_type: MessageType) -> HttpRequest:
        self._nonce = new_nonce()
        body = sign_message(
            envelope(content, self.ca_cert, self.options.cipher),
            self.signer_cert,
            self.key,
            message_type,
            self.transaction_id,
            sender_nonce=self._nonce,
            digest=self.options.digest,
        )
        if self.options.post:
            target = f"{self.options.path}?operation=PKIOperation"
            return HttpRequest("POST", target, body, CT_PKI_MESSAGE)
        return HttpRequest("GET", _query(self.options.path, "PKIOperation", base64.b64encode(body).decode()))

    def pkcs_req(self, csr: x509.CertificateSigningRequest | bytes) -> HttpRequest:
        """The PKCSReq carrying ``csr``.

        IOS sends PKCSReq for renewals too (signed with the current certificate, see
        ``signer_cert``), never RenewalReq; the CA tells them apart by the signer.
        """
        der = csr if isinstance(csr, bytes) else csr.public_bytes(Encoding.DER)
        return self._request(der, MessageType.PKCS_REQ)

    def cert_poll(self) -> HttpRequest:
        """The GetCertInitial (CertPoll) for the pending request."""
        ias = scep_asn1.IssuerAndSubject(
            {
                "issuer": asn1_x509.Name.load(self.ca_cert.subject.public_bytes()),
                "subject": asn1_x509.Name.load(self.subject.public_bytes()),
            }
        )
        return self._request(ias.dump(), MessageType.CERT_POLL)

    def get_crl(self, certificate: x509.Certificate | None = None) -> HttpRequest:
        """The GetCRL for ``certificate`` (default: the CA certificate itself)."""
        cert = asn1_x509.Certificate.load((certificate or self.ca_cert).public_bytes(Encoding.DER))
        ias = cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})
        return self._request(ias.dump(), MessageType.GET_CRL)

    def read_cert_rep(self, status: int, content_type: str, body: bytes) -> CertRepResult:
        """Verify and open the CA's answer to the last request.

        Raises:
            ScepError: an HTTP error, a reply not signed by the CA, a transactionID or
                recipientNonce that does not match, or content that does not open.
        """
        if status != 200:
            raise ScepError(f"CA answered HTTP {status}: {body[:80]!r}")
        msg = parse_message(body)
        if msg.message_type != MessageType.CERT_REP or msg.pki_status is None:
            raise ScepError(f"CA answered a {msg.message_type.name}, not a CertRep")
        if not msg.signature_valid or msg.signer_cert.public_key() != self.ca_cert.public_key():
            raise ScepError("CertRep is not signed by the CA")
        if msg.transaction_id != self.transaction_id:
            raise ScepError(f"CertRep transactionID {msg.transaction_id!r} is not ours")
        if self._nonce is not None and msg.recipient_nonce != self._nonce:
            raise ScepError("CertRep recipientNonce does not echo our senderNonce")
        certs: tuple[x509.Certificate, ...] = ()
        crls: tuple[x509.CertificateRevocationList, ...] = ()
        if msg.pki_status == PkiStatus.SUCCESS:
            if msg.envelope is None:
                raise ScepError("CertRep SUCCESS without content")
            inner = open_envelope(msg.envelope, self.key, self.signer_cert)
            found_certs, found_crls = parse_certs_only(inner)
            certs, crls = tuple(found_certs), tuple(found_crls)
        return CertRepResult(msg.pki_status, msg.fail_info, certs, crls, msg.transaction_id)

    def issued_certificate(self, result: CertRepResult) -> x509.Certificate:
        """The certificate in a SUCCESS CertRep that certifies this client's key.

        Raises:
            PkiError: no such certificate.
        """
        mine = self.key.public_key().public_numbers()
        for cert in result.certificates:
            public = cert.public_key()
            if isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == mine:
                return cert
        raise PkiError("CertRep holds no certificate for our key")
