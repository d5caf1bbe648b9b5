"""Sans-IO SCEP server core: HTTP request in, HTTP response out.

The certificate server (the lead's simulated IOS CA) implements :class:`ScepBackend`; an HTTP
adapter hands each request to :meth:`ScepServer.handle` and writes back the
:class:`Response`. Nothing here touches sockets or clocks, and nothing raises: bad input
becomes the SCEP failure or HTTP error below, so the server keeps serving.

Requests at ``/cgi-bin/pkiclient.exe`` (IOS's CGI path):

* ``operation=GetCACaps`` → 200 ``text/plain``, one capability per line. What this core
  advertises by default (:data:`IOS_CAPABILITIES`): ``POSTPKIOperation``, ``Renewal``,
  ``SHA-256``, ``SHA-1``, ``DES3``. This is our reading of an IOS 15 certificate server, not a
  capture from one; AES envelopes are accepted whether or not ``AES`` is advertised (strongSwan
  5.9 refuses AES from some capability lists, so ``AES`` is left out).
* ``operation=GetCACert`` → 200 ``application/x-x509-ca-cert``, the CA certificate in DER.
* ``operation=PKIOperation`` (GET with base64 ``message=``, or POST with the DER body) → 200
  ``application/x-pki-message``, a CertRep signed by the CA.
* ``operation=GetCRL`` as a plain GET (the CDP URL IOS publishes) → 200
  ``application/pkix-crl``, the CRL in DER; 404 when the server has no CRL yet.

Failures, in the order they are checked:

* another path → 404; a method other than GET/POST → 405; a missing or unknown operation →
  400; a PKIOperation whose bytes are not a signed pkiMessage (truncated, garbage, base64
  that does not decode) → 400, since without a transactionID there is nothing to answer in
  SCEP.
* a pkiMessage whose signature or digest does not verify, or whose envelope is not
  addressed to the CA or does not decrypt → CertRep FAILURE ``badMessageCheck``; an
  envelope cipher the CA does not know → ``badAlg``; content that is not a PKCS#10 request
  (or a request whose own signature fails) → ``badRequest``/``badMessageCheck``; a message
  type the CA does not serve → ``badRequest``.
* the backend decides the rest (``Rejected(fail_info)``); a backend that raises a pkilab
  error gives ``badRequest``; anything else → HTTP 500 with no details.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.errors import PkiError, PkilabError, ScepError
from pkilab.pki import der
from pkilab.pki.csr import CsrInfo, load_csr
from pkilab.pki.fingerprints import request_fingerprint
from pkilab.pki.names import name_from_der
from pkilab.protocols.scep import asn1 as scep_asn1
from pkilab.protocols.scep.message import (
    Cipher_,
    Digest,
    FailInfo,
    MessageType,
    PkiMessage,
    PkiStatus,
    cert_der,
    cert_ids,
    cert_public_key,
    certs_only,
    envelope,
    new_nonce,
    sign_message,
)
from pkilab.protocols.scep.reader import open_envelope_with_cipher, parse_message

CGI_PATH = "/cgi-bin/pkiclient.exe"
IOS_CAPABILITIES = ("POSTPKIOperation", "Renewal", "SHA-512", "SHA-384", "SHA-256", "SHA-1", "DES3", "AES")
_REPLY_DIGESTS: dict[str, Digest] = {
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}

CT_TEXT = "text/plain"
CT_CA_CERT = "application/x-x509-ca-cert"
CT_PKI_MESSAGE = "application/x-pki-message"
CT_CRL = "application/pkix-crl"


@dataclass(frozen=True)
class EnrollmentRequest:
    """A decrypted, verified enrollment (PKCSReq or RenewalReq) for the backend to decide on.

    Attributes:
        transaction_id: the SCEP transactionID (polls come back with it).
        csr: the certificate request.
        fingerprint: what ``info requests`` shows (MD5 of the PKCS#10 DER, 32 hex digits).
        signer_cert: the certificate that signed the pkiMessage.
        renewal: the message was signed by a certificate this CA issued.
    """

    transaction_id: str
    csr: CsrInfo
    fingerprint: str
    signer_cert: x509.Certificate
    renewal: bool


@dataclass(frozen=True)
class Granted:
    """The request is granted with this certificate."""

    certificate: x509.Certificate


@dataclass(frozen=True)
class Pending:
    """The request waits for ``crypto pki server NAME grant``."""


@dataclass(frozen=True)
class Rejected:
    """The request is refused with this failInfo."""

    fail_info: FailInfo = FailInfo.BAD_REQUEST


Decision = Granted | Pending | Rejected


class ScepBackend(Protocol):
    """What the certificate server provides to the SCEP core."""

    def ca_certificate(self) -> x509.Certificate:
        """The CA certificate (GetCACert; the signer of every CertRep)."""
        ...

    def ca_key(self) -> rsa.RSAPrivateKey:
        """The CA key pair (decrypts requests, signs replies)."""
        ...

    def submit(self, request: EnrollmentRequest) -> Decision:
        """Decide on a new enrollment (grant now, hold as pending, or reject)."""
        ...

    def poll(self, transaction_id: str, subject: x509.Name) -> Decision:
        """The state of an earlier request (GetCertInitial); unknown → ``Rejected(BAD_CERT_ID)``."""
        ...

    def crl(self) -> x509.CertificateRevocationList | None:
        """The current CRL, or None before the first one is made."""
        ...


@dataclass(frozen=True)
class Response:
    """An HTTP response for the adapter to send.

    Attributes:
        status: HTTP status code.
        content_type: Content-Type header.
        body: the body.
        detail: why, for the router's log (never sent).
    """

    status: int
    content_type: str
    body: bytes
    detail: str = ""


@dataclass(frozen=True)
class ServerOptions:
    """SCEP server settings.

    Attributes:
        path: the CGI path served.
        capabilities: the GetCACaps answer, one entry per line.
    """

    path: str = CGI_PATH
    capabilities: tuple[str, ...] = IOS_CAPABILITIES


def _error(status: int, reason: str, detail: str) -> Response:
    return Response(status, CT_TEXT, f"{status} {reason}\n".encode(), detail)


def decode_get_message(message: str) -> bytes:
    """The DER of a PKIOperation ``message=`` value (base64, possibly form-decoded).

    A query decoder turns an unescaped ``+`` into a space; it is turned back here.

    Raises:
        ScepError: not base64.
    """
    text = "".join(message.replace(" ", "+").split())
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ScepError(f"message is not base64: {exc}") from exc


class ScepServer:
    """SCEP over HTTP, sans-IO. One instance per certificate server."""

    def __init__(self, backend: ScepBackend, options: ServerOptions | None = None):
        self.backend = backend
        self.options = options or ServerOptions()

    def handle(self, method: str, path: str, query: Mapping[str, str], body: bytes) -> Response:
        """Answer one HTTP request (never raises).

        Args:
            method: ``GET`` or ``POST``.
            path: the path without the query string.
            query: the decoded query parameters.
            body: the request body (POST).

        Returns:
            The response to send.
        """
        try:
            return self._dispatch(method.upper(), path, query, body)
        except Exception as exc:  # the server must keep serving whatever a backend does
            return _error(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")

    def _dispatch(self, method: str, path: str, query: Mapping[str, str], body: bytes) -> Response:
        if path.rstrip("/") != self.options.path:
            return _error(404, "Not Found", f"no SCEP service at {path}")
        if method not in ("GET", "POST"):
            return _error(405, "Method Not Allowed", f"method {method}")
        operation = query.get("operation", "")
        if operation == "GetCACaps":
            text = "".join(cap + "\n" for cap in self.options.capabilities)
            return Response(200, CT_TEXT, text.encode("ascii"), "GetCACaps")
        if operation == "GetCACert":
            return Response(200, CT_CA_CERT, cert_der(self.backend.ca_certificate()), "GetCACert")
        if operation == "GetCRL":
            crl = self.backend.crl()
            if crl is None:
                return _error(404, "Not Found", "no CRL yet")
            return Response(200, CT_CRL, crl.public_bytes(Encoding.DER), "GetCRL")
        if operation == "PKIOperation":
            if method == "POST":
                der = body
            else:
                try:
                    der = decode_get_message(query.get("message", ""))
                except ScepError as exc:
                    return _error(400, "Bad Request", str(exc))
            return self.pki_operation(der)
        return _error(400, "Bad Request", f"unknown operation {operation!r}")

    def pki_operation(self, der: bytes) -> Response:
        """Answer a pkiMessage with a CertRep (or 400 when it cannot be read at all)."""
        try:
            msg = parse_message(der)
        except ScepError as exc:
            return _error(400, "Bad Request", f"PKIOperation: {exc}")
        if not msg.signature_valid:
            return self._failure(msg, FailInfo.BAD_MESSAGE_CHECK, "pkiMessage signature does not verify")
        try:
            if msg.message_type in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
                return self._enroll(msg)
            if msg.message_type == MessageType.CERT_POLL:
                return self._poll(msg)
            if msg.message_type == MessageType.GET_CRL:
                return self._get_crl(msg)
        except ScepError as exc:
            fail = FailInfo.from_rfc_name(exc.fail_info) if exc.fail_info else FailInfo.BAD_REQUEST
            return self._failure(msg, fail, str(exc))
        except PkilabError as exc:
            return self._failure(msg, FailInfo.BAD_REQUEST, f"backend: {exc}")
        return self._failure(msg, FailInfo.BAD_REQUEST, f"message type {msg.message_type.name} not served")

    def _open(self, msg: PkiMessage) -> tuple[bytes, Cipher_]:
        if msg.envelope is None:
            raise ScepError("pkiMessage has no content", fail_info="badRequest")
        return open_envelope_with_cipher(msg.envelope, self.backend.ca_key(), self.backend.ca_certificate())

    def _enroll(self, msg: PkiMessage) -> Response:
        content, cipher = self._open(msg)
        signer_key = cert_public_key(msg.signer_cert)
        try:
            csr = load_csr(content, signer_key if isinstance(signer_key, rsa.RSAPublicKey) else None)
        except PkiError as exc:
            raise ScepError(str(exc), fail_info="badRequest") from exc
        if not csr.signature_valid:
            raise ScepError("certificate request signature does not verify", fail_info="badMessageCheck")
        renewal = self._issued_by_us(msg.signer_cert, msg.signer_sid)
        if not renewal and signer_key != csr.public_key:
            raise ScepError("pkiMessage signer key is not the requested key", fail_info="badMessageCheck")
        request = EnrollmentRequest(
            transaction_id=msg.transaction_id,
            csr=csr,
            fingerprint=request_fingerprint(csr.der),
            signer_cert=msg.signer_cert,
            renewal=renewal,
        )
        return self._decision(msg, self.backend.submit(request), cipher)

    def _issued_by_us(self, cert: x509.Certificate, sid: bytes | None = None) -> bool:
        # ``sid``: the certificate's IssuerAndSerialNumber DER when the reader had it (saves a parse).
        ca = self.backend.ca_certificate()
        ca_ids = cert_ids(ca)
        if sid is not None:
            issuer = der.read(sid, der.read(sid).start)
            if sid[issuer.head : issuer.end] != ca_ids.subject:
                return False
        ids = cert_ids(cert)
        if ids.issuer != ca_ids.subject or ids.subject == ca_ids.subject:
            return False
        try:
            cert.verify_directly_issued_by(ca)
        except Exception:  # InvalidSignature, ValueError, TypeError: all mean "not ours"
            return False
        return True

    def _poll(self, msg: PkiMessage) -> Response:
        content, cipher = self._open(msg)
        try:
            ias = scep_asn1.IssuerAndSubject.load(content, strict=True)
            subject = name_from_der(ias["subject"].dump())
        except (ValueError, TypeError, KeyError) as exc:
            message = f"GetCertInitial content is not IssuerAndSubject: {exc}"
            raise ScepError(message, fail_info="badRequest") from exc
        return self._decision(msg, self.backend.poll(msg.transaction_id, subject), cipher)

    def _get_crl(self, msg: PkiMessage) -> Response:
        _, cipher = self._open(msg)
        crl = self.backend.crl()
        if crl is None:
            raise ScepError("no CRL has been issued", fail_info="badCertId")
        # Reply with the client's cipher: it is one the client can decrypt.
        body = envelope(certs_only([], [crl]), msg.signer_cert, cipher)
        return self._reply(msg, PkiStatus.SUCCESS, None, body, "GetCRL")

    def _decision(self, msg: PkiMessage, decision: Decision, cipher: Cipher_) -> Response:
        if isinstance(decision, Granted):
            body = envelope(certs_only([decision.certificate]), msg.signer_cert, cipher, msg.signer_sid)
            return self._reply(msg, PkiStatus.SUCCESS, None, body, "granted")
        if isinstance(decision, Pending):
            return self._reply(msg, PkiStatus.PENDING, None, None, "pending")
        return self._failure(msg, decision.fail_info, "rejected")

    def _failure(self, msg: PkiMessage, fail: FailInfo, detail: str) -> Response:
        return self._reply(msg, PkiStatus.FAILURE, fail, None, f"{fail.rfc_name}: {detail}")

    def _reply(
        self, msg: PkiMessage, status: PkiStatus, fail: FailInfo | None, content: bytes | None, detail: str
    ) -> Response:
        # Answer with the client's digest, except MD5 which is never used to sign.
        digest: Digest = _REPLY_DIGESTS.get(msg.digest, "sha256")
        body = sign_message(
            content,
            self.backend.ca_certificate(),
            self.backend.ca_key(),
            MessageType.CERT_REP,
            msg.transaction_id,
            sender_nonce=new_nonce(),
            recipient_nonce=msg.sender_nonce,
            pki_status=status,
            fail_info=fail,
            digest=digest,
        )
        return Response(200, CT_PKI_MESSAGE, body, detail)
