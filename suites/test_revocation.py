"""Revoking a Digital Certificate for a Branch VPN Router (and "Distributing the CRL over SCEP").

Revoke → the CA's CRL lists the serial → the headend requests the CRL → the established tunnel
keeps working until it is cleared → then the revoked branch is refused: the headend logs
IKMP_INVAL_CERT, the branch IKMP_MODE_FAILURE, its ISAKMP SA never reaches QM_IDLE and pings fail.
Every other branch of the lab keeps connecting. A headend with ``revocation-check none`` does not
check (and lets the revoked branch in).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.plan import LabPlan
from pkilab.procedures import offsystem, pki, scenario, vpn

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions: SessionPool, plan: LabPlan) -> Iterator[scenario.SeedLab]:
    """The seed's lab with every branch of the plan as a spoke."""
    with scenario.seed_lab(plan, sessions.get, all_branches=True) as lab:
        yield lab


@pytest.mark.seed("Revoking a Digital Certificate for a Branch VPN Router, Steps 1-6")
def test_revoked_serial_on_the_crl_and_fetched_by_the_headend(
    device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab
) -> None:
    ca, he, br = device(plan.ca.device), device(plan.headend.name), device(plan.branch.name)
    serial = pki.serial(seed.branch_cert)
    assert serial not in {int(e.serial, 16) for e in pki.server_crl(ca, plan.ca.server).revoked}
    pki.revoke(ca, plan.ca.server, serial)
    crl = pki.server_crl(ca, plan.ca.server)
    assert serial in {int(e.serial, 16) for e in crl.revoked}
    offsystem.crl_request(he, plan.ca.trustpoint, timeout=plan.deadlines.transfer)
    fetched = offsystem.crls(he).crls
    assert fetched and fetched[0].last_update == crl.this_update, "the headend holds the new CRL"
    # A tunnel that is up is not checked again until it is renegotiated.
    assert vpn.ping(br, plan.target, seed.main.lan_if, 5).received == 5


@pytest.mark.seed("Revoking a Digital Certificate…, Step 7; Examples of Revoked Certificate Logs")
def test_revoked_branch_refused_once_cleared(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    vpn.clear_log(he)
    vpn.clear_log(br)
    vpn.clear_sas(he, br)
    result = vpn.ping(br, plan.target, seed.main.lan_if, 20)
    assert result.received == 0, result.pattern
    vpn.wait_logged(
        he,
        "IKMP_INVAL_CERT",
        f"Certificate received from {seed.vpn.branch_address} is bad: certificate invalid",
        timeout=plan.deadlines.tunnel,
    )
    vpn.wait_logged(
        br,
        "IKMP_MODE_FAILURE",
        f"Processing of Informational mode failed with peer at {seed.vpn.headend_address}",
        timeout=plan.deadlines.tunnel,
    )
    assert not [sa for sa in vpn.isakmp_sas(br) if sa.state == "QM_IDLE"], "never QM_IDLE"
    assert not [sa for sa in vpn.isakmp_sas(he) if sa.state == "QM_IDLE"]


@pytest.mark.seed("Revoking a Digital Certificate… (only the revoked branch loses access)")
@pytest.mark.roles("branch")
def test_other_branches_still_connect(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    if not seed.spokes:
        pytest.skip(f"{plan.name}: the lab has a single branch; nothing else to keep connected")
    he = device(plan.headend.name)
    for spoke in seed.spokes:
        session = device(spoke.router.name)
        vpn.clear_sas(session)
        assert vpn.bring_up(session, plan.target, spoke.lan_if, plan.deadlines.tunnel).received > 0
        sas = [sa for sa in vpn.isakmp_detail(he) if sa.remote == spoke.vpn.branch_address]
        assert sas and sas[0].auth == "rsig", f"{spoke.router.name}: {sas}"


@pytest.mark.seed("Distributing the CRL over SCEP, Q4 (revocation-check none never checks)")
def test_headend_without_revocation_check_lets_the_revoked_branch_in(
    device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab
) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    vpn.set_revocation(he, plan.ca.trustpoint, "none")
    try:
        vpn.clear_sas(he, br)
        assert vpn.bring_up(br, plan.target, seed.main.lan_if, plan.deadlines.tunnel).received > 0
        sas = [sa for sa in vpn.isakmp_detail(he) if sa.remote == seed.vpn.branch_address]
        assert sas and sas[0].auth == "rsig"
    finally:
        vpn.set_revocation(he, plan.ca.trustpoint, "crl")
        vpn.clear_sas(he, br)
