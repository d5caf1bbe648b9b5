"""Reading SCEP messages: pkiMessages, pkcsPKIEnvelopes, certs-only SignedData.

Two readers produce the same results. The fast one walks plain DER with
:mod:`pkilab.pki.der` (what IOS, strongSwan and this package send); when the bytes
are not plain DER (BER indefinite lengths, constructed OCTET STRINGs, truncation, garbage) it
gives way to asn1crypto, which reads BER and gives the precise error.
"""

from __future__ import annotations

import hashlib
import re

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.errors import ScepError
from pkilab.pki import der
from pkilab.protocols.scep import asn1 as scep_asn1
from pkilab.protocols.scep.message import (
    _CIPHERS,
    _DIGESTS,
    BAD_MESSAGE_CHECK,
    OID_DATA,
    OID_ENVELOPED_DATA,
    OID_MESSAGE_DIGEST,
    OID_SIGNED_DATA,
    Cipher_,
    FailInfo,
    MessageType,
    PkiMessage,
    PkiStatus,
    _issuer_and_serial,
    _sym_crypt,
    cert_ids,
    cert_public_key,
)

_CIPHER_BY_ASN1: dict[str, Cipher_] = {asn1: name for name, (asn1, _, _) in _CIPHERS.items()}  # type: ignore[misc]
_CIPHER_BY_OID: dict[str, Cipher_] = {oid: name for name, (_, oid, _) in _CIPHERS.items()}  # type: ignore[misc]
_DIGEST_BY_OID = {oid: name for name, (_, oid) in _DIGESTS.items()}
_SCEP_ATTRS = {oid: name for oid, (name, _) in scep_asn1._NAMES.items()}
_NONCES = ("scep_sender_nonce", "scep_recipient_nonce")
_STRING_TAGS = (0x13, 0x0C, 0x16)  # PrintableString, and the UTF8/IA5 some clients use
NOT_ADDRESSED = "pkcsPKIEnvelope is not addressed to this certificate"
_PKCS1 = asym_padding.PKCS1v15()
_PRINTABLE_STRING = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")  # X.680 PrintableString, not empty


def _verify(
    cert: x509.Certificate, digest: str, digests: list[object], content: bytes | None, signed: bytes, signature: bytes
) -> bool:
    """Check the messageDigest attribute and the signature over the attribute SET."""
    algorithm_cls = _DIGESTS[digest][0] if digest in _DIGESTS else None
    try:
        public_key = cert_public_key(cert)
    except Exception:  # UnsupportedAlgorithm, ValueError: a key we cannot check with
        return False
    if algorithm_cls is None or not isinstance(public_key, rsa.RSAPublicKey):
        return False
    if digests != [hashlib.new(digest, content or b"").digest()]:
        return False
    try:
        public_key.verify(signature, signed, _PKCS1, algorithm_cls())
    except InvalidSignature:
        return False
    return True


def _assemble(
    attrs: dict[str, object],
    cert: x509.Certificate,
    digest: str,
    valid: bool,
    content: bytes | None,
    signer_sid: bytes | None = None,
) -> PkiMessage:
    transaction_id = attrs.get("scep_transaction_id")
    message_type = _int_attr(attrs, "scep_message_type")
    if not isinstance(transaction_id, str) or message_type is None:
        raise ScepError("pkiMessage lacks messageType or transactionID")
    if not _PRINTABLE_STRING.fullmatch(transaction_id):
        # A reply must carry it back as a PrintableString.
        raise ScepError(f"transactionID {transaction_id!r} is not a PrintableString")
    try:
        kind = MessageType(message_type)
        status_value = _int_attr(attrs, "scep_pki_status")
        status = PkiStatus(status_value) if status_value is not None else None
        fail_value = _int_attr(attrs, "scep_fail_info")
        fail = FailInfo(fail_value) if fail_value is not None else None
    except ValueError as exc:
        raise ScepError(f"unknown SCEP attribute value: {exc}", fail_info="badRequest") from exc
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
        digest=digest,
        signature_valid=valid,
        envelope=content,
        signer_sid=signer_sid,
    )


def parse_message(data: bytes) -> PkiMessage:
    """Parse a pkiMessage and check its signature (the result says whether it holds).

    Raises:
        ScepError: (fail_info None) not a SignedData with one signer and SCEP attributes;
            (badMessageCheck) no signer certificate; (badRequest) bad attribute values.
    """
    try:
        return _parse_message_der(data)
    except ScepError:
        raise
    except (ValueError, IndexError):
        pass
    try:
        return _parse_message_asn1(data)
    except ScepError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # asn1crypto parses lazily
        raise ScepError(f"not a SCEP pkiMessage: {exc}") from exc


def _matches(data: bytes, rid: der.Tlv, cert: x509.Certificate) -> bool:
    """Whether an IssuerAndSerialNumber or [0] SubjectKeyIdentifier designates ``cert``."""
    if rid.tag == 0x30:
        issuer, serial = der.children(data, rid)[:2]
        ids = cert_ids(cert)
        return der.decode_int(data, serial) == ids.serial and data[issuer.head : issuer.end] == ids.issuer
    if rid.tag == 0x80:
        try:
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            return False
        return data[rid.start : rid.end] == ski
    raise der.NotDer(f"unknown identifier tag {rid.tag:#04x}")


_ATTR_BY_OID_DER = {der.oid(oid): name for oid, name in _SCEP_ATTRS.items()}
_MESSAGE_DIGEST_DER = der.oid(OID_MESSAGE_DIGEST)


def _designates(data: bytes, rid: der.Tlv, cert: der.Tlv) -> bool:
    """Whether IssuerAndSerialNumber ``rid`` names the certificate at ``cert``, from the bytes alone.

    A cheap first look at the certificates of a SignedData before one is loaded; a certificate
    too broken to walk is not the signer's.
    """
    read = der.read
    try:
        first = read(data, read(data, cert.start).start)  # the TBSCertificate's first field
        serial = read(data, first.end) if first.tag == 0xA0 else first  # [0] version is absent from v1
        issuer = read(data, read(data, serial.end).end)  # after the signature algorithm
        rid_issuer = read(data, rid.start)
        rid_serial = read(data, rid_issuer.end)
    except der.NotDer:
        return False
    if issuer.end > cert.end or rid_serial.end > rid.end:
        return False
    return (
        data[rid_issuer.head : rid_issuer.end] == data[issuer.head : issuer.end]
        and data[rid_serial.start : rid_serial.end] == data[serial.start : serial.end]
    )


def _attribute(data: bytes, attr: der.Tlv) -> tuple[bytes, der.Tlv | None]:
    """The type (OID DER) and first value of an Attribute ::= SEQUENCE { type, values SET OF ANY }."""
    p, end = attr.start, attr.end
    # Every SCEP attribute is short: read its three headers in place (the general walk below
    # builds lists for the same answer).
    if attr.tag == 0x30 and end - p >= 4 and data[p] == 0x06 and data[p + 1] < 0x80:
        q = p + 2 + data[p + 1]
        if q + 2 <= end and data[q] == 0x31 and data[q + 1] < 0x80 and q + 2 + data[q + 1] == end:
            v = q + 2
            if v == end:
                return data[p:q], None
            if v + 2 <= end and data[v + 1] < 0x80 and v + 2 + data[v + 1] <= end and data[v] & 0x1F != 0x1F:
                return data[p:q], der.Tlv(data[v], v, v + 2, v + 2 + data[v + 1])
    parts = der.children(data, der.expect(attr, 0x30))
    if len(parts) != 2 or parts[0].tag != 0x06:
        raise der.NotDer("not an Attribute")
    values = der.children(data, der.expect(parts[1], 0x31))
    return data[parts[0].head : parts[0].end], values[0] if values else None


def _der_attrs(data: bytes, attrs_tlv: der.Tlv) -> tuple[dict[str, object], list[object]]:
    attrs: dict[str, object] = {}
    digests: list[object] = []
    for attr in der.children(data, attrs_tlv):
        # Only the first value of each attribute counts.
        type_der, value = _attribute(data, attr)
        if value is None:
            continue
        if type_der == _MESSAGE_DIGEST_DER:
            digests.append(data[der.expect(value, 0x04).start : value.end])
        name = _ATTR_BY_OID_DER.get(type_der)
        if name in _NONCES:
            attrs[name] = data[der.expect(value, 0x04).start : value.end]
        elif name is not None:
            if value.tag not in _STRING_TAGS:
                raise der.NotDer(f"{name} is not a string")
            attrs[name] = data[value.start : value.end].decode("ascii")
    return attrs, digests


def _parse_message_der(data: bytes) -> PkiMessage:
    top = der.expect(der.read(data), 0x30)
    info = der.children(data, top)
    if top.end != len(data) or len(info) != 2 or der.decode_oid(data, info[0]) != OID_SIGNED_DATA:
        raise der.NotDer("not a SignedData ContentInfo")
    (signed,) = der.children(data, der.expect(info[1], 0xA0))
    parts = der.children(data, der.expect(signed, 0x30))
    encap = der.children(data, der.expect(parts[2], 0x30))
    if der.decode_oid(data, encap[0]) != OID_DATA:
        raise der.NotDer("encapsulated content is not data")
    content = None
    if len(encap) > 1:
        (octets,) = der.children(data, der.expect(encap[1], 0xA0))
        content = data[der.expect(octets, 0x04).start : octets.end]
    certs: list[der.Tlv] = []
    signer_infos: list[der.Tlv] = []
    for part in parts[3:]:
        if part.tag == 0xA0:
            certs = der.children(data, part)
        elif part.tag == 0x31:
            signer_infos = der.children(data, part)
    if len(signer_infos) != 1:
        raise ScepError(f"not a SCEP pkiMessage: {len(signer_infos)} signers")
    fields = der.children(data, der.expect(signer_infos[0], 0x30))
    attrs_tlv = fields[3]
    if attrs_tlv.tag != 0xA0:
        raise ScepError("pkiMessage lacks messageType or transactionID")
    digest_oid = der.decode_oid(data, der.children(data, der.expect(fields[2], 0x30))[0])
    digest = _DIGEST_BY_OID.get(digest_oid, digest_oid)
    signature = data[der.expect(fields[5], 0x04).start : fields[5].end]
    attrs, digests = _der_attrs(data, attrs_tlv)
    cert = None
    for item in certs:
        if item.tag != 0x30 or (fields[1].tag == 0x30 and not _designates(data, fields[1], item)):
            continue
        try:
            candidate = x509.load_der_x509_certificate(data[item.head : item.end])
        except (ValueError, x509.InvalidVersion):
            continue  # an unreadable extra certificate cannot be the signer's
        if fields[1].tag == 0x30 or _matches(data, fields[1], candidate):  # _designates has checked 0x30
            cert = candidate
            break
    if cert is None:
        raise ScepError("pkiMessage does not carry its signer's certificate", fail_info=BAD_MESSAGE_CHECK)
    signed_attrs = b"\x31" + data[attrs_tlv.head + 1 : attrs_tlv.end]
    valid = _verify(cert, digest, digests, content, signed_attrs, signature)
    rid = fields[1]
    sid = data[rid.head : rid.end] if rid.tag == 0x30 else None  # _designates matched it to the certificate
    return _assemble(attrs, cert, digest, valid, content, sid)


def open_envelope(data: bytes, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    """Decrypt a pkcsPKIEnvelope addressed to ``cert`` with ``key``.

    Raises:
        ScepError: (badMessageCheck) not an envelope, not addressed to ``cert``, or does not
            decrypt; (badAlg) a cipher this module does not know.
    """
    return open_envelope_with_cipher(data, key, cert)[0]


def open_envelope_with_cipher(data: bytes, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> tuple[bytes, Cipher_]:
    """As :func:`open_envelope`, also naming the cipher (a reply should use the same one)."""
    try:
        cipher, encrypted_key, iv, ciphertext = _envelope_der(data, cert)
    except ScepError:
        raise
    except (ValueError, IndexError):
        try:
            cipher, encrypted_key, iv, ciphertext = _envelope_asn1(data, cert)
        except ScepError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # asn1crypto parses lazily
            message = f"pkcsPKIEnvelope is not a CMS EnvelopedData: {exc}"
            raise ScepError(message, fail_info=BAD_MESSAGE_CHECK) from exc
    return _decrypt(key, cipher, encrypted_key, iv, ciphertext), cipher


def envelope_cipher(data: bytes) -> Cipher_:
    """The content cipher of a pkcsPKIEnvelope.

    Raises:
        ScepError: not an EnvelopedData, or a cipher this module does not know.
    """
    enveloped = _load_enveloped(data)
    try:
        name = enveloped["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].native
    except (ValueError, TypeError, KeyError) as exc:
        message = f"pkcsPKIEnvelope is not a CMS EnvelopedData: {exc}"
        raise ScepError(message, fail_info=BAD_MESSAGE_CHECK) from exc
    cipher = _CIPHER_BY_ASN1.get(name)
    if cipher is None:
        raise ScepError(f"unsupported envelope cipher {name}", fail_info="badAlg")
    return cipher


def _decrypt(key: rsa.RSAPrivateKey, cipher: Cipher_, encrypted_key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    try:
        # OpenSSL's implicit rejection returns random bytes for a bad PKCS#1 block, so the key
        # length and the CBC padding are what catch a wrong key.
        content_key = key.decrypt(encrypted_key, asym_padding.PKCS1v15())
        if len(content_key) != _CIPHERS[cipher][2]:
            raise ValueError("content key has the wrong size")
        return _sym_crypt(cipher, content_key, iv, ciphertext, encrypt=False)
    except ValueError as exc:
        raise ScepError(f"pkcsPKIEnvelope does not decrypt: {exc}", fail_info=BAD_MESSAGE_CHECK) from exc


def _envelope_der(data: bytes, cert: x509.Certificate) -> tuple[Cipher_, bytes, bytes, bytes]:
    top = der.expect(der.read(data), 0x30)
    info = der.children(data, top)
    if top.end != len(data) or len(info) != 2 or der.decode_oid(data, info[0]) != OID_ENVELOPED_DATA:
        raise der.NotDer("not an EnvelopedData ContentInfo")
    (enveloped,) = der.children(data, der.expect(info[1], 0xA0))
    parts = der.children(data, der.expect(enveloped, 0x30))
    at = 2 if parts[1].tag == 0xA0 else 1  # skip originatorInfo
    encrypted_key = None
    for recipient in der.children(data, der.expect(parts[at], 0x31)):
        if recipient.tag != 0x30:
            continue  # not a KeyTransRecipientInfo
        fields = der.children(data, recipient)
        rid = fields[1]
        # The CA's own IssuerAndSerialNumber bytes, as clients copy them; otherwise compare by value.
        if data[rid.head : rid.end] == _issuer_and_serial(cert) or _matches(data, rid, cert):
            encrypted_key = data[der.expect(fields[3], 0x04).start : fields[3].end]
            break
    if encrypted_key is None:
        raise ScepError(NOT_ADDRESSED, fail_info=BAD_MESSAGE_CHECK)
    eci = der.children(data, der.expect(parts[at + 1], 0x30))
    algorithm = der.children(data, der.expect(eci[1], 0x30))
    cipher = _CIPHER_BY_OID.get(der.decode_oid(data, algorithm[0]))
    if cipher is None:
        raise ScepError("unsupported envelope cipher", fail_info="badAlg")
    iv = data[der.expect(algorithm[1], 0x04).start : algorithm[1].end]
    ciphertext = data[der.expect(eci[2], 0x80).start : eci[2].end] if len(eci) > 2 else b""
    return cipher, encrypted_key, iv, ciphertext


def _envelope_asn1(data: bytes, cert: x509.Certificate) -> tuple[Cipher_, bytes, bytes, bytes]:
    enveloped = _load_enveloped(data)
    ktri = None
    for info in enveloped["recipient_infos"]:
        if info.name == "ktri" and _recipient_matches(info.chosen, cert):
            ktri = info.chosen
            break
    if ktri is None:
        raise ScepError(NOT_ADDRESSED, fail_info=BAD_MESSAGE_CHECK)
    eci = enveloped["encrypted_content_info"]
    cipher = _CIPHER_BY_ASN1.get(eci["content_encryption_algorithm"]["algorithm"].native)
    if cipher is None:
        raise ScepError("unsupported envelope cipher", fail_info="badAlg")
    iv = eci["content_encryption_algorithm"]["parameters"].native
    if not isinstance(iv, bytes):
        raise ScepError("pkcsPKIEnvelope has no IV", fail_info=BAD_MESSAGE_CHECK)
    return cipher, ktri["encrypted_key"].native, iv, eci["encrypted_content"].native or b""


def _load_enveloped(data: bytes) -> cms.EnvelopedData:
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "enveloped_data":
            raise ValueError(f"content type {info['content_type'].native}")
        enveloped = info["content"]
        # Touch what open_envelope uses, so a malformed structure fails here.
        enveloped["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].native  # noqa: B018
        len(enveloped["recipient_infos"])
    except (ValueError, TypeError, KeyError) as exc:
        message = f"pkcsPKIEnvelope is not a CMS EnvelopedData: {exc}"
        raise ScepError(message, fail_info=BAD_MESSAGE_CHECK) from exc
    return enveloped


def _recipient_matches(ktri: cms.KeyTransRecipientInfo, cert: x509.Certificate) -> bool:
    rid = ktri["rid"]
    if rid.name != "issuer_and_serial_number":
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        return bool(rid.chosen.native == ski)
    return bool(
        rid.chosen["serial_number"].native == cert.serial_number
        and rid.chosen["issuer"].dump() == cert.issuer.public_bytes()
    )


def _find_signer_cert(signed: cms.SignedData, signer_info: cms.SignerInfo) -> x509.Certificate:
    sid = signer_info["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        try:
            if sid.name == "issuer_and_serial_number":
                found = (
                    cert.serial_number == sid.chosen["serial_number"].native
                    and cert.issuer.dump() == sid.chosen["issuer"].dump()
                )
            else:
                found = cert.key_identifier == sid.chosen.native
            if found:
                return x509.load_der_x509_certificate(cert.dump())
        except (ValueError, TypeError, KeyError, x509.InvalidVersion):
            continue  # an unreadable extra certificate cannot be the signer's
    raise ScepError("pkiMessage does not carry its signer's certificate", fail_info=BAD_MESSAGE_CHECK)


def _check_signature(signer_info: cms.SignerInfo, cert: x509.Certificate, content: bytes | None) -> bool:
    attrs = signer_info["signed_attrs"]
    digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    return _verify(
        cert,
        signer_info["digest_algorithm"]["algorithm"].native,
        digests,
        content,
        b"\x31" + attrs.dump()[1:],
        signer_info["signature"].native,
    )


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


def _load_signed(data: bytes) -> tuple[cms.SignedData, cms.SignerInfo]:
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].native}")
        signed = info["content"]
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError(f"{len(signer_infos)} signers")
        signer_info = signer_infos[0]
        # Touch what parse_message uses, so a malformed structure fails here.
        for attr in signer_info["signed_attrs"]:
            attr["type"].native  # noqa: B018
            len(attr["values"])
        signer_info["digest_algorithm"]["algorithm"].native  # noqa: B018
        signer_info["signature"].native  # noqa: B018
        signed["encap_content_info"]["content"].native  # noqa: B018
        len(signed["certificates"] or [])
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ScepError(f"not a SCEP pkiMessage: {exc}") from exc
    return signed, signer_info


def _parse_message_asn1(data: bytes) -> PkiMessage:
    signed, signer_info = _load_signed(data)
    attrs = _scep_attrs(signer_info)
    cert = _find_signer_cert(signed, signer_info)
    content = signed["encap_content_info"]["content"].native
    if content is not None and not isinstance(content, bytes):
        raise ScepError("pkiMessage content is not an OCTET STRING", fail_info="badRequest")
    digest = signer_info["digest_algorithm"]["algorithm"].native
    return _assemble(attrs, cert, digest, _check_signature(signer_info, cert, content), content)


def parse_certs_only(data: bytes) -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    """Certificates and CRLs out of a degenerate SignedData.

    Raises:
        ScepError: not a SignedData, or certificates/CRLs that do not load.
    """
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].native}")
        signed = info["content"]
        certs = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for choice in signed["certificates"] or []
            if choice.name == "certificate"
        ]
        crls = [x509.load_der_x509_crl(choice.chosen.dump()) for choice in signed["crls"] or [] if choice.name == "crl"]
    except (ValueError, TypeError, KeyError, x509.InvalidVersion) as exc:
        raise ScepError(f"not a certs-only SignedData: {exc}") from exc
    return certs, crls
