"""The sans-IO IKEv1 engine: datagrams and ``now`` in, events out.

One engine per router. The router feeds it every UDP datagram received on ports 500 and 4500
(:meth:`IkeEngine.receive`), tunnel requests from its crypto maps (:meth:`IkeEngine.initiate`) and
the passing of time (:meth:`IkeEngine.tick`, at :meth:`IkeEngine.next_deadline` at the latest), and
acts on the returned events. Nothing here reads a clock, opens a socket or sleeps. Errors in what a
peer sends never escape: they become :class:`~pkilab.protocols.ike.events.MalformedMessage` events.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from pkilab.protocols.ike import info, phase1, phase2
from pkilab.protocols.ike.codec import (
    HEADER_LEN,
    Header,
    IkeDecodeError,
    Payload,
    encode_payloads,
    header_bytes,
    parse_header,
    parse_payloads,
)
from pkilab.protocols.ike.config import CertVerdict, EngineOptions, IkeConfig, TunnelRequest
from pkilab.protocols.ike.constants import NATT_PORT, NON_ESP_MARKER, ExchangeType, Flag
from pkilab.protocols.ike.events import (
    Endpoint,
    Event,
    InternalError,
    IpsecSaDeleted,
    IsakmpSaDeleted,
    MalformedMessage,
    NoSa,
    Phase2Up,
    SendDatagram,
)
from pkilab.protocols.ike.mm_states import MmState
from pkilab.protocols.ike.sa import (
    IpsecSaInfo,
    IpsecSaRecord,
    IsakmpSa,
    IsakmpSaInfo,
    Retransmit,
    ipsec_info,
    isakmp_info,
)

Rng = Callable[[int], bytes]
ZERO_COOKIE = bytes(8)
_INF = float("inf")


class IkeEngine:
    """IKEv1 main mode, quick mode, informational exchanges and DPD for one router."""

    def __init__(self, config: IkeConfig, options: EngineOptions | None = None, rng: Rng = os.urandom):
        """Create an engine.

        Args:
            config: the router's IKE configuration; may be replaced later through ``config``.
            options: timers.
            rng: source of random bytes (cookies, nonces, SPIs, DH exponents).
        """
        self.config = config
        self.options = options or EngineOptions()
        self.rng = rng
        self._sas: dict[bytes, IsakmpSa] = {}
        self._ipsec: list[IpsecSaRecord] = []
        self._next_conn = 1001
        self._next_ipsec_conn = 2001
        self._out: list[Event] = []

    # --- public API --------------------------------------------------------------------------

    def receive(self, data: bytes, local: Endpoint, remote: Endpoint, now: float) -> list[Event]:
        """Handle one UDP payload received on ``local`` from ``remote``."""
        try:
            self._receive(bytes(data), local, remote, now)
        except IkeDecodeError as exc:
            self.emit(MalformedMessage(remote.addr, str(exc)))
        except Exception as exc:  # a bug here must not take the router down; it is reported instead
            self.emit(InternalError(remote.addr, f"{type(exc).__name__}: {exc}"))
        return self._flush()

    def initiate(self, request: TunnelRequest, now: float) -> list[Event]:
        """Bring up ESP SAs for ``request``: reuse phase 1 to the peer, or start main mode first."""
        if self._covered(request):
            return self._flush()
        sa = self._find_peer(request.peer)
        if sa is not None and sa.state == MmState.COMPLETE:
            phase2.start(self, sa, request, now)
        elif sa is not None:
            if request not in sa.queued:
                sa.queued.append(request)
        else:
            phase1.start(self, request, now)
        return self._flush()

    def tick(self, now: float) -> list[Event]:
        """Retransmit, expire lifetimes, run DPD and NAT-T keepalives due at ``now``."""
        for sa in list(self._sas.values()):
            phase1.tick(self, sa, now)
            if sa.icookie in self._sas:
                phase2.tick(self, sa, now)
                info.tick(self, sa, now)
        for rec in list(self._ipsec):
            self._tick_ipsec(rec, now)
        return self._flush()

    def next_deadline(self) -> float | None:
        """The earliest ``now`` at which :meth:`tick` has something to do, or None."""
        # Asked after every packet a branch or router handles: one pass, no lists.
        best = _INF
        dpd = self.config.dpd
        linger = self.options.failed_sa_linger
        for sa in self._sas.values():
            for t in (sa.rtx.due, sa.expires, sa.dpd_due, sa.natt_keepalive_due):
                if t is not None and t < best:
                    best = t
            if dpd is not None and sa.peer_dpd and sa.state == MmState.COMPLETE and not sa.dpd_waiting:
                best = min(best, info.dpd_probe_time(sa, dpd))
            if sa.failed_at is not None:
                best = min(best, sa.failed_at + linger)
            for ex in sa.quick.values():
                due = ex.rtx.due
                if due is not None and due < best:
                    best = due
        for rec in self._ipsec:
            best = min(best, rec.expires)
            if rec.rekey_at is not None and not rec.rekeyed:
                best = min(best, rec.rekey_at)
        return None if best == _INF else best

    def certificate_verdict(self, conn_id: int, verdict: CertVerdict, now: float) -> list[Event]:
        """Resume an exchange whose validator deferred its verdict."""
        for sa in list(self._sas.values()):
            if sa.conn_id == conn_id and sa.state == MmState.AUTH_PENDING:
                phase1.finish_rsa_auth(self, sa, verdict, now)
        return self._flush()

    def traffic_received(self, peer: str, now: float) -> None:
        """Note decrypted traffic from ``peer``: it is alive, so DPD need not probe it."""
        for sa in self._sas.values():
            if sa.remote.addr == peer:
                sa.last_heard = now

    def traffic_sent(self, peer: str, now: float) -> None:
        """Note traffic encrypted to ``peer``: on-demand DPD probes only peers we are sending to."""
        for sa in self._sas.values():
            if sa.remote.addr == peer:
                sa.last_traffic_sent = now

    def rekey_ipsec(self, inbound_spi: int, now: float) -> list[Event]:
        """Start a new quick mode for an SA pair we initiated (e.g. its kilobyte lifetime is nearly used)."""
        for rec in list(self._ipsec):
            if rec.up.inbound.spi == inbound_spi and rec.request is not None and not rec.rekeyed:
                rec.rekeyed = True
                self.initiate_internal(rec.request, now)
        return self._flush()

    def expire_ipsec(self, inbound_spi: int, now: float) -> list[Event]:
        """Delete an SA pair whose kilobyte lifetime ran out, telling the peer."""
        for rec in list(self._ipsec):
            if rec.up.inbound.spi == inbound_spi:
                self.drop_ipsec(rec, "lifetime expired (kilobytes)", now, notify=True)
        return self._flush()

    def clear_isakmp(self, now: float, conn_id: int | None = None) -> list[Event]:
        """``clear crypto isakmp [CONN-ID]``: delete ISAKMP SAs, telling the peer."""
        for sa in list(self._sas.values()):
            if conn_id is None or sa.conn_id == conn_id:
                if sa.state == MmState.COMPLETE:
                    info.send_isakmp_delete(self, sa, now)
                self.drop_sa(sa, "cleared")
        return self._flush()

    def clear_ipsec(self, now: float, peer: str | None = None) -> list[Event]:
        """``clear crypto sa [peer ADDR]``: delete ESP SAs, telling the peer."""
        for rec in list(self._ipsec):
            if peer is None or rec.up.remote.addr == peer:
                self.drop_ipsec(rec, "cleared", now, notify=True)
        return self._flush()

    def isakmp_sas(self, now: float) -> list[IsakmpSaInfo]:
        """Snapshots for ``show crypto isakmp sa``."""
        dpd = self.config.dpd is not None
        return [isakmp_info(sa, now, dpd) for sa in sorted(self._sas.values(), key=lambda s: s.conn_id)]

    def ipsec_sas(self, now: float) -> list[IpsecSaInfo]:
        """Snapshots for ``show crypto ipsec sa``."""
        return [ipsec_info(rec, now) for rec in self._ipsec]

    # --- helpers for the phase modules ------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Queue an event for the caller."""
        self._out.append(event)

    def new_conn_id(self) -> int:
        """Next ISAKMP connection id (IOS numbers them from 1001)."""
        self._next_conn += 1
        return self._next_conn - 1

    def new_message_id(self) -> int:
        """A random non-zero message ID."""
        while True:
            mid = int.from_bytes(self.rng(4), "big")
            if mid:
                return mid

    def new_spi(self) -> bytes:
        """A random inbound SPI above 255 (values below are reserved) not already in use."""
        used = {rec.up.inbound.spi for rec in self._ipsec}
        while True:
            spi = self.rng(4)
            value = int.from_bytes(spi, "big")
            if value > 255 and value not in used:
                return spi

    def add_sa(self, sa: IsakmpSa) -> None:
        """Track a new ISAKMP SA (keyed by the initiator cookie)."""
        self._sas[sa.icookie] = sa

    def drop_sa(self, sa: IsakmpSa, reason: str) -> None:
        """Forget an ISAKMP SA and report it."""
        if self._sas.pop(sa.icookie, None) is not None:
            self.emit(IsakmpSaDeleted(sa.conn_id, sa.remote.addr, reason))

    def sas(self) -> list[IsakmpSa]:
        """All ISAKMP SAs."""
        return list(self._sas.values())

    def ipsec_records(self) -> list[IpsecSaRecord]:
        """All installed ESP SA pairs."""
        return list(self._ipsec)

    def install_ipsec(self, up: Phase2Up, request: TunnelRequest | None, now: float) -> None:
        """Record a new ESP SA pair; the original initiator rekeys it before it expires."""
        ids = (self._next_ipsec_conn, self._next_ipsec_conn + 1)
        self._next_ipsec_conn += 2
        rekey = None
        if request is not None:
            rekey = now + max(up.lifetime_seconds - self.options.rekey_margin, up.lifetime_seconds * 0.9)
        self._ipsec.append(IpsecSaRecord(up, ids, now, now + up.lifetime_seconds, rekey, request))
        self.emit(up)

    def drop_ipsec(self, rec: IpsecSaRecord, reason: str, now: float, notify: bool) -> None:
        """Remove an ESP SA pair, optionally sending a DELETE for it."""
        if rec not in self._ipsec:
            return
        self._ipsec.remove(rec)
        if notify:
            sa = self._find_peer(rec.up.remote.addr)
            if sa is not None and sa.state == MmState.COMPLETE:
                info.send_esp_delete(self, sa, rec.up.inbound.spi, now)
        self.emit(IpsecSaDeleted(rec.up.remote.addr, rec.up.inbound.spi, rec.up.outbound.spi, reason))

    def send(
        self, sa: IsakmpSa, data: bytes, now: float, rtx: Retransmit | None, answered: bytes = b"", timer: bool = False
    ) -> None:
        """Send ``data`` on the SA's endpoints; remember it for retransmission when ``rtx`` is given.

        Args:
            sa: the ISAKMP SA (its current local/remote endpoints are used).
            data: the ISAKMP message.
            now: current time.
            rtx: the retransmission slot to fill, or None for a one-shot message.
            answered: the peer message this one answers; a copy of it later triggers a resend.
            timer: retransmit on a timer until answered (the side that is waiting for a reply).
        """
        self.send_raw(sa.local, sa.remote, data)
        if rtx is not None:
            rtx.data, rtx.local, rtx.remote, rtx.tries = data, sa.local, sa.remote, 0
            rtx.received = answered
            rtx.due = now + self.options.retransmit_interval if timer else None

    def send_raw(self, local: Endpoint, remote: Endpoint, data: bytes) -> None:
        """Emit a datagram, adding the non-ESP marker on the NAT-T port."""
        marker = NON_ESP_MARKER if local.port == NATT_PORT else b""
        self.emit(SendDatagram(local, remote, marker + data))

    def resend(self, rtx: Retransmit) -> None:
        """Send the remembered message again."""
        if rtx.data and rtx.local and rtx.remote:
            self.send_raw(rtx.local, rtx.remote, rtx.data)

    def seal(
        self, sa: IsakmpSa, exchange: int, mid: int, payloads: Sequence[Payload], iv: bytes, flags: int = 0
    ) -> tuple[bytes, bytes]:
        """Encrypt a message with the phase 1 key; return it and the IV for what follows."""
        assert sa.cipher is not None and sa.keys is not None  # only called once keys exist
        body = encode_payloads(payloads)
        bs = sa.cipher.block_size
        body += bytes((-len(body)) % bs)
        ct = sa.cipher.encrypt(sa.keys.enc_key, iv, body)
        hdr = header_bytes(
            sa.icookie, sa.rcookie, payloads[0].type, exchange, flags | Flag.ENCRYPTION, mid, HEADER_LEN + len(ct)
        )
        return hdr + ct, ct[-bs:]

    def plain(self, sa: IsakmpSa, exchange: int, payloads: Sequence[Payload], mid: int = 0) -> bytes:
        """A cleartext message on this SA's cookies."""
        body = encode_payloads(payloads)
        return header_bytes(sa.icookie, sa.rcookie, payloads[0].type, exchange, 0, mid, HEADER_LEN + len(body)) + body

    def unseal(self, sa: IsakmpSa, header: Header, data: bytes, iv: bytes) -> tuple[list[Payload], bytes]:
        """Decrypt and parse an encrypted message; return its payloads and the next IV.

        Raises:
            IkeDecodeError: not encrypted, no keys, bad length, or garbage after decryption.
        """
        if not header.flags & Flag.ENCRYPTION:
            raise IkeDecodeError("message should be encrypted and is not")
        if sa.cipher is None or sa.keys is None:
            raise IkeDecodeError("encrypted message before keys exist")
        ct = data[HEADER_LEN:]
        bs = sa.cipher.block_size
        if not ct or len(ct) % bs:
            raise IkeDecodeError(f"encrypted body of {len(ct)} bytes is not a multiple of {bs}")
        pt = sa.cipher.decrypt(sa.keys.enc_key, iv, ct)
        return parse_payloads(header.next_payload, pt, allow_padding=True), ct[-bs:]

    # --- internals ---------------------------------------------------------------------------

    def _flush(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    def _find_peer(self, peer: str) -> IsakmpSa | None:
        """The best ISAKMP SA with ``peer``: an established one, else one still negotiating."""
        live = [s for s in self._sas.values() if s.remote.addr == peer and s.failed_at is None]
        done = [s for s in live if s.state == MmState.COMPLETE]
        pick = done or live
        return max(pick, key=lambda s: s.created) if pick else None

    def _covered(self, request: TunnelRequest) -> bool:
        """An SA pair or a negotiation already exists for these proxies."""
        for rec in self._ipsec:
            up = rec.up
            if (up.remote.addr, up.local_selector, up.remote_selector) == (
                request.peer,
                request.local_selector,
                request.remote_selector,
            ) and not rec.rekeyed:
                return True
        for sa in self._sas.values():
            if sa.remote.addr != request.peer or sa.failed_at is not None:
                continue
            if request in sa.queued:
                return True
            if any(ex.request == request and ex.rtx.due is not None for ex in sa.quick.values()):
                return True
        return False

    def _receive(self, data: bytes, local: Endpoint, remote: Endpoint, now: float) -> None:
        if local.port == NATT_PORT:
            if data == b"\xff":
                return  # NAT keepalive (RFC 3948 2.3)
            if not data.startswith(NON_ESP_MARKER):
                raise IkeDecodeError("datagram on port 4500 without the non-ESP marker")
            data = data[len(NON_ESP_MARKER) :]
        header = parse_header(data)
        sa = self._sas.get(header.icookie)
        if header.exchange == ExchangeType.IDENTITY_PROTECTION:
            if sa is None:
                if header.rcookie != ZERO_COOKIE:
                    self.emit(NoSa(remote.addr, header.exchange))
                    return
                phase1.respond_mm1(self, header, data, local, remote, now)
            else:
                phase1.dispatch(self, sa, header, data, local, remote, now)
            return
        if sa is None or (sa.rcookie != header.rcookie and sa.rcookie != ZERO_COOKIE):
            self.emit(NoSa(remote.addr, header.exchange))
            return
        if header.exchange == ExchangeType.QUICK:
            phase2.dispatch(self, sa, header, data, now)
        elif header.exchange == ExchangeType.INFORMATIONAL:
            info.receive(self, sa, header, data, now)
        else:
            raise IkeDecodeError(f"unsupported exchange type {header.exchange}")

    def _tick_ipsec(self, rec: IpsecSaRecord, now: float) -> None:
        if now >= rec.expires:
            self.drop_ipsec(rec, "lifetime expired", now, notify=True)
            return
        if rec.rekey_at is not None and now >= rec.rekey_at and not rec.rekeyed and rec.request is not None:
            rec.rekeyed = True
            self.initiate_internal(rec.request, now)

    def initiate_internal(self, request: TunnelRequest, now: float) -> None:
        """Like :meth:`initiate` but keeps the events in the current batch."""
        events = self.initiate(request, now)
        self._out.extend(events)
