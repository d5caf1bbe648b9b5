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

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding

from pkilab.parsers import parse
from pkilab.procedures import baseline, pki
from pkilab.wait import wait_until

SEED = pki.CaServerSettings()
TP = pki.TrustpointSettings()  # enrollment url http://ese-ios-ca:80, revocation-check crl, auto-enroll 70
PREP = ["ip host ese-ios-ca 10.59.138.12", "clock timezone EST -5", "clock summer-time EDT recurring"]
UNDO = ["no ip host ese-ios-ca", "no clock summer-time", "no clock timezone"]

pytestmark = [pytest.mark.roles("ca", "headend", "host"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def ca(sessions):
    session = sessions.get("ca")
    before = baseline.snapshot(session)
    try:
        session.config(PREP[1:])
        pki.bring_up_ca(session, SEED)
        yield session
    finally:
        left = baseline.restore(sessions.get("ca"), before, ["no ip http server", *UNDO[1:]])
        assert not left, left


@pytest.fixture(scope="module")
def headend(sessions, ca):
    session = sessions.get("headend")
    before = baseline.snapshot(session)
    try:
        session.config(PREP)
        pki.generate_keys(session, None, 1024, exportable=True)
        pki.configure_trustpoint(session, TP)
        yield session
    finally:
        left = baseline.restore(sessions.get("headend"), before, UNDO)
        assert not left, left


@pytest.fixture
def second_router(sessions, ca):
    """A second enrolling router (the HQ host), put back as it was after each test."""
    session = sessions.get("host")
    before = baseline.snapshot(session)
    try:
        session.config(PREP)
        pki.generate_keys(session, None, 1024, exportable=False)
        pki.configure_trustpoint(session, TP)
        pki.authenticate(session, TP.name)
        yield session
    finally:
        pki.set_grant_mode(sessions.get("ca"), SEED.name, auto=False)
        left = baseline.restore(sessions.get("host"), before, UNDO)
        assert not left, left


def _pending(ca, hostname):
    return [r for r in pki.server_requests(ca, SEED.name).requests if r.state == "pending" and hostname in r.subject]


@pytest.mark.seed(
    "Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP, Steps 5-8; "
    "Approving an Enrollment for the VPN Headend Router"
)
def test_headend_manual_grant(device, ca, headend):
    he, ca_s = device("headend"), device("ca")
    auth = pki.authenticate(he, TP.name)
    server = parse("show crypto pki server", ca_s.run("show crypto pki server")).servers[0]
    assert auth.fingerprint == server.fingerprint
    assert pki.enroll(he, TP.name, "whatever").request_sent
    request = wait_until(lambda: _pending(ca_s, "ese-cryagg"), 30, 0.3, "headend request pending on the CA")[0]
    mine = pki.router_certificate(he, TP.name)
    assert mine is not None and mine.status == "Pending"
    assert mine.fingerprint_md5, "the pending request shows its fingerprint"
    assert request.fingerprint == mine.fingerprint_md5.replace(" ", ""), "both sides name the same request"
    pki.grant(ca_s, SEED.name, request.id)
    cert = pki.wait_for_certificate(he, TP.name, timeout=30)
    assert cert.hostname == "ese-cryagg.ese.cisco.com"
    granted = [r for r in pki.server_requests(ca_s, SEED.name).requests if r.id == request.id]
    assert granted[0].state == "granted"


@pytest.mark.seed("Enrolling a VPN Headend Router…, Step 8; Automatically Re-enrolling… (auto-enroll 70)")
def test_issued_certificate_fields(device, headend):
    he = device("headend")
    cert = pki.wait_for_certificate(he, TP.name, timeout=30)
    assert cert.subject == ("hostname=ese-cryagg.ese.cisco.com",)
    assert cert.issuer[0] == "cn=ese-ios-ca"
    assert cert.end_at - cert.start_at == dt.timedelta(days=SEED.lifetime_certificate)
    expected_renew = cert.start_at + (cert.end_at - cert.start_at) * 0.70
    assert abs((cert.renew_at - expected_renew).total_seconds()) <= 1


@pytest.mark.seed("Copying Certificate Enrollments to a Cisco IOS CA, Step 1 (export PEM)")
def test_exported_certificate_verifies_against_the_ca(device, headend):
    he = device("headend")
    pki.wait_for_certificate(he, TP.name, timeout=30)
    out = he.run(f"crypto pki export {TP.name} pem terminal 3des pkilab-export-pass")
    he.masker.add("pkilab-export-pass")
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    assert len(pems) == 2, "CA certificate and router certificate"
    ca_cert, router_cert = (x509.load_pem_x509_certificate(p.encode()) for p in pems)
    ca_cert.public_key().verify(
        router_cert.signature,
        router_cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        router_cert.signature_hash_algorithm,
    )
    assert router_cert.issuer == ca_cert.subject


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 13 (grant auto)")
def test_auto_grant(device, second_router):
    host, ca_s = device("host"), device("ca")
    pki.set_grant_mode(ca_s, SEED.name, auto=True)
    pki.enroll(host, TP.name, "whatever")
    cert = pki.wait_for_certificate(host, TP.name, timeout=30)
    assert cert.hostname.startswith("hq-host.")
    assert not _pending(ca_s, "hq-host")


@pytest.mark.seed("Commands for Managing the PKI Server (reject)")
def test_rejected_request_leaves_no_certificate(device, second_router):
    host, ca_s = device("host"), device("ca")
    pki.enroll(host, TP.name, "whatever")
    request = wait_until(lambda: _pending(ca_s, "hq-host"), 30, 0.3, "request pending")[0]
    pki.reject(ca_s, SEED.name, request.id)
    wait_until(lambda: pki.router_certificate(host, TP.name) is None, 30, 0.3, "pending request dropped")
    rejected = [r for r in pki.server_requests(ca_s, SEED.name).requests if r.id == request.id]
    assert rejected and rejected[0].state == "rejected"


def _states(ca, hostname):
    return [r.state for r in pki.server_requests(ca, SEED.name).requests if hostname in r.subject]


@pytest.mark.seed("Commands for Managing the PKI Server (password generate)")
def test_one_time_password_grants_at_once_and_only_once(device, second_router):
    host, ca_s = device("host"), device("ca")
    otp = pki.generate_password(ca_s, SEED.name, 60)
    pki.enroll(host, TP.name, otp)
    first = pki.wait_for_certificate(host, TP.name, timeout=30)
    assert not _pending(ca_s, "hq-host"), "a valid one-time password is granted without waiting"
    pki.enroll(host, TP.name, otp)  # the same password again: no longer valid, refused
    wait_until(lambda: "rejected" in _states(ca_s, "hq-host"), 30, 0.3, "reused password refused")
    assert not _pending(ca_s, "hq-host")
    kept = pki.router_certificate(host, TP.name)
    assert kept is None or kept.serial == first.serial, "a refused re-enrollment installs nothing new"


@pytest.mark.seed("Commands for Managing the PKI Server (password generate)")
def test_superseded_password_refused_and_wrong_password_waits(device, second_router):
    host, ca_s = device("host"), device("ca")
    old = pki.generate_password(ca_s, SEED.name, 60)
    pki.generate_password(ca_s, SEED.name, 60)  # only the newest one is valid
    pki.enroll(host, TP.name, old)
    wait_until(lambda: pki.router_certificate(host, TP.name) is None, 30, 0.3, "superseded password refused")
    assert not _pending(ca_s, "hq-host")
    # A password that is no one-time password at all is the requester's revocation password:
    # the request waits for the administrator.
    pki.enroll(host, TP.name, "not-a-one-time-password")
    wait_until(lambda: _pending(ca_s, "hq-host"), 30, 0.3, "request pending for a manual grant")
