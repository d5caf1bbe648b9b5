"""Main mode (RFC 2409 5.1, identity protection) state machine, as a table.

Rules:
1. An ISAKMP SA is in exactly one state. A received main mode message is handled by the entry
   for (role, current state); when the handler succeeds the SA moves to the listed next state.
2. A message with no entry is a retransmission of the peer's previous message (the engine resends
   its last message, unchanged) or out of order (dropped, reported as malformed).
3. A handler that fails on a bad message leaves the state unchanged, so a good retransmission can
   still succeed. Authentication failures move the SA to FAILED, which accepts nothing.
4. ``SHOW_NAMES`` is what IOS prints for each state in ``show crypto isakmp sa``; FAILED shows as
   MM_KEY_EXCH because IOS leaves a refused SA there ("it will never get to QM_IDLE").
"""

from __future__ import annotations

import enum


class Role(enum.Enum):
    """Which side started the exchange."""

    INITIATOR = "initiator"
    RESPONDER = "responder"


class MmState(enum.Enum):
    """Main mode states (IOS debug names)."""

    I_MM1 = "IKE_I_MM1"  # sent MM1, waiting for MM2
    I_MM3 = "IKE_I_MM3"  # sent MM3, waiting for MM4
    I_MM5 = "IKE_I_MM5"  # sent MM5, waiting for MM6
    R_MM2 = "IKE_R_MM2"  # sent MM2, waiting for MM3
    R_MM4 = "IKE_R_MM4"  # sent MM4, waiting for MM5
    AUTH_PENDING = "IKE_AUTH_PENDING"  # peer certificate handed to the validator, no verdict yet
    COMPLETE = "IKE_P1_COMPLETE"
    FAILED = "IKE_FAILED"


# (role, state) -> (handler name in phase1.HANDLERS, state after success)
MAIN_MODE: dict[tuple[Role, MmState], tuple[str, MmState]] = {
    (Role.INITIATOR, MmState.I_MM1): ("on_mm2", MmState.I_MM3),
    (Role.INITIATOR, MmState.I_MM3): ("on_mm4", MmState.I_MM5),
    (Role.INITIATOR, MmState.I_MM5): ("on_mm6", MmState.COMPLETE),
    (Role.RESPONDER, MmState.R_MM2): ("on_mm3", MmState.R_MM4),
    (Role.RESPONDER, MmState.R_MM4): ("on_mm5", MmState.COMPLETE),
}

SHOW_NAMES: dict[MmState, str] = {
    MmState.I_MM1: "MM_NO_STATE",
    MmState.I_MM3: "MM_SA_SETUP",
    MmState.I_MM5: "MM_KEY_EXCH",
    MmState.R_MM2: "MM_SA_SETUP",
    MmState.R_MM4: "MM_KEY_EXCH",
    MmState.AUTH_PENDING: "MM_KEY_EXCH",
    MmState.COMPLETE: "QM_IDLE",
    MmState.FAILED: "MM_KEY_EXCH",
}
