"""Configuring the Cisco IOS CA Server (seed: "Configuring the Cisco IOS CA Server", steps 1-18).

The CA comes up as the seed configures it — status, granting mode, serial, fingerprint, storage
files, the CA certificate's subject, issuer and validity (= ``lifetime ca-certificate``) — and
refuses what IOS refuses: out-of-range lifetimes and key sizes, changes to locked settings, and a
start without an authoritative clock.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pkilab.device.session import Answer
from pkilab.errors import CommandError
from pkilab.parsers import parse
from pkilab.procedures import baseline, clock, pki
from pkilab.wait import wait_until

SEED = pki.CaServerSettings()  # ese-ios-ca, names, lifetimes crl 24 / certificate 254 / ca-certificate 508
TZ_LINES = ["clock timezone EST -5", "clock summer-time EDT recurring"]
UNDO = ["no ip http server", "no clock summer-time", "no clock timezone"]

pytestmark = [pytest.mark.roles("ca"), pytest.mark.destructive]


@pytest.fixture(scope="module")
def ca(sessions):
    session = sessions.get("ca")
    before = baseline.snapshot(session)
    try:
        session.config(TZ_LINES)
        server = pki.bring_up_ca(session, SEED)
        session.run("write memory")
        yield session, server
    finally:
        left = baseline.restore(sessions.get("ca"), before, UNDO)
        assert not left, f"the CA could not be restored: {left}"


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 15")
def test_server_enabled_as_configured(device, ca):
    server = parse("show crypto pki server", device("ca").run("show crypto pki server")).servers[0]
    assert server.enabled and server.status == "enabled"
    assert server.granting_mode == "manual"
    assert int(server.last_serial, 16) == 1, "the CA certificate is serial 1"
    assert server.storage.startswith("nvram:")
    assert server.database_level.startswith("Names")
    assert server.fingerprint and len(server.fingerprint.split()) == 4


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Steps 16 and 18")
def test_ca_certificate_and_storage_files(device, ca):
    session = device("ca")
    certs = parse("show crypto pki certificates", session.run("show crypto pki certificates")).certificates
    ca_cert = next(c for c in certs if c.section == "CA Certificate")
    assert ca_cert.status == "Available" and int(ca_cert.serial, 16) == 1
    assert ca_cert.usage == "Signature"
    assert ca_cert.issuer == ca_cert.subject, "self-signed"
    assert ca_cert.subject[:5] == ("cn=ese-ios-ca", "ou=ESE", "o=Cisco Systems Inc", "l=Raleigh", "st=NC")
    assert SEED.name in ca_cert.trustpoints
    assert ca_cert.end_at - ca_cert.start_at == dt.timedelta(days=SEED.lifetime_ca_certificate)
    files = {f.name for f in parse("dir nvram:", session.run("dir nvram:")).files}
    assert {"ese-ios-ca.ser", "ese-ios-ca.crl", "1.cnm", "ese-ios-ca#6101CA.cer"} <= files, files
    cnm = parse("more nvram:1.cnm", session.run("more nvram:1.cnm"))
    assert cnm.subjectname.startswith("cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC")
    assert cnm.expiration_at == ca_cert.end_at


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 14")
@pytest.mark.parametrize("line", ["issuer-name CN = other", "lifetime ca-certificate 100", "database level complete"])
def test_settings_locked_after_no_shutdown(device, ca, line):
    session = device("ca")
    session.run("configure terminal")
    try:
        session.run(f"crypto pki server {SEED.name}")
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
def test_out_of_range_lifetimes_refused(device, ca, line):
    session = device("ca")
    session.run("configure terminal")
    try:
        session.run(f"crypto pki server {SEED.name}")
        with pytest.raises(CommandError, match="Invalid input"):
            session.run(line)
    finally:
        session.run("end", check=False)


@pytest.mark.seed("Architectural Design Considerations (key length); Configuring the CA Server, Step 3")
@pytest.mark.parametrize("modulus", [512, 1024, 2048])
def test_key_sizes_in_range_are_generated(device, ca, modulus):
    session = device("ca")
    label = f"pkilab-k{modulus}"
    try:
        out = pki.generate_keys(session, label, modulus, exportable=False)
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
def test_key_sizes_out_of_range_refused(device, ca, modulus):
    session = device("ca")
    with pytest.raises((CommandError, ValueError)):
        pki.generate_keys(session, "pkilab-bad", modulus, exportable=False)


@pytest.mark.seed("Configuring the Cisco IOS CA Server, Step 2 (the clock must be set)")
@pytest.mark.roles("branch")
def test_no_start_without_authoritative_clock(device, sessions):
    """A router whose clock nobody vouches for (no NTP, never set) refuses to start a CA."""
    session = device("branch")
    before = baseline.snapshot(session)
    servers = clock.ntp_servers(session)
    try:
        session.config([f"no {line}" for line in servers] + ["ip http server"])
        session.run("write memory")
        session.reload(save=False)
        session = wait_until(lambda: sessions.alive("branch"), 60, 0.5, "branch back after reload")
        shown = parse("show clock", session.run("show clock"))
        assert shown.marker == "*", "after a reload without NTP the clock is not authoritative"
        session.run("configure terminal")
        session.run(f"crypto pki server {SEED.name}")
        out = session.dialog("no shutdown", [Answer(r"\[yes/no\]:", "yes")], check=False)
        session.run("end", check=False)
        assert "Time has not been set" in out, out
        servers_now = parse("show crypto pki server", session.run("show crypto pki server")).servers
        assert not any(s.enabled for s in servers_now)
    finally:
        session = sessions.alive("branch") or session
        baseline.restore(session, before, ["no ip http server", *servers])
        clock.wait_synchronized(session)
