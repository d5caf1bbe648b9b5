"""Fingerprints in the forms IOS prints.

* ``crypto pki authenticate`` and ``show crypto pki server`` show the MD5 of the CA
  certificate's DER as four upper-case 8-digit words: ``9D8D787D 574D2955 CA666B2B 22F3C31A``;
  ``show crypto pki trustpoints status`` adds the SHA-1 as five words.
* ``crypto pki server NAME info requests`` shows a request's fingerprint as 32 upper-case hex
  digits. IOS hashes the request exactly as it came in: the DER of the PKCS#10
  CertificationRequest (not the SCEP envelope around it). The requesting router logs the same
  MD5 (``Certificate Request Fingerprint MD5:``) over the same DER, so both ends agree.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


def words(digest: bytes) -> str:
    """Upper-case hex in space-separated 8-digit words, as IOS prints fingerprints."""
    text = digest.hex().upper()
    return " ".join(text[i : i + 8] for i in range(0, len(text), 8))


def _der(item: x509.Certificate | x509.CertificateSigningRequest | bytes) -> bytes:
    if isinstance(item, bytes):
        return item
    return item.public_bytes(Encoding.DER)


def md5_words(item: x509.Certificate | x509.CertificateSigningRequest | bytes) -> str:
    """MD5 of the DER as ``9D8D787D 574D2955 CA666B2B 22F3C31A``."""
    return words(hashlib.md5(_der(item), usedforsecurity=False).digest())


def sha1_words(item: x509.Certificate | x509.CertificateSigningRequest | bytes) -> str:
    """SHA-1 of the DER as five 8-digit words."""
    return words(hashlib.sha1(_der(item), usedforsecurity=False).digest())


def md5_hex(item: x509.Certificate | x509.CertificateSigningRequest | bytes) -> str:
    """MD5 of the DER as 32 upper-case hex digits."""
    return hashlib.md5(_der(item), usedforsecurity=False).hexdigest().upper()


def sha1_hex(item: x509.Certificate | x509.CertificateSigningRequest | bytes) -> str:
    """SHA-1 of the DER as 40 upper-case hex digits."""
    return hashlib.sha1(_der(item), usedforsecurity=False).hexdigest().upper()


def request_fingerprint(csr_der: bytes) -> str:
    """The fingerprint ``info requests`` shows: MD5 of the PKCS#10 DER, 32 hex digits."""
    return md5_hex(csr_der)
