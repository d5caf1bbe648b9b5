"""Testbed validation: one bad testbed per failure mode, each a one-line error naming file, device, field."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkilab.errors import TestbedError
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[3]
SIM = ROOT / "testbeds" / "sim.yaml"


def _variant(tmp_path: Path, mutate: Callable[[dict[str, Any]], object]) -> Path:
    data = yaml.safe_load(SIM.read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


CASES: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "bad-role": (lambda d: d["devices"]["ese-cryagg"]["custom"].update(role="hub"), "device 'ese-cryagg': custom.role"),
    "bad-port": (
        lambda d: d["devices"]["ese-branch"]["connections"]["cli"].update(port=70000),
        "device 'ese-branch': connections.cli.port",
    ),
    "duplicate-port": (
        lambda d: d["devices"]["hq-host"]["connections"]["cli"].update(port=2221),
        "device 'hq-host': connections.cli.port",
    ),
    "bad-protocol": (
        lambda d: d["devices"]["ese-ios-ca"]["connections"]["cli"].update(protocol="rlogin"),
        "device 'ese-ios-ca': connections.cli.protocol",
    ),
    "no-connection": (lambda d: d["devices"]["ese-ios-ca"].update(connections={}), "device 'ese-ios-ca': connections"),
    "bad-os": (lambda d: d["devices"]["ese-ios-ca"].update(os="nxos"), "device 'ese-ios-ca': os"),
    "http-port-clash": (
        lambda d: d["devices"]["ese-branch"]["custom"]["sim"].update(http_port=2221),
        "port 2221 already used by",
    ),
    "bad-image": (
        lambda d: d["devices"]["ese-branch"]["custom"]["sim"].update(image="ios.bin"),
        "device 'ese-branch': custom.sim.image",
    ),
    "unknown-fault": (
        lambda d: d["devices"]["ese-cryagg"]["custom"]["sim"].update(faults=["no-such-fault"]),
        "device 'ese-cryagg': custom.sim.faults",
    ),
    "sim-not-loopback": (
        lambda d: d["devices"]["ese-cryagg"]["connections"]["cli"].update(ip="192.0.2.1"),
        "device 'ese-cryagg': connections.cli.ip",
    ),
    "config-newline": (
        lambda d: d["devices"]["ese-cryagg"]["custom"]["sim"].update(config=["hostname x\nenable secret y"]),
        "device 'ese-cryagg': custom.sim.config",
    ),
    "config-trailing-newline": (  # "$" matches before a final newline: the whole value is checked
        lambda d: d["devices"]["ese-cryagg"]["custom"]["sim"].update(config=["hostname x\n"]),
        "device 'ese-cryagg': custom.sim.config",
    ),
    "image-trailing-newline": (
        lambda d: d["devices"]["ese-branch"]["custom"]["sim"].update(image="c7200-adventerprisek9-mz.152-4.M11.bin\n"),
        "device 'ese-branch': custom.sim.image",
    ),
    "duplicate-address": (
        lambda d: d["topology"]["hq-host"]["interfaces"]["FastEthernet0/0"].update(ipv4="10.59.138.12/24"),
        "topology.FastEthernet0/0.ipv4",
    ),
    "link-two-subnets": (
        lambda d: d["topology"]["hq-host"]["interfaces"]["FastEthernet0/0"].update(ipv4="10.1.1.1/24"),
        "link 'hq-lan' joins different subnets",
    ),
    "bad-interface-name": (
        lambda d: d["topology"]["hq-host"]["interfaces"].update(
            {"eth0": {"ipv4": "10.9.9.9/24", "link": "x", "type": "ethernet"}}
        ),
        "device 'hq-host': topology.interfaces",
    ),
    "pyats-missing-key": (
        lambda d: d["topology"]["hq-host"]["interfaces"]["FastEthernet0/0"].pop("type"),
        'Missing keys: "type"  parent: [topology.hq-host.interfaces.FastEthernet0/0]',
    ),
    "empty-password": (
        lambda d: d["testbed"]["credentials"]["default"].update(password=""),
        "credentials.default.password",
    ),
    "mixed-sim-and-real": (lambda d: d["devices"]["hq-host"]["custom"].pop("sim"), "custom.sim"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_testbed_is_refused_naming_the_field(tmp_path: Path, case: str) -> None:
    mutate, expected = CASES[case]
    path = _variant(tmp_path, mutate)
    with pytest.raises(TestbedError) as info:
        load(path, known_faults={"clock-ignores-ntp"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("devices: [unclosed\n")
    with pytest.raises(TestbedError, match="invalid YAML at line"):
        load(bad)
    with pytest.raises(TestbedError, match="no such file"):
        load(tmp_path / "missing.yaml")


def test_sim_testbed_is_valid() -> None:
    tb = load(SIM)
    assert tb.simulated
    assert {d.role for d in tb.devices} == {"ca", "headend", "branch", "host"}
    sim = tb.device("ese-branch").sim
    assert sim is not None and sim.http_port == 2283


def test_cli_reports_one_line_and_exit_2_before_any_connection(tmp_path: Path) -> None:
    path = _variant(tmp_path, CASES["bad-role"][0])
    proc = subprocess.run(
        [sys.executable, "-m", "pkilab.cli", "sim", "up", "--testbed", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "custom.role" in lines[0] and "Traceback" not in proc.stderr


def test_pytest_stops_with_usage_error_on_a_bad_testbed(tmp_path: Path) -> None:
    path = _variant(tmp_path, CASES["bad-port"][0])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "suites" / "test_lab_baseline.py"),
            "--testbed",
            str(path),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={tmp_path / 'j.xml'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "connections.cli.port" in proc.stdout + proc.stderr
