"""Synthetic edge cases: strictness, echoes, blank columns, zones, the registry and the CLI."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pkilab.cli import main
from pkilab.errors import ParseError
from pkilab.parsers import UnknownCommandError, ios_datetime, match_command, parse
from pkilab.parsers._base import Line, number, to_int

DETAIL_15X = """\
IPv4 Crypto ISAKMP SA

C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime Cap.

1074  20.10.20.2      20.30.10.2             ACTIVE aes  sha    rsig 2  23:47:17     \n\
       Engine-id:Conn-id =  SW:74

IPv6 Crypto ISAKMP SA

"""


@pytest.mark.parametrize(
    ("command", "target"),
    [
        ("sh cry isa sa det", "SHOW_CRYPTO_ISAKMP_SA_DETAIL"),
        ("show crypto isakmp sa | include QM_IDLE", "SHOW_CRYPTO_ISAKMP_SA"),
        ("R1#show crypto ca certificates", "SHOW_CRYPTO_PKI_CERTIFICATES"),
        ("sh cry ca cert verbose", "SHOW_CRYPTO_PKI_CERTIFICATES"),
        ("crypto ca server CA info requests", "SHOW_CRYPTO_PKI_SERVER_REQUESTS"),
        ("show crypto pki server CA requests", "SHOW_CRYPTO_PKI_SERVER_REQUESTS"),
        ("show crypto pki server CA crl", "SHOW_CRYPTO_PKI_SERVER_CRL"),
        ("sh cry eng conn act", "SHOW_CRYPTO_ENGINE_CONNECTIONS"),
        ("sh log | begin Log Buffer", "SHOW_LOGGING"),
        ("sh ip int br", "SHOW_IP_INTERFACE_BRIEF"),
        ("ping 10.1.1.1 source Loopback0 repeat 5", "PING"),
        ("MSK-R14(cs-server)#do sho crypto pki server CA requests", "SHOW_CRYPTO_PKI_SERVER_REQUESTS"),
        ("show crypto pki certificates verbose CA-ROOT", "SHOW_CRYPTO_PKI_CERTIFICATES"),
        ("show crypto pki timer detail", "SHOW_CRYPTO_PKI_TIMERS"),
        ("show crypto session remote 1.1.1.1 detail", "SHOW_CRYPTO_SESSION"),
        ("show crypto ipsec sa peer 66.66.66.1 detail", "SHOW_CRYPTO_IPSEC_SA"),
        ("show ntp associations detail", "SHOW_NTP_ASSOCIATIONS_DETAIL"),
    ],
)
def test_command_matching(command: str, target: str) -> None:
    assert match_command(command).name == target


@pytest.mark.parametrize("command", ["sh cry i sa", "show crypto bogus", "", "show running-config"])
def test_unknown_or_ambiguous_commands(command: str) -> None:
    with pytest.raises(UnknownCommandError):
        match_command(command)


def test_detail_with_blank_cap_column_and_trailing_spaces() -> None:
    (sa,) = parse("show crypto isakmp sa detail", DETAIL_15X).sas
    assert (sa.conn_id, sa.status, sa.auth, sa.capabilities, sa.engine_id, sa.engine_conn_id) == (
        1074, "ACTIVE", "rsig", "", "SW", 74)  # fmt: skip


def test_unknown_line_raises_and_quotes_it() -> None:
    bad = DETAIL_15X.replace("IPv6 Crypto ISAKMP SA", "IPv6 Crypto ISAKMP SA\nsomething new here")
    with pytest.raises(ParseError) as info:
        parse("show crypto isakmp sa detail", bad)
    assert "something new here" in str(info.value)
    assert info.value.lineno == 9


@pytest.mark.parametrize(
    ("command", "text"),
    [
        (
            "show crypto isakmp sa",
            "dst  src  state  conn-id status\n1.1.1.1 2.2.2.2 QM_IDLE 1001 ACTIVE\nbogus\n",
        ),
        ("show crypto pki certificates", "Certificate\n  Status: Available\n  Frobnication: yes\n"),
        ("show crypto pki server", "Certificate Server CA:\n    Status: enabled\n    Weird: 1\n"),
        (
            "show crypto engine connections active",
            "  ID Type Algorithm Encrypt Decrypt LastSeqN IP-Address\n x\n",
        ),
        ("show clock", "*10:22:10.625 UTC Thu May 23 2024\nextra\n"),
        ("dir nvram:", "Directory of nvram:/\n  1 -rw- 12 <no date> a\nwhat\n"),
        ("show crypto key mypubkey rsa", "Key name: a\n Usage: General Purpose Key\n odd line\n"),
        ("crypto pki server CA info crl", "Certificate Revocation List:\nOdd: 1\n"),
        ("show crypto ipsec sa", "interface: Gi0/0\n   local  ident (addr/mask/prot/port): (a)\n zzz\n"),
        ("ping 1.1.1.1", "Type escape sequence to abort.\n!!!!!\n"),
    ],
)
def test_parsers_refuse_what_they_do_not_understand(command: str, text: str) -> None:
    with pytest.raises(ParseError):
        parse(command, text)


def test_config_mode_echo_is_tolerated() -> None:
    text = "R12(config)#do show crypto pki trustpoints\nTrustpoint R12:\n    Subject Name:\n    cn=R12\n"
    assert parse("do show crypto pki trustpoints", text).trustpoints[0].subject == ("cn=R12",)


def test_command_echo_and_prompt_are_tolerated() -> None:
    text = "Router#show clock\n*18:57:38.347 UTC Mon Oct 19 2015\nRouter#"
    assert parse("show clock", text).marker == "*"
    echo = "show crypto pki server ios_rootca crl\nCertificate Revocation List:\n    Issuer: cn=RCA1\n"
    assert parse("show crypto pki server ios_rootca crl", echo).issuer == "cn=RCA1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19:00:00 EST Dec 31 1969", datetime(1970, 1, 1, tzinfo=UTC)),
        (
            ".02:49:05.799 EST Mon Feb 5 2035",
            datetime(2035, 2, 5, 2, 49, 5, 799000, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("21:01:48 MSK Nov 14 2024", datetime(2024, 11, 14, 18, 1, 48, tzinfo=UTC)),
        ("22:27:54 IST Oct 23 2025", datetime(2025, 10, 23, 16, 57, 54, tzinfo=UTC)),
        ("2025-10-19T14:07:56Z", datetime(2025, 10, 19, 14, 7, 56, tzinfo=UTC)),
    ],
)
def test_known_zones_give_aware_datetimes(text: str, expected: datetime) -> None:
    got = ios_datetime(text)
    assert got is not None and got.tzinfo is not None and got == expected


def test_unknown_zone_is_naive_not_guessed() -> None:
    got = ios_datetime("10:00:00 XYZT Jan 2 2020")
    assert got == datetime(2020, 1, 2, 10, 0, 0) and got.tzinfo is None
    assert ios_datetime("not a date") is None


def test_cli_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "out.txt"
    f.write_text(DETAIL_15X)
    assert main(["parse", "sh cry isa sa det", str(f)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["sas"][0]["conn_id"] == 1074


def test_cli_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("*10:22:10.625 UTC Thu May 23 2024\n"))
    assert main(["parse", "show clock", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["marker"] == "*"


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("*10:22:10.625 UTC Thu May 23 2024\nnonsense\n")
    assert main(["parse", "show clock", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nonsense" in err
    assert main(["parse", "show frobnicate", str(f)]) == 2
    assert main(["parse", "show clock", str(tmp_path / "missing.txt")]) == 2


def test_filtered_isakmp_rows_without_header() -> None:
    rows = "192.168.1.2     10.1.1.2        QM_IDLE           1075    0 ACTIVE\n"
    (sa,) = parse("sh cry isa sa | i QM_IDLE", rows).sas
    assert (sa.conn_id, sa.slot, sa.status) == (1075, 0, "ACTIVE")
    (sa,) = parse("sh cry isa sa | i QM_IDLE", "103.1.1.1  102.1.1.1  QM_IDLE  1033 ACTIVE\n").sas
    assert (sa.conn_id, sa.slot, sa.status) == (1033, None, "ACTIVE")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("18446744073709551615", 2**64 - 1),  # the widest counter IOS prints
        ("184467440737095516150", None),  # 21 digits
        ("1" * 5000, None),  # past int()'s 4,300-digit limit: refused, not ValueError
        ("²", None),  # str.isdigit() says yes, int() refuses
        ("٣", None),  # int() takes it; IOS never prints it
        ("+5", None),
        ("1_000", None),
        (" 5", None),
        ("", None),
        (None, None),
    ],
)
def test_to_int_takes_only_what_ios_prints(text: str | None, expected: int | None) -> None:
    assert to_int(text) == expected


def test_number_refuses_with_the_line() -> None:
    line = Line(7, "  conn-id: 99999999999999999999999")
    with pytest.raises(ParseError) as info:
        number("show x", line, "99999999999999999999999", "conn-id")
    assert info.value.lineno == 7 and "conn-id is not a number" in str(info.value)


@pytest.mark.parametrize(
    "stamp",
    [
        "10:00:00 UTC Jan 0 2020",
        "10:00:00 UTC Feb 30 2020",
        "24:00:00 UTC Jan 2 2020",
        "10:00:00 UTC Jan 2 0000",
        "2025-00-19T14:07:56Z",
        "2025-13-19T14:07:56Z",
        "2025-10-19T14:07:56+99:99",
        "2025-10-19T14:07:56.1234567890123Z",
    ],
)
def test_impossible_dates_are_not_time_stamps(stamp: str) -> None:
    assert ios_datetime(stamp) is None


def test_a_refused_long_line_is_quoted_short() -> None:
    text = "dst src state conn-id slot status\n" + "x" * 500_000 + "\n"
    with pytest.raises(ParseError) as info:
        parse("show crypto isakmp sa", text)
    assert len(str(info.value)) < 400 and "(500000 characters)" in str(info.value)
    assert info.value.lineno == 2


def test_an_overlong_number_is_a_parse_error_naming_it() -> None:
    text = "dst src state conn-id status\n1.1.1.1 2.2.2.2 QM_IDLE " + "9" * 5000 + " ACTIVE\n"
    with pytest.raises(ParseError, match="conn-id is not a number"):
        parse("show crypto isakmp sa", text)
