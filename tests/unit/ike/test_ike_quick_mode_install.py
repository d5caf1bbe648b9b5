"""Quick mode installs the IPsec SAs before each side answers, as IOS does.

IOS's responder debug (a public IOS-XE console capture, see docs/sim-fidelity.md):
``Old State = IKE_QM_SPI_STARVE  New State = IKE_QM_IPSEC_INSTALL_AWAIT``, "Successfully installed
IPSEC SA", the QM2 packet sent, then ``Old State = IKE_QM_IPSEC_INSTALL_AWAIT  New State =
IKE_QM_R_QM2``. So the responder's SAs exist before the initiator's third message arrives.
"""

from __future__ import annotations

from pkilab.protocols.ike import Phase2Up, QmNote, QmStateChanged, SendDatagram
from pkilab.protocols.ike.constants import ExchangeType
from unit.ike.ike_labkit import BRANCH, BRANCH_LAN, HQ, HQ_LAN, Lab, psk_config


def _quick(dg: SendDatagram) -> bool:
    return len(dg.data) > 18 and dg.data[18] == ExchangeType.QUICK


def _lab_losing_qm3() -> Lab:
    hq = psk_config({BRANCH: b"cisco123"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"cisco123"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    sent: list[SendDatagram] = []

    def drop(dg: SendDatagram) -> bool:
        if dg.local.addr == BRANCH and _quick(dg):
            sent.append(dg)
            return len(sent) == 2  # QM1 goes through, QM3 is lost
        return False

    lab.drop = drop
    return lab


def test_responder_installs_before_qm3_arrives() -> None:
    lab = _lab_losing_qm3()
    lab.initiate()
    (b,) = lab.of_type(BRANCH, Phase2Up)
    (h,) = lab.of_type(HQ, Phase2Up)  # installed although QM3 never arrived
    assert (h.inbound, h.outbound) == (b.outbound, b.inbound)
    (ipsec,) = lab.engines[HQ].ipsec_sas(lab.now)
    assert ipsec.transform == "esp-3des esp-sha-hmac"
    steps = [(e.step, e.old, e.new) for e in lab.of_type(HQ, QmStateChanged)]
    assert steps == [
        ("IKE_MESG_FROM_PEER, IKE_QM_EXCH", "IKE_QM_READY", "IKE_QM_SPI_STARVE"),
        ("IKE_MESG_INTERNAL, IKE_GOT_SPI", "IKE_QM_SPI_STARVE", "IKE_QM_IPSEC_INSTALL_AWAIT"),
        ("IKE_MESG_FROM_IPSEC, IPSEC_INSTALL_DONE", "IKE_QM_IPSEC_INSTALL_AWAIT", "IKE_QM_R_QM2"),
    ]


def test_each_side_installs_then_answers_then_moves_on() -> None:
    hq = psk_config({BRANCH: b"cisco123"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"cisco123"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate()
    for addr, last in ((HQ, "IKE_QM_R_QM2"), (BRANCH, "IKE_QM_PHASE2_COMPLETE")):
        events = lab.events[addr]
        install = next(i for i, e in enumerate(events) if isinstance(e, Phase2Up))
        answer = next(i for i, e in enumerate(events) if i > install and isinstance(e, SendDatagram) and _quick(e))
        done = next(i for i, e in enumerate(events) if isinstance(e, QmStateChanged) and e.new == last)
        awaiting = next(
            i for i, e in enumerate(events) if isinstance(e, QmStateChanged) and e.new == "IKE_QM_IPSEC_INSTALL_AWAIT"
        )
        assert awaiting < install < answer < done, addr
    # QM3 then completes the responder's exchange, with nothing more installed.
    hq_steps = [(e.old, e.new) for e in lab.of_type(HQ, QmStateChanged)]
    assert hq_steps[-1] == ("IKE_QM_R_QM2", "IKE_QM_PHASE2_COMPLETE")
    assert len(lab.of_type(HQ, Phase2Up)) == 1
    br_steps = [(e.step, e.old, e.new) for e in lab.of_type(BRANCH, QmStateChanged)]
    assert br_steps == [
        ("IKE_MESG_INTERNAL, IKE_INIT_QM", "IKE_QM_READY", "IKE_QM_I_QM1"),
        ("IKE_MESG_FROM_PEER, IKE_QM_EXCH", "IKE_QM_I_QM1", "IKE_QM_IPSEC_INSTALL_AWAIT"),
        ("IKE_MESG_FROM_IPSEC, IPSEC_INSTALL_DONE", "IKE_QM_IPSEC_INSTALL_AWAIT", "IKE_QM_PHASE2_COMPLETE"),
    ]
    notes = [e.text for e in lab.of_type(HQ, QmNote)]
    mid = lab.of_type(HQ, QmStateChanged)[0].message_id
    assert notes[:4] == [
        f"set new node {mid} to QM_IDLE",
        f"processing HASH payload. message ID = {mid}",
        f"processing SA payload. message ID = {mid}",
        "Checking IPSec proposal 1",
    ]
    assert "QM Responder gets spi" in notes
    assert notes[-1] == f'deleting node {mid} error FALSE reason "QM done (await)"'


def test_qm3_retransmitted_after_loss_changes_nothing_installed() -> None:
    """A late third message (a retransmitted copy after the first was lost) only completes the exchange."""
    lab = _lab_losing_qm3()
    lab.initiate()
    (qm3,) = [d for d in lab.wire if d.local.addr == BRANCH and _quick(d)][1:]
    out = lab.engines[HQ].receive(qm3.data, qm3.remote, qm3.local, lab.now + 1)
    assert not [e for e in out if isinstance(e, Phase2Up)]
    assert [(e.old, e.new) for e in out if isinstance(e, QmStateChanged)] == [
        ("IKE_QM_R_QM2", "IKE_QM_PHASE2_COMPLETE")
    ]
    assert len(lab.engines[HQ].ipsec_sas(lab.now)) == 1
