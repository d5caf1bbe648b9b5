"""IKE benchmark: main + quick mode handshakes per second between in-process engines.

RSA-2048 certificates and DH group 14 (the issue's figure), plus the same with PSK / group 2 for
contrast, one headend bringing up tunnels to N branches, and a cProfile of where the time goes.

Run: ``.venv/bin/python bench/ike.py [--rounds N] [--branches N] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import ipaddress
import pstats
import time
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pkilab.protocols.ike import (
    CertificateCheck,
    CertVerdict,
    IkeConfig,
    IkeEngine,
    IsakmpPolicy,
    Phase2Policy,
    Phase2Up,
    RsaCredentials,
    Selector,
    SendDatagram,
    TransformSet,
    TunnelRequest,
)
from pkilab.protocols.ike.constants import AuthMethod, P1Encr, P1Hash

HQ = "66.66.66.1"
HQ_LAN = Selector.parse("10.1.0.0/16")
P2 = Phase2Policy((TransformSet.from_ios("T", ["esp-aes", "esp-sha-hmac"]),), name="vpn")
NOW = dt.datetime.now(dt.UTC)


def _cert(cn: str, key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca_name: x509.Name) -> bytes:
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


class Setup:
    """Keys and certificates, made once."""

    def __init__(self) -> None:
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
        self.keys = {n: rsa.generate_private_key(public_exponent=65537, key_size=2048) for n in ("hq", "br")}
        self.certs = {n: _cert(n, k, self.ca_key, self.ca_name) for n, k in self.keys.items()}

    def validator(self, req: CertificateCheck) -> CertVerdict:
        """What a router does on every handshake: issuer signature and validity period."""
        cert = x509.load_der_x509_certificate(req.certificate)
        try:
            cert.verify_directly_issued_by(_ca_cert(self))
        except Exception:  # any failure is a refusal
            return CertVerdict.bad()
        ok = cert.not_valid_before_utc <= dt.datetime.now(dt.UTC) <= cert.not_valid_after_utc
        return CertVerdict.good() if ok else CertVerdict.bad()

    def config(self, who: str, auth: AuthMethod, group: int, local: Selector, remote: Selector) -> IkeConfig:
        """An engine configuration for one side."""
        pol = (IsakmpPolicy(10, P1Encr.AES, 128, P1Hash.SHA, auth, group),)
        creds = RsaCredentials(self.certs[who], self.keys[who], (self.ca_name.public_bytes(),))
        return IkeConfig(
            policies=pol,
            rsa=creds,
            validator=self.validator,
            psk_lookup=lambda _p: b"bench-key",
            phase2_lookup=lambda _peer, loc, rem: P2,
        )


_CA_CACHE: dict[int, x509.Certificate] = {}


def _ca_cert(setup: Setup) -> x509.Certificate:
    if id(setup) not in _CA_CACHE:
        der = _cert("bench CA", setup.ca_key, setup.ca_key, setup.ca_name)
        _CA_CACHE[id(setup)] = x509.load_der_x509_certificate(der)
    return _CA_CACHE[id(setup)]


def pump(engines: dict[str, IkeEngine], queue: list[SendDatagram], now: float) -> int:
    """Deliver datagrams until quiet; return how many Phase2Up events were produced."""
    ups = 0
    while queue:
        dg = queue.pop(0)
        for ev in engines[dg.remote.addr].receive(dg.data, dg.remote, dg.local, now):
            if isinstance(ev, SendDatagram):
                queue.append(ev)
            elif isinstance(ev, Phase2Up):
                ups += 1
    return ups


def handshakes(setup: Setup, auth: AuthMethod, group: int, rounds: int) -> float:
    """Handshakes per second between a fresh pair of engines each round."""
    br_addr = "66.66.66.2"
    br_lan = Selector.parse("10.2.2.0/24")
    start = time.perf_counter()
    for _ in range(rounds):
        engines = {
            HQ: IkeEngine(setup.config("hq", auth, group, HQ_LAN, br_lan)),
            br_addr: IkeEngine(setup.config("br", auth, group, br_lan, HQ_LAN)),
        }
        out = engines[br_addr].initiate(TunnelRequest(HQ, br_addr, br_lan, HQ_LAN, P2), 0.0)
        if pump(engines, [e for e in out if isinstance(e, SendDatagram)], 0.0) != 2:
            raise SystemExit("handshake did not complete")
    return rounds / (time.perf_counter() - start)


def hub(setup: Setup, branches: int) -> float:
    """Seconds for one headend to bring up tunnels to ``branches`` branches (sequentially in-process)."""
    hq = IkeEngine(setup.config("hq", AuthMethod.RSA_SIG, 14, HQ_LAN, HQ_LAN))
    engines = {HQ: hq}
    start = time.perf_counter()
    total = 0
    for i in range(branches):
        addr = str(ipaddress.IPv4Address("66.67.0.1") + i)
        lan = Selector(ipaddress.IPv4Network(f"10.{100 + i // 250}.{i % 250}.0/24"))
        engines[addr] = IkeEngine(setup.config("br", AuthMethod.RSA_SIG, 14, lan, HQ_LAN))
        out = engines[addr].initiate(TunnelRequest(HQ, addr, lan, HQ_LAN, P2), 0.0)
        total += pump(engines, [e for e in out if isinstance(e, SendDatagram)], 0.0)
    if total != 2 * branches or len(hq.ipsec_sas(0.0)) != branches:
        raise SystemExit("not every branch came up")
    return time.perf_counter() - start


def profile(fn: Callable[[], object], top: int) -> str:
    """Profile ``fn`` with cProfile and return the top functions by total time."""
    prof = cProfile.Profile()
    prof.runcall(fn)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main() -> None:
    """Print the figures used in docs/ike.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--branches", type=int, default=100)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    setup = Setup()
    for label, auth, group in (
        ("rsig + group 14 (RSA-2048)", AuthMethod.RSA_SIG, 14),
        ("rsig + group 2", AuthMethod.RSA_SIG, 2),
        ("psk + group 14", AuthMethod.PSK, 14),
        ("psk + group 2", AuthMethod.PSK, 2),
    ):
        rate = handshakes(setup, auth, group, args.rounds)
        print(f"{label:28s} {rate:7.1f} main+quick mode handshakes/s ({1000 / rate:.1f} ms each)")
    secs = hub(setup, args.branches)
    print(
        f"one headend, {args.branches} branches (rsig, group 14): {secs:.2f} s "
        f"({1000 * secs / args.branches:.1f} ms per branch, both ends' work in one process)"
    )
    if args.profile:
        print(profile(lambda: handshakes(setup, AuthMethod.RSA_SIG, 14, args.rounds), 15))


if __name__ == "__main__":
    main()
