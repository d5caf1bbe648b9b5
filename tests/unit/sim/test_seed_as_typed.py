"""The seed's procedures replayed as the seed types them, on offline simulated routers.

Each test is one fidelity defect found by typing the seed's commands where the seed types them
(issue 13): the command is typed in the mode the seed is in at that step, and the result is read
back through the parsers or the router's state.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.parsers import parse
from pkilab.parsers.syslog import Logging, LogMessage
from pkilab.sim import packets as pk
from pkilab.sim.features.enroll import CRL_FETCH_REASONS
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.trustpoint import Trustpoint, Trustpoints
from unit.sim.simkit import Cli, OfflineLab, make_spec
from unit.sim.test_crypto_tunnel import MiniCa, _pem_lines

# shared/corpus/show_crypto_pki_crls/gh-id44745045678__C8Kv1_iosxe_scep_370b.txt (C8000v, real capture)
CRLS_CAPTURE = """\
CRL Issuer Name:
    cn=ca.qytang.com,ou=qytang
    LastUpdate: 10:38:13 GMT Oct 30 2023
    NextUpdate: 16:38:13 GMT Oct 30 2023

    CRL downloaded at: 10:49:43 GMT Oct 30 2023

    Retrieved from CRL Distribution Point:
      ** CDP Not Published - Retrieved via SCEP

 CRL DER is 370 bytes
 CRL is stored in parsed CRL cache


Parsed CRL cache current size is 370 bytes
Parsed CRL cache maximum size is 65536 bytes
"""


def shape(text: str) -> str:
    """A layout without its values: indentation, labels and blank lines stay; names, dates, numbers go."""
    text = re.sub(r"\d\d:\d\d:\d\d \w+ \w+ +\d+ \d{4}", "DATE", text)
    text = re.sub(r"^(\s+)(cn|CN)=.*$", r"\1DN", text, flags=re.M)
    return re.sub(r"\d+", "N", text)


def out(cli: Cli, command: str) -> str:
    """A command's output without the prompt that follows it."""
    return cli(command).rsplit("\n", 1)[0]


# ---- crypto ca authenticate|enroll|import|export in global configuration mode ----------------------


@pytest.mark.parametrize("family", ["ca", "pki"])
def test_trustpoint_exec_commands_typed_in_configuration_mode(family: str) -> None:
    """Seed "Copying Certificate Enrollments", steps 6-9 and 13: all typed inside ``conf t``."""
    lab = OfflineLab(make_spec("ese-branch"))
    cli = lab.cli("ese-branch")
    ca = MiniCa()
    cli("configure terminal")
    cli("crypto key generate rsa general-keys modulus 1024")
    cli(f"crypto {family} trustpoint ese-ios-ca")
    cli("enrollment terminal")
    cli("revocation-check crl none")
    cli("auto-enroll 70")
    # Step 7: still in the trustpoint sub-mode; IOS finds the command in global configuration.
    reply = cli(f"crypto {family} authenticate ese-ios-ca")
    assert "Enter the base 64 encoded CA certificate." in reply
    for line in _pem_lines(ca.cert):
        cli(line)
    assert "[yes/no]" in cli("quit")
    accepted = cli("yes")
    assert "Trustpoint CA certificate accepted." in accepted
    assert accepted.endswith("ese-branch(config)#"), "the session left the sub-mode for global configuration"
    # Step 9: the terminal enrollment dialog, in configuration mode.
    assert "% Start certificate enrollment" in cli(f"crypto {family} enroll ese-ios-ca")
    cli("no")
    assert "Display Certificate Request to terminal? [yes/no]:" in cli("no")
    request = cli("yes")
    assert "Certificate Request follows:" in request and "---End - This line not part" in request
    assert cli("no").endswith("ese-branch(config)#")
    # Step 13: the granted certificate pasted in configuration mode.
    keys = lab.routers["ese-branch"].feature(Keys)
    own = keys.get(keys.default_label())
    assert own is not None
    public = own.private_key.public_key()
    cert = ca.issue(public, "ese-branch.example.com")
    assert "fully-qualified domain name" in cli(f"crypto {family} import ese-ios-ca certificate")
    for line in _pem_lines(cert):
        cli(line)
    assert "% Router Certificate successfully imported" in cli("quit")
    tp = lab.routers["ese-branch"].feature(Trustpoints).get("ese-ios-ca")
    assert tp is not None and tp.cert is not None
    assert tp.cert.serial_number == cert.serial_number
    verbose = cli("do show crypto ca certificates verbose")
    router_block = verbose[: verbose.index("CA Certificate")]
    assert "  Signature Algorithm: SHA256 with RSA Encryption" in router_block
    assert "  Key Label: ese-branch.example.com" in router_block
    # "Copying Certificate Enrollments" step 1, typed in configuration mode.
    exported = cli(f"crypto {family} export ese-ios-ca pem terminal 3des cisco123")
    assert "% CA certificate:" in exported and "-----BEGIN CERTIFICATE-----" in exported
    assert "% Invalid input" not in exported


# ---- no interface ---------------------------------------------------------------------------------


def test_no_interface_removes_a_loopback_and_what_hangs_off_it(cli: Cli) -> None:
    cli("configure terminal")
    cli("interface Loopback99")
    cli("ip address 192.0.2.99 255.255.255.255")
    cli("ip route 198.51.100.0 255.255.255.0 Loopback99")
    cli("end")
    assert "Loopback99" in cli("show ip interface brief")
    assert "198.51.100.0/24" in cli("show ip route")
    cli("configure terminal")
    assert cli("no interface Loopback99") == "r1(config)#", "accepted silently, as IOS does"
    cli("end")
    assert "Loopback99" not in cli("show ip interface brief")
    assert "192.0.2.99" not in cli("show ip route") and "198.51.100.0" not in cli("show ip route")
    running = cli("show running-config")
    assert "interface Loopback99" not in running and "Loopback99" not in running
    # The name can be used again: a new, empty interface.
    cli("configure terminal")
    cli("interface lo99")
    cli("end")
    assert "interface Loopback99\n no ip address" in cli("show running-config")


def test_no_interface_refuses_a_physical_port(cli: Cli) -> None:
    cli("configure terminal")
    assert "% Removal of physical interfaces is not permitted" in cli("no interface FastEthernet0/0")
    cli("end")
    assert "FastEthernet0/0" in cli("show ip interface brief")
    cli("configure terminal")
    assert cli("no interface Loopback5") == "r1(config)#", "an absent one: nothing to do"


# ---- show crypto pki crls -------------------------------------------------------------------------


def _cached_crl_lab() -> tuple[Cli, Trustpoint]:
    lab = OfflineLab(make_spec("ese-branch"))
    cli = lab.cli("ese-branch")
    cli("configure terminal")
    cli("crypto ca trustpoint ese-ios-ca")
    cli("end")
    ca = MiniCa()
    tp = lab.routers["ese-branch"].feature(Trustpoints).get("ese-ios-ca")
    assert tp is not None
    tp.ca_cert, tp.crl = ca.cert, ca.crl([7])
    tp.crl_source = "** CDP Not Published - Retrieved via SCEP"
    return cli, tp


def test_show_crypto_ca_crls_ends_with_the_parsed_crl_cache_sizes() -> None:
    cli, tp = _cached_crl_lab()
    shown = out(cli, "show crypto ca crls")
    assert shape(shown + "\n") == shape(CRLS_CAPTURE)
    assert tp.crl is not None
    der = len(tp.crl.public_bytes(serialization.Encoding.DER))
    assert shown.endswith(f"Parsed CRL cache current size is {der} bytes\nParsed CRL cache maximum size is 65536 bytes")
    parsed = parse("show crypto pki crls", shown)
    assert (parsed.cache_size, parsed.cache_max_size) == (der, 65536)


def test_show_crypto_pki_crls_parses_under_genie() -> None:
    genie = pytest.importorskip("genie.libs.parser.iosxe.show_crypto")
    cli, _ = _cached_crl_lab()
    result = genie.ShowCryptoPkiCrls(device=None).cli(output=out(cli, "show crypto pki crls"))
    assert result["parsed_crl_cache"]["maximum_size"] == 65536
    assert result["retrieved_from"] == "CDP Not Published - Retrieved via SCEP"


# ---- show logging: marks stamped when logged; %SYS-6-CLOCKUPDATE ------------------------------------


def _messages(cli: Cli, mnemonic: str) -> tuple[LogMessage, ...]:
    logging: Logging = parse("show logging", out(cli, "show logging"))
    return logging.find(mnemonic)


def test_log_marks_are_stamped_when_the_message_is_logged(cli: Cli) -> None:
    cli("configure terminal")
    cli("end")  # %SYS-5-CONFIG_I while the clock is not authoritative: '*'
    [before] = _messages(cli, "CONFIG_I")
    assert before.marker == "*"
    cli("clock set 02:49:00 Feb 5 2035")  # the seed's step 5
    assert cli("show clock").startswith(".02:49:0")
    cli("configure terminal")
    cli("clock timezone EST -5")
    cli("end")  # logged by the clock just set: '.'
    first, second = _messages(cli, "CONFIG_I")
    assert (first.marker, first.timestamp) == ("*", before.timestamp), "an old message keeps its stamp"
    assert second.timestamp is not None
    assert second.marker == "." and second.timestamp.startswith("Feb  4 21:49:"), "new stamps: EST, authoritative"


def test_clockupdate_names_the_old_time_and_the_new_one(cli: Cli) -> None:
    cli("clock set 02:49:00 Feb 5 2035")
    [message] = _messages(cli, "CLOCKUPDATE")
    m = re.fullmatch(
        r"System clock has been updated from (.+) to (.+), configured from console by console\.", message.text
    )
    assert m, message.text
    old = dt.datetime.strptime(m.group(1), "%H:%M:%S UTC %a %b %d %Y").replace(tzinfo=dt.UTC)
    assert abs((old - dt.datetime.now(dt.UTC)).total_seconds()) < 5, "the time before the change (host time here)"
    assert m.group(2) == "02:49:00 UTC Mon Feb 5 2035"
    assert m.group(1) != m.group(2)
    # Composed before the clock became authoritative: the old '*', with the new time.
    assert message.timestamp is not None
    assert message.marker == "*" and message.timestamp.startswith("Feb  5 02:49:00")


# ---- %PKI-3-CRL_FETCH_FAIL reasons ---------------------------------------------------------------


def typed(cli: Cli, line: str) -> str:
    """Type a line, running what it awaits (network work) on an event loop until it is done."""
    import asyncio

    async def drive() -> str:
        step = cli.session.feed(line)
        while step.wait is not None:
            step = cli.session.resume(await step.wait)
        return step.output

    return asyncio.run(drive())


def _fetch_failure(lab: OfflineLab, name: str, url_lines: list[str]) -> list[LogMessage]:
    cli = lab.cli(name)
    cli("configure terminal")
    cli("crypto ca trustpoint ese-ios-ca")
    for line in url_lines:
        cli(line)
    cli("exit")
    typed(cli, "crypto ca crl request ese-ios-ca")  # typed in configuration mode, as the seed does
    cli("end")
    return list(_messages(cli, "CRL_FETCH_FAIL"))


@pytest.mark.parametrize(
    ("url_lines", "reason"),
    [
        ([], "Enrollment URL not configured."),
        (["enrollment url http://no-such-ca:80"], "Unable to resolve the CDP host name."),
        (["enrollment url http://10.0.0.2:80"], "Failed to connect to the CDP."),  # no HTTP server there
    ],
)
def test_crl_fetch_failure_reason_is_ios_wording(url_lines: list[str], reason: str) -> None:
    lab = OfflineLab(make_spec("r1"), make_spec("r2", "10.0.0.2/24"))
    [message] = _fetch_failure(lab, "r1", url_lines)
    assert message.text == f"CRL fetch for trustpoint ese-ios-ca failed Reason : {reason}"
    assert message.lines[1] == f" Reason : {reason}"


def test_crl_fetch_failure_never_shows_simulator_internals() -> None:
    lab = OfflineLab(make_spec("r1"), make_spec("r2", "10.0.0.2/24"))
    r2 = lab.cli("r2")
    r2("configure terminal")
    r2("ip http server")  # answers, but not with a CRL: no certificate server runs there
    r2("end")
    [message] = _fetch_failure(lab, "r1", ["enrollment url http://10.0.0.2:80"])
    reason = message.lines[1].split(":", 1)[1].strip()
    assert reason in set(CRL_FETCH_REASONS.values())
    assert not re.search(r"Errno|Error\b|Exception|HTTP \d|\.py|127\.0\.0\.1|http://", message.text)


# ---- show crypto pki trustpoints before authentication --------------------------------------------


def test_unauthenticated_trustpoint_is_shown_as_pkilab_parse_reads_it(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed step 4 then `show crypto ca trustpoints` before step 5 (authenticate)."""
    from pkilab.cli import main

    cli("configure terminal")
    cli("crypto ca trustpoint ese-ios-ca")
    cli("enrollment url http://ese-ios-ca:80")
    cli("end")
    shown = out(cli, "show crypto ca trustpoints")
    assert shown.splitlines()[:2] == ["Trustpoint ese-ios-ca:", "    SCEP URL: http://ese-ios-ca:80/cgi-bin"]
    saved = tmp_path / "trustpoints.txt"
    saved.write_text(shown + "\n")
    assert main(["parse", "show crypto ca trustpoints", str(saved)]) == 0, capsys.readouterr().err
    [tp] = parse("show crypto pki trustpoints", shown).trustpoints
    assert (tp.name, tp.subject, tp.serial, tp.certificate_configured) == ("ese-ios-ca", (), None, False)
    assert tp.scep_url == "http://ese-ios-ca:80/cgi-bin"


# ---- clear crypto isakmp CONN-ID leaves the IPsec SAs -------------------------------------------------


def test_clear_crypto_isakmp_conn_id_leaves_the_ipsec_sas() -> None:
    """Seed "Revoking a branch", step 7: `clear crypto isa 5`, then the IPsec SA pair is still there."""
    import time

    from pkilab.sim.features.crypto_ike import Crypto
    from unit.sim.test_crypto_tunnel import _specs, ping

    lab = OfflineLab(*_specs())
    he = lab.cli("he")
    ping(lab, 1)
    assert ping(lab, 2) == []
    [sa] = parse("show crypto isakmp sa", out(he, "show crypto isa sa")).sas
    assert he(f"clear crypto isa {sa.conn_id}") == "he#"
    assert parse("show crypto isakmp sa", out(he, "show crypto isa sa")).sas == ()
    # Long after (DPD's 10 s many times over), with no traffic from the branch: still there.
    lab.routers["he"].feature(Crypto).tick(time.monotonic() + 60)
    for name in ("he", "br"):
        engine = parse(
            "show crypto engine connections active", out(lab.cli(name), "show crypto engine connection active")
        )
        assert sorted(c.type for c in engine.connections) == ["IPsec", "IPsec"], name
    # The seed's next step removes them.
    he("clear crypto sa peer 66.66.66.2")
    engine = parse("show crypto engine connections active", out(he, "show crypto engine connection active"))
    assert engine.connections == ()


# ---- quick mode: the responder installs before QM3; debug crypto isakmp shows it -----------------------


def _pair_losing_qm3() -> tuple[OfflineLab, list[bytes]]:
    from unit.sim.test_crypto_tunnel import _specs

    lab = OfflineLab(*_specs())
    services = lab.routers["he"].feature(Ip).udp_services
    deliver, quick_from_branch = services[500], list[bytes]()

    def lossy(ip: pk.IPv4, datagram: pk.Udp, if_name: str) -> None:
        data = datagram.data
        if ip.src == "66.66.66.2" and len(data) > 18 and data[18] == 32:  # exchange type 32: quick mode
            quick_from_branch.append(data)
            if len(quick_from_branch) == 2:
                return  # QM3 is lost on the way
        deliver(ip, datagram, if_name)

    services[500] = lossy
    return lab, quick_from_branch


def test_esp_arriving_before_qm3_is_decrypted() -> None:
    from unit.sim.test_crypto_tunnel import ping

    lab, quick = _pair_losing_qm3()
    he = lab.cli("he")
    he("configure terminal")
    he("logging buffered 64000")
    he("end")
    he("debug crypto isakmp")
    assert ping(lab, 1) == ["br: IPsec SA to 66.66.66.1 not up yet"]
    assert len(quick) == 2, "QM1 and QM3 were sent; QM3 was lost"
    assert ping(lab, 2) == [], "the headend decrypts the branch's first ESP packet and answers it"
    flows = parse("show crypto ipsec sa", out(he, "show crypto ipsec sa")).flows
    assert (flows[0].pkts_decaps, flows[0].pkts_encaps) == (1, 1)
    debug = [m.text for m in parse("show logging", out(he, "show logging")).untagged]
    conn = parse("show crypto isakmp sa", out(he, "show crypto isakmp sa")).sas[0].conn_id
    prefix = f"ISAKMP:({conn}):"
    at = debug.index(f"{prefix}Old State = IKE_QM_SPI_STARVE  New State = IKE_QM_IPSEC_INSTALL_AWAIT")
    installed = next(i for i, t in enumerate(debug) if t.startswith(f"{prefix}Successfully installed IPSEC SA (SPI:0x"))
    assert installed > at and debug[installed].endswith(" on FastEthernet0/0")
    node = debug[at - 1].split("Node ")[1].split(",")[0]
    assert debug[installed + 1 :][:2] == [
        f"{prefix}Node {node}, Input = IKE_MESG_FROM_IPSEC, IPSEC_INSTALL_DONE",
        f"{prefix}Old State = IKE_QM_IPSEC_INSTALL_AWAIT  New State = IKE_QM_R_QM2",
    ]
    assert not any("IKE_QM_PHASE2_COMPLETE" in t for t in debug), "QM3 never came"


def test_debug_crypto_isakmp_shows_quick_mode_on_both_sides() -> None:
    from unit.sim.test_crypto_tunnel import _specs, ping

    lab = OfflineLab(*_specs())
    for name in ("he", "br"):
        cli = lab.cli(name)
        cli("configure terminal")
        cli("logging buffered 64000")
        cli("end")
        cli("debug crypto isakmp")
    ping(lab, 1)
    br_debug = [m.text for m in parse("show logging", out(lab.cli("br"), "show logging")).untagged]
    quick = [t for t in br_debug if "QM" in t or "Quick Mode" in t or "Node " in t]
    assert any(t.endswith("beginning Quick Mode exchange, M-ID of " + t.rsplit(" ", 1)[-1]) for t in quick)
    # The offline lab delivers QM1's answer before the branch has logged sending QM1 (in a running lab
    # the lines come in time order), so the branch's lines are compared as a set.
    assert {t.split("):", 1)[1] for t in quick if "Old State" in t} == {
        "Old State = IKE_QM_READY  New State = IKE_QM_I_QM1",
        "Old State = IKE_QM_I_QM1  New State = IKE_QM_IPSEC_INSTALL_AWAIT",
        "Old State = IKE_QM_IPSEC_INSTALL_AWAIT  New State = IKE_QM_PHASE2_COMPLETE",
    }
    he_debug = [m.text for m in parse("show logging", out(lab.cli("he"), "show logging")).untagged]
    states = [t.split("):", 1)[1] for t in he_debug if "Old State = IKE_QM" in t]
    assert sorted(states) == sorted(
        [
            "Old State = IKE_QM_READY  New State = IKE_QM_SPI_STARVE",
            "Old State = IKE_QM_SPI_STARVE  New State = IKE_QM_IPSEC_INSTALL_AWAIT",
            "Old State = IKE_QM_IPSEC_INSTALL_AWAIT  New State = IKE_QM_R_QM2",
            "Old State = IKE_QM_R_QM2  New State = IKE_QM_PHASE2_COMPLETE",
        ]
    )
    assert any(t.endswith("):QM Responder gets spi") for t in he_debug)
    assert any(t.endswith("):atts are acceptable.") for t in he_debug)


# ---- show crypto pki certificates verbose ---------------------------------------------------------

# shared/corpus/show_crypto_pki_certificates_verbose/gh-id63364777717__vg400_iosxe17_4k_router_and_ca.txt,
# the CA certificate block (real capture, IOS-XE 17).
VERBOSE_CA_CAPTURE = """\
CA Certificate
  Status: Available
  Version: 3
  Certificate Serial Number (hex): 01
  Certificate Usage: Signature
  Issuer:
    cn=CA-4k.labtest.com
  Subject:
    cn=CA-4k.labtest.com
  Validity Date:
    start date: 08:48:45 UTC Aug 15 2023
    end   date: 08:48:45 UTC Aug 12 2033
  Subject Key Info:
    Public Key Algorithm: rsaEncryption
    RSA Public Key: (4096 bit)
  Signature Algorithm: SHA256 with RSA Encryption
  Fingerprint MD5: 7BD20233 A5078333 8CC8C7C5 DAE614EC
  Fingerprint SHA1: B452068C CD39D071 046EEED6 5B0424F6 2439D5BE
  X509v3 extensions:
    X509v3 Key Usage: 86000000
      Digital Signature
      Key Cert Sign
      CRL Signature
    X509v3 Subject Key ID: 4773C5C3 A4161090 7442B558 62713E6B 744857F6
    X509v3 Basic Constraints:
        CA: TRUE
    X509v3 Authority Key ID: 4773C5C3 A4161090 7442B558 62713E6B 744857F6
    Authority Info Access:
  Cert install time: 13:56:18 UTC Feb 6 2024
  Associated Trustpoints: 4k_keypair TP_IP6 4k
  Storage: nvram:CA-4klabtest#1CA.cer
"""


def _labels(text: str) -> list[tuple[int, str]]:
    """Each line's indentation and label (what comes before ':' or the whole fixed text), values dropped."""
    out: list[tuple[int, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        body = line.strip()
        label = body.split(":", 1)[0] if ":" in body and "=" not in body.split(":", 1)[0] else body
        if "=" in body and ":" not in body:
            label = "DN"
        entry = (len(line) - len(line.lstrip()), label)
        if not (label == "DN" and out and out[-1] == entry):  # a DN prints one line per attribute
            out.append(entry)
    return out


def _ios_ca_lab() -> tuple[OfflineLab, Cli]:
    """The seed's CA: an IOS certificate server whose CA certificate the router holds."""
    from unit.sim.test_sim_ca_server import seed_ca

    lab = OfflineLab(make_spec("ese-ios-ca"))
    cli = lab.cli("ese-ios-ca")
    seed_ca(cli)
    return lab, cli


def test_verbose_certificates_render_the_verbose_fields() -> None:
    lab, cli = _ios_ca_lab()
    plain = out(cli, "show crypto ca certificates")
    verbose = out(cli, "show crypto ca certificates verbose")
    assert verbose != plain
    tp = lab.routers["ese-ios-ca"].feature(Trustpoints).get("ese-ios-ca")
    assert tp is not None and tp.ca_cert is not None
    block = verbose[verbose.index("CA Certificate") :]
    captured = [x for x in _labels(VERBOSE_CA_CAPTURE) if x[1] not in ("Associated Trustpoints", "Storage")]
    shown = [x for x in _labels(block) if x[1] not in ("Associated Trustpoints", "Storage", "renew date")]
    assert shown == captured, "same lines, same order, same indentation as the capture"
    from pkilab.pki import fingerprints

    assert f"  Fingerprint MD5: {fingerprints.md5_words(tp.ca_cert)} " in block
    assert f"  Fingerprint SHA1: {fingerprints.sha1_words(tp.ca_cert)} " in block
    ca_key = tp.ca_cert.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    bits = ca_key.key_size
    assert f"    RSA Public Key: ({bits} bit)" in block
    parsed = parse("show crypto pki certificates verbose", verbose)
    [ca] = [c for c in parsed.certificates if c.section == "CA Certificate"]
    assert tp.ca_cert.signature_hash_algorithm is not None
    assert ca.detail("Signature Algorithm") == f"{tp.ca_cert.signature_hash_algorithm.name.upper()} with RSA Encryption"
    assert ca.fingerprint_sha1 == fingerprints.sha1_words(tp.ca_cert)
    assert ca.key_usage == ("Digital Signature", "Key Cert Sign", "CRL Signature")
    assert ca.detail("Cert install time")


def test_grant_help_lists_the_transaction_id_first(cli: Cli) -> None:
    """The seed's ``grant ?``: ``<1-999> Transaction ID``, then ``all all pending requests``."""
    out = cli("crypto pki server ese-ios-ca grant ?")
    rows = [line.split(None, 1) for line in out.splitlines() if line.startswith("  ")]
    assert rows == [["<1-999>", "Transaction ID"], ["all", "all pending requests"]], out
