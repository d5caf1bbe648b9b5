"""Quick mode (RFC 2409 5.5) state machine, as a table.

Rules:
1. Each quick mode exchange is keyed by its message ID inside one established ISAKMP SA and is in
   exactly one state. A received quick mode message is handled by the entry for (role, state);
   the handler checks the message and prepares what follows (the SAs to install, the answer);
   nothing is installed or sent when it fails.
2. A first message with an unknown message ID starts a responder exchange (state READY).
3. No entry: a retransmission of the peer's previous message gets our last message again; anything
   else is dropped and reported as malformed.
4. On success the exchange walks the entry's ``via`` states, then the SAs the handler prepared are
   installed, then its answer is sent, then the exchange takes the ``done_by`` step to ``next``.
   Both sides install before they answer, as IOS does (its debug: ``IKE_QM_IPSEC_INSTALL_AWAIT``,
   "Successfully installed IPSEC SA", the packet sent, then ``IKE_QM_R_QM2`` on the responder or
   ``IKE_QM_PHASE2_COMPLETE`` on the initiator). So a responder decrypts ESP that overtakes QM3,
   and one whose QM3 never comes keeps the SAs it agreed to.
5. Each step is reported with IOS's input name (``IKE_MESG_FROM_PEER, IKE_QM_EXCH`` …) for
   ``debug crypto isakmp``.
6. DONE exchanges are kept for the retransmission window (so a late copy of QM2 still gets QM3),
   then forgotten; so are responder exchanges that never saw QM3.
7. A protected NO-PROPOSAL-CHOSEN or INVALID-ID-INFORMATION ends the initiator's pending exchanges.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pkilab.protocols.ike.mm_states import Role


class QmState(enum.Enum):
    """Quick mode states (IOS debug names)."""

    READY = "IKE_QM_READY"  # nothing yet: the responder expects QM1, the initiator has not sent it
    I_QM1 = "IKE_QM_I_QM1"  # sent QM1, waiting for QM2
    SPI_STARVE = "IKE_QM_SPI_STARVE"  # responder: proposal accepted, getting its inbound SPI
    INSTALL_AWAIT = "IKE_QM_IPSEC_INSTALL_AWAIT"  # keys made, SAs being installed
    R_QM2 = "IKE_QM_R_QM2"  # sent QM2 (SAs installed), waiting for QM3
    DONE = "IKE_QM_PHASE2_COMPLETE"


# IOS's names for what moves an exchange (the ``Input =`` of its debug).
INIT_QM = "IKE_MESG_INTERNAL, IKE_INIT_QM"
FROM_PEER = "IKE_MESG_FROM_PEER, IKE_QM_EXCH"
GOT_SPI = "IKE_MESG_INTERNAL, IKE_GOT_SPI"
INSTALL_DONE = "IKE_MESG_FROM_IPSEC, IPSEC_INSTALL_DONE"


@dataclass(frozen=True)
class QmTransition:
    """What a received message does: ``handler`` (in ``phase2.HANDLERS``), then the steps of rule 4."""

    handler: str
    via: tuple[tuple[str, QmState], ...]
    done_by: str
    next: QmState


# (role, state) -> transition. The initiator's first step (READY -> I_QM1 by INIT_QM) is phase2.start.
QUICK_MODE: dict[tuple[Role, QmState], QmTransition] = {
    (Role.INITIATOR, QmState.I_QM1): QmTransition(
        "on_qm2", ((FROM_PEER, QmState.INSTALL_AWAIT),), INSTALL_DONE, QmState.DONE
    ),
    (Role.RESPONDER, QmState.READY): QmTransition(
        "on_qm1",
        ((FROM_PEER, QmState.SPI_STARVE), (GOT_SPI, QmState.INSTALL_AWAIT)),
        INSTALL_DONE,
        QmState.R_QM2,
    ),
    (Role.RESPONDER, QmState.R_QM2): QmTransition("on_qm3", (), FROM_PEER, QmState.DONE),
}
