"""HTTP between simulated routers over the virtual network (SCEP, CRL fetches).

A request travels as one IPv4/TCP segment (PSH|ACK) carrying the whole HTTP request, and the
answer as one segment back; there is no handshake, windowing or segmentation. What matters
for the seed is preserved: the packets are routed like any other, so a branch reaches the CA
only where routing — or an IPsec tunnel whose crypto ACL matches the source — lets it, and a
router with ``no ip http server`` answers with a reset. Captures show TCP port 80 with the
HTTP text as payload.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import struct
from typing import TYPE_CHECKING

from pkilab.sim import packets as pk
from pkilab.sim.http import HttpError, HttpResponse, dispatch, encode_response, parse_request
from pkilab.sim.network import Trace

if TYPE_CHECKING:
    from pkilab.sim.features.ip import Ip

PSH_ACK = 0x18
RST = 0x04
_ports = itertools.count(11000)


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


def decode_response(data: bytes) -> HttpResponse:
    """Parse an HTTP response carried in one segment."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise HttpTransportError("malformed HTTP response")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise HttpTransportError(f"malformed status line {lines[0]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return HttpResponse(int(parts[1]), headers.get("content-type", ""), body)


def serve(ip_feature: Ip, packet: pk.IPv4, trace: Trace | None) -> None:
    """Answer an HTTP request segment addressed to this router (port 80)."""
    from pkilab.sim.features.system import System

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
    response = _handle(router, data, packet.src)
    segment = tcp_segment(packet.dst, packet.src, 80, sport, PSH_ACK, encode_response(response))
    ip_feature.send(pk.ipv4(packet.dst, packet.src, pk.PROTO_TCP, segment, ident=ip_feature.next_ident()), trace)


def _handle(router: object, data: bytes, client: str) -> HttpResponse:
    try:
        request, _ = parse_request(data, client)
    except HttpError as exc:
        return exc.response
    if request is None:  # the whole request travels in one segment: incomplete is malformed
        return HttpResponse(400, "text/plain", b"Bad Request\n")
    return dispatch(router, request)  # type: ignore[arg-type]


async def request(
    ip_feature: Ip,
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
    src = source or ip_feature.source_for(dst)
    if src is None:
        raise HttpTransportError(f"no route to {dst}")
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[HttpResponse] = loop.create_future()
    sport = next(_ports) % 50000 + 11000

    def on_segment(packet: pk.IPv4, trace: Trace | None) -> None:
        seg = parse_segment(packet.payload)
        if seg is None or fut.done():
            return
        if seg[2] & RST:
            fut.set_exception(HttpTransportError(f"connection to {dst}:{port} refused"))
            return
        try:
            fut.set_result(decode_response(seg[3]))
        except HttpTransportError as exc:
            fut.set_exception(exc)

    def on_drop(reason: str) -> None:
        if not fut.done():
            fut.set_exception(HttpTransportError(reason))

    ip_feature.tcp_clients[sport] = on_segment
    try:
        data = encode_request(method, host, target, body, content_type)
        segment = tcp_segment(src, dst, sport, port, PSH_ACK, data)
        ip_feature.send(pk.ipv4(src, dst, pk.PROTO_TCP, segment, ident=ip_feature.next_ident()), Trace(on_drop=on_drop))
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        raise HttpTransportError(f"no answer from {dst}:{port}") from None
    finally:
        ip_feature.tcp_clients.pop(sport, None)
