"""Data tables: the seed's outputs (rebuilt in IOS layout) -> the facts pkilab asserts on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pkilab.parsers import parse
from pkilab.parsers.exec_dialogs import (
    parse_authenticate,
    parse_enroll,
    parse_grant,
    parse_import,
    parse_ping,
    parse_request_pkcs10,
)
from unit.parsers import parser_seed_outputs as seed

EST = timezone(timedelta(hours=-5))
EDT = timezone(timedelta(hours=-4))


@pytest.mark.parametrize(
    ("text", "auth", "lifetime", "engine"),
    [
        (seed.ISAKMP_SA_DETAIL_PSK, "psk", "01:54:30", ("1", 1, "software")),
        (seed.ISAKMP_SA_DETAIL_RSIG, "rsig", "23:56:35", ("1", 1, "software")),
        (seed.ISAKMP_SA_DETAIL_HW, "rsig", "23:59:01", ("2", 5, "hardware")),
    ],
)
def test_isakmp_sa_detail_12x(text: str, auth: str, lifetime: str, engine: tuple[str, int, str]) -> None:
    table = parse("show crypto isa sa detail", text)
    (sa,) = table.sas
    assert (sa.local, sa.remote) in {("66.66.66.2", "66.66.66.1"), ("66.66.66.1", "66.66.66.2")}
    assert (sa.encr, sa.hash, sa.auth, sa.dh_group, sa.lifetime, sa.capabilities) == (
        "3des", "sha", auth, 2, lifetime, "D")  # fmt: skip
    assert sa.status is None  # 12.x prints no Status column
    assert sa.ivrf is None
    assert (sa.engine_id, sa.engine_conn_id, sa.engine_kind) == engine
    facts = table.to_dict()["sas"][0]
    assert {
        "conn_id",
        "local",
        "remote",
        "encr",
        "hash",
        "auth",
        "dh_group",
        "lifetime",
        "capabilities",
    } <= set(facts)


def test_isakmp_sa_12x_without_status_column() -> None:
    (sa,) = parse("show crypto isakmp sa", seed.ISAKMP_SA_12X).sas
    assert sa.to_dict() | {} == {
        "dst": "66.66.66.1", "src": "66.66.66.2", "state": "QM_IDLE", "conn_id": 5, "status": None,
        "slot": 0, "family": "IPv4", "deleted": False,
    }  # fmt: skip


def test_engine_connections_12x() -> None:
    conns = parse("show crypto engine connection active", seed.ENGINE_12X).connections
    assert [(c.id, c.interface, c.ip, c.state, c.algorithm, c.encrypt, c.decrypt) for c in conns] == [
        (5141, "FastEthernet0/0", "66.66.66.1", "set", "HMAC_SHA+3DES_56_C", 0, 104),
        (5142, "FastEthernet0/0", "66.66.66.1", "set", "HMAC_SHA+3DES_56_C", 104, 0),
    ]


def test_ca_certificates_seed_layout() -> None:
    certs = parse("show crypto ca certificates", seed.CA_CERTIFICATES).certificates
    router, ca = certs
    assert (router.section, router.status, router.serial, router.usage) == (
        "Certificate", "Available", "04", "General Purpose")  # fmt: skip
    assert router.issuer == ("cn=ese-ios-ca", "ou=ESE", "o=Cisco Systems Inc", "l=Raleigh", "st=NC")
    assert router.hostname == "ese-branch.ese.cisco.com"
    assert router.name == "ese-branch.ese.cisco.com"
    assert router.renew == "19:00:00 EST Dec 31 1969"
    assert router.renew_at == datetime(1970, 1, 1, tzinfo=UTC)  # the epoch, printed in EST
    assert router.end_at == datetime(2004, 10, 14, 12, 40, 3, tzinfo=EDT)
    assert router.trustpoints == ("ese-ios-ca",)
    assert (ca.section, ca.serial, ca.usage, ca.renew) == ("CA Certificate", "01", "Signature", None)
    assert ca.subject_dn == "cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC"
    assert ca.start_at == datetime(2004, 1, 30, 9, 58, 20, tzinfo=EST)


def test_pki_server_123t_layout() -> None:
    (srv,) = parse("show crypto pki server", seed.PKI_SERVER_123T).servers
    assert srv.name is None
    assert (srv.status, srv.enabled, srv.granting_mode, srv.last_serial) == (
        "enabled, configured", True, "manual", "0x1")  # fmt: skip
    assert srv.storage == "nvram:"
    assert srv.database_level == "Names - subject name data written as <serialnum>.cnm"
    assert srv.ca_expiration_at == datetime(2005, 6, 21, 10, 58, 20, tzinfo=EDT)


def test_info_requests() -> None:
    (req,) = parse("crypto pki server ese-ios-ca info requests", seed.INFO_REQUESTS_PENDING).requests
    assert (req.id, req.state, req.fingerprint, req.subject) == (
        1, "pending", "93453F440CEA2DB76BB826DDC58C8949", "hostname=ese-cryagg.ese.cisco.com")  # fmt: skip
    granted = seed.INFO_REQUESTS_PENDING.replace("pending", "granted")
    assert parse("crypto pki server ese-ios-ca info requests", granted).requests[0].state == "granted"
    (term,) = parse("crypto pki server ese-ios-ca info req", seed.INFO_REQUESTS_TERMINAL).requests
    assert (term.id, term.fingerprint, term.subject) == (3, "D3EB83CEB0C8E2C0DA25EE42DB0155FC", "")


def test_info_crl() -> None:
    empty = parse("crypto pki server ese-ios-ca info crl", seed.INFO_CRL_EMPTY)
    assert (empty.entries, empty.size, empty.revoked) == (0, 300, ())
    crl = parse("crypto ca server ese-ios-ca info crl", seed.INFO_CRL_REVOKED)
    assert crl.issuer == "cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC"
    assert (crl.this_update, crl.next_update, crl.entries, crl.size) == (
        "17:31:05 EST Feb 8 2004", "17:31:05 EST Feb 9 2004", 3, 362)  # fmt: skip
    assert [(r.serial, r.serial_int, r.date) for r in crl.revoked] == [
        ("0x03", 3, "14:31:24 EST Feb 2 2004"),
        ("0x05", 5, "17:19:20 EST Feb 5 2004"),
        ("0x04", 4, "17:30:56 EST Feb 5 2004"),
    ]
    assert crl.to_dict()["revoked"][0] == {
        "serial": "0x03",
        "date": "14:31:24 EST Feb 2 2004",
        "date_at": "2004-02-02T14:31:24-05:00",
    }


def test_ca_crls() -> None:
    (crl,) = parse("show crypto ca crls", seed.CA_CRLS).crls
    assert (crl.last_update, crl.next_update) == ("09:58:36 EST Feb 2 2004", "09:58:36 EST Feb 3 2004")
    assert crl.retrieved_from == ("** CDP Not Published - Retrieved via SCEP",)


def test_ca_timers() -> None:
    summary, renew = parse("show crypto ca timers", seed.CA_TIMERS).timers
    assert (summary.nested, summary.label, summary.remaining) == (False, "", "175d14:11:34.104")
    assert (renew.nested, renew.label) == (True, "RENEW ese-ios-ca")
    assert renew.seconds == pytest.approx(175 * 86400 + 14 * 3600 + 11 * 60 + 34.104)


def test_mypubkey_with_server_key() -> None:
    keys = parse("show crypto key mypubkey rsa", seed.MYPUBKEY_RSA).keys
    assert [(k.name, k.usage, k.exportable) for k in keys] == [
        ("ese-ios-ca", "General Purpose Key", True),
        ("ese-ios-ca.server", "Encryption Key", True),
    ]
    assert keys[0].key_data.startswith("30819F300D06092A")
    assert keys[1].generated_at == datetime(2004, 1, 30, 9, 28, 17, tzinfo=EST)


def test_dir_nvram_no_date() -> None:
    listing = parse("dir nvram:", seed.DIR_NVRAM)
    assert (listing.total_bytes, listing.free_bytes) == (57336, 43574)
    assert [f.name for f in listing.files][-4:] == [
        "1.cnm",
        "ese-ios-ca.ser",
        "ese-ios-ca.crl",
        "ese-ios-ca#6101CA.cer",
    ]
    cer = listing.get("ese-ios-ca#6101CA.cer")
    assert cer is not None and (cer.size, cer.date, cer.permissions) == (675, None, "-rw-")
    assert listing.to_dict()["files"][1] == {
        "index": 51,
        "permissions": "----",
        "size": 1924,
        "date": None,
        "name": "private-config",
        "filesystem": "nvram:",
    }


def test_more_cnm() -> None:
    cnm = parse("more nvram:1.cnm", seed.MORE_CNM)
    assert cnm.subjectname == "cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC"
    assert cnm.expiration_at == datetime(2005, 6, 21, 10, 58, 20, tzinfo=EDT)


def test_show_log_wrapped_crypto_messages() -> None:
    log = parse("show log", seed.SHOW_LOG_BRANCH)
    assert log.buffer_size == 4096 and log.syslog_enabled is True and log.buffer_level == "debugging"
    assert [(m.facility, m.severity, m.mnemonic) for m in log.messages] == [
        ("CRYPTO", 5, "IKMP_INVAL_CERT"),
        ("CRYPTO", 4, "IKMP_BAD_MESSAGE"),
        ("CRYPTO", 6, "IKMP_MODE_FAILURE"),
    ]
    assert log.messages[0].text == "Certificate received from 66.66.66.1 is bad: CA request failed!"
    assert log.messages[2].text == "Processing of Informational mode failed with peer at 66.66.66.1"
    assert log.messages[0].marker == "."
    assert len(log.find("IKMP_BAD_MESSAGE")) == 1


@pytest.mark.parametrize(("text", "marker", "time", "zone", "date"), seed.CLOCKS)
def test_show_clock(text: str, marker: str, time: str, zone: str, date: str) -> None:
    clock = parse("show clock", text + "\n")
    assert (clock.marker, clock.time, clock.timezone, clock.date) == (marker, time, zone, date)
    assert clock.datetime is not None and clock.datetime.tzinfo is not None
    assert clock.to_dict()["time"] == time


def test_ping_partial_and_failed() -> None:
    ok = parse_ping(seed.PING_REPEAT)
    assert (ok.sent, ok.received, ok.success_rate, ok.pattern) == (15, 11, 73, "....!!!!!!!!!!!")
    assert (ok.rtt_min, ok.rtt_avg, ok.rtt_max, ok.source, ok.target) == (
        4,
        5,
        8,
        "10.113.0.1",
        "10.59.138.12",
    )
    bad = parse("ping ip 10.59.138.13 source e0/0 repeat 100", seed.PING_FAIL)
    assert (bad.sent, bad.received, bad.success_rate, bad.rtt_avg) == (100, 0, 0, None)
    assert bad.pattern == "." * 100  # the pattern wraps after 70 characters


def test_exec_dialogs() -> None:
    for text in (seed.AUTHENTICATE_12X, seed.AUTHENTICATE_15X):
        auth = parse_authenticate(text)
        assert auth.fingerprint == "9D8D787D 574D2955 CA666B2B 22F3C31A"
        assert auth.fingerprint_hex == "9D8D787D574D2955CA666B2B22F3C31A"
        assert auth.accepted is True
    assert parse_authenticate(seed.AUTHENTICATE_15X).fingerprint_sha1 is not None
    scep = parse_enroll(seed.ENROLL_SCEP)
    assert scep.request_sent and scep.fingerprint_md5 == "93453F44 0CEA2DB7 6BB826DD C58C8949"
    assert scep.request is None and scep.subject == "ese-cryagg.ese.cisco.com"
    term = parse_enroll(seed.ENROLL_TERMINAL)
    assert not term.request_sent and term.request == "".join(seed.CSR_B64)
    assert parse_request_pkcs10(seed.REQUEST_PKCS10).request_id == 3
    grant = parse_grant(seed.GRANT_TERMINAL)
    assert grant.certificate == "".join(seed.GRANTED_B64)
    assert grant.pem is not None and grant.pem.startswith("-----BEGIN CERTIFICATE-----\nMIICNTCC")
    imp = parse_import(seed.IMPORT_OK)
    assert imp.success and imp.fqdn == "ese-branch.ese.cisco.com"
    assert not parse_import("% Error in saving certificate: status = FAIL\n").success
