"""Two (or more) IKE engines wired together in-process, with certificates made on the spot."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pkilab.protocols.ike import (
    CertificateCheck,
    CertVerdict,
    Endpoint,
    Event,
    IkeConfig,
    IkeEngine,
    IsakmpPolicy,
    Phase2Policy,
    RsaCredentials,
    Selector,
    SendDatagram,
    TransformSet,
    TunnelRequest,
)
from pkilab.protocols.ike.config import Phase2Lookup
from pkilab.protocols.ike.constants import AuthMethod, P1Encr, P1Hash

E = TypeVar("E", bound=Event)

HQ = "66.66.66.1"
BRANCH = "66.66.66.2"
HQ_LAN = Selector.parse("10.1.1.0/24")
BRANCH_LAN = Selector.parse("10.2.2.0/24")
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@cache
def rsa_key(label: str, bits: int = 1024) -> rsa.RSAPrivateKey:
    """Small keys, generated once per label per test session, keep the tests fast."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass(frozen=True)
class Pki:
    """A CA and two router certificates, as DER."""

    ca_cert: x509.Certificate
    ca_key: rsa.RSAPrivateKey

    def issue(
        self,
        cn: str,
        key: rsa.RSAPrivateKey,
        days: int = 365,
        start_offset: int = -1,
        serial: int | None = None,
        issuer_key: rsa.RSAPrivateKey | None = None,
        ips: tuple[str, ...] = (),
    ) -> bytes:
        start = EPOCH + dt.timedelta(days=start_offset)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
        )
        if ips:
            sans = [x509.IPAddress(ipaddress.IPv4Address(ip)) for ip in ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(issuer_key or self.ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.DER)


@cache
def pki(label: str = "ca") -> Pki:
    key = rsa_key(f"{label}-key")
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label}.example"))
        .issuer_name(_name(f"{label}.example"))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(EPOCH - dt.timedelta(days=10))
        .not_valid_after(EPOCH + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Pki(cert, key)


def clock_validator(
    ca: Pki, revoked: frozenset[int] = frozenset(), now_offset: float = 0.0
) -> Callable[[CertificateCheck], CertVerdict]:
    """A validator like the router's: issuer signature, validity by the lab clock, a CRL serial list.

    The engine's ``now`` is seconds since EPOCH in these tests.
    """

    def check(req: CertificateCheck) -> CertVerdict:
        cert = x509.load_der_x509_certificate(req.certificate)
        try:
            cert.verify_directly_issued_by(ca.ca_cert)
        except (ValueError, TypeError, Exception):
            return CertVerdict.bad("certificate invalid")
        when = EPOCH + dt.timedelta(seconds=req.now + now_offset)
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            return CertVerdict.bad("certificate invalid")
        if cert.serial_number in revoked:
            return CertVerdict.bad("certificate invalid")
        return CertVerdict.good()

    return check


TS_3DES_SHA = TransformSet.from_ios("ESE", ["esp-3des", "esp-sha-hmac"])
P2 = Phase2Policy((TS_3DES_SHA,), name="vpn")


def policy(
    auth: AuthMethod = AuthMethod.RSA_SIG,
    encr: P1Encr = P1Encr.TRIPLE_DES,
    group: int = 2,
    hash_alg: P1Hash = P1Hash.SHA,
    key_bits: int | None = None,
    priority: int = 10,
    lifetime: int = 86400,
) -> IsakmpPolicy:
    return IsakmpPolicy(priority, encr, key_bits, hash_alg, auth, group, lifetime)


def mirror_lookup(local: Selector, remote: Selector, p2: Phase2Policy = P2) -> Phase2Lookup:
    def lookup(_peer: str, loc: Selector, rem: Selector) -> Phase2Policy | None:
        return p2 if (loc, rem) == (local, remote) else None

    return lookup


def rsig_config(name: str, ca: Pki, local: Selector, remote: Selector, **kw: object) -> IkeConfig:
    key = rsa_key(name)
    cert = ca.issue(f"{name}.example", key)
    creds = RsaCredentials(cert, key, (ca.ca_cert.subject.public_bytes(),))
    base: dict[str, Any] = dict(
        policies=(policy(),), rsa=creds, validator=clock_validator(ca), phase2_lookup=mirror_lookup(local, remote)
    )
    base.update(kw)
    return IkeConfig(**base)


def psk_config(keys: dict[str, bytes], local: Selector, remote: Selector, **kw: object) -> IkeConfig:
    base: dict[str, Any] = dict(
        policies=(policy(AuthMethod.PSK),), psk_lookup=keys.get, phase2_lookup=mirror_lookup(local, remote)
    )
    base.update(kw)
    return IkeConfig(**base)


@dataclass
class Lab:
    """Engines by address; datagrams are delivered in order until the network is quiet."""

    engines: dict[str, IkeEngine]
    now: float = 1000.0
    events: dict[str, list[Event]] = field(default_factory=dict)
    wire: list[SendDatagram] = field(default_factory=list)
    drop: Callable[[SendDatagram], bool] = lambda _d: False
    tamper: Callable[[SendDatagram], bytes] | None = None

    @classmethod
    def of(cls, hq_cfg: IkeConfig, branch_cfg: IkeConfig, seed: int = 1, **kw: object) -> Lab:
        rng = random.Random(seed)
        engines = {
            addr: IkeEngine(cfg, rng=rng.randbytes, **kw)  # type: ignore[arg-type]
            for addr, cfg in ((HQ, hq_cfg), (BRANCH, branch_cfg))
        }
        return cls(engines)

    def record(self, addr: str, events: list[Event]) -> list[SendDatagram]:
        self.events.setdefault(addr, []).extend(events)
        return [e for e in events if isinstance(e, SendDatagram)]

    def pump(self, queue: list[SendDatagram], limit: int = 200) -> None:
        while queue and limit:
            limit -= 1
            dg = queue.pop(0)
            self.wire.append(dg)
            if self.drop(dg) or dg.remote.addr not in self.engines:
                continue
            data = self.tamper(dg) if self.tamper else dg.data
            out = self.engines[dg.remote.addr].receive(data, dg.remote, dg.local, self.now)
            queue.extend(self.record(dg.remote.addr, out))

    def initiate(
        self,
        addr: str = BRANCH,
        peer: str = HQ,
        local: Selector = BRANCH_LAN,
        remote: Selector = HQ_LAN,
        p2: Phase2Policy = P2,
    ) -> None:
        req = TunnelRequest(peer, addr, local, remote, p2)
        self.pump(self.record(addr, self.engines[addr].initiate(req, self.now)))

    def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move the lab clock, ticking every engine at each step (a deadline-driven router would too)."""
        end = self.now + seconds
        while self.now < end:
            self.now = min(end, self.now + step)
            queue: list[SendDatagram] = []
            for addr, eng in self.engines.items():
                queue += self.record(addr, eng.tick(self.now))
            self.pump(queue)

    def of_type(self, addr: str, kind: type[E]) -> list[E]:
        return [e for e in self.events.get(addr, []) if isinstance(e, kind)]

    def endpoint(self, addr: str, port: int = 500) -> Endpoint:
        return Endpoint(addr, port)
