"""The seed's lab plan (``testbeds/sim.yaml``) for the simulator's own tests.

The project's tests of the simulator replay the seed's procedures on the seed's lab; they take
its settings from the plan as the suites do, not from constants.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pkilab.plan import LabPlan
from pkilab.procedures import pki
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[1]


@cache
def seed_plan() -> LabPlan:
    """The plan of ``testbeds/sim.yaml``."""
    return LabPlan.from_testbed(load(ROOT / "testbeds" / "sim.yaml"))


def ca_settings(**changes: object) -> pki.CaServerSettings:
    """The seed's CA server settings, with ``changes``."""
    return pki.CaServerSettings.from_plan(seed_plan(), **changes)


def trustpoint(**changes: object) -> pki.TrustpointSettings:
    """The seed's trustpoint (``ese-ios-ca``, enrollment url ``http://ese-ios-ca:80``), with ``changes``."""
    return pki.TrustpointSettings.from_plan(seed_plan(), **changes)
