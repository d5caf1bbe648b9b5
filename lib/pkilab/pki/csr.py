"""PKCS#10 certificate requests: building them as routers do, reading them leniently as a CA.

cryptography's loader insists on strict DER, and strongSwan's ``pki --scep`` puts the
extensionRequest attribute before challengePassword, which breaks the DER ordering of the
attribute SET. A CA must accept such requests, so :func:`load_csr` falls back to asn1crypto:
it re-encodes the attributes in DER order so cryptography can read the fields, and checks the
signature over the bytes the requester actually signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AttributeOID

from pkilab.errors import PkiError
from pkilab.pki.der import tlv, unarmor

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "md5": hashes.MD5,
}


X509Hash = hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_X509_HASHES: dict[str, type[X509Hash]] = {
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def x509_hash(name: str) -> X509Hash:
    """A hash cryptography will sign certificates, requests and CRLs with.

    cryptography (since 45) refuses SHA-1 and MD5 for X.509 signatures, so IOS's old ``hash
    sha1``/``md5`` cannot be reproduced for certificates; SCEP message signatures (made with
    the bare RSA primitive) still support SHA-1.

    Raises:
        PkiError: an unknown hash or one cryptography will not sign X.509 with.
    """
    try:
        return _X509_HASHES[name]()
    except KeyError as exc:
        raise PkiError(f"hash {name!r} is not usable for X.509 signatures (sha224..sha512)") from exc


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """A cryptography hash from its lower-case name (``sha1``, ``sha256`` …).

    Raises:
        PkiError: an unknown name.
    """
    try:
        return _HASHES[name]()
    except KeyError as exc:
        raise PkiError(f"unsupported hash {name!r}") from exc


@dataclass(frozen=True)
class CsrInfo:
    """A certificate request as a CA sees it.

    Attributes:
        der: the request exactly as received (what IOS fingerprints).
        csr: the request as cryptography reads it (re-encoded in DER order when needed).
        subject: the requested subject.
        public_key: the requester's public key.
        challenge_password: the challengePassword attribute, or None.
        signature_valid: whether the request is signed by the key it carries.
        reordered: whether the attributes had to be put in DER order to read it.
    """

    der: bytes
    csr: x509.CertificateSigningRequest
    subject: x509.Name
    public_key: rsa.RSAPublicKey
    challenge_password: str | None
    signature_valid: bool
    reordered: bool


def build_csr(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    challenge_password: str | None = None,
    hash_name: str = "sha256",
    extensions: tuple[x509.ExtensionType, ...] = (),
) -> x509.CertificateSigningRequest:
    """Build and sign a PKCS#10 request, as ``crypto pki enroll`` does.

    Args:
        key: the requester's key pair.
        subject: the requested subject (see :func:`pkilab.pki.names.router_subject`).
        challenge_password: the password typed at the enroll dialog, if any.
        hash_name: signature hash.
        extensions: extensions to request (extensionRequest attribute).

    Returns:
        The signed request.
    """
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    if challenge_password is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge_password.encode("utf-8"))
    return builder.sign(key, x509_hash(hash_name))


def _reencode(req: asn1_csr.CertificationRequest) -> bytes:
    """The same request with its attribute SET sorted into DER order (signature untouched)."""
    info = req["certification_request_info"]
    attributes = sorted(attr.dump() for attr in info["attributes"])
    info_der = tlv(
        0x30,
        info["version"].dump()
        + info["subject"].dump()
        + info["subject_pk_info"].dump()
        + tlv(0xA0, b"".join(attributes)),
    )
    return tlv(0x30, info_der + req["signature_algorithm"].dump() + req["signature"].dump())


def _verify_raw(req: asn1_csr.CertificationRequest, public_key: rsa.RSAPublicKey) -> bool:
    sig_alg = req["signature_algorithm"]
    try:
        if sig_alg.signature_algo != "rsassa_pkcs1v15":
            return False
        algorithm = hash_algorithm(sig_alg.hash_algo)
    except (ValueError, PkiError):
        return False
    try:
        public_key.verify(
            req["signature"].native, req["certification_request_info"].dump(), padding.PKCS1v15(), algorithm
        )
    except InvalidSignature:
        return False
    return True


# sha1WithRSAEncryption .. sha512WithRSAEncryption, md5WithRSAEncryption
_RSA_SIGNATURES = {
    "1.2.840.113549.1.1.4": "md5",
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
}


def _verify_csr(csr: x509.CertificateSigningRequest, public_key: rsa.RSAPublicKey) -> bool:
    name = _RSA_SIGNATURES.get(csr.signature_algorithm_oid.dotted_string)
    if name is None:
        return False
    try:
        public_key.verify(csr.signature, csr.tbs_certrequest_bytes, padding.PKCS1v15(), hash_algorithm(name))
    except InvalidSignature:
        return False
    return True


def load_csr(data: bytes, known_key: rsa.RSAPublicKey | None = None) -> CsrInfo:
    """Read a PKCS#10 request (DER, PEM or bare base64), tolerating attributes out of DER order.

    Args:
        data: the request bytes.
        known_key: a key object the caller already holds (a SCEP signer's); when the request
            carries the same key, that object checks the signature (it is set up already).

    Returns:
        The request's fields and whether its signature checks out.

    Raises:
        PkiError: the bytes are not a request, or its key is not RSA.
    """
    try:
        der = unarmor(data)
    except ValueError as exc:
        raise PkiError(f"certificate request {exc}") from exc
    reordered = False
    try:
        csr = x509.load_der_x509_csr(der)
    except (ValueError, x509.InvalidVersion):
        try:
            req = asn1_csr.CertificationRequest.load(der, strict=True)
            fixed = _reencode(req)
            csr = x509.load_der_x509_csr(fixed)
        except (ValueError, TypeError, KeyError, x509.InvalidVersion) as exc:
            raise PkiError(f"not a PKCS#10 certificate request: {exc}") from exc
        reordered = True
    try:
        public_key = csr.public_key()
        if known_key is not None and known_key == public_key:
            public_key = known_key
        subject = csr.subject
    except ValueError as exc:
        raise PkiError(f"certificate request is unreadable: {exc}") from exc
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise PkiError("certificate request does not carry an RSA key")
    # Checked on the signed bytes with the RSA primitive: cryptography's own check refuses
    # SHA-1 signatures, which routers and strongSwan still make.
    if reordered:
        valid = _verify_raw(asn1_csr.CertificationRequest.load(der), public_key)
    else:
        valid = _verify_csr(csr, public_key)
    return CsrInfo(
        der=der,
        csr=csr,
        subject=subject,
        public_key=public_key,
        challenge_password=_challenge_password(csr),
        signature_valid=valid,
        reordered=reordered,
    )


def _challenge_password(csr: x509.CertificateSigningRequest) -> str | None:
    try:
        attr = csr.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
    except x509.AttributeNotFound:
        return None
    except ValueError:
        return None
    value = attr.value
    return value.decode("utf-8", errors="replace")


def csr_der(csr: x509.CertificateSigningRequest) -> bytes:
    """The DER of a request built with :func:`build_csr`."""
    return csr.public_bytes(serialization.Encoding.DER)
