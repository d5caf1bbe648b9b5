"""IKEv1 cryptography: MODP groups, CBC ciphers, HMAC PRF, RFC 2409 key derivation, raw RSA signatures.

The MODP primes are computed from their definition (RFC 2409 section 6, RFC 3526):
``p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * pi) + k)``, so no table of hex digits can be
mistyped; tests compare them with an independent copy.

Diffie-Hellman in groups 5 and 14 and every RSA operation run in OpenSSL (cryptography). Groups 1
and 2 stay on Python's ``pow`` with a short exponent: OpenSSL does not know RFC 2409's Oakley
groups by name and re-checks their primes on every exchange (about 100 ms on this project's
machine, against 1-3 ms for ``pow``).
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pkilab.protocols.ike.constants import P1Encr, P1Hash

Rng = Callable[[int], bytes]

with warnings.catch_warnings():
    # cryptography deprecates finite-field DH, which is what IKEv1 negotiates; the names are taken once.
    warnings.simplefilter("ignore")
    from cryptography.hazmat.primitives.asymmetric.dh import (
        DHParameterNumbers,
        DHParameters,
        DHPrivateKey,
        DHPublicNumbers,
    )


# --- MODP groups -----------------------------------------------------------------------------


def _arctan_inv(x: int, scale: int) -> int:
    total = term = scale // x
    x2, n, sign = x * x, 1, -1
    while term:
        term //= x2
        n += 2
        total += sign * (term // n)
        sign = -sign
    return total


def _pi_scaled(bits: int) -> int:
    """floor(pi * 2**bits), using Machin's formula with guard bits."""
    guard = 64
    scale = 1 << (bits + guard)
    pi = 16 * _arctan_inv(5, scale) - 4 * _arctan_inv(239, scale)
    return pi >> guard


_MODP_K = {1: (768, 149686), 2: (1024, 129093), 5: (1536, 741804), 14: (2048, 124476)}
# RFC 3526's groups, which OpenSSL knows by name (modp_1536, modp_2048) and does not re-validate.
_OPENSSL_GROUPS = frozenset({5, 14})


class DhPrivate(int):
    """A private exponent that carries its OpenSSL key.

    It is an ``int`` (the exponent itself), so SA records that store exponents keep their type;
    :class:`DhGroup` uses the OpenSSL key inside for the public value and the exchange.
    """

    key: DHPrivateKey

    def __new__(cls, key: DHPrivateKey) -> DhPrivate:
        """Wrap an OpenSSL private key; the int value is its exponent."""
        value = super().__new__(cls, key.private_numbers().x)
        value.key = key
        return value


@dataclass(frozen=True)
class DhGroup:
    """A MODP Diffie-Hellman group with generator 2."""

    number: int
    prime: int
    size: int  # bytes on the wire

    @property
    def bits(self) -> int:
        """Modulus size in bits, as IOS prints it (768, 1024, 1536, 2048)."""
        return self.size * 8

    @property
    def openssl(self) -> bool:
        """True when this group's arithmetic runs in OpenSSL."""
        return self.number in _OPENSSL_GROUPS

    def private_key(self, rng: Rng) -> int:
        """A private exponent: OpenSSL's (NIST SP 800-56A length) or, for groups 1 and 2, from ``rng``.

        2x the group's symmetric strength is plenty and keeps ``pow()`` cheap.
        """
        if self.openssl:
            return DhPrivate(_openssl_group(self.number)[0].generate_private_key())
        nbytes = 32 if self.number < 14 else 40
        return int.from_bytes(rng(nbytes), "big") | 1

    def public_key(self, private: int) -> bytes:
        """g^x mod p, left-padded to the group size (RFC 2409 requires full-length KE data)."""
        if isinstance(private, DhPrivate):
            y = private.key.public_key().public_numbers().y
        else:
            y = pow(2, private, self.prime)
        return y.to_bytes(self.size, "big")

    def shared_secret(self, private: int, peer_public: bytes) -> bytes | None:
        """g^xy padded to the group size, or None when the peer's value is out of range."""
        y = int.from_bytes(peer_public, "big")
        if len(peer_public) != self.size or not 1 < y < self.prime - 1:
            return None
        if isinstance(private, DhPrivate):
            params = _openssl_group(self.number)[1]
            try:
                shared = private.key.exchange(DHPublicNumbers(y, params).public_key())
            except ValueError:
                return None
            return shared.rjust(self.size, b"\x00")
        return pow(y, private, self.prime).to_bytes(self.size, "big")


@cache
def _openssl_group(number: int) -> tuple[DHParameters, DHParameterNumbers]:
    numbers = DHParameterNumbers(dh_group(number).prime, 2)
    return numbers.parameters(), numbers


@cache
def dh_group(number: int) -> DhGroup:
    """The MODP group ``number`` (1, 2, 5 or 14).

    Raises:
        KeyError: unsupported group.
    """
    n, k = _MODP_K[number]
    p = (1 << n) - (1 << (n - 64)) - 1 + (1 << 64) * (_pi_scaled(n - 130) + k)
    return DhGroup(number, p, n // 8)


SUPPORTED_GROUPS = tuple(sorted(_MODP_K))


# --- hashes, PRF, ciphers --------------------------------------------------------------------

HASH_NAMES = {P1Hash.MD5: "md5", P1Hash.SHA: "sha1", P1Hash.SHA256: "sha256"}
# By plain number too: a handshake hashes a dozen times, and an enum lookup per call showed.
_NAMES = {int(k): v for k, v in HASH_NAMES.items()}
_CONSTRUCTORS = {int(P1Hash.MD5): hashlib.md5, int(P1Hash.SHA): hashlib.sha1, int(P1Hash.SHA256): hashlib.sha256}


def _hash_name(hash_alg: int) -> str:
    name = _NAMES.get(hash_alg)
    if name is None:
        raise ValueError(f"{hash_alg} is not a valid P1Hash")
    return name


def digest(hash_alg: int, data: bytes) -> bytes:
    """Plain hash with the negotiated algorithm (used for IVs and NAT-D)."""
    constructor = _CONSTRUCTORS.get(hash_alg)
    if constructor is None:
        raise ValueError(f"{hash_alg} is not a valid P1Hash")
    return constructor(data).digest()


def prf(hash_alg: int, key: bytes, data: bytes) -> bytes:
    """The IKEv1 PRF: HMAC with the negotiated hash."""
    return hmac.digest(key, data, _hash_name(hash_alg))


@dataclass(frozen=True)
class CipherSpec:
    """A CBC cipher: IKE encryption algorithm id plus key length in bytes."""

    encr: int
    key_len: int

    @property
    def block_size(self) -> int:
        """Cipher block size in bytes."""
        return 16 if self.encr == P1Encr.AES else 8

    def _cipher(self, key: bytes, iv: bytes) -> Cipher[modes.CBC]:
        if self.encr == P1Encr.AES:
            return Cipher(algorithms.AES(key), modes.CBC(iv))
        # Single DES is 3DES with K1=K2=K3; cryptography warns on the 8-byte form only.
        return Cipher(TripleDES(key * 3 if len(key) == 8 else key), modes.CBC(iv))

    def encrypt(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        """CBC-encrypt block-aligned data."""
        enc = self._cipher(key, iv).encryptor()
        return enc.update(data) + enc.finalize()

    def decrypt(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        """CBC-decrypt block-aligned data."""
        dec = self._cipher(key, iv).decryptor()
        return dec.update(data) + dec.finalize()


def cipher_spec(encr: int, key_bits: int | None) -> CipherSpec:
    """The cipher for phase 1 attributes (AES needs a key length; DES/3DES imply theirs).

    Raises:
        ValueError: unsupported algorithm or key length.
    """
    if encr == P1Encr.DES:
        return CipherSpec(encr, 8)
    if encr == P1Encr.TRIPLE_DES:
        return CipherSpec(encr, 24)
    if encr == P1Encr.AES and (key_bits or 128) in (128, 192, 256):
        return CipherSpec(encr, (key_bits or 128) // 8)
    raise ValueError(f"unsupported cipher {encr}/{key_bits}")


# --- RFC 2409 key derivation -----------------------------------------------------------------


@dataclass(frozen=True)
class Phase1Keys:
    """SKEYID and its derivatives, the encryption key and the first IV of phase 1."""

    skeyid: bytes
    skeyid_d: bytes
    skeyid_a: bytes
    skeyid_e: bytes
    enc_key: bytes
    iv: bytes


def derive_phase1(
    hash_alg: int,
    cipher: CipherSpec,
    skeyid: bytes,
    shared: bytes,
    cky_i: bytes,
    cky_r: bytes,
    ke_i: bytes,
    ke_r: bytes,
) -> Phase1Keys:
    """Derive SKEYID_d/a/e, the cipher key (appendix B) and the phase 1 IV (RFC 2409 5 and B)."""
    skeyid_d = prf(hash_alg, skeyid, shared + cky_i + cky_r + b"\x00")
    skeyid_a = prf(hash_alg, skeyid, skeyid_d + shared + cky_i + cky_r + b"\x01")
    skeyid_e = prf(hash_alg, skeyid, skeyid_a + shared + cky_i + cky_r + b"\x02")
    key = skeyid_e
    if len(key) < cipher.key_len:
        # Appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1).
        block = prf(hash_alg, skeyid_e, b"\x00")
        key = block
        while len(key) < cipher.key_len:
            block = prf(hash_alg, skeyid_e, block)
            key += block
    iv = digest(hash_alg, ke_i + ke_r)[: cipher.block_size]
    return Phase1Keys(skeyid, skeyid_d, skeyid_a, skeyid_e, key[: cipher.key_len], iv)


def phase2_iv(hash_alg: int, block_size: int, last_p1_block: bytes, message_id: int) -> bytes:
    """First IV of a quick mode or informational exchange: hash(last phase 1 block | M-ID)."""
    return digest(hash_alg, last_p1_block + message_id.to_bytes(4, "big"))[:block_size]


def keymat(
    hash_alg: int,
    skeyid_d: bytes,
    protocol: int,
    spi: bytes,
    ni: bytes,
    nr: bytes,
    length: int,
    shared: bytes = b"",
) -> bytes:
    """Quick mode KEYMAT for one SA, extended to ``length`` bytes (RFC 2409 5.5)."""
    seed = shared + bytes([protocol]) + spi + ni + nr
    out = block = prf(hash_alg, skeyid_d, seed)
    while len(out) < length:
        block = prf(hash_alg, skeyid_d, block + seed)
        out += block
    return out[:length]


# --- raw RSA signatures (no DigestInfo, as IKEv1 signs the bare HASH_I/HASH_R) -------------------


# cryptography added NoDigestInfo in a recent release; older ones get the pure-Python path.
_NO_DIGEST_INFO = getattr(asym_utils, "NoDigestInfo", None)


def rsa_sign_raw(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 type 1 signature over ``data`` itself, without an ASN.1 DigestInfo.

    Raises:
        ValueError: data too long for the modulus.
    """
    if _NO_DIGEST_INFO is not None:
        return key.sign(data, padding.PKCS1v15(), _NO_DIGEST_INFO())
    return _rsa_sign_python(key, data)


def _rsa_sign_python(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    priv = key.private_numbers()
    pub = priv.public_numbers
    k = (pub.n.bit_length() + 7) // 8
    if len(data) > k - 11:
        raise ValueError("data too long for RSA modulus")
    em = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    m = int.from_bytes(em, "big")
    # CRT: about 3x faster than pow(m, d, n) in pure Python integers.
    s1 = pow(m, priv.dmp1, priv.p)
    s2 = pow(m, priv.dmq1, priv.q)
    h = (priv.iqmp * (s1 - s2)) % priv.p
    return (s2 + h * priv.q).to_bytes(k, "big")


def rsa_verify_raw(key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> bool:
    """Check a raw PKCS#1 v1.5 type 1 signature made by :func:`rsa_sign_raw` (or a peer)."""
    if _NO_DIGEST_INFO is not None:
        try:
            key.verify(signature, data, padding.PKCS1v15(), _NO_DIGEST_INFO())
        except (InvalidSignature, ValueError):
            return False
        return True
    return _rsa_verify_python(key, data, signature)


def _rsa_verify_python(key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> bool:
    pub = key.public_numbers()
    k = (pub.n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if len(signature) != k or s >= pub.n:
        return False
    em = pow(s, pub.e, pub.n).to_bytes(k, "big")
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    return len(data) <= k - 11 and hmac.compare_digest(em, expected)
