"""Bind a simulated router's interface to a real host address (testbed ``custom.sim.bind``).

``custom.sim.bind: {FastEthernet0/0: 198.18.0.1}`` opens UDP sockets on 198.18.0.1 ports 500 and
4500 (IKE, NAT-T and ESP-in-UDP). A datagram received there enters the router's interface as an
IPv4/UDP packet from the real sender to the interface's address, as if it had come over the
virtual link; what the router sends out of that interface with source port 500 or 4500 to an
address no simulated device owns on the link leaves through the matching socket. The bridge is a
member of the interface's virtual segment that answers ARP for every address nobody else owns, so
routing, crypto maps and the segment's pcap work unchanged.

When the interface's address differs from the host address the bridge is a static NAT: the peer
sees the host address, the router its own, and NAT-D tells both sides (RFC 3947). Plain ESP
(IP protocol 50) is not carried, only ESP in UDP: a peer must use NAT-T, as strongSwan's
kernel-libipsec backend always does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pkilab.errors import SimError
from pkilab.sim import packets as pk
from pkilab.sim.network import Attachment, Trace

if TYPE_CHECKING:
    from pkilab.sim.lab import Lab
    from pkilab.sim.router import Router

PORTS = (500, 4500)


@dataclass
class BindCounters:
    """Datagrams carried by one binding (diagnostics and tests)."""

    received: int = 0
    sent: int = 0
    refused: int = 0
    peers: set[tuple[str, int]] = field(default_factory=set)


class _Elsewhere(list[str]):
    """The bridge's "addresses": every address that no other member of the segment owns (proxy ARP)."""

    def __init__(self, bind: HostBind) -> None:
        super().__init__()
        self._bind = bind

    def __contains__(self, address: object) -> bool:
        seg = self._bind.lab.network.segments.get(self._bind.link)
        if seg is None or not isinstance(address, str):
            return False
        # Other bridges on the segment claim the same "everything else": ask only real members.
        return not any(
            not isinstance(getattr(a.receiver, "__self__", None), HostBind) and a.up() and address in a.addresses()
            for a in seg.attachments
        )


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, bind: HostBind, port: int) -> None:
        self.bind = bind
        self.port = port

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.bind.from_host(self.port, data, str(addr[0]), int(addr[1]))


class HostBind:
    """One router interface bridged to ``address`` on the host."""

    def __init__(self, lab: Lab, router: Router, interface: str, address: str) -> None:
        self.lab = lab
        self.router = router
        self.interface = interface
        self.address = address
        self.counters = BindCounters()
        self.attachment: Attachment | None = None
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        link = next((i.link for i in router.spec.interfaces if i.name == interface), None)
        if link is None:
            raise SimError(
                f"{lab.testbed.path}: device {router.name!r}: custom.sim.bind: interface "
                f"{interface!r} is not in the topology with a link"
            )
        self.link: str = link

    async def start(self) -> None:
        """Open the sockets and join the interface's segment; :class:`SimError` when a socket cannot be bound."""
        loop = asyncio.get_running_loop()
        for port in PORTS:
            try:
                transport, _ = await loop.create_datagram_endpoint(self._factory(port), local_addr=(self.address, port))
            except OSError as exc:
                self.close()
                raise SimError(
                    f"{self.lab.testbed.path}: device {self.router.name!r}: custom.sim.bind: cannot "
                    f"bind UDP {self.address}:{port} ({exc.strerror}; the address must be on a host "
                    f"interface, and ports below 1024 need root)"
                ) from None
            self._transports[port] = transport
        self.attachment = self.lab.network.attach(
            self.link, f"host {self.address}", self.interface, self.to_host, lambda: _Elsewhere(self), lambda: True
        )

    def _factory(self, port: int) -> Callable[[], _Protocol]:
        return lambda: _Protocol(self, port)

    def close(self) -> None:
        """Close the sockets and leave the segment."""
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
        self.lab.network.detach_router(f"host {self.address}")

    def _interface_address(self) -> str | None:
        from pkilab.sim.features.ip import Ip

        if not self.router.up:
            return None
        intf = self.router.feature(Ip).interfaces.get(self.interface)
        if intf is None or intf.address is None or not intf.up:
            return None
        return str(intf.address.ip)

    def from_host(self, port: int, data: bytes, src: str, sport: int) -> None:
        """A datagram arrived on the host socket: put it on the link towards the router's interface."""
        dst = self._interface_address()
        if dst is None or self.attachment is None:
            self.counters.refused += 1
            return
        self.counters.received += 1
        self.counters.peers.add((src, sport))
        packet = pk.ipv4(src, dst, pk.PROTO_UDP, pk.udp(src, dst, sport, port, data), ttl=64)
        self.lab.network.transmit(self.link, self.attachment, dst, packet, None)

    def to_host(self, _interface: str, packet: bytes, trace: Trace | None) -> None:
        """The router sent a packet to an address off the virtual link: send its UDP payload from the host."""
        ip = pk.IPv4.parse(packet)
        udp = pk.Udp.parse(ip.payload) if ip is not None and ip.proto == pk.PROTO_UDP else None
        if ip is not None and ip.src != self._interface_address():
            # Several routers of one segment may be bound: the first bridge gets what the others send.
            owner = next((b for b in self.lab.binds if b.link == self.link and b._interface_address() == ip.src), None)
            if owner is not None and owner is not self:
                owner.to_host(_interface, packet, trace)
                return
        transport = self._transports.get(udp.sport) if udp is not None else None
        if ip is None or udp is None or transport is None or ip.src != self._interface_address():
            self.counters.refused += 1
            if trace is not None:
                trace.dropped(f"host bridge {self.address}: only UDP 500/4500 from {self.interface} is carried")
            return
        self.counters.sent += 1
        transport.sendto(udp.data, (ip.dst, udp.dport))


async def start_binds(lab: Lab) -> list[HostBind]:
    """Open every ``custom.sim.bind`` of the lab's devices; on failure close those opened and raise."""
    opened: list[HostBind] = []
    try:
        for router in lab.routers.values():
            for interface, address in router.spec.sim.bind if router.spec.sim else ():
                bind = HostBind(lab, router, interface, address)
                await bind.start()
                opened.append(bind)
    except SimError:
        for bind in opened:
            bind.close()
        raise
    return opened
