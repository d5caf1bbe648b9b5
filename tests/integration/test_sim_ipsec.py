"""The seed's hub-and-spoke on the simulated lab, driven through pkilab's SSH sessions.

PSK prep tunnel; the headend enrolled with the IOS CA directly and the branch through the tunnel
(SCEP sourced from its LAN); the pre-shared key removed and the SAs cleared, then an rsig tunnel;
certificates judged by the branch's clock (expired after ``clock set``); the CA down (the
headend's CRL must be fetched after a reload: ``CA request failed!``) and the seed's workaround
``revocation-check crl none``; the branch's certificate revoked. Everything is read back through
the parsers; the outside link's capture is checked with scapy. The tests run in file order on one
lab, as the seed's procedure does.
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pkilab.capture.ipsec import analyze
from pkilab.device.session import Answer, Session
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse, parse_as
from pkilab.parsers.isakmp import IsakmpSa, IsakmpSaDetail, IsakmpSaDetailTable, IsakmpSaTable
from pkilab.parsers.syslog import Logging
from pkilab.procedures import pki
from pkilab.testbed import load
from pkilab.wait import wait_until
from seedplan import ca_settings, trustpoint

ROOT = Path(__file__).resolve().parents[2]
CA_NAME = "ese-ios-ca"
HQ_HOST = "10.59.138.13"
# The running lab, a session to each device by name, the directory of its link captures.
Lab = tuple[SimLabRunner, dict[str, Session], Path]

COMMON = [
    "crypto isakmp policy 10",
    "encr 3des",
    "group 2",
    "crypto isakmp policy 20",
    "encr 3des",
    "authentication pre-share",
    "group 2",
    "crypto isakmp keepalive 10",
    "crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac",
    "no crypto ipsec nat-transparency udp-encaps",
]
HEADEND = [
    *COMMON,
    "crypto isakmp key bigsecret address 66.66.66.2",
    "crypto dynamic-map dmap 10",
    "set transform-set vpn-test",
    "reverse-route",
    "crypto map dynamic-map 10 ipsec-isakmp dynamic dmap",
    "interface FastEthernet0/0",
    "description OUTSIDE (toward Internet)",
    "crypto map dynamic-map",
]
BRANCH = [
    *COMMON,
    "crypto isakmp key bigsecret address 66.66.66.1",
    "crypto map test 10 ipsec-isakmp",
    "description Calls the dynamic map on the crypto HE box(es)",
    "set peer 66.66.66.1",
    "set transform-set vpn-test",
    "match address CryptoMapACL",
    "qos pre-classify",
    "interface FastEthernet0/0",
    "description OUTSIDE (toward Internet)",
    "crypto map test",
    "ip access-list extended CryptoMapACL",
    "permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255",
    "deny ip any any",
    "remark This ACL is a filter of which traffic is for the crypto ipsec tunnel",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from pkilab.fixtures import worker_offset

    testbed = load(ROOT / "testbeds" / "sim.yaml").shifted(6300 + worker_offset())
    pcaps = tmp_path_factory.mktemp("pcap")
    runner = SimLabRunner(testbed, pcaps).start()
    sessions: dict[str, Session] = {}
    try:
        for d in testbed.devices:
            sessions[d.name] = Session(d, timeout=60).connect()
        yield runner, sessions, pcaps
    finally:
        for s in sessions.values():
            s.close()
        runner.stop()


def ping(br: Session, repeat: int = 20) -> tuple[str, int]:
    out = br.run(f"ping ip {HQ_HOST} source e0/0 repeat {repeat}", timeout=repeat * 3 + 10)
    marks = "".join(re.findall(r"^[.!]+$", out, re.M))
    rate = re.search(r"Success rate is (\d+) percent", out)
    return marks, int(rate.group(1)) if rate else 0


def ping_until_up(br: Session, timeout: float = 60.0) -> tuple[str, int]:
    """Ping from the branch LAN until the tunnel carries echoes (IOS: "you may have to enter more than one ping")."""
    return wait_until(
        lambda: (lambda r: r if r[1] > 0 else None)(ping(br, 10)), timeout, 0.2, "echoes through the tunnel"
    )


def isakmp(session: Session) -> tuple[IsakmpSa, ...]:
    return parse_as(IsakmpSaTable, "show crypto isakmp sa", session.run("show crypto isakmp sa")).sas


def detail(session: Session) -> tuple[IsakmpSaDetail, ...]:
    return parse_as(
        IsakmpSaDetailTable, "show crypto isakmp sa detail", session.run("show crypto isakmp sa detail")
    ).sas


def logged(session: Session, mnemonic: str) -> list[str]:
    messages = parse_as(Logging, "show logging", session.run("show logging")).messages
    return [f"%{m.facility}-{m.severity}-{m.mnemonic}: {m.text}" for m in messages if m.mnemonic == mnemonic]


def clear(*sessions: Session) -> None:
    for s in sessions:
        s.run("clear crypto isakmp")
        s.run("clear crypto sa")


def test_psk_prep_tunnel(lab: Lab) -> None:
    _, s, pcaps = lab
    he, br = s["ese-cryagg"], s["ese-branch"]
    he.config(HEADEND)
    br.config(BRANCH)
    marks, rate = ping(br, 30)
    assert marks.startswith(".") and marks.endswith("!"), marks  # IOS's ....!!!! while IKE comes up
    assert rate > 50
    for session, peer in ((he, "66.66.66.2"), (br, "66.66.66.1")):
        sa = detail(session)
        assert [(x.remote, x.auth, x.encr, x.dh_group, x.capabilities) for x in sa] == [(peer, "psk", "3des", 2, "D")]
    assert [x.state for x in isakmp(br)] == ["QM_IDLE"]
    flows = parse("show crypto ipsec sa", br.run("show crypto ipsec sa")).flows
    assert flows[0].pkts_encaps >= rate * 30 // 100 and flows[0].pkts_decaps == flows[0].pkts_encaps
    assert "10.113.0.0/24 [1/0] via 66.66.66.2" in he.run("show ip route")  # reverse-route injection
    summary = analyze(pcaps / "outside.pcap")
    assert summary.chosen_auth() == ["psk"]
    assert summary.esp_between("66.66.66.1", "66.66.66.2")


def _prepare(session: Session) -> None:
    session.config(["ip host ese-ios-ca 10.59.138.12", "clock timezone EST -5", "clock summer-time EDT recurring"])
    pki.generate_keys(session, None, 1024, False)


def test_enrollment_through_the_prep_tunnel(lab: Lab) -> None:
    _, s, _ = lab
    ca, he, br = s["ese-ios-ca"], s["ese-cryagg"], s["ese-branch"]
    pki.bring_up_ca(ca, ca_settings(grant_auto=True))
    _prepare(he)
    pki.configure_trustpoint(he, trustpoint())
    pki.authenticate(he, CA_NAME)
    assert pki.enroll(he, CA_NAME, "whatever").request_sent
    pki.wait_for_certificate(he, CA_NAME, timeout=30)
    # The branch reaches the CA only through the tunnel: SCEP sourced from its LAN (seed: Ethernet0/0).
    before = parse("show crypto ipsec sa", br.run("show crypto ipsec sa")).flows[0].pkts_encaps
    _prepare(br)
    pki.configure_trustpoint(br, trustpoint(revocation="crl none", source_interface="Ethernet0/0"))
    pki.authenticate(br, CA_NAME)
    assert pki.enroll(br, CA_NAME, "whatever").request_sent
    cert = pki.wait_for_certificate(br, CA_NAME, timeout=30)
    assert cert.hostname == "ese-branch.ese.cisco.com"
    after = parse("show crypto ipsec sa", br.run("show crypto ipsec sa")).flows[0].pkts_encaps
    assert after > before, "the SCEP exchange travelled as ESP"


def test_rsig_after_the_psk_is_removed(lab: Lab) -> None:
    _, s, pcaps = lab
    he, br = s["ese-cryagg"], s["ese-branch"]
    he.config(["no crypto isakmp key bigsecret address 66.66.66.2"])
    he.dialog("copy running-config startup-config", [Answer(r"\[startup-config\]\?", "")])
    clear(he)
    assert isakmp(he) == ()
    ping_until_up(br)
    for session in (he, br):
        assert [x.auth for x in detail(session)] == ["rsig"]
    # The headend fetched the CRL for that check (it had none); a new negotiation does not fetch it again.
    (crl,) = parse("show crypto pki crls", he.run("show crypto pki crls")).crls
    he.run("debug crypto pki transactions")
    try:
        clear(he, br)
        ping_until_up(br)
        checks = [ln for ln in he.run("show logging").splitlines() if "CRYPTO_PKI:" in ln]
    finally:
        he.run("undebug all")
    assert any("Certificate validated" in ln for ln in checks), checks  # the certificate was checked …
    assert not any("fetching" in ln for ln in checks), checks  # … against the cached CRL
    assert parse("show crypto pki crls", he.run("show crypto pki crls")).crls == (crl,)
    summary = analyze(pcaps / "outside.pcap")
    assert summary.chosen_auth()[-1] == "rsig"  # the last main mode chose RSA signatures (auth 3)
    assert summary.cleartext_between("10.113.0.0/24", "10.59.138.0/24") == []  # only ESP between the LANs


def test_certificate_expired_by_the_branch_clock(lab: Lab) -> None:
    _, s, _ = lab
    he, br = s["ese-cryagg"], s["ese-branch"]
    br.config(["no ntp server 66.66.66.1"])  # NTP would put the clock back at once
    try:
        br.run("clock set 02:49:00 Feb 5 2035")
        clear(br, he)
        marks, rate = ping(br, 10)
        assert rate == 0 and set(marks) == {"."}
        assert "QM_IDLE" not in [x.state for x in isakmp(br)]
        assert "QM_IDLE" not in [x.state for x in isakmp(he)]  # refused by the branch: deleted
        bad = logged(br, "IKMP_INVAL_CERT")
        assert bad and bad[-1].startswith("%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from 66.66.66.1 is bad:")
    finally:
        br.config(["ntp server 66.66.66.1"])
    wait_until(lambda: "2035" not in br.run("show clock"), 30, 0.3, "branch clock back from NTP")
    clear(br)
    ping_until_up(br)
    assert [x.auth for x in detail(br)] == ["rsig"]


def _reconnect(runner: SimLabRunner, name: str) -> Session:
    spec = runner.testbed.device(name)

    def attempt() -> Session | None:
        try:
            return Session(spec, timeout=60).connect()
        except Exception:
            return None

    return wait_until(attempt, 30, 0.3, f"{name} back after reload")


def test_ca_down_and_revocation_check_crl_none(lab: Lab) -> None:
    runner, s, _ = lab
    ca, br = s["ese-ios-ca"], s["ese-branch"]
    ca.config([f"crypto pki server {CA_NAME}", "shutdown"])
    # A reload empties the headend's CRL cache: the next negotiation must fetch it from the CA.
    s["ese-cryagg"].reload(save=True)
    he = s["ese-cryagg"] = _reconnect(runner, "ese-cryagg")
    failures_before = len(logged(br, "IKMP_MODE_FAILURE"))
    clear(br)
    _, rate = ping(br, 10)
    assert rate == 0
    refused = wait_until(lambda: logged(he, "IKMP_INVAL_CERT"), 10, 0.2, "headend refuses the branch")
    assert refused[-1] == "%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from 66.66.66.2 is bad: CA request failed!"
    assert "QM_IDLE" not in [x.state for x in isakmp(he)]
    assert len(logged(br, "IKMP_MODE_FAILURE")) > failures_before  # the branch saw the refusal
    # The seed's trade-off: accept enrolled branches while the CA is down.
    he.config([f"crypto pki trustpoint {CA_NAME}", "revocation-check crl none"])
    clear(br)
    ping_until_up(br)
    assert [x.auth for x in detail(he) if x.remote == "66.66.66.2"][-1] == "rsig"
    # `revocation-check none` never fetches or checks either.
    he.config([f"crypto pki trustpoint {CA_NAME}", "revocation-check none"])
    clear(he, br)
    ping_until_up(br)
    he.config([f"crypto pki trustpoint {CA_NAME}", "revocation-check crl"])
    ca.run("configure terminal")
    try:
        ca.dialog(f"crypto pki server {CA_NAME}", [])
        ca.dialog(
            "no shutdown",
            [
                Answer(r"\[yes/no\]:", "yes"),
                Answer(r"Password:", "pkilab-ca-pass", secret=True),
                Answer(r"Re-enter password:", "pkilab-ca-pass", secret=True),
            ],
            timeout=60,
        )
    finally:
        ca.run("end", check=False)


def test_revoked_branch_is_refused(lab: Lab) -> None:
    _, s, _ = lab
    ca, he, br = s["ese-ios-ca"], s["ese-cryagg"], s["ese-branch"]
    serial = next(
        c.serial
        for c in parse("show crypto pki certificates", br.run("show crypto pki certificates")).certificates
        if c.section == "Certificate"
    )
    ca.run(f"crypto pki server {CA_NAME} revoke 0x{serial}")
    he.run(f"crypto pki crl request {CA_NAME}")
    he.run("debug crypto pki transactions")
    clear(he, br)
    started = time.monotonic()
    marks, rate = ping(br, 20)
    assert rate == 0 and set(marks) == {"."}
    refused = logged(he, "IKMP_INVAL_CERT")
    assert refused[-1] == "%CRYPTO-5-IKMP_INVAL_CERT: Certificate received from 66.66.66.2 is bad: certificate invalid"
    assert logged(br, "IKMP_MODE_FAILURE")[-1] == (
        "%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Informational mode failed with peer at 66.66.66.1"
    )
    states = [x.state for x in isakmp(he)]
    assert "MM_KEY_EXCH" in states and "QM_IDLE" not in states  # "It will never get to QM_IDLE."
    assert "QM_IDLE" not in [x.state for x in isakmp(br)]
    assert "revoked" in he.run("show logging")  # debug crypto pki transactions says why
    assert time.monotonic() - started < 60
