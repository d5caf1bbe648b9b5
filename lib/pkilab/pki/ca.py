"""The X.509 side of an IOS certificate server, as pure functions of an explicit ``now``.

Each simulated router has its own clock, so nothing here reads the host clock: the caller
passes the router's time. Datetimes without a timezone are taken as UTC; certificates carry
whole seconds, as IOS's do.

What IOS puts in its certificates (and so do these functions):

* CA certificate: self-signed, serial 1, valid from ``now`` for ``lifetime ca-certificate``
  days (default 1095); basicConstraints CA:TRUE, keyUsage digitalSignature + keyCertSign +
  cRLSign (IOS shows ``Certificate Usage: Signature``), subject and authority key identifiers.
  A CA restored from its files keeps its original start date: pass ``not_before``.
* End-entity certificate: subject and key from the request, valid from ``now`` for
  ``lifetime certificate`` days (default 365) but never past the CA certificate's own end
  date, keyUsage digitalSignature + keyEncipherment (``General Purpose``), SKI/AKI, and a
  CRL distribution point when ``cdp-url`` is configured.
* CRL: this/next update as given (next = this + ``lifetime crl`` hours), one entry per
  revoked serial with its revocation date, AKI and CRL number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtensionOID

from pkilab.errors import PkiError
from pkilab.pki import der
from pkilab.pki.csr import CsrInfo, x509_hash

DEFAULT_CA_LIFETIME_DAYS = 1095
DEFAULT_CERT_LIFETIME_DAYS = 365
DEFAULT_CRL_LIFETIME_HOURS = 168
MAX_LIFETIME_DAYS = 1825
MAX_CRL_LIFETIME_HOURS = 336


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate: its serial number and when it was revoked."""

    serial: int
    revoked_at: dt.datetime


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, whole seconds; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _check_days(days: int, what: str) -> None:
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise PkiError(f"{what} lifetime {days} days out of range 1-{MAX_LIFETIME_DAYS}")


def create_ca_certificate(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    now: dt.datetime,
    lifetime_days: int = DEFAULT_CA_LIFETIME_DAYS,
    *,
    not_before: dt.datetime | None = None,
    serial: int = 1,
    hash_name: str = "sha256",
) -> x509.Certificate:
    """Make the certificate server's self-signed CA certificate.

    Args:
        key: the CA key pair (labelled like the server).
        subject: the issuer-name.
        now: the CA router's clock.
        lifetime_days: ``lifetime ca-certificate``.
        not_before: the original start date when restoring a CA (default ``now``).
        serial: serial number (IOS uses 1).
        hash_name: signature hash.

    Returns:
        The certificate; it ends ``lifetime_days`` after its start date.

    Raises:
        PkiError: a lifetime out of range.
    """
    _check_days(lifetime_days, "CA certificate")
    start = utc(not_before if not_before is not None else now)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=lifetime_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    return builder.sign(key, x509_hash(hash_name))


_END_ENTITY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@lru_cache(maxsize=16)
def _authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    # Cached per CA certificate: reading its extensions costs more than signing with a 1024-bit key.
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


# sha224WithRSAEncryption .. sha512WithRSAEncryption: the hashes x509_hash accepts.
_SIGNATURE_OIDS = {
    "sha224": "1.2.840.113549.1.1.14",
    "sha256": "1.2.840.113549.1.1.11",
    "sha384": "1.2.840.113549.1.1.12",
    "sha512": "1.2.840.113549.1.1.13",
}
_PKCS1 = padding.PKCS1v15()
_V3 = der.explicit(0, der.integer(2))


def _extension_der(ext: x509.Extension[x509.ExtensionType]) -> bytes:
    critical = b"\x01\x01\xff" if ext.critical else b""
    return der.sequence(der.oid(ext.oid.dotted_string), critical, der.octet_string(ext.value.public_bytes()))


@lru_cache(maxsize=16)
def _end_entity_common(ca_cert: x509.Certificate) -> tuple[bytes, bytes]:
    # What every certificate of one CA shares: its subject as their issuer, and the keyUsage and
    # authorityKeyIdentifier extensions, all DER.
    return ca_cert.subject.public_bytes(), (
        _extension_der(x509.Extension(ExtensionOID.KEY_USAGE, True, _END_ENTITY_USAGE))
        + _extension_der(x509.Extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False, _authority_key_id(ca_cert)))
    )


@lru_cache(maxsize=16)
def _cdp_extension(url: str) -> bytes:
    uri = x509.UniformResourceIdentifier(url)
    point = x509.DistributionPoint(full_name=[uri], relative_name=None, reasons=None, crl_issuer=None)
    return _extension_der(
        x509.Extension(ExtensionOID.CRL_DISTRIBUTION_POINTS, False, x509.CRLDistributionPoints([point]))
    )


def _time(moment: dt.datetime) -> bytes:
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always Zulu, seconds.
    m = moment
    text = f"{m.month:02d}{m.day:02d}{m.hour:02d}{m.minute:02d}{m.second:02d}Z"
    if m.year < 2050:
        return der.tlv(0x17, f"{m.year % 100:02d}{text}".encode("ascii"))
    return der.tlv(0x18, f"{m.year:04d}{text}".encode("ascii"))


def _key_identifier(spki: bytes) -> bytes:
    # RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bits.
    bits = der.children(spki, der.read(spki))[1]
    return hashlib.sha1(spki[bits.start + 1 : bits.end], usedforsecurity=False).digest()


def issue_certificate(
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    serial: int,
    now: dt.datetime,
    lifetime_days: int = DEFAULT_CERT_LIFETIME_DAYS,
    *,
    cdp_url: str | None = None,
    hash_name: str = "sha256",
) -> x509.Certificate:
    """Issue an end-entity certificate.

    Args:
        ca_cert: the CA certificate.
        ca_key: the CA key pair.
        subject: the certified subject.
        public_key: the certified key.
        serial: the serial number (the server's next one).
        now: the CA router's clock; the certificate starts then.
        lifetime_days: ``lifetime certificate``; capped by the CA certificate's end date.
        cdp_url: ``cdp-url``, written as a CRL distribution point.
        hash_name: signature hash.

    Returns:
        The certificate.

    Raises:
        PkiError: a lifetime out of range, or the CA certificate has already expired.
    """
    start, end = _validity(ca_cert, now, lifetime_days)
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return _sign_certificate(
        ca_cert, ca_key, subject.public_bytes(), spki, serial, start, end, cdp_url, _checked(hash_name)
    )


def _validity(ca_cert: x509.Certificate, now: dt.datetime, lifetime_days: int) -> tuple[dt.datetime, dt.datetime]:
    _check_days(lifetime_days, "certificate")
    start = utc(now)
    ca_end = ca_cert.not_valid_after_utc
    if start >= ca_end:
        raise PkiError(f"CA certificate expired at {ca_end:%Y-%m-%d %H:%M:%S} UTC; cannot issue")
    return start, min(start + dt.timedelta(days=lifetime_days), ca_end)


def _checked(hash_name: str) -> str:
    if hash_name not in _SIGNATURE_OIDS:
        x509_hash(hash_name)  # raises PkiError naming the hash
    return hash_name


def _sign_certificate(
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    subject: bytes,
    spki: bytes,
    serial: int,
    start: dt.datetime,
    end: dt.datetime,
    cdp_url: str | None,
    hash_name: str,
) -> x509.Certificate:
    # The TBSCertificate is written as DER and signed with the RSA primitive, then read back by
    # cryptography (which checks its structure). Its builder makes the same bytes (a unit test
    # compares them) but costs as much again as the CA's 1024-bit signature on top of it.
    issuer, common = _end_entity_common(ca_cert)
    ski = der.sequence(
        der.oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string),
        der.octet_string(der.octet_string(_key_identifier(spki))),
    )
    extensions = common + ski + (_cdp_extension(cdp_url) if cdp_url else b"")
    algorithm = der.algorithm(_SIGNATURE_OIDS[hash_name])
    tbs = der.sequence(
        _V3,
        der.integer(serial),
        algorithm,
        issuer,
        der.sequence(_time(start), _time(end)),
        subject,
        spki,
        der.explicit(3, der.sequence(extensions)),
    )
    signature = ca_key.sign(tbs, _PKCS1, x509_hash(hash_name))
    return x509.load_der_x509_certificate(der.sequence(tbs, algorithm, der.tlv(0x03, b"\x00" + signature)))


def issue_from_csr(
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    request: CsrInfo,
    serial: int,
    now: dt.datetime,
    lifetime_days: int = DEFAULT_CERT_LIFETIME_DAYS,
    *,
    cdp_url: str | None = None,
    hash_name: str = "sha256",
) -> x509.Certificate:
    """Issue a certificate for a request read by :func:`pkilab.pki.csr.load_csr`.

    Raises:
        PkiError: the request's signature does not check out, or as :func:`issue_certificate`.
    """
    if not request.signature_valid:
        raise PkiError("certificate request signature does not verify")
    start, end = _validity(ca_cert, now, lifetime_days)
    # The request's own subject and key bytes go into the certificate, as IOS copies them.
    info = request.csr.tbs_certrequest_bytes
    fields = der.children(info, der.read(info))  # version, subject, subjectPKInfo, attributes
    subject, spki = (info[f.head : f.end] for f in fields[1:3])
    return _sign_certificate(ca_cert, ca_key, subject, spki, serial, start, end, cdp_url, _checked(hash_name))


def build_crl(
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Iterable[RevokedEntry] = (),
    *,
    crl_number: int | None = None,
    hash_name: str = "sha256",
) -> x509.CertificateRevocationList:
    """Sign a CRL.

    Args:
        ca_cert: the CA certificate.
        ca_key: the CA key pair.
        this_update: when the CRL is issued (the CA router's clock).
        next_update: ``this_update`` + ``lifetime crl`` hours.
        revoked: revoked serials with their revocation dates.
        crl_number: the CRL number extension, when given.
        hash_name: signature hash.

    Returns:
        The CRL.

    Raises:
        PkiError: ``next_update`` not after ``this_update``.
    """
    start, end = utc(this_update), utc(next_update)
    if end <= start:
        raise PkiError("CRL next update must be after this update")
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(start)
        .next_update(end)
        .add_extension(_authority_key_id(ca_cert), critical=False)
    )
    if crl_number is not None:
        builder = builder.add_extension(x509.CRLNumber(crl_number), critical=False)
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(utc(entry.revoked_at)).build()
        )
    return builder.sign(ca_key, x509_hash(hash_name))


def http_cdp_url(cert: x509.Certificate | None) -> str | None:
    """The first http(s) CRL distribution point of ``cert`` (None when it names none)."""
    if cert is None:
        return None
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return None
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith("http"):
                return str(name.value)
    return None
