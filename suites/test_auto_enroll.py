"""Automatically Re-enrolling Expired Certificates Before Expiration (seed section of that name).

With ``auto-enroll 70`` the router re-enrolls when 70 % of its certificate's lifetime has passed
— by its own clock: moving the clock past the renew date starts the re-enrollment, the CA
grants it, the new certificate (a new serial) replaces the old one on the router, and the CA
still has the old one. ``show crypto pki timers`` shows the RENEW timer as the seed does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.parsers import parse
from pkilab.parsers.certificates import Certificate
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, clock, pki, scenario
from pkilab.wait import wait_until

pytestmark = [pytest.mark.roles("ca", "headend"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def enrolled(sessions: SessionPool, plan: LabPlan) -> Iterator[Certificate]:
    """The headend enrolled with the plan's CA (manual grant), auto-enroll as the plan says."""
    ca, he = plan.ca.device, plan.headend.name
    with baseline.left_as_found(sessions.get, ca, he) as keeper:
        keeper.undo(ca, "no ip http server")
        keeper.undo(he, f"no ip host {plan.ca.url_host}")
        pki.bring_up_ca(sessions.get(ca), pki.CaServerSettings.from_plan(plan), timeout=plan.deadlines.keygen)
        sessions.get(he).config([plan.ca.host_line])
        pki.generate_keys(sessions.get(he), None, plan.crypto.modulus, exportable=False, timeout=plan.deadlines.keygen)
        yield scenario.enroll_with_grant(
            plan, sessions.get(he), sessions.get(ca), pki.TrustpointSettings.from_plan(plan)
        )


@pytest.mark.seed("Automatically Re-enrolling…, Q8 (show crypto ca timers)")
def test_renew_timer_counts_down_to_the_renew_date(device: DeviceGetter, plan: LabPlan, enrolled: Certificate) -> None:
    he = device(plan.headend.name)
    timers = parse("show crypto pki timers", he.run("show crypto pki timers")).timers
    renew = [t for t in timers if t.label == f"RENEW {plan.ca.trustpoint}"]
    assert renew, "a RENEW timer for the trustpoint"
    now = parse("show clock", he.run("show clock")).datetime
    expected = (pki.renew_date(enrolled) - now).total_seconds()
    assert abs(renew[0].seconds - expected) < 60


@pytest.mark.seed("Automatically Re-enrolling Expired Certificates Before Expiration (auto-enroll 70)")
def test_clock_past_renew_date_re_enrolls(device: DeviceGetter, plan: LabPlan, enrolled: Certificate) -> None:
    he, ca = device(plan.headend.name), device(plan.ca.device)
    server, tp, fqdn = plan.ca.server, plan.ca.trustpoint, plan.fqdn(plan.headend.name)
    old = enrolled
    # Time passes for both routers (the CA dates the new certificate by its own clock).
    after_renew = (pki.renew_date(old) + dt.timedelta(minutes=5)).astimezone(dt.UTC).replace(tzinfo=None)
    sync = plan.deadlines.clock_sync
    with clock.skewed(ca, after_renew, sync), clock.skewed(he, after_renew, sync):
        request = wait_until(
            lambda: [r for r in pki.server_requests(ca, server).requests if r.state == "pending" and fqdn in r.subject],
            plan.deadlines.request,
            0.3,
            "re-enrollment request pending on the CA",
        )[0]
        pki.grant(ca, server, request.id)

        def renewed() -> Certificate | None:
            cert = pki.router_certificate(he, tp)
            return cert if cert is not None and cert.status == "Available" and cert.serial != old.serial else None

        new = wait_until(renewed, plan.deadlines.certificate, 0.3, "new certificate installed")
    assert pki.serial(new) > pki.serial(old)
    certs = parse("show crypto pki certificates", he.run("show crypto pki certificates")).certificates
    mine = [c for c in certs if c.section == "Certificate"]
    assert [c.serial for c in mine] == [new.serial], "the router keeps only the new certificate"
    issued = parse(
        f"show crypto pki server {server} certificates", ca.run(f"show crypto pki server {server} certificates")
    ).certificates
    serials = {int(c.serial, 16) for c in issued}
    assert {pki.serial(old), pki.serial(new)} <= serials, "the CA still has the old certificate"
