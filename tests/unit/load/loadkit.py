"""A headend made of the project's IKE engine and ESP, wired to virtual branches in memory.

The headend answers main and quick mode (RSA signatures checked against a CA and a revoked
serial list, or a pre-shared key), installs the ESP SAs it negotiates, and answers ICMP echoes
to the target through the tunnel, as the simulated headend and the host behind it would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pkilab.load.branch import BranchProfile, VirtualBranch
from pkilab.protocols import esp
from pkilab.protocols.ike import (
    CertificateCheck,
    CertVerdict,
    Endpoint,
    EngineOptions,
    Event,
    IkeConfig,
    IkeEngine,
    IsakmpPolicy,
    Phase2Policy,
    Phase2Up,
    RsaCredentials,
    Selector,
    SendDatagram,
    TransformSet,
)
from pkilab.sim import packets as pk

HEADEND = "66.66.66.1"
TARGET = "10.59.138.13"
PROTECTED = Selector.parse("10.0.0.0/8")
TS = TransformSet.from_ios("t", ["esp-3des", "esp-sha-hmac"])
P2 = Phase2Policy((TS,))
PSK = b"load-kit-key"


@cache
def key(label: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def issue(self, cn: str, subject_key: rsa.RSAPrivateKey, serial: int) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(subject_key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )


@cache
def ca(label: str = "ca") -> Ca:
    k = key(label)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(label))
        .issuer_name(_name(label))
        .public_key(k.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=10))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(k, hashes.SHA256())
    )
    return Ca(cert, k)


def policy(psk: bool) -> IsakmpPolicy:
    return IsakmpPolicy.from_ios(10, "3des", "sha", "pre-share" if psk else "rsa-sig", 2)


def profile(psk: bool = False, authority: Ca | None = None) -> BranchProfile:
    return BranchProfile(
        headend=HEADEND,
        target=TARGET,
        remote=PROTECTED,
        policies=(policy(psk),),
        phase2=P2,
        psk=PSK if psk else None,
        ca_cert=(authority or ca()).cert,
        options=EngineOptions(retransmit_interval=1.0),
    )


@dataclass
class Headend:
    """The far end: an IKE engine, its ESP SAs, and an echo target behind it."""

    psk: bool = False
    revoked: set[int] = field(default_factory=set)
    authority: Ca = field(default_factory=ca)
    now: float = 0.0
    branches: dict[str, VirtualBranch] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    sas: dict[int, tuple[esp.EspSa, esp.EspSa]] = field(default_factory=dict)
    queue: list[bytes] = field(default_factory=list)
    echoes_answered: int = 0
    deliver: Callable[[bytes], None] | None = None  # where packets to branches go (default: straight in)

    def __post_init__(self) -> None:
        creds = None
        if not self.psk:
            cert = self.authority.issue("headend", key("headend"), 2)
            der = cert.public_bytes(serialization.Encoding.DER)
            creds = RsaCredentials(der, key("headend"), (self.authority.cert.subject.public_bytes(),))
        self.engine = IkeEngine(
            IkeConfig(
                policies=(policy(self.psk),),
                psk_lookup=lambda _peer: PSK if self.psk else None,
                rsa=creds,
                validator=self.validate,
                phase2_lookup=lambda _peer, _loc, _rem: P2,
            ),
            EngineOptions(retransmit_interval=1.0),
        )

    def validate(self, check: CertificateCheck) -> CertVerdict:
        cert = x509.load_der_x509_certificate(check.certificate)
        try:
            cert.verify_directly_issued_by(self.authority.cert)
        except Exception:
            return CertVerdict.bad("certificate invalid")
        if cert.serial_number in self.revoked:
            return CertVerdict.bad("certificate invalid")
        return CertVerdict.good()

    def attach(self, branch: VirtualBranch) -> VirtualBranch:
        self.branches[branch.address] = branch
        branch.send = self.queue.append
        return branch

    def pump(self, limit: int = 500) -> None:
        """Deliver packets both ways until the wire is quiet."""
        while self.queue and limit:
            limit -= 1
            self._at_headend(self.queue.pop(0))

    def _at_headend(self, packet: bytes) -> None:
        ip = pk.IPv4.parse(packet)
        assert ip is not None and ip.dst == HEADEND, packet
        if ip.proto == pk.PROTO_ESP:
            self._esp(ip.src, ip.payload)
            return
        udp = pk.Udp.parse(ip.payload)
        assert udp is not None
        out = self.engine.receive(udp.data, Endpoint(ip.dst, udp.dport), Endpoint(ip.src, udp.sport), self.now)
        self.act(out)

    def act(self, events: list[Event]) -> None:
        self.events += events
        for ev in events:
            if isinstance(ev, SendDatagram):
                data = pk.udp(ev.local.addr, ev.remote.addr, ev.local.port, ev.remote.port, ev.data)
                self._to_branch(pk.ipv4(ev.local.addr, ev.remote.addr, pk.PROTO_UDP, data))
            elif isinstance(ev, Phase2Up):
                self.sas[ev.inbound.spi] = esp.sa_pair(ev)

    def _esp(self, src: str, body: bytes) -> None:
        inbound, outbound = self.sas[int.from_bytes(body[:4], "big")]
        inner = pk.IPv4.parse(esp.decapsulate_esp(inbound, body))
        assert inner is not None and inner.dst == TARGET
        echo = pk.Icmp.parse(inner.payload)
        assert echo is not None and echo.type == 8
        reply = pk.ipv4(TARGET, inner.src, pk.PROTO_ICMP, pk.icmp(0, 0, echo.ident, echo.seq, echo.data))
        self.echoes_answered += 1
        self._to_branch(esp.encapsulate(outbound, reply))

    def _to_branch(self, packet: bytes) -> None:
        if self.deliver is not None:
            self.deliver(packet)
            return
        dst = str(pk.IPv4.parse(packet).dst)  # type: ignore[union-attr]
        self.branches[dst].receive(packet, self.now)

    def clear(self) -> None:
        """``clear crypto isakmp`` and ``clear crypto sa`` on the headend."""
        self.act(self.engine.clear_isakmp(self.now))
        self.act(self.engine.clear_ipsec(self.now))
        self.sas.clear()


@dataclass
class HeadendPort:
    """A fleet's port whose far side is a :class:`Headend` on the running loop (a fleet in memory)."""

    headend: Headend
    drop: bool = False  # lose every packet the branches send
    where: ClassVar[str] = "the project's engine, in memory (tests)"

    async def open(self, claims: Sequence[str], on_packet: Callable[[bytes], None]) -> None:
        self.headend.deliver = on_packet

    def send(self, packet: bytes) -> None:
        if not self.drop:
            self.headend.queue.append(packet)
            asyncio.get_running_loop().call_soon(self.headend.pump)

    def close(self) -> None:
        self.headend.deliver = None


def credentials(headend: Headend, branch: VirtualBranch, serial: int) -> None:
    """A key pair and a certificate from the headend's CA (or the PSK)."""
    if headend.psk:
        branch.credentials(None, None)
    else:
        k = key(f"branch{branch.index}")
        branch.credentials(k, headend.authority.issue(branch.name, k, serial))


def enrolled_branch(headend: Headend, index: int = 0, serial: int = 100) -> VirtualBranch:
    """A branch with a key pair and a certificate from the headend's CA (or the PSK)."""
    branch = VirtualBranch(
        index, f"198.18.0.{index + 1}", f"198.19.0.{index + 1}", profile(headend.psk), lambda _p: None
    )
    headend.attach(branch)
    credentials(headend, branch, serial)
    return branch
