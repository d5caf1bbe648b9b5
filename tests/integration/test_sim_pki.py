"""The seed's enrollment procedures on the simulated lab, driven through pkilab's sessions.

CA bring-up, the headend enrolled over SCEP with a manual grant, the branch enrolled by
cut-and-paste, certificates kept across a reload, CRL request, auto-enroll by the router's
clock. Everything is read back through the parsers.
"""

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from pkilab.device.session import Answer, Session
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse, parse_as
from pkilab.parsers.certificates import Certificate
from pkilab.parsers.server import Crl, CrlList
from pkilab.procedures import pki
from pkilab.testbed import load
from pkilab.wait import wait_until
from seedplan import ca_settings, trustpoint

ROOT = Path(__file__).resolve().parents[2]
Lab = tuple[SimLabRunner, dict[str, Session]]  # the running lab, a session to each device by name


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    from pkilab.fixtures import worker_offset

    testbed = load(ROOT / "testbeds" / "sim.yaml").shifted(5500 + worker_offset())
    runner = SimLabRunner(testbed).start()
    sessions: dict[str, Session] = {}
    try:
        for d in testbed.devices:
            sessions[d.name] = Session(d).connect()
        ca = sessions["ese-ios-ca"]
        pki.bring_up_ca(ca, ca_settings())
        yield runner, sessions
    finally:
        for s in sessions.values():
            s.close()
        runner.stop()


def _prepare(session: Session, name: str) -> None:
    session.config(["ip host ese-ios-ca 10.59.138.12", "clock timezone EST -5", "clock summer-time EDT recurring"])
    pki.generate_keys(session, None, 1024, False)


def test_headend_scep_enrollment_with_manual_grant(lab: Lab) -> None:
    _, s = lab
    ca, he = s["ese-ios-ca"], s["ese-cryagg"]
    _prepare(he, "ese-cryagg")
    pki.configure_trustpoint(he, trustpoint())
    auth = pki.authenticate(he, "ese-ios-ca")
    server = parse("show crypto pki server", ca.run("show crypto pki server")).servers[0]
    assert auth.fingerprint == server.fingerprint, "the CA certificate authenticated is the CA's"
    result = pki.enroll(he, "ese-ios-ca", "whatever")
    assert result.request_sent
    pending = wait_until(
        lambda: [r for r in pki.server_requests(ca, "ese-ios-ca").requests if r.state == "pending"],
        10,
        0.2,
        "request pending on the CA",
    )
    assert pending[0].subject == "hostname=ese-cryagg.ese.cisco.com"
    shown = parse("show crypto pki certificates", he.run("show crypto pki certificates"))
    waiting = [c for c in shown.certificates if c.status == "Pending"]
    assert waiting, "the headend shows its request as Pending until the grant"
    pki.grant(ca, "ese-ios-ca", pending[0].id)
    cert = pki.wait_for_certificate(he, "ese-ios-ca", timeout=20)
    assert cert.hostname == "ese-cryagg.ese.cisco.com"
    assert cert.renew, "auto-enroll 70 gives a renew date"
    granted = [r for r in pki.server_requests(ca, "ese-ios-ca").requests if r.id == pending[0].id]
    assert granted[0].state == "granted"
    # Saved with the configuration: files in NVRAM and the chain in the startup config.
    he.dialog("copy running-config startup-config", [Answer(r"\[startup-config\]\?", "")])
    files = {f.name for f in parse("dir nvram:", he.run("dir nvram:")).files}
    # 15.2 names the files after the issuer's CN and the serial (the seed's 12.x: ese-ios-ca#6101CA.cer).
    assert cert.serial is not None, "an issued certificate has a serial"
    assert {"ese-ios-ca#1CA.cer", f"ese-ios-ca#{int(cert.serial, 16):X}.cer"} <= files
    assert "crypto pki certificate chain ese-ios-ca" in he.run("show startup-config")


def test_certificates_survive_a_reload(lab: Lab) -> None:
    runner, s = lab
    he = s["ese-cryagg"]
    before = parse("show crypto pki certificates", he.run("show crypto pki certificates")).certificates
    he.reload(save=False)
    spec = runner.testbed.device("ese-cryagg")

    def reconnect() -> Session | None:
        try:
            return Session(spec).connect()
        except Exception:
            return None

    he2 = wait_until(reconnect, 30, 0.3, "headend back after reload")
    s["ese-cryagg"] = he2
    after = parse("show crypto pki certificates", he2.run("show crypto pki certificates")).certificates
    assert [(c.section, c.serial, c.status) for c in after] == [(c.section, c.serial, c.status) for c in before]


def test_crl_request_fetches_the_cas_crl(lab: Lab) -> None:
    _, s = lab
    he = s["ese-cryagg"]

    def fetched() -> tuple[Crl, ...]:
        # Right after the reload the headend may still be bringing itself up: ask again, as a user would.
        he.run("crypto pki crl request ese-ios-ca")
        return parse_as(CrlList, "show crypto pki crls", he.run("show crypto pki crls")).crls

    crls = wait_until(fetched, 30, 0.5, "CRL cached on the headend")
    assert crls[0].issuer is not None and crls[0].issuer.startswith("cn=ese-ios-ca")
    assert any("Retrieved via SCEP" in x for x in crls[0].retrieved_from)


def test_branch_cut_and_paste_enrollment(lab: Lab) -> None:
    _, s = lab
    ca, br = s["ese-ios-ca"], s["ese-branch"]
    # Step 1: the CA certificate exported from an enrolled router (the headend).
    exported = s["ese-cryagg"].run("crypto pki export ese-ios-ca pem terminal 3des cisco123")
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", exported, re.S)
    assert pem is not None, exported
    ca_pem = pem.group(0)
    assert "% RSA keypair 'ese-cryagg.ese.cisco.com' is not exportable." in exported
    _prepare(br, "ese-branch")
    pki.configure_trustpoint(
        br,
        trustpoint(enrollment_url=None, terminal=True, revocation="crl none", source_interface="Ethernet0/0"),
    )
    auth = pki.authenticate(br, "ese-ios-ca", pasted_pem=ca_pem)
    assert auth.accepted
    out = br.dialog(
        "crypto pki enroll ese-ios-ca",
        [
            Answer(r"serial number in the subject name\? \[yes/no\]:", "no"),
            Answer(r"IP address in the subject name\? \[no\]:", "no"),
            Answer(r"Display Certificate Request to terminal\? \[yes/no\]:", "yes"),
            Answer(r"Redisplay enrollment request\? \[yes/no\]:", "no"),
        ],
    )
    request = parse("crypto pki enroll ese-ios-ca", out).request
    assert request, out
    # Step 10: the request pasted on the CA, granted, the certificate printed.
    pending = parse(
        "crypto pki server ese-ios-ca request pkcs10 terminal",
        ca.paste("crypto pki server ese-ios-ca request pkcs10 terminal", request.splitlines()),
    )
    granted = parse(
        "crypto pki server ese-ios-ca grant 1", ca.run(f"crypto pki server ese-ios-ca grant {pending.request_id}")
    )
    cert = x509.load_der_x509_certificate(base64.b64decode(granted.certificate))
    assert cert.subject.rfc4514_string() == "1.2.840.113549.1.9.2=ese-branch.ese.cisco.com"
    # Step 13: pasted into the branch.
    imported = br.paste("crypto pki import ese-ios-ca certificate", granted.certificate.splitlines())
    assert "% Router Certificate successfully imported" in imported
    shown = pki.wait_for_certificate(br, "ese-ios-ca", timeout=5)
    assert shown.serial == f"{cert.serial_number:02X}"


def test_renew_date_shows_1969_when_auto_enroll_is_removed(lab: Lab) -> None:
    _, s = lab
    br = s["ese-branch"]
    br.config(["crypto pki trustpoint ese-ios-ca", "no auto-enroll"])
    cert = pki.wait_for_certificate(br, "ese-ios-ca", timeout=5)
    assert cert.renew == "19:00:00 EST Dec 31 1969"
    br.config(["crypto pki trustpoint ese-ios-ca", "auto-enroll 70"])


def test_auto_enroll_by_the_routers_clock(lab: Lab) -> None:
    _, s = lab
    ca, he = s["ese-ios-ca"], s["ese-cryagg"]
    old = pki.wait_for_certificate(he, "ese-ios-ca")
    timers = parse("show crypto pki timers", he.run("show crypto pki timers")).timers
    renew = [t for t in timers if t.label == "RENEW ese-ios-ca"]
    assert renew and renew[0].seconds > 86400, "the renew timer runs toward 70 % of the lifetime"
    he.config(["no ntp server 10.59.138.13"])
    try:
        he.run("clock set 10:00:00 Jul 1 2027")
        req = wait_until(
            lambda: [
                r
                for r in pki.server_requests(ca, "ese-ios-ca").requests
                if r.state == "pending" and "ese-cryagg" in r.subject
            ],
            15,
            0.3,
            "re-enrollment request on the CA",
        )
        pki.grant(ca, "ese-ios-ca", req[0].id)

        def renewed() -> Certificate | None:
            c = pki.wait_for_certificate(he, "ese-ios-ca")
            return c if c.serial != old.serial else None

        new = wait_until(renewed, 20, 0.3, "new certificate installed")
        assert new.serial is not None and old.serial is not None, "issued certificates have serials"
        assert int(new.serial, 16) > int(old.serial, 16)
    finally:
        he.config(["ntp server 10.59.138.13"])
