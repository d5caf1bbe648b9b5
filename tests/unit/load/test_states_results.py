"""The phase table, percentiles and the run's verdict from branches' milestones."""

from __future__ import annotations

from typing import ClassVar

import pytest

from pkilab.load.ceiling import COMPARISON_FIELDS
from pkilab.load.fleet import Fleet, Pacing
from pkilab.load.lab import HeadendView
from pkilab.load.results import RESULT_COUNTS, outcome, percentile
from pkilab.load.states import EXPECTED, FINAL, MOVES, Phase, move
from unit.load.loadkit import Headend, enrolled_branch


def test_phase_table_reaches_the_expected_ends() -> None:
    phase = Phase.NEW
    for event in ("enrolled", "initiated", "up", "traffic"):
        phase = move(phase, event)
    assert phase is EXPECTED[False]
    assert move(move(phase, "revoked"), "refused") is EXPECTED[True]
    assert move(move(phase, "revoked"), "up") is Phase.ADMITTED


def test_unknown_events_leave_the_phase_and_fail_keeps_finals() -> None:
    assert move(Phase.PASSING, "up") is Phase.PASSING  # a rekey
    assert move(Phase.UP, "refused") is Phase.UP  # a refusal before revocation is a failure the fleet reports
    for phase in Phase:
        assert move(phase, "fail") is (phase if phase in FINAL else Phase.FAILED)
    assert all(new is not Phase.NEW for new in MOVES.values())


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([5.0], 99, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.5), ([*range(1, 101)], 99, 99.01)],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    got = percentile([float(v) for v in values], q)
    assert got == (None if expected is None else pytest.approx(expected))


class _NoPort:
    where: ClassVar[str] = "nowhere (no packets)"

    async def open(self, claims: object, on_packet: object) -> None: ...

    def send(self, packet: bytes) -> None: ...

    def close(self) -> None: ...


def _fleet(*phases: Phase) -> Fleet:
    headend = Headend(psk=True)
    fleet = Fleet([], _NoPort(), Pacing())
    for i, phase in enumerate(phases):
        b = enrolled_branch(headend, i)
        b.phase = phase
        b.at.initiated, b.at.up = 10.0 + i, 10.5 + i
        b.at.traffic = 11.0 + i
        fleet.branches.append(b)
    return fleet


def test_outcome_passes_when_every_branch_ends_where_it_should() -> None:
    fleet = _fleet(Phase.PASSING, Phase.PASSING, Phase.REFUSED)
    view = HeadendView(2, 2, frozenset({fleet.branches[2].address}))
    result = outcome(fleet, [fleet.branches[2]], view, [])
    assert result.ok, result.problems
    assert [result.counts[k] for k in RESULT_COUNTS] == [3, 0, 3, 3, 1, 1, 0]
    assert result.timings["handshake_p50_ms"] == 500.0 and result.timings["handshakes_per_s"] == pytest.approx(1.2)
    # the fleet counted no handshake (its branches were set, not brought up): nothing to compare
    assert all(result.timings[k] is None for k in COMPARISON_FIELDS)


def test_outcome_fails_on_an_admitted_branch_and_on_the_headends_disagreement() -> None:
    fleet = _fleet(Phase.PASSING, Phase.ADMITTED)
    view = HeadendView(2, 1, frozenset())
    result = outcome(fleet, [fleet.branches[1]], view, ["the CA's CRL does not list 1 revoked serial(s), e.g. 4"])
    assert not result.ok and result.counts["failed"] == 1 and result.counts["refused"] == 0
    text = "\n".join(result.problems)
    assert "admitted although revoked, not refused" in text
    assert "show crypto isakmp sa has 2 QM_IDLE SAs with branches, expected 1" in text
    assert "UP-ACTIVE branch sessions" not in text  # 1 session up, 1 branch passing: they agree
    assert f"no IKMP_INVAL_CERT logged for 1 revoked branch(es), e.g. {fleet.branches[1].address}" in text
    assert "CRL does not list" in text
