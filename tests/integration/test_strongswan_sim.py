"""strongSwan against the simulated CA and headend (and a simulated branch against strongSwan).

The seed's lab runs simulated with the headend's and the branch's outside interfaces bound to
host addresses on a veth pair (``custom.sim.bind``); charon (kernel-libipsec, so ESP travels in
UDP 4500) runs in a network namespace on the other end of the veth. strongSwan enrolls with
``pki --scep`` against the simulated IOS CA (its HTTP server, relayed from the veth address to
127.0.0.1), brings up IKEv1 main mode with RSA signatures and with a pre-shared key to the
simulated headend and pings the simulated hq-host through the tunnel; its certificate is then
refused by the headend's clock and after revocation. The simulated branch brings up a tunnel to
strongSwan as responder. Tests run in file order on one lab and one charon. Skipped, with the
reason, where strongSwan is not installed or namespaces cannot be created.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import socket
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import swankit
from pkilab.capture.ipsec import analyze
from pkilab.device.session import Session
from pkilab.errors import DeviceError, SimError, TestbedError
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse
from pkilab.procedures import clock, pki, scenario, vpn
from pkilab.testbed import load
from pkilab.wait import wait_until
from seedplan import ca_settings, seed_plan, trustpoint
from swankit import PKI, SWANCTL, ns_ping, run, skip_reason, stop_charon, swanctl_env, write_strongswan_conf

ROOT = Path(__file__).resolve().parents[2]
CA_NAME = "ese-ios-ca"
HQ_HOST = "10.59.138.13"
SWAN_LAN_HOST = "10.114.0.1"  # strongSwan as a branch: its LAN (lo in the namespace)
SWAN_RESPONDER_HOST = "10.2.2.1"  # strongSwan as a responder to the simulated branch
PSK = "bigsecret"
PORT_BASE = 7000
SEED_DEVICES = ("ese-ios-ca", "ese-cryagg", "ese-branch", "hq-host")
NAT_T_RFC3947 = "4a131c81070358455c5728f20e95452f"  # vendor ID MD5("RFC 3947")
NAT_D = 20


# The tests run in file order on one lab and one charon: with `--dist loadgroup` one worker takes them all.
pytestmark = pytest.mark.xdist_group("strongswan-sim")


# hq: strongSwan as the seed's branch (initiator); sim: strongSwan as the headend the simulated
# branch calls. Both IKEv1 main mode, 3DES/SHA-1/group 2 as the seed's ISAKMP policies.
SWANCTL_CONF = """connections {{
  hq {{
    version = 1
    local_addrs = {swan}
    remote_addrs = {headend}
    proposals = 3des-sha1-modp1024
    dpd_delay = 10s
    local {{ auth = {auth}
            {local_extra} }}
    remote {{ auth = {auth}
             id = {remote_id} }}
    children {{ hq {{ local_ts = {swan_lan}
                    remote_ts = 10.0.0.0/8
                    esp_proposals = 3des-sha1 }} }}
  }}
  sim {{
    version = 1
    local_addrs = {swan}
    remote_addrs = {branch}
    proposals = 3des-sha1-modp1024
    local {{ auth = psk
            id = {swan} }}
    remote {{ auth = psk
             id = {branch} }}
    children {{ sim {{ local_ts = {responder_lan}
                     remote_ts = 10.113.0.0/24
                     esp_proposals = 3des-sha1 }} }}
  }}
}}
secrets {{
  ike-hq {{ id-1 = {swan}
           id-2 = {headend}
           secret = {psk} }}
  ike-sim {{ id-1 = {swan}
            id-2 = {branch}
            secret = {psk} }}
  {rsa}
}}
"""


@dataclass
class Net:
    """The namespace, the veth pair and the addresses of this worker."""

    ns: str
    dir: Path
    host_ip: str  # the headend's bound address (host end of the veth)
    branch_ip: str  # the simulated branch's bound address (second host address)
    swan_ip: str  # charon in the namespace
    charon: subprocess.Popen[bytes] | None = None
    relays: list[socketserver.BaseServer] = field(default_factory=list)

    def in_ns(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return run("ip", "netns", "exec", self.ns, "env", *swanctl_env(self.dir), *cmd, check=check, timeout=timeout)

    def swan(self, *args: str, check: bool = False, timeout: float = 40) -> subprocess.CompletedProcess[str]:
        assert SWANCTL is not None
        return self.in_ns(SWANCTL, *args, check=check, timeout=timeout)


class _Relay(socketserver.BaseRequestHandler):
    """One TCP connection from the namespace to the CA's HTTP server on 127.0.0.1."""

    target: tuple[str, int] = ("127.0.0.1", 0)

    def handle(self) -> None:
        with socket.create_connection(self.target, timeout=30) as upstream:

            def pump(src: socket.socket, dst: socket.socket) -> None:
                try:
                    while data := src.recv(65536):
                        dst.sendall(data)
                except OSError:
                    pass
                finally:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

            back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
            back.start()
            pump(self.request, upstream)
            back.join(30)


def relay(listen: tuple[str, int], target: tuple[str, int]) -> socketserver.ThreadingTCPServer:
    """Forward TCP ``listen`` → ``target`` in a thread (the CA's HTTP server only listens on loopback)."""
    handler = type("Relay", (_Relay,), {"target": target})
    socketserver.ThreadingTCPServer.allow_reuse_address = True  # the previous run's connections linger
    server = socketserver.ThreadingTCPServer(listen, handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    reason = skip_reason(need_pki=True)
    if reason is not None:
        pytest.skip(reason)
    index = worker_offset() // 100  # 0 outside xdist, 1.. per worker (PKILAB_PORT_OFFSET adds its hundreds)
    tag = f"{os.getpid() % 10000}w{index}"
    base = f"198.18.{100 + index % 150}"  # RFC 2544 benchmarking range: never routed anywhere real
    d = tmp_path_factory.mktemp("swan")
    n = Net(f"pkss{tag}", d, f"{base}.1", f"{base}.3", f"{base}.2")
    veth_h, veth_n = f"pksh{tag}", f"pksn{tag}"
    try:
        run("ip", "netns", "add", n.ns)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create network namespaces: {exc.stderr.strip()}")
    try:
        run("ip", "link", "add", veth_h, "type", "veth", "peer", "name", veth_n)
        run("ip", "link", "set", veth_n, "netns", n.ns)
        for addr in (n.host_ip, n.branch_ip):
            run("ip", "addr", "add", f"{addr}/24", "dev", veth_h)
        run("ip", "link", "set", veth_h, "up")
        run("ip", "netns", "exec", n.ns, "ip", "addr", "add", f"{n.swan_ip}/24", "dev", veth_n)
        run("ip", "netns", "exec", n.ns, "ip", "link", "set", veth_n, "up")
        run("ip", "netns", "exec", n.ns, "ip", "link", "set", "lo", "up")
        for host in (SWAN_LAN_HOST, SWAN_RESPONDER_HOST):
            run("ip", "netns", "exec", n.ns, "ip", "addr", "add", f"{host}/32", "dev", "lo")
        wait_until(
            lambda: "tentative" not in run("ip", "addr", "show", "dev", veth_h).stdout, 10, 0.1, "veth addresses usable"
        )
        write_strongswan_conf(d)
        yield n
    finally:
        for server in n.relays:
            server.shutdown()
            server.server_close()
        stop_charon(n.charon)
        n.charon = None
        run("ip", "link", "del", veth_h, check=False)
        run("ip", "netns", "del", n.ns, check=False)


def write_swanctl(n: Net, rsig: bool) -> None:
    """swanctl.conf for PSK or RSA signatures (the certificate enrolled over SCEP)."""
    conf = SWANCTL_CONF.format(
        swan=n.swan_ip,
        headend=n.host_ip,
        branch=n.branch_ip,
        psk=PSK,
        swan_lan=f"{SWAN_LAN_HOST}/32",
        responder_lan="10.2.2.0/24",
        auth="pubkey" if rsig else "psk",
        local_extra="certs = branch.pem" if rsig else f"id = {n.swan_ip}",
        # The headend signs with `crypto isakmp identity dn`: strongSwan wants the ID in the certificate.
        remote_id="%any" if rsig else n.host_ip,
        rsa="rsa-branch { file = branch.der }" if rsig else "",
    )
    (n.dir / "swanctl" / "swanctl.conf").write_text(conf)


def start_charon(n: Net) -> None:
    """charon in the namespace with its own /run (fixed pid file path) and vici socket."""
    if n.charon is not None:
        assert n.swan("--load-all").returncode == 0
        return
    n.charon = swankit.start_charon(n.ns, n.dir, lambda: n.swan("--load-all").returncode == 0)


@dataclass
class Lab:
    """The running simulated lab, its sessions, the namespace."""

    runner: SimLabRunner
    s: dict[str, Session]
    pcaps: Path
    net: Net
    url: str
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def headend(self) -> Session:
        return self.s["ese-cryagg"]

    @property
    def branch(self) -> Session:
        return self.s["ese-branch"]

    @property
    def ca(self) -> Session:
        return self.s["ese-ios-ca"]


def bound_testbed(n: Net, directory: Path) -> Path:
    """The seed's testbed with the outside link on the veth's subnet and both ends bound to it."""
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    # Only the seed's four devices: others the shared testbed may grow are not part of this story.
    for section in ("devices", "topology"):
        data[section] = {k: v for k, v in data[section].items() if k in SEED_DEVICES}
    text = yaml.safe_dump(data).replace("66.66.66.1/", f"{n.host_ip}/").replace("66.66.66.2/", f"{n.branch_ip}/")
    text = re.sub(r"\b66\.66\.66\.1\b", n.host_ip, text)
    data = yaml.safe_load(text)
    data["devices"]["ese-cryagg"]["custom"]["sim"]["bind"] = {"FastEthernet0/0": n.host_ip}
    data["devices"]["ese-branch"]["custom"]["sim"]["bind"] = {"FastEthernet0/0": n.branch_ip}
    path = directory / "bound.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def lab(net: Net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    d = tmp_path_factory.mktemp("lab")
    testbed = load(bound_testbed(net, d)).shifted(PORT_BASE + worker_offset())
    pcaps = d / "pcap"
    runner = SimLabRunner(testbed, pcaps).start()
    sessions: dict[str, Session] = {}
    try:
        for dev in testbed.devices:
            sessions[dev.name] = Session(dev, timeout=60).connect()
        http_port = testbed.device(CA_NAME).sim.http_port  # type: ignore[union-attr]
        net.relays.append(relay((net.host_ip, http_port), ("127.0.0.1", http_port)))
        yield Lab(runner, sessions, pcaps, net, f"http://{net.host_ip}:{http_port}/cgi-bin/pkiclient.exe")
    finally:
        for session in sessions.values():
            session.close()
        runner.stop()


# ---- helpers --------------------------------------------------------------------------------------
def headend_lines(n: Net) -> list[str]:
    """The seed's headend (dynamic map, DPD, RRI) with NAT-T on and the PSK for strongSwan's address."""
    s = dataclasses.replace(
        vpn.VpnSettings.for_branch(seed_plan(), seed_plan().branch), headend_address=n.host_ip, branch_address=n.swan_ip
    )
    return [*s.headend(), "crypto ipsec nat-transparency udp-encaps"]


def detail(session: Session) -> list[Any]:
    return list(vpn.isakmp_detail(session))


def flows(session: Session, peer: str) -> list[Any]:
    return list(parse("show crypto ipsec sa", session.run("show crypto ipsec sa")).by_peer(peer))


def inval_cert(session: Session) -> list[str]:
    return [m.text for m in vpn.logged(session, "IKMP_INVAL_CERT")]


def clock_near_now(session: Session) -> bool:
    shown = parse("show clock", session.run("show clock")).datetime
    if shown is None:
        return False
    now = dt.datetime.now(dt.UTC)
    return bool(abs((shown if shown.tzinfo else shown.replace(tzinfo=dt.UTC)) - now) < dt.timedelta(minutes=5))


@dataclass(frozen=True)
class IkeSeen:
    """One cleartext ISAKMP message of a capture: its ports, exchange and payload types."""

    src: str
    dst: str
    sport: int
    dport: int
    exchange: int
    payloads: tuple[int, ...]
    vendor_ids: tuple[str, ...]


def ike_in_capture(pcap: Path, start: int = 0) -> tuple[list[IkeSeen], list[tuple[str, str, int]]]:
    """scapy on a segment's pcap from packet ``start``: cleartext ISAKMP messages (on 500, and on 4500
    after the non-ESP marker) with their payload chains, and ESP packets (src, dst, UDP port or 0)."""
    from scapy.layers.inet import IP, UDP
    from scapy.utils import rdpcap

    seen: list[IkeSeen] = []
    esp: list[tuple[str, str, int]] = []
    for pkt in list(rdpcap(str(pcap)))[start:]:
        if IP not in pkt:
            continue
        ip = pkt[IP]
        if int(ip.proto) == 50:
            esp.append((ip.src, ip.dst, 0))
            continue
        udp = pkt.getlayer(UDP)
        if udp is None or not {500, 4500} & {int(udp.sport), int(udp.dport)}:
            continue
        data = bytes(udp.payload)
        if 4500 in (udp.sport, udp.dport):
            if data == b"\xff" or len(data) < 8:
                continue  # NAT keepalive
            if data[:4] != b"\x00" * 4:
                esp.append((ip.src, ip.dst, 4500))
                continue
            data = data[4:]
        if len(data) < 28 or data[19] & 1:  # encrypted: payloads not visible
            continue
        kinds, vids, kind, off = [], [], data[16], 28
        while kind and off + 4 <= len(data):
            length = int.from_bytes(data[off + 2 : off + 4], "big")
            kinds.append(kind)
            if kind == 13:
                vids.append(data[off + 4 : off + length].hex())
            kind, off = data[off], off + max(length, 4)
        seen.append(IkeSeen(ip.src, ip.dst, int(udp.sport), int(udp.dport), data[18], tuple(kinds), tuple(vids)))
    return seen, esp


def pcap_count(pcap: Path) -> int:
    from scapy.utils import rdpcap

    return len(rdpcap(str(pcap)))


def swan_initiate(n: Net, timeout: int = 20) -> subprocess.CompletedProcess[str]:
    return n.swan("--initiate", "--child", "hq", "--timeout", str(timeout), timeout=timeout + 15)


def swan_reset(n: Net, lab: Lab) -> None:
    """Forget strongSwan's and the headend's SAs so that the next attempt starts with main mode."""
    n.swan("--terminate", "--ike", "hq", "--timeout", "5", timeout=20)
    vpn.clear_sas(lab.headend)
    wait_until(lambda: "hq" not in n.swan("--list-sas").stdout, 15, 0.2, "strongSwan's hq SA gone")


def scep_enroll(lab: Lab, cn: str) -> x509.Certificate:
    """``pki --scep`` from the namespace; the request is granted on the CA (manual mode, as the seed)."""
    n = lab.net
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key_path = n.dir / "swanctl" / "private" / "branch.der"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    ca_der = n.dir / "ca.der"
    assert PKI is not None
    got = n.in_ns(PKI, "--scepca", "--url", lab.url, "--caout", str(ca_der), "--force", check=False, timeout=60)
    if "no capable fetcher found" in got.stderr:
        pytest.skip("strongSwan has no HTTP fetcher (install libstrongswan-extra-plugins)")
    assert got.returncode == 0, got.stderr
    env = swanctl_env(n.dir)[0]  # STRONGSWAN_CONF=...
    # strongSwan 5.9.8 misreads some GetCACaps lists: des3 (NOTES.md).
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            n.ns,
            "env",
            env,
            PKI,
            "--scep",
            "--url",
            lab.url,
            "--in",
            str(key_path),
            "--dn",
            f"C=US, O=pkilab, CN={cn}",
            "--san",
            n.swan_ip,
            "--password",
            "pkilab-branch",
            "--cacert-enc",
            str(ca_der),
            "--cacert-sig",
            str(ca_der),
            "--cipher",
            "des3",
            "--digest",
            "sha1",
            "--interval",
            "1",
            "--maxpolltime",
            "60",
            "--outform",
            "pem",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        request = wait_until(
            lambda: [
                r
                for r in pki.server_requests(lab.ca, CA_NAME).requests
                if r.state == "pending" and cn.lower() in r.subject.lower()
            ],
            60,
            0.3,
            "strongSwan's request pending on the CA",
        )[0]
        pki.grant(lab.ca, CA_NAME, request.id)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    cert = x509.load_pem_x509_certificate(out.encode())
    cert.verify_directly_issued_by(x509.load_der_x509_certificate(ca_der.read_bytes()))
    (n.dir / "swanctl" / "x509" / "branch.pem").write_text(out)
    shutil.copy(ca_der, n.dir / "swanctl" / "x509ca" / "ca.der")
    return cert


# ---- tests ------------------------------------------------------------------------------------------
def test_bind_needs_an_address_of_the_host(tmp_path: Path) -> None:
    """No namespace needed: a bind to an address the host does not have stops the lab, naming it."""
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    data["devices"]["ese-cryagg"]["custom"]["sim"]["bind"] = {"FastEthernet0/0": "192.0.2.77"}  # TEST-NET-1
    path = tmp_path / "bind.yaml"
    path.write_text(yaml.safe_dump(data))
    runner = SimLabRunner(load(path).shifted(PORT_BASE + 50 + worker_offset()))
    with pytest.raises(SimError, match=r"ese-cryagg.*custom\.sim\.bind: cannot bind UDP 192\.0\.2\.77:500"):
        runner.start()
    data["devices"]["ese-cryagg"]["custom"]["sim"]["bind"] = {"FastEthernet0/0": "outside"}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TestbedError, match=r"custom\.sim\.bind"):
        load(path)


def test_psk_strongswan_branch_to_simulated_headend(lab: Lab) -> None:
    n = lab.net
    lab.headend.config(headend_lines(n))
    lab.headend.config(["crypto isakmp identity address"])
    write_swanctl(n, rsig=False)
    start_charon(n)
    up = swan_initiate(n)
    assert up.returncode == 0, up.stdout + up.stderr
    assert ns_ping(n.ns, SWAN_LAN_HOST, HQ_HOST, 5) >= 4
    (sa,) = detail(lab.headend)
    assert (sa.remote, sa.auth, sa.encr, sa.dh_group) == (n.swan_ip, "psk", "3des", 2)
    assert "N" in sa.capabilities and "D" in sa.capabilities  # NAT-T in use (libipsec), DPD negotiated
    (flow,) = flows(lab.headend, n.swan_ip)
    assert flow.peer_port == 4500
    assert flow.pkts_decaps >= 4 and flow.pkts_encaps >= 4
    assert f"S        {SWAN_LAN_HOST}/32 [1/0] via {n.swan_ip}" in lab.headend.run("show ip route")  # RRI
    assert "TUNNEL-in-UDP" in n.swan("--list-sas").stdout


def test_strongswan_enrolls_with_scep_and_brings_up_rsig(lab: Lab) -> None:
    n = lab.net
    pki.bring_up_ca(lab.ca, ca_settings())
    lab.headend.config([seed_plan().ca.host_line])
    pki.generate_keys(lab.headend, None, 1024, exportable=False)
    scenario.enroll_with_grant(seed_plan(), lab.headend, lab.ca, trustpoint())
    cert = scep_enroll(lab, "branch-a.ese.cisco.com")
    lab.facts["cert"] = cert
    lab.headend.config([f"no crypto isakmp key {PSK} address {n.swan_ip}", "crypto isakmp identity dn"])
    write_swanctl(n, rsig=True)
    swan_reset(n, lab)
    lab.facts["pcap_start"] = pcap_count(lab.pcaps / "outside.pcap")
    start_charon(n)
    up = swan_initiate(n, 40)  # the headend fetches the CRL first
    assert up.returncode == 0, up.stdout + up.stderr
    assert ns_ping(n.ns, SWAN_LAN_HOST, HQ_HOST, 5) >= 4
    (sa,) = [x for x in detail(lab.headend) if x.status == "ACTIVE"]
    assert (sa.remote, sa.auth) == (n.swan_ip, "rsig") and "N" in sa.capabilities
    (flow,) = flows(lab.headend, n.swan_ip)
    assert flow.pkts_decaps >= 4 and flow.pkts_encaps >= 4
    summary = analyze(lab.pcaps / "outside.pcap")
    assert "rsig" in summary.chosen_auth()
    assert summary.esp_between(n.host_ip, n.swan_ip)
    seen, esp = ike_in_capture(lab.pcaps / "outside.pcap", lab.facts["pcap_start"])
    main = [m for m in seen if m.exchange == 2]  # identity protection (main mode)
    assert any(m.src == n.swan_ip and NAT_T_RFC3947 in m.vendor_ids for m in main)
    assert any(m.src == n.host_ip and NAT_T_RFC3947 in m.vendor_ids for m in main)
    # MM3 and MM4: NAT-D of the peer's address and of our own, both ways
    assert {(m.src, m.payloads.count(NAT_D)) for m in main if NAT_D in m.payloads} == {(n.swan_ip, 2), (n.host_ip, 2)}
    assert {(s, d, p) for s, d, p in esp} == {(n.host_ip, n.swan_ip, 4500), (n.swan_ip, n.host_ip, 4500)}


def test_headend_clock_past_the_certificate_refuses_then_accepts(lab: Lab) -> None:
    n = lab.net
    cert: x509.Certificate = lab.facts["cert"]
    swan_reset(n, lab)
    vpn.clear_log(lab.headend)
    with clock.skewed(lab.headend, cert.not_valid_after_utc.replace(tzinfo=None) + dt.timedelta(days=2)):
        refused = swan_initiate(n, 12)
        assert refused.returncode != 0
        texts = wait_until(
            lambda: [t for t in inval_cert(lab.headend) if n.swan_ip in t], 15, 0.3, "IKMP_INVAL_CERT on the headend"
        )
        # The CRL is stale by the skewed clock too; the fetched one still is, so IOS may name either (the
        # seed's Q3 shows "CA request failed!").
        assert texts[0].endswith(("is bad: certificate invalid", "is bad: CA request failed!")), texts
        assert not [x for x in vpn.isakmp_sas(lab.headend) if x.state == "QM_IDLE"]
    # `skewed` returns once the clock is authoritative, which `clock set` already made it: wait for
    # NTP to have put the time back.
    wait_until(lambda: clock_near_now(lab.headend), 30, 0.3, "headend clock back from NTP")
    swan_reset(n, lab)
    up = swan_initiate(n, 30)
    assert up.returncode == 0, lab.headend.run("show clock") + lab.headend.run("show logging")
    assert ns_ping(n.ns, SWAN_LAN_HOST, HQ_HOST, 3) >= 2


def test_revoked_strongswan_certificate_is_refused(lab: Lab) -> None:
    n = lab.net
    cert: x509.Certificate = lab.facts["cert"]
    assert "% " not in pki.revoke(lab.ca, CA_NAME, cert.serial_number)
    lab.headend.run(f"crypto pki crl request {CA_NAME}")
    swan_reset(n, lab)
    vpn.clear_log(lab.headend)
    refused = swan_initiate(n, 12)
    assert refused.returncode != 0
    texts = wait_until(
        lambda: [t for t in inval_cert(lab.headend) if n.swan_ip in t], 15, 0.3, "IKMP_INVAL_CERT on the headend"
    )
    assert "certificate invalid" in texts[0]
    assert "INVALID_CERT" in refused.stdout or "INVALID_CERTIFICATE" in (n.dir / "charon.log").read_text()
    assert not [x for x in vpn.isakmp_sas(lab.headend) if x.state == "QM_IDLE"]


def test_simulated_branch_to_strongswan_responder(lab: Lab) -> None:
    n = lab.net
    lab.branch.config(
        [
            "crypto isakmp policy 20",
            "encr 3des",
            "authentication pre-share",
            "group 2",
            f"crypto isakmp key {PSK} address {n.swan_ip}",
            "crypto ipsec transform-set to-swan esp-3des esp-sha-hmac",
            "ip access-list extended ToSwan",
            "permit ip 10.113.0.0 0.0.0.255 10.2.2.0 0.0.0.255",
            "crypto map swan 10 ipsec-isakmp",
            f"set peer {n.swan_ip}",
            "set transform-set to-swan",
            "match address ToSwan",
            "interface FastEthernet0/0",
            "crypto map swan",
            f"ip route 10.2.2.0 255.255.255.0 {n.swan_ip}",
        ]
    )
    result = vpn.bring_up(lab.branch, SWAN_RESPONDER_HOST, "Ethernet0/0")
    assert result.received > 0
    again = vpn.ping(lab.branch, SWAN_RESPONDER_HOST, "Ethernet0/0", 10)
    assert again.received == 10
    (sa,) = detail(lab.branch)
    assert (sa.remote, sa.auth) == (n.swan_ip, "psk") and "N" in sa.capabilities
    (flow,) = flows(lab.branch, n.swan_ip)
    assert flow.pkts_encaps >= 10 and flow.pkts_decaps >= 10 and flow.peer_port == 4500
    listing = n.swan("--list-sas").stdout
    assert re.search(r"sim: #\d+, ESTABLISHED, IKEv1", listing) and "TUNNEL-in-UDP" in listing


def test_no_nat_transparency_turns_nat_t_off(lab: Lab) -> None:
    """``no crypto ipsec nat-transparency udp-encaps`` on the branch: no NAT-T vendor ID, no NAT-D, no 4500."""
    n = lab.net
    pcap = lab.pcaps / "outside.pcap"
    vpn.clear_sas(lab.branch)
    n.swan("--terminate", "--ike", "sim", "--timeout", "5", timeout=20)
    lab.branch.config(["no crypto ipsec nat-transparency udp-encaps"])
    start = pcap_count(pcap)
    lost = vpn.ping(lab.branch, SWAN_RESPONDER_HOST, "Ethernet0/0", 5)
    seen = wait_until(
        lambda: [m for m in ike_in_capture(pcap, start)[0] if m.exchange == 2 and m.src == n.branch_ip],
        15,
        0.3,
        "the branch's main mode in the capture",
    )
    assert all(NAT_T_RFC3947 not in m.vendor_ids and NAT_D not in m.payloads for m in seen)
    assert not [m for m in ike_in_capture(pcap, start)[0] if 4500 in (m.sport, m.dport)]
    assert all("N" not in sa.capabilities for sa in detail(lab.branch))
    # Quick mode still completes, in plain tunnel mode: ESP is IP protocol 50, which neither the host
    # bridge nor strongSwan's kernel-libipsec carries, so nothing comes back.
    wait_until(
        lambda: [f for f in flows(lab.branch, n.swan_ip) if f.peer_port == 500],
        15,
        0.3,
        "an IPsec SA without UDP encapsulation",
    )
    assert (n.branch_ip, n.swan_ip, 0) in ike_in_capture(pcap, start)[1]
    assert lost.received == 0
    lab.branch.config(["crypto ipsec nat-transparency udp-encaps"])


def test_bound_headend_answers_again_after_a_reload(lab: Lab) -> None:
    """The bridge outlives a reload of its router: strongSwan's next PSK attempt reaches the rebooted headend."""
    n = lab.net
    lab.headend.config([f"crypto isakmp key {PSK} address {n.swan_ip}", "crypto isakmp identity address"])
    lab.headend.run("write memory")
    n.swan("--terminate", "--ike", "hq", "--timeout", "5", timeout=20)
    write_swanctl(n, rsig=False)
    start_charon(n)
    lab.headend.reload(save=False)
    wait_until(lambda: _reconnected(lab.headend), 30, 0.3, "headend back after the reload")
    up = swan_initiate(n)
    assert up.returncode == 0, up.stdout + up.stderr
    assert ns_ping(n.ns, SWAN_LAN_HOST, HQ_HOST, 3) >= 2
    (sa,) = [x for x in detail(lab.headend) if x.status == "ACTIVE"]
    assert (sa.remote, sa.auth) == (n.swan_ip, "psk") and "N" in sa.capabilities


def _reconnected(session: Session) -> bool:
    try:
        session.connect()
    except DeviceError:  # the router is still booting: connection refused
        return False
    return True
