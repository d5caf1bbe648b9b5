"""ESP (RFC 4303) in tunnel mode for IPv4, with optional UDP encapsulation (RFC 3948).

An :class:`EspSa` is one direction of an IPsec SA: the outbound one encrypts whole inner IPv4
packets into outer ``IP / [UDP 4500 /] ESP`` packets, the inbound one reverses that, checking the
ICV (HMAC-MD5-96 / HMAC-SHA1-96) and the anti-replay window before it counts a packet as good.
Ciphers: DES, 3DES and AES-CBC with an explicit random IV per packet. Pure functions over bytes;
the caller owns time and the network.
"""

from __future__ import annotations

import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pkilab.errors import PkilabError
from pkilab.protocols.ike.events import Phase2Up

IPPROTO_IPIP = 4
IPPROTO_UDP = 17
IPPROTO_ESP = 50
ICV_LEN = 12
REPLAY_WINDOW = 64
_HASH = {"md5": "md5", "sha1": "sha1"}
_KEY_LEN = {"des": (8,), "3des": (24,), "aes": (16, 24, 32)}


class EspError(PkilabError, ValueError):
    """A packet could not be encapsulated or decapsulated; ``reason`` names the IOS counter it hits."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


@dataclass
class EspCounters:
    """Per-SA counters, as ``show crypto ipsec sa`` needs them."""

    packets: int = 0
    bytes: int = 0  # inner IP bytes, for kilobyte lifetimes
    auth_failures: int = 0
    replay_failures: int = 0
    invalid_len: int = 0
    last_seq: int = 0


@dataclass
class ReplayWindow:
    """RFC 4303 3.4.3 sliding window: the highest sequence number seen and a bitmap below it."""

    size: int = REPLAY_WINDOW
    top: int = 0
    bitmap: int = 0

    def check(self, seq: int) -> bool:
        """True when ``seq`` is new and inside or above the window (does not update)."""
        if seq == 0:
            return False
        if seq > self.top:
            return True
        offset = self.top - seq
        return offset < self.size and not (self.bitmap >> offset) & 1

    def update(self, seq: int) -> None:
        """Record ``seq`` as received (after its ICV was verified)."""
        if seq > self.top:
            shift = seq - self.top
            self.bitmap = ((self.bitmap << shift) | 1) & ((1 << self.size) - 1)
            self.top = seq
        else:
            self.bitmap |= 1 << (self.top - seq)


@dataclass
class EspSa:
    """One direction of an ESP tunnel-mode SA.

    Attributes:
        spi: the SPI (the receiver's choice).
        cipher: ``des``, ``3des`` or ``aes``.
        enc_key: cipher key (8, 24 or 16/24/32 bytes).
        auth: ``md5`` or ``sha1`` (HMAC-…-96).
        auth_key: HMAC key.
        src: outer source address (this router's for outbound, the peer's for inbound).
        dst: outer destination address.
        udp_ports: (source, destination) UDP ports when encapsulated (RFC 3948), else None.
    """

    spi: int
    cipher: str
    enc_key: bytes
    auth: str
    auth_key: bytes
    src: str
    dst: str
    udp_ports: tuple[int, int] | None = None
    seq: int = 0
    replay: ReplayWindow = field(default_factory=ReplayWindow)
    counters: EspCounters = field(default_factory=EspCounters)

    def __post_init__(self) -> None:
        if self.cipher not in _KEY_LEN or len(self.enc_key) not in _KEY_LEN[self.cipher]:
            raise EspError("config", f"bad cipher {self.cipher} with a {len(self.enc_key)}-byte key")
        if self.auth not in _HASH:
            raise EspError("config", f"bad authenticator {self.auth}")

    @property
    def block_size(self) -> int:
        """Cipher block size (also the IV length)."""
        return 16 if self.cipher == "aes" else 8

    def _cbc(self, iv: bytes) -> Cipher[modes.CBC]:
        if self.cipher == "aes":
            return Cipher(algorithms.AES(self.enc_key), modes.CBC(iv))
        key = self.enc_key * 3 if len(self.enc_key) == 8 else self.enc_key
        return Cipher(TripleDES(key), modes.CBC(iv))

    def _icv(self, data: bytes) -> bytes:
        return hmac.digest(self.auth_key, data, _HASH[self.auth])[:ICV_LEN]


# --- IPv4 helpers --------------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _addr(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def ipv4_header(
    src: str, dst: str, proto: int, payload_len: int, ident: int = 0, ttl: int = 255, tos: int = 0
) -> bytes:
    """A 20-byte IPv4 header with a correct checksum."""
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x45, tos, 20 + payload_len, ident & 0xFFFF, 0, ttl, proto, 0, _addr(src), _addr(dst)
    )
    return head[:10] + struct.pack("!H", _checksum(head)) + head[12:]


@dataclass(frozen=True)
class OuterPacket:
    """What the receiving router needs to pick the inbound SA: addresses, SPI, encapsulation."""

    src: str
    dst: str
    spi: int
    udp_ports: tuple[int, int] | None
    esp: bytes  # from the SPI to the end of the ICV


def parse_outer(packet: bytes) -> OuterPacket:
    """Locate the ESP part of an outer IPv4 packet (plain ESP or UDP-encapsulated).

    Raises:
        EspError: not an IPv4 ESP packet.
    """
    if len(packet) < 20 or packet[0] >> 4 != 4:
        raise EspError("invalid len", "not an IPv4 packet")
    ihl = (packet[0] & 0x0F) * 4
    total = int.from_bytes(packet[2:4], "big")
    if ihl < 20 or total > len(packet) or total < ihl:
        raise EspError("invalid len", "bad IPv4 header length")
    src = ".".join(str(b) for b in packet[12:16])
    dst = ".".join(str(b) for b in packet[16:20])
    body, ports = packet[ihl:total], None
    if packet[9] == IPPROTO_UDP:
        if len(body) < 8:
            raise EspError("invalid len", "truncated UDP header")
        sport, dport = struct.unpack_from("!HH", body)
        body, ports = body[8:], (sport, dport)
        if body[:4] == b"\x00\x00\x00\x00" or body == b"\xff":
            raise EspError("invalid prot", "IKE or keepalive on the NAT-T port, not ESP")
    elif packet[9] != IPPROTO_ESP:
        raise EspError("invalid prot", f"IP protocol {packet[9]} is not ESP")
    if len(body) < 8:
        raise EspError("invalid len", "truncated ESP header")
    return OuterPacket(src, dst, int.from_bytes(body[:4], "big"), ports, bytes(body))


# --- encapsulation -------------------------------------------------------------------------------


def encapsulate(sa: EspSa, inner: bytes, rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """Encrypt an inner IPv4 packet into an outer packet from ``sa.src`` to ``sa.dst``.

    Raises:
        EspError: the sequence number would wrap (the SA must be rekeyed first).
    """
    if sa.seq >= 0xFFFFFFFF:
        raise EspError("seq overflow", "sequence number exhausted; rekey")
    sa.seq += 1
    bs = sa.block_size
    pad_len = (-(len(inner) + 2)) % bs
    plain = inner + bytes(range(1, pad_len + 1)) + bytes([pad_len, IPPROTO_IPIP])
    iv = rng(bs)
    enc = sa._cbc(iv).encryptor()
    head = struct.pack("!II", sa.spi, sa.seq) + iv + enc.update(plain) + enc.finalize()
    esp = head + sa._icv(head)
    tos = inner[1] if len(inner) > 1 else 0
    if sa.udp_ports is not None:
        sport, dport = sa.udp_ports
        esp = struct.pack("!HHHH", sport, dport, 8 + len(esp), 0) + esp  # RFC 3948: checksum 0
        outer = ipv4_header(sa.src, sa.dst, IPPROTO_UDP, len(esp), sa.seq, tos=tos)
    else:
        outer = ipv4_header(sa.src, sa.dst, IPPROTO_ESP, len(esp), sa.seq, tos=tos)
    sa.counters.packets += 1
    sa.counters.bytes += len(inner)
    sa.counters.last_seq = sa.seq
    return outer + esp


def decapsulate(sa: EspSa, packet: bytes) -> bytes:
    """Check and decrypt an outer packet; return the inner IPv4 packet.

    Raises:
        EspError: wrong SPI, bad length, ICV mismatch, replay, or bad padding (counted in ``sa.counters``).
    """
    outer = parse_outer(packet)
    return decapsulate_esp(sa, outer.esp)


def decapsulate_esp(sa: EspSa, esp: bytes) -> bytes:
    """Like :func:`decapsulate` for the ESP bytes alone (SPI to ICV)."""
    bs = sa.block_size
    if len(esp) < 8 + bs + bs + ICV_LEN or (len(esp) - 8 - bs - ICV_LEN) % bs:
        sa.counters.invalid_len += 1
        raise EspError("invalid len", f"ESP packet of {len(esp)} bytes")
    spi, seq = struct.unpack_from("!II", esp)
    if spi != sa.spi:
        raise EspError("invalid sa", f"SPI {spi:#x} is not {sa.spi:#x}")
    if not sa.replay.check(seq):
        sa.counters.replay_failures += 1
        raise EspError("replay failed", f"sequence number {seq} replayed or too old")
    body, icv = esp[:-ICV_LEN], esp[-ICV_LEN:]
    if not hmac.compare_digest(sa._icv(body), icv):
        sa.counters.auth_failures += 1
        raise EspError("verify failed", "ICV mismatch")
    iv, ct = body[8 : 8 + bs], body[8 + bs :]
    dec = sa._cbc(iv).decryptor()
    plain = dec.update(ct) + dec.finalize()
    pad_len, next_header = plain[-2], plain[-1]
    if pad_len + 2 > len(plain) or next_header != IPPROTO_IPIP:
        sa.counters.invalid_len += 1
        raise EspError("invalid len", f"bad trailer (pad {pad_len}, next header {next_header})")
    sa.replay.update(seq)
    inner = plain[: -(pad_len + 2)]
    sa.counters.packets += 1
    sa.counters.bytes += len(inner)
    sa.counters.last_seq = max(sa.counters.last_seq, seq)
    return inner


def sa_pair(up: Phase2Up) -> tuple[EspSa, EspSa]:
    """The (inbound, outbound) ESP SAs for a quick mode result, UDP-encapsulated under NAT-T."""
    ports = (up.local.port, up.remote.port) if up.udp_encapsulation else None
    back = (ports[1], ports[0]) if ports else None
    i, o = up.inbound, up.outbound
    inbound = EspSa(i.spi, i.cipher, i.enc_key, i.auth, i.auth_key, up.remote.addr, up.local.addr, back)
    outbound = EspSa(o.spi, o.cipher, o.enc_key, o.auth, o.auth_key, up.local.addr, up.remote.addr, ports)
    return inbound, outbound
