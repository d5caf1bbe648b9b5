"""Benchmark: IKE main + quick mode between simulated routers, and one headend with many branches.

Routers run in-process on an offline lab (the virtual network delivers synchronously, so one
echo from a branch LAN runs the whole exchange before ``send`` returns). Everything goes through
the router stack: crypto map lookup, the IKE engine, UDP/IPv4 packets on the virtual link, ESP.

    .venv/bin/python bench/sim_ipsec.py [--handshakes N] [--branches N] [--profile]

Figures: RSA-2048 certificates with DH group 14 (AES-128/SHA), and PSK with group 2 (3DES/SHA).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import ipaddress
import pstats
import statistics
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pkilab.sim import packets as pk
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.trustpoint import Trustpoints
from pkilab.sim.interp import CliSession
from pkilab.sim.lab import Lab, initial_config
from pkilab.sim.network import Trace
from pkilab.sim.router import Router
from pkilab.testbed import Credentials, DeviceSpec, InterfaceSpec, SimSpec, Testbed, ssh_connection

IMAGE = "c7200-adventerprisek9-mz.152-4.M11.bin"


def policy(rsig: bool) -> list[str]:
    if rsig:
        return ["crypto isakmp policy 10", " encr aes 128", " hash sha", " group 14"]
    return ["crypto isakmp policy 20", " encr 3des", " authentication pre-share", " group 2"]


def spec(name: str, outside: str, config: list[str]) -> DeviceSpec:
    return DeviceSpec(
        name=name,
        role="branch",
        os="ios",
        platform="c7200",
        connection=ssh_connection("127.0.0.1", 2999, Credentials("admin", "bench-pw", "bench-en")),
        interfaces=(InterfaceSpec("FastEthernet0/0", ipaddress.IPv4Interface(outside), "outside"),),
        sim=SimSpec(http_port=2998, image=IMAGE, config=tuple(config)),
    )


def headend_config(rsig: bool, branches: int) -> list[str]:
    keys = (
        [] if rsig else [f"crypto isakmp key benchkey address 66.66.{i // 250}.{i % 250 + 2}" for i in range(branches)]
    )
    return [
        *policy(rsig),
        *keys,
        "crypto ipsec transform-set ts esp-aes esp-sha-hmac",
        "crypto dynamic-map dmap 10",
        " set transform-set ts",
        " reverse-route",
        "crypto map vpn 10 ipsec-isakmp dynamic dmap",
        "interface FastEthernet0/0",
        " crypto map vpn",
        "interface Loopback0",
        " ip address 10.59.138.1 255.255.255.0",
    ]


def branch_config(rsig: bool, index: int) -> list[str]:
    lan = f"10.{100 + index // 250}.{index % 250}.0"
    keys = [] if rsig else ["crypto isakmp key benchkey address 66.66.0.1"]
    return [
        *policy(rsig),
        *keys,
        "crypto ipsec transform-set ts esp-aes esp-sha-hmac",
        "ip access-list extended VPN",
        f" permit ip {lan} 0.0.0.255 10.59.138.0 0.0.0.255",
        "crypto map vpn 10 ipsec-isakmp",
        " set peer 66.66.0.1",
        " set transform-set ts",
        " match address VPN",
        "interface FastEthernet0/0",
        " crypto map vpn",
        "interface Loopback0",
        f" ip address {lan[:-1]}1 255.255.255.0",
        "ip route 0.0.0.0 0.0.0.0 66.66.0.1",
    ]


class Pki:
    """A CA issuing RSA-2048 certificates to the routers (trustpoint installed directly)."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-ca")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.serial = 1

    def enroll(self, router: Router) -> None:
        """Give the router an RSA-2048 key pair and a certificate of this CA."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keys = router.feature(Keys)
        label = keys.default_label()
        keys.install(label, key, False)
        self.serial += 1
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(x509.ObjectIdentifier("1.2.840.113549.1.9.2"), label)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(self.serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        tp = router.feature(Trustpoints).ensure("bench-ca")
        tp.ca_cert, tp.cert, tp.revocation = self.cert, cert, "none"


def build(rsig: bool, branches: int) -> tuple[Router, list[Router]]:
    specs = [spec("he", "66.66.0.1/16", headend_config(rsig, branches))]
    specs += [spec(f"br{i}", f"66.66.{i // 250}.{i % 250 + 2}/16", branch_config(rsig, i)) for i in range(branches)]
    lab = Lab(Testbed(name="bench", path="bench.yaml", devices=tuple(specs)))  # type: ignore[arg-type]
    routers = []
    for s in specs:
        router = Router(lab, s)
        lab.routers[s.name] = router
        rejected = router.boot(initial_config(s, "bench.example"))
        if rejected:
            raise SystemExit(f"{s.name}: configuration rejected: {rejected}")
        routers.append(router)
    if rsig:
        pki = Pki()
        for router in routers:
            pki.enroll(router)
    return routers[0], routers[1:]


def echo(branch: Router, index: int) -> list[str]:
    """One echo from the branch LAN to HQ; the trace's reasons say where it was dropped."""
    lan = f"10.{100 + index // 250}.{index % 250}.1"
    trace = Trace()
    branch.feature(Ip).send(pk.ipv4(lan, "10.59.138.1", pk.PROTO_ICMP, pk.icmp(8, 0, 7, 1, b"x" * 72)), trace)
    return trace.reasons


def clear(*routers: Router) -> None:
    for r in routers:
        s = CliSession(r, privilege=15)
        s.feed("clear crypto isakmp")
        s.feed("clear crypto sa")


def handshakes(rsig: bool, count: int) -> list[float]:
    headend, (branch,) = build(rsig, 1)
    times = []
    for _ in range(count):
        clear(headend, branch)
        started = time.perf_counter()
        echo(branch, 0)  # starts IKE (dropped); the exchange completes synchronously
        times.append(time.perf_counter() - started)
        if echo(branch, 0):
            raise SystemExit("the tunnel did not come up")
    return times


def many_branches(rsig: bool, count: int) -> tuple[float, int]:
    _, branches = build(rsig, count)
    started = time.perf_counter()
    for i, branch in enumerate(branches):
        echo(branch, i)
    elapsed = time.perf_counter() - started
    up = sum(1 for i, b in enumerate(branches) if not echo(b, i))
    return elapsed, up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handshakes", type=int, default=30)
    parser.add_argument("--branches", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="profile the RSA-2048/group 14 handshakes")
    args = parser.parse_args()
    for rsig, label in ((True, "rsig RSA-2048, AES-128/SHA, group 14"), (False, "psk, 3DES/SHA, group 2")):
        times = handshakes(rsig, args.handshakes)
        med = statistics.median(times)
        print(f"main+quick mode, {label}: median {med * 1000:.1f} ms ({1 / med:.0f} handshakes/s) over {len(times)}")
    for rsig, label in ((False, "psk group 2"), (True, "rsig RSA-2048 group 14")):
        elapsed, up = many_branches(rsig, args.branches)
        print(
            f"headend with {args.branches} branches ({label}): {elapsed:.2f} s, {up}/{args.branches} tunnels pass "
            "traffic"
        )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        handshakes(True, 10)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
