"""Two simulated routers on one link bring up the seed's tunnel: PSK and RSA signatures, ESP with the
negotiated keys, refusals logged as IOS logs them, clears, and what scapy sees in the capture.

The offline lab delivers packets synchronously, so a packet that starts IKE is dropped and the
whole exchange has run by the time ``send`` returns; no event loop, no sleeping.
"""

import dataclasses
import datetime as dt
import ipaddress
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from pkilab.capture.ipsec import analyze
from pkilab.parsers import parse
from pkilab.parsers.isakmp import IsakmpSaDetail, IsakmpSaDetailTable, IsakmpSaTable
from pkilab.parsers.syslog import Logging
from pkilab.sim import packets as pk
from pkilab.sim.features.crypto_ike import Crypto
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.trustpoint import Trustpoints
from pkilab.sim.network import Trace
from pkilab.testbed import DeviceSpec
from unit.sim.simkit import Cli, OfflineLab, make_spec
from unit.sim.test_crypto_config import BRANCH, HEADEND

HQ_LOOPBACK = ["interface Loopback0", " ip address 10.59.138.1 255.255.255.0"]
BRANCH_LOOPBACK = ["interface Loopback0", " ip address 10.113.0.1 255.255.255.0", "ip route 0.0.0.0 0.0.0.0 66.66.66.1"]


class CaptureLab(OfflineLab):
    """The offline lab with its links written to pcap files."""

    def __init__(self, pcap_dir: Path, *specs: DeviceSpec) -> None:
        super().__init__(*specs, pcap_dir=pcap_dir)


def _specs() -> tuple[DeviceSpec, DeviceSpec]:
    return (
        make_spec("he", "66.66.66.1/24", "outside", HEADEND.splitlines() + HQ_LOOPBACK),
        make_spec("br", "66.66.66.2/24", "outside", BRANCH.splitlines() + BRANCH_LOOPBACK),
    )


@pytest.fixture
def pair() -> OfflineLab:
    return OfflineLab(*_specs())


def ping(lab: OfflineLab, seq: int, src: str = "10.113.0.1", dst: str = "10.59.138.1") -> list[str]:
    """One echo from the branch LAN; the trace's reasons say where it was dropped (empty: delivered)."""
    trace = Trace()
    lab.routers["br"].feature(Ip).send(pk.ipv4(src, dst, pk.PROTO_ICMP, pk.icmp(8, 0, 9, seq, b"p" * 72)), trace)
    return trace.reasons


def out(cli: Cli, command: str) -> str:
    return cli(command).rsplit("\n", 1)[0]


def detail(cli: Cli) -> tuple[IsakmpSaDetail, ...]:
    table: IsakmpSaDetailTable = parse("show crypto isakmp sa detail", out(cli, "show crypto isakmp sa detail"))
    return table.sas


def states(cli: Cli) -> list[str]:
    table: IsakmpSaTable = parse("show crypto isakmp sa", out(cli, "show crypto isakmp sa"))
    return [s.state for s in table.sas]


def log_lines(cli: Cli) -> list[str]:
    """Tagged messages of the log buffer, as ``%FAC-SEV-MNEMONIC: text``."""
    logging: Logging = parse("show logging", out(cli, "show logging"))
    return [f"%{m.facility}-{m.severity}-{m.mnemonic}: {m.text}" for m in logging.messages if m.facility]


def test_psk_prep_tunnel_carries_traffic_as_esp(pair: OfflineLab) -> None:
    he, br = pair.cli("he"), pair.cli("br")
    assert ping(pair, 1) == ["br: IPsec SA to 66.66.66.1 not up yet"]  # IKE started, first echo lost
    assert ping(pair, 2) == []
    assert ping(pair, 3) == []
    for cli in (he, br):
        sa = detail(cli)
        assert [(s.auth, s.encr, s.hash, s.dh_group, s.capabilities) for s in sa] == [("psk", "3des", "sha", 2, "D")]
    flows = parse("show crypto ipsec sa", out(br, "show crypto ipsec sa")).flows
    assert (flows[0].pkts_encaps, flows[0].pkts_decaps) == (2, 2)  # echoes out, replies back
    hflows = parse("show crypto ipsec sa", out(he, "show crypto ipsec sa")).flows
    for command in (
        "show crypto ipsec sa peer 66.66.66.2 detail",
        "show crypto ipsec sa interface fa0/0",
        "show crypto ipsec sa map dynamic-map",
    ):
        flows_seen = parse(command, out(he, command)).flows
        assert [(f.peer, f.local_ident, f.pkts_encaps) for f in flows_seen] == [
            (f.peer, f.local_ident, f.pkts_encaps) for f in hflows
        ]
    assert parse("show crypto ipsec sa peer 66.66.66.9", out(he, "show crypto ipsec sa peer 66.66.66.9")).flows == ()
    assert he("show crypto ipsec sa map other").strip() == "he#"  # nothing but the prompt
    assert hflows[0].remote_ident == "10.113.0.0/255.255.255.0/0/0"
    # reverse-route injection on the headend
    assert "S        10.113.0.0/24 [1/0] via 66.66.66.2" in he("show ip route")
    assert "(3 matches)" in br("show access-lists")
    engine = parse("show crypto engine connections active", out(br, "show crypto engine connections active"))
    assert sorted(c.type for c in engine.connections) == ["IKE", "IPsec", "IPsec"]


def test_traffic_outside_the_acl_stays_clear(pair: OfflineLab) -> None:
    reasons = ping(pair, 1, src="66.66.66.2", dst="10.59.138.1")
    assert reasons == []  # routed in the clear, answered, no SA needed
    assert states(pair.cli("br")) == []


def test_wrong_psk_never_reaches_qm_idle(pair: OfflineLab) -> None:
    he, br = pair.cli("he"), pair.cli("br")
    he("configure terminal")
    he("no crypto isakmp key bigsecret address 66.66.66.2")
    he("crypto isakmp key othersecret address 66.66.66.2")
    he("end")
    assert ping(pair, 1)
    assert "QM_IDLE" not in states(br) and "QM_IDLE" not in states(he)
    assert any(
        "%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 66.66.66.2 failed its sanity check" in t for t in log_lines(he)
    )
    assert ping(pair, 2)  # still dropped


def test_clear_on_headend_then_branch_renegotiates(pair: OfflineLab) -> None:
    he = pair.cli("he")
    ping(pair, 1)
    assert ping(pair, 2) == []
    he("clear crypto isakmp")
    he("clear crypto sa")
    assert states(he) == []
    assert parse("show crypto ipsec sa", out(he, "show crypto ipsec sa")).flows == ()
    assert "10.113.0.0/24" not in he("show ip route")  # the injected route left with the SA
    # The branch heard the ISAKMP delete; its IPsec SAs were orphaned and now go nowhere.
    assert ping(pair, 3)
    assert any("RECVD_PKT_INV_SPI" in t for t in log_lines(he))
    crypto = pair.routers["br"].feature(Crypto)
    tunnel = crypto.data.tunnels[0]
    tunnel.last_heard -= 10  # as if the headend had stayed silent that long while the branch sent
    crypto.tick(time.monotonic())
    assert crypto.data.tunnels == []
    ping(pair, 4)
    assert ping(pair, 5) == []
    assert "QM_IDLE" in states(he)


def test_clear_crypto_sa_peer_deletes_both_sides(pair: OfflineLab) -> None:
    he, br = pair.cli("he"), pair.cli("br")
    ping(pair, 1)
    assert ping(pair, 2) == []
    he("clear crypto sa peer 66.66.66.2")
    assert parse("show crypto ipsec sa", out(br, "show crypto ipsec sa")).flows[0].pkts_encaps == 0
    assert states(br) == ["QM_IDLE"]  # phase 1 stays
    assert ping(pair, 3)  # quick mode again
    assert ping(pair, 4) == []


# ---- RSA signatures -------------------------------------------------------------------------------


class MiniCa:
    """A CA made with cryptography, as an administrator would run one outside the lab."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.serial = 1

    def issue(
        self, public_key: CertificatePublicKeyTypes, hostname: str, days: tuple[int, int] = (-1, 30)
    ) -> x509.Certificate:
        self.serial += 1
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.UNSTRUCTURED_NAME, hostname)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(self.serial)
            .not_valid_before(now + dt.timedelta(days=days[0]))
            .not_valid_after(now + dt.timedelta(days=days[1]))
            .sign(self.key, hashes.SHA256())
        )

    def crl(self, revoked: Iterable[int] = ()) -> x509.CertificateRevocationList:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now)
            .next_update(now + dt.timedelta(hours=24))
        )
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        return builder.sign(self.key, hashes.SHA256())


def _pem_lines(cert: x509.Certificate) -> list[str]:
    return cert.public_bytes(serialization.Encoding.PEM).decode().strip().splitlines()


def _enroll_by_paste(
    lab: OfflineLab, name: str, ca: MiniCa, revocation: str = "none", days: tuple[int, int] = (-1, 30)
) -> x509.Certificate:
    """Keys, a terminal trustpoint, the CA certificate and the router certificate pasted at the CLI."""
    cli: Cli = lab.cli(name)
    cli("configure terminal")
    cli("crypto key generate rsa general-keys modulus 1024")
    cli("crypto pki trustpoint test-ca")
    cli("enrollment terminal")
    cli(f"revocation-check {revocation}")
    cli("end")
    cli("crypto pki authenticate test-ca")
    for line in _pem_lines(ca.cert):
        cli(line)
    assert "[yes/no]" in cli("")
    assert "accepted" in cli("yes")
    keys = lab.routers[name].feature(Keys)
    own = keys.get(keys.default_label())
    assert own is not None
    public = own.private_key.public_key()
    cert = ca.issue(public, f"{name}.example.com", days)
    cli("crypto pki import test-ca certificate")
    for line in _pem_lines(cert):
        cli(line)
    assert "successfully imported" in cli("")
    return cert


RsigPair = tuple[CaptureLab, MiniCa, dict[str, x509.Certificate], Path]
"""The enrolled pair, its CA, each router's certificate by name, and the capture directory."""


@pytest.fixture
def rsig_pair(tmp_path: Path) -> RsigPair:
    lab = CaptureLab(tmp_path, *_specs())
    ca = MiniCa()
    certs = {name: _enroll_by_paste(lab, name, ca) for name in ("he", "br")}
    for name in ("he", "br"):  # the seed's next step: no pre-shared key any more
        cli = lab.cli(name)
        cli("configure terminal")
        cli(f"no crypto isakmp key bigsecret address 66.66.66.{'2' if name == 'he' else '1'}")
        cli("end")
    return lab, ca, certs, tmp_path


def test_rsig_tunnel_and_capture(rsig_pair: RsigPair) -> None:
    lab, _, _, pcaps = rsig_pair
    he = lab.cli("he")
    ping(lab, 1)
    assert ping(lab, 2) == []
    assert [(s.auth, s.status) for s in detail(he)] == [("rsig", "ACTIVE")]
    lab.lab.network.close()
    summary = analyze(pcaps / "outside.pcap")
    assert {"main", "quick"} <= summary.exchanges
    assert summary.offered_auth() == [("rsig",)]  # policy 10 (auth 3); 20 needs the key, now removed
    assert summary.chosen_auth() == ["rsig"]  # MM2: the responder chose RSA signatures (auth 3)
    assert len(summary.esp_between("66.66.66.1", "66.66.66.2")) == 2  # echo 2 and its reply
    # The first echo died at the branch; nothing crossed the outside link in the clear.
    assert summary.cleartext_between("10.113.0.0/24", "10.0.0.0/8") == []


def test_psk_capture_shows_auth_1(tmp_path: Path) -> None:
    lab = CaptureLab(tmp_path, *_specs())
    ping(lab, 1)
    ping(lab, 2)
    lab.lab.network.close()
    summary = analyze(tmp_path / "outside.pcap")
    assert summary.offered_auth() == [("psk",)]  # no certificate: only policy 20 (auth 1) is offered
    assert summary.chosen_auth() == ["psk"]


def test_revoked_branch_refused_as_the_seed_shows(rsig_pair: RsigPair) -> None:
    lab, ca, certs, _ = rsig_pair
    he, br = lab.cli("he"), lab.cli("br")
    he("configure terminal")
    he("crypto pki trustpoint test-ca")
    he("revocation-check crl")
    he("end")
    # The headend's cached CRL (what `crypto pki crl request` would have fetched) lists the branch.
    trustpoint = lab.routers["he"].feature(Trustpoints).get("test-ca")
    assert trustpoint is not None
    trustpoint.crl = ca.crl([certs["br"].serial_number])
    he("debug crypto pki transactions")
    assert ping(lab, 1)
    assert ping(lab, 2)
    assert "QM_IDLE" not in states(he) and "MM_KEY_EXCH" in states(he)
    assert "QM_IDLE" not in states(br)
    he_log, br_log = log_lines(he), log_lines(br)
    assert "%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from 66.66.66.2 is bad: certificate invalid" in he_log
    assert any(
        t.startswith("%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Informational mode failed with peer at 66.66.66.1")
        for t in br_log
    )
    assert any("CRYPTO_PKI: Certificate revoked" in t for t in he("show logging").splitlines())


def test_crl_unreachable_means_ca_request_failed(rsig_pair: RsigPair) -> None:
    lab, _, _, _ = rsig_pair
    he = lab.cli("he")
    he("configure terminal")
    he("crypto pki trustpoint test-ca")
    he("revocation-check crl")
    he("end")
    assert ping(lab, 1)
    assert "%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from 66.66.66.2 is bad: CA request failed!" in log_lines(he)
    # The seed's workaround while the CA is down: `revocation-check crl none`.
    he("configure terminal")
    he("crypto pki trustpoint test-ca")
    he("revocation-check crl none")
    he("end")
    lab.cli("br")("clear crypto isakmp")  # drop the branch's failed SA: it tries again at once
    ping(lab, 2)
    assert ping(lab, 3) == []
    assert "QM_IDLE" in states(he)
    assert {s.auth for s in detail(he)} == {"rsig"}  # the refused SA still lingers next to the new one


def test_expired_by_the_routers_clock(rsig_pair: RsigPair) -> None:
    lab, _, _, _ = rsig_pair
    br = lab.cli("br")
    br("clock set 02:49:00 Feb 5 2035")
    assert ping(lab, 1)
    assert "QM_IDLE" not in states(br)
    # The headend completed main mode, then heard INVALID-CERTIFICATE: it deletes the SA, and the
    # branch (which has no phase 1) cannot process that delete. The seed's Q3 log, in that order:
    assert [t for t in log_lines(br) if "CRYPTO" in t] == [
        "%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from 66.66.66.1 is bad: certificate invalid",
        "%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 66.66.66.1 failed its sanity check or is malformed",
        "%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Informational mode failed with peer at 66.66.66.1",
    ]
    # ... and the headend's, as the seed shows it:
    assert [t for t in log_lines(lab.cli("he")) if "CRYPTO" in t] == [
        "%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 66.66.66.2 failed its sanity check or is malformed"
    ]
    assert states(lab.cli("he")) == []


def test_unknown_ca_refused(tmp_path: Path) -> None:
    lab = CaptureLab(tmp_path, *_specs())
    _enroll_by_paste(lab, "he", MiniCa())
    _enroll_by_paste(lab, "br", MiniCa())  # a different CA: neither trusts the other
    for name, peer in (("he", "2"), ("br", "1")):
        cli = lab.cli(name)
        cli("configure terminal")
        cli(f"no crypto isakmp key bigsecret address 66.66.66.{peer}")
        cli("end")
    assert ping(lab, 1)
    assert any(
        "IKMP_INVAL_CERT: Certificate received from 66.66.66.2 is bad: certificate invalid" in t
        for t in log_lines(lab.cli("he"))
    )


def test_engine_events_never_break_the_router(pair: OfflineLab) -> None:
    for router in pair.routers.values():
        assert router.errors == []
    ping(pair, 1)
    # Garbage on UDP 500 is a malformed message, not a crash.
    pair.routers["br"].feature(Ip).send_udp("66.66.66.2", "66.66.66.1", 500, 500, b"\x00" * 30)
    assert any("IKMP_BAD_MESSAGE" in t for t in log_lines(pair.cli("he")))
    assert all(r.errors == [] for r in pair.routers.values())
    assert ipaddress.IPv4Network("10.113.0.0/24") in [r.network for r in pair.routers["he"].feature(Ip).routes()]


def test_ipsec_lifetime_rekey_by_the_routers_clock(pair: OfflineLab, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [time.monotonic()]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # the routers' uptime clock, moved by hand
    br, he = pair.cli("br"), pair.cli("he")
    br("configure terminal")
    br("crypto ipsec security-association lifetime seconds 120")
    br("end")
    ping(pair, 1)
    assert ping(pair, 2) == []
    crypto = pair.routers["br"].feature(Crypto)
    first = crypto.data.tunnels[0]
    assert first.up.lifetime_seconds == 120  # the initiator's shorter lifetime was accepted
    now[0] += 110  # past 90 % of the lifetime: quick mode again, the old pair still installed
    crypto.tick(now[0])
    assert len(crypto.data.tunnels) == 2
    assert ping(pair, 3) == []
    newest = crypto.data.tunnels[-1]
    assert newest.outbound.counters.packets == 1  # new traffic uses the new SA
    now[0] += 11  # the old pair expires; its DELETE reaches the headend
    crypto.tick(now[0])
    assert crypto.data.tunnels == [newest]
    assert len(pair.routers["he"].feature(Crypto).data.tunnels) == 1
    flows = parse("show crypto ipsec sa detail", out(he, "show crypto ipsec sa detail")).flows
    assert len(flows) == 1 and flows[0].pkts_decaps == 1


def test_kilobyte_lifetime_asks_for_a_rekey(pair: OfflineLab) -> None:
    br = pair.cli("br")
    br("configure terminal")
    br("crypto ipsec security-association lifetime kilobytes 2560")
    br("end")
    ping(pair, 1)
    crypto = pair.routers["br"].feature(Crypto)
    assert crypto.data.tunnels[0].up.lifetime_kilobytes == 2560
    crypto.data.tunnels[0].outbound.counters.bytes = int(2560 * 1024 * 0.95)  # as if 2.4 MB had gone through
    assert ping(pair, 2) == []
    assert len(crypto.data.tunnels) == 2  # rekeyed before the volume ran out


def test_cleartext_that_should_be_esp_is_dropped(pair: OfflineLab) -> None:
    he, br = pair.cli("he"), pair.cli("br")
    he("configure terminal")
    he("ip route 10.113.0.0 255.255.255.0 66.66.66.2")  # a route, but no SA: the echo leaves in the clear
    he("end")
    trace = Trace()
    pair.routers["he"].feature(Ip).send(
        pk.ipv4("10.59.138.1", "10.113.0.1", pk.PROTO_ICMP, pk.icmp(8, 0, 3, 1, b"c" * 16)), trace
    )
    assert trace.reasons == ["br: cleartext packet matches crypto map test"]
    assert any(
        t.startswith(
            "%CRYPTO-4-RECVD_PKT_NOT_IPSEC: Rec'd packet not an IPSEC packet. (ip) "
            "vrf/dest_addr= /10.113.0.1, src_addr= 10.59.138.1"
        )
        for t in log_lines(br)
    )


def test_fault_ipsec_cleartext_shows_in_the_capture(tmp_path: Path) -> None:
    specs = _specs()
    assert specs[1].sim is not None
    faulty = dataclasses.replace(specs[1], sim=dataclasses.replace(specs[1].sim, faults=("ipsec-cleartext",)))
    lab = CaptureLab(tmp_path, specs[0], faulty)
    ping(lab, 1)
    lab.lab.network.close()
    summary = analyze(tmp_path / "outside.pcap")
    assert summary.esp == () and summary.isakmp == ()
    assert summary.cleartext_between("10.113.0.0/24", "10.59.138.0/24") == [("10.113.0.1", "10.59.138.1", 1)]


def test_show_crypto_eli_and_debugging(pair: OfflineLab) -> None:
    br = pair.cli("br")
    assert "Crypto ISAKMP debugging is on" in br("debug crypto isakmp")
    br("debug crypto engine")
    shown = br("show debugging")
    assert "Crypto ISAKMP debugging is on" in shown and "Crypto Engine debugging is on" in shown
    ping(pair, 1)
    eli = parse("show crypto eli", out(br, "show crypto eli"))
    counts = {c.name: (c.active, c.failed) for c in eli.engines[0].sessions}
    assert counts == {"IKE-Session": (1, 0), "DH": (0, 0), "IPSec-Session": (2, 0)}
    assert "ISAKMP:(1001):Old State = IKE_READY  New State = IKE_I_MM1" in br("show logging")
    br("undebug all")
    assert br("show debugging").strip().endswith("br#")


def test_aes_group14_pfs_tunnel() -> None:
    strong = [
        "crypto isakmp policy 5",
        " encr aes 256",
        " hash sha256",
        " authentication pre-share",
        " group 14",
        "crypto ipsec transform-set strong esp-aes 256 esp-md5-hmac",
    ]
    he_extra = [*strong, "crypto dynamic-map dmap 10", " set transform-set strong", " set pfs group5"]
    br_extra = [*strong, "crypto map test 10 ipsec-isakmp", " set transform-set strong", " set pfs group5"]
    he_spec, br_spec = _specs()
    assert he_spec.sim is not None and br_spec.sim is not None
    he_spec = dataclasses.replace(
        he_spec, sim=dataclasses.replace(he_spec.sim, config=he_spec.sim.config + tuple(he_extra))
    )
    br_spec = dataclasses.replace(
        br_spec, sim=dataclasses.replace(br_spec.sim, config=br_spec.sim.config + tuple(br_extra))
    )
    lab = OfflineLab(he_spec, br_spec)
    ping(lab, 1)
    assert ping(lab, 2) == []
    br = lab.cli("br")
    (sa,) = detail(br)
    assert (sa.encr, sa.hash, sa.auth, sa.dh_group) == ("aes:256", "sha256", "psk", 14)
    (flow,) = parse("show crypto ipsec sa", out(br, "show crypto ipsec sa")).flows
    assert "PFS (Y/N): Y, DH group: group5" in br("show crypto ipsec sa")
    assert flow.inbound_esp[0].transform == "esp-256-aes esp-md5-hmac"


def test_capture_errors_are_clear(tmp_path: Path) -> None:
    from pkilab.capture import CaptureError

    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture")
    with pytest.raises(CaptureError, match="cannot read the capture"):
        analyze(bad)
    with pytest.raises(CaptureError):
        analyze(tmp_path / "missing.pcap")
