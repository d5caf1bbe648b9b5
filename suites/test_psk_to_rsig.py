"""Removing the Pre-Shared Key (seed section of that name, and the prep tunnel before it).

The prep tunnel is authenticated by the pre-shared key (``psk`` in ``show crypto isakmp sa
detail``, with the plan's algorithms and group); once the key is removed from the headend and the
SAs are cleared, traffic from the branch LAN brings the tunnel up again authenticated by
certificates (``rsig``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.plan import LabPlan
from pkilab.procedures import scenario, vpn

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions: SessionPool, plan: LabPlan) -> Iterator[scenario.SeedLab]:
    with scenario.seed_lab(plan, sessions.get, rsig=False) as lab:
        yield lab


@pytest.mark.seed("Enrollment with a Cisco IOS Software CA Over SCEP (prep tunnel: show crypto isa sa detail)")
def test_prep_tunnel_is_pre_shared_key(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    vpn.bring_up(br, plan.target, seed.main.lan_if, plan.deadlines.tunnel)
    crypto = plan.crypto
    for session, peer in ((he, seed.vpn.branch_address), (br, seed.vpn.headend_address)):
        sas = [sa for sa in vpn.isakmp_detail(session) if sa.remote == peer]
        assert sas, f"{session.name}: no ISAKMP SA with {peer}"
        shown = (sas[0].auth, sas[0].encr, sas[0].hash, sas[0].dh_group)
        assert shown == ("psk", crypto.shown_encr, crypto.ike_hash, crypto.dh_group), shown
        assert "D" in (sas[0].capabilities or ""), "DPD negotiated (crypto isakmp keepalive)"


@pytest.mark.seed("Removing the Pre-Shared Key, Steps 1-4")
def test_key_removed_then_certificates_authenticate(
    device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab
) -> None:
    he, br = device(plan.headend.name), device(plan.branch.name)
    he.config([f"no {seed.vpn.psk_line(seed.vpn.branch_address)}"])
    vpn.clear_sas(he, br)
    assert not [sa for sa in vpn.isakmp_sas(br) if sa.state == "QM_IDLE"], "SAs cleared"
    result = vpn.bring_up(br, plan.target, seed.main.lan_if, plan.deadlines.tunnel)
    assert result.received > 0
    for session, peer in ((he, seed.vpn.branch_address), (br, seed.vpn.headend_address)):
        sas = [sa for sa in vpn.isakmp_detail(session) if sa.remote == peer]
        assert sas and sas[0].auth == "rsig", f"{session.name}: {sas}"
    states = [sa.state for sa in vpn.isakmp_sas(br) if sa.dst == seed.vpn.headend_address]
    assert "QM_IDLE" in states


@pytest.mark.seed("Removing the Pre-Shared Key, Step 4 note (no longer a viable authentication)")
def test_removed_key_no_longer_authenticates(device: DeviceGetter, plan: LabPlan, seed: scenario.SeedLab) -> None:
    """With the key gone from the headend, a branch offering only the pre-shared-key policy is refused."""
    he, br = device(plan.headend.name), device(plan.branch.name)
    br.config(["no crypto isakmp policy 10"])
    try:
        vpn.clear_sas(he, br)
        result = vpn.ping(br, plan.target, seed.main.lan_if, 10)
        assert result.received == 0, f"the removed key still authenticates: {result.pattern}"
        assert not [sa for sa in vpn.isakmp_sas(br) if sa.state == "QM_IDLE"]
    finally:
        br.config(plan.crypto.isakmp_policy(10))
        vpn.clear_sas(he, br)
