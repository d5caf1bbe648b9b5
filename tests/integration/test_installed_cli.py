"""pkilab installed from its wheel and used from a directory outside any checkout, as a new user would.

The wheel is built from this checkout (no network: no build isolation, no dependencies) and
installed into a directory of its own; the commands run with only that directory on the path, from
an empty working directory. Its dependencies come from the environment running the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pkilab.fixtures import worker_offset
from pkilab.resources import sim_testbed
from pkilab.sim.cli import sim_ports
from pkilab.testbed import load

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHIFT = 2600  # this module's labs: every port of sim.yaml moved by SHIFT (plus the worker's offset)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(directory pkilab is installed in, its wheel)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy: building writes build/ and *.egg-info next to the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("lib", "suites", "testbeds"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp)], check=True)
    wheel = next(tmp.glob("pkilab-*.whl"))
    target = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target, wheel


@dataclass(frozen=True)
class User:
    """``user(*args)`` runs ``pkilab ARGS`` from ``home`` with only the installed pkilab (``target``) on the path."""

    home: Path
    env: dict[str, str]
    target: Path

    def __call__(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.target / "bin" / "pkilab"), *args],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture
def user(tmp_path: Path, installed: tuple[Path, Path]) -> User:
    """Run ``pkilab ARGS`` from an empty directory with only the installed pkilab on the path."""
    target, _ = installed
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PKILAB_TESTBED", "PKILAB_PORT_OFFSET")}
    env["PYTHONPATH"] = str(target)
    return User(home, env, target)


def _base() -> int:
    return min(sim_ports(load(sim_testbed()))) + SHIFT + worker_offset()


def test_the_wheel_carries_the_suites_the_testbeds_and_xdist_as_a_dependency(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert {
        "pkilab/suites/test_lab_baseline.py",
        "pkilab/testbeds/sim.yaml",
        "pkilab/testbeds/static-example.yaml",
    } <= names
    assert "Requires-Dist: pytest-xdist>=3.5\n" in metadata  # no `; extra == ...`: the base install


def test_version_help_and_a_missing_action(user: User) -> None:
    version = user("--version")
    assert version.returncode == 0 and version.stdout.startswith("pkilab ")
    helped = user("--help")
    assert helped.returncode == 0 and "``" not in helped.stdout and "init" in helped.stdout
    report = user("report")
    assert report.returncode == 2 and report.stdout == ""
    assert "pkilab report: error: an action is required: merge" in report.stderr


def test_init_writes_a_testbed_that_loads(user: User) -> None:
    done = user("init", "--ca", "ca1=10.1.1.1", "--headend", "he1=10.1.1.2")
    assert done.returncode == 0, done.stderr
    assert (user.home / "testbed.yaml").is_file()
    assert "ca1 (ca, 10.1.1.1:22), he1 (headend, 10.1.1.2:22)" in done.stdout


def test_certify_runs_the_shipped_suites_quietly_from_any_directory(user: User) -> None:
    done = user("certify", "--port-base", str(_base()), "--", "-k", "baseline and identified", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len([line for line in lines if " PASSED " in line]) == 5
    assert all("suites/test_lab_baseline.py::test_device_identified[" in line for line in lines if " PASSED " in line)
    # No noise: no pytest command line, no warning, nothing on stderr.
    assert not any(line.startswith(("pkilab certify:", "WARNING")) for line in lines)
    assert "Warning" not in done.stdout + done.stderr and done.stderr == ""
    results = json.loads((user.home / "reports" / "results.json").read_text())
    assert results["complete"] is True and len(results["results"]) == 5
    testbed_file = results["runs"][0]["testbeds"][0]["testbed_file"]
    assert testbed_file == str(user.target / "pkilab" / "testbeds" / "sim.yaml")


def test_sim_up_from_any_directory_on_chosen_ports(user: User) -> None:
    base = _base() + 200  # not the certify test's lab
    proc = subprocess.Popen(
        [str(user.target / "bin" / "pkilab"), "sim", "up", "--port-base", str(base)],
        cwd=user.home,
        env=user.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None, "started with stdout and stderr piped"
    try:
        lines: list[str] = []
        while not lines or lines[-1] != "ready":
            line = proc.stdout.readline()
            assert line, f"sim up ended early after {lines}: {proc.stderr.read()}"
            lines.append(line.strip())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    stderr = proc.stderr.read()
    assert code == 0, stderr
    ports = sorted(int(line.split(":")[2].split()[0]) for line in lines if ": ssh 127.0.0.1:" in line)
    assert ports[0] == base and len(ports) == 5
    assert "Warning" not in stderr, stderr
