"""Automatically Re-enrolling Expired Certificates Before Expiration (seed section of that name).

With ``auto-enroll 70`` the router re-enrolls when 70 % of its certificate's lifetime has passed
— by its own clock: moving the clock past the renew date starts the re-enrollment, the CA
grants it, the new certificate (a new serial) replaces the old one on the router, and the CA
still has the old one. ``show crypto pki timers`` shows the RENEW timer as the seed does.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pkilab.parsers import parse
from pkilab.procedures import baseline, clock, pki
from pkilab.wait import wait_until

SEED = pki.CaServerSettings()
TP = pki.TrustpointSettings()  # auto-enroll 70

pytestmark = [pytest.mark.roles("ca", "headend"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def enrolled(sessions):
    ca, he = sessions.get("ca"), sessions.get("headend")
    saved = {s.name: baseline.snapshot(s) for s in (ca, he)}
    try:
        pki.bring_up_ca(ca, SEED)
        he.config(["ip host ese-ios-ca 10.59.138.12"])
        pki.generate_keys(he, None, 1024, exportable=False)
        pki.configure_trustpoint(he, TP)
        pki.authenticate(he, TP.name)
        pki.enroll(he, TP.name, "whatever")
        request = wait_until(
            lambda: [r for r in pki.server_requests(ca, SEED.name).requests if r.state == "pending"],
            30,
            0.3,
            "request pending",
        )[0]
        pki.grant(ca, SEED.name, request.id)
        yield pki.wait_for_certificate(he, TP.name, timeout=30)
    finally:
        problems = baseline.restore(sessions.get("headend"), saved[he.name], ["no ip host ese-ios-ca"])
        problems += baseline.restore(sessions.get("ca"), saved[ca.name], ["no ip http server"])
        assert not problems, problems


@pytest.mark.seed("Automatically Re-enrolling…, Q8 (show crypto ca timers)")
def test_renew_timer_counts_down_to_the_renew_date(device, enrolled):
    he = device("headend")
    timers = parse("show crypto pki timers", he.run("show crypto pki timers")).timers
    renew = [t for t in timers if t.label == f"RENEW {TP.name}"]
    assert renew, "a RENEW timer for the trustpoint"
    now = parse("show clock", he.run("show clock")).datetime
    expected = (enrolled.renew_at - now).total_seconds()
    assert abs(renew[0].seconds - expected) < 60


@pytest.mark.seed("Automatically Re-enrolling Expired Certificates Before Expiration (auto-enroll 70)")
def test_clock_past_renew_date_re_enrolls(device, enrolled):
    he, ca = device("headend"), device("ca")
    old = enrolled
    # Time passes for both routers (the CA dates the new certificate by its own clock).
    after_renew = (old.renew_at + dt.timedelta(minutes=5)).astimezone(dt.UTC).replace(tzinfo=None)
    with clock.skewed(ca, after_renew), clock.skewed(he, after_renew):
        request = wait_until(
            lambda: [
                r
                for r in pki.server_requests(ca, SEED.name).requests
                if r.state == "pending" and "ese-cryagg" in r.subject
            ],
            30,
            0.3,
            "re-enrollment request pending on the CA",
        )[0]
        pki.grant(ca, SEED.name, request.id)

        def renewed():
            cert = pki.router_certificate(he, TP.name)
            return cert if cert is not None and cert.status == "Available" and cert.serial != old.serial else None

        new = wait_until(renewed, 30, 0.3, "new certificate installed")
    assert int(new.serial, 16) > int(old.serial, 16)
    certs = parse("show crypto pki certificates", he.run("show crypto pki certificates")).certificates
    mine = [c for c in certs if c.section == "Certificate"]
    assert [c.serial for c in mine] == [new.serial], "the router keeps only the new certificate"
    issued = parse(
        f"show crypto pki server {SEED.name} certificates", ca.run(f"show crypto pki server {SEED.name} certificates")
    ).certificates
    serials = {int(c.serial, 16) for c in issued}
    assert {int(old.serial, 16), int(new.serial, 16)} <= serials, "the CA still has the old certificate"
