"""A virtual branch's life in a load run, as a table.

Rules:
1. A branch is in exactly one phase. An event moves it only when (phase, event) is in
   :data:`MOVES`; any other event leaves it where it is (a rekey's second ``up``, a late
   ``traffic``), so callers may report events freely.
2. ``fail`` moves every phase that is not final to FAILED; the first failure's reason is kept.
3. REFUSED, ADMITTED and FAILED are final. ADMITTED is a revoked branch the headend let in again:
   the run fails on it, as on FAILED.
4. :data:`EXPECTED` is where a branch must end: PASSING, or REFUSED when it was chosen for revocation.
"""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    """Where a virtual branch is."""

    NEW = "new"
    ENROLLED = "enrolled"
    NEGOTIATING = "negotiating"
    UP = "up"
    PASSING = "passing traffic"
    REVOKED = "revoked"
    REFUSED = "refused"
    ADMITTED = "admitted although revoked"
    FAILED = "failed"


# (phase, event) -> next phase
MOVES: dict[tuple[Phase, str], Phase] = {
    (Phase.NEW, "enrolled"): Phase.ENROLLED,
    (Phase.NEW, "initiated"): Phase.NEGOTIATING,  # pre-shared keys: nothing to enroll
    (Phase.ENROLLED, "initiated"): Phase.NEGOTIATING,
    (Phase.NEGOTIATING, "up"): Phase.UP,
    (Phase.UP, "traffic"): Phase.PASSING,
    (Phase.PASSING, "revoked"): Phase.REVOKED,
    (Phase.REVOKED, "refused"): Phase.REFUSED,
    (Phase.REVOKED, "up"): Phase.ADMITTED,
}

FINAL = frozenset({Phase.REFUSED, Phase.ADMITTED, Phase.FAILED})

# chosen for revocation -> the phase a branch must end in
EXPECTED: dict[bool, Phase] = {False: Phase.PASSING, True: Phase.REFUSED}


def move(phase: Phase, event: str) -> Phase:
    """The phase after ``event`` (unchanged when the table has no entry)."""
    if event == "fail":
        return phase if phase in FINAL else Phase.FAILED
    return MOVES.get((phase, event), phase)
