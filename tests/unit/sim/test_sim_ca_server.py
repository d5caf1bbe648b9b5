"""The simulated IOS certificate server through the synchronous CLI driver and its SCEP application."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.pki.csr import build_csr
from pkilab.pki.fingerprints import request_fingerprint
from pkilab.pki.names import router_subject
from pkilab.protocols.http import HttpResponse
from pkilab.protocols.scep.client import CertRepResult, ScepClient, get_ca_cert_request
from pkilab.protocols.scep.client import HttpRequest as ClientRequest
from pkilab.protocols.scep.message import FailInfo, PkiStatus
from pkilab.sim.features.admin import Admin
from pkilab.sim.features.ca_server import CaServer
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.trustpoint import Trustpoints
from pkilab.sim.http import HttpRequest, dispatch
from unit.sim.simkit import Cli, OfflineLab

CA = "ese-ios-ca"
ISSUER = "CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US, EA = ese-vpn-team"


def seed_ca(
    cli: Cli,
    *,
    grant_auto: bool = False,
    level: str = "names",
    ca_days: int = 508,
    cert_days: int = 254,
    key: bool = True,
) -> str:
    """The seed's "Configuring the Cisco IOS CA Server" steps; returns the no-shutdown output."""
    cli("clock set 09:58:20 30 Jan 2026")
    cli("configure terminal")
    cli("ip http server")
    if key:
        cli(f"crypto key generate rsa general-keys label {CA} modulus 1024 exportable")
    cli(f"crypto pki server {CA}")
    cli(f"database level {level}")
    cli("database url nvram:")
    cli(f"issuer-name {ISSUER}")
    cli("lifetime crl 24")
    cli(f"lifetime certificate {cert_days}")
    cli(f"lifetime ca-certificate {ca_days}")
    if grant_auto:
        assert cli("grant auto").endswith("Are you sure you want to do this? [yes/no]: ")
        cli("yes")
    cli("no shutdown")
    out = cli("yes")
    cli("end")
    return out


def server(lab: OfflineLab) -> CaServer:
    return lab.routers["r1"].feature(CaServer)


def ca_cert(lab: OfflineLab) -> x509.Certificate:
    """The running server's CA certificate (the tests that ask for it have started the server)."""
    cert = server(lab).ca_certificate()
    assert cert is not None, "the certificate server has no CA certificate"
    return cert


def hash_name(signed: x509.Certificate | x509.CertificateRevocationList | None) -> str:
    """The name of the hash algorithm ``signed`` (which exists and names one) was signed with."""
    assert signed is not None and signed.signature_hash_algorithm is not None
    return signed.signature_hash_algorithm.name


def http(lab: OfflineLab, req: ClientRequest) -> HttpResponse:
    url = urlsplit(req.target)
    request = HttpRequest(
        req.method, url.path, dict(parse_qsl(url.query, keep_blank_values=True)), req.body, "127.0.0.1"
    )
    return dispatch(lab.routers["r1"], request)


def enroll(
    lab: OfflineLab, hostname: str, password: str | None = None
) -> tuple[ScepClient, CertRepResult, x509.CertificateSigningRequest]:
    """A router-like SCEP client: returns (client, first CertRep)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    subject = router_subject(hostname)
    client = ScepClient(key, subject, ca_cert(lab), lab.routers["r1"].clock.now())
    csr = build_csr(key, subject, password)
    resp = http(lab, client.pkcs_req(csr))
    return client, client.read_cert_rep(resp.status, resp.content_type, resp.body), csr


def poll(lab: OfflineLab, client: ScepClient) -> CertRepResult:
    resp = http(lab, client.cert_poll())
    return client.read_cert_rep(resp.status, resp.content_type, resp.body)


# ---- configuration and start -------------------------------------------------------------


def test_seed_configuration_starts_the_server(lab: OfflineLab, cli: Cli) -> None:
    out = seed_ca(cli)
    assert "% Certificate Server enabled." in out
    show = cli("show crypto pki server").splitlines()
    ca = ca_cert(lab)
    assert show[:4] == [
        f"Certificate Server {CA}:",
        "    Status: enabled",
        "    State: enabled",
        '    Server\'s configuration is locked  (enter "shut" to unlock it)',
    ]
    assert f"    Issuer name: {ISSUER}" in show
    assert "    Granting mode is: manual" in show
    assert "    Last certificate issued serial number (hex): 1" in show
    assert "    Current primary storage dir: nvram:" in show
    assert "    Database Level: Names - subject name data written as <serialnum>.cnm" in show
    assert "    CA certificate expiration timer: 09:58:20 UTC Jun 22 2027" in show
    assert "    CRL NextUpdate timer: 09:58:20 UTC Jan 31 2026" in show
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == dt.timedelta(days=508)
    fs = lab.routers["r1"].fs
    assert fs.read_text("nvram:1.cnm") == (
        "subjectname_str = cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,"
        "st=NC,c=US,ea=ese-vpn-team\nexpiration = 09:58:20 UTC Jun 22 2027\n"
    )
    assert fs.exists(f"nvram:{CA}.ser") and fs.exists(f"nvram:{CA}.crl")
    crl = x509.load_der_x509_crl(fs.read(f"nvram:{CA}.crl"))
    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    assert crl.is_signature_valid(ca_key) and len(list(crl)) == 0
    tp = lab.routers["r1"].feature(Trustpoints).get(CA)
    assert tp is not None and tp.rsakeypair == CA and tp.ca_cert == ca
    lab.routers["r1"].feature(Admin).save()
    assert fs.exists(f"nvram:{CA}#1CA.cer")  # 15.x: the issuer's CN and the serial (12.x: #6101CA)
    run = cli("show running-config")
    assert f"crypto pki server {CA}\n database level names\n issuer-name {ISSUER}\n" in run
    assert " lifetime crl 24\n lifetime certificate 254\n lifetime ca-certificate 508\n no shutdown\n" in run


def test_time_not_set_refuses_then_starts_once_the_clock_is_set(lab: OfflineLab, cli: Cli) -> None:
    cli("configure terminal")
    cli("ip http server")
    cli(f"crypto pki server {CA}")
    cli("no shutdown")
    out = cli("yes")
    assert "% Time has not been set. Cannot start the Certificate server" in out
    assert "Certificate Server enabled" not in out
    show = cli("do show crypto pki server")
    assert "State: check failed" in show and server(lab).running() is None
    cli("end")
    cli("clock set 12:00:00 1 Feb 2026")
    server(lab).tick(0.0)
    assert server(lab).running() is not None
    # IOS 15 generates the missing key pair NAME itself, exportable.
    pair = lab.routers["r1"].feature(Keys).get(CA)
    assert pair is not None and pair.exportable and pair.bits == 1024


def test_http_server_required(lab: OfflineLab, cli: Cli) -> None:
    cli("clock set 12:00:00 1 Feb 2026")
    cli("configure terminal")
    cli(f"crypto pki server {CA}")
    cli("no shutdown")
    out = cli("yes")
    assert "HTTP server" in out and server(lab).running() is None
    assert "Status: disabled, HTTP Server is disabled" in cli("do show crypto pki server")


def test_missing_key_is_generated_in_the_dialog(lab: OfflineLab, cli: Cli) -> None:
    out = seed_ca(cli, key=False)
    assert (
        "% Generating 1024 bit RSA keys, keys will be exportable...\n[OK] (elapsed time was 0 seconds)\n"
        "% Certificate Server enabled." in out
    )


def test_locked_settings_and_ranges(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    cli("configure terminal")
    cli(f"crypto pki server {CA}")
    for line in (
        "issuer-name CN=other",
        "lifetime ca-certificate 100",
        "database level complete",
        "database url flash:",
    ):
        assert "% Server's configuration is locked" in cli(line), line
    assert "locked" not in cli("lifetime crl 48")
    assert server(lab).settings.crl_hours == 48
    assert "% Invalid input detected" in cli("lifetime crl 337")
    assert "% Invalid input detected" in cli("lifetime certificate 0")
    assert "% Invalid input detected" in cli("lifetime ca-certificate 1826")
    assert "% Certificate Server disabled." in cli("shutdown")
    assert "locked" not in cli("lifetime ca-certificate 1825")
    assert server(lab).settings.ca_days == 1825
    assert "unlocked" in cli("do show crypto pki server")


# ---- SCEP --------------------------------------------------------------------------------


def test_manual_grant_over_scep(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    client, rep, csr = enroll(lab, "ese-cryagg.ese.cisco.com", password="revoke-me")
    assert rep.status == PkiStatus.PENDING
    out = cli(f"crypto pki server {CA} info requests")
    fp = request_fingerprint(csr.public_bytes(Encoding.DER))
    assert f"1      pending    {fp} hostname=ese-cryagg.ese.cisco.com" in out
    assert poll(lab, client).status == PkiStatus.PENDING
    assert cli(f"crypto pki server {CA} grant 1").endswith("r1#")
    assert f"1      granted    {fp} hostname=ese-cryagg.ese.cisco.com" in cli(f"crypto pki server {CA} info requests")
    rep = poll(lab, client)
    assert rep.status == PkiStatus.SUCCESS
    cert = client.issued_certificate(rep)
    ca = ca_cert(lab)
    cert.verify_directly_issued_by(ca)
    assert cert.serial_number == 2
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=254)
    assert "serial number (hex): 2" in cli("show crypto pki server")
    names = lab.routers["r1"].fs.read_text("nvram:2.cnm")
    assert names is not None and names.startswith("subjectname_str = hostname=ese-cryagg.ese.cisco.com\nexpiration = ")


def test_auto_grant_and_complete_database(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True, level="complete")
    _, rep, _ = enroll(lab, "branch.example.com")
    assert rep.status == PkiStatus.SUCCESS
    fs = lab.routers["r1"].fs
    stored = x509.load_der_x509_certificate(fs.read("nvram:2.cer"))
    assert stored.serial_number == 2 and fs.exists("nvram:2.cnm")


def test_minimal_database_writes_no_names(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True, level="minimal")
    enroll(lab, "branch.example.com")
    fs = lab.routers["r1"].fs
    assert not fs.exists("nvram:1.cnm") and not fs.exists("nvram:2.cnm")
    assert "Minimum - no cert data written to storage" in cli("show crypto pki server")


def test_one_time_passwords(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    out = cli(f"crypto pki server {CA} password generate 10")
    first = out.splitlines()[0].split(": ")[1]
    assert "Validity period: 10 minutes" in out
    newest = cli(f"crypto pki server {CA} password generate").splitlines()[0].split(": ")[1]
    # Only the newest password is valid.
    _, rep, _ = enroll(lab, "a.example.com", password=first)
    assert rep.status == PkiStatus.FAILURE and rep.fail_info == FailInfo.BAD_REQUEST
    # The newest grants at once although granting is manual, and only once.
    _, rep, _ = enroll(lab, "b.example.com", password=newest)
    assert rep.status == PkiStatus.SUCCESS
    _, rep, _ = enroll(lab, "c.example.com", password=newest)
    assert rep.status == PkiStatus.FAILURE
    # An expired one is refused.
    late = cli(f"crypto pki server {CA} password generate 1").splitlines()[0].split(": ")[1]
    cli("clock set 10:30:00 30 Jan 2026")
    _, rep, _ = enroll(lab, "d.example.com", password=late)
    assert rep.status == PkiStatus.FAILURE
    # A password the CA never issued is the requester's revocation password: pending.
    _, rep, _ = enroll(lab, "e.example.com", password="something-else")
    assert rep.status == PkiStatus.PENDING


def test_reject_and_unknown_request(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    client, rep, _ = enroll(lab, "x.example.com")
    assert rep.status == PkiStatus.PENDING
    assert "% Request id 7 not found." in cli(f"crypto pki server {CA} reject 7")
    cli(f"crypto pki server {CA} reject 1")
    assert "rejected" in cli(f"crypto pki server {CA} info requests")
    assert poll(lab, client).status == PkiStatus.FAILURE


def test_grant_all_and_resent_request(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    clients = [enroll(lab, f"r{i}.example.com")[0] for i in range(3)]
    cli(f"crypto pki server {CA} grant all")
    serials = sorted(client.issued_certificate(poll(lab, client)).serial_number for client in clients)
    assert serials == [2, 3, 4]


def test_revoke_publishes_a_fresh_crl(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True)
    _, rep, _ = enroll(lab, "branch.example.com")
    assert rep.status == PkiStatus.SUCCESS
    cli("clock set 14:31:24 2 Feb 2026")
    assert cli(f"crypto pki server {CA} revoke 0x2").endswith("r1#")
    out = cli(f"crypto pki server {CA} info crl")
    assert "    Number of CRL entries: 1\n" in out
    assert "    Serial Number (hex): 02\n    Revocation Date: 14:31:24 UTC Feb 2 2026\n" in out
    assert "    This Update: 14:31:24 UTC Feb 2 2026\n    Next Update: 14:31:24 UTC Feb 3 2026\n" in out
    assert out == cli(f"show crypto pki server {CA} crl")
    assert "already revoked" in cli(f"crypto pki server {CA} revoke 0x2")
    assert "hasn't been issued" in cli(f"crypto pki server {CA} revoke 0x9")
    resp = http(
        lab, type("R", (), {"method": "GET", "target": "/cgi-bin/pkiclient.exe?operation=GetCRL", "body": b""})()
    )
    assert resp.status == 200
    crl = x509.load_der_x509_crl(resp.body)
    assert [r.serial_number for r in crl] == [2]
    assert crl.public_bytes(Encoding.DER) == lab.routers["r1"].fs.read(f"nvram:{CA}.crl")


def test_bad_scep_input_and_disabled_server(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    garbage = type(
        "R", (), {"method": "POST", "target": "/cgi-bin/pkiclient.exe?operation=PKIOperation", "body": b"\x30\x03junk"}
    )()
    assert http(lab, garbage).status == 400
    assert http(lab, get_ca_cert_request()).status == 200
    cli("configure terminal")
    cli(f"crypto pki server {CA}")
    cli("shutdown")
    assert http(lab, get_ca_cert_request()).status == 404


# ---- cut-and-paste enrollment ------------------------------------------------------------


def test_request_pkcs10_terminal_and_grant_prints_the_certificate(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    csr = build_csr(key, router_subject("ese-branch.ese.cisco.com"))
    b64 = base64.b64encode(csr.public_bytes(Encoding.DER)).decode()
    out = cli(f"crypto pki server {CA} request pkcs10 terminal")
    assert out.startswith("% Enter Base64 encoded or PEM formatted PKCS10 enrollment request.\n")
    for i in range(0, len(b64), 64):
        cli(b64[i : i + 64])
    assert "% Enrollment request pending, reqId=1" in cli("quit")
    out = cli(f"crypto pki server {CA} grant 1")
    assert out.startswith("% Granted certificate:\n")
    body = "".join(out.splitlines()[1:-1])
    cert = x509.load_der_x509_certificate(base64.b64decode(body))
    assert cert.subject == csr.subject and cert.serial_number == 2


def test_request_pkcs10_garbage_is_refused(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    cli(f"crypto pki server {CA} request pkcs10 terminal")
    cli("bm90IGEgcmVxdWVzdA==")
    assert "% Failed to decode the PKCS10 enrollment request." in cli("quit")
    running = server(lab).running()
    assert running is not None and running.records == {}


# ---- lifetimes, removal, restore -----------------------------------------------------------


def test_ca_certificate_caps_issued_lifetime(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True, ca_days=10, cert_days=365)
    _, rep, _ = enroll(lab, "short.example.com")
    cert = rep.certificates[0]
    assert cert.not_valid_after_utc == ca_cert(lab).not_valid_after_utc


def test_no_crypto_pki_server_dialog_keeps_files(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    cli("configure terminal")
    out = cli(f"no crypto pki server {CA}")
    assert out.endswith(
        "% This will stop the Certificate Server process and delete the server configuration\n"
        "Are you sure you want to do this? [yes/no]: "
    )
    out = cli("yes")
    assert out.endswith(
        "% Do you also want to remove the associated trustpoint and signing certificate and\nkey? [yes/no]: "
    )
    out = cli("yes")
    assert "No enrollment sessions are currently active.\n% Certificate Server Process stopped" in out
    r = lab.routers["r1"]
    assert r.feature(Keys).get(CA) is None and r.feature(Trustpoints).get(CA) is None
    assert "crypto pki server" not in cli("do show running-config")
    assert r.fs.exists(f"nvram:{CA}.ser") and r.fs.exists("nvram:1.cnm")


def test_restore_continues_serials_and_revocations(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True)
    for i in range(3):
        enroll(lab, f"r{i}.example.com")
    cli(f"crypto pki server {CA} revoke 0x3")
    original = server(lab).ca_certificate()
    cli("configure terminal")
    cli(f"crypto key export rsa {CA} pem url nvram: 3des cisco123")
    cli("")
    cli("")
    cli("end")
    lab.routers["r1"].feature(Admin).save()  # writes the CA certificate file
    cli("configure terminal")
    cli(f"no crypto pki server {CA}")
    cli("yes")
    cli("yes")
    assert lab.routers["r1"].feature(Keys).get(CA) is None
    # The seed's restore: import the keys, configure the trustpoint and chain, the server again.
    assert (
        "% Key pair import succeeded."
        in (cli(f"crypto key import rsa {CA} pem url nvram: cisco123"), cli(""), cli(""))[-1]
    )
    cli(f"crypto ca trustpoint {CA}")
    cli("revocation-check crl")
    cli(f"rsakeypair {CA}")
    cli(f"crypto ca certificate chain {CA}")
    cli(f"certificate ca 01 nvram:{CA}#1CA.cer")  # the file 15.2 saved (the seed's 12.x: #6101CA.cer)
    cli("exit")
    cli(f"crypto pki server {CA}")
    cli("database level names")
    cli(f"issuer-name {ISSUER}")
    cli("grant auto")
    cli("yes")
    cli("no shutdown")
    assert "% Certificate Server enabled." in cli("yes")
    cli("end")
    assert server(lab).ca_certificate() == original
    assert "Last certificate issued serial number (hex): 4" in cli("show crypto pki server")
    assert "Serial Number (hex): 03" in cli(f"crypto pki server {CA} info crl")
    _, rep, _ = enroll(lab, "after-restore.example.com")
    assert rep.certificates[0].serial_number == 5


def test_reload_restarts_the_saved_server(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True)
    enroll(lab, "before.example.com")
    router = lab.routers["r1"]
    original = server(lab).ca_certificate()
    router.feature(Admin).save()
    router.boot()
    fresh = router.feature(CaServer)
    assert fresh.running() is None  # the clock is not authoritative after a reload
    router.clock.authoritative = True
    fresh.tick(0.0)
    assert fresh.ca_certificate() == original
    _, rep, _ = enroll(lab, "after.example.com")
    assert rep.certificates[0].serial_number == 3


@pytest.mark.parametrize("synonym", ["crypto ca server", "crypto pki server"])
def test_crypto_ca_synonyms(lab: OfflineLab, cli: Cli, synonym: str) -> None:
    seed_ca(cli)
    assert "Enrollment Request Database:" in cli(f"{synonym} {CA} info requests")
    assert f"Certificate Server {CA}:" in cli("show crypto ca server")


def test_restart_continues_serials(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True)
    enroll(lab, "one.example.com")
    cli("configure terminal")
    cli(f"crypto pki server {CA}")
    cli("shutdown")
    assert server(lab).running() is None
    cli("no shutdown")
    assert "% Certificate Server enabled." in cli("yes")
    cli("end")
    _, rep, _ = enroll(lab, "two.example.com")
    assert rep.certificates[0].serial_number == 3


def test_expired_crl_is_reissued_by_the_router_clock(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    first = server(lab).crl()
    server(lab).tick(0.0)
    assert server(lab).crl() is first  # still current
    cli("clock set 10:00:00 31 Jan 2026")  # past the 24-hour CRL lifetime
    server(lab).tick(0.0)
    fresh = server(lab).crl()
    assert fresh is not None and fresh is not first
    assert fresh.last_update_utc == dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.UTC)
    assert "CRL NextUpdate timer: 10:00:00 UTC Feb 1 2026" in cli("show crypto pki server")


def test_exec_commands_name_the_server(lab: OfflineLab, cli: Cli) -> None:
    assert "% Certificate server other does not exist." in cli("crypto pki server other info requests")
    seed_ca(cli)
    assert "% Certificate server other does not exist." in cli("crypto pki server other grant all")
    assert cli("show crypto pki server other") == "r1#"


def test_show_server_certificates_lists_issued_ones(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli, grant_auto=True, level="complete")
    enroll(lab, "listed.example.com")
    out = cli(f"show crypto pki server {CA} certificates").splitlines()
    assert out[0] == "Serial Issued date              Expire date               Subject Name"
    assert out[1].startswith("1       09:58:20 UTC Jan 30 2026 09:58:20 UTC Jun 22 2027  cn=ese-ios-ca ou=ESE ")
    assert out[2].startswith("2       ") and out[2].endswith("  hostname=listed.example.com")
    # A complete database is read back on restart.
    cli("configure terminal")
    cli(f"crypto pki server {CA}")
    cli("shutdown")
    cli("no shutdown")
    cli("yes")
    cli("end")
    assert cli(f"show crypto pki server {CA} ce").splitlines()[2].startswith("2       ")


def test_unreachable_database_url_does_not_start(lab: OfflineLab, cli: Cli) -> None:
    cli("clock set 12:00:00 1 Feb 2026")
    cli("configure terminal")
    cli("ip http server")
    cli(f"crypto pki server {CA}")
    cli("database url tftp://10.1.1.1/certs")
    cli("no shutdown")
    out = cli("yes")
    assert "% Failed to start the Certificate Server: cannot open tftp://10.1.1.1/certs" in out
    assert server(lab).running() is None
    cli("shutdown")
    cli("database url flash:/certs")
    cli("no shutdown")
    assert "% Certificate Server enabled." in cli("yes")
    assert lab.routers["r1"].fs.exists(f"flash:/certs/{CA}.ser")


def test_hash_and_kept_knobs(lab: OfflineLab, cli: Cli) -> None:
    cli("clock set 12:00:00 1 Feb 2026")
    cli("configure terminal")
    cli("ip http server")
    cli(f"crypto pki server {CA}")
    cli("hash sha512")
    cli("database archive pkcs12 password p4ss")
    cli("no database archive")
    cli("lifetime enrollment-request 24")
    cli("grant auto")
    cli("yes")
    cli("no shutdown")
    assert "% Certificate Server enabled." in cli("yes")
    cli("end")
    run = cli("show running-config")
    assert " lifetime enrollment-request 24\n hash sha512\n no database archive\n" in run
    assert "archive pkcs12" not in run
    assert hash_name(server(lab).ca_certificate()) == "sha512"
    _, rep, _ = enroll(lab, "h.example.com")
    assert hash_name(rep.certificates[0]) == "sha512"
    assert hash_name(server(lab).crl()) == "sha512"


def test_resent_request_is_not_doubled_but_a_reenrollment_is_new(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    subject = router_subject("same-key.example.com")
    client = ScepClient(key, subject, ca_cert(lab), lab.routers["r1"].clock.now())
    csr = build_csr(key, subject, "pw")
    first = http(lab, client.pkcs_req(csr))
    assert client.read_cert_rep(first.status, first.content_type, first.body).status == PkiStatus.PENDING
    again = http(lab, client.pkcs_req(csr))
    assert client.read_cert_rep(again.status, again.content_type, again.body).status == PkiStatus.PENDING
    running = server(lab).running()
    assert running is not None and len(running.records) == 1
    cli(f"crypto pki server {CA} grant 1")
    old = client.issued_certificate(poll(lab, client))
    # Auto-enroll without regenerate: same key, same transactionID, a new request.
    renewal = http(lab, client.pkcs_req(build_csr(key, subject, "pw2")))
    assert client.read_cert_rep(renewal.status, renewal.content_type, renewal.body).status == PkiStatus.PENDING
    cli(f"crypto pki server {CA} grant 2")
    new = client.issued_certificate(poll(lab, client))
    assert (old.serial_number, new.serial_number) == (2, 3)


def test_pending_requests_time_out(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    cli("configure terminal")
    cli(f"crypto pki server {CA}")
    cli("lifetime enrollment-request 2")
    cli("end")
    client, rep, _ = enroll(lab, "slow.example.com")
    assert rep.status == PkiStatus.PENDING
    cli("clock set 11:00:00 30 Jan 2026")
    server(lab).tick(0.0)
    assert poll(lab, client).status == PkiStatus.PENDING
    cli("clock set 12:00:00 30 Jan 2026")
    server(lab).tick(0.0)
    rep = poll(lab, client)
    assert rep.status == PkiStatus.FAILURE and rep.fail_info == FailInfo.BAD_CERT_ID
    assert "slow.example.com" not in cli(f"crypto pki server {CA} info requests")


def test_abbreviated_info_commands(lab: OfflineLab, cli: Cli) -> None:
    seed_ca(cli)
    full = cli(f"crypto pki server {CA} info requests")
    assert cli(f"crypto pki server {CA} info request") == full  # the seed's command table spelling
    assert cli(f"cry pki ser {CA} in req") == full
    assert "Certificate Revocation List:" in cli(f"crypto pki server {CA} info crl")
