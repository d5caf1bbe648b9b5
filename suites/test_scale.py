"""Scale: many branches enroll, come up with certificates, pass traffic, and the revoked are refused.

The seed's "Revoking a Digital Certificate" and "Enrolling … over SCEP" at the size a headend is
certified for: ``custom.pkilab.load.branches`` virtual branches (20 unless the testbed says) on the
test host (``pkilab load``, docs/load.md) enroll with the lab's CA over SCEP, bring up main mode
with RSA signatures and quick mode to the headend and ping the host behind it; a tenth of them
are revoked, the headend fetches the CRL and clears their SAs, and they must be refused while the
others stay up. The headend's own ``show crypto isakmp sa``, ``show crypto session`` and log
must agree.

Slow: left out of the default run; run it with ``-m slow`` (``pytest suites/test_scale.py -m
slow``, or ``pkilab certify --suites suites/test_scale.py -- -m slow``). Figures in the run's
``reports/load-suite/`` (results.json, report.html).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pkilab.fixtures import worker_offset
from pkilab.load import report, results
from pkilab.load.run import LoadOptions, Run, execute
from pkilab.plan import LabPlan
from pkilab.testbed import Testbed

pytestmark = [pytest.mark.slow, pytest.mark.destructive, pytest.mark.roles("ca", "headend")]
REVOKE_PCT = 10.0
OUT = Path("reports/load-suite")
# A simulated lab of its own, away from the one the other suites of the session may hold.
OWN_LAB_OFFSET = 4000


@pytest.fixture(scope="module")
def scale(plan: LabPlan, testbed: Testbed) -> Run:
    """One load run with the plan's number of branches; its results and report are kept."""
    assert plan.load is not None
    options = LoadOptions(branches=plan.load.branches, revoke=REVOKE_PCT)
    run = execute(plan, testbed, options, lambda _fleet: None, offset=worker_offset() + OWN_LAB_OFFSET)
    doc = run.document()
    results.write(OUT, doc)
    report.write(OUT, doc)
    return run


@pytest.mark.seed("Enrolling a VPN Headend Router over SCEP (every branch, at scale)")
def test_every_branch_enrolls(scale: Run, plan: LabPlan) -> None:
    assert plan.load is not None
    assert scale.result.counts["enrolled"] == plan.load.branches
    serials = {b.cert.serial_number for b in scale.fleet.branches if b.cert is not None}
    assert len(serials) == plan.load.branches, "each branch holds its own certificate"


@pytest.mark.seed("Removing the Pre-Shared Key (rsig tunnels, at scale)")
def test_every_branch_comes_up_with_its_certificate_and_passes_traffic(scale: Run) -> None:
    counts = scale.result.counts
    assert counts["up"] == counts["traffic_ok"] == counts["branches"], scale.result.problems


@pytest.mark.seed("Revoking a Digital Certificate for a Branch VPN Router (a share of many)")
def test_revoked_branches_are_refused_and_the_others_stay_up(scale: Run) -> None:
    counts = scale.result.counts
    assert counts["revoked"] == round(counts["branches"] * REVOKE_PCT / 100) > 0
    assert counts["refused"] == counts["revoked"], scale.result.problems
    assert counts["failed"] == 0, scale.result.problems


@pytest.mark.seed("Examples of Revoked Certificate Logs (the headend's view at scale)")
def test_the_headends_own_view_agrees(scale: Run) -> None:
    view = scale.view
    assert view is not None
    expected_up = scale.result.counts["branches"] - scale.result.counts["revoked"]
    assert view.isakmp_up == view.sessions_up == expected_up
    assert view.refused_logged == frozenset(b.address for b in scale.revoked)
