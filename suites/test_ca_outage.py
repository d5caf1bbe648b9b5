"""Recovering From Server Failure (seed: "Backing Up and Restoring…", CA down).

With the CA unreachable and the headend's CRL gone (a reload empties the cache), new tunnels are
refused: the headend logs ``Certificate received from A is bad: CA request failed!``. The seed's
workaround, ``revocation-check crl none`` on the headend, lets every enrolled branch in — a
revoked one included, which is the trade-off the seed warns about and this suite asserts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pkilab.device.session import Answer, Session
from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.plan import LabPlan
from pkilab.procedures import pki, scenario, vpn
from pkilab.wait import wait_until

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions: SessionPool, plan: LabPlan) -> Iterator[scenario.SeedLab]:
    with scenario.seed_lab(plan, sessions.get) as lab:
        yield lab


@pytest.fixture
def ca_down(device: DeviceGetter, sessions: SessionPool, plan: LabPlan, seed: scenario.SeedLab) -> Iterator[Session]:
    """The CA cut off its LAN; the headend reloaded (its CRL cache is gone); restored afterwards."""
    name = plan.headend.name
    he = device(name)
    he.dialog("copy running-config startup-config", [Answer(r"\[startup-config\]\?", "")])
    with vpn.interface_down(device(plan.ca.device), plan.ca.interface):
        he.reload(save=False, boot_timeout=plan.deadlines.reload)
        wait_until(lambda: sessions.alive(name), plan.deadlines.reload, 0.5, f"{name} back after reload")
        try:
            yield sessions.get(name)
        finally:
            vpn.set_revocation(sessions.get(name), plan.ca.trustpoint, "crl")


@pytest.mark.seed("Recovering From Server Failure (new tunnels refused: CA request failed!)")
def test_new_tunnels_refused_while_the_ca_is_down(
    device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab, ca_down: Session
) -> None:
    he, br = ca_down, device(plan.branch.name)
    vpn.clear_sas(br)
    result = vpn.ping(br, plan.target, seed.main.lan_if, 10)
    assert result.received == 0, result.pattern
    vpn.wait_logged(
        he,
        "IKMP_INVAL_CERT",
        f"Certificate received from {seed.vpn.branch_address} is bad: CA request failed!",
        timeout=plan.deadlines.tunnel,
    )
    assert not [sa for sa in vpn.isakmp_sas(he) if sa.state == "QM_IDLE"]


@pytest.mark.seed(
    "Recovering From Server Failure, Steps 1-3 (revocation-check crl none: every branch in, a revoked one included)"
)
def test_crl_none_workaround_admits_every_branch_even_a_revoked_one(
    device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab, ca_down: Session
) -> None:
    he, br, ca = ca_down, device(plan.branch.name), device(plan.ca.device)
    pki.revoke(ca, plan.ca.server, pki.serial(seed.branch_cert))  # the CA still runs; it is only cut off
    vpn.set_revocation(he, plan.ca.trustpoint, "crl none")
    vpn.clear_sas(he, br)
    assert vpn.bring_up(br, plan.target, seed.main.lan_if, plan.deadlines.tunnel).received > 0
    sas = [sa for sa in vpn.isakmp_detail(he) if sa.remote == seed.vpn.branch_address]
    assert sas and sas[0].auth == "rsig", "the revoked branch is in: the price of availability"
