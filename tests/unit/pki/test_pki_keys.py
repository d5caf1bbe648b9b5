from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.errors import PkiError
from pkilab.pki.keys import (
    DEFAULT_MODULUS,
    MAX_MODULUS,
    MIN_MODULUS,
    check_modulus,
    export_key_pem,
    generate_rsa_key,
    import_key_pem,
    key_data_lines,
)

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "show_crypto_key_mypubkey_rsa"
KeyFactory = Callable[..., rsa.RSAPrivateKey]


def _plain_pem(key: rsa.RSAPrivateKey) -> bytes:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def test_modulus_range_is_ios15() -> None:
    assert (MIN_MODULUS, MAX_MODULUS, DEFAULT_MODULUS) == (360, 4096, 512)
    for bits in (360, 512, 4096):
        assert check_modulus(bits) == bits
    for bits in (359, 4097, 0):
        with pytest.raises(PkiError, match="out of range"):
            check_modulus(bits)
    with pytest.raises(PkiError):
        generate_rsa_key(8192)


@pytest.mark.parametrize("bits", [360, 512, 768])
def test_small_moduli_make_working_keys(bits: int) -> None:
    key = generate_rsa_key(bits)
    assert key.key_size == bits
    numbers = key.private_numbers()
    assert numbers.p * numbers.q == numbers.public_numbers.n
    message = 12345678901234567890
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    assert pow(pow(message, e, n), numbers.d, n) == message


@pytest.mark.parametrize("cipher", ["3des", "des"])
def test_export_import_round_trip(rsa_key: KeyFactory, cipher: str) -> None:
    key = rsa_key(1024)
    pub, prv = export_key_pem(key, cipher, "cisco123")  # type: ignore[arg-type]
    assert pub.startswith("-----BEGIN PUBLIC KEY-----")
    lines = prv.splitlines()
    assert lines[0] == "-----BEGIN RSA PRIVATE KEY-----"
    assert lines[1] == "Proc-Type: 4,ENCRYPTED"
    dek = "DES-EDE3-CBC" if cipher == "3des" else "DES-CBC"
    assert lines[2].startswith(f"DEK-Info: {dek},") and len(lines[2].split(",")[1]) == 16
    again = import_key_pem(pub, prv, "cisco123")
    assert again.private_numbers() == key.private_numbers()


def test_wrong_passphrase_is_a_clear_error(rsa_key: KeyFactory) -> None:
    key = rsa_key(1024)
    pub, prv = export_key_pem(key, "3des", "cisco123")
    for wrong in ("cisco124", "", "CISCO123"):
        with pytest.raises(PkiError, match="wrong passphrase"):
            import_key_pem(pub, prv, wrong)


def test_import_rejects_mismatched_or_corrupt_files(rsa_key: KeyFactory) -> None:
    pub, prv = export_key_pem(rsa_key(1024), "3des", "pw")
    other_pub, _ = export_key_pem(rsa_key(1024, slot=1), "3des", "pw")
    with pytest.raises(PkiError, match="does not match"):
        import_key_pem(other_pub, prv, "pw")
    with pytest.raises(PkiError, match="not passphrase-encrypted"):
        import_key_pem(pub, _plain_pem(rsa_key(1024)).decode(), "pw")
    with pytest.raises(PkiError):
        import_key_pem(pub, prv.replace("Proc-Type", "X-Type"), "pw")
    with pytest.raises(PkiError):
        import_key_pem(pub, "garbage", "pw")
    with pytest.raises(PkiError):
        export_key_pem(rsa_key(1024), "aes", "pw")  # type: ignore[arg-type]
    with pytest.raises(PkiError):
        export_key_pem(rsa_key(1024), "3des", "")


def test_openssl_reads_3des_export(rsa_key: KeyFactory, openssl: str, tmp_path: Path) -> None:
    key = rsa_key(1024)
    _, prv = export_key_pem(key, "3des", "cisco123")
    (tmp_path / "k.prv").write_text(prv)
    ok = subprocess.run(
        [openssl, "rsa", "-in", str(tmp_path / "k.prv"), "-passin", "pass:cisco123", "-outform", "DER"],
        capture_output=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    read_back = serialization.load_der_private_key(ok.stdout, password=None)
    assert isinstance(read_back, rsa.RSAPrivateKey)
    assert read_back.private_numbers() == key.private_numbers()
    bad = subprocess.run(
        [openssl, "rsa", "-in", str(tmp_path / "k.prv"), "-passin", "pass:nope", "-noout"],
        capture_output=True,
        check=False,
    )
    assert bad.returncode != 0


def test_openssl_des_export_needs_legacy_provider(rsa_key: KeyFactory, openssl: str, tmp_path: Path) -> None:
    _, prv = export_key_pem(rsa_key(1024), "des", "cisco123")
    (tmp_path / "k.prv").write_text(prv)
    run = subprocess.run(
        [
            openssl,
            "rsa",
            "-provider",
            "legacy",
            "-provider",
            "default",
            "-in",
            str(tmp_path / "k.prv"),
            "-passin",
            "pass:cisco123",
            "-check",
            "-noout",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if "legacy" in run.stderr and run.returncode != 0 and "unable to load provider" in run.stderr.lower():
        pytest.skip("OpenSSL legacy provider (single DES) not available")
    assert run.returncode == 0, run.stderr
    assert "RSA key ok" in run.stdout


def test_import_accepts_openssl_encrypted_key(rsa_key: KeyFactory, openssl: str, tmp_path: Path) -> None:
    key = rsa_key(1024)
    plain = tmp_path / "plain.pem"
    plain.write_bytes(_plain_pem(key))
    run = subprocess.run(
        [openssl, "rsa", "-traditional", "-des3", "-in", str(plain), "-passout", "pass:s3cret"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    pub = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert import_key_pem(pub, run.stdout, "s3cret").private_numbers() == key.private_numbers()


def _corpus_key_blocks() -> list[tuple[str, list[str]]]:
    if not CORPUS.is_dir():
        return []
    blocks = []
    for path in sorted(CORPUS.glob("*.txt")):
        if "_12.2_" in path.name:
            continue  # IOS 12.2 wraps the block differently; the simulator renders IOS 15
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "Key Data:":
                block = []
                for data in lines[i + 1 :]:
                    if (
                        not data.startswith("  ")
                        or not data.strip()
                        or not all(len(w) <= 8 and all(c in "0123456789ABCDEF" for c in w) for w in data.split())
                    ):
                        break
                    block.append(data)
                blocks.append((f"{path.name}:{i}", block))
    return blocks


def test_key_data_lines_match_real_ios_output() -> None:
    blocks = _corpus_key_blocks()
    if not blocks:
        pytest.skip("corpus not present at ../shared/corpus")
    checked = 0
    for where, block in blocks:
        der = base64.b16decode("".join("".join(line.split()) for line in block))
        public = serialization.load_der_public_key(der)
        assert isinstance(public, rsa.RSAPublicKey), where
        with_space = key_data_lines(public)
        without = key_data_lines(public, trailing_space=False)
        assert block in (with_space, without), where
        checked += 1
    assert checked >= 5


def test_key_data_line_shape(rsa_key: KeyFactory) -> None:
    lines = key_data_lines(rsa_key(1024))
    # 1024-bit SPKI is 162 bytes: 40.5 words -> 5 full lines of 8 words and one of 1.
    assert len(lines) == 6
    assert lines[0].startswith("  30819F30 0D06092A 864886F7 0D010101 05000381 8D003081 89028181 ")
    assert all(line.endswith(" ") for line in lines[:-1])
    assert lines[-1] == "  0001"
