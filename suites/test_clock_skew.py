"""Certificates judged by each router's own clock (seed: "Automatically Re-enrolling…", Q3 and Q4).

The branch's clock set past its certificates' end: new tunnels are refused with the seed's log
lines (branch: IKMP_INVAL_CERT "CA request failed!", IKMP_MODE_FAILURE; headend: IKMP_BAD_MESSAGE
from the branch) and never reach QM_IDLE on either side; set before their start: refused; restored: the tunnel
comes up again. Removing auto-enroll shows the seed's 1969 renew date.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pkilab.procedures import clock, pki, scenario, vpn

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def seed(sessions):
    with scenario.seed_lab(
        sessions.get("ca"), sessions.get("headend"), sessions.get("branch"), branch_revocation="crl"
    ) as lab:
        yield lab


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)  # the lab's routers keep UTC here


def _refused(he, br, seed):
    vpn.clear_sas(he, br)
    result = vpn.ping(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF, 10)
    assert result.received == 0, result.pattern
    assert not [sa for sa in vpn.isakmp_sas(br) if sa.state == "QM_IDLE"], "never QM_IDLE"


@pytest.mark.seed("Automatically Re-enrolling…, Q3, steps 3-8 (clock set past the certificate's end)")
def test_clock_past_certificate_end_refused(device, seed):
    he, br = device("headend"), device("branch")
    vpn.clear_log(he)
    vpn.clear_log(br)
    with clock.skewed(br, _local(seed.branch_cert.end_at + dt.timedelta(days=30))):
        _refused(he, br, seed)
        peer = seed.vpn.headend_address
        vpn.wait_logged(br, "IKMP_INVAL_CERT", f"Certificate received from {peer} is bad: CA request failed!")
        vpn.wait_logged(br, "IKMP_MODE_FAILURE", f"Processing of Informational mode failed with peer at {peer}")
        # The headend's side (seed step 8): the branch's refusal is a message it cannot process, and it
        # keeps no tunnel with the branch.
        vpn.wait_logged(
            he,
            "IKMP_BAD_MESSAGE",
            f"IKE message from {seed.vpn.branch_address} failed its sanity check or is malformed",
        )
        assert not [sa for sa in vpn.isakmp_sas(he) if sa.state == "QM_IDLE"]


@pytest.mark.seed("Automatically Re-enrolling…: invalid when the system time is earlier than the issue time")
def test_clock_before_certificate_start_refused(device, seed):
    he, br = device("headend"), device("branch")
    vpn.clear_log(br)
    with clock.skewed(br, _local(seed.branch_cert.start_at - dt.timedelta(days=30))):
        _refused(he, br, seed)
        vpn.wait_logged(br, "IKMP_INVAL_CERT", f"Certificate received from {seed.vpn.headend_address} is bad")


@pytest.mark.seed("Automatically Re-enrolling…, Q4 (reset the clock and the certificate works again)")
def test_clock_restored_tunnel_up_again(device, seed):
    he, br = device("headend"), device("branch")
    clock.wait_synchronized(br)
    vpn.clear_sas(he, br)
    assert vpn.bring_up(br, scenario.HQ_HOST, scenario.BRANCH_LAN_IF).received > 0
    sas = [sa for sa in vpn.isakmp_detail(br) if sa.remote == seed.vpn.headend_address]
    assert sas and sas[0].auth == "rsig"


@pytest.mark.seed("Automatically Re-enrolling…, Q3 step 4 (renew date 19:00:00 EST Dec 31 1969)")
def test_renew_date_1969_when_auto_enroll_removed(device, seed):
    br = device("branch")
    br.config(["clock timezone EST -5", "crypto pki trustpoint ese-ios-ca", "no auto-enroll"])
    try:
        cert = pki.router_certificate(br, "ese-ios-ca")
        assert cert.renew == "19:00:00 EST Dec 31 1969"
    finally:
        br.config(["no clock timezone", "crypto pki trustpoint ese-ios-ca", "auto-enroll 70"])
