"""Copying Certificate Enrollments to a Cisco IOS CA (the seed's cut-and-paste enrollment, steps 1-17).

No prep tunnel: the CA certificate is exported from an enrolled router and pasted into the
branch, the branch's PKCS#10 is pasted into the CA, the granted certificate is pasted back, and
the branch ends with two certificates saved in NVRAM.
"""

from __future__ import annotations

import base64

import pytest
from cryptography import x509

from pkilab.parsers import parse
from pkilab.procedures import baseline, pki

SEED = pki.CaServerSettings()
PREP = ["ip host ese-ios-ca 10.59.138.12", "clock timezone EST -5", "clock summer-time EDT recurring"]
UNDO = ["no ip host ese-ios-ca", "no clock summer-time", "no clock timezone"]

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def lab_pki(sessions):
    """CA up and the headend enrolled (auto grant), restored afterwards."""
    ca, he, br = sessions.get("ca"), sessions.get("headend"), sessions.get("branch")
    saved = {s.name: baseline.snapshot(s) for s in (ca, he, br)}
    try:
        ca.config(PREP[1:])
        pki.bring_up_ca(ca, SEED)
        pki.set_grant_mode(ca, SEED.name, auto=True)
        he.config(PREP)
        pki.generate_keys(he, None, 1024, exportable=False)
        pki.configure_trustpoint(he, pki.TrustpointSettings())
        pki.authenticate(he, SEED.name)
        pki.enroll(he, SEED.name, "whatever")
        pki.wait_for_certificate(he, SEED.name, timeout=30)
        pki.set_grant_mode(ca, SEED.name, auto=False)
        yield
    finally:
        problems = []
        for role, undo in (("branch", UNDO), ("headend", UNDO), ("ca", ["no ip http server", *UNDO[1:]])):
            s = sessions.get(role)
            problems += baseline.restore(s, saved[s.name], undo)
        assert not problems, problems


@pytest.mark.seed("Copying Certificate Enrollments to a Cisco IOS CA, Steps 1-17")
def test_cut_and_paste_enrollment(device, lab_pki):
    he, br, ca = device("headend"), device("branch"), device("ca")
    ca_pem = pki.export_ca_pem(he, SEED.name, "cisco123")  # step 1
    br.config(PREP)
    pki.generate_keys(br, None, 1024, exportable=False)  # step 5
    pki.configure_trustpoint(
        br,
        pki.TrustpointSettings(
            enrollment_url=None, terminal=True, revocation="crl none", source_interface="Ethernet0/0"
        ),
    )
    auth = pki.authenticate(br, SEED.name, pasted_pem=ca_pem)  # steps 7-8
    server = parse("show crypto pki server", ca.run("show crypto pki server")).servers[0]
    assert auth.fingerprint == server.fingerprint
    request = pki.terminal_request(br, SEED.name)  # step 9
    req_id = pki.submit_terminal_request(ca, SEED.name, request)  # step 10
    pending = [r for r in pki.server_requests(ca, SEED.name).requests if r.id == req_id]
    assert pending and pending[0].state == "pending"
    granted_b64 = pki.grant_terminal(ca, SEED.name, req_id)  # step 11
    issued = x509.load_der_x509_certificate(base64.b64decode(granted_b64))
    files = {f.name for f in parse("dir nvram:", ca.run("dir nvram:")).files}
    assert f"{issued.serial_number:X}.cnm" in files  # step 12
    cnm = parse(f"more nvram:{issued.serial_number:X}.cnm", ca.run(f"more nvram:{issued.serial_number:X}.cnm"))
    assert cnm.subjectname == "hostname=ese-branch.ese.cisco.com"
    result = pki.import_certificate(br, SEED.name, granted_b64)  # step 13
    assert result.success, result.message
    cert = pki.wait_for_certificate(br, SEED.name, timeout=10)  # step 14
    assert int(cert.serial, 16) == issued.serial_number
    assert cert.hostname == "ese-branch.ese.cisco.com"
    br.run("write memory")  # step 16
    names = {f.name for f in parse("dir nvram:", br.run("dir nvram:")).files}  # step 17
    assert {f"ese-ios-ca#61{issued.serial_number:02X}.cer", "ese-ios-ca#6101CA.cer"} <= names


@pytest.mark.seed("Copying Certificate Enrollments to a Cisco IOS CA, Step 1 (non-exportable key)")
def test_export_of_non_exportable_key_refused(device, lab_pki):
    he = device("headend")
    out = he.run(f"crypto pki export {SEED.name} pem terminal 3des cisco123")
    he.masker.add("cisco123")
    assert "% RSA keypair 'ese-cryagg.ese.cisco.com' is not exportable." in out
    assert "BEGIN RSA PRIVATE KEY" not in out and "ENCRYPTED" not in out
