"""Copying Certificate Enrollments to a Cisco IOS CA (the seed's cut-and-paste enrollment, steps 1-17).

No prep tunnel: the CA certificate is exported from an enrolled router and pasted into the
branch, the branch's PKCS#10 is pasted into the CA, the granted certificate is pasted back, and
the branch ends with two certificates saved in NVRAM.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography import x509

from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.parsers import parse
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, pki

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def lab_pki(sessions: SessionPool, plan: LabPlan) -> Iterator[None]:
    """CA up and the headend enrolled (auto grant); the branch kept too; all restored afterwards."""
    ca, he, br = plan.ca.device, plan.headend.name, plan.branch.name
    settings = pki.CaServerSettings.from_plan(plan)
    with baseline.left_as_found(sessions.get, ca, he, br) as keeper:
        keeper.undo(ca, "no ip http server", *plan.timezone.undo())
        for name in (he, br):
            keeper.undo(name, f"no ip host {plan.ca.url_host}", *plan.timezone.undo())
        ca_s, he_s = sessions.get(ca), sessions.get(he)
        ca_s.config(plan.timezone.lines())
        pki.bring_up_ca(ca_s, settings, timeout=plan.deadlines.keygen)
        pki.set_grant_mode(ca_s, settings.name, auto=True)
        he_s.config([plan.ca.host_line, *plan.timezone.lines()])
        pki.generate_keys(he_s, None, plan.crypto.modulus, exportable=False, timeout=plan.deadlines.keygen)
        tp = pki.TrustpointSettings.from_plan(plan)
        pki.configure_trustpoint(he_s, tp)
        pki.authenticate(he_s, tp.name, timeout=plan.deadlines.transfer)
        pki.enroll(he_s, tp.name, "whatever", timeout=plan.deadlines.keygen)
        pki.wait_for_certificate(he_s, tp.name, timeout=plan.deadlines.certificate)
        pki.set_grant_mode(ca_s, settings.name, auto=False)
        yield


@pytest.mark.seed("Copying Certificate Enrollments to a Cisco IOS CA, Steps 1-17")
def test_cut_and_paste_enrollment(device: DeviceGetter, plan: LabPlan, lab_pki: None) -> None:
    he, br, ca = device(plan.headend.name), device(plan.branch.name), device(plan.ca.device)
    server_name, tp = plan.ca.server, plan.ca.trustpoint
    ca_pem = pki.export_ca_pem(he, tp, plan.ca.passphrase)  # step 1
    br.config([plan.ca.host_line, *plan.timezone.lines()])
    pki.generate_keys(br, None, plan.crypto.modulus, exportable=False, timeout=plan.deadlines.keygen)  # step 5
    pki.configure_trustpoint(
        br,
        pki.TrustpointSettings.from_plan(
            plan, enrollment_url=None, terminal=True, revocation="crl none", source_interface=plan.branch.inside_if
        ),
    )
    auth = pki.authenticate(br, tp, pasted_pem=ca_pem, timeout=plan.deadlines.transfer)  # steps 7-8
    assert auth.fingerprint == pki.ca_fingerprint(ca, pki.CaServerSettings.from_plan(plan))
    request = pki.terminal_request(br, tp, timeout=plan.deadlines.keygen)  # step 9
    req_id = pki.submit_terminal_request(ca, server_name, request)  # step 10
    pending = [r for r in pki.server_requests(ca, server_name).requests if r.id == req_id]
    assert pending and pending[0].state == "pending"
    granted_b64 = pki.grant_terminal(ca, server_name, req_id)  # step 11
    issued = x509.load_der_x509_certificate(base64.b64decode(granted_b64))
    files = {f.name for f in parse("dir nvram:", ca.run("dir nvram:")).files}
    assert f"{issued.serial_number:X}.cnm" in files  # step 12
    cnm = parse(f"more nvram:{issued.serial_number:X}.cnm", ca.run(f"more nvram:{issued.serial_number:X}.cnm"))
    assert cnm.subjectname == f"hostname={plan.fqdn(br.name)}"
    result = pki.import_certificate(br, tp, granted_b64)  # step 13
    assert result.success, result.message
    cert = pki.wait_for_certificate(br, tp, timeout=plan.deadlines.certificate)  # step 14
    assert pki.serial(cert) == issued.serial_number
    assert cert.hostname == plan.fqdn(br.name)
    br.run("write memory")  # step 16
    names = {f.name for f in parse("dir nvram:", br.run("dir nvram:")).files}  # step 17
    # The router's and the CA's certificate files (named by release: the seed's TP#6104.cer, later
    # ISSUERCN#4.cer); where the release prints them (Storage:), exactly those.
    stored = {n for n in names if "#" in n and n.endswith(".cer")}
    assert len(stored) == 2, names
    shown = {c.storage.partition(":")[2] for c in pki.certificates(br, tp).certificates if c.storage}
    assert not shown or shown == stored, (shown, stored)


@pytest.mark.seed("Copying Certificate Enrollments to a Cisco IOS CA, Step 1 (non-exportable key)")
def test_export_of_non_exportable_key_refused(device: DeviceGetter, plan: LabPlan, lab_pki: None) -> None:
    he = device(plan.headend.name)
    out = pki.export_pem(he, plan.ca.trustpoint, plan.ca.passphrase)
    assert f"% RSA keypair '{plan.fqdn(he.name)}' is not exportable." in out
    assert "BEGIN RSA PRIVATE KEY" not in out and "ENCRYPTED" not in out
