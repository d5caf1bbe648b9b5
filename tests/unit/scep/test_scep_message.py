from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.errors import ScepError
from pkilab.pki.ca import build_crl
from pkilab.pki.names import router_subject
from pkilab.protocols.scep.client import self_signed_certificate
from pkilab.protocols.scep.message import (
    Cipher_,
    Digest,
    FailInfo,
    MessageType,
    PkiStatus,
    certs_only,
    envelope,
    new_nonce,
    sign_message,
)
from pkilab.protocols.scep.reader import envelope_cipher, open_envelope, parse_certs_only, parse_message

KeyFactory = Callable[..., rsa.RSAPrivateKey]
Ca = tuple[rsa.RSAPrivateKey, x509.Certificate]
Signer = tuple[rsa.RSAPrivateKey, x509.Certificate]
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def signer(rsa_key: KeyFactory) -> Signer:
    key = rsa_key(1024, slot=1)
    return key, self_signed_certificate(key, router_subject("r1.example.com"), NOW)


@pytest.mark.parametrize("cipher", ["des", "3des", "aes128", "aes256"])
def test_envelope_round_trip(ca_pair: Ca, cipher: str) -> None:
    data = bytes(range(256)) * 3
    env = envelope(data, ca_pair[1], cipher)  # type: ignore[arg-type]
    assert envelope_cipher(env) == cipher
    assert open_envelope(env, ca_pair[0], ca_pair[1]) == data


def test_envelope_for_someone_else(ca_pair: Ca, signer: Signer) -> None:
    env = envelope(b"secret", signer[1])
    with pytest.raises(ScepError) as info:
        open_envelope(env, ca_pair[0], ca_pair[1])
    assert info.value.fail_info == "badMessageCheck"


def test_envelope_with_wrong_key_does_not_decrypt(rsa_key: KeyFactory, ca_pair: Ca) -> None:
    # Same issuer and serial as the CA certificate, different key: the recipient check passes and
    # decryption must fail cleanly.
    env = envelope(b"secret" * 10, ca_pair[1])
    with pytest.raises(ScepError) as info:
        open_envelope(env, rsa_key(1024, slot=3), ca_pair[1])
    assert info.value.fail_info == "badMessageCheck"


@pytest.mark.parametrize("garbage", [b"", b"\x30\x80", b"garbage" * 10])
def test_envelope_garbage(ca_pair: Ca, garbage: bytes) -> None:
    with pytest.raises(ScepError):
        open_envelope(garbage, ca_pair[0], ca_pair[1])


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_signed_message_round_trip(signer: Signer, digest: Digest) -> None:
    nonce = new_nonce()
    der = sign_message(
        b"content", signer[1], signer[0], MessageType.PKCS_REQ, "TID-1", sender_nonce=nonce, digest=digest
    )
    msg = parse_message(der)
    assert msg.signature_valid
    assert (msg.message_type, msg.transaction_id, msg.sender_nonce, msg.digest) == (
        MessageType.PKCS_REQ,
        "TID-1",
        nonce,
        digest,
    )
    assert msg.envelope == b"content"
    assert msg.signer_cert == signer[1]
    assert msg.pki_status is None and msg.fail_info is None and msg.recipient_nonce is None


def test_signer_info_uses_plain_rsa_encryption(signer: Signer) -> None:
    der = sign_message(b"x", signer[1], signer[0], MessageType.PKCS_REQ, "T", digest="sha256")
    signer_info = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    assert signer_info["signature_algorithm"]["algorithm"].dotted == "1.2.840.113549.1.1.1"
    types = {a["type"].dotted for a in signer_info["signed_attrs"]}
    assert {"2.16.840.1.113733.1.9.2", "2.16.840.1.113733.1.9.7", "1.2.840.113549.1.9.4"} <= types


def test_cert_rep_attributes(signer: Signer) -> None:
    nonce = new_nonce()
    der = sign_message(
        None,
        signer[1],
        signer[0],
        MessageType.CERT_REP,
        "T",
        recipient_nonce=nonce,
        sender_nonce=new_nonce(),
        pki_status=PkiStatus.FAILURE,
        fail_info=FailInfo.BAD_REQUEST,
    )
    msg = parse_message(der)
    assert msg.signature_valid and msg.envelope is None
    assert msg.pki_status is PkiStatus.FAILURE and msg.fail_info is FailInfo.BAD_REQUEST
    assert msg.recipient_nonce == nonce
    assert FailInfo.BAD_REQUEST.rfc_name == "badRequest"
    assert FailInfo.from_rfc_name("badCertId") is FailInfo.BAD_CERT_ID


def test_tampering_is_detected(signer: Signer) -> None:
    der = sign_message(b"content-bytes", signer[1], signer[0], MessageType.PKCS_REQ, "T")
    # Flip a byte in the signature (the tail) and in the content.
    tail = bytearray(der)
    tail[-3] ^= 0x01
    assert parse_message(bytes(tail)).signature_valid is False
    body = bytearray(der)
    at = bytes(body).index(b"content-bytes")
    body[at] ^= 0x01
    assert parse_message(bytes(body)).signature_valid is False


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -1])
def test_truncated_message_is_not_a_pki_message(signer: Signer, cut: int) -> None:
    der = sign_message(b"c", signer[1], signer[0], MessageType.PKCS_REQ, "T")
    with pytest.raises(ScepError) as info:
        parse_message(der[:cut])
    assert info.value.fail_info is None


def test_certs_only_round_trip(ca_pair: Ca, signer: Signer) -> None:
    crl = build_crl(ca_pair[1], ca_pair[0], NOW, NOW + dt.timedelta(days=1))
    certs, crls = parse_certs_only(certs_only([ca_pair[1], signer[1]], [crl]))
    # certificates is a SET OF: DER sorts it, so compare without order.
    assert sorted(c.public_bytes(Encoding.DER) for c in certs) == sorted(
        c.public_bytes(Encoding.DER) for c in (ca_pair[1], signer[1])
    )
    assert crls == [crl]
    with pytest.raises(ScepError):
        parse_certs_only(b"\x30\x00")


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def test_openssl_cms_reads_our_messages(ca_pair: Ca, signer: Signer, openssl: str, tmp_path: Path) -> None:
    env = envelope(b"inner payload", ca_pair[1], "3des")
    der = sign_message(env, signer[1], signer[0], MessageType.PKCS_REQ, "T", sender_nonce=new_nonce())
    (tmp_path / "msg.der").write_bytes(der)
    verified = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-noverify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "msg.der"),
            "-out",
            str(tmp_path / "env.der"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0 and "Verification successful" in verified.stderr, verified.stderr
    assert (tmp_path / "env.der").read_bytes() == env
    (tmp_path / "ca.pem").write_bytes(ca_pair[1].public_bytes(Encoding.PEM))
    _write_key(tmp_path / "ca.key", ca_pair[0])
    ciphers: tuple[Cipher_, ...] = ("3des", "aes128", "aes256")
    for cipher in ciphers:
        (tmp_path / "env.der").write_bytes(envelope(b"inner payload", ca_pair[1], cipher))
        opened = subprocess.run(
            [
                openssl,
                "cms",
                "-decrypt",
                "-inform",
                "DER",
                "-in",
                str(tmp_path / "env.der"),
                "-recip",
                str(tmp_path / "ca.pem"),
                "-inkey",
                str(tmp_path / "ca.key"),
            ],
            capture_output=True,
            check=False,
        )
        assert opened.returncode == 0 and opened.stdout == b"inner payload", (cipher, opened.stderr)
    (tmp_path / "p7.der").write_bytes(certs_only([ca_pair[1], signer[1]]))
    listed = subprocess.run(
        [openssl, "pkcs7", "-inform", "DER", "-in", str(tmp_path / "p7.der"), "-print_certs", "-noout"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0 and listed.stdout.count("subject=") == 2, listed.stderr


def test_we_open_openssl_envelopes(ca_pair: Ca, openssl: str, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(ca_pair[1].public_bytes(Encoding.PEM))
    (tmp_path / "data").write_bytes(b"from openssl")
    for flag, cipher in (("-des3", "3des"), ("-aes128", "aes128"), ("-aes256", "aes256")):
        made = subprocess.run(
            [
                openssl,
                "cms",
                "-encrypt",
                "-binary",
                flag,
                "-outform",
                "DER",
                "-in",
                str(tmp_path / "data"),
                str(tmp_path / "ca.pem"),
            ],
            capture_output=True,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        assert envelope_cipher(made.stdout) == cipher
        assert open_envelope(made.stdout, ca_pair[0], ca_pair[1]) == b"from openssl"


def _ber_indefinite(der_bytes: bytes) -> bytes:
    """The same value with its outer SEQUENCE re-encoded with an indefinite length (BER)."""
    first = der_bytes[1]
    header = 2 + (first & 0x7F if first & 0x80 else 0)
    return b"\x30\x80" + der_bytes[header:] + b"\x00\x00"


def test_both_readers_agree_and_ber_falls_back(ca_pair: Ca, signer: Signer) -> None:
    from pkilab.protocols.scep import reader

    env = envelope(b"payload", ca_pair[1], "aes128")
    messages = [
        sign_message(env, signer[1], signer[0], MessageType.PKCS_REQ, "T1", sender_nonce=new_nonce()),
        sign_message(
            None,
            ca_pair[1],
            ca_pair[0],
            MessageType.CERT_REP,
            "T2",
            sender_nonce=new_nonce(),
            recipient_nonce=new_nonce(),
            pki_status=PkiStatus.PENDING,
            digest="sha1",
        ),
        sign_message(
            None,
            ca_pair[1],
            ca_pair[0],
            MessageType.CERT_REP,
            "T3",
            pki_status=PkiStatus.FAILURE,
            fail_info=FailInfo.BAD_CERT_ID,
            digest="sha512",
        ),
    ]
    for der_msg in messages:
        fast = reader._parse_message_der(der_msg)
        assert fast == reader._parse_message_asn1(der_msg)
        assert fast.signature_valid
        ber = _ber_indefinite(der_msg)
        with pytest.raises(ValueError):
            reader._parse_message_der(ber)
        assert parse_message(ber) == fast
    assert reader._envelope_der(env, ca_pair[1]) == reader._envelope_asn1(env, ca_pair[1])
    assert open_envelope(_ber_indefinite(env), ca_pair[0], ca_pair[1]) == b"payload"
    assert reader.open_envelope_with_cipher(env, ca_pair[0], ca_pair[1]) == (b"payload", "aes128")
