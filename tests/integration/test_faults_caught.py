"""Each suite that certifies a behaviour fails when the simulator is told to violate it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml

from pkilab.fixtures import worker_offset
from pkilab.testbed import without_port_offset

ROOT = Path(__file__).resolve().parents[2]

# fault -> (suite file, -k expression, test that must fail, faulted device)
CASES = {
    "clock-ignores-ntp": (
        "suites/test_lab_baseline.py",
        "clocks",
        "test_clocks_authoritative_and_in_step",
        "ese-branch",
    ),
    "wrong-ca-fingerprint": (
        "suites/test_enrollment_scep.py",
        "manual_grant",
        "test_headend_manual_grant",
        "ese-cryagg",
    ),
    "no-renew-date": (
        "suites/test_enrollment_scep.py",
        "manual_grant or issued",
        "test_issued_certificate_fields",
        "ese-cryagg",
    ),
    "ca-starts-without-clock": (
        "suites/test_ca_server.py",
        "authoritative_clock",
        "test_no_start_without_authoritative_clock",
        "ese-branch",
    ),
    "revoked-serial-off-crl": (
        "suites/test_revocation.py",
        "revoked_serial",
        "test_revoked_serial_on_the_crl",
        "ese-ios-ca",
    ),
    "reused-otp-accepted": ("suites/test_enrollment_scep.py", "one_time", "test_one_time_password", "ese-ios-ca"),
    "serial-reset-on-restore": ("suites/test_backup_restore.py", "restore", "test_restore_continues", "ese-ios-ca"),
    "ignore-crl": (
        "suites/test_revocation.py",
        "revoked_serial or refused_once_cleared",
        "test_revoked_branch_refused_once_cleared",
        "ese-cryagg",
    ),
    "accept-expired-certificates": (
        "suites/test_clock_skew.py",
        "before_certificate_start",
        "test_clock_before_certificate_start_refused",
        "ese-branch",
    ),
    "psk-survives-removal": (
        "suites/test_psk_to_rsig.py",
        "psk",
        "test_removed_key_no_longer_authenticates",
        "ese-cryagg",
    ),
    "isakmp-sa-misprinted": (
        "tests/contract/test_catalog_contract.py",
        "rendered_and_read_back",
        "test_every_command_pkilab_reads_is_rendered_and_read_back",
        "ese-branch",
    ),
    "crl-fetch-failure-admits": (
        "suites/test_ca_outage.py",
        "refused_while",
        "test_new_tunnels_refused_while_the_ca_is_down",
        "ese-cryagg",
    ),
}


def _faulted_testbed(tmp_path: Path, fault: str, device: str = "ese-branch", offset: int = 2000) -> Path:
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for dev in data["devices"].values():
        dev["connections"]["cli"]["port"] += offset
        dev["custom"]["sim"]["http_port"] += offset
    data["devices"][device]["custom"]["sim"]["faults"] = [fault]
    # A faulted clock never synchronizes: the lab plan's deadline for that is shortened.
    data["testbed"]["custom"]["pkilab"]["deadlines"] = {"clock_sync": 8}
    path = tmp_path / f"faulted-{fault}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("fault", sorted(CASES))
def test_suite_fails_on_faulted_router(tmp_path: Path, fault: str) -> None:
    suite, expr, must_fail, device = CASES[fault]
    testbed = _faulted_testbed(tmp_path, fault, device=device, offset=2000 + worker_offset())
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            suite,
            "-k",
            expr,
            "--testbed",
            str(testbed),
            f"--junitxml={junit}",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        # The testbed's ports are already moved by this run's offset: the child must not move them again.
        env=without_port_offset(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    failed = {
        case.name
        for suite_ in JUnitXml.fromfile(str(junit))
        for case in suite_
        if case.result and case.result[0]._tag in ("failure", "error")
    }
    assert any(name.startswith(must_fail) for name in failed), failed


def test_every_listed_fault_has_a_catching_suite() -> None:
    from pkilab.sim.faults import FAULTS

    assert set(FAULTS) == set(CASES), "a fault without a suite that catches it proves nothing"
