"""``pkilab certify`` on throwaway suites: progress, summary, reports, masking and exit codes.

The suites live under tmp_path with a conftest standing in for the pkilab plugin: it adds
``--testbed``, records the JUnit properties of the contract, rejects a bad testbed with a
usage error exit, and writes the (here deliberately unmasked) transcript to system-out. The
real plugin is kept out with ``-p no:pkilab.plugin``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xmlschema

from pkilab.report.certify import usage_error_line
from unit.report.report_samples import SCHEMA, SEED_SECRETS, TESTBED_SECRETS, TESTBED_YAML, leaks

CONFTEST = """
import pytest
import yaml

def pytest_addoption(parser):
    parser.addoption("--testbed", default=None)

def pytest_configure(config):
    config.addinivalue_line("markers", "roles(*roles): device roles a test needs")

def pytest_collection_modifyitems(session, config, items):
    # As the pkilab plugin does: validate the testbed before anything runs.
    path = config.getoption("testbed")
    data = yaml.safe_load(open(path)) if path else {"testbed": {"name": "none"}, "devices": {}}
    if "devices" not in data:
        message = f"pkilab: testbed error: {path}: devices: missing (a testbed needs at least one device)"
        pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)
    config.stash["tb"] = data

@pytest.fixture(autouse=True)
def _contract(request, record_testsuite_property):
    data = request.config.stash["tb"]
    record_testsuite_property("testbed", data["testbed"]["name"])
    for name in data["devices"]:
        record_testsuite_property(f"device.{name}.role", "ca" if name == "CA" else "headend")
        record_testsuite_property(f"device.{name}.platform", "ISR4451")
        record_testsuite_property(f"device.{name}.image", "15.4(3)M2")
    request.node.user_properties.append(("nodeid", request.node.nodeid))
    request.node.user_properties.append(("seed_section", "Configuring the VPN headend"))
    yield
    request.node.user_properties.append(("devices", "CA,HE"))
"""

PASSING = """
import pytest

@pytest.mark.roles("ca", "headend")
@pytest.mark.xdist_group("HE")
def test_ca_server_up():
    print("CA#show crypto pki server")

@pytest.mark.parametrize("mode", ["rsig", "psk"])
@pytest.mark.xdist_group("HE")
def test_ike(mode):
    print("HE#show crypto isakmp sa detail")
"""

FAILING = """
def test_tunnel_refused():
    print("HE#conf t\\nHE(config)#crypto isakmp key bigsecret address 66.66.66.2")
    print("login Tb-Login-Secret1 / enable Tb-Enable-Secret2")
    assert False, "SA came up with Tb-Login-Secret1 accepted"
"""


def _suite(tmp_path: Path, **modules: str) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    (suite / "pytest.ini").write_text("[pytest]\njunit_logging = system-out\n")
    for name, text in modules.items():
        (suite / f"{name}.py").write_text(textwrap.dedent(text))
    return suite


def _testbed(tmp_path: Path, text: str = TESTBED_YAML) -> Path:
    path = tmp_path / "podA.yaml"
    path.write_text(text)
    return path


def _certify(tmp_path: Path, *args: str, pytest_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pkilab.cli",
        "certify",
        *args,
        "--",
        "-p",
        "no:pkilab.plugin",
        *pytest_args,
    ]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)


def test_all_passed_exits_0_with_progress_summary_and_reports(tmp_path: Path) -> None:
    suite = _suite(tmp_path, test_headend=PASSING)
    proc = _certify(tmp_path, "--testbed", str(_testbed(tmp_path)), "--suites", str(suite))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) == 3
    assert progress[0].startswith("[1/3] PASSED   ")
    assert "test_headend.py::test_ca_server_up on CA,HE (" in progress[0]
    assert "Summary" in lines and any(line.startswith("Total") and " 3 " in line for line in lines)
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "junit.xml",
        "report.html",
        "report.md",
        "results.json",
    ]
    records = json.loads((reports / "results.json").read_text())["results"]
    assert [(r["outcome"], r["image"], r["testbed"]) for r in records] == [("passed", "15.4(3)M2", "podA")] * 3
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(reports / "junit.xml"))


def test_failure_exits_1_and_nothing_leaks(tmp_path: Path) -> None:
    suite = _suite(tmp_path, test_headend=PASSING, test_tunnel=FAILING)
    out = tmp_path / "campaign"
    proc = _certify(tmp_path, "--testbed", str(_testbed(tmp_path)), "--suites", str(suite), "--reports", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = [line for line in proc.stdout.splitlines() if "FAILED" in line]
    assert any("test_tunnel.py::test_tunnel_refused on CA,HE" in line for line in failed)
    assert "SA came up with ******** accepted" in proc.stdout
    html = (out / "report.html").read_text()
    assert "crypto isakmp key ******** address 66.66.66.2" in html  # the transcript, masked
    assert leaks(out, TESTBED_SECRETS + SEED_SECRETS) == []
    for secret in TESTBED_SECRETS + SEED_SECRETS:
        assert secret not in proc.stdout + proc.stderr


def test_testbed_error_exits_2_with_one_line(tmp_path: Path) -> None:
    suite = _suite(tmp_path, test_headend=PASSING)
    bad = _testbed(tmp_path, "testbed:\n  name: broken\n")
    proc = _certify(tmp_path, "--testbed", str(bad), "--suites", str(suite))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"pkilab: error: testbed error: {bad}: devices: missing (a testbed needs at least one device)"
    ]
    # pytest's own junit.xml (no test ran) stays; no report claims a result.
    assert not (tmp_path / "reports" / "results.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--testbed", "absent.yaml"), "pkilab: error: absent.yaml: no such file"),
        (("--workers", "0"), "pkilab: error: --workers must be at least 1, not 0"),
    ],
)
def test_usage_errors_exit_2_before_running(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = _certify(tmp_path, *args)
    assert proc.returncode == 2
    assert proc.stderr.strip() == message
    assert "pkilab certify:" not in proc.stdout  # pytest never started


@pytest.mark.parametrize(
    ("args", "message"),
    [(("suites/test_x.py",), "pytest arguments go after --"), (("-k", "ike"), "unrecognized arguments: -k")],
)
def test_pytest_arguments_need_the_separator(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    command = [sys.executable, "-m", "pkilab.cli", "certify", *args]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_no_tests_collected_exits_2(tmp_path: Path) -> None:
    suite = _suite(tmp_path, test_headend=PASSING)
    proc = _certify(
        tmp_path, "--testbed", str(_testbed(tmp_path)), "--suites", str(suite), pytest_args=("-k", "nothing")
    )
    assert proc.returncode == 2
    assert "no tests collected" in proc.stderr


def test_parallel_run_with_loadgroup(tmp_path: Path) -> None:
    suite = _suite(tmp_path, test_headend=PASSING, test_tunnel=FAILING)
    proc = _certify(tmp_path, "--testbed", str(_testbed(tmp_path)), "--suites", str(suite), "-n", "2", "--verbose")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "-n 2 --dist loadgroup" in proc.stdout
    progress = sorted(line.split()[2] for line in proc.stdout.splitlines() if line.startswith("["))
    assert len(progress) == 4
    records = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    # xdist's "@HE" group suffix is a placement, not part of the test's identity.
    assert sorted(r["nodeid"] for r in records) == [
        "test_headend.py::test_ca_server_up",
        "test_headend.py::test_ike[psk]",
        "test_headend.py::test_ike[rsig]",
        "test_tunnel.py::test_tunnel_refused",
    ]


@pytest.mark.parametrize(
    ("stderr", "line"),
    [
        (
            "Exit: pkilab: testbed error: tb.yaml: device 'R1': os: must be ios\n",
            "testbed error: tb.yaml: device 'R1': os: must be ios",
        ),
        (
            "ERROR: usage: pytest [options]\n__main__.py: error: unrecognized arguments: --bogus\n  inifile: None\n",
            "unrecognized arguments: --bogus",
        ),
        ("ERROR: file or directory not found: suitez\n", "file or directory not found: suitez"),
        ("", "pytest rejected its arguments"),
    ],
)
def test_usage_error_line(stderr: str, line: str) -> None:
    assert usage_error_line(stderr) == line


WARNING = """
import warnings

def test_warns():
    warnings.warn("the CA's clock is not authoritative yet (Challenge-Pw6)")
"""


def test_warnings_are_shown_once_masked_and_the_command_line_only_with_verbose(tmp_path: Path) -> None:
    suite = _suite(tmp_path, test_warning=WARNING)
    proc = _certify(tmp_path, "--testbed", str(_testbed(tmp_path)), "--suites", str(suite))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warned = [line for line in proc.stdout.splitlines() if line.startswith("WARNING")]
    assert warned == ["WARNING  UserWarning: the CA's clock is not authoritative yet (********) (test_warning.py:5)"]
    assert "pkilab certify:" not in proc.stdout
    verbose = _certify(tmp_path, "--testbed", str(_testbed(tmp_path)), "--suites", str(suite), "--verbose")
    assert verbose.stdout.startswith("pkilab certify: ") and "--junitxml=" in verbose.stdout.splitlines()[0]
