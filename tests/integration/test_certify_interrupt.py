"""``pkilab certify`` interrupted at several points of a real run on the simulated lab.

Each run is a subprocess in its own session (as a shell job is); the signal goes to certify alone
or to its whole process group (what Ctrl-C at a terminal does), when its output shows the run has
reached the point wanted. Afterwards: the exit code, the four reports marked interrupted with every
collected test either run or listed as not run (none nameless, none counted twice), no pytest left
and every port of the lab closed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pkilab.fixtures import worker_offset
from pkilab.resources import sim_testbed
from pkilab.sim.cli import sim_ports
from pkilab.testbed import load
from pkilab.wait import wait_until

pytestmark = pytest.mark.slow

SHIFT = 2300  # this module's labs: every port of sim.yaml moved by SHIFT (plus the worker's offset)
SELECTION = "baseline or ca_server"  # 34 quick tests, the lab started by the first
_PROGRESS = re.compile(r"^\[\s*(\d+)/(\d+)\]")


class Run:
    """A ``pkilab certify`` subprocess whose output is read as it comes."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.reports = tmp / "reports"
        base = min(sim_ports(load(sim_testbed()))) + SHIFT + worker_offset()
        command = [sys.executable, "-m", "pkilab.cli", "certify", "--reports", str(self.reports)]
        command += ["--port-base", str(base), *args, "--", "-k", SELECTION]
        self.proc = subprocess.Popen(
            command,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None, "started with stdout and stderr piped"
        self.stdout, self.stderr = self.proc.stdout, self.proc.stderr
        self.lines: list[str] = []
        self.pytest: int | None = None  # certify's pytest when the signal was sent
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.stdout), daemon=True)
        self.reader.start()

    def done(self) -> int:
        """Return how many tests have finished so far."""
        counts = [int(m[1]) for line in list(self.lines) if (m := _PROGRESS.match(line))]
        return max(counts, default=0)

    def pytest_pid(self) -> int | None:
        """Return the pid of certify's pytest, once started (certify may run other children before)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            return None
        for pid in pids:
            try:
                if b"\0-m\0pytest\0" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(pid)
            except OSError:
                continue
        return None

    def signal_when(self, ready: Callable[[], object], sig: int, group: bool) -> tuple[int, str, str]:
        """Send ``sig`` once ``ready()`` holds; return (exit code, stdout, stderr)."""
        wait_until(ready, 240, 0.05, "the run reaches the point to interrupt")
        self.pytest = self.pytest_pid()
        (os.killpg if group else os.kill)(self.proc.pid, sig)
        code = self.proc.wait(180)
        self.reader.join(10)
        return code, "".join(self.lines), self.stderr.read()


def _lab_ports() -> list[int]:
    return sim_ports(load(sim_testbed()).shifted(SHIFT + worker_offset()))


def _assert_nothing_left(pytest_pid: int | None) -> None:
    import socket

    open_ports = []
    for port in _lab_ports():
        with socket.socket() as probe:
            probe.settimeout(2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                open_ports.append(port)
    assert open_ports == [], f"still listening: {open_ports}"
    if pytest_pid is not None:
        assert not Path(f"/proc/{pytest_pid}").exists(), "certify's pytest outlived it"


def _assert_reports_interrupted(reports: Path, name: str, stdout: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((reports / "results.json").read_text())
    run = document["runs"][0]
    assert document["complete"] is False and run["interrupted"] == name
    collected = {int(m[2]) for line in stdout.splitlines() if (m := _PROGRESS.match(line))}
    ids = [r["nodeid"] for r in document["results"]]
    assert all(ids) and len(ids) == len(set(ids)), "a nameless or repeated result"
    if collected:  # every collected test is there: run, or listed as not run
        assert len(ids) == collected.pop()
    not_run = [r for r in document["results"] if r["outcome"] == "notrun"]
    assert not_run and run["totals"]["notrun"] == len(not_run)
    assert f"**INTERRUPTED** ({name})" in (reports / "report.md").read_text()
    assert f"INTERRUPTED ({name})" in (reports / "report.html").read_text()
    junit = (reports / "junit.xml").read_text()
    assert f'name="interrupted" value="{name}"' in junit and 'type="pkilab.notrun"' in junit
    assert f"INTERRUPTED ({name}): {len(not_run)} of {len(ids)} tests did not run or finish" in stdout
    return document


def test_sigint_to_certify_alone_inside_a_test(tmp_path: Path) -> None:
    run = Run(tmp_path)
    code, out, err = run.signal_when(lambda: run.done() >= 3, signal.SIGINT, False)
    assert code == 130, out + err
    document = _assert_reports_interrupted(run.reports, "SIGINT", out)
    assert sum(r["outcome"] == "passed" for r in document["results"]) >= 3
    _assert_nothing_left(run.pytest)


def test_ctrl_c_to_the_process_group_mid_run(tmp_path: Path) -> None:
    run = Run(tmp_path)
    code, out, err = run.signal_when(lambda: run.done() >= 20, signal.SIGINT, True)
    assert code == 130, out + err
    _assert_reports_interrupted(run.reports, "SIGINT", out)
    _assert_nothing_left(run.pytest)


def test_sigterm_as_soon_as_pytest_starts(tmp_path: Path) -> None:
    run = Run(tmp_path)
    code, out, err = run.signal_when(run.pytest_pid, signal.SIGTERM, False)
    assert code == 143, out + err
    document = json.loads((run.reports / "results.json").read_text())
    assert document["complete"] is False and document["runs"][0]["interrupted"] == "SIGTERM"
    _assert_nothing_left(run.pytest)


def test_sigterm_to_the_process_group_with_two_workers(tmp_path: Path) -> None:
    run = Run(tmp_path, "-n", "2")
    code, out, err = run.signal_when(lambda: run.done() >= 6, signal.SIGTERM, True)
    assert code == 143, out + err
    _assert_reports_interrupted(run.reports, "SIGTERM", out)
    _assert_nothing_left(run.pytest)


def test_a_pytest_that_outlives_the_grace_period_is_killed_and_the_reports_still_written(tmp_path: Path) -> None:
    # No grace at all: pytest is killed (SIGKILL) as soon as it is interrupted; it writes nothing,
    # certify writes every report from the run log.
    run = Run(tmp_path, env={"PKILAB_INTERRUPT_GRACE": "0"})
    code, out, err = run.signal_when(lambda: run.done() >= 3, signal.SIGINT, False)
    assert code == 130, out + err
    document = _assert_reports_interrupted(run.reports, "SIGINT", out)
    assert sum(r["outcome"] == "passed" for r in document["results"]) >= 3
    _assert_nothing_left(run.pytest)
