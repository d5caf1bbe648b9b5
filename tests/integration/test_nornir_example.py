"""examples/nornir/isakmp_sa.py against the simulated lab: Nornir + netmiko, parsed by pkilab.

The seed's pre-shared-key tunnel is brought up with pkilab's own sessions; the example, run as a
user would run it, must then report the SA on the headend and the branch and none elsewhere, the
same through netmiko's Genie hook (``--genie``), and one line per router when none answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("nornir", reason="nornir is not installed (pip install 'pkilab[nornir]')")
pytest.importorskip("nornir_netmiko", reason="nornir-netmiko is not installed (pip install 'pkilab[nornir]')")

from pkilab.device.session import Session
from pkilab.labs.sim import SimLabRunner
from pkilab.plan import LabPlan
from pkilab.procedures import vpn
from pkilab.testbed import Testbed, load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "nornir"


def run_example(offset: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "lib"), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, str(EXAMPLE / "isakmp_sa.py"), "--port-offset", str(offset), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def offset(sim_testbed: Testbed) -> int:
    """How far the running lab's ports are from ``testbeds/sim.yaml``'s (what the inventory lists)."""
    base = load(ROOT / "testbeds" / "sim.yaml")
    (moved,) = {sim_testbed.device(d.name).port - d.port for d in base.devices}
    return moved


def test_inventory_is_the_simulated_labs_routers() -> None:
    base = load(ROOT / "testbeds" / "sim.yaml")
    hosts = yaml.safe_load((EXAMPLE / "inventory" / "hosts.yaml").read_text())
    defaults = yaml.safe_load((EXAMPLE / "inventory" / "defaults.yaml").read_text())
    groups = yaml.safe_load((EXAMPLE / "inventory" / "groups.yaml").read_text())
    routers = {d.name: d for d in base.devices if d.role != "host"}
    assert {name: (h["hostname"], h["port"], h["data"]["role"]) for name, h in hosts.items()} == {
        d.name: (d.host, d.port, d.role) for d in routers.values()
    }
    for d in routers.values():
        assert (defaults["username"], defaults["password"]) == (d.username, d.password)
        assert groups["ios"]["connection_options"]["netmiko"]["extras"]["secret"] == d.enable_password


def test_example_reports_the_tunnel_sa_on_both_ends(
    sim_testbed: Testbed, running_lab: SimLabRunner, offset: int
) -> None:
    plan = LabPlan.from_testbed(sim_testbed)
    he = Session(sim_testbed.device(plan.headend.name), timeout=60).connect()
    br = Session(sim_testbed.device(plan.branch.name), timeout=60).connect()
    try:
        with vpn.hub_and_spoke(he, br, vpn.VpnSettings.for_branch(plan, plan.branch)):
            vpn.bring_up(br, plan.target, plan.branch.inside_if or "")
            direct = run_example(offset, "--json")
            genie = run_example(offset, "--json", "--genie") if _has_genie() else None
    finally:
        he.close()
        br.close()
    assert direct.returncode == 0, direct.stderr
    facts = json.loads(direct.stdout)
    assert set(facts) == {d.name for d in sim_testbed.devices if d.role != "host"}
    rows = {name: [(sa["src"], sa["dst"], sa["state"]) for sa in f["sas"]] for name, f in facts.items()}
    he_addr, br_addr = plan.headend.address, plan.branch.address
    assert rows.pop(plan.branch.name) == [(br_addr, he_addr, "QM_IDLE")]
    assert rows.pop(plan.headend.name) == [(br_addr, he_addr, "QM_IDLE")]
    assert all(r == [] for r in rows.values()), rows
    if genie is not None:  # netmiko's Genie hook returns pkilab's facts once pkilab's package is registered
        assert genie.returncode == 0, genie.stderr
        assert json.loads(genie.stdout) == facts


def test_example_says_which_routers_did_not_answer(running_lab: SimLabRunner, offset: int) -> None:
    unreachable = run_example(offset + 17)  # nothing listens there
    assert unreachable.returncode == 1
    lines = unreachable.stderr.strip().splitlines()
    assert len(lines) == 4 and all(": NetmikoTimeoutException: " in line for line in lines), lines
    assert "Traceback" not in unreachable.stderr


def _has_genie() -> bool:
    try:
        import genie.libs.parser  # noqa: F401
    except ImportError:
        return False
    return True
