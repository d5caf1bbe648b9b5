"""Backing Up and Restoring the Cisco IOS CA Server (seed section of that name).

Keys exported with a passphrase, the CA's files copied off, the CA destroyed, then restored:
the serial numbers continue, revoked serials are still on the CRL, the CA certificate keeps its
start date, and the wrong passphrase is refused.
"""

from __future__ import annotations

import pytest

from pkilab.device.session import Answer
from pkilab.parsers import parse
from pkilab.procedures import baseline, pki
from pkilab.wait import wait_until

SEED = pki.CaServerSettings()  # exportable key, as the seed's step 3 requires for the backup
PASSPHRASE = "cisco123"
BACKUP = "flash:"
UNDO = ["no ip http server", "no clock summer-time", "no clock timezone"]

pytestmark = [pytest.mark.roles("ca"), pytest.mark.destructive]


def _ca_files(session):
    return sorted(
        f.name
        for f in parse("dir nvram:", session.run("dir nvram:")).files
        if f.name.startswith(SEED.name) or f.name.endswith(".cnm")
    )


def _server(session):
    return parse("show crypto pki server", session.run("show crypto pki server")).servers[0]


def _ca_certificate(session):
    certs = parse("show crypto pki certificates", session.run("show crypto pki certificates")).certificates
    return next(c for c in certs if c.section == "CA Certificate")


def _issue(ca, count):
    """Issue ``count`` certificates through `request pkcs10 terminal` requests from the CA itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    serials = []
    for i in range(count):
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(
                x509.Name(
                    [x509.NameAttribute(x509.ObjectIdentifier("1.2.840.113549.1.9.2"), f"branch{i}.ese.cisco.com")]
                )
            )
            .sign(key, hashes.SHA256())
        )
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        req = pki.submit_terminal_request(ca, SEED.name, pem)
        serials.append(_granted_serial(ca, req))
    return serials


def _granted_serial(ca, request_id):
    import base64

    from cryptography import x509

    b64 = pki.grant_terminal(ca, SEED.name, request_id)
    return x509.load_der_x509_certificate(base64.b64decode(b64)).serial_number


@pytest.fixture(scope="module")
def backed_up(sessions):
    """The seed's CA, some issued and one revoked certificate, keys exported, files copied off."""
    ca = sessions.get("ca")
    before = baseline.snapshot(ca)
    backups = []
    try:
        ca.config(["clock timezone EST -5", "clock summer-time EDT recurring"])
        pki.bring_up_ca(ca, SEED)
        ca.run("write memory")
        serials = _issue(ca, 3)
        pki.revoke(ca, SEED.name, serials[1])
        pki.export_keys(ca, SEED.name, PASSPHRASE)
        ca.run("write memory")
        state = {
            "server": _server(ca),
            "ca_cert": _ca_certificate(ca),
            "serials": serials,
            "crl": pki.server_crl(ca, SEED.name),
        }
        for name in _ca_files(ca):
            pki.copy_file(ca, f"nvram:{name}", f"{BACKUP}{name}")
            backups.append(name)
        yield ca, state, backups
    finally:
        ca = sessions.get("ca")
        for name in backups:
            ca.run(f"delete /force {BACKUP}{name}", check=False)
        left = baseline.restore(ca, before, UNDO)
        assert not left, left


def _destroy(ca):
    """The failure: server, trustpoint and keys gone, the CA's files lost."""
    ca.run("configure terminal")
    try:
        ca.dialog(
            f"no crypto pki server {SEED.name}",
            [Answer(r"want to do this\? \[yes/no\]:", "yes"), Answer(r"and\s+key\? \[yes/no\]:", "yes")],
            check=False,
        )
    finally:
        ca.run("end", check=False)
    for name in _ca_files(ca):
        ca.run(f"delete /force nvram:{name}")


def _copy_back(ca, backups):
    for name in backups:
        pki.copy_file(ca, f"{BACKUP}{name}", f"nvram:{name}")


def _restore(ca, passphrase):
    if not pki.import_keys(ca, SEED.name, passphrase):
        return False
    ca.config(
        [
            f"crypto pki trustpoint {SEED.name}",
            "revocation-check crl",
            f"rsakeypair {SEED.name}",
            f"crypto pki certificate chain {SEED.name}",
            f"certificate ca 01 nvram:{SEED.name}#6101CA.cer",
        ]
    )
    ca.run("configure terminal")
    try:
        for line in SEED.lines():
            ca.run(line)
        ca.dialog("no shutdown", [Answer(r"\[yes/no\]:", "yes")])
    finally:
        ca.run("end", check=False)
    wait_until(lambda: _server(ca).enabled, 30, 0.3, "restored CA enabled")
    return True


@pytest.mark.seed("Backing Up and Restoring the Cisco IOS CA Server: Restoring Files To a Replacement CA")
def test_restore_continues_where_the_ca_left_off(device, backed_up):
    ca, state, backups = backed_up
    ca = device("ca")
    _destroy(ca)
    assert not _ca_files(ca), "the CA's files are gone"
    _copy_back(ca, backups)
    assert not pki.import_keys(ca, SEED.name, "not-the-passphrase"), "wrong passphrase accepted"
    shown = ca.run("show crypto key mypubkey rsa")
    keys = parse("show crypto key mypubkey rsa", shown).keys if shown.strip() else ()
    assert SEED.name not in {k.name for k in keys}, "a refused import must import nothing"
    assert _restore(ca, PASSPHRASE), "the right passphrase imports the key pair"
    server = _server(ca)
    assert int(server.last_serial, 16) == int(state["server"].last_serial, 16), "serial counter restored"
    assert server.fingerprint == state["server"].fingerprint, "the same CA certificate"
    cert = _ca_certificate(ca)
    assert cert.start_at == state["ca_cert"].start_at, "the CA certificate keeps its original start date"
    crl = pki.server_crl(ca, SEED.name)
    revoked = {int(e.serial, 16) for e in crl.revoked}
    assert state["serials"][1] in revoked, "revoked serials are still on the CRL"
    new_serial = _issue(ca, 1)[0]
    assert new_serial == int(state["server"].last_serial, 16) + 1, "the next certificate continues the serials"
