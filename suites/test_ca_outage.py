"""Recovering From Server Failure (seed: "Backing Up and Restoring…", CA down).

With the CA unreachable and the headend's CRL gone (a reload empties the cache), new tunnels are
refused: the headend logs ``Certificate received from A is bad: CA request failed!``. The seed's
workaround, ``revocation-check crl none`` on the headend, lets every enrolled branch in — a
revoked one included, which is the trade-off the seed warns about and this suite asserts.
"""

from __future__ import annotations

import pytest

from pkilab.device.session import Answer
from pkilab.procedures import pki, scenario, vpn
from pkilab.wait import wait_until

CA_LAN_IF = "FastEthernet0/0"

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions):
    with scenario.seed_lab(sessions.get("ca"), sessions.get("headend"), sessions.get("branch")) as lab:
        yield lab


@pytest.fixture
def ca_down(device, sessions, seed):
    """The CA cut off its LAN; the headend reloaded (its CRL cache is gone); restored afterwards."""
    he = device("headend")
    he.dialog("copy running-config startup-config", [Answer(r"\[startup-config\]\?", "")])
    with vpn.interface_down(device("ca"), CA_LAN_IF):
        he.reload(save=False)
        wait_until(lambda: sessions.alive("headend"), 60, 0.5, "headend back after reload")
        try:
            yield sessions.get("headend")
        finally:
            vpn.set_revocation(sessions.get("headend"), "ese-ios-ca", "crl")


@pytest.mark.seed("Recovering From Server Failure (new tunnels refused: CA request failed!)")
def test_new_tunnels_refused_while_the_ca_is_down(device, seed, ca_down):
    he, br = ca_down, device("branch")
    vpn.clear_sas(br)
    result = vpn.ping(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF, 10)
    assert result.received == 0, result.pattern
    vpn.wait_logged(
        he, "IKMP_INVAL_CERT", f"Certificate received from {seed.vpn.branch_address} is bad: CA request failed!"
    )
    assert not [sa for sa in vpn.isakmp_sas(he) if sa.state == "QM_IDLE"]


@pytest.mark.seed(
    "Recovering From Server Failure, Steps 1-3 (revocation-check crl none: every branch in, a revoked one included)"
)
def test_crl_none_workaround_admits_every_branch_even_a_revoked_one(device, seed, ca_down):
    he, br, ca = ca_down, device("branch"), device("ca")
    pki.revoke(ca, scenario.CA.name, int(seed.branch_cert.serial, 16))  # the CA still runs; it is only cut off
    vpn.set_revocation(he, "ese-ios-ca", "crl none")
    vpn.clear_sas(he, br)
    assert vpn.bring_up(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF).received > 0
    sas = [sa for sa in vpn.isakmp_detail(he) if sa.remote == seed.vpn.branch_address]
    assert sas and sas[0].auth == "rsig", "the revoked branch is in: the price of availability"
