"""Revoking a Digital Certificate for a Branch VPN Router (and "Distributing the CRL over SCEP").

Revoke → the CA's CRL lists the serial → the headend requests the CRL → the established tunnel
keeps working until it is cleared → then the revoked branch is refused: the headend logs
IKMP_INVAL_CERT, the branch IKMP_MODE_FAILURE, its ISAKMP SA never reaches QM_IDLE and pings fail.
Other branches keep connecting. A headend with ``revocation-check none`` does not check (and lets
the revoked branch in).
"""

from __future__ import annotations

import pytest

from pkilab.parsers import parse
from pkilab.procedures import pki, scenario, vpn

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions):
    """The seed's lab, with every further branch of the testbed as another spoke."""
    others = tuple(scenario.spoke_from_testbed(sessions.get(d.name)) for d in sessions.testbed.by_role("branch")[1:])
    with scenario.seed_lab(sessions.get("ca"), sessions.get("headend"), sessions.get("branch"), spokes=others) as lab:
        yield lab


@pytest.mark.seed("Revoking a Digital Certificate for a Branch VPN Router, Steps 1-6")
def test_revoked_serial_on_the_crl_and_fetched_by_the_headend(device, seed):
    ca, he, br = device("ca"), device("headend"), device("branch")
    serial = int(seed.branch_cert.serial, 16)
    assert serial not in {int(e.serial, 16) for e in pki.server_crl(ca, scenario.CA.name).revoked}
    pki.revoke(ca, scenario.CA.name, serial)
    crl = pki.server_crl(ca, scenario.CA.name)
    assert serial in {int(e.serial, 16) for e in crl.revoked}
    he.run("crypto pki crl request ese-ios-ca")
    fetched = parse("show crypto pki crls", he.run("show crypto pki crls")).crls
    assert fetched and fetched[0].last_update == crl.this_update, "the headend holds the new CRL"
    # A tunnel that is up is not checked again until it is renegotiated.
    assert vpn.ping(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF, 5).received == 5


@pytest.mark.seed("Revoking a Digital Certificate…, Step 7; Examples of Revoked Certificate Logs")
def test_revoked_branch_refused_once_cleared(device, seed):
    he, br = device("headend"), device("branch")
    vpn.clear_log(he)
    vpn.clear_log(br)
    vpn.clear_sas(he, br)
    result = vpn.ping(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF, 20)
    assert result.received == 0, result.pattern
    vpn.wait_logged(
        he, "IKMP_INVAL_CERT", f"Certificate received from {seed.vpn.branch_address} is bad: certificate invalid"
    )
    vpn.wait_logged(
        br, "IKMP_MODE_FAILURE", f"Processing of Informational mode failed with peer at {seed.vpn.headend_address}"
    )
    assert not [sa for sa in vpn.isakmp_sas(br) if sa.state == "QM_IDLE"], "never QM_IDLE"
    assert not [sa for sa in vpn.isakmp_sas(he) if sa.state == "QM_IDLE"]


@pytest.mark.seed("Revoking a Digital Certificate… (only the revoked branch loses access)")
def test_other_branches_still_connect(device, seed):
    if not seed.spokes:
        pytest.skip("the testbed has a single branch")
    he = device("headend")
    for spoke in seed.spokes:
        session = device(spoke.session.name)
        vpn.clear_sas(session)
        assert vpn.bring_up(session, scenario.HQ_HOST, spoke.lan_if).received > 0
        sas = [sa for sa in vpn.isakmp_detail(he) if sa.remote == spoke.vpn.branch_address]
        assert sas and sas[0].auth == "rsig", f"{spoke.session.name}: {sas}"


@pytest.mark.seed("Distributing the CRL over SCEP, Q4 (revocation-check none never checks)")
def test_headend_without_revocation_check_lets_the_revoked_branch_in(device, seed):
    he, br = device("headend"), device("branch")
    vpn.set_revocation(he, "ese-ios-ca", "none")
    try:
        vpn.clear_sas(he, br)
        assert vpn.bring_up(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF).received > 0
        sas = [sa for sa in vpn.isakmp_detail(he) if sa.remote == seed.vpn.branch_address]
        assert sas and sas[0].auth == "rsig"
    finally:
        vpn.set_revocation(he, "ese-ios-ca", "crl")
        vpn.clear_sas(he, br)
