"""Members of a virtual link that live outside the simulated routers: the host-side branches.

A :class:`SegmentPort` joins a lab's segment (a testbed link) as one more member that owns the
addresses it *claims* (networks or single addresses, e.g. a pool of virtual branches and the
gateway the headend routes them through). Packets the routers send to a claimed address (after
their routing and "ARP", see :mod:`pkilab.sim.network`) reach the port's callback; packets the
port sends enter the segment towards their destination address. Nothing on the host is touched.
A port is used on the lab's event loop (in-process, ``pkilab load`` against a lab it started).

:class:`LinkPortServer` offers a segment to another process over UDP on the loopback
(``pkilab sim up --link-port LINK=HOST:PORT``). Wire protocol, one datagram each way per item:

* a datagram whose first byte is ``0x4_`` is one IPv4 packet, in either direction;
* a datagram starting with ``{`` is a JSON control message from the client:
  ``{"claim": ["198.18.0.0/16", "66.66.66.254"]}`` makes the sender the port's client and answers
  ``{"claimed": [...], "refused": ["ADDRESS: why", ...]}``; ``{"release": true}`` gives the claim up.

Packets for claimed addresses go to the last client that claimed; packets from anyone else are
dropped. A claim that includes an address a simulated device owns on the link is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pkilab.errors import SimError
from pkilab.sim.hostbind import HostBind
from pkilab.sim.network import Attachment, Trace

if TYPE_CHECKING:
    from pkilab.sim.lab import Lab

PacketSink = Callable[[bytes], None]

# Room for bursts on both ends of a link port (a thousand MM1s, a round of DELETEs): with the
# kernel's default buffer (208 KiB here) a burst of a few dozen large main mode messages overflows
# it and the datagrams are dropped (counted in /proc/net/snmp's RcvbufErrors), which costs the
# branch a retransmission. The kernel caps it at net.core.rmem_max / wmem_max.
BURST_BUFFER = 4 << 20


def make_roomy(sock: socket.socket) -> None:
    """Ask for :data:`BURST_BUFFER` bytes of receive and send buffer (what the kernel allows)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BURST_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BURST_BUFFER)


class _Claimed(list[str]):
    """A port's "addresses" for the network's ARP: membership in its claimed ranges."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple[int, int]] = []

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        try:
            value = int(ipaddress.IPv4Address(address))
        except ValueError:
            return False
        return any(lo <= value <= hi for lo, hi in self.ranges)


class SegmentPort:
    """One host-side member of a lab's segment, owning the addresses it claims."""

    _count = 0

    def __init__(self, lab: Lab, link: str, on_packet: PacketSink) -> None:
        """Join segment ``link`` of a running lab.

        Raises:
            SimError: the lab has no such link.
        """
        if link not in lab.network.segments:
            known = ", ".join(sorted(lab.network.segments)) or "none"
            raise SimError(f"{lab.testbed.path}: no link {link!r} in the topology (links: {known})")
        SegmentPort._count += 1
        self.lab = lab
        self.link = link
        self.name = f"port {link} #{SegmentPort._count}"
        self.on_packet = on_packet
        self.claimed = _Claimed()
        self.received = 0
        self.sent = 0
        self.attachment: Attachment | None = lab.network.attach(
            link, self.name, "port", self._receive, lambda: self.claimed, lambda: True
        )

    def claim(self, items: Iterable[str]) -> tuple[list[str], list[str]]:
        """Claim networks (``A.B.C.D/LEN``), ranges (``FIRST-LAST``) or addresses; return (claimed, refused)."""
        claimed: list[str] = []
        refused: list[str] = []
        owned = self._device_addresses()
        for item in items:
            try:
                lo, hi = _bounds(item)
            except ValueError as exc:
                refused.append(f"{item}: {exc}")
                continue
            clash = sorted(a for a in owned if lo <= a <= hi)
            if clash:
                refused.append(f"{item}: {ipaddress.IPv4Address(clash[0])} belongs to a device on {self.link}")
                continue
            self.claimed.ranges.append((lo, hi))
            claimed.append(item)
        return claimed, refused

    def release(self) -> None:
        """Give up every claim (the port stays on the segment)."""
        self.claimed.ranges.clear()

    def _device_addresses(self) -> set[int]:
        seg = self.lab.network.segments[self.link]
        out: set[int] = set()
        for att in seg.attachments:
            # Other ports and host bridges (which answer for "everything else") own no device address.
            if not att.up() or isinstance(getattr(att.receiver, "__self__", None), SegmentPort | HostBind):
                continue
            out.update(int(ipaddress.IPv4Address(a)) for a in att.addresses())
        return out

    def send(self, packet: bytes) -> None:
        """Put an IPv4 packet on the segment towards its destination address."""
        if self.attachment is None or len(packet) < 20:
            return
        self.sent += 1
        dst = str(ipaddress.IPv4Address(packet[16:20]))
        self.lab.network.transmit(self.link, self.attachment, dst, packet, None)

    def _receive(self, _interface: str, packet: bytes, _trace: Trace | None) -> None:
        self.received += 1
        self.on_packet(packet)

    def close(self) -> None:
        """Leave the segment."""
        if self.attachment is not None:
            self.lab.network.detach_router(self.name)
            self.attachment = None


def _bounds(item: str) -> tuple[int, int]:
    if "-" in item:
        first, last = (int(ipaddress.IPv4Address(x.strip())) for x in item.split("-", 1))
    else:
        net = ipaddress.IPv4Network(item.strip(), strict=False)
        first, last = int(net.network_address), int(net.broadcast_address)
    if last < first:
        raise ValueError("empty range")
    return first, last


class LinkPortServer(asyncio.DatagramProtocol):
    """A :class:`SegmentPort` served over UDP to one client process at a time."""

    def __init__(self, lab: Lab, link: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lab = lab
        self.link = link
        self.host = host
        self.port = port
        self.client: tuple[str, int] | None = None
        self.segment: SegmentPort | None = None
        self.transport: asyncio.DatagramTransport | None = None

    async def start(self) -> tuple[str, int]:
        """Join the segment and open the socket; return the bound (host, port).

        Raises:
            SimError: no such link, or the socket cannot be bound.
        """
        self.segment = SegmentPort(self.lab, self.link, self._to_client)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, self.port))
        except OSError as exc:
            self.segment.close()
            raise SimError(f"link port {self.link}: cannot bind UDP {self.host}:{self.port} ({exc.strerror})") from None
        self.transport = transport
        make_roomy(transport.get_extra_info("socket"))
        bound = transport.get_extra_info("sockname")
        return str(bound[0]), int(bound[1])

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """A packet or a control message from a client."""
        sender = (str(addr[0]), int(addr[1]))
        if data[:1] == b"{":
            self._control(data, sender)
        elif data and data[0] >> 4 == 4 and sender == self.client and self.segment is not None:
            self.segment.send(data)

    def _control(self, data: bytes, sender: tuple[str, int]) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or self.segment is None or self.transport is None:
            return
        if message.get("release"):
            if sender == self.client:
                self.segment.release()
                self.client = None
            return
        items = message.get("claim")
        if not isinstance(items, list):
            return
        if sender != self.client:
            self.segment.release()  # a new client replaces the previous one
        self.client = sender
        claimed, refused = self.segment.claim(str(i) for i in items)
        self.transport.sendto(json.dumps({"claimed": claimed, "refused": refused}).encode(), sender)

    def _to_client(self, packet: bytes) -> None:
        if self.client is not None and self.transport is not None:
            self.transport.sendto(packet, self.client)

    def close(self) -> None:
        """Close the socket and leave the segment."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.segment is not None:
            self.segment.close()
            self.segment = None
