"""HTTP between simulated routers over the virtual network (SCEP, CRL fetches).

A request travels as one IPv4/TCP segment (PSH|ACK) carrying the whole HTTP request, and the
answer as one segment back; there is no handshake, windowing or segmentation. What matters
for the seed is preserved: the packets are routed like any other, so a branch reaches the CA
only where routing — or an IPsec tunnel whose crypto ACL matches the source — lets it, and a
router with ``no ip http server`` answers with a reset. Captures show TCP port 80 with the
HTTP text as payload.

This layer sits above the router's IP feature, which hands it the TCP segments it receives; it
sees that feature through :class:`IpLayer` (what it uses of it), so that the IP feature can
import this module without a circle.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import struct
from collections.abc import Callable
from typing import Protocol

from pkilab.protocols.http import HttpResponse, ServerConnection, read_response
from pkilab.sim import packets as pk
from pkilab.sim.features.system import System
from pkilab.sim.http import dispatch
from pkilab.sim.network import Trace
from pkilab.sim.router import Router

PSH_ACK = 0x18
RST = 0x04
_ports = itertools.count(11000)


class IpLayer(Protocol):
    """What HTTP over the virtual network uses of a router's IP feature (:class:`~pkilab.sim.features.ip.Ip`)."""

    router: Router
    #: Segment handlers of the TCP client ports in use, by local port.
    tcp_clients: dict[int, Callable[[pk.IPv4, Trace | None], None]]

    def send(self, packet: bytes, trace: Trace | None = None) -> bool:
        """Route and send an IPv4 packet."""

    def next_ident(self) -> int:
        """The next IPv4 identification."""

    def source_for(self, dst: str) -> str | None:
        """The source address of a packet to ``dst`` (None without a route)."""


class HttpTransportError(Exception):
    """The request could not be delivered or answered (no route, reset, timeout)."""


def tcp_segment(src: str, dst: str, sport: int, dport: int, flags: int, data: bytes, seq: int = 1) -> bytes:
    """A TCP segment with a correct checksum (no options)."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0)
    pseudo = (
        ipaddress.IPv4Address(src).packed
        + ipaddress.IPv4Address(dst).packed
        + struct.pack("!BBH", 0, pk.PROTO_TCP, len(header) + len(data))
    )
    csum = pk.checksum(pseudo + header + data)
    return header[:16] + struct.pack("!H", csum) + header[18:] + data


def parse_segment(payload: bytes) -> tuple[int, int, int, bytes] | None:
    """(sport, dport, flags, data) of a TCP segment, or None."""
    if len(payload) < 20:
        return None
    sport, dport, _, _, offset, flags = struct.unpack("!HHIIBB", payload[:14])
    start = (offset >> 4) * 4
    if start < 20 or start > len(payload):
        return None
    return sport, dport, flags, payload[start:]


def encode_request(method: str, host: str, target: str, body: bytes, content_type: str = "") -> bytes:
    """HTTP/1.0 request bytes as IOS's SCEP client sends them."""
    head = f"{method} {target} HTTP/1.0\r\nHost: {host}\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
    return (head + "\r\n").encode() + body


def decode_response(data: bytes, method: str = "GET") -> HttpResponse:
    """Read the HTTP response carried in one segment (to a ``method`` request)."""
    try:
        return read_response(data, method)
    except ValueError as exc:
        raise HttpTransportError(str(exc)) from None


def serve(ip_feature: IpLayer, packet: pk.IPv4, trace: Trace | None) -> None:
    """Answer an HTTP request segment addressed to this router (port 80)."""
    seg = parse_segment(packet.payload)
    if seg is None:
        return
    sport, dport, flags, data = seg
    if flags & RST:
        return
    router = ip_feature.router
    if dport != 80 or not router.feature(System).http_server:
        reset = tcp_segment(packet.dst, packet.src, dport, sport, RST | 0x10, b"")
        ip_feature.send(pk.ipv4(packet.dst, packet.src, pk.PROTO_TCP, reset, ident=ip_feature.next_ident()), trace)
        return
    # The whole request travels in one segment: what is missing will not come (400), and the
    # connection ends with the answer.
    http = ServerConnection(packet.src)
    answer = http.serve(data, lambda req: dispatch(router, req), eof=True)
    if not answer:
        return  # a segment without a request (no data)
    segment = tcp_segment(packet.dst, packet.src, 80, sport, PSH_ACK, answer)
    ip_feature.send(pk.ipv4(packet.dst, packet.src, pk.PROTO_TCP, segment, ident=ip_feature.next_ident()), trace)


async def request(
    ip_feature: IpLayer,
    dst: str,
    port: int,
    method: str,
    target: str,
    host: str,
    body: bytes = b"",
    content_type: str = "",
    source: str | None = None,
    timeout: float = 5.0,
) -> HttpResponse:
    """Send an HTTP request from this router to ``dst:port`` over the virtual network."""
    data = encode_request(method, host, target, body, content_type)
    return decode_response(await exchange(ip_feature, dst, port, data, source, timeout), method)


async def exchange(
    ip_feature: IpLayer, dst: str, port: int, data: bytes, source: str | None = None, timeout: float = 5.0
) -> bytes:
    """Send ``data`` in one segment from this router to ``dst:port``; return the answer segment's data.

    Raises:
        HttpTransportError: no route, a reset, a drop on the way, or no answer within ``timeout``.
    """
    src = source or ip_feature.source_for(dst)
    if src is None:
        raise HttpTransportError(f"no route to {dst}")
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[bytes] = loop.create_future()
    sport = next(_ports) % 50000 + 11000

    def on_segment(packet: pk.IPv4, trace: Trace | None) -> None:
        seg = parse_segment(packet.payload)
        if seg is None or fut.done():
            return
        if seg[2] & RST:
            fut.set_exception(HttpTransportError(f"connection to {dst}:{port} refused"))
        else:
            fut.set_result(seg[3])

    def on_drop(reason: str) -> None:
        if not fut.done():
            fut.set_exception(HttpTransportError(reason))

    ip_feature.tcp_clients[sport] = on_segment
    try:
        segment = tcp_segment(src, dst, sport, port, PSH_ACK, data)
        ip_feature.send(pk.ipv4(src, dst, pk.PROTO_TCP, segment, ident=ip_feature.next_ident()), Trace(on_drop=on_drop))
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        raise HttpTransportError(f"no answer from {dst}:{port}") from None
    finally:
        ip_feature.tcp_clients.pop(sport, None)
