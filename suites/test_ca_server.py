"""Configuring the Cisco IOS CA Server (seed: "Configuring the Cisco IOS CA Server", steps 1-18).

The CA comes up as the seed configures it — status, granting mode, serial, fingerprint, storage
files, the CA certificate's subject, issuer and validity (= ``lifetime ca-certificate``) — and
refuses what IOS refuses: out-of-range lifetimes and key sizes, changes to locked settings, and a
start without an authoritative clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography import x509

from pkilab.device.session import Answer, Session
from pkilab.errors import CommandError
from pkilab.fixtures import DeviceGetter, SessionPool
from pkilab.parsers import parse
from pkilab.pki import fingerprints
from pkilab.pki.names import parse_ios_dn, render_dn_lines
from pkilab.plan import LabPlan
from pkilab.procedures import baseline, clock, pki, scenario
from pkilab.wait import wait_until

pytestmark = [pytest.mark.roles("ca"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def settings(plan: LabPlan) -> pki.CaServerSettings:
    """The plan's CA (name, issuer, lifetimes, key size)."""
    return pki.CaServerSettings.from_plan(plan)


@pytest.fixture(scope="module")
def ca(sessions: SessionPool, plan: LabPlan, settings: pki.CaServerSettings) -> Iterator[Session]:
    with scenario.ca_running(plan, sessions.get, settings) as session:
        session.run("write memory")
        yield session


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 15")
def test_server_enabled_as_configured(device: DeviceGetter, ca: Session, settings: pki.CaServerSettings) -> None:
    server = parse("show crypto pki server", device("ca").run("show crypto pki server")).servers[0]
    assert server.enabled and server.status is not None and server.status.startswith("enabled")
    assert server.granting_mode == "manual"
    assert int(server.last_serial, 16) == 1, "the CA certificate is serial 1"
    assert server.storage.startswith("nvram:")
    assert server.database_level.startswith("Names")
    exported = pki.export_ca_pem(device("ca"), settings.name, settings.passphrase)
    md5 = fingerprints.md5_words(x509.load_pem_x509_certificate(exported.encode()))
    if server.fingerprint is not None:  # 15.x and XE print it; the seed's 12.x layout does not
        assert server.fingerprint == md5, "the fingerprint is the CA certificate's"


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Steps 16 and 18")
def test_ca_certificate_and_storage_files(
    device: DeviceGetter, ca: Session, plan: LabPlan, settings: pki.CaServerSettings
) -> None:
    session = device("ca")
    certs = parse("show crypto pki certificates", session.run("show crypto pki certificates")).certificates
    ca_cert = next(c for c in certs if c.section == "CA Certificate")
    assert ca_cert.status == "Available" and pki.serial(ca_cert) == 1
    assert ca_cert.usage == "Signature"
    assert ca_cert.issuer == ca_cert.subject, "self-signed"
    expected = tuple(render_dn_lines(parse_ios_dn(settings.issuer_name)))
    assert ca_cert.subject == expected, "the CA certificate's subject is the configured issuer-name"
    assert settings.name in ca_cert.trustpoints
    assert ca_cert.end_at - ca_cert.start_at == dt.timedelta(days=settings.lifetime_ca_certificate)
    files = {f.name for f in parse("dir nvram:", session.run("dir nvram:")).files}
    name = settings.name
    assert {f"{name}.ser", f"{name}.crl", "1.cnm"} <= files, files
    # The CA certificate's file: its name differs by release (ese-ios-ca#6101CA.cer in the seed,
    # ISSUERCN#1CA.cer later); where the release prints it (Storage:), it is that one.
    stored = [f for f in files if "#" in f and f.endswith("CA.cer")]
    assert len(stored) == 1, files
    if ca_cert.storage is not None:
        assert ca_cert.storage == f"nvram:{stored[0]}"
    cnm = parse("more nvram:1.cnm", session.run("more nvram:1.cnm"))
    assert cnm.subjectname == ",".join(expected)
    assert cnm.expiration_at == ca_cert.end_at


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 14")
@pytest.mark.parametrize("line", ["issuer-name CN = other", "lifetime ca-certificate 100", "database level complete"])
def test_settings_locked_after_no_shutdown(
    device: DeviceGetter, ca: Session, settings: pki.CaServerSettings, line: str
) -> None:
    session = device("ca")
    session.run("configure terminal")
    try:
        session.run(f"crypto pki server {settings.name}")
        out = session.run(line, check=False)
    finally:
        session.run("end", check=False)
    assert out.strip().startswith("%") and "locked" in out, f"{line!r} accepted on a running CA: {out!r}"


@pytest.mark.seed("Architectural Design Considerations (CRL lifetime 1-336 h); Steps 10-12")
@pytest.mark.parametrize(
    "line",
    [
        "lifetime crl 0",
        "lifetime crl 337",
        "lifetime certificate 0",
        "lifetime certificate 1826",
        "lifetime ca-certificate 1826",
    ],
)
def test_out_of_range_lifetimes_refused(
    device: DeviceGetter, ca: Session, settings: pki.CaServerSettings, line: str
) -> None:
    session = device("ca")
    session.run("configure terminal")
    try:
        session.run(f"crypto pki server {settings.name}")
        with pytest.raises(CommandError, match="Invalid input"):
            session.run(line)
    finally:
        session.run("end", check=False)


@pytest.mark.seed("Architectural Design Considerations (key length); Configuring the CA Server, Step 3")
@pytest.mark.parametrize("modulus", [512, 1024, 2048])
def test_key_sizes_in_range_are_generated(device: DeviceGetter, plan: LabPlan, ca: Session, modulus: int) -> None:
    session = device("ca")
    label = f"pkilab-k{modulus}"
    try:
        out = pki.generate_keys(session, label, modulus, exportable=False, timeout=plan.deadlines.keygen)
        assert f"The key modulus size is {modulus} bits" in out
        keys = parse("show crypto key mypubkey rsa", session.run("show crypto key mypubkey rsa")).keys
        key = next(k for k in keys if k.name == label)
        assert key.exportable is False
    finally:
        session.config([])
        session.run("configure terminal")
        session.dialog(f"crypto key zeroize rsa {label}", [Answer(r"\[yes/no\]:", "yes")], check=False)
        session.run("end", check=False)


@pytest.mark.parametrize("modulus", [300, 5000])
def test_key_sizes_out_of_range_refused(device: DeviceGetter, ca: Session, modulus: int) -> None:
    session = device("ca")
    with pytest.raises((CommandError, ValueError)):
        pki.generate_keys(session, "pkilab-bad", modulus, exportable=False)


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 2 (the clock must be set)")
@pytest.mark.roles("branch")
def test_no_start_without_authoritative_clock(
    device: DeviceGetter, sessions: SessionPool, plan: LabPlan, settings: pki.CaServerSettings
) -> None:
    """A router whose clock nobody vouches for (no NTP, never set) refuses to start a CA."""
    name = plan.branch.name
    session = device(name)
    servers = clock.ntp_servers(session)
    try:
        _refused_without_clock(sessions, plan, settings, name, servers)
    finally:
        clock.wait_synchronized(sessions.get(name), plan.deadlines.clock_sync)


def _refused_without_clock(
    sessions: SessionPool, plan: LabPlan, settings: pki.CaServerSettings, name: str, servers: list[str]
) -> None:
    session = sessions.get(name)
    with baseline.left_as_found(sessions.get, name) as keeper:
        keeper.undo(name, "no ip http server", *servers)
        session.config([f"no {line}" for line in servers] + ["ip http server"])
        session.run("write memory")
        session.reload(save=False, boot_timeout=plan.deadlines.reload)
        session = wait_until(lambda: sessions.alive(name), plan.deadlines.reload, 0.5, f"{name} back after reload")
        shown = parse("show clock", session.run("show clock"))
        assert shown.marker == "*", "after a reload without NTP the clock is not authoritative"
        session.run("configure terminal")
        session.run(f"crypto pki server {settings.name}")
        out = session.dialog("no shutdown", [Answer(r"\[yes/no\]:", "yes")], check=False)
        session.run("end", check=False)
        assert "Time has not been set" in out, out
        assert not any(s.enabled for s in pki.server_status(session).servers)
