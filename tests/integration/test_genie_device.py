"""``device.parse()`` from a pyATS script on the simulated lab: unicon over SSH, pkilab's Genie parsers.

The script configures the seed's pre-shared-key hub-and-spoke through unicon (``device.configure``),
brings the tunnel up with pings from the branch LAN, and reads the SAs back with
``device.parse("show crypto isakmp sa")``: Genie's lookup picks pkilab's class, which runs the
command over unicon and returns pkilab's facts; :func:`pkilab.genie.typed` gives the dataclass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

pytest.importorskip("genie.libs.parser", reason="genie is not installed (pip install 'pkilab[genie]')")
pytest.importorskip("unicon", reason="unicon is not installed (pip install 'pkilab[genie]')")

from genie.libs.parser.utils import common
from genie.testbed import load as genie_load

import pkilab.genie
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers.exec_dialogs import PingResult
from pkilab.parsers.isakmp import IsakmpSaTable
from pkilab.plan import LabPlan
from pkilab.procedures.vpn import VpnSettings
from pkilab.testbed import Testbed
from pkilab.wait import wait_until

# pyATS devices (genie's testbed loader is untyped): Any.
Routers = tuple[LabPlan, Any, Any]

# The simulated routers make a new SSH host key at every start: no known_hosts entry may pin it.
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


def pyats_testbed(testbed: Testbed, names: Iterable[str]) -> Any:
    """The pyATS testbed of ``names`` in pkilab's (shifted) testbed; unicon's defaults otherwise."""
    devices: dict[str, dict[str, Any]] = {}
    for name in names:
        d = testbed.device(name)
        devices[name] = {
            "os": d.os,
            "type": "router",
            "platform": d.platform,
            "credentials": {"default": {"username": d.username, "password": d.password},
                            "enable": {"password": d.enable_password}},
            "connections": {"cli": {"protocol": "ssh", "ip": d.host, "port": d.port, "ssh_options": SSH_OPTIONS}},
        }  # fmt: skip
    return genie_load({"testbed": {"name": testbed.name}, "devices": devices})


@pytest.fixture(scope="module")
def routers(
    sim_testbed: Testbed, running_lab: SimLabRunner, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Routers]:
    logs = tmp_path_factory.mktemp("unicon")
    plan = LabPlan.from_testbed(sim_testbed)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(pkilab.genie.ENV_VAR, raising=False)
        pkilab.genie.register()
        tb = pyats_testbed(sim_testbed, (plan.headend.name, plan.branch.name))
        try:
            for device in tb.devices.values():
                # unicon's IOS plugin sends its init_config_commands (no logging console, line
                # console 0, exec-timeout 0) at connect: the simulated routers accept them.
                device.connect(
                    log_stdout=False,
                    learn_hostname=True,
                    connection_timeout=60,
                    logfile=str(logs / f"{device.name}.log"),
                )
            yield plan, tb.devices[plan.headend.name], tb.devices[plan.branch.name]
        finally:
            for device in tb.devices.values():
                with contextlib.suppress(Exception):
                    device.disconnect()
    common.parser_data = None


def test_device_parse_reads_the_tunnel_through_pkilab(routers: Routers) -> None:
    plan, headend, branch = routers
    vpn = VpnSettings.for_branch(plan, plan.branch)
    assert pkilab.genie.typed(branch, "show crypto isakmp sa").sas == ()
    headend.configure(vpn.headend())
    branch.configure(vpn.branch())
    ping = f"ping ip {plan.target} source {plan.branch.inside_if} repeat 10"

    def answered() -> PingResult | None:
        result = pkilab.genie.typed_as(PingResult, branch, ping)
        return result if result.received else None

    wait_until(answered, 60, 0.2, "echoes through the tunnel")

    for device, peer in ((branch, plan.headend.address), (headend, plan.branch.address)):
        sas = device.parse("show crypto isakmp sa")
        assert [(sa["dst"] if device is branch else sa["src"], sa["state"]) for sa in sas["sas"]] == [(peer, "QM_IDLE")]
        detail = device.parse("show crypto isakmp sa detail")["sas"]
        assert [(sa["remote"], sa["auth"], sa["dh_group"]) for sa in detail] == [(peer, "psk", 2)]
    flows = branch.parse("show crypto ipsec sa")["flows"]
    assert flows and flows[0]["pkts_encaps"] > 0 and flows[0]["pkts_decaps"] == flows[0]["pkts_encaps"]

    table = pkilab.genie.typed_as(IsakmpSaTable, branch, "sh cry isa sa")
    assert table.to_dict() == branch.parse("show crypto isakmp sa")


def test_parse_of_a_command_with_an_argument_runs_it_on_the_device(routers: Routers) -> None:
    plan, _, branch = routers
    listing = branch.parse("dir nvram:")
    assert listing == pkilab.genie.typed(branch, "dir nvram:").to_dict()
    assert listing["directories"][0]["path"].startswith("nvram:")
    version = branch.parse("show version")
    assert version["hostname"] == plan.branch.name
