"""The certification suites certify a lab reached the ways real labs expose their routers.

The seed's lab reached only through telnet consoles (``testbeds/sim-console.yaml``, GNS3 style),
only through a CML-style terminal server (``sim-termserver.yaml``: ``proxy: terminal_server``,
``command: open /<lab>/<node>/0``), only through an SSH jump host (``sim-jumphost.yaml``), and with
the connections CML writes for pyATS (``class: unicon.Unicon``: the unicon backend, with unicon's
own init commands). Each runs a representative subset of the suites — the baseline, the CA server
(a router reloaded on its console), revocation (CRL, IKE refused with the seed's logs) and the CA
outage (the headend reloaded) — and must be as green as over SSH, nothing skipped. The full runs are
documented commands (README, docs/sim-access.md):

    pytest suites --testbed testbeds/sim-console.yaml        # likewise sim-termserver, sim-jumphost
    pytest suites --testbed testbeds/sim-termserver.yaml --backend unicon

A fault on a router reached by its console still fails the suite that certifies the behaviour (the
console's log handling hides nothing), and a testbed with a connection field pkilab does not
support stops ``pkilab certify`` with one line naming it.
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
from pkilab.testbed import load, unicon_available

ROOT = Path(__file__).resolve().parents[2]
SUBSET = ("test_lab_baseline.py", "test_ca_server.py", "test_revocation.py", "test_ca_outage.py")
OFFSET = 10000  # the access testbeds' ports (5001-5291) moved clear of every other module's labs


def _cml_with_unicon(tmp_path: Path) -> Path:
    """sim-termserver.yaml as CML writes it for pyATS users: ``defaults: {class: unicon.Unicon}`` per node."""
    data = yaml.safe_load((ROOT / "testbeds" / "sim-termserver.yaml").read_text())
    for dev in data["devices"].values():
        if "role" in dev.get("custom", {}):
            dev["connections"]["defaults"] = {"class": "unicon.Unicon"}
    path = tmp_path / "sim-termserver-unicon.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run_suites(testbed: Path, junit: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PKILAB_PORT_OFFSET=str(OFFSET + worker_offset()))
    return subprocess.run(
        [sys.executable, "-m", "pytest", *(f"suites/{s}" for s in SUBSET), "--testbed", str(testbed)]
        + [f"--junitxml={junit}", "-q", "-p", "no:cacheprovider", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize(
    "lab",
    [
        "sim-console",
        "sim-termserver",
        "sim-jumphost",
        pytest.param(
            "cml-unicon",
            marks=pytest.mark.skipif(not unicon_available(), reason="the unicon extra is not installed"),
        ),
    ],
)
def test_suites_green_through_the_access_path(tmp_path: Path, lab: str) -> None:
    testbed = _cml_with_unicon(tmp_path) if lab == "cml-unicon" else ROOT / "testbeds" / f"{lab}.yaml"
    routers = load(testbed).devices
    expected = "unicon" if lab == "cml-unicon" else "netmiko"
    assert {d.backend for d in routers} == {expected}
    assert all(d.connection.proxy for d in routers) == (lab in ("sim-termserver", "sim-jumphost", "cml-unicon"))
    junit = tmp_path / "junit.xml"
    proc = _run_suites(testbed, junit)
    outcomes = junit_outcomes(junit)
    bad = {name: tag for name, tag in outcomes.items() if tag != "passed"}
    assert proc.returncode == 0 and not bad, (bad, proc.stdout[-3000:])
    assert len(outcomes) >= 35, f"only {len(outcomes)} suite tests ran"
    assert [n for n in outcomes if "test_no_start_without_authoritative_clock" in n], "the reload test ran"


def test_a_fault_is_still_caught_over_the_consoles(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "testbeds" / "sim-console.yaml").read_text())
    data["devices"]["ese-cryagg"]["custom"]["sim"]["faults"] = ["ignore-crl"]
    testbed = tmp_path / "faulted.yaml"
    testbed.write_text(yaml.safe_dump(data, sort_keys=False))
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PKILAB_PORT_OFFSET=str(OFFSET + worker_offset()))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_revocation.py", "--testbed", str(testbed)]
        + ["-k", "revoked_serial or refused_once_cleared", f"--junitxml={junit}", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    outcomes = {name.rsplit("::", 1)[1]: tag for name, tag in junit_outcomes(junit).items()}
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert outcomes["test_revoked_branch_refused_once_cleared"] == "failure", outcomes


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("ese-branch", "connections.a.banner", "anything"),
        ("terminal_server", "connections.cli.ssh_options", "-o ProxyCommand=nc %h %p"),
        ("ese-branch", "connections.a.class", "unicon.Unicon2"),
    ],
)
def test_a_field_pkilab_does_not_support_is_refused_in_one_line(
    tmp_path: Path, where: str, field: str, value: str
) -> None:
    data = yaml.safe_load((ROOT / "testbeds" / "sim-termserver.yaml").read_text())
    *path, key = field.split(".")
    node = data["devices"][where]
    for part in path:
        node = node[part]
    node[key] = value
    testbed = tmp_path / "unsupported.yaml"
    testbed.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "pkilab.cli", "certify", "--testbed", str(testbed), "--reports", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr
    assert len(lines) == 1 and f"device {where!r}" in lines[0], proc.stderr
    assert field in lines[0] and "Traceback" not in proc.stderr, lines[0]
    if "ssh_options" in field:
        assert "'proxycommand' not supported by pkilab" in lines[0]  # the option itself is named
