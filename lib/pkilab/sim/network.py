"""The virtual network: segments (the testbed's links) joining router interfaces.

A frame put on a segment is delivered asynchronously (``loop.call_soon``) to the interface
that owns the next-hop address, as ARP would resolve it; no host networking is touched. Each
segment can be written to a pcap file (Ethernet framing, virtual addresses in the headers).

A packet may carry a :class:`Trace`: whoever drops it (no route, no ARP answer, IKE not up
yet, an ACL) calls ``trace.dropped(reason)``, so that ``ping`` learns of a loss at once
instead of sitting through IOS's two-second timeout.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

Receiver = Callable[[str, bytes, "Trace | None"], None]


@dataclass
class Trace:
    """Follows one packet (and what it becomes, e.g. ESP) through the network."""

    on_drop: Callable[[str], None] | None = None
    reasons: list[str] = field(default_factory=list)

    def dropped(self, reason: str) -> None:
        """Report that the packet was discarded and why."""
        self.reasons.append(reason)
        if self.on_drop is not None:
            self.on_drop(reason)


@dataclass
class Attachment:
    """One interface attached to a segment."""

    router: str
    interface: str
    mac: bytes
    receiver: Receiver
    addresses: Callable[[], list[str]]
    up: Callable[[], bool]


class PcapWriter:
    """Writes Ethernet frames to a classic pcap file (LINKTYPE_ETHERNET)."""

    def __init__(self, path: Path) -> None:
        self.file: IO[bytes] = path.open("wb")
        self.file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def write(self, frame: bytes) -> None:
        """Append one frame with the current time."""
        now = time.time()
        sec = int(now)
        self.file.write(struct.pack("<IIII", sec, int((now - sec) * 1e6), len(frame), len(frame)) + frame)
        self.file.flush()

    def close(self) -> None:
        """Close the file."""
        self.file.close()


@dataclass
class Segment:
    """A broadcast domain (a testbed link)."""

    name: str
    attachments: list[Attachment] = field(default_factory=list)
    pcap: PcapWriter | None = None


class Network:
    """All segments of a lab."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, pcap_dir: Path | None = None) -> None:
        self.loop = loop
        self.segments: dict[str, Segment] = {}
        self.pcap_dir = pcap_dir
        self._mac_seq = 0

    def segment(self, name: str) -> Segment:
        """Return (creating it) the segment called ``name``."""
        seg = self.segments.get(name)
        if seg is None:
            seg = Segment(name)
            if self.pcap_dir is not None:
                self.pcap_dir.mkdir(parents=True, exist_ok=True)
                seg.pcap = PcapWriter(self.pcap_dir / f"{name}.pcap")
            self.segments[name] = seg
        return seg

    def attach(
        self,
        link: str,
        router: str,
        interface: str,
        receiver: Receiver,
        addresses: Callable[[], list[str]],
        up: Callable[[], bool],
    ) -> Attachment:
        """Attach a router interface to segment ``link``."""
        self._mac_seq += 1
        mac = bytes([0x02, 0x00, 0x5E, 0x00, self._mac_seq >> 8 & 0xFF, self._mac_seq & 0xFF])
        att = Attachment(router, interface, mac, receiver, addresses, up)
        seg = self.segment(link)
        seg.attachments = [a for a in seg.attachments if (a.router, a.interface) != (router, interface)]
        seg.attachments.append(att)
        return att

    def resolve(self, link: str, next_hop: str) -> Attachment | None:
        """ARP: the attachment on ``link`` that owns ``next_hop``, if it is up."""
        seg = self.segments.get(link)
        if seg is None:
            return None
        for att in seg.attachments:
            if att.up() and next_hop in att.addresses():
                return att
        return None

    def transmit(self, link: str, sender: Attachment, next_hop: str, packet: bytes, trace: Trace | None) -> None:
        """Send an IPv4 packet from ``sender`` to the owner of ``next_hop`` on ``link``."""
        target = self.resolve(link, next_hop)
        if target is None or target is sender:
            if trace is not None:
                trace.dropped(f"no ARP answer for {next_hop} on {link}")
            return
        seg = self.segments[link]
        if seg.pcap is not None:
            seg.pcap.write(target.mac + sender.mac + b"\x08\x00" + packet)
        self.loop_call(target.receiver, target.interface, packet, trace)

    def loop_call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the next loop iteration (at once when there is no loop)."""
        if self.loop is None:
            fn(*args)
        else:
            self.loop.call_soon(fn, *args)

    def detach_router(self, router: str) -> None:
        """Remove every attachment of ``router`` (it is reloading)."""
        for seg in self.segments.values():
            seg.attachments = [a for a in seg.attachments if a.router != router]

    def close(self) -> None:
        """Close pcap files."""
        for seg in self.segments.values():
            if seg.pcap is not None:
                seg.pcap.close()
                seg.pcap = None

    def describe(self) -> dict[str, Any]:
        """Segments and their members, for diagnostics."""
        return {n: [(a.router, a.interface) for a in s.attachments] for n, s in self.segments.items()}
