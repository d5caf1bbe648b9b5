"""IKE on a simulated router: one sans-IO engine fed from UDP 500/4500, its events turned into IOS.

The engine (:mod:`pkilab.protocols.ike`) negotiates; this feature gives it the router's
configuration (:mod:`.crypto_config`), certificate and key, checks peer certificates with the
router's trustpoints (chain, this router's clock, CRL), fetches a missing or expired CRL in the
background and resumes the negotiation with the verdict, installs the resulting ESP SAs in the
data plane (:mod:`.crypto_data`), and logs what IOS logs. ``clear crypto isakmp|sa`` and
``debug crypto isakmp|ipsec|pki`` live here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pkilab import catalog
from pkilab.protocols.ike import (
    AuthenticationFailed,
    CertificateCheck,
    CertificateCheckPending,
    CertVerdict,
    DpdConfig,
    Endpoint,
    EngineOptions,
    Event,
    IkeConfig,
    IkeEngine,
    InternalError,
    IpsecSaDeleted,
    IsakmpSaDeleted,
    MalformedMessage,
    ModeFailure,
    NegotiationFailed,
    NoSa,
    NotificationReceived,
    PeerDead,
    Phase1Up,
    Phase2Policy,
    Phase2Up,
    QmNote,
    QmStateChanged,
    RsaCredentials,
    Selector,
    SendDatagram,
    StateChanged,
    TunnelRequest,
    classify_4500,
)
from pkilab.protocols.ike.policy import IsakmpPolicy
from pkilab.sim import packets as pk
from pkilab.sim.features.acl import Acl, AclEntry
from pkilab.sim.features.crypto_config import CryptoConfig, CryptoConfigError, MapEntry
from pkilab.sim.features.crypto_data import DataPlane, selector_of
from pkilab.sim.features.enroll import Enrollment
from pkilab.sim.features.ip import Interface, Ip
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.system import System
from pkilab.sim.features.trustpoint import Trustpoint, Trustpoints
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

# The IKE timers (retransmission, DPD, hold-down) come from the router's custom.sim.timing
# (pkilab.sim.images.Timing): ``fast`` runs IOS's timers five times faster, in the same order,
# so that a refused attempt ends in about 12 s instead of a minute; ``ios`` runs them as IOS
# does. Lifetimes are never scaled.
CA_FAILED = "CA request failed!"
INVALID = "certificate invalid"
# Protected notifications by which a peer says it will not use the SA we just completed
# (RFC 2408 3.14.1: INVALID-CERTIFICATE, AUTHENTICATION-FAILED).
PEER_REFUSED = (20, 24)
DEBUG_NAMES = {"isakmp": "Crypto ISAKMP", "ipsec": "Crypto IPSEC", "pki": "Crypto PKI Trans", "engine": "Crypto Engine"}


class Crypto(Feature):
    """The router's IKE engine, its inputs and events, and the IPsec data plane."""

    order = 530

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.engine: IkeEngine | None = None
        self.data = DataPlane(self)
        self.debug: set[str] = set()
        self._deferred: dict[str, tuple[x509.Certificate, Trustpoint]] = {}
        self._waiting: dict[str, list[tuple[int, x509.Certificate]]] = {}  # trustpoint -> (conn, cert)
        self._holddown: dict[str, float] = {}
        self.failed_negotiations = 0  # show crypto eli

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Create the engine and hook into UDP 500/4500 and the interfaces' data path."""
        self.engine = IkeEngine(self.build_config(), self.options())
        ip = self.router.feature(Ip)
        ip.udp_services[500] = self._udp
        ip.udp_services[4500] = self._udp
        ip.egress_hooks.append(self.data.egress)
        ip.ingress_hooks.append(self.data.ingress)

    def stop(self) -> None:
        """Forget every SA (reload)."""
        self.data.remove_all()
        self.engine = None

    @property
    def system(self) -> System:
        """The router's System feature (log buffer)."""
        return self.router.feature(System)

    # ---- engine inputs -----------------------------------------------------------------------------
    def options(self) -> EngineOptions:
        """The engine's retransmission timers (``custom.sim.timing``)."""
        timing = self.router.timing
        return EngineOptions(retransmit_interval=timing.ike_retransmit, retransmit_limit=timing.ike_retransmit_limit)

    def _conn(self, conn_id: int) -> str:
        """The ``debug crypto isakmp`` prefix of a connection (``ISAKMP:(1001):``; XE has a blank)."""
        return self.router.personality.layouts.isakmp_debug.format(conn=conn_id)

    def build_config(self) -> IkeConfig:
        """The engine's configuration from the router's crypto config, certificate and key."""
        cfg = self.router.feature(CryptoConfig)
        ka = cfg.keepalive
        scale = self.router.timing.dpd_divisor
        dpd = DpdConfig(ka.interval / scale, ka.retry / scale, periodic=ka.periodic) if ka else None
        policies = cfg.engine_policies() or (IsakmpPolicy(65535),)
        return IkeConfig(
            policies=policies,
            identity=cfg.identity,
            hostname=self._fqdn(),
            psk_lookup=cfg.psk_for,
            rsa=self._credentials(),
            validator=self.check_peer,
            phase2_lookup=self.phase2_for,
            dpd=dpd,
            nat_t=cfg.nat_t,
        )

    def _fqdn(self) -> str:
        domain = self.system.domain
        return f"{self.router.hostname}.{domain}" if domain else self.router.hostname

    def _credentials(self) -> RsaCredentials | None:
        ident = self.router.feature(Trustpoints).identity()
        if ident is None:
            return None
        keys = self.router.feature(Keys)
        tp, cert = ident
        pair = keys.get(tp.rsakeypair or keys.default_label())
        if pair is None:
            return None
        cas = tuple(
            t.ca_cert.subject.public_bytes()
            for t in self.router.feature(Trustpoints).points.values()
            if t.ca_cert is not None
        )
        return RsaCredentials(cert.public_bytes(serialization.Encoding.DER), pair.private_key, cas)

    def _engine(self) -> IkeEngine:
        if self.engine is None:
            self.engine = IkeEngine(self.build_config(), self.options())
        else:
            # Callbacks are consulted at each use, but keys, certificates and policies are values.
            self.engine.config = self.build_config()
        return self.engine

    def find_entry(self, peer: str, local: Selector, remote: Selector) -> tuple[Interface, str, MapEntry] | None:
        """The crypto map entry (interface, tag, entry) that allows a tunnel with these proxies."""
        cfg = self.router.feature(CryptoConfig)
        for intf in self.router.feature(Ip).interfaces.values():
            if intf.crypto_map is None:
                continue
            for entry in cfg.map_entries(intf.crypto_map):
                candidates = cfg.dynamic_entries(entry.dynamic_template) if entry.dynamic_template else [entry]
                for cand in candidates:
                    if entry.dynamic_template is None and (not cand.peers or not cand.acl):
                        continue
                    if cand.peers and peer not in cand.peers:
                        continue
                    if cand.acl and not self._acl_covers(cand.acl, local, remote):
                        continue
                    return intf, intf.crypto_map, cand
        return None

    def _acl_covers(self, name: str, local: Selector, remote: Selector) -> bool:
        acl = self.router.feature(Acl).lists.get(name)
        if acl is None:
            return False
        for e in acl.entries:
            if e.action != "permit":
                continue
            src, dst = selector_of(e, True), selector_of(e, False)
            if (
                local.network.subnet_of(src.network)
                and remote.network.subnet_of(dst.network)
                and src.protocol in (0, local.protocol)
                and dst.protocol in (0, remote.protocol)
            ):
                return True
        return False

    def phase2_for(self, peer: str, local: Selector, remote: Selector) -> Phase2Policy | None:
        """Responder: the quick mode policy for a peer's proposed proxies, or None to refuse them."""
        found = self.find_entry(peer, local, remote)
        if found is None:
            return None
        try:
            return self.router.feature(CryptoConfig).phase2_policy(found[2], found[1])
        except CryptoConfigError:
            return None

    # ---- certificate checks ----------------------------------------------------------------------------
    def check_peer(self, check: CertificateCheck) -> CertVerdict | None:
        """The engine's validator: trustpoints decide; a missing or stale CRL defers the verdict."""
        try:
            cert = x509.load_der_x509_certificate(check.certificate)
        except ValueError:
            self._pki(f"CRYPTO_PKI: unable to decode the certificate from {check.peer}")
            return CertVerdict.bad(INVALID)
        verdict, tp = self.router.feature(Trustpoints).validate_peer(cert)
        self._pki(f"CRYPTO_PKI: validating certificate of {check.peer}, serial number {cert.serial_number:02X}")
        if verdict == "ok":
            self._pki("CRYPTO_PKI: Certificate validated")
            return CertVerdict.good()
        if verdict == "invalid" or tp is None:
            self._pki(f"CRYPTO_PKI: {self._why_invalid(cert, tp)}")
            return CertVerdict.bad(INVALID)
        if self.router.lab.network.loop is None:
            return self._after_failed_fetch(tp)
        self._pki(f"CRYPTO_PKI: CRL for trustpoint {tp.name} missing or expired, fetching it")
        self._deferred[check.peer] = (cert, tp)
        return None

    def _why_invalid(self, cert: x509.Certificate, tp: Trustpoint | None) -> str:
        now = self.router.clock.now()
        if tp is None:
            return "Certificate chain validation failed: no trusted CA issued it"
        if now > cert.not_valid_after_utc:
            return "Certificate validation failed: the certificate has expired (router clock)"
        if now < cert.not_valid_before_utc:
            return "Certificate validation failed: the certificate is not yet valid (router clock)"
        if tp.crl is not None and tp.crl.get_revoked_certificate_by_serial_number(cert.serial_number):
            return f"Certificate revoked: serial number {cert.serial_number:02X} is on the CRL"
        return "Certificate validation failed"

    def _after_failed_fetch(self, tp: Trustpoint) -> CertVerdict:
        if tp.revocation == "crl none" or self.router.has_fault("crl-fetch-failure-admits"):
            self._pki("CRYPTO_PKI: CRL not available, accepted (revocation-check crl none)")
            return CertVerdict.good()
        self._pki(f"CRYPTO_PKI: CRL fetch for trustpoint {tp.name} failed")
        return CertVerdict.bad(CA_FAILED)

    def _start_fetch(self, peer: str, conn_id: int) -> None:
        item = self._deferred.pop(peer, None)
        if item is None:
            return
        cert, tp = item
        waiters = self._waiting.setdefault(tp.name, [])
        waiters.append((conn_id, cert))
        if len(waiters) == 1:  # one fetch per trustpoint, however many negotiations wait for it
            self.router.lab.spawn(self._fetch(tp, cert))

    async def _fetch(self, tp: Trustpoint, cert: x509.Certificate) -> None:
        try:
            ok = bool(await self.router.feature(Enrollment).fetch_crl(tp, cert))
        except Exception:  # a failed fetch is an IOS outcome, not a simulator crash
            ok = False
        if self.engine is None or not self.router.up:
            self._waiting.pop(tp.name, None)
            return
        for conn_id, peer_cert in self._waiting.pop(tp.name, []):
            verdict = self._after_failed_fetch(tp) if not ok else self._recheck(peer_cert)
            self.dispatch(self.engine.certificate_verdict(conn_id, verdict, time.monotonic()))

    def _recheck(self, cert: x509.Certificate) -> CertVerdict:
        verdict, tp = self.router.feature(Trustpoints).validate_peer(cert)
        if verdict == "ok":
            self._pki("CRYPTO_PKI: Certificate validated")
            return CertVerdict.good()
        if verdict == "need-crl" and tp is not None:
            return self._after_failed_fetch(tp)  # the fresh CRL is already stale by this clock
        self._pki(f"CRYPTO_PKI: {self._why_invalid(cert, tp)}")
        return CertVerdict.bad(INVALID)

    # ---- engine I/O --------------------------------------------------------------------------------------
    def _udp(self, ip: pk.IPv4, datagram: pk.Udp, if_name: str) -> None:
        now = time.monotonic()
        if datagram.dport == 4500:
            kind = classify_4500(datagram.data)
            if kind == "esp":
                intf = self.router.feature(Ip).interfaces.get(if_name)
                spi = int.from_bytes(datagram.data[:4], "big")
                self.data.receive_esp(intf, ip.src, ip.dst, spi, datagram.data, None)
                return
        engine = self._engine()
        self.dispatch(
            engine.receive(datagram.data, Endpoint(ip.dst, datagram.dport), Endpoint(ip.src, datagram.sport), now)
        )

    def request_tunnel(self, intf: Interface, entry: MapEntry, hit: AclEntry) -> None:
        """Traffic matched a static crypto map entry with no SA: start (or keep waiting for) IKE."""
        now = time.monotonic()
        peer = entry.peers[0]
        if self._holddown.get(peer, 0.0) > now or intf.address is None or intf.crypto_map is None:
            return
        try:
            policy = self.router.feature(CryptoConfig).phase2_policy(entry, intf.crypto_map)
        except CryptoConfigError:
            return
        request = TunnelRequest(peer, str(intf.address.ip), selector_of(hit, True), selector_of(hit, False), policy)
        # IKE starts after the packet's own processing (and the command printing it) is done, as
        # the IOS IKE process runs apart from the packet path; the offline lab has no loop.
        self.router.lab.network.loop_call(self._initiate, request)

    def _initiate(self, request: TunnelRequest) -> None:
        if self.engine is not None and self.router.up:
            self.dispatch(self._engine().initiate(request, time.monotonic()))

    def traffic_sent(self, peer: str, now: float) -> None:
        """The data plane encrypted a packet to ``peer`` (on-demand DPD)."""
        if self.engine is not None:
            self.engine.traffic_sent(peer, now)

    def traffic_received(self, peer: str, now: float) -> None:
        """The data plane decrypted a packet from ``peer``."""
        if self.engine is not None:
            self.engine.traffic_received(peer, now)

    def rekey_ipsec(self, inbound_spi: int, now: float) -> None:
        """The kilobyte lifetime is nearly used: rekey."""
        if self.engine is not None:
            self.dispatch(self.engine.rekey_ipsec(inbound_spi, now))

    def expire_ipsec(self, inbound_spi: int, now: float) -> None:
        """The kilobyte lifetime is used up: delete the SA pair."""
        if self.engine is not None:
            self.dispatch(self.engine.expire_ipsec(inbound_spi, now))

    def tick(self, now: float) -> None:
        """Engine timers (retransmission, lifetimes, DPD) and DPD of SAs left without ISAKMP SA."""
        if self.engine is None:
            return
        self.dispatch(self._engine().tick(now))
        ka = self.router.feature(CryptoConfig).keepalive
        if ka is None:
            return
        live = {s.remote.addr for s in self.engine.isakmp_sas(now) if s.state == "QM_IDLE"}
        for peer in self.data.orphans(now, min(float(ka.interval), self.router.timing.orphan_dpd_max), live):
            self._isakmp_debug(f"ISAKMP: DPD: no answer from {peer} and no ISAKMP SA, deleting its IPsec SAs")
            self.dispatch(self.engine.clear_ipsec(now, peer))

    # ---- events ------------------------------------------------------------------------------------------------
    def dispatch(self, events: Iterable[Event]) -> None:
        """Act on the engine's events."""
        for ev in events:
            try:
                self._handle(ev)
            except Exception as exc:  # a simulator bug must not break the exchange that produced it
                self.router.errors.append(f"Crypto event {type(ev).__name__}: {exc!r}")

    def _handle(self, ev: Event) -> None:
        if isinstance(ev, SendDatagram):
            self.router.feature(Ip).send_udp(ev.local.addr, ev.remote.addr, ev.local.port, ev.remote.port, ev.data)
        elif isinstance(ev, StateChanged):
            self._isakmp_debug(self._conn(ev.conn_id) + f"Old State = {ev.old}  New State = {ev.new}")
        elif isinstance(ev, Phase1Up):
            self._holddown.pop(ev.remote.addr, None)
            self._isakmp_debug(self._conn(ev.conn_id) + f"SA authentication status: authenticated ({ev.auth})")
            self._isakmp_debug(self._conn(ev.conn_id) + f"SA has been authenticated with {ev.remote.addr}")
        elif isinstance(ev, Phase2Up):
            self._phase2_up(ev)
        elif isinstance(ev, IpsecSaDeleted):
            self.data.remove(ev.inbound_spi)
            if "ipsec" in self.debug:
                self.system.logmsg(
                    f"IPSEC(delete_sa): deleting SA, (sa) sa_dest= {ev.peer}, sa_proto= 50, "
                    f"sa_spi= 0x{ev.outbound_spi:X}({ev.outbound_spi}), reason: {ev.reason}"
                )
        elif isinstance(ev, QmStateChanged):
            self._isakmp_debug(f"ISAKMP:({ev.conn_id}):Node {ev.message_id}, Input = {ev.step}")
            self._isakmp_debug(f"ISAKMP:({ev.conn_id}):Old State = {ev.old}  New State = {ev.new}")
        elif isinstance(ev, QmNote):
            self._isakmp_debug(f"ISAKMP:({ev.conn_id}):{ev.text}")
        else:
            self._handle_failure(ev)

    def _handle_failure(self, ev: Event) -> None:
        log = self.system.logmsg
        if isinstance(ev, AuthenticationFailed):
            self.failed_negotiations += 1
            self._holddown[ev.peer] = time.monotonic() + self.router.timing.negotiation_holddown
            if ev.kind == "certificate":
                log(f"%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from {ev.peer} is bad: {ev.reason}")
            else:
                why = f"{ev.kind} authentication with {ev.peer} failed: {ev.reason}"
                self._isakmp_debug(self._conn(ev.conn_id) + why)
        elif isinstance(ev, MalformedMessage):
            log(f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {ev.peer} failed its sanity check or is malformed")
        elif isinstance(ev, ModeFailure):
            self._holddown[ev.peer] = time.monotonic() + self.router.timing.negotiation_holddown
            log(f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of {ev.mode} mode failed with peer at {ev.peer}")
        elif isinstance(ev, NoSa):
            log(f"%CRYPTO-4-IKMP_NO_SA: IKE message from {ev.peer} has no SA and is not an initialization offer")
        elif isinstance(ev, CertificateCheckPending):
            self._start_fetch(ev.peer, ev.conn_id)
        elif isinstance(ev, NegotiationFailed):
            self.failed_negotiations += 1
            self._isakmp_debug(self._conn(ev.conn_id) + f"phase {ev.phase} with {ev.peer} failed: {ev.reason}")
        elif isinstance(ev, IsakmpSaDeleted):
            self._isakmp_debug(self._conn(ev.conn_id) + f'deleting SA reason "{ev.reason}" with {ev.peer}')
        elif isinstance(ev, PeerDead):
            self._isakmp_debug(f"ISAKMP: DPD: peer {ev.peer} is not answering, deleting its SAs")
        elif isinstance(ev, NotificationReceived):
            self._isakmp_debug(
                f"ISAKMP: received notify {ev.notify_type} from {ev.peer}{' (protected)' if ev.protected else ''}"
            )
            if ev.protected and ev.notify_type in PEER_REFUSED:
                self._peer_refused(ev.peer)
        elif isinstance(ev, InternalError):
            self.router.errors.append(f"IKE engine: {ev.peer}: {ev.detail}")

    def _peer_refused(self, peer: str) -> None:
        """The peer refused our certificate after we completed main mode: that SA will never be used.

        IOS logs the refusal as a message it could not process (the seed's Q3 headend log shows
        IKMP_BAD_MESSAGE from the branch, once per attempt) and the SA goes.
        """
        if self.engine is None:
            return
        now = time.monotonic()
        done = [s for s in self.engine.isakmp_sas(now) if s.remote.addr == peer and s.state == "QM_IDLE"]
        if done:
            self.system.logmsg(
                f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {peer} failed its sanity check or is malformed"
            )
            newest = max(done, key=lambda s: s.conn_id)
            self._isakmp_debug(self._conn(newest.conn_id) + f"peer {peer} refused our certificate, deleting the SA")
            self.dispatch(self.engine.clear_isakmp(now, newest.conn_id))

    def _phase2_up(self, ev: Phase2Up) -> None:
        found = self.find_entry(ev.remote.addr, ev.local_selector, ev.remote_selector)
        if found is None:  # the map changed during quick mode; the SA still works for its proxies
            intf_name, rri = (
                next(
                    (i.name for i in self.router.feature(Ip).interfaces.values() if i.crypto_map == ev.crypto_map), ""
                ),
                False,
            )
        else:
            intf_name, rri = found[0].name, found[2].reverse_route
        self.data.install(ev, intf_name, rri, time.monotonic())
        conn = ev.isakmp_conn_id
        self._isakmp_debug(f"ISAKMP:({conn}):Received IPSec Install callback... proceeding with the negotiation")
        self._isakmp_debug(f"ISAKMP:({conn}):Successfully installed IPSEC SA (SPI:0x{ev.inbound.spi:X}) on {intf_name}")
        if "ipsec" in self.debug:
            for direction, keys in (("inbound", ev.inbound), ("outbound", ev.outbound)):
                self.system.logmsg(
                    f"IPSEC(create_sa): sa created, (sa) sa_dest= "
                    f"{ev.local.addr if direction == 'inbound' else ev.remote.addr}, sa_proto= 50, "
                    f"sa_spi= 0x{keys.spi:X}({keys.spi}), sa_trans= {ev.transform}, "
                    f"sa_conn_id= {ev.isakmp_conn_id}"
                )

    def _isakmp_debug(self, text: str) -> None:
        if "isakmp" in self.debug:
            self.system.logmsg(text)

    def _pki(self, text: str) -> None:
        if "pki" in self.debug:
            self.system.logmsg(text)

    # ---- exec commands -----------------------------------------------------------------------------------------
    @handles(catalog.CLEAR_CRYPTO_ISAKMP)
    def clear_isakmp(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``clear crypto isakmp [CONN-ID]``: delete ISAKMP SAs (the peer is told); retry at once."""
        if args.get("conn") is None:
            self._holddown.clear()  # the failed SAs that held new attempts back are gone
        self.dispatch(self._engine().clear_isakmp(time.monotonic(), args.get("conn")))

    @handles(catalog.CLEAR_CRYPTO_SA)
    def clear_sa(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``clear crypto sa [peer ADDR]``: delete IPsec SAs (the peer is told while phase 1 is up)."""
        self.dispatch(self._engine().clear_ipsec(time.monotonic(), args.get("address")))

    @handles(catalog.DEBUG_CRYPTO)
    def debug_on(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``debug crypto isakmp|ipsec|pki transactions``: messages go to the log and ``terminal monitor``."""
        which = next(k for k in DEBUG_NAMES if args.get(k))
        self.debug.add(which)
        return f"{DEBUG_NAMES[which]} debugging is on"

    @handles(catalog.NO_DEBUG_CRYPTO)
    def debug_off(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``no debug crypto …``."""
        which = next(k for k in DEBUG_NAMES if args.get(k))
        self.debug.discard(which)
        return f"{DEBUG_NAMES[which]} debugging is off"

    @handles(catalog.NO_DEBUG_ALL)
    def debug_all_off(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``undebug all``."""
        self.debug.clear()
        return "All possible debugging has been turned off"

    @handles(catalog.SHOW_DEBUGGING)
    def show_debugging(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show debugging`` (the crypto part)."""
        if not self.debug:
            return ""
        lines = ["Cryptographic Subsystem:"]
        lines += [f"  {name} debugging is on" for k, name in DEBUG_NAMES.items() if k in self.debug]
        return "\n".join(lines)
