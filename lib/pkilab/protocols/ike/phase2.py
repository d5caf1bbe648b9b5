"""Quick mode handlers (RFC 2409 5.5): HASH(1..3), optional PFS, proxy identities, ESP KEYMAT.

The transitions are in :mod:`pkilab.protocols.ike.qm_states`; this module holds what each one does.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from pkilab.protocols.ike import info
from pkilab.protocols.ike.codec import (
    Attribute,
    Header,
    IkeDecodeError,
    NotifyBody,
    Payload,
    SaBody,
    encode_payloads,
    encode_sa,
    parse_attributes,
    parse_id,
    parse_notify,
    parse_sa,
)
from pkilab.protocols.ike.config import TunnelRequest
from pkilab.protocols.ike.constants import (
    DOI_IPSEC,
    SIT_IDENTITY_ONLY,
    Encapsulation,
    EspTransform,
    ExchangeType,
    LifeType,
    Notify,
    P2Attr,
    P2Auth,
    PayloadType,
    ProtocolId,
)
from pkilab.protocols.ike.crypto import dh_group, keymat, phase2_iv, prf
from pkilab.protocols.ike.events import (
    EspKeys,
    MalformedMessage,
    NegotiationFailed,
    Phase2Up,
    QmNote,
    QmStateChanged,
)
from pkilab.protocols.ike.mm_states import MmState, Role
from pkilab.protocols.ike.policy import (
    Phase2Choice,
    Phase2Policy,
    Selector,
    lifetimes,
    match_phase2,
    phase2_sa,
)
from pkilab.protocols.ike.qm_states import INIT_QM, QUICK_MODE, QmState, QmTransition
from pkilab.protocols.ike.sa import IsakmpSa, QuickExchange

if TYPE_CHECKING:
    from pkilab.protocols.ike.engine import IkeEngine

QM = ExchangeType.QUICK
_CIPHER = {EspTransform.DES: "des", EspTransform.TRIPLE_DES: "3des", EspTransform.AES: "aes"}


def _encaps(sa: IsakmpSa) -> tuple[int, ...]:
    if sa.nat_t:
        return (Encapsulation.UDP_TUNNEL, Encapsulation.UDP_TUNNEL_DRAFT)
    return (Encapsulation.TUNNEL,)


def _mid(mid: int) -> bytes:
    return mid.to_bytes(4, "big")


def _hash(sa: IsakmpSa, data: bytes) -> bytes:
    assert sa.policy is not None and sa.keys is not None
    return prf(sa.policy.hash, sa.keys.skeyid_a, data)


def _send(
    eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, payloads: list[Payload], now: float, answered: bytes, timer: bool
) -> None:
    msg, ex.iv = eng.seal(sa, QM, ex.message_id, payloads, ex.iv)
    eng.send(sa, msg, now, ex.rtx, answered, timer=timer)


def start(eng: IkeEngine, sa: IsakmpSa, request: TunnelRequest, now: float) -> None:
    """Send QM1: HASH(1), SA, Ni, [KE], IDci, IDcr."""
    assert sa.policy is not None and sa.cipher is not None
    policy = request.policy
    if not policy.transform_sets:
        eng.emit(NegotiationFailed(request.peer, sa.conn_id, 2, "no transform set"))
        return
    mid = eng.new_message_id()
    ex = QuickExchange(
        mid,
        Role.INITIATOR,
        QmState.READY,
        phase2_iv(sa.policy.hash, sa.cipher.block_size, sa.iv, mid),
        now,
        request,
        policy,
    )
    ex.ni, ex.spi_in = eng.rng(eng.options.nonce_len), eng.new_spi()
    ex.id_ci, ex.id_cr = request.local_selector.id_body(), request.remote_selector.id_body()
    rest = [
        Payload(PayloadType.SA, encode_sa(phase2_sa(policy, ex.spi_in, Encapsulation(_encaps(sa)[0])))),
        Payload(PayloadType.NONCE, ex.ni),
    ]
    if policy.pfs_group:
        ex.group = dh_group(policy.pfs_group)
        ex.dh_priv = ex.group.private_key(eng.rng)
        ex.ke_i = ex.group.public_key(ex.dh_priv)
        rest.append(Payload(PayloadType.KE, ex.ke_i))
    rest += [Payload(PayloadType.ID, ex.id_ci.encode()), Payload(PayloadType.ID, ex.id_cr.encode())]
    h1 = _hash(sa, _mid(mid) + encode_payloads(rest))
    sa.quick[mid] = ex
    _note(eng, sa, f"beginning Quick Mode exchange, M-ID of {mid}")
    _note(eng, sa, "QM Initiator gets spi")
    _send(eng, sa, ex, [Payload(PayloadType.HASH, h1), *rest], now, b"", timer=True)
    _step(eng, sa, ex, INIT_QM, QmState.I_QM1)


def dispatch(eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, now: float) -> None:
    """Route a quick mode message through the state table (rules in :mod:`.qm_states`)."""
    if sa.state != MmState.COMPLETE:
        raise IkeDecodeError("quick mode before phase 1 completed")
    ex = sa.quick.get(header.message_id)
    if ex is None:
        assert sa.policy is not None and sa.cipher is not None
        iv = phase2_iv(sa.policy.hash, sa.cipher.block_size, sa.iv, header.message_id)
        ex = QuickExchange(header.message_id, Role.RESPONDER, QmState.READY, iv, now)
    elif data == ex.rtx.received:
        eng.resend(ex.rtx)
        return
    transition = QUICK_MODE.get((ex.role, ex.state))
    if transition is None:
        eng.emit(MalformedMessage(sa.remote.addr, f"unexpected quick mode message in {ex.state.value}"))
        return
    payloads, next_iv = eng.unseal(sa, header, data, ex.iv)
    if not payloads or payloads[0].type != PayloadType.HASH:
        raise IkeDecodeError("quick mode message without HASH")
    if header.message_id not in sa.quick:
        _note(eng, sa, f"set new node {header.message_id} to QM_IDLE")
    head = [p for p in payloads if p.type in (PayloadType.HASH, PayloadType.SA)]
    if eng.options.debug_events:
        _processing(eng, sa, ex, head)
    old_iv, ex.iv = ex.iv, next_iv  # the CBC chain continues from this message's last block
    ok = False
    try:
        ok = HANDLERS[transition.handler](eng, sa, ex, payloads, data, now)
    finally:
        if not ok:
            ex.iv, ex.pending, ex.answer = old_iv, None, None  # a good retransmission must still decrypt
    if ok:
        if eng.options.debug_events:
            _processing(eng, sa, ex, [p for p in payloads if p not in head])
        _advance(eng, sa, ex, transition, data, now)


def _advance(eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, tr: QmTransition, data: bytes, now: float) -> None:
    """Rule 4: the ``via`` steps, install, answer, the last step."""
    if ex.role == Role.RESPONDER and ex.state == QmState.READY:
        _note(eng, sa, "QM Responder gets spi")
    for step, state in tr.via:
        _step(eng, sa, ex, step, state)
    if ex.pending is not None:
        eng.install_ipsec(ex.pending, ex.request if ex.role == Role.INITIATOR else None, now)
        ex.pending = None
    if ex.answer is not None:
        _send(eng, sa, ex, ex.answer, now, data, timer=False)
        ex.answer = None
    if tr.next == QmState.DONE:
        reason = "No Error" if ex.role == Role.INITIATOR else "QM done (await)"
        _note(eng, sa, f'deleting node {ex.message_id} error FALSE reason "{reason}"')
    _step(eng, sa, ex, tr.done_by, tr.next)
    sa.last_heard = now
    sa.quick[ex.message_id] = ex


def _step(eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, step: str, state: QmState) -> None:
    if eng.options.debug_events:
        eng.emit(QmStateChanged(sa.conn_id, sa.remote.addr, ex.message_id, step, ex.state.value, state.value))
    ex.state = state


def _note(eng: IkeEngine, sa: IsakmpSa, text: str) -> None:
    if eng.options.debug_events:
        eng.emit(QmNote(sa.conn_id, text))


_PAYLOAD_NAMES: dict[int, str] = {
    PayloadType.HASH: "HASH",
    PayloadType.SA: "SA",
    PayloadType.NONCE: "NONCE",
    PayloadType.KE: "KE",
    PayloadType.ID: "ID",
    PayloadType.NOTIFY: "NOTIFY",
}


def _processing(eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, payloads: list[Payload]) -> None:
    for p in payloads:
        name = _PAYLOAD_NAMES.get(p.type)
        if name is not None:
            _note(eng, sa, f"processing {name} payload. message ID = {ex.message_id}")


def _check(sa: IsakmpSa, got: bytes, data: bytes) -> None:
    if got != _hash(sa, data):
        raise IkeDecodeError("quick mode HASH mismatch")


def _proxies(sa: IsakmpSa, payloads: list[Payload]) -> tuple[Selector, Selector, list[Payload]]:
    """(initiator proxy, responder proxy, the ID payloads); host addresses when there are none."""
    ids = [p for p in payloads if p.type == PayloadType.ID]
    if not ids:
        peer = Selector(ipaddress.IPv4Network(sa.remote.addr))
        me = Selector(ipaddress.IPv4Network(sa.local.addr))
        return peer, me, []
    if len(ids) != 2:
        raise IkeDecodeError(f"quick mode with {len(ids)} ID payloads")
    ci, cr = Selector.from_id(parse_id(ids[0].body)), Selector.from_id(parse_id(ids[1].body))
    if ci is None or cr is None:
        raise IkeDecodeError("quick mode ID payload is not an IPv4 address or subnet")
    return ci, cr, ids


def on_qm1(eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, payloads: list[Payload], data: bytes, now: float) -> bool:
    """QM1: check HASH(1), find the crypto map, choose a proposal; prepare the SAs and QM2."""
    mid = _mid(ex.message_id)
    rest = payloads[1:]
    _check(sa, payloads[0].body, mid + encode_payloads(rest))
    sas = [p for p in rest if p.type == PayloadType.SA]
    nonces = [p for p in rest if p.type == PayloadType.NONCE]
    if len(sas) != 1 or len(nonces) != 1:
        raise IkeDecodeError("QM1 needs one SA and one nonce")
    offer = parse_sa(sas[0].body)
    ci, cr, ids = _proxies(sa, rest)
    policy = eng.config.phase2_lookup(sa.remote.addr, cr, ci)
    if policy is None:
        reason = f"proxy identities not supported: {ci} -> {cr}"
        return _refuse(eng, sa, Notify.INVALID_ID_INFORMATION, reason, now)
    choice = match_phase2(offer, policy, _encaps(sa))
    if choice is None:
        return _refuse(eng, sa, Notify.NO_PROPOSAL_CHOSEN, "no IPsec proposal chosen", now)
    _accepted(eng, sa, choice)
    ex.ni, ex.policy, ex.choice = nonces[0].body, policy, choice
    ex.nr, ex.spi_in = eng.rng(eng.options.nonce_len), eng.new_spi()
    if not _responder_pfs(eng, ex, rest, choice):
        raise IkeDecodeError("QM1 PFS group without a matching KE payload")
    answer = SaBody(
        DOI_IPSEC,
        SIT_IDENTITY_ONLY,
        (choice.proposal.__class__(choice.proposal.number, ProtocolId.ESP, ex.spi_in, choice.proposal.transforms),),
    )
    out = [Payload(PayloadType.SA, encode_sa(answer)), Payload(PayloadType.NONCE, ex.nr)]
    if ex.ke_r:
        out.append(Payload(PayloadType.KE, ex.ke_r))
    out += ids
    out += _responder_lifetime(offer_lifetimes(choice), choice)
    h2 = _hash(sa, mid + ex.ni + encode_payloads(out))
    ex.pending = _make_up(eng, sa, ex, choice, choice.proposal.spi, cr, ci)
    ex.answer = [Payload(PayloadType.HASH, h2), *out]
    return True


def _accepted(eng: IkeEngine, sa: IsakmpSa, choice: Phase2Choice) -> None:
    _note(eng, sa, f"Checking IPSec proposal {choice.proposal.number}")
    _note(eng, sa, "atts are acceptable.")


def _responder_pfs(eng: IkeEngine, ex: QuickExchange, rest: list[Payload], choice: Phase2Choice) -> bool:
    kes = [p.body for p in rest if p.type == PayloadType.KE]
    if choice.pfs_group is None:
        return not kes
    if len(kes) != 1:
        return False
    ex.group = dh_group(choice.pfs_group)
    ex.ke_i = kes[0]
    ex.dh_priv = ex.group.private_key(eng.rng)
    ex.ke_r = ex.group.public_key(ex.dh_priv)
    return ex.group.shared_secret(ex.dh_priv, ex.ke_i) is not None


def offer_lifetimes(choice: Phase2Choice) -> tuple[int | None, int | None]:
    """The lifetimes the initiator proposed in the chosen transform."""
    return lifetimes(choice.proposal.transforms[0].attributes)


def _responder_lifetime(offered: tuple[int | None, int | None], choice: Phase2Choice) -> list[Payload]:
    """RESPONDER-LIFETIME (RFC 2407 4.6.3.1) when ours is shorter than offered, as IOS sends it."""
    secs, kbytes = offered
    attrs: list[Attribute] = []
    if secs is not None and choice.lifetime_seconds < secs:
        attrs += [
            Attribute(P2Attr.LIFE_TYPE, LifeType.SECONDS),
            Attribute(P2Attr.LIFE_DURATION, choice.lifetime_seconds),
        ]
    if kbytes is not None and choice.lifetime_kilobytes < kbytes:
        attrs += [
            Attribute(P2Attr.LIFE_TYPE, LifeType.KILOBYTES),
            Attribute(P2Attr.LIFE_DURATION, choice.lifetime_kilobytes),
        ]
    if not attrs:
        return []
    data = b"".join(a.encode() for a in attrs)
    note = NotifyBody(DOI_IPSEC, ProtocolId.ESP, Notify.RESPONDER_LIFETIME, choice.proposal.spi, data)
    return [Payload(PayloadType.NOTIFY, note.encode())]


def _apply_responder_lifetime(choice: Phase2Choice, rest: list[Payload]) -> Phase2Choice:
    """Adopt shorter lifetimes the responder announced."""
    for p in rest:
        if p.type != PayloadType.NOTIFY:
            continue
        note = parse_notify(p.body)
        if note.notify_type != Notify.RESPONDER_LIFETIME:
            continue
        secs, kbytes = lifetimes(parse_attributes(note.data))
        choice = dataclasses.replace(
            choice,
            lifetime_seconds=min(choice.lifetime_seconds, secs or choice.lifetime_seconds),
            lifetime_kilobytes=min(choice.lifetime_kilobytes, kbytes or choice.lifetime_kilobytes),
        )
    return choice


def _refuse(eng: IkeEngine, sa: IsakmpSa, notify: int, reason: str, now: float) -> bool:
    info.send_notify(eng, sa, notify, now)
    eng.emit(NegotiationFailed(sa.remote.addr, sa.conn_id, 2, reason))
    return False


def on_qm2(eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, payloads: list[Payload], data: bytes, now: float) -> bool:
    """QM2: check HASH(2) and the chosen proposal, derive keys; prepare the SAs and QM3."""
    assert ex.policy is not None and ex.request is not None
    mid = _mid(ex.message_id)
    rest = payloads[1:]
    _check(sa, payloads[0].body, mid + ex.ni + encode_payloads(rest))
    sas = [p for p in rest if p.type == PayloadType.SA]
    nonces = [p for p in rest if p.type == PayloadType.NONCE]
    if len(sas) != 1 or len(nonces) != 1:
        raise IkeDecodeError("QM2 needs one SA and one nonce")
    answer = parse_sa(sas[0].body)
    choice = match_phase2(answer, ex.policy, _encaps(sa))
    if choice is None or len(answer.proposals) != 1 or choice.pfs_group != ex.policy.pfs_group:
        raise IkeDecodeError("QM2 chose a proposal we did not offer")
    _accepted(eng, sa, choice)
    ex.nr = nonces[0].body
    if ex.group is not None:
        kes = [p.body for p in rest if p.type == PayloadType.KE]
        if len(kes) != 1 or ex.group.shared_secret(ex.dh_priv, kes[0]) is None:
            raise IkeDecodeError("QM2 without a usable KE for PFS")
        ex.ke_r = kes[0]
    choice = _apply_responder_lifetime(choice, rest)
    ex.choice = choice
    h3 = _hash(sa, b"\x00" + mid + ex.ni + ex.nr)
    ex.rtx.due = None
    ex.answer = [Payload(PayloadType.HASH, h3)]
    req = ex.request
    ex.pending = _make_up(eng, sa, ex, choice, answer.proposals[0].spi, req.local_selector, req.remote_selector)
    return True


def on_qm3(eng: IkeEngine, sa: IsakmpSa, ex: QuickExchange, payloads: list[Payload], data: bytes, now: float) -> bool:
    """QM3: check HASH(3). The SAs were installed before QM2 went out (rule 4)."""
    _check(sa, payloads[0].body, b"\x00" + _mid(ex.message_id) + ex.ni + ex.nr)
    return True


def _make_up(
    eng: IkeEngine,
    sa: IsakmpSa,
    ex: QuickExchange,
    choice: Phase2Choice,
    spi_out: bytes,
    local_sel: Selector,
    remote_sel: Selector,
) -> Phase2Up:
    assert sa.policy is not None and sa.keys is not None
    shared = b""
    if ex.group is not None:
        peer_ke = ex.ke_r if ex.role == Role.INITIATOR else ex.ke_i
        shared = ex.group.shared_secret(ex.dh_priv, peer_ke) or b""
    ts = choice.transform_set
    need = ts.enc_key_len + ts.auth_key_len

    def keys(spi: bytes) -> EspKeys:
        km = keymat(
            sa.policy.hash if sa.policy else 0,
            sa.keys.skeyid_d if sa.keys else b"",
            ProtocolId.ESP,
            spi,
            ex.ni,
            ex.nr,
            need,
            shared,
        )
        auth = "sha1" if ts.auth == P2Auth.HMAC_SHA else "md5"
        return EspKeys(int.from_bytes(spi, "big"), _CIPHER[ts.encr], km[: ts.enc_key_len], auth, km[ts.enc_key_len :])

    policy = ex.policy or Phase2Policy(())
    return Phase2Up(
        isakmp_conn_id=sa.conn_id,
        local=sa.local,
        remote=sa.remote,
        local_selector=local_sel,
        remote_selector=remote_sel,
        inbound=keys(ex.spi_in),
        outbound=keys(spi_out),
        transform=ts.ios_words,
        pfs_group=choice.pfs_group,
        lifetime_seconds=choice.lifetime_seconds,
        lifetime_kilobytes=choice.lifetime_kilobytes,
        udp_encapsulation=choice.encapsulation != Encapsulation.TUNNEL,
        crypto_map=policy.name,
    )


def tick(eng: IkeEngine, sa: IsakmpSa, now: float) -> None:
    """Retransmit QM1, give up on stale exchanges."""
    opts = eng.options
    stale = opts.retransmit_interval * (opts.retransmit_limit + 1)
    for mid, ex in list(sa.quick.items()):
        if ex.rtx.due is not None and now >= ex.rtx.due:
            ex.rtx.tries += 1
            if ex.rtx.tries > opts.retransmit_limit:
                peer = sa.remote.addr
                eng.emit(NegotiationFailed(peer, sa.conn_id, 2, "retransmissions exhausted"))
                del sa.quick[mid]
                continue
            eng.resend(ex.rtx)
            ex.rtx.due = now + opts.retransmit_interval
        elif ex.state in (QmState.R_QM2, QmState.DONE) and now >= ex.created + stale:
            del sa.quick[mid]


Handler = Callable[["IkeEngine", IsakmpSa, QuickExchange, list[Payload], bytes, float], bool]
HANDLERS: dict[str, Handler] = {"on_qm1": on_qm1, "on_qm2": on_qm2, "on_qm3": on_qm3}
