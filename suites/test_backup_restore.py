"""Backing Up and Restoring the Cisco IOS CA Server (seed section of that name).

Keys exported with a passphrase, the CA's files copied off, the CA destroyed, then restored:
the serial numbers continue, revoked serials are still on the CRL, the CA certificate keeps its
start date, and the wrong passphrase is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pkilab.device.session import Answer, Session
from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.parsers import parse
from pkilab.parsers.certificates import Certificate
from pkilab.parsers.server import PkiServer, ServerCrl
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, pki
from pkilab.wait import wait_until

BACKUP = "flash:"

pytestmark = [pytest.mark.roles("ca"), pytest.mark.destructive]


@dataclass(frozen=True)
class Backup:
    """The CA as it was backed up, and the files copied off."""

    settings: pki.CaServerSettings
    server: PkiServer
    ca_cert: Certificate
    serials: list[int]
    crl: ServerCrl
    files: list[str]


@pytest.fixture(scope="module")
def settings(plan: LabPlan) -> pki.CaServerSettings:
    """The plan's CA with an exportable key, as the seed's step 3 requires for the backup."""
    return pki.CaServerSettings.from_plan(plan, exportable=True)


def _ca_files(session: Session, name: str) -> list[str]:
    return sorted(
        f.name
        for f in parse("dir nvram:", session.run("dir nvram:")).files
        if f.name.startswith(name) or f.name.endswith(".cnm")
    )


def _server(session: Session) -> PkiServer:
    return pki.server_status(session).servers[0]


def _ca_certificate(session: Session) -> Certificate:
    return next(c for c in pki.certificates(session).certificates if c.section == "CA Certificate")


def _issue(ca: Session, plan: LabPlan, count: int) -> list[int]:
    """Issue ``count`` certificates through `request pkcs10 terminal` requests from the CA itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    serials = []
    for i in range(count):
        key = rsa.generate_private_key(public_exponent=65537, key_size=plan.crypto.modulus)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(
                x509.Name(
                    [x509.NameAttribute(x509.ObjectIdentifier("1.2.840.113549.1.9.2"), plan.fqdn(f"pkilab-issued{i}"))]
                )
            )
            .sign(key, hashes.SHA256())
        )
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        req = pki.submit_terminal_request(ca, plan.ca.server, pem)
        serials.append(_granted_serial(ca, plan.ca.server, req))
    return serials


def _granted_serial(ca: Session, server: str, request_id: int) -> int:
    import base64

    from cryptography import x509

    b64 = pki.grant_terminal(ca, server, request_id)
    return x509.load_der_x509_certificate(base64.b64decode(b64)).serial_number


@pytest.fixture(scope="module")
def backed_up(sessions: SessionPool, plan: LabPlan, settings: pki.CaServerSettings) -> Iterator[Backup]:
    """The plan's CA, some issued and one revoked certificate, keys exported, files copied off."""
    name = plan.ca.device
    files: list[str] = []
    try:
        with baseline.left_as_found(sessions.get, name) as keeper:
            keeper.undo(name, "no ip http server", *plan.timezone.undo())
            ca = sessions.get(name)
            ca.config(plan.timezone.lines())
            pki.bring_up_ca(ca, settings, timeout=plan.deadlines.keygen)
            ca.run("write memory")
            serials = _issue(ca, plan, 3)
            pki.revoke(ca, settings.name, serials[1])
            pki.export_keys(ca, settings.name, settings.passphrase, timeout=plan.deadlines.transfer)
            ca.run("write memory")
            server, ca_cert, crl = _server(ca), _ca_certificate(ca), pki.server_crl(ca, settings.name)
            for file in _ca_files(ca, settings.name):
                pki.copy_file(ca, f"nvram:{file}", f"{BACKUP}{file}", timeout=plan.deadlines.transfer)
                files.append(file)
            yield Backup(settings, server, ca_cert, serials, crl, files)
    finally:
        ca = sessions.get(name)
        for file in files:
            ca.run(f"delete /force {BACKUP}{file}", check=False)


def _destroy(ca: Session, name: str) -> None:
    """The failure: server, trustpoint and keys gone, the CA's files lost."""
    ca.run("configure terminal")
    try:
        ca.dialog(
            f"no crypto pki server {name}",
            [Answer(r"want to do this\? \[yes/no\]:", "yes"), Answer(r"and\s+key\? \[yes/no\]:", "yes")],
            check=False,
        )
    finally:
        ca.run("end", check=False)
    for file in _ca_files(ca, name):
        ca.run(f"delete /force nvram:{file}")


def _copy_back(ca: Session, files: list[str]) -> None:
    for file in files:
        pki.copy_file(ca, f"{BACKUP}{file}", f"nvram:{file}")


def _restore(ca: Session, settings: pki.CaServerSettings, passphrase: str, timeout: float) -> bool:
    name = settings.name
    if not pki.import_keys(ca, name, passphrase):
        return False
    ca.config(
        [
            f"crypto pki trustpoint {name}",
            "revocation-check crl",
            f"rsakeypair {name}",
            f"crypto pki certificate chain {name}",
            f"certificate ca 01 nvram:{name}#6101CA.cer",
        ]
    )
    ca.run("configure terminal")
    try:
        for line in settings.lines():
            ca.run(line)
        ca.dialog("no shutdown", [Answer(r"\[yes/no\]:", "yes")])
    finally:
        ca.run("end", check=False)
    wait_until(lambda: _server(ca).enabled, timeout, 0.3, "restored CA enabled")
    return True


@pytest.mark.seed("Backing Up and Restoring the Cisco IOS CA Server: Restoring Files To a Replacement CA")
def test_restore_continues_where_the_ca_left_off(device: DeviceGetter, plan: LabPlan, backed_up: Backup) -> None:
    ca, state, name = device(plan.ca.device), backed_up, backed_up.settings.name
    _destroy(ca, name)
    assert not _ca_files(ca, name), "the CA's files are gone"
    _copy_back(ca, state.files)
    assert not pki.import_keys(ca, name, "not-the-passphrase", timeout=plan.deadlines.transfer), (
        "wrong passphrase accepted"
    )
    shown = ca.run("show crypto key mypubkey rsa")
    keys = parse("show crypto key mypubkey rsa", shown).keys if shown.strip() else ()
    assert name not in {k.name for k in keys}, "a refused import must import nothing"
    assert _restore(ca, state.settings, state.settings.passphrase, plan.deadlines.certificate), (
        "the right passphrase imports the key pair"
    )
    server = _server(ca)
    assert server.last_serial is not None and state.server.last_serial is not None
    assert int(server.last_serial, 16) == int(state.server.last_serial, 16), "serial counter restored"
    assert server.fingerprint == state.server.fingerprint, "the same CA certificate"
    cert = _ca_certificate(ca)
    assert cert.start_at == state.ca_cert.start_at, "the CA certificate keeps its original start date"
    crl = pki.server_crl(ca, name)
    revoked = {int(e.serial, 16) for e in crl.revoked}
    assert state.serials[1] in revoked, "revoked serials are still on the CRL"
    new_serial = _issue(ca, plan, 1)[0]
    assert new_serial == int(state.server.last_serial, 16) + 1, "the next certificate continues the serials"
