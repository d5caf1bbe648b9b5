"""Certificates judged by each router's own clock (seed: "Automatically Re-enrolling…", Q3 and Q4).

The branch's clock set past its certificates' end: new tunnels are refused with the seed's log
lines (branch: IKMP_INVAL_CERT "CA request failed!", IKMP_MODE_FAILURE; headend: IKMP_BAD_MESSAGE
from the branch) and never reach QM_IDLE on either side; set before their start: refused; restored:
the tunnel comes up again. Removing auto-enroll shows the seed's 1969 renew date (the Unix epoch in
the router's time zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from pkilab.device.session import Session
from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.plan import LabPlan
from pkilab.procedures import clock, pki, scenario, vpn

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions: SessionPool, plan: LabPlan) -> Iterator[scenario.SeedLab]:
    with scenario.seed_lab(plan, sessions.get, branch_revocation="crl") as lab:
        yield lab


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)  # the lab's routers keep UTC here


def _refused(he: Session, br: Session, plan: LabPlan, seed: scenario.SeedLab) -> None:
    vpn.clear_sas(he, br)
    result = vpn.ping(br, plan.target, seed.main.lan_if, 10)
    assert result.received == 0, result.pattern
    assert not [sa for sa in vpn.isakmp_sas(br) if sa.state == "QM_IDLE"], "never QM_IDLE"


@pytest.mark.seed("Automatically Re-enrolling…, Q3, steps 3-8 (clock set past the certificate's end)")
def test_clock_past_certificate_end_refused(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    vpn.clear_log(he)
    vpn.clear_log(br)
    with clock.skewed(br, _local(pki.validity(seed.branch_cert)[1] + dt.timedelta(days=30)), plan.deadlines.clock_sync):
        _refused(he, br, plan, seed)
        peer = seed.vpn.headend_address
        vpn.wait_logged(
            br,
            "IKMP_INVAL_CERT",
            f"Certificate received from {peer} is bad: CA request failed!",
            timeout=plan.deadlines.tunnel,
        )
        vpn.wait_logged(
            br,
            "IKMP_MODE_FAILURE",
            f"Processing of Informational mode failed with peer at {peer}",
            timeout=plan.deadlines.tunnel,
        )
        # The headend's side (seed step 8): the branch's refusal is a message it cannot process, and it
        # keeps no tunnel with the branch.
        vpn.wait_logged(
            he,
            "IKMP_BAD_MESSAGE",
            f"IKE message from {seed.vpn.branch_address} failed its sanity check or is malformed",
            timeout=plan.deadlines.tunnel,
        )
        assert not [sa for sa in vpn.isakmp_sas(he) if sa.state == "QM_IDLE"]


@pytest.mark.seed("Automatically Re-enrolling…: invalid when the system time is earlier than the issue time")
def test_clock_before_certificate_start_refused(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    vpn.clear_log(br)
    with clock.skewed(br, _local(pki.validity(seed.branch_cert)[0] - dt.timedelta(days=30)), plan.deadlines.clock_sync):
        _refused(he, br, plan, seed)
        vpn.wait_logged(
            br,
            "IKMP_INVAL_CERT",
            f"Certificate received from {seed.vpn.headend_address} is bad",
            timeout=plan.deadlines.tunnel,
        )


@pytest.mark.seed("Automatically Re-enrolling…, Q4 (reset the clock and the certificate works again)")
def test_clock_restored_tunnel_up_again(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    clock.wait_synchronized(br, plan.deadlines.clock_sync)
    vpn.clear_sas(he, br)
    assert vpn.bring_up(br, plan.target, seed.main.lan_if, plan.deadlines.tunnel).received > 0
    sas = [sa for sa in vpn.isakmp_detail(br) if sa.remote == seed.vpn.headend_address]
    assert sas and sas[0].auth == "rsig"


@pytest.mark.seed("Automatically Re-enrolling…, Q3 step 4 (renew date 19:00:00 EST Dec 31 1969)")
def test_renew_date_epoch_when_auto_enroll_removed(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    br, tp = device(plan.branch.name), plan.ca.trustpoint
    zone = plan.timezone
    br.config([*zone.lines(), f"crypto pki trustpoint {tp}", "no auto-enroll"])
    try:
        cert = pki.router_certificate(br, tp)
        assert cert is not None
        assert cert.renew == zone.local_text(dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    finally:
        br.config([*zone.undo(), f"crypto pki trustpoint {tp}", f"auto-enroll {plan.auto_enroll}"])
