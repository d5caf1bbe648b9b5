"""Enrollment with a Cisco IOS Software CA over SCEP.

Seed sections: "Enrolling a VPN Headend Router…", "Approving an Enrollment…", "Commands for Managing
the PKI Server".

The headend enrolls with a manual grant: the request is pending on both sides with the same
fingerprint, the grant delivers an Available certificate whose fields follow the CA's settings,
and the certificate verifies against the CA with cryptography. A second router checks auto grant,
reject and one-time challenge passwords (valid: granted at once; wrong, reused or expired: not).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pkilab.device.session import Session
from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.parsers.server import ServerRequest
from pkilab.pki.names import parse_ios_dn, render_dn_lines
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, pki
from pkilab.wait import wait_until

pytestmark = [pytest.mark.roles("ca", "headend", "host"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def settings(plan: LabPlan) -> pki.CaServerSettings:
    return pki.CaServerSettings.from_plan(plan)


@pytest.fixture(scope="module")
def tp(plan: LabPlan) -> pki.TrustpointSettings:
    """The plan's trustpoint: enrollment URL of the CA, revocation-check crl, auto-enroll."""
    return pki.TrustpointSettings.from_plan(plan)


def _prepare(session: Session, plan: LabPlan, tp: pki.TrustpointSettings, exportable: bool) -> None:
    session.config([plan.ca.host_line, *plan.timezone.lines()])
    pki.generate_keys(session, None, plan.crypto.modulus, exportable=exportable)
    pki.configure_trustpoint(session, tp)


@pytest.fixture(scope="module")
def ca(sessions: SessionPool, plan: LabPlan, settings: pki.CaServerSettings) -> Iterator[Session]:
    with baseline.left_as_found(sessions.get, plan.ca.device) as keeper:
        keeper.undo(plan.ca.device, "no ip http server", *plan.timezone.undo())
        session = sessions.get(plan.ca.device)
        session.config(plan.timezone.lines())
        pki.bring_up_ca(session, settings)
        yield session


@pytest.fixture(scope="module")
def headend(sessions: SessionPool, plan: LabPlan, tp: pki.TrustpointSettings, ca: Session) -> Iterator[Session]:
    name = plan.headend.name
    with baseline.left_as_found(sessions.get, name) as keeper:
        keeper.undo(name, f"no ip host {plan.ca.url_host}", *plan.timezone.undo())
        _prepare(sessions.get(name), plan, tp, exportable=True)
        yield sessions.get(name)


@pytest.fixture
def second_router(
    sessions: SessionPool, plan: LabPlan, tp: pki.TrustpointSettings, settings: pki.CaServerSettings, ca: Session
) -> Iterator[Session]:
    """A second enrolling router (the first host), put back as it was after each test."""
    name = plan.hosts[0].name
    try:
        with baseline.left_as_found(sessions.get, name) as keeper:
            keeper.undo(name, f"no ip host {plan.ca.url_host}", *plan.timezone.undo())
            session = sessions.get(name)
            _prepare(session, plan, tp, exportable=False)
            pki.authenticate(session, tp.name)
            yield session
    finally:
        pki.set_grant_mode(sessions.get(plan.ca.device), settings.name, auto=False)


def _pending(ca: Session, server: str, hostname: str) -> list[ServerRequest]:
    return [r for r in pki.server_requests(ca, server).requests if r.state == "pending" and hostname in r.subject]


def _states(ca: Session, server: str, hostname: str) -> list[str]:
    return [r.state for r in pki.server_requests(ca, server).requests if hostname in r.subject]


@pytest.mark.seed(
    "Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP, Steps 5-8; "
    "Approving an Enrollment for the VPN Headend Router"
)
def test_headend_manual_grant(
    device: DeviceGetter,
    plan: LabPlan,
    settings: pki.CaServerSettings,
    tp: pki.TrustpointSettings,
    ca: Session,
    headend: Session,
) -> None:
    he, ca_s = device(plan.headend.name), device(plan.ca.device)
    auth = pki.authenticate(he, tp.name)
    assert auth.fingerprint == pki.ca_fingerprint(ca_s, settings)
    assert pki.enroll(he, tp.name, "whatever").request_sent
    fqdn = plan.fqdn(he.name)
    request = wait_until(
        lambda: _pending(ca_s, settings.name, fqdn), plan.deadlines.request, 0.3, "headend request pending on the CA"
    )[0]
    mine = pki.router_certificate(he, tp.name)
    assert mine is not None and mine.status == "Pending"
    assert mine.fingerprint_md5, "the pending request shows its fingerprint"
    assert request.fingerprint == mine.fingerprint_md5.replace(" ", ""), "both sides name the same request"
    pki.grant(ca_s, settings.name, request.id)
    cert = pki.wait_for_certificate(he, tp.name, timeout=plan.deadlines.certificate)
    assert cert.hostname == fqdn
    granted = [r for r in pki.server_requests(ca_s, settings.name).requests if r.id == request.id]
    assert granted[0].state == "granted"


@pytest.mark.seed("Enrolling a VPN Headend Router…, Step 8; Automatically Re-enrolling… (auto-enroll 70)")
def test_issued_certificate_fields(
    device: DeviceGetter, plan: LabPlan, settings: pki.CaServerSettings, tp: pki.TrustpointSettings, headend: Session
) -> None:
    he = device(plan.headend.name)
    cert = pki.wait_for_certificate(he, tp.name, timeout=plan.deadlines.certificate)
    assert cert.subject == (f"hostname={plan.fqdn(he.name)}",)
    assert cert.issuer == tuple(render_dn_lines(parse_ios_dn(settings.issuer_name)))
    start, end = pki.validity(cert)
    assert end - start == dt.timedelta(days=settings.lifetime_certificate)
    expected_renew = start + (end - start) * plan.auto_enroll / 100
    assert abs((pki.renew_date(cert) - expected_renew).total_seconds()) <= 1


@pytest.mark.seed("Copying Certificate Enrollments to a Cisco IOS CA, Step 1 (export PEM)")
def test_exported_certificate_verifies_against_the_ca(
    device: DeviceGetter, plan: LabPlan, tp: pki.TrustpointSettings, headend: Session
) -> None:
    he = device(plan.headend.name)
    pki.wait_for_certificate(he, tp.name, timeout=plan.deadlines.certificate)
    out = pki.export_pem(he, tp.name, plan.ca.passphrase)
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    assert len(pems) == 2, "CA certificate and router certificate"
    ca_cert, router_cert = (x509.load_pem_x509_certificate(p.encode()) for p in pems)
    ca_key = ca_cert.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey) and router_cert.signature_hash_algorithm is not None
    ca_key.verify(
        router_cert.signature,
        router_cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        router_cert.signature_hash_algorithm,
    )
    assert router_cert.issuer == ca_cert.subject


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 13 (grant auto)")
def test_auto_grant(
    device: DeviceGetter,
    plan: LabPlan,
    settings: pki.CaServerSettings,
    tp: pki.TrustpointSettings,
    second_router: Session,
) -> None:
    host, ca_s = second_router, device(plan.ca.device)
    pki.set_grant_mode(ca_s, settings.name, auto=True)
    pki.enroll(host, tp.name, "whatever")
    cert = pki.wait_for_certificate(host, tp.name, timeout=plan.deadlines.certificate)
    assert cert.hostname == plan.fqdn(host.name)
    assert not _pending(ca_s, settings.name, plan.fqdn(host.name))


@pytest.mark.seed("Commands for Managing the PKI Server (reject)")
def test_rejected_request_leaves_no_certificate(
    device: DeviceGetter,
    plan: LabPlan,
    settings: pki.CaServerSettings,
    tp: pki.TrustpointSettings,
    second_router: Session,
) -> None:
    host, ca_s = second_router, device(plan.ca.device)
    wait = plan.deadlines.request
    pki.enroll(host, tp.name, "whatever")
    request = wait_until(lambda: _pending(ca_s, settings.name, plan.fqdn(host.name)), wait, 0.3, "request pending")[0]
    pki.reject(ca_s, settings.name, request.id)
    wait_until(lambda: pki.router_certificate(host, tp.name) is None, wait, 0.3, "pending request dropped")
    rejected = [r for r in pki.server_requests(ca_s, settings.name).requests if r.id == request.id]
    assert rejected and rejected[0].state == "rejected"


@pytest.mark.seed("Commands for Managing the PKI Server (password generate)")
def test_one_time_password_grants_at_once_and_only_once(
    device: DeviceGetter,
    plan: LabPlan,
    settings: pki.CaServerSettings,
    tp: pki.TrustpointSettings,
    second_router: Session,
) -> None:
    host, ca_s, server = second_router, device(plan.ca.device), settings.name
    otp = pki.generate_password(ca_s, server, 60)
    pki.enroll(host, tp.name, otp)
    first = pki.wait_for_certificate(host, tp.name, timeout=plan.deadlines.certificate)
    assert not _pending(ca_s, server, plan.fqdn(host.name)), "a valid one-time password is granted without waiting"
    pki.enroll(host, tp.name, otp)  # the same password again: no longer valid, refused
    wait = plan.deadlines.request
    wait_until(lambda: "rejected" in _states(ca_s, server, plan.fqdn(host.name)), wait, 0.3, "reused password refused")
    assert not _pending(ca_s, server, plan.fqdn(host.name))
    kept = pki.router_certificate(host, tp.name)
    assert kept is None or kept.serial == first.serial, "a refused re-enrollment installs nothing new"


@pytest.mark.seed("Commands for Managing the PKI Server (password generate)")
def test_superseded_password_refused_and_wrong_password_waits(
    device: DeviceGetter,
    plan: LabPlan,
    settings: pki.CaServerSettings,
    tp: pki.TrustpointSettings,
    second_router: Session,
) -> None:
    host, ca_s, server = second_router, device(plan.ca.device), settings.name
    wait = plan.deadlines.request
    old = pki.generate_password(ca_s, server, 60)
    pki.generate_password(ca_s, server, 60)  # only the newest one is valid
    pki.enroll(host, tp.name, old)
    wait_until(lambda: pki.router_certificate(host, tp.name) is None, wait, 0.3, "superseded password refused")
    assert not _pending(ca_s, server, plan.fqdn(host.name))
    # A password that is no one-time password at all is the requester's revocation password:
    # the request waits for the administrator.
    pki.enroll(host, tp.name, "not-a-one-time-password")
    wait_until(lambda: _pending(ca_s, server, plan.fqdn(host.name)), wait, 0.3, "request pending for a manual grant")
