"""IPv4, ICMP and UDP packets as real bytes (RFC 791/792/768), built and parsed by hand.

The virtual network carries these bytes unchanged, so captures are dissected by scapy and
ESP later encrypts exactly what a router would.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ESP = 50


@functools.lru_cache(maxsize=65536)
def packed(address: str) -> bytes:
    """The 4 bytes of a dotted IPv4 address (cached: a headend and its branches repeat a few thousand)."""
    return ipaddress.IPv4Address(address).packed


@functools.lru_cache(maxsize=65536)
def dotted(data: bytes) -> str:
    """The dotted text of 4 address bytes (cached, as :func:`packed`)."""
    return str(ipaddress.IPv4Address(data))


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


@dataclass(frozen=True)
class IPv4:
    """A parsed IPv4 packet (options are kept inside ``header_len``)."""

    src: str
    dst: str
    proto: int
    ttl: int
    ident: int
    payload: bytes
    header_len: int = 20

    @classmethod
    def parse(cls, data: bytes) -> IPv4 | None:
        """Parse bytes into a packet, or None when they are not a sane IPv4 packet."""
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        ihl = (data[0] & 0x0F) * 4
        total = struct.unpack("!H", data[2:4])[0]
        if ihl < 20 or total < ihl or total > len(data):
            return None
        return cls(
            src=dotted(bytes(data[12:16])),
            dst=dotted(bytes(data[16:20])),
            proto=data[9],
            ttl=data[8],
            ident=struct.unpack("!H", data[4:6])[0],
            payload=bytes(data[ihl:total]),
            header_len=ihl,
        )


def ipv4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 255, ident: int = 0, tos: int = 0) -> bytes:
    """Build an IPv4 packet with a correct header checksum (DF clear, no options)."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        tos,
        20 + len(payload),
        ident & 0xFFFF,
        0,
        ttl,
        proto,
        0,
        packed(src),
        packed(dst),
    )
    csum = checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def with_ttl(packet: bytes, ttl: int) -> bytes:
    """Return ``packet`` with a new TTL and a recomputed header checksum."""
    ihl = (packet[0] & 0x0F) * 4
    header = bytearray(packet[:ihl])
    header[8] = ttl
    header[10:12] = b"\x00\x00"
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    return bytes(header) + packet[ihl:]


@dataclass(frozen=True)
class Icmp:
    """An ICMP message: type, code, identifier, sequence, data."""

    type: int
    code: int
    ident: int
    seq: int
    data: bytes

    @classmethod
    def parse(cls, payload: bytes) -> Icmp | None:
        """Parse an ICMP message; None when too short or the checksum is wrong."""
        if len(payload) < 8 or checksum(payload) != 0:
            return None
        t, c, _, ident, seq = struct.unpack("!BBHHH", payload[:8])
        return cls(t, c, ident, seq, payload[8:])


def icmp(type_: int, code: int, ident: int, seq: int, data: bytes) -> bytes:
    """Build an ICMP message (echo request 8, echo reply 0, unreachable 3 …)."""
    body = struct.pack("!BBHHH", type_, code, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


@dataclass(frozen=True)
class Udp:
    """A UDP datagram."""

    sport: int
    dport: int
    data: bytes

    @classmethod
    def parse(cls, payload: bytes) -> Udp | None:
        """Parse a UDP datagram; None when malformed."""
        if len(payload) < 8:
            return None
        sport, dport, length, _ = struct.unpack("!HHHH", payload[:8])
        if length < 8 or length > len(payload):
            return None
        return cls(sport, dport, payload[8:length])


def udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    """Build a UDP datagram with its pseudo-header checksum."""
    length = 8 + len(data)
    pseudo = packed(src) + packed(dst) + struct.pack("!BBH", 0, PROTO_UDP, length)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo + header + data) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + data
