"""NAT traversal for IKEv1 (RFC 3947): NAT-D payloads, NAT detection, port 4500 demultiplexing."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pkilab.protocols.ike.codec import Payload
from pkilab.protocols.ike.constants import NON_ESP_MARKER, PayloadType
from pkilab.protocols.ike.crypto import digest
from pkilab.protocols.ike.sa import IsakmpSa

KEEPALIVE_INTERVAL = 20.0  # RFC 3948 4: every 20 seconds by default
NATT_KEEPALIVE = b"\xff"


def natd_hash(hash_alg: int, icookie: bytes, rcookie: bytes, addr: str, port: int) -> bytes:
    """HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 3.2)."""
    return digest(hash_alg, icookie + rcookie + ipaddress.IPv4Address(addr).packed + port.to_bytes(2, "big"))


def natd_payloads(sa: IsakmpSa, force: bool) -> list[Payload]:
    """The peer's address as we see it first, then ours; ``force`` hides ours to force encapsulation."""
    assert sa.policy is not None
    h = sa.policy.hash
    theirs = natd_hash(h, sa.icookie, sa.rcookie, sa.remote.addr, sa.remote.port)
    ours = natd_hash(h, sa.icookie, sa.rcookie, "0.0.0.0" if force else sa.local.addr, 0 if force else sa.local.port)
    return [Payload(PayloadType.NAT_D, theirs), Payload(PayloadType.NAT_D, ours)]


def detect(sa: IsakmpSa, bodies: list[bytes], force: bool) -> None:
    """Compare the peer's NAT-D payloads with what we see; set ``nat_local`` / ``nat_remote``."""
    assert sa.policy is not None
    if not bodies:
        sa.peer_natt = False  # it announced NAT-T but sent no NAT-D: treat as plain IKE
        return
    h = sa.policy.hash
    mine = natd_hash(h, sa.icookie, sa.rcookie, sa.local.addr, sa.local.port)
    theirs = natd_hash(h, sa.icookie, sa.rcookie, sa.remote.addr, sa.remote.port)
    sa.nat_local = force or bodies[0] != mine
    sa.nat_remote = theirs not in bodies[1:]


def classify_4500(payload: bytes) -> Literal["ike", "esp", "keepalive"]:
    """What a UDP payload received on port 4500 is (RFC 3948 2.2): the router sends ESP to its data plane."""
    if payload == NATT_KEEPALIVE:
        return "keepalive"
    if payload.startswith(NON_ESP_MARKER):
        return "ike"
    return "esp"
