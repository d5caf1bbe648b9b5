"""SCEP pkiMessage codec (RFC 8894 section 3): sign, verify, envelope, open. Bytes in, bytes out.

A pkiMessage is a CMS SignedData whose signer carries the SCEP authenticated attributes
(messageType, pkiStatus, failInfo, transactionID, senderNonce, recipientNonce) and whose
encapsulated content, when present, is a pkcsPKIEnvelope: a CMS EnvelopedData encrypted to
the recipient's certificate. The SignerInfo's signature algorithm is plain ``rsaEncryption``
(1.2.840.113549.1.1.1) because strongSwan rejects anything else; the hash is named by the
digest algorithm (SHA-1, SHA-2; MD5 accepted but never chosen). Envelopes use DES, 3DES or
AES-128/256-CBC with the content key wrapped by RSA PKCS#1 v1.5.

Errors say whose fault it was: :class:`~pkilab.errors.ScepError` with ``fail_info`` set is
a peer message that can be answered with a SCEP failure; with ``fail_info`` None the bytes
are not a pkiMessage at all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Literal, NamedTuple

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pkilab.errors import ScepError
from pkilab.pki import der
from pkilab.protocols.scep import asn1 as scep_asn1

Cipher_ = Literal["des", "3des", "aes128", "aes256"]
Digest = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]

BAD_MESSAGE_CHECK = "badMessageCheck"


class MessageType(IntEnum):
    """SCEP messageType values."""

    CERT_REP = 3
    RENEWAL_REQ = 17
    PKCS_REQ = 19
    CERT_POLL = 20
    GET_CERT = 21
    GET_CRL = 22


class PkiStatus(IntEnum):
    """SCEP pkiStatus values."""

    SUCCESS = 0
    FAILURE = 2
    PENDING = 3


class FailInfo(IntEnum):
    """SCEP failInfo values."""

    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4

    @property
    def rfc_name(self) -> str:
        """``badAlg``, ``badMessageCheck``, ``badRequest``, ``badTime`` or ``badCertId``."""
        return _FAIL_NAMES[self.value]

    @classmethod
    def from_rfc_name(cls, name: str) -> FailInfo:
        """The failInfo RFC 8894 calls ``name`` (``badRequest`` …).

        Raises:
            ValueError: an unknown name.
        """
        return cls(_FAIL_NAMES.index(name))


_FAIL_NAMES = ("badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId")


# name -> (asn1crypto name, OID, key size)
_CIPHERS: dict[str, tuple[str, str, int]] = {
    "des": ("des", "1.3.14.3.2.7", 8),
    "3des": ("tripledes_3key", "1.2.840.113549.3.7", 24),
    "aes128": ("aes128_cbc", "2.16.840.1.101.3.4.1.2", 16),
    "aes256": ("aes256_cbc", "2.16.840.1.101.3.4.1.42", 32),
}
_CIPHER_BY_ASN1 = {asn1_name: name for name, (asn1_name, _, _) in _CIPHERS.items()}
_DIGESTS: dict[str, tuple[type[hashes.HashAlgorithm], str]] = {
    "md5": (hashes.MD5, "1.2.840.113549.2.5"),
    "sha1": (hashes.SHA1, "1.3.14.3.2.26"),
    "sha224": (hashes.SHA224, "2.16.840.1.101.3.4.2.4"),
    "sha256": (hashes.SHA256, "2.16.840.1.101.3.4.2.1"),
    "sha384": (hashes.SHA384, "2.16.840.1.101.3.4.2.2"),
    "sha512": (hashes.SHA512, "2.16.840.1.101.3.4.2.3"),
}
OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_OID_DATA_DER = der.oid(OID_DATA)
_OID_ENVELOPED_DATA_DER = der.oid(OID_ENVELOPED_DATA)
_INTEGER_0 = der.integer(0)
_RSA_ENCRYPTION_ALGORITHM = der.algorithm(OID_RSA_ENCRYPTION)


@dataclass(frozen=True)
class PkiMessage:
    """A parsed pkiMessage.

    Attributes:
        message_type: the messageType.
        transaction_id: the transactionID.
        sender_nonce: the senderNonce, if any.
        recipient_nonce: the recipientNonce, if any.
        pki_status: the pkiStatus (CertRep only).
        fail_info: the failInfo (CertRep FAILURE only).
        signer_cert: the certificate that signed the message (from the SignedData).
        digest: the digest algorithm name.
        signature_valid: whether the signature and the message digest check out.
        envelope: the encapsulated pkcsPKIEnvelope bytes, or None.
        signer_sid: the SignerInfo's IssuerAndSerialNumber DER, once the reader has matched it to
            ``signer_cert`` (a reply's envelope names its recipient with it).
    """

    message_type: MessageType
    transaction_id: str
    sender_nonce: bytes | None
    recipient_nonce: bytes | None
    pki_status: PkiStatus | None
    fail_info: FailInfo | None
    signer_cert: x509.Certificate
    digest: str
    signature_valid: bool
    envelope: bytes | None
    signer_sid: bytes | None = field(default=None, compare=False)  # a hint, not content


_PKCS1 = asym_padding.PKCS1v15()


def new_nonce() -> bytes:
    """A fresh 16-byte nonce."""
    return os.urandom(16)


def _block_cipher(name: str, key: bytes) -> BlockCipherAlgorithm:
    if name == "des":
        return TripleDES(key * 3)
    if name == "3des":
        return TripleDES(key)
    return algorithms.AES(key)


def _sym_crypt(name: str, key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(_block_cipher(name, key), modes.CBC(iv))
    block = 8 if name in ("des", "3des") else 16
    # PKCS#7 padding by hand: the padding objects cost more than the 3DES of a request.
    if encrypt:
        pad = block - len(data) % block
        enc = cipher.encryptor()
        return enc.update(data + bytes((pad,)) * pad) + enc.finalize()
    if not data or len(data) % block:
        raise ValueError("ciphertext is not a whole number of blocks")
    dec = cipher.decryptor()
    plain = dec.update(data) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= block or plain[-pad:] != bytes((pad,)) * pad:
        raise ValueError("bad padding")
    return plain[:-pad]


class CertIds(NamedTuple):
    """What designates a certificate in CMS, read from its own DER (no Name objects are built).

    Attributes:
        serial: the serial number.
        issuer: the issuer Name, DER as the certificate carries it.
        subject: the subject Name, DER as the certificate carries it.
    """

    serial: int
    issuer: bytes
    subject: bytes


@lru_cache(maxsize=64)
def cert_ids(cert: x509.Certificate) -> CertIds:
    """Serial, issuer and subject of ``cert`` (cached: the CA's are needed for every message)."""
    tbs = cert.tbs_certificate_bytes
    fields = der.children(tbs, der.read(tbs))
    at = 1 if fields[0].tag == 0xA0 else 0  # [0] version is absent from v1 certificates
    issuer, subject = fields[at + 2], fields[at + 4]
    return CertIds(cert.serial_number, tbs[issuer.head : issuer.end], tbs[subject.head : subject.end])


@lru_cache(maxsize=64)
def cert_public_key(cert: x509.Certificate) -> CertificatePublicKeyTypes:
    """The public key of ``cert``, one object per certificate.

    A key object sets up its modulus arithmetic on first use; a request's signer key verifies
    the request and then receives the reply's envelope, so reusing the object saves that work.
    """
    return cert.public_key()


@lru_cache(maxsize=64)
def cert_der(cert: x509.Certificate) -> bytes:
    """The DER of a certificate (cached: the CA's goes into every reply)."""
    return cert.public_bytes(Encoding.DER)


@lru_cache(maxsize=64)
def _issuer_and_serial(cert: x509.Certificate) -> bytes:
    ids = cert_ids(cert)
    return der.issuer_and_serial(ids.issuer, ids.serial)


def envelope(
    data: bytes, recipient: x509.Certificate, cipher: Cipher_ = "3des", recipient_sid: bytes | None = None
) -> bytes:
    """Encrypt ``data`` to ``recipient`` as a CMS EnvelopedData ContentInfo (a pkcsPKIEnvelope).

    ``recipient_sid``: the recipient's IssuerAndSerialNumber DER when the caller has it (a
    request's signer identifier); otherwise it is read from the certificate.

    Raises:
        ScepError: an unknown cipher or a recipient without an RSA key.
    """
    if cipher not in _CIPHERS:
        raise ScepError(f"unsupported SCEP cipher {cipher!r}")
    public_key = cert_public_key(recipient)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ScepError("SCEP recipient certificate has no RSA key")
    _, cipher_oid, key_size = _CIPHERS[cipher]
    content_key = os.urandom(key_size)
    iv = os.urandom(8 if cipher in ("des", "3des") else 16)
    ktri = der.sequence(
        _INTEGER_0,
        recipient_sid or _issuer_and_serial(recipient),
        _RSA_ENCRYPTION_ALGORITHM,
        der.octet_string(public_key.encrypt(content_key, _PKCS1)),
    )
    encrypted_content_info = der.sequence(
        _OID_DATA_DER,
        der.algorithm(cipher_oid, der.octet_string(iv)),
        der.tlv(0x80, _sym_crypt(cipher, content_key, iv, data, encrypt=True)),
    )
    enveloped = der.sequence(_INTEGER_0, der.tlv(0x31, ktri), encrypted_content_info)  # one recipient
    return der.sequence(_OID_ENVELOPED_DATA_DER, der.explicit(0, enveloped))


def _attr(type_oid: str, value: bytes) -> bytes:
    # Attribute ::= SEQUENCE { type, SET OF value } with one value: no sorting needed.
    return der.tlv(0x30, der.oid(type_oid) + der.tlv(0x31, value))


_CONTENT_TYPE_DATA = _attr(OID_CONTENT_TYPE, der.oid(OID_DATA))


def sign_message(
    content: bytes | None,
    signer_cert: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    message_type: MessageType,
    transaction_id: str,
    *,
    sender_nonce: bytes | None = None,
    recipient_nonce: bytes | None = None,
    pki_status: PkiStatus | None = None,
    fail_info: FailInfo | None = None,
    digest: Digest = "sha256",
) -> bytes:
    """Sign a pkiMessage.

    Args:
        content: the pkcsPKIEnvelope, or None (CertRep PENDING/FAILURE).
        signer_cert: the signer's certificate (included in the SignedData).
        signer_key: the signer's key.
        message_type: messageType.
        transaction_id: transactionID.
        sender_nonce: senderNonce.
        recipient_nonce: recipientNonce (a CertRep echoes the request's senderNonce).
        pki_status: pkiStatus (CertRep).
        fail_info: failInfo (CertRep FAILURE).
        digest: digest algorithm.

    Returns:
        The DER ContentInfo.

    Raises:
        ScepError: an unknown digest.
    """
    if digest not in _DIGESTS:
        raise ScepError(f"unsupported SCEP digest {digest!r}")
    digest_oid = _DIGESTS[digest][1]
    strings = {scep_asn1.MESSAGE_TYPE: str(int(message_type)), scep_asn1.TRANSACTION_ID: transaction_id}
    if pki_status is not None:
        strings[scep_asn1.PKI_STATUS] = str(int(pki_status))
    if fail_info is not None:
        strings[scep_asn1.FAIL_INFO] = str(int(fail_info))
    octets = {OID_MESSAGE_DIGEST: hashlib.new(digest, content or b"").digest()}
    if sender_nonce is not None:
        octets[scep_asn1.SENDER_NONCE] = sender_nonce
    if recipient_nonce is not None:
        octets[scep_asn1.RECIPIENT_NONCE] = recipient_nonce
    signed_attrs = der.set_of(
        [
            _CONTENT_TYPE_DATA,
            *(_attr(oid, der.printable_string(text)) for oid, text in strings.items()),
            *(_attr(oid, der.octet_string(data)) for oid, data in octets.items()),
        ]
    )
    # The signature covers the attributes DER-encoded as a SET (tag 0x31), not as the [0] field.
    signature = signer_key.sign(signed_attrs, _PKCS1, _hash(digest))
    return _signed_data(content, signer_cert, digest_oid, signed_attrs, signature)


@lru_cache(maxsize=8)
def _hash(digest: str) -> hashes.HashAlgorithm:
    return _DIGESTS[digest][0]()


@lru_cache(maxsize=32)
def _signed_data_parts(signer_cert: x509.Certificate, digest_oid: str) -> tuple[bytes, bytes, bytes]:
    # What a signer's messages share: the SignerInfo's head (version, sid, digestAlgorithm), the
    # SignedData's head (version, digestAlgorithms) and its certificates field.
    digest_algorithm = der.algorithm(digest_oid, None)
    return (
        der.integer(1) + _issuer_and_serial(signer_cert) + digest_algorithm,
        der.integer(1) + der.set_of([digest_algorithm]),
        der.implicit_constructed(0, cert_der(signer_cert)),
    )


_ENCAP_NO_CONTENT = der.sequence(_OID_DATA_DER)


def _signed_data(
    content: bytes | None, signer_cert: x509.Certificate, digest_oid: str, signed_attrs: bytes, signature: bytes
) -> bytes:
    signer_head, signed_head, certificates = _signed_data_parts(signer_cert, digest_oid)
    signer_info = der.tlv(
        0x30,
        b"".join(
            (
                signer_head,
                b"\xa0" + signed_attrs[1:],  # the same SET, tagged [0] IMPLICIT
                _RSA_ENCRYPTION_ALGORITHM,
                der.octet_string(signature),
            )
        ),
    )
    if content is None:
        encap = _ENCAP_NO_CONTENT
    else:
        encap = der.sequence(der.oid(OID_DATA), der.explicit(0, der.octet_string(content)))
    signed = der.tlv(0x30, b"".join((signed_head, encap, certificates, der.tlv(0x31, signer_info))))
    return der.sequence(der.oid(OID_SIGNED_DATA), der.explicit(0, signed))


def certs_only(certificates: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList] = ()) -> bytes:
    """A degenerate certs-only SignedData (no signers) carrying certificates and CRLs."""
    parts = [der.integer(1), der.set_of([]), der.sequence(der.oid(OID_DATA))]
    # certificates [0] and crls [1] are IMPLICIT SET OF: DER-sorted encodings.
    if certificates:
        cert_ders = sorted(c.public_bytes(Encoding.DER) for c in certificates)
        parts.append(der.implicit_constructed(0, b"".join(cert_ders)))
    if crls:
        crl_ders = sorted(c.public_bytes(Encoding.DER) for c in crls)
        parts.append(der.implicit_constructed(1, b"".join(crl_ders)))
    parts.append(der.set_of([]))
    return der.sequence(der.oid(OID_SIGNED_DATA), der.explicit(0, der.sequence(*parts)))


def transaction_id_for(public_key: rsa.RSAPublicKey) -> str:
    """A transactionID derived from the requester's key (RFC 8894: a hash of the public key)."""
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest().upper()
