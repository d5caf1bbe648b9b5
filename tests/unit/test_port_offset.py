"""PKILAB_PORT_OFFSET is read in one place: a bad value is one line and a usage error, never ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pkilab.errors import UserError
from pkilab.testbed import env_port_offset, without_port_offset

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "offset"), [("", 0), ("300", 300), ("-200", -200), (" 7 ", 7)])
def test_offsets_read(monkeypatch: pytest.MonkeyPatch, value: str, offset: int) -> None:
    monkeypatch.setenv("PKILAB_PORT_OFFSET", value)
    assert env_port_offset() == offset


@pytest.mark.parametrize("value", ["abc", "²", "70000", "1e3", "5\n6", "--3"])
def test_bad_offsets_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PKILAB_PORT_OFFSET", value)
    with pytest.raises(UserError, match=r"^PKILAB_PORT_OFFSET=.*: not a port offset"):
        env_port_offset()


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "pkilab.cli", "sim", "up", "--testbed", "testbeds/sim.yaml"],
        ["-m", "pytest", "suites/test_lab_baseline.py", "-q", "-p", "no:cacheprovider", "--junitxml=/dev/null"],
    ],
    ids=["sim-up", "pytest"],
)
def test_a_bad_offset_stops_the_run_before_any_lab(command: list[str]) -> None:
    env = dict(os.environ, PKILAB_PORT_OFFSET="abc")
    proc = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (2, 4), proc.stdout + proc.stderr  # pkilab's user error, pytest's usage error
    said = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "PKILAB_PORT_OFFSET" in ln]
    assert len(said) == 1 and "not a port offset" in said[0], proc.stdout + proc.stderr


def test_a_child_given_a_moved_testbed_does_not_move_it_again() -> None:
    assert without_port_offset({"PKILAB_PORT_OFFSET": "300", "PATH": "/bin"}) == {"PATH": "/bin"}
