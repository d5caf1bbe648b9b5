"""Masking: no secret of the testbed or of the seed's procedures appears anywhere under a reports dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkilab.errors import TestbedError
from pkilab.report import cli as report_cli
from pkilab.report.document import build_report
from pkilab.report.junit import enrich_junit, load_junit
from pkilab.report.masking import build_masker, secrets_in_testbed
from pkilab.report.write import write_reports
from pkilab.secrets import Masker
from unit.report.report_samples import (
    LEAKY_TRANSCRIPT,
    SEED_SECRETS,
    TESTBED_SECRETS,
    TESTBED_YAML,
    Case,
    Suite,
    leaks,
    write,
)

ALL_SECRETS = TESTBED_SECRETS + SEED_SECRETS


@pytest.fixture
def testbed(tmp_path: Path) -> Path:
    path = tmp_path / "podA.yaml"
    path.write_text(TESTBED_YAML)
    return path


def _leaky_suite() -> Suite:
    """A run whose JUnit leaks every secret: in names, properties, messages, tracebacks, transcripts."""
    return Suite(
        cases=(
            Case.of(
                "suites/test_vpn.py::test_psk_prep_tunnel[Psk-Wrong-Guess4]",
                outcome="failed",
                message="AssertionError: crypto isakmp key bigsecret address 66.66.66.2 not accepted",
                text="E   login Tb-Login-Secret1 refused\nE   enable secret 5 Tb-Enable-Secret2",
                system_out=LEAKY_TRANSCRIPT,
            ),
            Case.of(
                "suites/test_ca.py::test_key_export",
                outcome="error",
                message="crypto key export rsa ese-ios-ca pem url nvram: 3des cisco123 failed",
                system_out="challenge Challenge-Pw6 / HE login 4321987",
                seed_section="Export Export-Pass5",
            ),
            Case.of("suites/test_ca.py::test_server_up", outcome="passed"),
        ),
    )


def test_secrets_in_testbed_are_collected(testbed: Path) -> None:
    found = secrets_in_testbed(testbed)
    assert set(TESTBED_SECRETS) <= found
    # Names, labels and addresses are not secrets: masking them would ruin the transcripts.
    assert not found & {"admin", "ese-ios-ca", "podA", "ios", "router", "ca", "headend"}


def test_bad_testbed_is_a_testbed_error(tmp_path: Path) -> None:
    with pytest.raises(TestbedError, match="cannot read"):
        secrets_in_testbed(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices: [unclosed\n")
    with pytest.raises(TestbedError, match="invalid YAML at line"):
        secrets_in_testbed(bad)


def test_no_secret_anywhere_under_reports(tmp_path: Path, testbed: Path) -> None:
    masker = build_masker([testbed])
    xml = enrich_junit(load_junit(write(tmp_path / "raw.xml", _leaky_suite())), masker, run="podA")
    reports = tmp_path / "reports"
    write_reports(build_report([("podA", "raw.xml", xml)], title="t"), reports, masker, junit=xml)
    assert sorted(p.name for p in reports.iterdir()) == [
        "junit.xml",
        "report.html",
        "report.md",
        "results.json",
    ]
    assert leaks(reports, ALL_SECRETS) == []
    # The failures are still reported, masked rather than dropped.
    html = (reports / "report.html").read_text()
    assert "crypto isakmp key ******** address 66.66.66.2" in html
    assert "test_psk_prep_tunnel[********]" in html


def test_the_leak_search_finds_unmasked_secrets(tmp_path: Path) -> None:
    # Control: with a masker that knows no testbed, the testbed's values do leak, and the
    # search above would have said so.
    masker = Masker()
    xml = enrich_junit(load_junit(write(tmp_path / "raw.xml", _leaky_suite())), masker, run="podA")
    reports = tmp_path / "reports"
    write_reports(build_report([("podA", "raw.xml", xml)], title="t"), reports, masker, junit=xml)
    found = leaks(reports, ALL_SECRETS)
    assert any("Tb-Login-Secret1" in f for f in found)
    assert any("Challenge-Pw6" in f for f in found)
    # Secrets in their IOS context are masked by pattern even without the testbed.
    assert not any(f.endswith(": bigsecret") or f.endswith(": cisco123") for f in found)


def test_report_merge_masks_with_the_given_testbeds(tmp_path: Path, testbed: Path) -> None:
    run1 = write(tmp_path / "pod1" / "junit.xml", _leaky_suite())
    run2 = write(tmp_path / "pod2" / "junit.xml", _leaky_suite())
    out = tmp_path / "merged"
    parser_args = ["report", "merge", str(run1), str(run2), "-o", str(out), "--testbed", str(testbed)]
    from pkilab.cli import main

    assert main(parser_args) == 0
    assert leaks(out, ALL_SECRETS) == []
    assert report_cli.DEFAULT_TITLE in (out / "report.html").read_text()


def test_pyats_markup_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyats.utils.secret_strings import SecretString

    monkeypatch.setenv("PKILAB_REPORT_TEST_PW", "From-Env-Secret7")
    encoded = SecretString.from_plaintext("From-Enc-Secret8").data
    path = tmp_path / "tb.yaml"
    path.write_text(
        "testbed:\n  credentials:\n"
        '    default: {password: "%ENV{PKILAB_REPORT_TEST_PW}"}\n'
        f'    enable: {{password: "%ENC{{{encoded}}}"}}\n'
    )
    assert {"From-Env-Secret7", "From-Enc-Secret8"} <= secrets_in_testbed(path)
