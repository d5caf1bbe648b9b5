"""ISAKMP wire format (RFC 2408 section 3): header, generic payload chain, typed payload bodies.

Decoding is strict: every length is checked against what is left, and any inconsistency raises
:class:`IkeDecodeError` (never ``IndexError`` or ``struct.error``), so the engine can turn a bad
datagram into a clean refusal.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pkilab.errors import PkilabError
from pkilab.protocols.ike.constants import ISAKMP_VERSION, PayloadType

HEADER_LEN = 28
_HEADER = struct.Struct("!8s8sBBBBII")
_GENERIC = struct.Struct("!BBH")  # next payload, reserved, length: the head of every payload


class IkeDecodeError(PkilabError, ValueError):
    """Bytes received from a peer are not a well-formed ISAKMP message (a remote error)."""


@dataclass(frozen=True)
class Header:
    """The fixed ISAKMP header."""

    icookie: bytes
    rcookie: bytes
    next_payload: int
    exchange: int
    flags: int
    message_id: int
    length: int
    version: int = ISAKMP_VERSION

    def encode(self) -> bytes:
        """Return the 28 header bytes."""
        return header_bytes(
            self.icookie,
            self.rcookie,
            self.next_payload,
            self.exchange,
            self.flags,
            self.message_id,
            self.length,
            self.version,
        )


def header_bytes(
    icookie: bytes,
    rcookie: bytes,
    next_payload: int,
    exchange: int,
    flags: int,
    message_id: int,
    length: int,
    version: int = ISAKMP_VERSION,
) -> bytes:
    """The 28 header bytes (what :meth:`Header.encode` returns, without building a :class:`Header`)."""
    return _HEADER.pack(icookie, rcookie, next_payload, version, exchange, flags, message_id, length)


@dataclass(frozen=True)
class Payload:
    """One payload of the chain: its type and its body (without the 4-byte generic header)."""

    type: int
    body: bytes


def parse_header(data: bytes) -> Header:
    """Decode the header of ``data`` and check the total length.

    Raises:
        IkeDecodeError: too short, wrong major version or inconsistent length.
    """
    if len(data) < HEADER_LEN:
        raise IkeDecodeError(f"message of {len(data)} bytes is shorter than the ISAKMP header")
    icky, rcky, nxt, version, exch, flags, mid, length = _HEADER.unpack_from(data)
    if version >> 4 != 1:
        raise IkeDecodeError(f"unsupported ISAKMP major version {version >> 4}")
    if length != len(data):
        raise IkeDecodeError(f"header length {length} does not match datagram length {len(data)}")
    return Header(icky, rcky, nxt, exch, flags, mid, length, version)


def parse_payloads(first: int, data: bytes, allow_padding: bool = False) -> list[Payload]:
    """Walk the generic payload chain starting with type ``first``.

    Args:
        first: type of the first payload (from the header).
        data: the bytes after the header (decrypted when the message was encrypted).
        allow_padding: accept trailing bytes after the last payload (cipher padding).

    Raises:
        IkeDecodeError: a length runs past the end, or trailing bytes are not allowed.
    """
    out: list[Payload] = []
    pos, nxt, end = 0, first, len(data)
    while nxt != PayloadType.NONE:
        if end - pos < 4:
            raise IkeDecodeError(f"payload type {nxt} truncated at offset {pos}")
        following, reserved, plen = _GENERIC.unpack_from(data, pos)
        if plen < 4 or pos + plen > end:
            raise IkeDecodeError(f"payload type {nxt} has bad length {plen}")
        if reserved != 0:
            raise IkeDecodeError(f"payload type {nxt} has a non-zero reserved byte")
        out.append(Payload(nxt, bytes(data[pos + 4 : pos + plen])))
        pos += plen
        nxt = following
        if len(out) > 64:
            raise IkeDecodeError("too many payloads")
    if pos != end and not allow_padding:
        raise IkeDecodeError(f"{end - pos} trailing bytes after the last payload")
    return out


def encode_payloads(payloads: Sequence[Payload]) -> bytes:
    """Chain payloads with generic headers; the caller puts ``payloads[0].type`` in the header."""
    parts: list[bytes] = []
    following = [p.type for p in payloads[1:]]
    following.append(PayloadType.NONE)
    for p, nxt in zip(payloads, following, strict=True):
        parts += (_GENERIC.pack(nxt, 0, len(p.body) + 4), p.body)
    return b"".join(parts)


# --- SA / proposal / transform ---------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """A data attribute; values of up to 16 bits are sent in basic (TV) form."""

    type: int
    value: int

    def encode(self) -> bytes:
        """Return TV form for small values, TLV with the minimal length otherwise."""
        if 0 <= self.value <= 0xFFFF and self.type not in _ALWAYS_TLV:
            return struct.pack("!HH", 0x8000 | self.type, self.value)
        raw = self.value.to_bytes(max(4, (self.value.bit_length() + 7) // 8), "big")
        return struct.pack("!HH", self.type, len(raw)) + raw


# Types that some peers only accept in TLV form; none today, kept as a hook for interop fixes.
_ALWAYS_TLV: frozenset[int] = frozenset()


def parse_attributes(data: bytes) -> tuple[Attribute, ...]:
    """Decode a run of data attributes.

    Raises:
        IkeDecodeError: truncated, or a variable value longer than 8 bytes.
    """
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise IkeDecodeError("truncated SA attribute")
        af_type, val = struct.unpack_from("!HH", data, pos)
        pos += 4
        if af_type & 0x8000:
            out.append(Attribute(af_type & 0x7FFF, val))
            continue
        if val > 8 or pos + val > len(data):
            raise IkeDecodeError(f"bad variable attribute length {val}")
        out.append(Attribute(af_type, int.from_bytes(data[pos : pos + val], "big")))
        pos += val
    return tuple(out)


@dataclass(frozen=True)
class Transform:
    """A transform payload."""

    number: int
    transform_id: int
    attributes: tuple[Attribute, ...]

    def attr(self, kind: int) -> int | None:
        """Value of the first attribute of type ``kind``, or None."""
        for a in self.attributes:
            if a.type == kind:
                return a.value
        return None


@dataclass(frozen=True)
class Proposal:
    """A proposal payload with its transforms."""

    number: int
    protocol: int
    spi: bytes
    transforms: tuple[Transform, ...]


@dataclass(frozen=True)
class SaBody:
    """Body of an SA payload (DOI IPsec, situation identity-only)."""

    doi: int
    situation: int
    proposals: tuple[Proposal, ...]


def encode_sa(sa: SaBody) -> bytes:
    """Encode an SA payload body with its proposal and transform sub-chains."""
    props = []
    for pi, prop in enumerate(sa.proposals):
        trans = []
        for ti, tr in enumerate(prop.transforms):
            attrs = b"".join(a.encode() for a in tr.attributes)
            nxt = PayloadType.TRANSFORM if ti + 1 < len(prop.transforms) else 0
            head = struct.pack("!BBHBBH", nxt, 0, 8 + len(attrs), tr.number, tr.transform_id, 0)
            trans.append(head + attrs)
        tbytes = b"".join(trans)
        nxt = PayloadType.PROPOSAL if pi + 1 < len(sa.proposals) else 0
        head = struct.pack(
            "!BBHBBBB",
            nxt,
            0,
            8 + len(prop.spi) + len(tbytes),
            prop.number,
            prop.protocol,
            len(prop.spi),
            len(prop.transforms),
        )
        props.append(head + prop.spi + tbytes)
    return struct.pack("!II", sa.doi, sa.situation) + b"".join(props)


def _sub_chain(data: bytes, kind: int, what: str) -> list[bytes]:
    out, pos, nxt = [], 0, kind
    while nxt:
        if nxt != kind:
            raise IkeDecodeError(f"unexpected payload {nxt} inside {what}")
        if len(data) - pos < 8:
            raise IkeDecodeError(f"truncated {what}")
        nxt, _, plen = struct.unpack_from("!BBH", data, pos)
        if plen < 8 or pos + plen > len(data):
            raise IkeDecodeError(f"bad {what} length {plen}")
        out.append(data[pos : pos + plen])
        pos += plen
    if pos != len(data):
        raise IkeDecodeError(f"trailing bytes after the last {what}")
    return out


# A peer answers a constant offer with the same SA payload in every handshake (and offers the same
# one): each distinct body is decoded once. The result is immutable, so sharing it is safe.
@lru_cache(maxsize=256)
def parse_sa(body: bytes) -> SaBody:
    """Decode an SA payload body.

    Raises:
        IkeDecodeError: malformed proposals or transforms.
    """
    if len(body) < 8:
        raise IkeDecodeError("truncated SA payload")
    doi, situation = struct.unpack_from("!II", body)
    proposals = []
    for raw in _sub_chain(body[8:], PayloadType.PROPOSAL, "proposal"):
        _, _, _, number, proto, spi_size, ntrans = struct.unpack_from("!BBHBBBB", raw)
        if 8 + spi_size > len(raw):
            raise IkeDecodeError("proposal SPI runs past the proposal")
        spi = raw[8 : 8 + spi_size]
        transforms = []
        for traw in _sub_chain(raw[8 + spi_size :], PayloadType.TRANSFORM, "transform"):
            _, _, _, tnum, tid, _ = struct.unpack_from("!BBHBBH", traw)
            transforms.append(Transform(tnum, tid, parse_attributes(traw[8:])))
        if len(transforms) != ntrans:
            raise IkeDecodeError(f"proposal announces {ntrans} transforms, carries {len(transforms)}")
        proposals.append(Proposal(number, proto, bytes(spi), tuple(transforms)))
    return SaBody(doi, situation, tuple(proposals))


# --- other payload bodies --------------------------------------------------------------------


@dataclass(frozen=True)
class IdBody:
    """Identification payload body (RFC 2407 4.6.2)."""

    id_type: int
    protocol: int
    port: int
    data: bytes

    def encode(self) -> bytes:
        """Return the payload body."""
        return struct.pack("!BBH", self.id_type, self.protocol, self.port) + self.data


def parse_id(body: bytes) -> IdBody:
    """Decode an ID payload body.

    Raises:
        IkeDecodeError: shorter than 4 bytes.
    """
    if len(body) < 4:
        raise IkeDecodeError("truncated ID payload")
    id_type, proto, port = struct.unpack_from("!BBH", body)
    return IdBody(id_type, proto, port, bytes(body[4:]))


@dataclass(frozen=True)
class NotifyBody:
    """Notification payload body (RFC 2408 3.14)."""

    doi: int
    protocol: int
    notify_type: int
    spi: bytes
    data: bytes

    def encode(self) -> bytes:
        """Return the payload body."""
        head = struct.pack("!IBBH", self.doi, self.protocol, len(self.spi), self.notify_type)
        return head + self.spi + self.data


def parse_notify(body: bytes) -> NotifyBody:
    """Decode a notification body.

    Raises:
        IkeDecodeError: truncated.
    """
    if len(body) < 8:
        raise IkeDecodeError("truncated notification payload")
    doi, proto, spi_size, ntype = struct.unpack_from("!IBBH", body)
    if 8 + spi_size > len(body):
        raise IkeDecodeError("notification SPI runs past the payload")
    return NotifyBody(doi, proto, ntype, bytes(body[8 : 8 + spi_size]), bytes(body[8 + spi_size :]))


@dataclass(frozen=True)
class DeleteBody:
    """Delete payload body (RFC 2408 3.15)."""

    doi: int
    protocol: int
    spis: tuple[bytes, ...]

    def encode(self) -> bytes:
        """Return the payload body; all SPIs must have the same size."""
        size = len(self.spis[0]) if self.spis else 0
        return struct.pack("!IBBH", self.doi, self.protocol, size, len(self.spis)) + b"".join(self.spis)


def parse_delete(body: bytes) -> DeleteBody:
    """Decode a delete body.

    Raises:
        IkeDecodeError: truncated or inconsistent SPI count.
    """
    if len(body) < 8:
        raise IkeDecodeError("truncated delete payload")
    doi, proto, size, count = struct.unpack_from("!IBBH", body)
    if len(body) != 8 + size * count:
        raise IkeDecodeError("delete payload SPI count does not match its length")
    spis = tuple(bytes(body[8 + i * size : 8 + (i + 1) * size]) for i in range(count))
    return DeleteBody(doi, proto, spis)


def typed_body(encoding: int, data: bytes) -> bytes:
    """Body of a CERT or CR payload: one encoding byte then the data."""
    return bytes([encoding]) + data


def parse_typed_body(body: bytes, what: str) -> tuple[int, bytes]:
    """Split a CERT or CR payload body into (encoding, data).

    Raises:
        IkeDecodeError: empty body.
    """
    if not body:
        raise IkeDecodeError(f"empty {what} payload")
    return body[0], bytes(body[1:])
