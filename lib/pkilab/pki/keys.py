"""RSA key pairs as IOS makes, shows, exports and imports them.

Modulus: IOS 15 accepts 360 to 4096 bits for general-purpose keys (the seed, written for
12.x, says 360 to 2048). When ``crypto key generate rsa`` is typed without ``modulus`` IOS 15
asks "How many bits in the modulus [512]:"; the default offered there is 512, and it is
:data:`DEFAULT_MODULUS`. The seed always passes ``modulus 1024``.

Export (``crypto key export rsa L pem … {3des|des} PASSPHRASE``) writes two PEM files: the
public key as ``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) and the private key as
traditional OpenSSL PEM (PKCS#1 ``RSA PRIVATE KEY``) encrypted with the passphrase under
``Proc-Type: 4,ENCRYPTED`` / ``DEK-Info: DES-EDE3-CBC,<IV>`` (or ``DES-CBC``), the format
``openssl rsa -passin`` reads. cryptography can write only PKCS#8 encryption, so the legacy
envelope (EVP_BytesToKey with MD5, salt = first 8 bytes of the IV, CBC with PKCS#7 padding) is
done here; reading it back is done here too because OpenSSL 3 keeps single DES in its legacy
provider.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from pkilab.errors import PkiError

MIN_MODULUS = 360
MAX_MODULUS = 4096
DEFAULT_MODULUS = 512

ExportCipher = Literal["3des", "des"]

_DEK = {"3des": ("DES-EDE3-CBC", 24), "des": ("DES-CBC", 8)}
_DEK_BY_NAME = {name: size for name, size in _DEK.values()}
_BEGIN = "-----BEGIN RSA PRIVATE KEY-----"
_END = "-----END RSA PRIVATE KEY-----"


def check_modulus(bits: int) -> int:
    """Return ``bits`` if IOS 15 accepts it as a modulus.

    Raises:
        PkiError: outside 360..4096.
    """
    if not MIN_MODULUS <= bits <= MAX_MODULUS:
        raise PkiError(f"modulus {bits} out of range {MIN_MODULUS}-{MAX_MODULUS}")
    return bits


def generate_rsa_key(bits: int = DEFAULT_MODULUS) -> rsa.RSAPrivateKey:
    """Generate an RSA key of ``bits`` (exponent 65537).

    cryptography refuses to generate keys under 1024 bits; the smaller moduli IOS allows
    (360..1023, e.g. the 512-bit default) are made here from two random primes of the right
    size, checked with Miller-Rabin.

    Raises:
        PkiError: the modulus is outside IOS's range.
    """
    check_modulus(bits)
    if bits >= 1024:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _small_key(bits)


def _is_probable_prime(n: int) -> bool:
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(40):
        a = 2 + int.from_bytes(os.urandom(8), "big") % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = int.from_bytes(os.urandom((bits + 7) // 8), "big")
        candidate |= (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        candidate &= (1 << bits) - 1
        if candidate % 65537 != 1 and _is_probable_prime(candidate):
            return candidate


def _small_key(bits: int) -> rsa.RSAPrivateKey:
    e = 65537
    while True:
        p = _prime((bits + 1) // 2)
        q = _prime(bits // 2)
        n = p * q
        if p != q and n.bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def _evp_bytes_to_key(passphrase: bytes, salt: bytes, size: int) -> bytes:
    key = b""
    block = b""
    while len(key) < size:
        block = hashlib.md5(block + passphrase + salt, usedforsecurity=False).digest()
        key += block
    return key[:size]


def _des_cipher(sym_key: bytes) -> TripleDES:
    # Single DES is 3DES with K1 = K2 = K3.
    return TripleDES(sym_key * 3 if len(sym_key) == 8 else sym_key)


def _pem_lines(data: bytes) -> list[str]:
    text = base64.b64encode(data).decode("ascii")
    return [text[i : i + 64] for i in range(0, len(text), 64)]


def export_key_pem(key: rsa.RSAPrivateKey, cipher: ExportCipher, passphrase: str) -> tuple[str, str]:
    """Export a key pair as IOS's ``crypto key export rsa … pem`` does.

    Args:
        key: the key pair.
        cipher: ``"3des"`` or ``"des"``.
        passphrase: the passphrase protecting the private key.

    Returns:
        ``(public_pem, private_pem)``: the ``.pub`` and ``.prv`` file contents.

    Raises:
        PkiError: an unknown cipher or an empty passphrase.
    """
    if cipher not in _DEK:
        raise PkiError(f"unknown export cipher {cipher!r} (3des or des)")
    if not passphrase:
        raise PkiError("an export passphrase is required")
    dek_name, key_size = _DEK[cipher]
    pub_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    iv = os.urandom(8)
    sym_key = _evp_bytes_to_key(passphrase.encode("utf-8"), iv, key_size)
    pad = 8 - len(der) % 8
    encryptor = Cipher(_des_cipher(sym_key), modes.CBC(iv)).encryptor()
    body = encryptor.update(der + bytes([pad]) * pad) + encryptor.finalize()
    lines = [
        _BEGIN,
        "Proc-Type: 4,ENCRYPTED",
        f"DEK-Info: {dek_name},{iv.hex().upper()}",
        "",
        *_pem_lines(body),
        _END,
    ]
    return pub_pem, "\n".join(lines) + "\n"


def _read_encrypted_pem(prv_pem: str) -> tuple[str, bytes, bytes]:
    lines = [line.strip() for line in prv_pem.strip().splitlines()]
    if not lines or lines[0] != _BEGIN or lines[-1] != _END:
        raise PkiError("private key file is not an RSA PRIVATE KEY PEM")
    headers: dict[str, str] = {}
    body: list[str] = []
    for line in lines[1:-1]:
        if ":" in line and not body:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        elif line:
            body.append(line)
    if headers.get("Proc-Type") != "4,ENCRYPTED" or "DEK-Info" not in headers:
        raise PkiError("private key file is not passphrase-encrypted (no Proc-Type/DEK-Info)")
    dek_name, _, iv_hex = headers["DEK-Info"].partition(",")
    if dek_name not in _DEK_BY_NAME:
        raise PkiError(f"private key file uses unsupported cipher {dek_name!r}")
    try:
        iv = bytes.fromhex(iv_hex)
        data = base64.b64decode("".join(body), validate=True)
    except ValueError as exc:
        raise PkiError(f"private key file is corrupt: {exc}") from exc
    if len(iv) != 8 or not data or len(data) % 8:
        raise PkiError("private key file is corrupt: bad IV or body length")
    return dek_name, iv, data


def import_key_pem(pub_pem: str, prv_pem: str, passphrase: str) -> rsa.RSAPrivateKey:
    """Import a key pair exported by :func:`export_key_pem` (or by IOS, or ``openssl rsa -des3``).

    Args:
        pub_pem: the ``.pub`` file (SubjectPublicKeyInfo PEM).
        prv_pem: the ``.prv`` file (encrypted traditional PEM).
        passphrase: the export passphrase.

    Returns:
        The private key.

    Raises:
        PkiError: a wrong passphrase, a corrupt file, or a public key that does not match.
    """
    dek_name, iv, data = _read_encrypted_pem(prv_pem)
    sym_key = _evp_bytes_to_key(passphrase.encode("utf-8"), iv, _DEK_BY_NAME[dek_name])
    decryptor = Cipher(_des_cipher(sym_key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 8 or plain[-pad:] != bytes([pad]) * pad:
        raise PkiError("wrong passphrase: the private key does not decrypt")
    try:
        key = serialization.load_der_private_key(plain[:-pad], password=None)
    except ValueError as exc:
        raise PkiError("wrong passphrase: the private key does not decrypt") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PkiError("private key file does not hold an RSA key")
    try:
        public = serialization.load_pem_public_key(pub_pem.encode("ascii"))
    except ValueError as exc:
        raise PkiError(f"public key file is corrupt: {exc}") from exc
    mine = key.public_key().public_numbers()
    if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != mine:
        raise PkiError("public key file does not match the private key")
    return key


def public_key_der(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of a key."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_data_lines(key: rsa.RSAPrivateKey | rsa.RSAPublicKey, trailing_space: bool = True) -> list[str]:
    """The ``Key Data:`` hex block of ``show crypto key mypubkey rsa``.

    DER SubjectPublicKeyInfo in upper-case 8-digit words, eight to a line, each line indented
    by two spaces. IOS 15 and most IOS-XE captures end every line but the last with a space;
    pass ``trailing_space=False`` for the builds that print no trailing spaces at all.

    Args:
        key: the key (only the public half is shown).
        trailing_space: end each line but the last with one space, as IOS 15 does.

    Returns:
        The lines, without newlines.
    """
    text = public_key_der(key).hex().upper()
    chunks = [text[i : i + 8] for i in range(0, len(text), 8)]
    lines = ["  " + " ".join(chunks[i : i + 8]) for i in range(0, len(chunks), 8)]
    if trailing_space:
        lines[:-1] = [line + " " for line in lines[:-1]]
    return lines
