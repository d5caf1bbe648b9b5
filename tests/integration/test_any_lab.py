"""The suites certify any lab the testbed describes, and a lab that is not there stops the run.

* ``testbeds/sim-modern.yaml`` differs from the seed's lab in every name, address, interface,
  domain, time zone, port, branch count and crypto profile: the suites must be as green there,
  with nothing skipped.
* A lab whose devices cannot be reached stops before the first test: exit code 3, one line
  naming the device, no test reported as failed.
* A connection lost inside a test is an ERROR of the run, not a FAIL of the router.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from junitkit import junit_outcomes
from pkilab.fixtures import worker_offset

ROOT = Path(__file__).resolve().parents[2]


def _defaults_variant(tmp_path: Path) -> Path:
    """sim-modern.yaml with no custom.pkilab block (every default), two branches, a loopback as one LAN."""
    data = yaml.safe_load((ROOT / "testbeds" / "sim-modern.yaml").read_text())
    data["testbed"]["custom"].pop("pkilab")
    data["testbed"]["name"] = "variant-defaults"
    data["devices"].pop("site-c")
    data["topology"].pop("site-c")
    site = data["topology"]["site-b"]["interfaces"]
    loopback = site.pop("GigabitEthernet0/1")
    loopback.pop("link")
    site["Loopback0"] = {**loopback, "type": "loopback"}
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("lab", ["sim-modern", "defaults-variant"])
def test_suites_green_on_a_lab_unlike_the_seeds(tmp_path: Path, lab: str) -> None:
    testbed = ROOT / "testbeds" / "sim-modern.yaml" if lab == "sim-modern" else _defaults_variant(tmp_path)
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PKILAB_PORT_OFFSET=str((3000 if lab == "sim-modern" else 3300) + worker_offset()))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--testbed", str(testbed), f"--junitxml={junit}"]
        + ["-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    outcomes = junit_outcomes(junit)
    bad = {name: tag for name, tag in outcomes.items() if tag != "passed"}
    assert proc.returncode == 0 and not bad, (bad, proc.stdout[-3000:])
    assert len(outcomes) >= 60, f"only {len(outcomes)} suite tests ran"
    last = "site-c" if lab == "sim-modern" else "site-b"
    assert [n for n in outcomes if "test_neighbour_reachable" in n and last in n], "the last branch took part"


def _unreachable(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for i, dev in enumerate(data["devices"].values()):
        dev["custom"].pop("sim")
        dev["connections"]["cli"]["port"] = 9 + i  # nothing listens on these loopback ports
    path = tmp_path / "unreachable.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unreachable_lab_stops_before_the_first_test(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "pkilab.cli", "certify", "--testbed", str(_unreachable(tmp_path))]
        + ["--reports", str(reports)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "pre-flight: device" in lines[0] and "unreachable" in lines[0], proc.stderr
    junit = reports / "junit.xml"
    if junit.is_file():
        assert not [t for t in junit_outcomes(junit).values() if t in ("failure", "error")]


def test_connection_lost_inside_a_test_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "test_lost.py").write_text(
        "from pkilab.errors import DeviceConnectionError\n\n\n"
        "def test_lost():\n"
        "    raise DeviceConnectionError('r1', 'connection lost: reset by peer')\n\n\n"
        "def test_misbehaved():\n"
        "    assert False, 'the router said no'\n"
    )
    junit = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "test_lost.py"), f"--junitxml={junit}", "-q"]
        + ["-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outcomes = {name.rsplit("::", 1)[1]: tag for name, tag in junit_outcomes(junit).items()}
    assert outcomes == {"test_lost": "error", "test_misbehaved": "failure"}


@pytest.mark.parametrize(
    ("workers", "offset"), [((), 3500), (("-n", "1"), 3600)], ids=["one-process", "xdist-via-run-log"]
)
def test_reports_name_the_certified_plan(tmp_path: Path, workers: tuple[str, ...], offset: int) -> None:
    """The plan reaches the reports. ``certify`` takes it from the run log, not from a second load of
    the testbed; under pytest-xdist the workers' suite properties never reach the JUnit file, so there
    the plan in the reports can only have come through the log."""
    import json

    reports = tmp_path / "reports"
    env = dict(os.environ, PKILAB_PORT_OFFSET=str(offset + worker_offset()))
    proc = subprocess.run(
        [sys.executable, "-m", "pkilab.cli", "certify", "--testbed", "testbeds/sim-modern.yaml", *workers]
        + ["--reports", str(reports), "--", "-k", "device_identified"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    plan = json.loads((reports / "results.json").read_text())["runs"][0]["testbeds"][0]["plan"]
    assert plan["crypto"]["profile"] == "modern" and plan["ca"]["server"] == "corp-ca"
    assert [b["name"] for b in plan["branches"]] == ["site-a", "site-b", "site-c"]
    markdown = (reports / "report.md").read_text()
    assert "## Lab plans certified" in markdown and "crypto modern" in markdown
    assert "hub-gw" in (reports / "report.html").read_text()


def _static_view(tmp_path: Path, running: Path, edit: str) -> Path:
    """The running simulated lab described as real routers, with one thing wrong on ese-branch."""
    data = yaml.safe_load(running.read_text())
    for dev in data["devices"].values():
        dev["custom"].pop("sim")
    branch = data["devices"]["ese-branch"]
    if edit == "password":
        branch["credentials"] = {"default": {"username": "admin", "password": "not-the-password"}}
    else:
        branch["platform"] = "c8000v"
    path = tmp_path / f"static-{edit}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("edit", "says"), [("password", "login refused"), ("platform", "not the c8000v")])
def test_preflight_names_the_device_that_refuses_or_is_another_platform(tmp_path: Path, edit: str, says: str) -> None:
    from pkilab.labs.sim import SimLabRunner
    from pkilab.testbed import load

    shift = 3700 + worker_offset()
    lab = load(ROOT / "testbeds" / "sim.yaml").shifted(shift)
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for dev in data["devices"].values():
        dev["connections"]["cli"]["port"] += shift
    running = tmp_path / "running.yaml"
    running.write_text(yaml.safe_dump(data))
    runner = SimLabRunner(lab).start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pkilab.cli", "certify", "--testbed", str(_static_view(tmp_path, running, edit))]
            + ["--reports", str(tmp_path / "reports"), "--", "-k", "device_identified"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        runner.stop()
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "device 'ese-branch'" in lines[0] and says in lines[0], proc.stderr
    assert "not-the-password" not in proc.stdout + proc.stderr
