"""The certification suites pass on the seed's lab with each image, and in IOS's own timing.

* ``testbeds/sim-124.yaml`` (IOS 12.4(24)T5) and ``testbeds/sim-xe.yaml`` (IOS-XE 17.9.4a on
  c8000v, GigabitEthernet1.., modern crypto): every suite test and the command catalog's contract
  (tests/contract) pass, nothing is skipped, and the report credits each test to the IOS version
  ``show version`` printed.
* ``testbeds/sim-ios-timing.yaml`` (every router on ``custom.sim.timing: ios``): a few suite
  tests as a CI subset of the slow run, about 80 s (the whole run: ``pkilab certify --testbed
  testbeds/sim-ios-timing.yaml``, docs/sim-images.md), and a pending enrollment polled on IOS's
  one-minute period, as ``show crypto pki timers`` shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from junitkit import junit_outcomes
from pkilab.device.session import Session
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse
from pkilab.plan import Deadlines, LabPlan
from pkilab.procedures import pki
from pkilab.sim.images import IOS, PERSONALITIES
from pkilab.testbed import load
from pkilab.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
# The command catalog's contract runs on each image's lab with the suites.
CONTRACT = "tests/contract/test_catalog_contract.py"


def _suites(tmp_path: Path, testbed: str, offset: int, *args: str) -> tuple[dict[str, str], set[str], str]:
    """Run the suites on ``testbed``: outcome per test, the images the report names, pytest's output."""
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PKILAB_PORT_OFFSET=str(offset + worker_offset()))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", CONTRACT, "--testbed", testbed, f"--junitxml={junit}", "-q"]
        + ["-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    outcomes = junit_outcomes(junit)
    images = {
        p.get("value", "") for p in ElementTree.parse(junit).iter("property") if p.get("name", "").endswith(".image")
    }
    assert proc.returncode == 0, proc.stdout[-3000:]
    return outcomes, images, proc.stdout


@pytest.mark.parametrize(
    ("testbed", "version", "offset"),
    [("testbeds/sim-124.yaml", "12.4(24)T5", 4000), ("testbeds/sim-xe.yaml", "17.09.04a", 4500)],
    ids=["12.4T", "IOS-XE"],
)
def test_suites_green_on_the_seeds_lab_with_each_image(tmp_path: Path, testbed: str, version: str, offset: int) -> None:
    outcomes, images, out = _suites(tmp_path, testbed, offset)
    bad = {name: tag for name, tag in outcomes.items() if tag != "passed"}
    assert not bad, (bad, out[-3000:])
    assert len(outcomes) >= 66, f"only {len(outcomes)} suite tests ran"
    assert images == {version}, f"the report names {images}, not the IOS version {version}"


def test_suites_pass_in_ios_timing_ci_subset(tmp_path: Path) -> None:
    """A few suite tests on IOS's timers: the first enrollment waits the router's one-minute poll,
    and key generation takes a router's time (2048 bits: 4 s) within the plan's keygen deadline."""
    selection = "headend_manual_grant or issued_certificate_fields or key_sizes_in_range"
    outcomes, _, out = _suites(tmp_path, "testbeds/sim-ios-timing.yaml", 5000, "-k", selection)
    assert len(outcomes) == 5 and set(outcomes.values()) == {"passed"}, (outcomes, out[-3000:])


def test_a_pending_enrollment_is_polled_on_ioss_period() -> None:
    testbed = load(ROOT / "testbeds" / "sim-ios-timing.yaml").shifted(5500 + worker_offset())
    plan = LabPlan.from_testbed(testbed)
    runner = SimLabRunner(testbed).start()
    sessions: list[Session] = []
    try:
        ca, he = (Session(testbed.device(n)).connect() for n in (plan.ca.device, plan.headend.name))
        sessions += [ca, he]
        pki.bring_up_ca(ca, pki.CaServerSettings.from_plan(plan))
        he.config([plan.ca.host_line])
        pki.generate_keys(he, None, plan.crypto.modulus, exportable=False)
        tp = pki.TrustpointSettings.from_plan(plan)
        pki.configure_trustpoint(he, tp)
        pki.authenticate(he, tp.name)
        assert pki.enroll(he, tp.name, "whatever").request_sent

        def poll_timer() -> float | None:
            timers = parse("show crypto pki timers", he.run("show crypto pki timers")).timers
            return next((t.seconds for t in timers if t.label == f"POLL {tp.name}"), None)

        seconds = wait_until(poll_timer, plan.deadlines.request, 0.3, "a POLL timer for the pending request")
        assert 30 < seconds <= 60, f"the next poll is {seconds} s away, not within IOS's one-minute period"
    finally:
        for s in sessions:
            s.close()
        runner.stop()


def test_real_deadlines_outlast_ioss_timers() -> None:
    """What the suites wait on a real router (or on ``timing: ios``) outlasts what IOS takes.

    Each deadline against the IOS timer it waits out: a command's prompt comes back after key
    generation at the largest modulus any image accepts; a certificate granted just after a poll
    comes at the next one; a refused negotiation is logged after IKE's last retransmission;
    NTP synchronizes within a few polls.
    """
    real = Deadlines.real()
    largest = max(p.keygen.high for p in PERSONALITIES.values())
    assert real.keygen >= 2 * IOS.keygen_seconds(largest), (real.keygen, IOS.keygen_seconds(largest))
    assert real.certificate >= 2 * IOS.enroll_poll
    assert real.tunnel >= IOS.ike_retransmit * (IOS.ike_retransmit_limit + 1)
    assert real.clock_sync >= 4 * IOS.ntp_poll
