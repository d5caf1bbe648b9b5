"""Where the virtual branches' packets go: a simulated link, or real addresses on this host.

Every port carries whole IPv4 packets between the branches and the lab:

* :class:`SegmentLink` joins a segment of a simulated lab running in this process, on the lab's
  own event loop (:class:`pkilab.sim.linkport.SegmentPort`);
* :class:`UdpLink` reaches a simulated lab in another process through its link port
  (``pkilab sim up --link-port LINK=HOST:PORT``, protocol in :mod:`pkilab.sim.linkport`);
* :class:`HostLink` uses real UDP sockets on the branches' own addresses (ports 500 and 4500) for
  real routers. It carries IKE and ESP in UDP only, so the branches claim NAT (NAT-T); adding the
  addresses to a host interface and binding port 500 need root.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import resource
import socket
import subprocess
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

from pkilab.errors import PkilabError
from pkilab.sim import packets as pk
from pkilab.sim.linkport import make_roomy

PacketSink = Callable[[bytes], None]
IKE_PORTS = (500, 4500)


class PortError(PkilabError):
    """The branches cannot be given their addresses (one line: what, where, what to do)."""


class Port(Protocol):
    """A packet path between the virtual branches and the lab.

    ``where`` says where the headend runs as the branches see it (in the run's ceiling detail and
    report: the branches' CPU per handshake depends on whether the lab shares their thread).
    """

    where: ClassVar[str]

    async def open(self, claims: Sequence[str], on_packet: PacketSink) -> None:
        """Take the addresses in ``claims`` (networks, ranges, addresses); deliver their packets."""

    def send(self, packet: bytes) -> None:
        """Send one IPv4 packet."""

    def close(self) -> None:
        """Give the addresses back."""


class SegmentLink:
    """A link of a lab running in this process; use it on the lab's event loop."""

    where: ClassVar[str] = "simulated, in this process (it shares the branches' loop thread)"

    def __init__(self, lab: Any, link: str) -> None:
        self.lab = lab
        self.link = link
        self.port: Any = None

    async def open(self, claims: Sequence[str], on_packet: PacketSink) -> None:
        """Join the segment and claim the addresses."""
        from pkilab.errors import SimError
        from pkilab.sim.linkport import SegmentPort

        try:
            self.port = SegmentPort(self.lab, self.link, on_packet)
        except SimError as exc:
            raise PortError(str(exc)) from None
        _, refused = self.port.claim(claims)
        if refused:
            self.close()
            raise PortError(f"link {self.link}: {refused[0]}")

    def send(self, packet: bytes) -> None:
        """Put a packet on the segment."""
        self.port.send(packet)

    def close(self) -> None:
        """Leave the segment."""
        if self.port is not None:
            self.port.close()
            self.port = None


class UdpLink:
    """A link of a simulated lab in another process, through its UDP link port.

    The socket is read directly from the event loop (every datagram waiting at each wake-up), not
    through an asyncio transport: the branches' side of a handshake is a few milliseconds of work,
    and a transport's per-datagram bookkeeping was a tenth of it.
    """

    BATCH = 64  # datagrams read per wake-up at most, so that timers still run under a flood
    where: ClassVar[str] = "simulated, in another process (link port)"

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.dropped = 0
        self._on_packet: PacketSink = lambda _p: None
        self._answer: asyncio.Future[dict[str, Any]] | None = None

    async def open(self, claims: Sequence[str], on_packet: PacketSink) -> None:
        """Connect, claim the addresses and wait for the lab's answer."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        make_roomy(sock)  # room for bursts (a rekey storm, a thousand MM1s)
        sock.connect((self.host, self.port))
        self.sock, self._on_packet = sock, on_packet
        self._answer = loop.create_future()
        loop.add_reader(sock.fileno(), self._readable)
        sock.send(json.dumps({"claim": list(claims)}).encode())
        try:
            answer = await asyncio.wait_for(self._answer, self.timeout)
        except TimeoutError:
            self.close()
            raise PortError(f"link port udp {self.host}:{self.port}: no answer to the claim") from None
        if answer.get("refused"):
            self.close()
            raise PortError(f"link port udp {self.host}:{self.port}: {answer['refused'][0]}")

    def _readable(self) -> None:
        sock = self.sock
        for _ in range(self.BATCH):
            if sock is None:
                return
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the lab went away (ICMP port unreachable): nothing more will come
                return
            if data[:1] == b"{":
                if self._answer is not None and not self._answer.done():
                    with contextlib.suppress(ValueError):
                        self._answer.set_result(json.loads(data))
            elif data and data[0] >> 4 == 4:
                self._on_packet(data)

    def send(self, packet: bytes) -> None:
        """Send a packet to the lab (dropped, and counted, when the socket buffer is full)."""
        if self.sock is None:
            return
        try:
            self.sock.send(packet)
        except (BlockingIOError, InterruptedError, ConnectionRefusedError):
            self.dropped += 1

    def close(self) -> None:
        """Release the claim and close the socket."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.send(b'{"release": true}')
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None


class _HostSocket(asyncio.DatagramProtocol):
    def __init__(self, link: HostLink, address: str, port: int) -> None:
        self.link, self.address, self.port = link, address, port

    def datagram_received(self, data: bytes, addr: Any) -> None:
        src, sport = str(addr[0]), int(addr[1])
        packet = pk.ipv4(src, self.address, pk.PROTO_UDP, pk.udp(src, self.address, sport, self.port, data), ttl=64)
        self.link.on_packet(packet)


class HostLink:
    """The branches' own addresses on this host: UDP 500 and 4500 each (real routers)."""

    where: ClassVar[str] = "a real router"

    def __init__(self, interface: str | None) -> None:
        self.interface = interface
        self.added: list[str] = []
        self.sockets: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self.on_packet: PacketSink = lambda _p: None
        self.dropped = 0

    async def open(self, claims: Sequence[str], on_packet: PacketSink) -> None:
        """Add missing addresses to the interface (root) and bind their sockets."""
        self.on_packet = on_packet
        addresses = [a for c in claims for a in _expand(c)]
        _enough_files(2 * len(addresses) + 64)
        loop = asyncio.get_running_loop()
        try:
            for address in addresses:
                if not _on_host(address):
                    self._add(address)
                for port in IKE_PORTS:
                    self.sockets[(address, port)] = await self._bind(loop, address, port)
        except PortError:
            self.close()
            raise

    def _add(self, address: str) -> None:
        if self.interface is None:
            raise PortError(
                f"{address} is not an address of this host; add the pool's addresses to an interface "
                "or name it in custom.pkilab.load.interface"
            )
        if os.geteuid() != 0:
            raise PortError(f"adding {address} to {self.interface} needs root (run pkilab load as root)")
        cmd = ["ip", "address", "add", f"{address}/32", "dev", self.interface]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PortError(f"{' '.join(cmd)}: {done.stderr.strip() or 'failed'}")
        self.added.append(address)

    async def _bind(self, loop: asyncio.AbstractEventLoop, address: str, port: int) -> asyncio.DatagramTransport:
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _HostSocket(self, address, port), local_addr=(address, port)
            )
        except PermissionError:
            raise PortError(f"binding UDP {address}:{port} needs root (or CAP_NET_BIND_SERVICE)") from None
        except OSError as exc:
            raise PortError(f"cannot bind UDP {address}:{port}: {exc.strerror}") from None
        return transport

    def send(self, packet: bytes) -> None:
        """Send the UDP payload of ``packet`` from the socket of its source address and port."""
        ip = pk.IPv4.parse(packet)
        udp = pk.Udp.parse(ip.payload) if ip is not None and ip.proto == pk.PROTO_UDP else None
        transport = self.sockets.get((ip.src, udp.sport)) if ip is not None and udp is not None else None
        if ip is None or udp is None or transport is None:
            self.dropped += 1  # plain ESP cannot leave through a UDP socket; NAT-T avoids it
            return
        transport.sendto(udp.data, (ip.dst, udp.dport))

    def close(self) -> None:
        """Close the sockets and remove the addresses this run added."""
        for transport in self.sockets.values():
            transport.close()
        self.sockets.clear()
        for address in self.added:
            subprocess.run(
                ["ip", "address", "del", f"{address}/32", "dev", str(self.interface)], capture_output=True, check=False
            )
        self.added.clear()


def _expand(claim: str) -> list[str]:
    if "-" in claim:
        first, last = (ipaddress.IPv4Address(x.strip()) for x in claim.split("-", 1))
        return [str(ipaddress.IPv4Address(a)) for a in range(int(first), int(last) + 1)]
    net = ipaddress.IPv4Network(claim, strict=False)
    return [str(a) for a in (net.hosts() if net.prefixlen < 31 else net)]


def _on_host(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def _enough_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise PortError(f"{needed} sockets needed, the open-file limit is {hard} (raise it with ulimit -n)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
