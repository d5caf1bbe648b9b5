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
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pkilab.errors import ScepError
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


# asn1crypto algorithm name, key size, block size
_CIPHERS: dict[str, tuple[str, int]] = {
    "des": ("des", 8),
    "3des": ("tripledes_3key", 24),
    "aes128": ("aes128_cbc", 16),
    "aes256": ("aes256_cbc", 32),
}
_CIPHER_BY_ASN1 = {asn1_name: name for name, (asn1_name, _) in _CIPHERS.items()}
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


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
    block_bits = 64 if name in ("des", "3des") else 128
    if encrypt:
        padder = padding.PKCS7(block_bits).padder()
        enc = cipher.encryptor()
        return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()
    dec = cipher.decryptor()
    plain = dec.update(data) + dec.finalize()
    unpadder = padding.PKCS7(block_bits).unpadder()
    return unpadder.update(plain) + unpadder.finalize()


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _issuer_and_serial(cert: x509.Certificate) -> cms.IssuerAndSerialNumber:
    parsed = _asn1_cert(cert)
    return cms.IssuerAndSerialNumber({"issuer": parsed.issuer, "serial_number": parsed.serial_number})


def envelope(data: bytes, recipient: x509.Certificate, cipher: Cipher_ = "3des") -> bytes:
    """Encrypt ``data`` to ``recipient`` as a CMS EnvelopedData ContentInfo (a pkcsPKIEnvelope).

    Raises:
        ScepError: an unknown cipher or a recipient without an RSA key.
    """
    if cipher not in _CIPHERS:
        raise ScepError(f"unsupported SCEP cipher {cipher!r}")
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ScepError("SCEP recipient certificate has no RSA key")
    asn1_name, key_size = _CIPHERS[cipher]
    content_key = os.urandom(key_size)
    iv = os.urandom(8 if cipher in ("des", "3des") else 16)
    ktri = cms.KeyTransRecipientInfo({
        "version": "v0",
        "rid": cms.RecipientIdentifier({"issuer_and_serial_number": _issuer_and_serial(recipient)}),
        "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
        "encrypted_key": public_key.encrypt(content_key, asym_padding.PKCS1v15()),
    })
    enveloped = cms.EnvelopedData({
        "version": "v0",
        "recipient_infos": [cms.RecipientInfo(name="ktri", value=ktri)],
        "encrypted_content_info": {
            "content_type": "data",
            "content_encryption_algorithm": {"algorithm": asn1_name, "parameters": iv},
            "encrypted_content": _sym_crypt(cipher, content_key, iv, data, encrypt=True),
        },
    })
    return bytes(cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump())


def envelope_cipher(der: bytes) -> Cipher_:
    """The content cipher of a pkcsPKIEnvelope (so a reply can use the same one).

    Raises:
        ScepError: not an EnvelopedData, or a cipher this module does not know.
    """
    enveloped = _load_enveloped(der)
    name = enveloped["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].native
    cipher = _CIPHER_BY_ASN1.get(name)
    if cipher is None:
        raise ScepError(f"unsupported envelope cipher {name}", fail_info="badAlg")
    return cipher  # type: ignore[return-value]


def _load_enveloped(der: bytes) -> cms.EnvelopedData:
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "enveloped_data":
            raise ValueError(f"content type {info['content_type'].native}")
        enveloped = info["content"]
        enveloped.native  # noqa: B018 - force a full parse so errors surface here
    except (ValueError, TypeError, KeyError) as exc:
        message = f"pkcsPKIEnvelope is not a CMS EnvelopedData: {exc}"
        raise ScepError(message, fail_info=BAD_MESSAGE_CHECK) from exc
    return enveloped


def _recipient_matches(ktri: cms.KeyTransRecipientInfo, cert: x509.Certificate) -> bool:
    rid = ktri["rid"]
    if rid.name != "issuer_and_serial_number":
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        return bool(rid.chosen.native == ski)
    wanted = _issuer_and_serial(cert)
    return bool(
        rid.chosen["serial_number"].native == wanted["serial_number"].native
        and rid.chosen["issuer"].dump() == wanted["issuer"].dump()
    )


def open_envelope(der: bytes, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    """Decrypt a pkcsPKIEnvelope addressed to ``cert`` with ``key``.

    Raises:
        ScepError: (badMessageCheck) not an envelope, not addressed to ``cert``, or does not
            decrypt; (badAlg) a cipher this module does not know.
    """
    enveloped = _load_enveloped(der)
    ktri = None
    for info in enveloped["recipient_infos"]:
        if info.name == "ktri" and _recipient_matches(info.chosen, cert):
            ktri = info.chosen
            break
    if ktri is None:
        raise ScepError("pkcsPKIEnvelope is not addressed to this certificate", fail_info=BAD_MESSAGE_CHECK)
    eci = enveloped["encrypted_content_info"]
    cipher = envelope_cipher(der)
    key_size = _CIPHERS[cipher][1]
    iv = eci["content_encryption_algorithm"]["parameters"].native
    try:
        # OpenSSL's implicit rejection returns random bytes for a bad PKCS#1 block, so the key
        # length and the CBC padding are what catch a wrong key.
        content_key = key.decrypt(ktri["encrypted_key"].native, asym_padding.PKCS1v15())
        if len(content_key) != key_size or not isinstance(iv, bytes):
            raise ValueError("content key or IV has the wrong size")
        return _sym_crypt(cipher, content_key, iv, eci["encrypted_content"].native or b"", encrypt=False)
    except ValueError as exc:
        raise ScepError(f"pkcsPKIEnvelope does not decrypt: {exc}", fail_info=BAD_MESSAGE_CHECK) from exc


def _attr(oid: str, values: list[object]) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": oid, "values": values})


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
    algorithm = _DIGESTS[digest]()
    hasher = hashes.Hash(algorithm)
    hasher.update(content or b"")
    attrs = [
        _attr("1.2.840.113549.1.9.3", ["data"]),
        _attr("1.2.840.113549.1.9.4", [hasher.finalize()]),
        _attr(scep_asn1.MESSAGE_TYPE, [str(int(message_type))]),
        _attr(scep_asn1.TRANSACTION_ID, [transaction_id]),
    ]
    if pki_status is not None:
        attrs.append(_attr(scep_asn1.PKI_STATUS, [str(int(pki_status))]))
    if fail_info is not None:
        attrs.append(_attr(scep_asn1.FAIL_INFO, [str(int(fail_info))]))
    if sender_nonce is not None:
        attrs.append(_attr(scep_asn1.SENDER_NONCE, [sender_nonce]))
    if recipient_nonce is not None:
        attrs.append(_attr(scep_asn1.RECIPIENT_NONCE, [recipient_nonce]))
    signed_attrs = cms.CMSAttributes(attrs)
    # The signature covers the attributes DER-encoded as a SET (tag 0x31), not as the [0] field.
    signature = signer_key.sign(signed_attrs.dump(), asym_padding.PKCS1v15(), algorithm)
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": _issuer_and_serial(signer_cert)}),
        "digest_algorithm": {"algorithm": digest},
        "signed_attrs": signed_attrs,
        "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
        "signature": signature,
    })
    encap: dict[str, object] = {"content_type": "data"}
    if content is not None:
        encap["content"] = content
    signed = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [{"algorithm": digest}],
        "encap_content_info": encap,
        "certificates": [_asn1_cert(signer_cert)],
        "signer_infos": [signer_info],
    })
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def _find_signer_cert(signed: cms.SignedData, signer_info: cms.SignerInfo) -> x509.Certificate:
    sid = signer_info["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            if (
                cert.serial_number == sid.chosen["serial_number"].native
                and cert.issuer.dump() == sid.chosen["issuer"].dump()
            ):
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise ScepError("pkiMessage does not carry its signer's certificate", fail_info=BAD_MESSAGE_CHECK)


def _check_signature(signer_info: cms.SignerInfo, cert: x509.Certificate, content: bytes | None) -> bool:
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    algorithm_cls = _DIGESTS.get(digest_name)
    public_key = cert.public_key()
    if algorithm_cls is None or not isinstance(public_key, rsa.RSAPublicKey):
        return False
    attrs = signer_info["signed_attrs"]
    digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    hasher = hashes.Hash(algorithm_cls())
    hasher.update(content or b"")
    if digests != [hasher.finalize()]:
        return False
    to_verify = b"\x31" + attrs.dump()[1:]
    try:
        signature = signer_info["signature"].native
        public_key.verify(signature, to_verify, asym_padding.PKCS1v15(), algorithm_cls())
    except InvalidSignature:
        return False
    return True


def _scep_attrs(signer_info: cms.SignerInfo) -> dict[str, object]:
    found: dict[str, object] = {}
    for attr in signer_info["signed_attrs"]:
        name = attr["type"].native
        if name.startswith("scep_") and len(attr["values"]):
            found[name] = attr["values"][0].native
    return found


def _int_attr(attrs: dict[str, object], name: str) -> int | None:
    value = attrs.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip().isdigit():
        raise ScepError(f"SCEP attribute {name} is not a number: {value!r}", fail_info="badRequest")
    return int(value)


def _load_signed(der: bytes) -> tuple[cms.SignedData, cms.SignerInfo]:
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].native}")
        signed = info["content"]
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError(f"{len(signer_infos)} signers")
        signer_info = signer_infos[0]
        signer_info.native  # noqa: B018 - force a full parse so errors surface here
        signed["encap_content_info"].native  # noqa: B018
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ScepError(f"not a SCEP pkiMessage: {exc}") from exc
    return signed, signer_info


def parse_message(der: bytes) -> PkiMessage:
    """Parse a pkiMessage and check its signature (the result says whether it holds).

    Raises:
        ScepError: (fail_info None) not a SignedData with one signer and SCEP attributes;
            (badMessageCheck) no signer certificate; (badRequest) bad attribute values.
    """
    signed, signer_info = _load_signed(der)
    attrs = _scep_attrs(signer_info)
    transaction_id = attrs.get("scep_transaction_id")
    message_type = _int_attr(attrs, "scep_message_type")
    if not isinstance(transaction_id, str) or message_type is None:
        raise ScepError("pkiMessage lacks messageType or transactionID")
    try:
        kind = MessageType(message_type)
        status_value = _int_attr(attrs, "scep_pki_status")
        status = PkiStatus(status_value) if status_value is not None else None
        fail_value = _int_attr(attrs, "scep_fail_info")
        fail = FailInfo(fail_value) if fail_value is not None else None
    except ValueError as exc:
        raise ScepError(f"unknown SCEP attribute value: {exc}", fail_info="badRequest") from exc
    cert = _find_signer_cert(signed, signer_info)
    content = signed["encap_content_info"]["content"].native
    if content is not None and not isinstance(content, bytes):
        raise ScepError("pkiMessage content is not an OCTET STRING", fail_info="badRequest")
    sender = attrs.get("scep_sender_nonce")
    recipient = attrs.get("scep_recipient_nonce")
    return PkiMessage(
        message_type=kind,
        transaction_id=transaction_id,
        sender_nonce=sender if isinstance(sender, bytes) else None,
        recipient_nonce=recipient if isinstance(recipient, bytes) else None,
        pki_status=status,
        fail_info=fail,
        signer_cert=cert,
        digest=signer_info["digest_algorithm"]["algorithm"].native,
        signature_valid=_check_signature(signer_info, cert, content),
        envelope=content,
    )


def certs_only(
    certificates: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList] = ()
) -> bytes:
    """A degenerate certs-only SignedData (no signers) carrying certificates and CRLs."""
    signed: dict[str, object] = {
        "version": "v1",
        "digest_algorithms": [],
        "encap_content_info": {"content_type": "data"},
        "signer_infos": [],
    }
    if certificates:
        signed["certificates"] = [_asn1_cert(c) for c in certificates]
    if crls:
        signed["crls"] = [asn1_crl.CertificateList.load(c.public_bytes(Encoding.DER)) for c in crls]
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)}).dump())


def parse_certs_only(der: bytes) -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    """Certificates and CRLs out of a degenerate SignedData.

    Raises:
        ScepError: not a SignedData, or certificates/CRLs that do not load.
    """
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].native}")
        signed = info["content"]
        certs = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for choice in signed["certificates"] or []
            if choice.name == "certificate"
        ]
        crls = [
            x509.load_der_x509_crl(choice.chosen.dump())
            for choice in signed["crls"] or []
            if choice.name == "crl"
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ScepError(f"not a certs-only SignedData: {exc}") from exc
    return certs, crls


def transaction_id_for(public_key: rsa.RSAPublicKey) -> str:
    """A transactionID derived from the requester's key (RFC 8894: a hash of the public key)."""
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest().upper()
