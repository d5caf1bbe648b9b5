"""Interop with strongSwan's IKEv1 (a third-party implementation of the same RFCs).

Two network namespaces joined by a veth pair: the engine (``ike_udp_peer.py``) in one, charon with
the kernel-libipsec backend in the other (the kernel here has no ESP, so charon does ESP in
userspace and forces NAT-T: IKE moves to 4500 and ESP travels in UDP). Skipped, with the reason,
where charon is not installed or namespaces cannot be created (not root).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

import swankit
from swankit import SWANCTL, ns_ping, run, skip_reason, stop_charon, swanctl_env, write_strongswan_conf

HERE = Path(__file__).parent
ENGINE_IP, SWAN_IP = "10.199.0.1", "10.199.0.2"
ENGINE_LAN, SWAN_LAN = "10.1.1.0/24", "10.2.2.0/24"
SWAN_HOST = "10.2.2.1"


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


CONNECTION = """connections {{
  hq {{
    version = 1
    local_addrs = {swan}
    remote_addrs = {engine}
    proposals = {proposals}
    dpd_delay = 5s
    local {{ auth = {auth}
            id = {swan}
            {local_extra} }}
    remote {{ auth = {auth}
             id = {engine} }}
    children {{ net {{ local_ts = {swan_lan}
                     remote_ts = {engine_lan}
                     esp_proposals = {esp} }} }}
  }}
}}
secrets {{ {secrets} }}
"""


@dataclass
class Netns:
    engine_ns: str
    swan_ns: str
    dir: Path
    charon: subprocess.Popen[bytes] | None = None

    def swan(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert SWANCTL is not None
        return run("ip", "netns", "exec", self.swan_ns, "env", *swanctl_env(self.dir), SWANCTL, *args, check=check)


@pytest.fixture
def netns(tmp_path: Path) -> Iterator[Netns]:
    tag = f"{os.getpid() % 100000}"
    ns = Netns(f"pkike-e{tag}", f"pkike-s{tag}", tmp_path)
    veth_e, veth_s = f"pke{tag}", f"pks{tag}"
    try:
        run("ip", "netns", "add", ns.engine_ns)
        run("ip", "netns", "add", ns.swan_ns)
    except subprocess.CalledProcessError as exc:
        run("ip", "netns", "del", ns.engine_ns, check=False)
        pytest.skip(f"cannot create network namespaces: {exc.stderr.strip()}")
    try:
        run("ip", "link", "add", veth_e, "type", "veth", "peer", "name", veth_s)
        run("ip", "link", "set", veth_e, "netns", ns.engine_ns)
        run("ip", "link", "set", veth_s, "netns", ns.swan_ns)
        for name, veth, addr in ((ns.engine_ns, veth_e, ENGINE_IP), (ns.swan_ns, veth_s, SWAN_IP)):
            run("ip", "netns", "exec", name, "ip", "addr", "add", f"{addr}/24", "dev", veth)
            run("ip", "netns", "exec", name, "ip", "link", "set", veth, "up")
            run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        run("ip", "netns", "exec", ns.swan_ns, "ip", "addr", "add", f"{SWAN_HOST}/32", "dev", "lo")
        write_strongswan_conf(tmp_path)
        yield ns
    finally:
        stop_charon(ns.charon)
        run("ip", "netns", "del", ns.engine_ns, check=False)
        run("ip", "netns", "del", ns.swan_ns, check=False)


def start_charon(ns: Netns, connection: str) -> None:
    (ns.dir / "swanctl" / "swanctl.conf").write_text(connection)
    try:
        ns.charon = swankit.start_charon(ns.swan_ns, ns.dir, lambda: ns.swan("--load-all", check=False).returncode == 0)
    except RuntimeError as exc:
        pytest.fail(str(exc))


class EnginePeer:
    def __init__(self, ns: Netns, settings: dict[str, Any]):
        path = ns.dir / "engine.json"
        path.write_text(json.dumps(settings))
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.engine_ns, sys.executable, str(HERE / "ike_udp_peer.py"), str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.wait_for(lambda line: line["what"] == "ready", 20)

    def wait_for(self, pred: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        for line in self.lines:
            if pred(line):
                return line
        while time.monotonic() < deadline:
            raw = self.proc.stdout.readline()
            if not raw:
                break
            line = cast("dict[str, Any]", json.loads(raw))  # the peer prints one JSON object a line
            self.lines.append(line)
            if pred(line):
                return line
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        pytest.fail(f"engine peer: condition not met; output {self.lines}; stderr {err}")

    def events(self, name: str) -> list[dict[str, Any]]:
        return [x for x in self.lines if x["what"] == "event" and x["type"] == name]

    def finish(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        done = self.wait_for(lambda line: line["what"] == "done", 30)
        self.proc.wait(timeout=10)
        return done


def swan_ping(ns: Netns, count: int) -> int:
    return ns_ping(ns.swan_ns, SWAN_HOST, f"{ENGINE_LAN.split('/')[0][:-1]}10", count)


def make_pki(d: Path) -> dict[str, Path]:
    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pkilab"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        )

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("interop CA"))
        .issuer_name(name("interop CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    out = {"ca": d / "ca.pem"}
    out["ca"].write_bytes(ca.public_bytes(pem))
    for cn, ip, serial in (("engine", ENGINE_IP, 2), ("swan", SWAN_IP, 3)):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address(ip))]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        out[f"{cn}_cert"], out[f"{cn}_key"] = d / f"{cn}.pem", d / f"{cn}.key"
        out[f"{cn}_cert"].write_bytes(cert.public_bytes(pem))
        out[f"{cn}_key"].write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        )
    revoked = x509.RevokedCertificateBuilder().serial_number(2).revocation_date(now - dt.timedelta(hours=1)).build()
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=1))
        .add_revoked_certificate(revoked)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out["crl_revoking_engine"] = d / "ca.crl"
    out["crl_revoking_engine"].write_bytes(crl.public_bytes(pem))
    return out


def psk_strong_setup(ns: Netns) -> dict[str, Any]:
    """AES-256, SHA-256 PRF, group 5, and PFS group 5 in quick mode with HMAC-MD5."""
    start_charon(
        ns,
        CONNECTION.format(
            swan=SWAN_IP,
            engine=ENGINE_IP,
            proposals="aes256-sha256-modp1536",
            auth="psk",
            local_extra="",
            swan_lan=SWAN_LAN,
            engine_lan=ENGINE_LAN,
            esp="aes256-md5-modp1536",
            secrets=f"ike-hq {{ id = {ENGINE_IP}\n secret = another-key }}",
        ),
    )
    return {
        "auth": "psk",
        "psk": "another-key",
        "encr": "aes",
        "key_bits": 256,
        "hash": "sha256",
        "group": 5,
        "pfs": 5,
        "transform": ["esp-aes", "256", "esp-md5-hmac"],
    }


def psk_setup(ns: Netns) -> dict[str, Any]:
    start_charon(
        ns,
        CONNECTION.format(
            swan=SWAN_IP,
            engine=ENGINE_IP,
            proposals="3des-sha1-modp1024",
            auth="psk",
            local_extra="",
            swan_lan=SWAN_LAN,
            engine_lan=ENGINE_LAN,
            esp="3des-sha1",
            secrets=f"ike-hq {{ id = {ENGINE_IP}\n secret = cisco123 }}",
        ),
    )
    return {"auth": "psk", "psk": "cisco123", "encr": "3des", "group": 2, "transform": ["esp-3des", "esp-sha-hmac"]}


def rsig_setup(ns: Netns, revoked: list[int] | None = None, swan_crl: bool = False) -> dict[str, Any]:
    pki = make_pki(ns.dir)
    if swan_crl:  # strongSwan holds a CRL revoking the engine's certificate (serial 2)
        (ns.dir / "swanctl" / "x509crl").mkdir()
        shutil.copy(pki["crl_revoking_engine"], ns.dir / "swanctl" / "x509crl")
    shutil.copy(pki["ca"], ns.dir / "swanctl" / "x509ca")
    shutil.copy(pki["swan_cert"], ns.dir / "swanctl" / "x509")
    shutil.copy(pki["swan_key"], ns.dir / "swanctl" / "private")
    start_charon(
        ns,
        CONNECTION.format(
            swan=SWAN_IP,
            engine=ENGINE_IP,
            proposals="aes128-sha1-modp2048",
            auth="pubkey",
            local_extra="certs = swan.pem",
            swan_lan=SWAN_LAN,
            engine_lan=ENGINE_LAN,
            esp="aes128-sha1",
            secrets="rsa-swan { file = swan.key }",
        ),
    )
    return {
        "auth": "rsig",
        "encr": "aes",
        "group": 14,
        "transform": ["esp-aes", "esp-sha-hmac"],
        "ca": str(pki["ca"]),
        "cert": str(pki["engine_cert"]),
        "key": str(pki["engine_key"]),
        "revoked": revoked or [],
    }


def base(role: str, duration: float) -> dict[str, Any]:
    return {
        "role": role,
        "local": ENGINE_IP,
        "peer": SWAN_IP,
        "local_ts": ENGINE_LAN,
        "remote_ts": SWAN_LAN,
        "duration": duration,
        "dpd": 5,
    }


@pytest.mark.parametrize("setup", [psk_setup, rsig_setup, psk_strong_setup], ids=["psk", "rsig", "aes256-pfs"])
def test_strongswan_initiates_and_pings_through(netns: Netns, setup: Any) -> None:
    settings = {**base("respond", 60), **setup(netns)}
    peer = EnginePeer(netns, settings)
    result = netns.swan("--initiate", "--child", "net", "--timeout", "15", check=False)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    up = peer.wait_for(lambda x: x.get("type") == "Phase1Up", 5)
    assert up["auth"] == settings["auth"] and up["nat_t"] and up["dpd"]
    child = peer.wait_for(lambda x: x.get("type") == "Phase2Up", 5)
    assert child["pfs_group"] == settings.get("pfs") and child["udp_encapsulation"]
    assert swan_ping(netns, 3) == 3
    done = peer.finish()
    assert len([x for x in peer.lines if x["what"] == "esp_in"]) == 3
    (sa,) = done["isakmp"]
    assert sa["state"] == "QM_IDLE" and sa["capabilities"] == "DN" and done["ipsec"] == 1
    assert not peer.events("MalformedMessage") and not peer.events("PeerDead")
    assert not peer.events("InternalError")
    listing = netns.swan("--list-sas").stdout
    assert "ESTABLISHED" in listing and "TUNNEL-in-UDP" in listing


@pytest.mark.parametrize("setup", [psk_setup, rsig_setup], ids=["psk", "rsig"])
def test_engine_initiates_and_strongswan_answers_pings(netns: Netns, setup: Any) -> None:
    settings = {**base("initiate", 60), **setup(netns), "ping": {"src": "10.1.1.10", "dst": SWAN_HOST, "count": 3}}
    peer = EnginePeer(netns, settings)
    peer.wait_for(lambda x: x.get("type") == "Phase2Up", 10)
    peer.wait_for(lambda x: len([y for y in peer.lines if y["what"] == "esp_in"]) >= 3, 10)
    replies = [y for y in peer.lines if y["what"] == "esp_in"]
    assert [r["icmp_type"] for r in replies] == [0, 0, 0]
    peer.finish()
    assert [u["auth"] for u in peer.events("Phase1Up")] == [settings["auth"]]


def test_revoked_strongswan_certificate_is_refused(netns: Netns) -> None:
    settings = {**base("respond", 60), **rsig_setup(netns, revoked=[3])}
    peer = EnginePeer(netns, settings)
    result = netns.swan("--initiate", "--child", "net", "--timeout", "3", check=False)
    assert result.returncode != 0
    fail = peer.wait_for(lambda x: x.get("type") == "AuthenticationFailed", 5)
    assert (fail["kind"], fail["reason"], fail["peer"]) == ("certificate", "certificate invalid", SWAN_IP)
    done = peer.finish()
    assert [s["state"] for s in done["isakmp"]] in ([], ["MM_KEY_EXCH"])
    assert done["ipsec"] == 0
    print(result.stdout)
    assert "INVALID_CERT" in result.stdout


def test_strongswan_deletes_reach_the_engine(netns: Netns) -> None:
    """strongSwan's protected informationals (DELETE for ESP and ISAKMP) decrypt and verify here."""
    peer = EnginePeer(netns, {**base("respond", 60), **psk_setup(netns)})
    assert netns.swan("--initiate", "--child", "net", "--timeout", "15", check=False).returncode == 0
    child = peer.wait_for(lambda x: x.get("type") == "Phase2Up", 5)
    netns.swan("--terminate", "--ike", "hq", "--timeout", "10", check=False)
    gone = peer.wait_for(lambda x: x.get("type") == "IsakmpSaDeleted", 10)
    assert gone["reason"] == "deleted by peer"
    esp = peer.wait_for(lambda x: x.get("type") == "IpsecSaDeleted", 5)
    assert esp["reason"] == "deleted by peer"
    assert (esp["inbound_spi"], esp["outbound_spi"]) == (child["inbound_spi"], child["outbound_spi"])
    done = peer.finish()
    assert done["isakmp"] == [] and done["ipsec"] == 0
    assert not peer.events("MalformedMessage") and not peer.events("ModeFailure")


def test_strongswan_refuses_a_revoked_engine_like_ios_refuses_a_branch(netns: Netns) -> None:
    """The engine as a revoked branch: strongSwan's refusal arrives before phase 1 completes."""
    peer = EnginePeer(netns, {**base("initiate", 60), **rsig_setup(netns, swan_crl=True)})
    failed = peer.wait_for(lambda x: x.get("type") == "ModeFailure", 15)
    assert failed["mode"] == "Informational" and failed["peer"] == SWAN_IP
    # strongSwan's protected AUTHENTICATION-FAILED decrypted and verified, then refused as IOS does
    assert [n["notify_type"] for n in peer.events("NotificationReceived")] == [24]
    done = peer.finish()
    assert not peer.events("Phase1Up") and done["ipsec"] == 0
    assert [s["state"] for s in done["isakmp"]] == ["MM_KEY_EXCH"]
    assert peer.events("MalformedMessage") and not peer.events("InternalError")
