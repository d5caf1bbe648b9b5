"""The IPsec data plane of a simulated router: crypto maps on egress, ESP on ingress.

Every packet leaving an interface that carries a crypto map goes through the map's entries in
sequence order. A static entry's ACL decides whether the packet must be protected; when no SA
covers it yet, IKE is started and the packet is dropped (``ping`` shows ``.``), as IOS does. A
dynamic entry protects only traffic that an SA negotiated by a peer already covers. Protected
packets become real ESP with the negotiated keys; received ESP is checked, decrypted and
re-injected as if it had arrived on the interface.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Protocol

from pkilab.protocols import esp
from pkilab.protocols.ike import Phase2Up, Selector
from pkilab.sim import packets as pk
from pkilab.sim.features.acl import Acl, AclEntry
from pkilab.sim.features.crypto_config import CryptoConfig, MapEntry
from pkilab.sim.features.ip import Interface, Ip, Route
from pkilab.sim.features.system import System
from pkilab.sim.network import Trace
from pkilab.sim.router import Router

# A dropped packet is reported after this delay rather than at once, so that a burst of pings
# leaves IKE time to finish (IOS waits its 2 s timeout per lost echo; the lab is faster).
DROP_DELAY = 0.2
PROTOCOLS = {"ip": 0, "icmp": pk.PROTO_ICMP, "tcp": pk.PROTO_TCP, "udp": pk.PROTO_UDP}
# Kilobyte lifetime: ask for a rekey when this share of the volume is used.
KB_REKEY_SHARE = 0.9
IKE_PORTS = (500, 4500)


@dataclass
class TunnelSa:
    """An installed ESP SA pair and what the data plane tracks about it."""

    up: Phase2Up
    inbound: esp.EspSa
    outbound: esp.EspSa
    interface: str
    created: float
    route: Route | None = None
    rekey_asked: bool = False
    last_heard: float = 0.0  # decrypted traffic last came in (or the SA was installed)
    last_sent: float | None = None  # traffic last went out
    send_errors: int = 0
    recv_errors: int = 0
    dropped_in: dict[str, int] = field(default_factory=dict)

    @property
    def peer(self) -> str:
        """The remote crypto endpoint."""
        return self.up.remote.addr

    def covers(self, ip: pk.IPv4) -> bool:
        """True when ``ip`` travels from our proxy to the peer's."""
        return _in(self.up.local_selector, ip.src, ip) and _in(self.up.remote_selector, ip.dst, ip)


def _in(sel: Selector, addr: str, ip: pk.IPv4) -> bool:
    return _address(addr) in sel.network and sel.protocol in (0, ip.proto)


@functools.lru_cache(maxsize=65536)
def _address(text: str) -> ipaddress.IPv4Address:
    """Parsed once: a headend checks every packet against every tunnel's proxies (hundreds of branches)."""
    return ipaddress.IPv4Address(text)


def selector_of(entry: AclEntry, src: bool) -> Selector:
    """A proxy identity from a crypto ACL entry's source or destination."""
    proto = PROTOCOLS.get(entry.protocol) or 0
    spec = entry.src if src else entry.dst
    return Selector(spec.network(), proto)


class KeyExchange(Protocol):
    """What the data plane tells its owner, the IKE side (:class:`~pkilab.sim.features.crypto_ike.Crypto`)."""

    router: Router

    def request_tunnel(self, intf: Interface, entry: MapEntry, hit: AclEntry) -> None:
        """Traffic matched a crypto map entry with no SA."""

    def traffic_sent(self, peer: str, now: float) -> None:
        """A packet to ``peer`` was encrypted."""

    def traffic_received(self, peer: str, now: float) -> None:
        """A packet from ``peer`` was decrypted."""

    def rekey_ipsec(self, inbound_spi: int, now: float) -> None:
        """The kilobyte lifetime is nearly used."""

    def expire_ipsec(self, inbound_spi: int, now: float) -> None:
        """The kilobyte lifetime is used up."""


class DataPlane:
    """Crypto maps and ESP for one router (owned by its IKE side, seen as a :class:`KeyExchange`)."""

    def __init__(self, crypto: KeyExchange) -> None:
        self.crypto = crypto
        self.router = crypto.router
        self.tunnels: list[TunnelSa] = []
        self.by_spi: dict[int, TunnelSa] = {}
        self.no_sa_drops = 0
        self._inv_spi_logged: dict[int, float] = {}
        self._not_ipsec_logged = -1e9

    # ---- SA installation -------------------------------------------------------------------
    def install(self, up: Phase2Up, interface: str, reverse_route: bool, now: float) -> TunnelSa:
        """Install an SA pair from quick mode; add the reverse route when the map asks for it."""
        inbound, outbound = esp.sa_pair(up)
        tun = TunnelSa(up, inbound, outbound, interface, now, last_heard=now)
        if reverse_route:
            ip = self.router.feature(Ip)
            tun.route = Route(up.remote_selector.network, up.remote.addr, None, "S", 1)
            if tun.route not in ip.extra_routes:
                ip.extra_routes.append(tun.route)
        self.tunnels.append(tun)
        self.by_spi[up.inbound.spi] = tun
        return tun

    def remove(self, inbound_spi: int) -> None:
        """Remove an SA pair (deleted by IKE) and its reverse route when no other SA needs it."""
        tun = self.by_spi.pop(inbound_spi, None)
        if tun is None:
            return
        self.tunnels.remove(tun)
        if tun.route is not None and not any(t.route == tun.route for t in self.tunnels):
            ip = self.router.feature(Ip)
            ip.extra_routes = [r for r in ip.extra_routes if r != tun.route]

    def remove_all(self) -> None:
        """Forget every SA (the router stops)."""
        for spi in list(self.by_spi):
            self.remove(spi)

    def outbound_for(self, ip: pk.IPv4, tag: str, peers: list[str] | None) -> TunnelSa | None:
        """The newest SA of crypto map ``tag`` covering ``ip`` (towards one of ``peers`` if given)."""
        best: TunnelSa | None = None
        for tun in self.tunnels:
            if tun.up.crypto_map != tag or (peers and tun.peer not in peers) or not tun.covers(ip):
                continue
            if best is None or tun.created >= best.created:
                best = tun
        return best

    # ---- egress ------------------------------------------------------------------------------
    def egress(self, intf: Interface, packet: bytes, trace: Trace | None) -> bool:
        """Crypto map processing of a packet leaving ``intf``; True when it was consumed."""
        if intf.crypto_map is None or self.router.has_fault("ipsec-cleartext"):
            return False
        ip = pk.IPv4.parse(packet)
        if ip is None or ip.proto == pk.PROTO_ESP or self._is_ike(ip):
            return False
        cfg = self.router.feature(CryptoConfig)
        for entry in cfg.map_entries(intf.crypto_map):
            if entry.dynamic_template:
                tun = self.outbound_for(ip, intf.crypto_map, None)
                if tun is not None:
                    return self.encrypt(tun, packet, trace)
                continue
            hit = self._acl_hit(entry, ip)
            if hit is None:
                continue
            tun = self.outbound_for(ip, intf.crypto_map, entry.peers)
            if tun is not None:
                return self.encrypt(tun, packet, trace)
            self.no_sa_drops += 1
            self.crypto.request_tunnel(intf, entry, hit)
            self.drop(trace, f"{self.router.hostname}: IPsec SA to {entry.peers[0]} not up yet")
            return True
        return False

    def _is_ike(self, ip: pk.IPv4) -> bool:
        if ip.proto != pk.PROTO_UDP:
            return False
        udp = pk.Udp.parse(ip.payload)
        return udp is not None and (udp.sport in IKE_PORTS or udp.dport in IKE_PORTS)

    def _acl_hit(self, entry: MapEntry, ip: pk.IPv4) -> AclEntry | None:
        if not entry.peers or not entry.acl:
            return None  # IOS keeps an entry without peer or ACL disabled
        acl = self.router.feature(Acl).lists.get(entry.acl)
        if acl is None:
            return None
        hit = acl.evaluate(ip)
        return hit if hit is not None and hit.action == "permit" else None

    def encrypt(self, tun: TunnelSa, packet: bytes, trace: Trace | None) -> bool:
        """Encapsulate ``packet`` in ESP and send it to the peer."""
        now = time.monotonic()
        ip = self.router.feature(Ip)
        try:
            outer = esp.encapsulate(tun.outbound, packet)
        except esp.EspError as exc:
            tun.send_errors += 1
            self.drop(trace, f"{self.router.hostname}: encaps failed ({exc.reason})")
            return True
        tun.last_sent = now
        self.crypto.traffic_sent(tun.peer, now)
        self._check_volume(tun, now)
        hop = ip.lookup(tun.peer)
        if hop is None:
            tun.send_errors += 1
            self.drop(trace, f"{self.router.hostname}: no route to peer {tun.peer}")
            return True
        return ip.transmit(hop[0], hop[1], outer, trace)

    def _check_volume(self, tun: TunnelSa, now: float) -> None:
        limit = tun.up.lifetime_kilobytes * 1024
        used = max(tun.outbound.counters.bytes, tun.inbound.counters.bytes)
        if used >= limit:
            self.crypto.expire_ipsec(tun.up.inbound.spi, now)
        elif used >= limit * KB_REKEY_SHARE and not tun.rekey_asked:
            tun.rekey_asked = True
            self.crypto.rekey_ipsec(tun.up.inbound.spi, now)

    def drop(self, trace: Trace | None, reason: str) -> None:
        """Report a dropped packet to its trace a little later (see :data:`DROP_DELAY`)."""
        if trace is None:
            return
        loop = self.router.lab.network.loop
        if loop is None:
            trace.dropped(reason)
        else:
            loop.call_later(DROP_DELAY, trace.dropped, reason)

    # ---- ingress -----------------------------------------------------------------------------
    def ingress(self, intf: Interface, ip: pk.IPv4, packet: bytes, trace: Trace | None) -> bool:
        """Decrypt ESP addressed to this router, drop cleartext that should have been ESP; True if consumed."""
        if ip.proto != pk.PROTO_ESP:
            if intf.crypto_map is not None and not self._is_ike(ip) and self._should_be_esp(intf.crypto_map, ip):
                self._not_ipsec(ip)
                self.drop(trace, f"{self.router.hostname}: cleartext packet matches crypto map {intf.crypto_map}")
                return True
            return False
        if ip.dst not in self.router.feature(Ip).local_addresses():
            return False
        if len(ip.payload) < 8:
            self.drop(trace, "truncated ESP")
            return True
        spi = int.from_bytes(ip.payload[:4], "big")
        self.receive_esp(intf, ip.src, ip.dst, spi, ip.payload, trace)
        return True

    def receive_esp(
        self, intf: Interface | None, src: str, dst: str, spi: int, body: bytes, trace: Trace | None
    ) -> None:
        """Check and decrypt one ESP packet (``body`` from the SPI on) and re-inject the inner packet."""
        tun = self.by_spi.get(spi)
        if tun is None or tun.peer != src:
            self._invalid_spi(intf, src, dst, spi)
            self.drop(trace, f"{self.router.hostname}: invalid SPI {spi:#x}")
            return
        try:
            inner = esp.decapsulate_esp(tun.inbound, body)
        except esp.EspError as exc:
            tun.recv_errors += 1
            tun.dropped_in[exc.reason] = tun.dropped_in.get(exc.reason, 0) + 1
            self.drop(trace, f"{self.router.hostname}: ESP {exc.reason}")
            return
        now = time.monotonic()
        tun.last_heard = now
        self.crypto.traffic_received(tun.peer, now)
        self._check_volume(tun, now)
        self.router.feature(Ip).deliver(intf, inner, trace)

    def _should_be_esp(self, tag: str, ip: pk.IPv4) -> bool:
        """True when ``ip`` arrived in the clear although the map protects its flow (seen from the peer)."""
        mirror = dataclasses.replace(ip, src=ip.dst, dst=ip.src)
        for entry in self.router.feature(CryptoConfig).map_entries(tag):
            if entry.dynamic_template:
                if self.outbound_for(mirror, tag, None) is not None:
                    return True
                continue
            acl = self.router.feature(Acl).lists.get(entry.acl or "")
            hit = acl.evaluate(mirror, count=False) if acl is not None and entry.peers else None
            if hit is not None and hit.action == "permit":
                return True
        return False

    def _not_ipsec(self, ip: pk.IPv4) -> None:
        now = time.monotonic()
        if now - self._not_ipsec_logged < 60.0:
            return
        self._not_ipsec_logged = now
        self.router.feature(System).logmsg(
            f"%CRYPTO-4-RECVD_PKT_NOT_IPSEC: Rec'd packet not an IPSEC packet. (ip) vrf/dest_addr= /{ip.dst}, "
            f"src_addr= {ip.src}, prot= {ip.proto}"
        )

    def _invalid_spi(self, intf: Interface | None, src: str, dst: str, spi: int) -> None:
        now = time.monotonic()
        if now - self._inv_spi_logged.get(spi, -1e9) < 60.0:
            return  # IOS rate-limits this message
        self._inv_spi_logged[spi] = now
        where = f", input interface={intf.name}" if intf is not None else ""
        self.router.feature(System).logmsg(
            f"%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for destaddr={dst}, "
            f"prot=50, spi=0x{spi:08X}({spi}), srcaddr={src}{where}"
        )

    # ---- timers ----------------------------------------------------------------------------------
    def orphans(self, now: float, grace: float, live_peers: set[str]) -> set[str]:
        """Peers whose SAs outlived their ISAKMP SA and that DPD on demand would declare dead.

        IOS probes a peer when it has traffic to send and has heard nothing from it for the DPD
        interval, and gives up when the probes go unanswered. Here both waits are ``grace``: traffic
        sent after ``grace`` of silence, and still nothing heard ``grace`` later. A router that only
        answered what it received (the headend after ``clear crypto isakmp``) keeps its SAs, as
        IOS does (the seed's ``show crypto engine connection active`` after ``clear crypto isa 5``).
        """
        return {
            t.peer
            for t in self.tunnels
            if t.peer not in live_peers
            and t.last_sent is not None
            and t.last_sent - t.last_heard >= grace
            and now - t.last_heard >= 2 * grace
        }
