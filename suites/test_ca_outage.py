"""Recovering From Server Failure (seed: "Backing Up and Restoring…", CA down).

With the CA unreachable and the headend's CRL gone (a reload empties the cache), new tunnels are
refused: the headend logs ``Certificate received from A is bad: CA request failed!``. The seed's
workaround, ``revocation-check crl none`` on the headend, lets every enrolled branch in — a
revoked one included, which is the trade-off the seed warns about and this suite asserts.
"""

from __future__ import annotations

import pytest

from pkilab.device.session import Answer
from pkilab.procedures import scenario, vpn
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
