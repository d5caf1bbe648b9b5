from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.errors import PkiError
from pkilab.pki.ca import RevokedEntry, build_crl, create_ca_certificate, issue_certificate, issue_from_csr
from pkilab.pki.csr import build_csr, load_csr
from pkilab.pki.fingerprints import md5_hex, md5_words, request_fingerprint, sha1_hex, sha1_words
from pkilab.pki.names import parse_ios_dn, render_dn, router_subject

KeyFactory = Callable[..., rsa.RSAPrivateKey]
Ca = tuple[rsa.RSAPrivateKey, x509.Certificate]
NOW = dt.datetime(2004, 1, 30, 14, 58, 20, tzinfo=dt.UTC)
ISSUER = "CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US, EA = ese-vpn-team"


@pytest.fixture(scope="module")
def ca(rsa_key: KeyFactory) -> Ca:
    key = rsa_key(1024)
    return key, create_ca_certificate(key, parse_ios_dn(ISSUER), NOW, 508)


def test_ca_certificate_like_ios(ca: Ca) -> None:
    cert = ca[1]
    assert cert.serial_number == 1
    assert cert.subject == cert.issuer
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=508)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature
    cert.verify_directly_issued_by(cert)


def test_restored_ca_keeps_its_start_date(rsa_key: KeyFactory) -> None:
    later = NOW + dt.timedelta(days=100)
    cert = create_ca_certificate(rsa_key(1024), parse_ios_dn("CN=ca"), later, 1095, not_before=NOW)
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=1095)


@pytest.mark.parametrize("days", [0, 1826])
def test_lifetime_range(rsa_key: KeyFactory, days: int) -> None:
    with pytest.raises(PkiError, match="out of range"):
        create_ca_certificate(rsa_key(1024), parse_ios_dn("CN=ca"), NOW, days)


def test_issue_from_router_request(rsa_key: KeyFactory, ca: Ca) -> None:
    ca_key, ca_cert = ca
    router_key = rsa_key(1024, slot=1)
    csr = build_csr(router_key, router_subject("ese-cryagg.ese.cisco.com"), "whatever")
    info = load_csr(csr.public_bytes(Encoding.DER))
    assert info.challenge_password == "whatever"
    assert info.signature_valid and not info.reordered
    when = NOW + dt.timedelta(hours=4, minutes=42)
    cert = issue_from_csr(
        ca_cert, ca_key, info, 2, when, 254, cdp_url="http://ca/cgi-bin/pkiclient.exe?operation=GetCRL"
    )
    assert cert.serial_number == 2
    assert render_dn(cert.subject) == "hostname=ese-cryagg.ese.cisco.com"
    assert render_dn(cert.issuer) == render_dn(ca_cert.subject)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=254)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "http://ca/cgi-bin/pkiclient.exe?operation=GetCRL"
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    cert.verify_directly_issued_by(ca_cert)


def test_ca_end_date_caps_issued_lifetime(rsa_key: KeyFactory, ca: Ca) -> None:
    ca_key, ca_cert = ca
    late = ca_cert.not_valid_after_utc - dt.timedelta(days=10)
    key = rsa_key(1024, slot=1)
    cert = issue_certificate(ca_cert, ca_key, router_subject("r"), key.public_key(), 3, late, 365)
    assert cert.not_valid_after_utc == ca_cert.not_valid_after_utc
    with pytest.raises(PkiError, match="expired"):
        end = ca_cert.not_valid_after_utc
        issue_certificate(ca_cert, ca_key, router_subject("r"), key.public_key(), 4, end, 1)


def test_issue_refuses_a_request_with_a_bad_signature(rsa_key: KeyFactory, ca: Ca) -> None:
    der = bytearray(build_csr(rsa_key(1024, slot=1), router_subject("r")).public_bytes(Encoding.DER))
    der[-3] ^= 0xFF
    info = load_csr(bytes(der))
    assert not info.signature_valid
    with pytest.raises(PkiError, match="signature"):
        issue_from_csr(ca[1], ca[0], info, 5, NOW, 10)


def _out_of_order_csr(key: rsa.RSAPrivateKey) -> bytes:
    """A request with extensionRequest before challengePassword, as strongSwan's pki sends it."""
    ext = x509.SubjectAlternativeName([x509.DNSName("r1.example.com")])
    csr = build_csr(key, router_subject("r1.example.com"), "s3cret", extensions=(ext,))
    good = asn1_csr.CertificationRequest.load(csr.public_bytes(Encoding.DER))
    info = good["certification_request_info"]
    attrs = sorted((a.dump() for a in info["attributes"]), key=len, reverse=True)  # longest first: not DER

    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        length = (
            bytes([n])
            if n < 128
            else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
        )
        return bytes([tag]) + length + body

    info_der = tlv(
        0x30,
        info["version"].dump() + info["subject"].dump() + info["subject_pk_info"].dump() + tlv(0xA0, b"".join(attrs)),
    )
    signature = key.sign(info_der, padding.PKCS1v15(), hashes.SHA256())
    return tlv(0x30, info_der + good["signature_algorithm"].dump() + tlv(0x03, b"\x00" + signature))


def test_lenient_csr_loading(rsa_key: KeyFactory) -> None:
    key = rsa_key(1024, slot=2)
    der = _out_of_order_csr(key)
    with pytest.raises(ValueError):
        x509.load_der_x509_csr(der)  # cryptography alone refuses it
    info = load_csr(der)
    assert info.reordered and info.signature_valid
    assert info.challenge_password == "s3cret"
    assert render_dn(info.subject) == "hostname=r1.example.com"
    assert info.der == der
    assert request_fingerprint(info.der) == hashlib.md5(der).hexdigest().upper()
    san = info.csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["r1.example.com"]
    tampered = bytearray(der)
    tampered[-1] ^= 1
    assert load_csr(bytes(tampered)).signature_valid is False


def test_csr_pem_and_garbage(rsa_key: KeyFactory) -> None:
    csr = build_csr(rsa_key(1024, slot=1), router_subject("r"))
    assert load_csr(csr.public_bytes(Encoding.PEM)).challenge_password is None
    bad_pem = b"-----BEGIN CERTIFICATE REQUEST-----\n!!\n-----END"
    for garbage in (b"", b"\x30\x03abc", b"hello world", bad_pem):
        with pytest.raises(PkiError):
            load_csr(garbage)


def test_sha1_signed_request_verifies(rsa_key: KeyFactory) -> None:
    # Routers sign requests with SHA-1; cryptography refuses to make those, so sign the info by hand.
    key = rsa_key(1024, slot=1)
    good = asn1_csr.CertificationRequest.load(build_csr(key, router_subject("r")).public_bytes(Encoding.DER))
    info_der = good["certification_request_info"].dump()
    sha1 = asn1_csr.CertificationRequest(
        {
            "certification_request_info": good["certification_request_info"],
            "signature_algorithm": {"algorithm": "sha1_rsa"},
            "signature": key.sign(info_der, padding.PKCS1v15(), hashes.SHA1()),
        }
    ).dump()
    assert load_csr(sha1).signature_valid


def test_fingerprint_forms(ca: Ca, openssl: str, tmp_path: Path) -> None:
    cert = ca[1]
    der = cert.public_bytes(Encoding.DER)
    words = md5_words(cert)
    assert len(words.split()) == 4 and all(len(w) == 8 for w in words.split())
    assert words.replace(" ", "") == md5_hex(der) == hashlib.md5(der).hexdigest().upper()
    assert sha1_words(cert).replace(" ", "") == sha1_hex(cert) == hashlib.sha1(der).hexdigest().upper()
    (tmp_path / "ca.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    out = subprocess.run(
        [openssl, "x509", "-in", str(tmp_path / "ca.pem"), "-noout", "-fingerprint", "-md5"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().split("=", 1)[1].replace(":", "") == md5_hex(cert)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


def test_openssl_reads_and_verifies_everything(rsa_key: KeyFactory, ca: Ca, openssl: str, tmp_path: Path) -> None:
    ca_key, _ = ca
    # A CA valid now (openssl verify uses the host clock).
    now = dt.datetime.now(dt.UTC)
    ca_cert = create_ca_certificate(ca_key, parse_ios_dn(ISSUER), now - dt.timedelta(hours=1), 1095)
    router_key = rsa_key(1024, slot=1)
    csr = build_csr(router_key, router_subject("ese-branch.ese.cisco.com"), "pw")
    leaf = issue_from_csr(ca_cert, ca_key, load_csr(csr.public_bytes(Encoding.DER)), 2, now, 365)
    files = {name: tmp_path / name for name in ("ca.pem", "leaf.pem", "req.pem", "ok.crl", "revoked.crl")}
    files["ca.pem"].write_bytes(ca_cert.public_bytes(Encoding.PEM))
    files["leaf.pem"].write_bytes(leaf.public_bytes(Encoding.PEM))
    files["req.pem"].write_bytes(csr.public_bytes(Encoding.PEM))
    empty = build_crl(ca_cert, ca_key, now, now + dt.timedelta(hours=24), crl_number=1)
    files["ok.crl"].write_bytes(empty.public_bytes(Encoding.PEM))
    entries = [RevokedEntry(2, now)]
    revoked = build_crl(ca_cert, ca_key, now, now + dt.timedelta(hours=24), entries, crl_number=2)
    files["revoked.crl"].write_bytes(revoked.public_bytes(Encoding.PEM))

    req = _run(openssl, "req", "-in", str(files["req.pem"]), "-noout", "-verify", "-text")
    assert req.returncode == 0 and "verify OK" in (req.stdout + req.stderr), req.stderr
    assert "challengePassword" in req.stdout
    text = _run(openssl, "x509", "-in", str(files["leaf.pem"]), "-noout", "-subject", "-serial")
    assert "unstructuredName = ese-branch.ese.cisco.com" in text.stdout and "serial=02" in text.stdout
    crl_text = _run(openssl, "crl", "-in", str(files["revoked.crl"]), "-noout", "-text")
    assert crl_text.returncode == 0 and "Serial Number: 02" in crl_text.stdout

    verify = [openssl, "verify", "-crl_check", "-CAfile", str(files["ca.pem"])]
    no_crl = _run(*verify, str(files["leaf.pem"]))
    assert "unable to get certificate CRL" in no_crl.stdout + no_crl.stderr
    good = _run(*verify, "-CRLfile", str(files["ok.crl"]), str(files["leaf.pem"]))
    assert good.returncode == 0 and good.stdout.strip().endswith(": OK"), good.stdout + good.stderr
    bad = _run(*verify, "-CRLfile", str(files["revoked.crl"]), str(files["leaf.pem"]))
    assert bad.returncode != 0 and "certificate revoked" in bad.stdout + bad.stderr


def test_crl_contents(ca: Ca) -> None:
    key, cert = ca
    revoked_at = NOW + dt.timedelta(days=3)
    crl = build_crl(cert, key, NOW, NOW + dt.timedelta(hours=168), [RevokedEntry(3, revoked_at)])
    assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + dt.timedelta(hours=168)
    entry = crl.get_revoked_certificate_by_serial_number(3)
    assert entry is not None and entry.revocation_date_utc == revoked_at
    assert crl.is_signature_valid(cert.public_key())  # type: ignore[arg-type]
    with pytest.raises(PkiError):
        build_crl(cert, key, NOW, NOW)


def _builder_certificate(
    ca: Ca,
    subject: x509.Name,
    key: rsa.RSAPublicKey,
    serial: int,
    start: dt.datetime,
    end: dt.datetime,
    cdp_url: str | None,
    hash_name: str,
) -> x509.Certificate:
    """What cryptography's own builder makes of the same inputs (the reference for the DER path)."""
    ca_key, ca_cert = ca
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    usage = x509.KeyUsage(
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
    builder = (
        x509.CertificateBuilder()
        .issuer_name(ca_cert.subject)
        .subject_name(subject)
        .public_key(key)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(usage, critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
    )
    if cdp_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(cdp_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    algorithms: dict[str, hashes.SHA256 | hashes.SHA512] = {"sha256": hashes.SHA256(), "sha512": hashes.SHA512()}
    return builder.sign(ca_key, algorithms[hash_name])


@pytest.mark.parametrize(
    ("subject", "serial", "now", "days", "cdp", "hash_name"),
    [
        (router_subject("ese-branch.cisco.com"), 2, NOW, 254, None, "sha256"),
        (router_subject("r1.example.com", "4279256517", "66.66.66.2"), 0x1234, NOW, 254, "http://ca/crl", "sha256"),
        (
            parse_ios_dn("CN=r2, OU=ESE, O=Cisco Systems Inc, C=US"),
            300,
            dt.datetime(2049, 6, 1, tzinfo=dt.UTC),
            365,
            None,
            "sha512",
        ),  # a certificate that ends in 2050: GeneralizedTime
    ],
)
def test_certificates_are_the_bytes_cryptographys_builder_makes(
    rsa_key: KeyFactory,
    subject: x509.Name,
    serial: int,
    now: dt.datetime,
    days: int,
    cdp: str | None,
    hash_name: str,
) -> None:
    ca_key = rsa_key(1024, slot=7)
    ca = (ca_key, create_ca_certificate(ca_key, parse_ios_dn(ISSUER), now - dt.timedelta(days=1), 1825))
    key = rsa_key(2048).public_key()
    cert = issue_certificate(ca[1], ca_key, subject, key, serial, now, days, cdp_url=cdp, hash_name=hash_name)
    reference = _builder_certificate(ca, subject, key, serial, now, now + dt.timedelta(days=days), cdp, hash_name)
    # PKCS#1 v1.5 signatures are deterministic: equal bytes mean equal to-be-signed bytes too.
    assert cert.public_bytes(Encoding.DER) == reference.public_bytes(Encoding.DER)
    cert.verify_directly_issued_by(ca[1])


def test_issuing_refuses_a_hash_x509_does_not_sign_with(rsa_key: KeyFactory, ca: Ca) -> None:
    with pytest.raises(PkiError, match="sha1"):
        issue_certificate(
            ca[1], ca[0], router_subject("r.example.com"), rsa_key(2048).public_key(), 5, NOW, hash_name="sha1"
        )


def test_a_request_gets_the_certificate_its_subject_and_key_would(rsa_key: KeyFactory, ca: Ca) -> None:
    key = rsa_key(2048, slot=3)
    subject = router_subject("ese-branch.cisco.com", "4279256517", "66.66.66.2")
    request = load_csr(build_csr(key, subject, "challenge").public_bytes(Encoding.DER))
    from_request = issue_from_csr(ca[1], ca[0], request, 9, NOW, 30, cdp_url="http://ca/x.crl")
    direct = issue_certificate(ca[1], ca[0], subject, key.public_key(), 9, NOW, 30, cdp_url="http://ca/x.crl")
    assert from_request.public_bytes(Encoding.DER) == direct.public_bytes(Encoding.DER)
