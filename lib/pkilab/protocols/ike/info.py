"""Informational exchanges: notifications, DELETE payloads, DPD (RFC 3706), NAT-T keepalives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pkilab.protocols.ike import natt
from pkilab.protocols.ike.codec import (
    HEADER_LEN,
    DeleteBody,
    Header,
    IkeDecodeError,
    NotifyBody,
    Payload,
    encode_payloads,
    parse_delete,
    parse_notify,
    parse_payloads,
)
from pkilab.protocols.ike.config import DpdConfig
from pkilab.protocols.ike.constants import DOI_IPSEC, ExchangeType, Flag, Notify, PayloadType, ProtocolId
from pkilab.protocols.ike.crypto import phase2_iv, prf
from pkilab.protocols.ike.events import (
    MalformedMessage,
    ModeFailure,
    NegotiationFailed,
    NotificationReceived,
    PeerDead,
    SendDatagram,
)
from pkilab.protocols.ike.mm_states import MmState
from pkilab.protocols.ike.qm_states import QmState
from pkilab.protocols.ike.sa import IsakmpSa

if TYPE_CHECKING:
    from pkilab.protocols.ike.engine import IkeEngine

INFO = ExchangeType.INFORMATIONAL


def _isakmp_spi(sa: IsakmpSa) -> bytes:
    return sa.icookie + sa.rcookie


def send_plain_notify(eng: IkeEngine, sa: IsakmpSa, notify_type: int) -> None:
    """An unprotected notification, for refusals before any key exists."""
    body = NotifyBody(DOI_IPSEC, ProtocolId.ISAKMP, notify_type, _isakmp_spi(sa), b"").encode()
    eng.send_raw(sa.local, sa.remote, eng.plain(sa, INFO, [Payload(PayloadType.NOTIFY, body)]))


def send_protected(eng: IkeEngine, sa: IsakmpSa, payloads: Sequence[Payload]) -> None:
    """HDR*, HASH(1), N/D (RFC 2409 5.7), with the IV derived from the last phase 1 block."""
    assert sa.keys is not None and sa.policy is not None and sa.cipher is not None
    mid = eng.new_message_id()
    h = prf(sa.policy.hash, sa.keys.skeyid_a, mid.to_bytes(4, "big") + encode_payloads(payloads))
    iv = phase2_iv(sa.policy.hash, sa.cipher.block_size, sa.iv, mid)
    msg, _ = eng.seal(sa, INFO, mid, [Payload(PayloadType.HASH, h), *payloads], iv)
    eng.send_raw(sa.local, sa.remote, msg)


def send_notify(eng: IkeEngine, sa: IsakmpSa, notify_type: int, now: float, data: bytes = b"") -> None:
    """A notification, protected when phase 1 keys exist."""
    body = NotifyBody(DOI_IPSEC, ProtocolId.ISAKMP, notify_type, _isakmp_spi(sa), data).encode()
    if sa.keys is None:
        send_plain_notify(eng, sa, notify_type)
    else:
        send_protected(eng, sa, [Payload(PayloadType.NOTIFY, body)])


def send_isakmp_delete(eng: IkeEngine, sa: IsakmpSa, now: float) -> None:
    """Tell the peer this ISAKMP SA is gone."""
    body = DeleteBody(DOI_IPSEC, ProtocolId.ISAKMP, (_isakmp_spi(sa),)).encode()
    send_protected(eng, sa, [Payload(PayloadType.DELETE, body)])


def send_esp_delete(eng: IkeEngine, sa: IsakmpSa, inbound_spi: int, now: float) -> None:
    """Tell the peer our inbound ESP SA (its outbound) is gone."""
    body = DeleteBody(DOI_IPSEC, ProtocolId.ESP, (inbound_spi.to_bytes(4, "big"),)).encode()
    send_protected(eng, sa, [Payload(PayloadType.DELETE, body)])


def _unprotected(eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes) -> None:
    payloads = parse_payloads(header.next_payload, data[HEADER_LEN:])
    for p in payloads:
        if p.type != PayloadType.NOTIFY:
            continue
        note = parse_notify(p.body)
        eng.emit(NotificationReceived(sa.remote.addr, note.notify_type, protected=False))
        # Only a refusal of our very first message is believed without protection.
        if note.notify_type == Notify.NO_PROPOSAL_CHOSEN and sa.state == MmState.I_MM1:
            eng.emit(NegotiationFailed(sa.remote.addr, sa.conn_id, 1, "no proposal chosen by peer"))
            eng.drop_sa(sa, "no proposal chosen")
            return


def receive(eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, now: float) -> None:
    """Handle an informational exchange; IOS refuses them before phase 1 completes."""
    if not header.flags & Flag.ENCRYPTION:
        _unprotected(eng, sa, header, data)
        return
    peer = sa.remote.addr
    try:
        if sa.policy is None or sa.cipher is None:
            raise IkeDecodeError("encrypted informational before keys exist")
        iv = phase2_iv(sa.policy.hash, sa.cipher.block_size, sa.iv, header.message_id)
        payloads, _ = eng.unseal(sa, header, data, iv)
        _check_hash(sa, header.message_id, payloads)
    except IkeDecodeError as exc:
        eng.emit(MalformedMessage(peer, str(exc)))
        eng.emit(ModeFailure(peer, "Informational"))
        return
    if sa.state != MmState.COMPLETE:
        for p in payloads[1:]:
            if p.type == PayloadType.NOTIFY:
                eng.emit(NotificationReceived(peer, parse_notify(p.body).notify_type, protected=True))
        eng.emit(MalformedMessage(peer, "informational exchange before phase 1 completed"))
        eng.emit(ModeFailure(peer, "Informational"))
        return
    sa.last_heard = now
    for p in payloads[1:]:
        if p.type == PayloadType.NOTIFY:
            _on_notify(eng, sa, parse_notify(p.body), now)
        elif p.type == PayloadType.DELETE:
            _on_delete(eng, sa, parse_delete(p.body), now)


def _check_hash(sa: IsakmpSa, mid: int, payloads: list[Payload]) -> None:
    assert sa.keys is not None and sa.policy is not None
    if not payloads or payloads[0].type != PayloadType.HASH:
        raise IkeDecodeError("informational without HASH(1)")
    expected = prf(sa.policy.hash, sa.keys.skeyid_a, mid.to_bytes(4, "big") + encode_payloads(payloads[1:]))
    if payloads[0].body != expected:
        raise IkeDecodeError("informational HASH(1) mismatch")


def _on_notify(eng: IkeEngine, sa: IsakmpSa, note: NotifyBody, now: float) -> None:
    if note.notify_type == Notify.R_U_THERE and len(note.data) == 4:
        send_notify(eng, sa, Notify.R_U_THERE_ACK, now, note.data)
        return
    if note.notify_type == Notify.R_U_THERE_ACK and len(note.data) == 4:
        if sa.dpd_waiting and int.from_bytes(note.data, "big") == sa.dpd_seq:
            sa.dpd_waiting, sa.dpd_tries, sa.dpd_due = False, 0, None
        return
    eng.emit(NotificationReceived(sa.remote.addr, note.notify_type, protected=True))
    if note.notify_type in (Notify.NO_PROPOSAL_CHOSEN, Notify.INVALID_ID_INFORMATION):
        # The peer refused our quick mode: stop retransmitting it (one quick mode at a time is the norm).
        for mid, ex in list(sa.quick.items()):
            if ex.state == QmState.I_QM1:
                del sa.quick[mid]
                reason = f"peer refused quick mode ({Notify(note.notify_type).name})"
                eng.emit(NegotiationFailed(sa.remote.addr, sa.conn_id, 2, reason))


def _on_delete(eng: IkeEngine, sa: IsakmpSa, delete: DeleteBody, now: float) -> None:
    if delete.protocol == ProtocolId.ISAKMP:
        if _isakmp_spi(sa) in delete.spis:
            eng.drop_sa(sa, "deleted by peer")
        return
    if delete.protocol != ProtocolId.ESP:
        return
    spis = {int.from_bytes(s, "big") for s in delete.spis if len(s) == 4}
    for rec in eng.ipsec_records():
        if rec.up.remote.addr == sa.remote.addr and rec.up.outbound.spi in spis:
            eng.drop_ipsec(rec, "deleted by peer", now, notify=False)


def tick(eng: IkeEngine, sa: IsakmpSa, now: float) -> None:
    """DPD probes and NAT-T keepalives for an established SA."""
    if sa.state != MmState.COMPLETE:
        return
    if sa.natt_keepalive_due is not None and now >= sa.natt_keepalive_due:
        # A keepalive is one 0xFF byte with no non-ESP marker (RFC 3948 2.3).
        eng.emit(SendDatagram(sa.local, sa.remote, natt.NATT_KEEPALIVE))
        sa.natt_keepalive_due = now + natt.KEEPALIVE_INTERVAL
    dpd = eng.config.dpd
    if dpd is None or not sa.peer_dpd:
        return
    if not sa.dpd_waiting:
        if now < dpd_probe_time(sa, dpd):
            return
        sa.dpd_waiting, sa.dpd_tries = True, 0
        sa.dpd_seq = (sa.dpd_seq + 1) & 0xFFFFFFFF if sa.dpd_seq else int.from_bytes(eng.rng(4), "big") >> 1
    elif sa.dpd_due is None or now < sa.dpd_due:
        return
    else:
        sa.dpd_tries += 1
        if sa.dpd_tries > dpd.retries:
            _peer_dead(eng, sa, now)
            return
        sa.dpd_seq = (sa.dpd_seq + 1) & 0xFFFFFFFF
    send_notify(eng, sa, Notify.R_U_THERE, now, sa.dpd_seq.to_bytes(4, "big"))
    sa.dpd_due = now + dpd.retry


def dpd_probe_time(sa: IsakmpSa, dpd: DpdConfig) -> float:
    """When the next R-U-THERE is due if nothing changes (infinity: on demand with nothing sent)."""
    if not dpd.periodic and sa.last_traffic_sent <= sa.last_heard:
        return float("inf")
    return sa.last_heard + dpd.interval


def _peer_dead(eng: IkeEngine, sa: IsakmpSa, now: float) -> None:
    eng.emit(PeerDead(sa.remote.addr))
    for rec in eng.ipsec_records():
        if rec.up.remote.addr == sa.remote.addr:
            eng.drop_ipsec(rec, "peer dead (DPD)", now, notify=False)
    eng.drop_sa(sa, "peer dead (DPD)")
