"""Quick mode (RFC 2409 5.5) state machine, as a table.

Rules:
1. Each quick mode exchange is keyed by its message ID inside one established ISAKMP SA and is in
   exactly one state. A received quick mode message is handled by the entry for (role, state);
   on success the exchange moves to the listed next state.
2. A first message with an unknown message ID starts a responder exchange (state R_START).
3. No entry: a retransmission of the peer's previous message gets our last message again; anything
   else is dropped and reported as malformed.
4. DONE exchanges are kept for the retransmission window (so a late copy of QM2 still gets QM3),
   then forgotten; so are responder exchanges that never saw QM3.
5. A protected NO-PROPOSAL-CHOSEN or INVALID-ID-INFORMATION ends the initiator's pending exchanges.
"""

from __future__ import annotations

import enum

from pkilab.protocols.ike.mm_states import Role


class QmState(enum.Enum):
    """Quick mode states."""

    I_QM1 = "IKE_QM_I_QM1"  # sent QM1, waiting for QM2
    R_START = "IKE_QM_READY"  # nothing yet, QM1 expected
    R_QM2 = "IKE_QM_R_QM2"  # sent QM2, waiting for QM3
    DONE = "IKE_QM_PHASE2_COMPLETE"


# (role, state) -> (handler name in phase2.HANDLERS, state after success)
QUICK_MODE: dict[tuple[Role, QmState], tuple[str, QmState]] = {
    (Role.INITIATOR, QmState.I_QM1): ("on_qm2", QmState.DONE),
    (Role.RESPONDER, QmState.R_START): ("on_qm1", QmState.R_QM2),
    (Role.RESPONDER, QmState.R_QM2): ("on_qm3", QmState.DONE),
}
