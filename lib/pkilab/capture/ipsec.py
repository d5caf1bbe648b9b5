"""IKE and ESP in pcap files, dissected with scapy.

``pkilab sim up --pcap-dir DIR`` writes one pcap per virtual link (and real captures work the
same): :func:`analyze` tells which ISAKMP exchanges ran, which authentication methods the
cleartext main mode SA proposals carried (1 = pre-shared key, 3 = RSA signature), the ESP
packets seen, and any cleartext packet between two protected subnets, which must not exist
while a tunnel protects them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkilab.errors import PkilabError

EXCHANGES = {2: "main", 4: "aggressive", 5: "informational", 32: "quick"}
AUTH_NAMES = {1: "psk", 3: "rsig", 4: "renc"}
_AUTH_NUMBERS = {"PSK": 1, "DSS": 2, "RSA Sig": 3, "RSA Encryption": 4, "RSA Encryption Revised": 5}


class CaptureError(PkilabError):
    """A capture file cannot be read."""


@dataclass(frozen=True)
class IsakmpMessage:
    """One ISAKMP message: endpoints, exchange type, whether its body is encrypted, offered auth methods."""

    src: str
    dst: str
    sport: int
    dport: int
    exchange: int
    encrypted: bool
    auth_methods: tuple[int, ...]  # from the cleartext SA payload (main mode 1 and 2)
    initiator_cookie: str = ""
    responder_cookie: str = ""  # all zeros in the first message of main mode

    @property
    def exchange_name(self) -> str:
        """``main``, ``quick``, ``informational`` … or the number."""
        return EXCHANGES.get(self.exchange, str(self.exchange))


@dataclass(frozen=True)
class EspPacket:
    """One ESP packet (plain or UDP-encapsulated on port 4500)."""

    src: str
    dst: str
    spi: int
    seq: int
    udp_encapsulated: bool


@dataclass(frozen=True)
class CaptureSummary:
    """What a capture holds, for assertions."""

    isakmp: tuple[IsakmpMessage, ...]
    esp: tuple[EspPacket, ...]
    other_ip: tuple[tuple[str, str, int], ...]  # (src, dst, protocol) of every non-IKE, non-ESP packet

    @property
    def exchanges(self) -> set[str]:
        """Names of the ISAKMP exchanges seen."""
        return {m.exchange_name for m in self.isakmp}

    @property
    def auth_methods(self) -> set[str]:
        """``psk``/``rsig`` offered or chosen in cleartext main mode SA payloads."""
        return {AUTH_NAMES.get(a, str(a)) for m in self.isakmp if m.exchange == 2 for a in m.auth_methods}

    def offered_auth(self) -> list[tuple[str, ...]]:
        """The methods of each main mode offer (MM1, zero responder cookie), one tuple per offer."""
        return [
            tuple(AUTH_NAMES.get(a, str(a)) for a in m.auth_methods)
            for m in self.isakmp
            if m.exchange == 2 and m.auth_methods and set(m.responder_cookie) == {"0"}
        ]

    def chosen_auth(self) -> list[str]:
        """The method the responder chose in each main mode answer (MM2: its single transform)."""
        return [
            AUTH_NAMES.get(m.auth_methods[0], str(m.auth_methods[0]))
            for m in self.isakmp
            if m.exchange == 2 and len(m.auth_methods) == 1 and set(m.responder_cookie) != {"0"} and not m.encrypted
        ]

    def esp_between(self, a: str, b: str) -> list[EspPacket]:
        """ESP packets exchanged between the outside addresses ``a`` and ``b`` (either direction)."""
        return [p for p in self.esp if {p.src, p.dst} == {a, b}]

    def cleartext_between(self, net_a: str, net_b: str) -> list[tuple[str, str, int]]:
        """Unencrypted packets from one protected subnet to the other (either direction)."""
        na, nb = ipaddress.IPv4Network(net_a, strict=False), ipaddress.IPv4Network(net_b, strict=False)

        def inside(addr: str, net: ipaddress.IPv4Network) -> bool:
            return ipaddress.IPv4Address(addr) in net

        return [
            (s, d, p)
            for s, d, p in self.other_ip
            if (inside(s, na) and inside(d, nb)) or (inside(s, nb) and inside(d, na))
        ]


def _auth_of(transforms: Iterable[tuple[str, Any]]) -> int | None:
    for name, value in transforms:
        if name == "Authentication":
            return value if isinstance(value, int) else _AUTH_NUMBERS.get(str(value))
    return None


def _isakmp(pkt: Any, ip: Any, udp: Any) -> IsakmpMessage:
    from scapy.layers.isakmp import ISAKMP, ISAKMP_payload_Transform

    isa = pkt[ISAKMP]
    methods = []
    layer = pkt.getlayer(ISAKMP_payload_Transform)
    while isinstance(layer, ISAKMP_payload_Transform):
        method = _auth_of(layer.transforms or ())
        if method is not None:
            methods.append(method)
        layer = layer.payload
    encrypted = bool(int(isa.flags) & 1)
    return IsakmpMessage(
        ip.src,
        ip.dst,
        int(udp.sport),
        int(udp.dport),
        int(isa.exch_type),
        encrypted,
        tuple(methods),
        bytes(isa.init_cookie).hex(),
        bytes(isa.resp_cookie).hex(),
    )


def analyze(path: str | Path) -> CaptureSummary:
    """Dissect a pcap file.

    Raises:
        CaptureError: the file is missing or not a capture scapy can read.
    """
    from scapy.error import Scapy_Exception
    from scapy.layers.inet import IP, UDP
    from scapy.layers.ipsec import ESP
    from scapy.layers.isakmp import ISAKMP
    from scapy.utils import rdpcap

    try:
        packets = rdpcap(str(path))
    except (OSError, ValueError, Scapy_Exception) as exc:
        raise CaptureError(f"{path}: cannot read the capture ({exc})") from None
    isakmp: list[IsakmpMessage] = []
    esp: list[EspPacket] = []
    other: list[tuple[str, str, int]] = []
    for pkt in packets:
        if IP not in pkt:
            continue
        ip = pkt[IP]
        udp = pkt.getlayer(UDP)
        if udp is not None and ISAKMP in pkt:
            isakmp.append(_isakmp(pkt, ip, udp))
        elif ESP in pkt:
            e = pkt[ESP]
            esp.append(EspPacket(ip.src, ip.dst, int(e.spi), int(e.seq), udp is not None))
        elif udp is not None and 4500 in (udp.sport, udp.dport) and bytes(udp.payload)[:4] != b"\x00" * 4:
            data = bytes(udp.payload)
            if len(data) >= 8:  # ESP in UDP that scapy did not dissect as such
                esp.append(
                    EspPacket(ip.src, ip.dst, int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big"), True)
                )
        else:
            other.append((ip.src, ip.dst, int(ip.proto)))
    return CaptureSummary(tuple(isakmp), tuple(esp), tuple(other))
