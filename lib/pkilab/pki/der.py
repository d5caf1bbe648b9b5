"""A minimal DER writer and reader for the CMS structures SCEP exchanges.

asn1crypto builds and parses these structures correctly but slowly (building a CertRep and
parsing a PKCSReq through it cost more than the CA's RSA operations). The few shapes SCEP
uses are simple enough to write directly and to walk as plain DER; anything that is not plain
DER (BER indefinite lengths, constructed strings) raises :class:`NotDer` and the caller falls
back to asn1crypto, which reads BER.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    """One tag-length-value."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    if n < 0x100:
        return bytes((tag, 0x81, n)) + content
    if n < 0x10000:
        return bytes((tag, 0x82, n >> 8, n & 0xFF)) + content
    return bytes([tag]) + _length(n) + content


def sequence(*items: bytes) -> bytes:
    """SEQUENCE of already-encoded items."""
    return tlv(0x30, b"".join(items))


def set_of(items: Iterable[bytes]) -> bytes:
    """SET OF: DER orders the encoded elements."""
    items = list(items)
    return tlv(0x31, b"".join(sorted(items)) if len(items) > 1 else b"".join(items))


def explicit(number: int, inner: bytes) -> bytes:
    """``[number] EXPLICIT`` around an encoded value."""
    return tlv(0xA0 | number, inner)


def implicit_constructed(number: int, content: bytes) -> bytes:
    """``[number] IMPLICIT`` for a constructed type (content without its own tag)."""
    return tlv(0xA0 | number, content)


def integer(value: int) -> bytes:
    """INTEGER (two's complement, minimal)."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def octet_string(data: bytes) -> bytes:
    """OCTET STRING."""
    return tlv(0x04, data)


def printable_string(text: str) -> bytes:
    """PrintableString (the caller keeps to its character set)."""
    return tlv(0x13, text.encode("ascii"))


NULL = b"\x05\x00"


@lru_cache(maxsize=256)
def oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


@lru_cache(maxsize=64)
def algorithm(dotted: str, parameters: bytes | None = NULL) -> bytes:
    """AlgorithmIdentifier; ``parameters=None`` leaves them out."""
    return sequence(oid(dotted), parameters) if parameters is not None else sequence(oid(dotted))


def issuer_and_serial(issuer_der: bytes, serial: int) -> bytes:
    """IssuerAndSerialNumber from the issuer Name DER and the serial."""
    return sequence(issuer_der, integer(serial))


class NotDer(ValueError):
    """The bytes are not plain DER (BER indefinite lengths, constructed strings, truncation…)."""


class Tlv(NamedTuple):
    """One parsed element: ``data[head:end]`` is the whole TLV, ``data[start:end]`` its content."""

    tag: int
    head: int
    start: int
    end: int


_new_tlv = tuple.__new__  # skips the NamedTuple constructor's argument handling: read() is hot


def read(data: bytes, pos: int = 0, stop: int | None = None) -> Tlv:
    """Read the DER element at ``pos`` (it must end by ``stop``, the end of ``data`` by default).

    Raises:
        NotDer: high tag numbers, indefinite or over-long lengths, or truncation.
    """
    if stop is None:
        stop = len(data)
    if pos + 2 > stop:
        raise NotDer("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise NotDer("high tag number")
    first = data[pos + 1]
    if first < 0x80:
        start, end = pos + 2, pos + 2 + first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise NotDer("indefinite or over-long length")
        start = pos + 2 + count
        end = start + int.from_bytes(data[pos + 2 : start], "big")
    if end > stop:
        raise NotDer("truncated")
    return _new_tlv(Tlv, (tag, pos, start, end))


def children(data: bytes, parent: Tlv) -> list[Tlv]:
    """The elements inside a constructed element.

    Raises:
        NotDer: as :func:`read` (an element that overruns its parent is truncated).
    """
    found = []
    pos, stop = parent.start, parent.end
    while pos < stop:
        child = read(data, pos, stop)
        found.append(child)
        pos = child.end
    return found


def expect(item: Tlv, tag: int) -> Tlv:
    """``item`` if it has ``tag``.

    Raises:
        NotDer: another tag.
    """
    if item.tag != tag:
        raise NotDer(f"expected tag {tag:#04x}, found {item.tag:#04x}")
    return item


def decode_oid(data: bytes, item: Tlv) -> str:
    """The dotted form of an OBJECT IDENTIFIER element.

    Raises:
        NotDer: not an OID.
    """
    return _decode_oid_body(data[expect(item, 0x06).start : item.end])


@lru_cache(maxsize=256)
def _decode_oid_body(body: bytes) -> str:
    if not body:
        raise NotDer("empty OID")
    first = body[0]
    arcs = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(arc) for arc in arcs)


def decode_int(data: bytes, item: Tlv) -> int:
    """The value of an INTEGER element.

    Raises:
        NotDer: not an INTEGER.
    """
    return int.from_bytes(data[expect(item, 0x02).start : item.end], "big", signed=True)


def unarmor(data: bytes) -> bytes:
    """DER from PEM armor, from bare base64, or the bytes as they are: the one reader of pasted PKI objects.

    IOS prints and takes certificates and requests at the terminal in both armors. Bytes that
    are neither PEM nor base64 come back unchanged: the DER reader then refuses them.

    Raises:
        ValueError: PEM armor around base64 that does not decode.
    """
    stripped = data.strip()
    if not stripped.startswith(b"-----BEGIN"):
        if stripped[:1] == b"\x30":  # a DER SEQUENCE
            return data
        try:
            return base64.b64decode(b"".join(stripped.split()), validate=True)
        except binascii.Error:
            return data
    lines = [ln.strip() for ln in stripped.splitlines() if ln.strip() and not ln.strip().startswith(b"-----")]
    try:
        return base64.b64decode(b"".join(lines), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"PEM is corrupt: {exc}") from exc
