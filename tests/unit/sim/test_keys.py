"""RSA key pairs of the simulated router: generate, show, export/import, zeroize, NVRAM."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pkilab.sim.features.admin import Admin
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.trustpoint import Trustpoints
from unit.sim.simkit import Cli, OfflineLab


def keys_of(lab: OfflineLab, name: str = "r1") -> Keys:
    return lab.routers[name].feature(Keys)


def test_generate_with_modulus_prints_seed_messages(lab: OfflineLab, cli: Cli) -> None:
    cli("configure terminal")
    out = cli("crypto key generate rsa general-keys label ese-ios-ca modulus 1024 exportable")
    assert "The name for the keys will be: ese-ios-ca\n% The key modulus size is 1024 bits\n" in out
    # 15.2's wording (the 12.4T image's is tested in test_images.py)
    assert "% Generating 1024 bit RSA keys, keys will be exportable...\n[OK] (elapsed time was 0 seconds)" in out
    pair = keys_of(lab).get("ese-ios-ca")
    assert pair is not None and pair.bits == 1024 and pair.exportable


def test_generate_without_modulus_asks_and_defaults_to_512(lab: OfflineLab, cli: Cli) -> None:
    out = cli("crypto key generate rsa")
    assert "The name for the keys will be: r1.example.com" in out
    assert out.endswith("How many bits in the modulus [512]: ")
    out = cli("100")
    assert "% Invalid modulus size, must be in the range of 360 to 4096" in out
    assert out.endswith("How many bits in the modulus [512]: ")
    out = cli("")
    assert "% Generating 512 bit RSA keys, keys will be non-exportable...\n[OK] (elapsed time was" in out
    assert out.endswith("r1#")
    pair = keys_of(lab).get(keys_of(lab).default_label())
    assert pair is not None and pair.bits == 512 and not pair.exportable


def test_modulus_out_of_range_is_refused(lab: OfflineLab, cli: Cli) -> None:
    out = cli("crypto key generate rsa label k modulus 5000")
    assert "% Invalid modulus size" in out
    assert keys_of(lab).get("k") is None


def test_existing_label_asks_before_replacing(lab: OfflineLab, cli: Cli) -> None:
    cli("crypto key generate rsa label k modulus 512")
    first = keys_of(lab).get("k")
    out = cli("crypto key generate rsa label k modulus 512")
    assert "% You already have RSA keys defined named k.\n" in out
    assert out.endswith("% Do you really want to replace them? [yes/no]: ")
    cli("no")
    assert keys_of(lab).get("k") is first
    cli("crypto key generate rsa label k modulus 512")
    cli("yes")
    assert keys_of(lab).get("k") is not first


def test_no_domain_no_label_is_refused(lab: OfflineLab, cli: Cli) -> None:
    cli("configure terminal")
    cli("no ip domain name")
    out = cli("crypto key generate rsa modulus 512")
    assert "% Please define a domain-name first." in out
    assert keys_of(lab).pairs == {}


def test_show_mypubkey_renders_key_data(lab: OfflineLab, cli: Cli) -> None:
    cli("crypto key generate rsa label shown modulus 512 exportable")
    pair = keys_of(lab).get("shown")
    assert pair is not None
    out = cli("show crypto key mypubkey rsa shown")
    lines = out.splitlines()
    assert lines[0].startswith("% Key pair was generated at: ")
    assert lines[1:7] == [
        "Key name: shown",
        "Key type: RSA KEYS",
        " Storage Device: not specified",
        " Usage: General Purpose Key",
        " Key is exportable.",
        " Key Data:",
    ]
    der = pair.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    shown = "".join("".join(ln.split()) for ln in lines[7:-1])
    assert shown == der.hex().upper()
    assert "Key name: other" not in cli("show crypto key mypubkey rsa")


def test_export_to_nvram_and_import_back(lab: OfflineLab, cli: Cli) -> None:
    cli("configure terminal")
    cli("crypto key generate rsa general-keys label ese-ios-ca modulus 512 exportable")
    original = keys_of(lab).get("ese-ios-ca")
    assert original is not None
    out = cli("crypto key export rsa ese-ios-ca pem url nvram: 3des cisco123")
    assert "% Key name: ese-ios-ca\n   Usage: General Purpose Key\nExporting public key...\n" in out
    assert out.endswith("Destination filename [ese-ios-ca.pub]? ")
    out = cli("")
    assert "Writing file to nvram:ese-ios-ca.pub" in out
    assert out.endswith("Destination filename [ese-ios-ca.prv]? ")
    out = cli("")
    assert "Writing file to nvram:ese-ios-ca.prv" in out
    fs = lab.routers["r1"].fs
    assert b"BEGIN PUBLIC KEY" in fs.read("nvram:ese-ios-ca.pub")
    assert b"DEK-Info: DES-EDE3-CBC," in fs.read("nvram:ese-ios-ca.prv")

    keys_of(lab).remove("ese-ios-ca")
    out = cli("crypto key import rsa ese-ios-ca pem url nvram: wrong-pass")
    assert out.endswith("Source filename [ese-ios-ca.pub]? ")
    cli("")
    out = cli("")
    assert "% Key pair import failed." in out
    assert keys_of(lab).get("ese-ios-ca") is None

    out = cli("crypto key import rsa ese-ios-ca pem url nvram: cisco123")
    assert out.startswith("% Importing public key or certificate PEM file...\n")
    out = cli("")
    assert "Reading file from nvram:ese-ios-ca.pub" in out and "% Importing private key PEM file..." in out
    out = cli("")
    assert "Reading file from nvram:ese-ios-ca.prv\n% Key pair import succeeded." in out
    restored = keys_of(lab).get("ese-ios-ca")
    assert restored is not None
    assert restored.private_key.private_numbers() == original.private_key.private_numbers()


def test_export_terminal_and_not_exportable(lab: OfflineLab, cli: Cli) -> None:
    cli("crypto key generate rsa label open modulus 512 exportable")
    cli("crypto key generate rsa label closed modulus 512")
    out = cli("crypto key export rsa open pem terminal des secret1")
    assert "-----BEGIN PUBLIC KEY-----" in out and "DEK-Info: DES-CBC," in out
    out = cli("crypto key export rsa closed pem terminal 3des secret1")
    assert "% RSA keypair 'closed' is not exportable." in out
    assert "BEGIN" not in out


def test_zeroize_all_and_one(lab: OfflineLab, cli: Cli) -> None:
    removed: list[str] = []
    keys_of(lab).on_remove.append(lambda pair: removed.append(pair.label))
    cli("crypto key generate rsa label a modulus 512")
    cli("crypto key generate rsa label b modulus 512")
    out = cli("crypto key zeroize rsa a")
    assert "% Keys to be removed are named 'a'." in out
    assert out.endswith("Do you really want to remove these keys? [yes/no]: ")
    cli("yes")
    assert keys_of(lab).get("a") is None and keys_of(lab).get("b") is not None
    out = cli("crypto key zeroize rsa")
    assert "% All RSA keys will be removed.\n% All router certs issued using these keys will also be removed.\n" in out
    cli("no")
    assert keys_of(lab).get("b") is not None
    cli("crypto key zeroize rsa")
    cli("yes")
    assert keys_of(lab).pairs == {}
    assert removed == ["a", "b"]


def test_keys_survive_reload_only_when_saved(lab: OfflineLab, cli: Cli) -> None:
    router = lab.routers["r1"]
    cli("crypto key generate rsa label kept modulus 512 exportable")
    router.feature(Admin).save()
    cli("crypto key generate rsa label lost modulus 512")
    before = keys_of(lab).get("kept")
    assert before is not None
    router.boot()
    after = keys_of(lab)
    assert after.get("lost") is None
    kept = after.get("kept")
    assert kept is not None and kept.exportable
    assert kept.private_key.private_numbers() == before.private_key.private_numbers()
    assert "Storage Device: private-config" in router.new_session(15).feed("show crypto key mypubkey rsa").output


def test_zeroize_removes_router_certificates_made_with_the_key(lab: OfflineLab, cli: Cli) -> None:
    cli("crypto key generate rsa label mine modulus 512")
    cli("crypto key generate rsa label other modulus 512")
    pair = keys_of(lab).get("mine")
    assert pair is not None
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "r1")])
    now = dt.datetime.now(dt.UTC)
    signer = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pair.private_key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(signer, hashes.SHA256())
    )
    tps = lab.routers["r1"].feature(Trustpoints)
    tp = tps.ensure("tp1")
    tp.cert = cert
    tps.ensure("tp2").cert = cert
    cli("crypto key zeroize rsa other")
    cli("yes")
    assert tp.cert is cert
    cli("crypto key zeroize rsa mine")
    cli("yes")
    assert tp.cert is None and tps.get("tp2").cert is None


def test_import_pasted_at_the_terminal(lab: OfflineLab, cli: Cli) -> None:
    cli("crypto key generate rsa label pasted modulus 512 exportable")
    original = keys_of(lab).get("pasted")
    assert original is not None
    out = cli("crypto key export rsa pasted pem terminal 3des s3cret")
    pub = out[out.index("-----BEGIN PUBLIC KEY-----") : out.index("-----END PUBLIC KEY-----") + 24]
    prv = out[out.index("-----BEGIN RSA PRIVATE KEY-----") : out.index("-----END RSA PRIVATE KEY-----") + 29]
    keys_of(lab).remove("pasted")
    out = cli("crypto key import rsa pasted exportable pem terminal s3cret")
    assert out.startswith(
        "% Enter PEM-formatted public General Purpose key or certificate.\n"
        '% End with a blank line or "quit" on a line by itself.\n'
    )
    for line in pub.splitlines():
        cli(line)
    assert "% Enter PEM-formatted encrypted private General Purpose key." in cli("quit")
    for line in prv.splitlines():
        cli(line)
    assert "% Key pair import succeeded." in cli("quit")
    restored = keys_of(lab).get("pasted")
    assert restored is not None and restored.exportable
    assert restored.private_key.private_numbers() == original.private_key.private_numbers()


def test_generate_options_in_any_order(lab: OfflineLab, cli: Cli) -> None:
    out = cli("crypto key generate rsa modulus 512 exportable label anyorder")
    assert "The name for the keys will be: anyorder" in out
    pair = keys_of(lab).get("anyorder")
    assert pair is not None and pair.exportable and pair.bits == 512
