"""Main mode handlers (RFC 2409 5.1 with signatures, 5.4 with pre-shared keys) and NAT-D (RFC 3947).

The transitions are in :mod:`pkilab.protocols.ike.mm_states`; this module holds what each one does.
"""

from __future__ import annotations

import enum
import socket
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.protocols.ike import info, natt
from pkilab.protocols.ike.codec import (
    HEADER_LEN,
    Header,
    IdBody,
    IkeDecodeError,
    NotifyBody,
    Payload,
    encode_sa,
    parse_id,
    parse_notify,
    parse_payloads,
    parse_sa,
    parse_typed_body,
    typed_body,
)
from pkilab.protocols.ike.config import CertificateCheck, CertVerdict, TunnelRequest
from pkilab.protocols.ike.constants import (
    DOI_IPSEC,
    IKE_PORT,
    NATT_PORT,
    VID_DPD,
    VID_NATT_DRAFT_02N,
    VID_NATT_RFC3947,
    AuthMethod,
    CertEncoding,
    ExchangeType,
    IdType,
    Notify,
    PayloadType,
    ProtocolId,
)
from pkilab.protocols.ike.crypto import (
    cipher_spec,
    derive_phase1,
    dh_group,
    prf,
    rsa_sign_raw,
    rsa_verify_raw,
)
from pkilab.protocols.ike.events import (
    AuthenticationFailed,
    CertificateCheckPending,
    Endpoint,
    IdentityNotInCertificate,
    InternalError,
    MalformedMessage,
    NegotiationFailed,
    Phase1Up,
    StateChanged,
)
from pkilab.protocols.ike.mm_states import MAIN_MODE, MmState, Role
from pkilab.protocols.ike.policy import IsakmpPolicy, choose_phase1, phase1_offer, policy_from_chosen
from pkilab.protocols.ike.sa import IsakmpSa

if TYPE_CHECKING:
    from pkilab.protocols.ike.engine import IkeEngine

IDP = ExchangeType.IDENTITY_PROTECTION
ZERO = bytes(8)


class Outcome(enum.Enum):
    """What a handler did: apply the table's next state, keep the state, or it moved the SA itself."""

    OK = "ok"
    STAY = "stay"
    DIVERTED = "diverted"


# --- starting ----------------------------------------------------------------------------------


def usable_policies(eng: IkeEngine, peer: str) -> list[IsakmpPolicy]:
    """Policies this router can use with ``peer``: psk ones need a key, rsig ones a certificate."""
    out = []
    for pol in eng.config.policies:
        if pol.auth == AuthMethod.PSK and eng.config.psk_lookup(peer) is None:
            continue
        if pol.auth == AuthMethod.RSA_SIG and eng.config.rsa is None:
            continue
        out.append(pol)
    return out


def _vendor_ids(eng: IkeEngine, peer_natt: bool | None = None) -> list[Payload]:
    vids = [Payload(PayloadType.VENDOR, VID_DPD)]
    if eng.config.nat_t and peer_natt is not False:
        vids.append(Payload(PayloadType.VENDOR, VID_NATT_RFC3947))
    return vids


def start(eng: IkeEngine, request: TunnelRequest, now: float) -> None:
    """Send MM1 to the request's peer and queue the request for quick mode."""
    policies = usable_policies(eng, request.peer)
    if not policies:
        eng.emit(NegotiationFailed(request.peer, 0, 1, "no usable isakmp policy (no key or certificate)"))
        return
    sa = IsakmpSa(
        conn_id=eng.new_conn_id(),
        role=Role.INITIATOR,
        local=Endpoint(request.local_addr, IKE_PORT),
        remote=Endpoint(request.peer, IKE_PORT),
        icookie=eng.rng(8),
        rcookie=ZERO,
        state=MmState.I_MM1,
        created=now,
        offered=tuple(policies),
        last_heard=now,
    )
    sa.queued.append(request)
    if eng.options.debug_events:
        eng.emit(StateChanged(sa.conn_id, request.peer, "IKE_READY", sa.state.value))
    body = phase1_offer(tuple(policies))
    sa.sai_b = body
    eng.add_sa(sa)
    msg = eng.plain(sa, IDP, [Payload(PayloadType.SA, body), *_vendor_ids(eng)])
    eng.send(sa, msg, now, sa.rtx, timer=True)


def respond_mm1(eng: IkeEngine, header: Header, data: bytes, local: Endpoint, remote: Endpoint, now: float) -> None:
    """A new peer's MM1: choose a policy and answer with MM2, or refuse with NO-PROPOSAL-CHOSEN."""
    payloads = parse_payloads(header.next_payload, data[HEADER_LEN:])
    if not payloads or payloads[0].type != PayloadType.SA:
        raise IkeDecodeError("MM1 does not start with an SA payload")
    offer = parse_sa(payloads[0].body)
    vids = {p.body for p in payloads if p.type == PayloadType.VENDOR}
    sa = IsakmpSa(
        conn_id=eng.new_conn_id(),
        role=Role.RESPONDER,
        local=local,
        remote=remote,
        icookie=header.icookie,
        rcookie=eng.rng(8),
        state=MmState.R_MM2,
        created=now,
        last_heard=now,
    )
    chosen = choose_phase1(offer, usable_policies(eng, remote.addr))
    if chosen is None:
        info.send_plain_notify(eng, sa, Notify.NO_PROPOSAL_CHOSEN)
        eng.emit(NegotiationFailed(remote.addr, 0, 1, "no proposal chosen"))
        return
    sa.policy, prop, _ = chosen
    sa.sai_b = payloads[0].body
    sa.peer_dpd = VID_DPD in vids
    sa.peer_natt = eng.config.nat_t and bool({VID_NATT_RFC3947, VID_NATT_DRAFT_02N} & vids)
    _setup_crypto(sa)
    answer = offer.__class__(offer.doi, offer.situation, (prop,))
    eng.add_sa(sa)
    if eng.options.debug_events:
        eng.emit(StateChanged(sa.conn_id, remote.addr, "IKE_READY", sa.state.value))
    msg = eng.plain(sa, IDP, [Payload(PayloadType.SA, encode_sa(answer)), *_vendor_ids(eng, sa.peer_natt)])
    eng.send(sa, msg, now, sa.rtx, answered=data)


def _setup_crypto(sa: IsakmpSa) -> None:
    assert sa.policy is not None
    sa.group = dh_group(sa.policy.group)
    sa.cipher = cipher_spec(sa.policy.encr, sa.policy.key_bits)


# --- dispatch ----------------------------------------------------------------------------------


def set_state(eng: IkeEngine, sa: IsakmpSa, new: MmState) -> None:
    """Move the SA and report it (``debug crypto isakmp`` prints Old State / New State)."""
    if new is not sa.state:
        if eng.options.debug_events:
            eng.emit(StateChanged(sa.conn_id, sa.remote.addr, sa.state.value, new.value))
        sa.state = new


def dispatch(
    eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, local: Endpoint, remote: Endpoint, now: float
) -> None:
    """Route a main mode message for an existing SA through the state table."""
    if data == sa.rtx.received:
        eng.resend(sa.rtx)  # the peer did not get our answer
        return
    learning = sa.role == Role.INITIATOR and sa.state == MmState.I_MM1 and sa.rcookie == ZERO
    if learning and header.rcookie != ZERO:
        sa.rcookie = header.rcookie  # MM2 tells us the responder cookie; undone below if MM2 is bad
    if header.rcookie != sa.rcookie:
        raise IkeDecodeError("main mode message with a wrong responder cookie")
    entry = MAIN_MODE.get((sa.role, sa.state))
    if entry is None:
        # Late copies are normal once we are done, failed, or waiting for the validator.
        if sa.state not in (MmState.FAILED, MmState.COMPLETE, MmState.AUTH_PENDING):
            eng.emit(MalformedMessage(remote.addr, f"unexpected main mode message in {sa.state.value}"))
        return
    name, next_state = entry
    outcome = Outcome.STAY
    try:
        outcome = HANDLERS[name](eng, sa, header, data, now, local, remote)
    finally:
        if learning and outcome is Outcome.STAY:
            sa.rcookie = ZERO  # a forged or broken MM2 must not lock out the real one
    if outcome is Outcome.STAY:
        return
    sa.last_heard = now
    if outcome is Outcome.OK:
        set_state(eng, sa, next_state)
    if sa.state == MmState.COMPLETE:
        complete(eng, sa, now)


# --- messages 2 to 4 ---------------------------------------------------------------------------


def _by_type(payloads: list[Payload], kind: int) -> list[Payload]:
    return [p for p in payloads if p.type == kind]


def _one(payloads: list[Payload], kind: int, msg: str) -> bytes:
    found = _by_type(payloads, kind)
    if len(found) != 1:
        raise IkeDecodeError(f"{msg}: expected one payload of type {kind}, got {len(found)}")
    return found[0].body


def _prepare_ke(eng: IkeEngine, sa: IsakmpSa) -> None:
    """Choose our DH exponent and nonce."""
    assert sa.group is not None
    sa.dh_priv = sa.group.private_key(eng.rng)
    ke, nonce = sa.group.public_key(sa.dh_priv), eng.rng(eng.options.nonce_len)
    if sa.role == Role.INITIATOR:
        sa.ke_i, sa.ni = ke, nonce
    else:
        sa.ke_r, sa.nr = ke, nonce


def _send_ke(eng: IkeEngine, sa: IsakmpSa, now: float, answered: bytes) -> None:
    """MM3 or MM4: KE, nonce, CERT_REQ for rsig, NAT-D when NAT-T was agreed."""
    assert sa.policy is not None
    ours = (sa.ke_i, sa.ni) if sa.role == Role.INITIATOR else (sa.ke_r, sa.nr)
    payloads = [Payload(PayloadType.KE, ours[0]), Payload(PayloadType.NONCE, ours[1])]
    if sa.policy.auth == AuthMethod.RSA_SIG:
        names = eng.config.rsa.ca_names if eng.config.rsa else ()
        payloads += [Payload(PayloadType.CR, typed_body(CertEncoding.X509_SIG, n)) for n in names or (b"",)]
    if sa.peer_natt:
        payloads += natt.natd_payloads(sa, eng.config.force_nat_t)
    eng.send(sa, eng.plain(sa, IDP, payloads), now, sa.rtx, answered, timer=sa.role == Role.INITIATOR)


def on_mm2(eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, now: float, *_: Endpoint) -> Outcome:
    """MM2: the responder's choice; answer with our KE and nonce (MM3)."""
    payloads = parse_payloads(header.next_payload, data[HEADER_LEN:])
    answer = parse_sa(_one(payloads, PayloadType.SA, "MM2"))
    policy = policy_from_chosen(answer, sa.offered)
    if policy is None:
        eng.emit(MalformedMessage(sa.remote.addr, "MM2 chose a transform we did not offer"))
        return Outcome.STAY
    vids = {p.body for p in payloads if p.type == PayloadType.VENDOR}
    sa.policy = policy
    sa.peer_dpd = VID_DPD in vids
    sa.peer_natt = eng.config.nat_t and bool({VID_NATT_RFC3947, VID_NATT_DRAFT_02N} & vids)
    _setup_crypto(sa)
    _prepare_ke(eng, sa)
    _send_ke(eng, sa, now, answered=data)
    return Outcome.OK


def _take_ke(eng: IkeEngine, sa: IsakmpSa, payloads: list[Payload]) -> bool:
    """Store the peer's KE and nonce and derive the keys; False (and an event) when unusable."""
    assert sa.group is not None and sa.policy is not None and sa.cipher is not None
    ke = _one(payloads, PayloadType.KE, "KE message")
    nonce = _one(payloads, PayloadType.NONCE, "KE message")
    if not 8 <= len(nonce) <= 256:
        raise IkeDecodeError(f"nonce of {len(nonce)} bytes")
    shared = sa.group.shared_secret(sa.dh_priv, ke)
    if shared is None:
        raise IkeDecodeError("KE payload has the wrong length or value for the group")
    if sa.role == Role.INITIATOR:
        sa.ke_r, sa.nr = ke, nonce
    else:
        sa.ke_i, sa.ni = ke, nonce
    h = sa.policy.hash
    if sa.policy.auth == AuthMethod.PSK:
        psk = eng.config.psk_lookup(sa.remote.addr)
        if psk is None:
            eng.emit(NegotiationFailed(sa.remote.addr, sa.conn_id, 1, "pre-shared key removed"))
            return False
        skeyid = prf(h, psk, sa.ni + sa.nr)
    else:
        skeyid = prf(h, sa.ni + sa.nr, shared)
    sa.shared = shared
    sa.keys = derive_phase1(h, sa.cipher, skeyid, shared, sa.icookie, sa.rcookie, sa.ke_i, sa.ke_r)
    sa.iv = sa.keys.iv
    if sa.peer_natt:
        natt.detect(sa, [p.body for p in _by_type(payloads, PayloadType.NAT_D)], eng.config.force_nat_t)
    return True


def on_mm3(eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, now: float, *_: Endpoint) -> Outcome:
    """MM3: the initiator's KE and nonce; answer with ours (MM4)."""
    payloads = parse_payloads(header.next_payload, data[HEADER_LEN:])
    _prepare_ke(eng, sa)
    if not _take_ke(eng, sa, payloads):
        return Outcome.STAY
    _send_ke(eng, sa, now, answered=data)
    return Outcome.OK


def on_mm4(eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, now: float, *_: Endpoint) -> Outcome:
    """MM4: the responder's KE and nonce; derive keys, move to 4500 under NAT, send MM5."""
    payloads = parse_payloads(header.next_payload, data[HEADER_LEN:])
    if not _take_ke(eng, sa, payloads):
        return Outcome.STAY
    if sa.nat_t:
        sa.local = Endpoint(sa.local.addr, NATT_PORT)
        sa.remote = Endpoint(sa.remote.addr, NATT_PORT)
    _send_auth(eng, sa, now, answered=data)
    return Outcome.OK


# --- messages 5 and 6 --------------------------------------------------------------------------


def _own_id(eng: IkeEngine, sa: IsakmpSa) -> IdBody:
    """Our phase 1 identity (``crypto isakmp identity``), protocol UDP port 500 as IOS sends it."""
    cfg = eng.config
    if cfg.identity == "dn" and cfg.rsa is not None:
        own = certificate(cfg.rsa.certificate)
        subject = own.subject.public_bytes() if own is not None else b""
        return IdBody(IdType.DER_ASN1_DN, 17, IKE_PORT, subject)
    if cfg.identity == "hostname" and cfg.hostname:
        return IdBody(IdType.FQDN, 17, IKE_PORT, cfg.hostname.encode())
    return IdBody(IdType.IPV4_ADDR, 17, IKE_PORT, socket.inet_aton(sa.local.addr))


def _auth_hash(sa: IsakmpSa, of_initiator: bool, id_body: bytes) -> bytes:
    """HASH_I or HASH_R (RFC 2409 5)."""
    assert sa.policy is not None and sa.keys is not None
    if of_initiator:
        data = sa.ke_i + sa.ke_r + sa.icookie + sa.rcookie + sa.sai_b + id_body
    else:
        data = sa.ke_r + sa.ke_i + sa.rcookie + sa.icookie + sa.sai_b + id_body
    return prf(sa.policy.hash, sa.keys.skeyid, data)


def _send_auth(eng: IkeEngine, sa: IsakmpSa, now: float, answered: bytes) -> None:
    """MM5 or MM6: ID, then CERT and SIG (rsig) or HASH (psk), encrypted."""
    assert sa.policy is not None
    id_body = _own_id(eng, sa).encode()
    digest = _auth_hash(sa, sa.role == Role.INITIATOR, id_body)
    payloads = [Payload(PayloadType.ID, id_body)]
    if sa.policy.auth == AuthMethod.RSA_SIG and eng.config.rsa is not None:
        rsa_cfg = eng.config.rsa
        payloads.append(Payload(PayloadType.CERT, typed_body(CertEncoding.X509_SIG, rsa_cfg.certificate)))
        payloads.append(Payload(PayloadType.SIG, rsa_sign_raw(rsa_cfg.private_key, digest)))
    else:
        payloads.append(Payload(PayloadType.HASH, digest))
    # Only when we hold nothing else for the peer: during a simultaneous negotiation from both
    # sides, an INITIAL-CONTACT would make the peer drop the SA that is just coming up.
    others = [o for o in eng.sas() if o is not sa and o.remote.addr == sa.remote.addr and o.failed_at is None]
    if sa.role == Role.INITIATOR and not others:
        # RFC 2407 4.6.3.3, sent by IOS too: the peer may drop state left from our previous life.
        note = NotifyBody(DOI_IPSEC, ProtocolId.ISAKMP, Notify.INITIAL_CONTACT, sa.icookie + sa.rcookie, b"")
        payloads.append(Payload(PayloadType.NOTIFY, note.encode()))
    msg, sa.iv = eng.seal(sa, IDP, 0, payloads, sa.iv)
    eng.send(sa, msg, now, sa.rtx, answered, timer=sa.role == Role.INITIATOR)


def _identity_text(idb: IdBody, cert: bytes) -> str:
    if idb.id_type == IdType.IPV4_ADDR and len(idb.data) == 4:
        return socket.inet_ntoa(idb.data)
    if idb.id_type in (IdType.FQDN, IdType.USER_FQDN):
        return idb.data.decode("ascii", "replace")
    parsed = certificate(cert) if idb.id_type == IdType.DER_ASN1_DN and cert else None
    if parsed is not None and parsed.subject.public_bytes() == idb.data:
        return parsed.subject.rfc4514_string()
    return idb.data.hex()


def on_auth(
    eng: IkeEngine, sa: IsakmpSa, header: Header, data: bytes, now: float, local: Endpoint, remote: Endpoint
) -> Outcome:
    """MM5 (responder) or MM6 (initiator): check the peer's identity, hash or signature."""
    assert sa.policy is not None
    payloads, next_iv = eng.unseal(sa, header, data, sa.iv)
    idp = parse_id(_one(payloads, PayloadType.ID, "MM5/MM6"))
    if sa.policy.auth == AuthMethod.PSK:
        got = _one(payloads, PayloadType.HASH, "MM5/MM6")
    else:
        got = _one(payloads, PayloadType.SIG, "MM5/MM6")
    sa.iv, sa.rtx.due = next_iv, None
    if sa.nat_t:
        sa.local, sa.remote = local, remote  # under NAT the peer's port may have been rewritten
    certs = [parse_typed_body(p.body, "CERT") for p in _by_type(payloads, PayloadType.CERT)]
    x509s = [c for enc, c in certs if enc == CertEncoding.X509_SIG]
    sa.peer_cert = x509s[0] if x509s else b""
    sa.peer_identity = _identity_text(idp, sa.peer_cert)
    notes = [parse_notify(p.body) for p in _by_type(payloads, PayloadType.NOTIFY)]
    sa.peer_initial_contact = any(n.notify_type == Notify.INITIAL_CONTACT for n in notes)
    if sa.policy.auth == AuthMethod.PSK:
        expected = _auth_hash(sa, sa.role == Role.RESPONDER, idp.encode())
        if got != expected:
            eng.emit(AuthenticationFailed(sa.remote.addr, sa.conn_id, "preshared-key", "hash mismatch"))
            fail(eng, sa, now, Notify.INVALID_HASH_INFORMATION)
            return Outcome.DIVERTED
        _authenticated(eng, sa, data, now)
        return Outcome.OK
    sa.pending_auth = (idp, got, data)
    if not x509s:
        return _finish(eng, sa, CertVerdict.bad("certificate unavailable"), now)
    try:
        verdict = eng.config.validator(CertificateCheck(sa.remote.addr, x509s[0], tuple(x509s[1:]), now))
    except Exception as exc:  # the router's bug must not leave the SA half-done
        eng.emit(InternalError(sa.remote.addr, f"certificate validator raised {type(exc).__name__}: {exc}"))
        verdict = CertVerdict.bad("certificate invalid")
    if verdict is None:
        set_state(eng, sa, MmState.AUTH_PENDING)
        eng.emit(CertificateCheckPending(sa.remote.addr, sa.conn_id))
        return Outcome.DIVERTED
    return _finish(eng, sa, verdict, now)


def _finish(eng: IkeEngine, sa: IsakmpSa, verdict: CertVerdict, now: float) -> Outcome:
    return Outcome.OK if _check_rsa(eng, sa, verdict, now) else Outcome.DIVERTED


def _check_rsa(eng: IkeEngine, sa: IsakmpSa, verdict: CertVerdict, now: float) -> bool:
    """Apply the validator's verdict, then check the signature; True when the peer is authenticated."""
    assert sa.pending_auth is not None
    idp, sig, data = sa.pending_auth
    sa.pending_auth = None
    if not verdict.ok:
        eng.emit(AuthenticationFailed(sa.remote.addr, sa.conn_id, "certificate", verdict.reason))
        fail(eng, sa, now, Notify.INVALID_CERTIFICATE)
        return False
    cert = certificate(sa.peer_cert)
    key = cert.public_key() if cert is not None else None
    expected = _auth_hash(sa, sa.role == Role.RESPONDER, idp.encode())
    if cert is None or not isinstance(key, rsa.RSAPublicKey) or not rsa_verify_raw(key, expected, sig):
        eng.emit(AuthenticationFailed(sa.remote.addr, sa.conn_id, "signature", "signature invalid"))
        fail(eng, sa, now, Notify.INVALID_SIGNATURE)
        return False
    _warn_id_not_in_cert(eng, sa, idp)
    _authenticated(eng, sa, data, now)
    return True


def _warn_id_not_in_cert(eng: IkeEngine, sa: IsakmpSa, idp: IdBody) -> None:
    """IOS warns (IKMP_NO_ID_CERT_ADDR_MATCH) when an address ID is not among the certificate's addresses."""
    if idp.id_type != IdType.IPV4_ADDR or len(idp.data) != 4:
        return
    addrs = _certificate_addresses(sa.peer_cert)
    if socket.inet_ntoa(idp.data) not in addrs:
        eng.emit(IdentityNotInCertificate(sa.remote.addr, sa.conn_id, socket.inet_ntoa(idp.data), idp.id_type, addrs))


# A peer sends the same certificate in every handshake: each distinct one is parsed once (the
# objects are immutable), and its addresses are read once, since reading its extensions builds a
# Python object for each of them. Signatures are still checked on every handshake.
@lru_cache(maxsize=256)
def certificate(der: bytes) -> x509.Certificate | None:
    """The certificate in these DER bytes, or None when they are not one."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _certificate_addresses(der: bytes) -> tuple[str, ...]:
    """The IP addresses in a certificate's subject alternative names (none when it has none)."""
    cert = certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName) if cert else None
    except (ValueError, x509.ExtensionNotFound):
        return ()
    if san is None:
        return ()
    return tuple(str(a) for a in san.value.get_values_for_type(x509.IPAddress))


def finish_rsa_auth(eng: IkeEngine, sa: IsakmpSa, verdict: CertVerdict, now: float) -> None:
    """Resume after a deferred validator verdict (``IkeEngine.certificate_verdict``)."""
    if sa.pending_auth is None:
        return
    if _check_rsa(eng, sa, verdict, now):
        set_state(eng, sa, MmState.COMPLETE)
        sa.last_heard = now
        complete(eng, sa, now)


def _authenticated(eng: IkeEngine, sa: IsakmpSa, answered: bytes, now: float) -> None:
    if sa.peer_initial_contact:
        # The peer restarted: whatever we still hold for it is stale.
        for other in eng.sas():
            if other is not sa and other.remote.addr == sa.remote.addr and other.established is not None:
                eng.drop_sa(other, "initial contact")
        for rec in eng.ipsec_records():
            if rec.up.remote.addr == sa.remote.addr:
                eng.drop_ipsec(rec, "initial contact", now, notify=False)
    if sa.role == Role.RESPONDER:
        _send_auth(eng, sa, now, answered=answered)


def fail(eng: IkeEngine, sa: IsakmpSa, now: float, notify: int) -> None:
    """Refuse the peer: tell it in a protected informational, keep the SA visible for a while."""
    info.send_notify(eng, sa, notify, now)
    set_state(eng, sa, MmState.FAILED)
    sa.failed_at, sa.rtx.due = now, None
    sa.queued.clear()


def complete(eng: IkeEngine, sa: IsakmpSa, now: float) -> None:
    """Phase 1 is up: report it and start the queued quick modes."""
    from pkilab.protocols.ike import phase2  # phase2 imports this module

    assert sa.policy is not None
    sa.established, sa.expires, sa.rtx.due = now, now + sa.policy.lifetime, None
    if sa.nat_local:
        sa.natt_keepalive_due = now + natt.KEEPALIVE_INTERVAL
    dpd = eng.config.dpd is not None and sa.peer_dpd
    eng.emit(Phase1Up(sa.conn_id, sa.local, sa.remote, sa.policy.auth_name, sa.peer_identity, sa.nat_t, dpd))
    queued, sa.queued = sa.queued, []
    for request in queued:
        phase2.start(eng, sa, request, now)


def tick(eng: IkeEngine, sa: IsakmpSa, now: float) -> None:
    """Retransmit main mode, give up, expire the SA."""
    opts = eng.options
    if sa.rtx.due is not None and now >= sa.rtx.due:
        sa.rtx.tries += 1
        if sa.rtx.tries > opts.retransmit_limit:
            eng.emit(NegotiationFailed(sa.remote.addr, sa.conn_id, 1, "retransmissions exhausted"))
            eng.drop_sa(sa, "death by retransmission P1")
            return
        eng.resend(sa.rtx)
        sa.rtx.due = now + opts.retransmit_interval
    if sa.failed_at is not None and now >= sa.failed_at + opts.failed_sa_linger:
        eng.drop_sa(sa, "authentication failed")
    elif sa.state not in (MmState.COMPLETE, MmState.FAILED, MmState.AUTH_PENDING) and sa.rtx.due is None:
        if now >= sa.created + opts.retransmit_interval * (opts.retransmit_limit + 1):
            eng.drop_sa(sa, "negotiation timed out")
    elif sa.state == MmState.COMPLETE and sa.expires is not None and now >= sa.expires:
        info.send_isakmp_delete(eng, sa, now)
        eng.drop_sa(sa, "lifetime expired")


Handler = Callable[["IkeEngine", IsakmpSa, Header, bytes, float, Endpoint, Endpoint], Outcome]
HANDLERS: dict[str, Handler] = {
    "on_mm2": on_mm2,
    "on_mm3": on_mm3,
    "on_mm4": on_mm4,
    "on_mm5": on_auth,
    "on_mm6": on_auth,
}
