"""One virtual branch: a key pair, a certificate, an IKE engine, ESP SAs and pings, on packets.

A :class:`VirtualBranch` is a router reduced to what a headend sees of a branch. It is fed the
IPv4 packets addressed to it and the time, and hands the packets it sends to a ``send``
callback; nothing here opens a socket or reads a clock. IKE is the project's engine
(:mod:`pkilab.protocols.ike`, with IOS's retransmissions, lifetimes, DPD and rekeys), ESP is
:mod:`pkilab.protocols.esp`, and traffic is ICMP echo from the branch's LAN address to the
lab plan's ping target, through the tunnel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PSS, PKCS1v15

from pkilab.load.states import Phase, move
from pkilab.protocols import esp
from pkilab.protocols.ike import (
    AuthenticationFailed,
    CertificateCheck,
    CertVerdict,
    DpdConfig,
    Endpoint,
    EngineOptions,
    Event,
    IkeConfig,
    IkeEngine,
    InternalError,
    IpsecSaDeleted,
    IsakmpPolicy,
    MalformedMessage,
    ModeFailure,
    NegotiationFailed,
    NotificationReceived,
    Phase1Up,
    Phase2Policy,
    Phase2Up,
    RsaCredentials,
    Selector,
    SendDatagram,
    TunnelRequest,
    classify_4500,
)
from pkilab.protocols.ike.constants import IKE_PORT, NATT_PORT, Notify
from pkilab.protocols.ike.phase1 import certificate
from pkilab.sim import packets as pk

# Protected notifications by which a headend refuses our credentials (RFC 2408 3.14.1).
REFUSING_NOTIFIES = frozenset(
    {
        Notify.INVALID_CERT_ENCODING,
        Notify.INVALID_CERTIFICATE,
        Notify.INVALID_CERT_AUTHORITY,
        Notify.INVALID_HASH_INFORMATION,
        Notify.AUTHENTICATION_FAILED,
        Notify.INVALID_SIGNATURE,
    }
)
ECHO_BYTES = 56


@dataclass(frozen=True)
class BranchProfile:
    """What every virtual branch of a run shares.

    Attributes:
        headend: the headend's outside address (the IKE peer).
        target: the ping target behind the headend.
        remote: the protected network that holds the target (the tunnel's remote proxy).
        policies: ISAKMP policies offered (the lab plan's crypto profile, rsig or psk).
        phase2: transform set and lifetimes proposed in quick mode.
        psk: the pre-shared key (psk runs), else None.
        ca_cert: the CA certificate the headend's certificate must chain to (rsig runs).
        options: IKE timers (IOS's, or the simulated lab's faster ones).
        dpd: ``crypto isakmp keepalive``, as the headend's.
        nat_t: ``crypto ipsec nat-transparency udp-encaps``; off as the seed's branches have it, on
            (and forced, claiming a NAT so that ESP travels in UDP 4500) on host sockets, which cannot
            send IP protocol 50.
    """

    headend: str
    target: str
    remote: Selector
    policies: tuple[IsakmpPolicy, ...]
    phase2: Phase2Policy
    psk: bytes | None = field(default=None, repr=False)
    ca_cert: x509.Certificate | None = None
    options: EngineOptions = field(default_factory=EngineOptions)
    dpd: DpdConfig | None = None
    nat_t: bool = False

    @functools.cached_property
    def ca_key(self) -> rsa.RSAPublicKey | None:
        """The CA's RSA key, loaded once for the whole run (None without a CA or for another key type)."""
        key = self.ca_cert.public_key() if self.ca_cert is not None else None
        return key if isinstance(key, rsa.RSAPublicKey) else None


@dataclass
class Milestones:
    """When a branch reached each step (loop time, seconds), for latencies and the report."""

    started: float | None = None
    keygen: float | None = None  # seconds the key pair took to generate (a duration, not a time)
    keys: float | None = None
    enroll_sent: float | None = None  # the PKCSReq left (after queueing for a key pair and a connection)
    enrolled: float | None = None
    initiated: float | None = None  # the first main mode message
    retried: float | None = None  # the latest new attempt (after revocation, after a lost tunnel)
    phase1: float | None = None
    up: float | None = None
    traffic: float | None = None
    revoked: float | None = None
    refused: float | None = None
    failed: float | None = None


@functools.lru_cache(maxsize=64)
def _issuer_is(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """``cert`` names ``ca`` as its issuer (comparing names builds objects: once per pair)."""
    return cert.issuer == ca.subject


class VirtualBranch:
    """A branch router on the test host, driven by packets and time."""

    def __init__(
        self, index: int, address: str, lan: str, profile: BranchProfile, send: Callable[[bytes], None]
    ) -> None:
        self.index = index
        self.name = f"vbr{index + 1:05d}"
        self.address = address
        self.lan = lan
        self.profile = profile
        self.send = send
        self.phase = Phase.NEW
        self.reason = ""
        self.at = Milestones()
        self.key: rsa.RSAPrivateKey | None = None
        self.cert: x509.Certificate | None = None
        self.engine: IkeEngine | None = None
        self.inbound: dict[int, esp.EspSa] = {}
        self.outbound: esp.EspSa | None = None
        self.outbound_pair: list[tuple[int, esp.EspSa]] = []  # (inbound spi, outbound SA), oldest first
        self.handshakes = 0
        self.refusals: list[str] = []
        self.errors: list[str] = []
        self.echoes_sent = 0
        self.echoes_answered = 0
        self._seq = 0
        self._echo_waiters: dict[int, asyncio.Future[bool]] = {}
        self._up_waiters: list[asyncio.Future[bool]] = []
        # (branch, event, phase before it): the fleet's counters follow every move.
        self.on_change: Callable[[VirtualBranch, str, Phase], None] = lambda _b, _e, _p: None

    # ---- phases ------------------------------------------------------------------------------
    def event(self, name: str, now: float, reason: str = "") -> None:
        """Move through the phase table (:mod:`pkilab.load.states`) and tell the fleet."""
        before = self.phase
        self.phase = move(self.phase, name)
        if self.phase is Phase.FAILED and before is not Phase.FAILED:
            self.reason = reason or name
            self.at.failed = now
        if self.phase is not before or name in ("up", "down"):
            self.on_change(self, name, before)

    def fail(self, reason: str, now: float) -> None:
        """Give up on this branch with ``reason``."""
        self.event("fail", now, reason)

    @property
    def tunnel_up(self) -> bool:
        """An ESP SA pair is installed."""
        return self.outbound is not None

    @property
    def fqdn_label(self) -> str:
        """The name a certificate carries for this branch (before the lab's domain)."""
        return self.name

    # ---- IKE ---------------------------------------------------------------------------------
    def credentials(self, key: rsa.RSAPrivateKey | None, cert: x509.Certificate | None) -> None:
        """Install the key pair and certificate (rsig) or nothing (psk) and create the engine."""
        self.key, self.cert = key, cert
        creds = None
        if key is not None and cert is not None:
            ca = self.profile.ca_cert
            names = (ca.subject.public_bytes(),) if ca is not None else ()
            creds = RsaCredentials(cert.public_bytes(serialization.Encoding.DER), key, names)
        psk = self.profile.psk
        headend = self.profile.headend
        config = IkeConfig(
            policies=self.profile.policies,
            psk_lookup=lambda peer: psk if peer == headend else None,
            rsa=creds,
            validator=self._validate,
            dpd=self.profile.dpd,
            nat_t=self.profile.nat_t,
            force_nat_t=self.profile.nat_t,
        )
        # A branch prints no IOS debug lines: the engine need not build their events.
        self.engine = IkeEngine(config, replace(self.profile.options, debug_events=False))

    def _validate(self, check: CertificateCheck) -> CertVerdict:
        """The headend's certificate must be issued by the CA and valid now (this host's clock)."""
        ca = self.profile.ca_cert
        if ca is None:
            return CertVerdict.bad("no CA certificate")
        cert = certificate(check.certificate)
        try:
            if cert is None:
                raise ValueError("not a certificate")
            self._issued_by(cert, ca)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            return CertVerdict.bad("certificate chain validation failed")
        now = dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return CertVerdict.bad("certificate outside its validity dates")
        return CertVerdict.good()

    def _issued_by(self, cert: x509.Certificate, ca: x509.Certificate) -> None:
        """``cert.verify_directly_issued_by(ca)``, with the CA's RSA key kept instead of loaded each time.

        Raises:
            ValueError: another issuer; InvalidSignature: a bad signature.
        """
        key, hash_alg = self.profile.ca_key, cert.signature_hash_algorithm
        if key is None or hash_alg is None:
            cert.verify_directly_issued_by(ca)
            return
        if not _issuer_is(cert, ca):
            raise ValueError("issued by another CA")
        padding = cert.signature_algorithm_parameters
        if not isinstance(padding, PKCS1v15 | PSS):
            raise ValueError("not an RSA signature")
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding, hash_alg)

    @functools.cached_property
    def request(self) -> TunnelRequest:
        """The tunnel this branch brings up: its LAN address to the protected network."""
        lan = Selector.parse(self.lan)
        return TunnelRequest(self.profile.headend, self.address, lan, self.profile.remote, self.profile.phase2)

    def initiate(self, now: float) -> None:
        """Start (or restart) main mode and quick mode towards the headend."""
        if self.engine is None:
            raise RuntimeError(f"{self.name}: no credentials yet")
        if self.at.initiated is None:
            self.at.initiated = now
        self.at.retried = now
        self.event("initiated", now)
        self.act(self.engine.initiate(self.request, now), now)

    def reset(self, now: float) -> None:
        """Drop every SA, as ``clear crypto session`` on a router (the peer is told while it can be)."""
        if self.engine is not None:
            self.act(self.engine.clear_ipsec(now), now)
            self.act(self.engine.clear_isakmp(now), now)

    def tick(self, now: float) -> None:
        """Run the engine's timers."""
        if self.engine is not None:
            self.act(self.engine.tick(now), now)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must run next."""
        return self.engine.next_deadline() if self.engine is not None else None

    def act(self, events: Iterable[Event], now: float) -> None:
        """Carry out what the engine asks for and note what happened (``_ON_EVENT``: what each event does)."""
        table = self._ON_EVENT
        for ev in events:
            handler = table.get(type(ev))
            if handler is not None:
                handler(self, ev, now)

    def _send_datagram(self, ev: SendDatagram, _now: float) -> None:
        # UDP checksum 0, "none computed" (RFC 768, IPv4): the simulated link and the host's
        # sockets carry the payload and nothing on the way checks it; it saves a pass over it.
        udp = struct.pack("!HHHH", ev.local.port, ev.remote.port, 8 + len(ev.data), 0) + ev.data
        self.send(pk.ipv4(ev.local.addr, ev.remote.addr, pk.PROTO_UDP, udp, ttl=64))

    def _phase1_up(self, _ev: Phase1Up, now: float) -> None:
        self.at.phase1 = self.at.phase1 or now

    def _sa_deleted(self, ev: IpsecSaDeleted, _now: float) -> None:
        self._remove(ev.inbound_spi)

    def _auth_refused(self, ev: AuthenticationFailed | ModeFailure, now: float) -> None:
        self._refused(type(ev).__name__, now)

    def _notified(self, ev: NotificationReceived, now: float) -> None:
        if ev.protected and ev.notify_type in REFUSING_NOTIFIES:
            self._refused(f"notify {Notify(ev.notify_type).name}", now)

    def _negotiation_failed(self, ev: NegotiationFailed, _now: float) -> None:
        self.refusals.append(f"negotiation failed: {ev.reason}")

    def _error(self, ev: InternalError | MalformedMessage, _now: float) -> None:
        self.errors.append(f"{type(ev).__name__}: {ev.detail}")

    def _refused(self, why: str, now: float) -> None:
        """The headend will not have us: note it, end the wait for a tunnel."""
        self.refusals.append(why)
        self.event("refused", now)
        if self.phase is Phase.REFUSED:
            self.at.refused = self.at.refused or now
        self._wake_up_waiters(False)

    def _install(self, up: Phase2Up, now: float) -> None:
        inbound, outbound = esp.sa_pair(up)
        self.inbound[inbound.spi] = inbound
        self.outbound_pair.append((inbound.spi, outbound))
        self.outbound = outbound
        self.handshakes += 1
        if self.at.up is None:
            self.at.up = now
        self.event("up", now)
        self._wake_up_waiters(True)

    def _remove(self, inbound_spi: int) -> None:
        self.inbound.pop(inbound_spi, None)
        self.outbound_pair = [(i, o) for i, o in self.outbound_pair if i != inbound_spi]
        was_up = self.outbound is not None
        self.outbound = self.outbound_pair[-1][1] if self.outbound_pair else None
        if was_up and self.outbound is None:
            self.on_change(self, "down", self.phase)

    def _wake_up_waiters(self, result: bool) -> None:
        waiters, self._up_waiters = self._up_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(result)

    def wait_up(self) -> asyncio.Future[bool]:
        """A future that becomes True when a tunnel is installed, False when the headend refuses us."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._up_waiters.append(fut)
        return fut

    # ---- data plane ----------------------------------------------------------------------------
    def receive(self, packet: bytes, now: float) -> bool:
        """A packet addressed to this branch: IKE, ESP, or ESP in UDP 4500.

        Returns True when the packet went to the IKE engine (what the fleet counts as IKE work).
        """
        ip = pk.IPv4.parse(packet)
        if ip is None:
            return False
        if ip.proto == pk.PROTO_ESP:
            self._esp(ip.payload, now)
            return False
        if ip.proto != pk.PROTO_UDP or self.engine is None:
            return False
        udp = pk.Udp.parse(ip.payload)
        if udp is None or udp.dport not in (IKE_PORT, NATT_PORT):
            return False  # a router takes IKE on its two ports only
        if udp.dport == NATT_PORT and classify_4500(udp.data) == "esp":
            self._esp(udp.data, now)
            return False
        local, remote = Endpoint(ip.dst, udp.dport), Endpoint(ip.src, udp.sport)
        self.act(self.engine.receive(udp.data, local, remote, now), now)
        return True

    def _esp(self, body: bytes, now: float) -> None:
        sa = self.inbound.get(int.from_bytes(body[:4], "big"))
        if sa is None:
            self.errors.append(f"ESP with unknown SPI {body[:4].hex()}")
            return
        try:
            inner = esp.decapsulate_esp(sa, body)
        except esp.EspError as exc:
            self.errors.append(f"ESP {exc.reason}")
            return
        if self.engine is not None:
            self.engine.traffic_received(self.profile.headend, now)
        ip = pk.IPv4.parse(inner)
        reply = pk.Icmp.parse(ip.payload) if ip is not None and ip.proto == pk.PROTO_ICMP else None
        if reply is None or reply.type != 0 or reply.ident != self.index & 0xFFFF:
            return
        waiter = self._echo_waiters.pop(reply.seq, None)
        if waiter is not None and not waiter.done():
            self.echoes_answered += 1
            waiter.set_result(True)

    def ping(self, now: float) -> asyncio.Future[bool]:
        """Send one ICMP echo through the tunnel; the future is True when the reply comes back."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self.outbound is None:
            fut.set_result(False)
            return fut
        self._seq = (self._seq + 1) & 0xFFFF
        payload = bytes(i & 0xFF for i in range(ECHO_BYTES))
        echo = pk.icmp(8, 0, self.index & 0xFFFF, self._seq, payload)
        inner = pk.ipv4(self.lan, self.profile.target, pk.PROTO_ICMP, echo, ttl=64, ident=self._seq)
        try:
            outer = esp.encapsulate(self.outbound, inner)
        except esp.EspError as exc:
            self.errors.append(f"ESP {exc.reason}")
            fut.set_result(False)
            return fut
        self._echo_waiters[self._seq] = fut
        self.echoes_sent += 1
        if self.engine is not None:
            self.engine.traffic_sent(self.profile.headend, now)
        self.send(outer)
        return fut

    def forget_echo(self, fut: asyncio.Future[bool]) -> None:
        """Drop a waiter that timed out."""
        for seq, waiter in list(self._echo_waiters.items()):
            if waiter is fut:
                del self._echo_waiters[seq]

    # What each engine event does to a branch; the others (debug lines, deletions of ISAKMP SAs,
    # IOS's warnings) change nothing here. A table: one dictionary look-up per event.
    _ON_EVENT: ClassVar[dict[type, Callable[[VirtualBranch, Any, float], None]]] = {
        SendDatagram: _send_datagram,
        Phase1Up: _phase1_up,
        Phase2Up: _install,
        IpsecSaDeleted: _sa_deleted,
        AuthenticationFailed: _auth_refused,
        ModeFailure: _auth_refused,
        NotificationReceived: _notified,
        NegotiationFailed: _negotiation_failed,
        InternalError: _error,
        MalformedMessage: _error,
    }
