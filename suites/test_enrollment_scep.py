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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pkilab.device.session import Session
from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.parsers.certificates import Certificate
from pkilab.parsers.server import ServerRequest
from pkilab.pki.names import parse_ios_dn, render_dn_lines
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, pki, scenario
from pkilab.wait import wait_until

T = TypeVar("T")

pytestmark = [pytest.mark.roles("ca", "headend"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def settings(plan: LabPlan) -> pki.CaServerSettings:
    return pki.CaServerSettings.from_plan(plan)


@pytest.fixture(scope="module")
def tp(plan: LabPlan) -> pki.TrustpointSettings:
    """The plan's trustpoint: enrollment URL of the CA, revocation-check crl, auto-enroll."""
    return pki.TrustpointSettings.from_plan(plan)


def _prepare(session: Session, plan: LabPlan, tp: pki.TrustpointSettings, exportable: bool) -> None:
    session.config([plan.ca.host_line, *plan.timezone.lines()])
    pki.generate_keys(session, None, plan.crypto.modulus, exportable=exportable, timeout=plan.deadlines.keygen)
    pki.configure_trustpoint(session, tp)


@pytest.fixture(scope="module")
def ca(sessions: SessionPool, plan: LabPlan, settings: pki.CaServerSettings) -> Iterator[Session]:
    with scenario.ca_running(plan, sessions.get, settings) as session:
        yield session


@pytest.fixture(scope="module")
def headend(sessions: SessionPool, plan: LabPlan, tp: pki.TrustpointSettings, ca: Session) -> Iterator[Session]:
    name = plan.headend.name
    with baseline.left_as_found(sessions.get, name) as keeper:
        keeper.undo(name, f"no ip host {plan.ca.url_host}", *plan.timezone.undo())
        _prepare(sessions.get(name), plan, tp, exportable=True)
        yield sessions.get(name)


@dataclass(frozen=True)
class Requester:
    """A second enrolling router and the CA it enrolls with, with the plan's names and deadlines."""

    session: Session
    ca: Session
    server: str
    tp: str
    fqdn: str
    plan: LabPlan

    def pending(self) -> list[ServerRequest]:
        """This router's requests pending on the CA."""
        return [r for r in pki.server_requests(self.ca, self.server).requests if r.state == "pending" and self.mine(r)]

    def states(self) -> list[str]:
        """The states of this router's requests on the CA."""
        return [r.state for r in pki.server_requests(self.ca, self.server).requests if self.mine(r)]

    def mine(self, request: ServerRequest) -> bool:
        return self.fqdn in request.subject

    def wait(self, condition: Callable[[], T | None], what: str) -> T:
        """Wait for what the CA decides when the request arrives."""
        return wait_until(condition, self.plan.deadlines.request, 0.3, f"{self.session.name}: {what}")

    def wait_polled(self, condition: Callable[[], T | None], what: str) -> T:
        """Wait for what the router learns only at its next poll of a pending request (retry period)."""
        return wait_until(condition, self.plan.deadlines.certificate, 0.3, f"{self.session.name}: {what}")

    def enroll(self, challenge: str) -> None:
        """``crypto pki enroll`` with ``challenge`` as the challenge password."""
        pki.enroll(self.session, self.tp, challenge, timeout=self.plan.deadlines.keygen)

    def certificate(self) -> Certificate:
        return pki.wait_for_certificate(self.session, self.tp, timeout=self.plan.deadlines.certificate)


@pytest.fixture
def requester(
    sessions: SessionPool, plan: LabPlan, tp: pki.TrustpointSettings, settings: pki.CaServerSettings, ca: Session
) -> Iterator[Requester]:
    """A second enrolling router (the first host, else the last branch), put back as it was after each test."""
    others = [r.name for r in (*plan.hosts, *reversed(plan.branches))]
    if not others:
        pytest.skip(f"{plan.name}: no host or branch to enroll besides the headend")
    name = others[0]
    try:
        with baseline.left_as_found(sessions.get, name) as keeper:
            keeper.undo(name, f"no ip host {plan.ca.url_host}", *plan.timezone.undo())
            session = sessions.get(name)
            _prepare(session, plan, tp, exportable=False)
            pki.authenticate(session, tp.name, timeout=plan.deadlines.transfer)
            yield Requester(session, ca, settings.name, tp.name, plan.fqdn(name), plan)
    finally:
        pki.set_grant_mode(sessions.get(plan.ca.device), settings.name, auto=False)


def _pending(ca: Session, server: str, hostname: str) -> list[ServerRequest]:
    return [r for r in pki.server_requests(ca, server).requests if r.state == "pending" and hostname in r.subject]


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
    auth = pki.authenticate(he, tp.name, timeout=plan.deadlines.transfer)
    assert auth.fingerprint == pki.ca_fingerprint(ca_s, settings)
    assert pki.enroll(he, tp.name, "whatever", timeout=plan.deadlines.keygen).request_sent
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
def test_auto_grant(requester: Requester) -> None:
    r = requester
    pki.set_grant_mode(r.ca, r.server, auto=True)
    r.enroll("whatever")
    assert r.certificate().hostname == r.fqdn
    assert not r.pending()


@pytest.mark.seed("Commands for Managing the PKI Server (reject)")
def test_rejected_request_leaves_no_certificate(requester: Requester) -> None:
    r = requester
    r.enroll("whatever")
    request = r.wait(r.pending, "request pending")[0]
    pki.reject(r.ca, r.server, request.id)
    r.wait_polled(lambda: pki.router_certificate(r.session, r.tp) is None, "pending request dropped")
    rejected = [q for q in pki.server_requests(r.ca, r.server).requests if q.id == request.id]
    assert rejected and rejected[0].state == "rejected"


@pytest.mark.seed("Commands for Managing the PKI Server (password generate)")
def test_one_time_password_grants_at_once_and_only_once(requester: Requester) -> None:
    r = requester
    otp = pki.generate_password(r.ca, r.server, 60)
    r.enroll(otp)
    first = r.certificate()
    assert not r.pending(), "a valid one-time password is granted without waiting"
    r.enroll(otp)  # the same password again: no longer valid, refused
    r.wait(lambda: "rejected" in r.states(), "reused password refused")
    assert not r.pending()
    kept = pki.router_certificate(r.session, r.tp)
    assert kept is None or kept.serial == first.serial, "a refused re-enrollment installs nothing new"


@pytest.mark.seed("Commands for Managing the PKI Server (password generate)")
def test_superseded_password_refused_and_wrong_password_waits(requester: Requester) -> None:
    r = requester
    old = pki.generate_password(r.ca, r.server, 60)
    pki.generate_password(r.ca, r.server, 60)  # only the newest one is valid
    r.enroll(old)
    r.wait(lambda: pki.router_certificate(r.session, r.tp) is None, "superseded password refused")
    assert not r.pending()
    # A password that is no one-time password at all is the requester's revocation password:
    # the request waits for the administrator.
    r.enroll("not-a-one-time-password")
    r.wait(r.pending, "request pending for a manual grant")
