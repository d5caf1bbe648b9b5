"""Using TFTP/HTTP Server for Off-System Storage of CA Files (seed section of that name).

The test host plays the seed's UNIX server: one directory served by TFTP and HTTP (the
``hostsrv`` fixture, ``testbed.custom.hostsrv``). The files are pre-created as the seed's step 1
says; the CA is configured with ``database url tftp://…/certs`` and ``cdp-url http://…/certs/…``;
its database lands on the server, the headend's certificate carries the CDP, and the headend
fetches the CRL from the server over HTTP. A file that was not pre-created cannot be written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from pkilab.device.session import Session
from pkilab.fixtures import SessionPool
from pkilab.hostsrv import HostServers
from pkilab.parsers import parse
from pkilab.parsers.certificates import Certificate
from pkilab.parsers.server import Crl
from pkilab.pki.names import parse_ios_dn
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, offsystem, pki
from pkilab.wait import wait_until

FOLDER = "certs"

pytestmark = [pytest.mark.roles("ca", "headend"), pytest.mark.destructive]


@dataclass(frozen=True)
class Offsite:
    """The CA on off-system storage and the headend enrolled with it."""

    ca: Session
    headend: Session
    settings: pki.CaServerSettings
    tp: pki.TrustpointSettings
    cert: Certificate
    plan: LabPlan


def _settings(plan: LabPlan, hostsrv: HostServers) -> pki.CaServerSettings:
    return pki.CaServerSettings.from_plan(
        plan,
        database_url=hostsrv.spec.tftp_url(FOLDER, offsystem.SERVER_NAME),
        grant_auto=True,
        cdp_url=hostsrv.spec.http_url(f"{FOLDER}/{plan.ca.server}.crl", offsystem.SERVER_NAME),
    )


def _server_file(hostsrv: HostServers, name: str) -> Path:
    return hostsrv.root / FOLDER / name


@pytest.fixture(scope="module")
def offsite(sessions: SessionPool, plan: LabPlan, hostsrv: HostServers) -> Iterator[Offsite]:
    """The seed's steps 1-4 and 7: files pre-created, CA on TFTP storage, the headend enrolled."""
    ca_name, he_name = plan.ca.device, plan.headend.name
    settings = _settings(plan, hostsrv)
    hostsrv.precreate(FOLDER, offsystem.ca_files(settings.name))
    host = offsystem.host_line(hostsrv.spec.address)
    with baseline.left_as_found(sessions.get, ca_name, he_name) as keeper:
        keeper.undo(he_name, f"no ip host {plan.ca.url_host}", f"no ip host {offsystem.SERVER_NAME}")
        keeper.undo(ca_name, f"no ip host {offsystem.SERVER_NAME}", "no ip http server")
        ca, headend = sessions.get(ca_name), sessions.get(he_name)
        ca.config([host])
        pki.bring_up_ca(ca, settings, timeout=plan.deadlines.keygen)
        ca.run("write memory")
        headend.config([plan.ca.host_line, host])
        # Exportable so that the issued certificate can be read back whole (its CDP extension).
        pki.generate_keys(headend, None, plan.crypto.modulus, exportable=True, timeout=plan.deadlines.keygen)
        tp = pki.TrustpointSettings.from_plan(plan)
        pki.configure_trustpoint(headend, tp)
        pki.authenticate(headend, tp.name, timeout=plan.deadlines.transfer)
        pki.enroll(headend, tp.name, "whatever", timeout=plan.deadlines.keygen)
        cert = pki.wait_for_certificate(headend, tp.name, timeout=plan.deadlines.certificate)
        yield Offsite(ca, headend, settings, tp, cert, plan)


def test_ca_database_written_over_tftp(offsite: Offsite, hostsrv: HostServers) -> None:
    """Step 4: with ``no shutdown`` the CA writes its .ser, .crl and 1.cnm to the server."""
    settings = offsite.settings
    server = pki.server_status(offsite.ca).servers[0]
    assert server.storage == settings.database_url
    for name in (f"{settings.name}.ser", f"{settings.name}.crl", "1.cnm"):
        assert _server_file(hostsrv, name).stat().st_size > 0, f"{name} not written on the server"
    crl = x509.load_der_x509_crl(_server_file(hostsrv, f"{settings.name}.crl").read_bytes())
    assert crl.issuer == parse_ios_dn(settings.issuer_name)
    writes = {t.filename.lstrip("/") for t in hostsrv.tftp.transfers if t.op == "write" and not t.error}
    assert f"{FOLDER}/{settings.name}.ser" in writes


def test_enrollment_writes_serial_cnm(offsite: Offsite, hostsrv: HostServers) -> None:
    """Step 7: each enrollment writes ``serialnum.cnm`` to the server."""
    serial = pki.serial(offsite.cert)
    cnm = _server_file(hostsrv, f"{serial:X}.cnm")
    text = wait_until(
        lambda: cnm.read_text() if cnm.exists() and cnm.stat().st_size else None,
        offsite.plan.deadlines.transfer,
        0.2,
        f"{cnm.name} written on the server",
    )
    assert offsite.plan.fqdn(offsite.headend.name) in text


def test_certificate_carries_cdp(offsite: Offsite) -> None:
    """Step 7: the certificate issued to the headend points at the server's HTTP URL."""
    settings = offsite.settings
    pem = offsystem.router_certificate_pem(offsite.headend, offsite.tp.name, settings.passphrase)
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    assert cert.serial_number == pki.serial(offsite.cert)
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    urls = [n.value for p in points for n in p.full_name or () if isinstance(n, x509.UniformResourceIdentifier)]
    assert urls == [settings.cdp_url]


def test_headend_fetches_crl_over_http(offsite: Offsite, hostsrv: HostServers) -> None:
    """The headend fetches the CRL from the CDP, i.e. from the server over HTTP."""
    settings = offsite.settings
    headend = offsite.headend
    path = f"/{FOLDER}/{settings.name}.crl"
    offsystem.crl_request(headend, offsite.tp.name, timeout=offsite.plan.deadlines.transfer)

    def fetched() -> Crl | None:
        crls = offsystem.crls(headend).crls
        return next((c for c in crls if settings.cdp_url in c.retrieved_from), None)

    crl = wait_until(
        fetched, offsite.plan.deadlines.certificate, 0.3, f"{headend.name}: CRL retrieved from {settings.cdp_url}"
    )
    assert crl.der_size == _server_file(hostsrv, f"{settings.name}.crl").stat().st_size
    assert any(h.path == path and h.method == "GET" and h.status == 200 for h in hostsrv.http.hits)


def _fetch_failures(session: Session) -> int:
    messages = parse("show logging", session.run("show logging")).messages
    return sum(1 for m in messages if m.mnemonic == "CRL_FETCH_FAIL")


def test_crl_fetch_fails_while_http_server_is_down(offsite: Offsite, hostsrv: HostServers) -> None:
    """Table 3's disadvantage: with the HTTP server down the CDP fetch fails; back up, it works."""
    headend, tp = offsite.headend, offsite.tp.name
    before = _fetch_failures(headend)
    hostsrv.http.stop()
    try:
        offsystem.crl_request(headend, tp, timeout=offsite.plan.deadlines.transfer)
        wait_until(
            lambda: _fetch_failures(headend) > before,
            offsite.plan.deadlines.transfer,
            0.3,
            f"{headend.name}: CRL fetch failure logged",
        )
    finally:
        hostsrv.http.start()
    served = len(hostsrv.http.hits)
    offsystem.crl_request(headend, tp, timeout=offsite.plan.deadlines.transfer)
    wait_until(
        lambda: len(hostsrv.http.hits) > served,
        offsite.plan.deadlines.transfer,
        0.3,
        "the CRL fetched again once the server is back",
    )
    assert _fetch_failures(headend) == before + 1


def test_copy_restore_files_to_server(offsite: Offsite, hostsrv: HostServers) -> None:
    """Step 5: the key pair and startup configuration are copied to the server by TFTP."""
    ca, name = offsite.ca, offsite.settings.name
    pki.export_keys(ca, name, offsite.settings.passphrase, timeout=offsite.plan.deadlines.transfer)
    ca_cer = next(
        f.name for f in parse("dir nvram:", ca.run("dir nvram:")).files if "#" in f.name and f.name.endswith("CA.cer")
    )
    hostsrv.precreate(FOLDER, [ca_cer])  # its name differs by release (step 1 touched the seed's)
    for source, target in (
        (f"nvram:{ca_cer}", ca_cer),
        (f"nvram:{name}.pub", f"{name}.pub"),
        (f"nvram:{name}.prv", f"{name}.prv"),
        ("startup-config", "startup-confg"),
    ):
        url = hostsrv.spec.tftp_url(f"{FOLDER}/{target}", offsystem.SERVER_NAME)
        out = offsystem.copy_to_tftp(ca, source, url, timeout=offsite.plan.deadlines.transfer)
        assert "bytes copied" in out, out
        assert _server_file(hostsrv, target).stat().st_size > 0
    ca_cert = x509.load_der_x509_certificate(_server_file(hostsrv, ca_cer).read_bytes())
    assert ca_cert.subject == ca_cert.issuer
    assert ca_cert.subject == parse_ios_dn(offsite.settings.issuer_name)
    assert b"BEGIN" in _server_file(hostsrv, f"{name}.pub").read_bytes()
    assert b"crypto pki server" in _server_file(hostsrv, "startup-confg").read_bytes()


def test_file_not_precreated_is_refused(offsite: Offsite, hostsrv: HostServers) -> None:
    """The seed's note: TFTP daemons only update existing files; a new file is refused."""
    url = hostsrv.spec.tftp_url(f"{FOLDER}/not-precreated.cnm", offsystem.SERVER_NAME)
    out = offsystem.copy_to_tftp(offsite.ca, "startup-config", url, timeout=offsite.plan.deadlines.transfer)
    assert "%Error" in out and "bytes copied" not in out
    assert not _server_file(hostsrv, "not-precreated.cnm").exists()
