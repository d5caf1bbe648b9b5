"""``pkilab certify`` takes the lab plan for its reports from the run itself, not from a second load.

The pytest run logs its suite facts (testbed, file, lab plan) in the run log; ``certify`` reads
them there instead of loading the testbed through pyATS again before pytest starts. Under
pytest-xdist the workers' suite properties never reach the JUnit file, so there the plan in the
reports can only have come through the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pkilab.fixtures import worker_offset
from pkilab.report.runlog import read_run_log

ROOT = Path(__file__).resolve().parents[2]


def test_the_plan_reaches_the_reports_of_an_xdist_run_through_the_run_log(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = dict(os.environ, PKILAB_PORT_OFFSET=str(3600 + worker_offset()))
    proc = subprocess.run(
        [sys.executable, "-m", "pkilab.cli", "certify", "--testbed", "testbeds/sim-modern.yaml", "-n", "1"]
        + ["--reports", str(reports), "--", "-k", "device_identified"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    plan = json.loads((reports / "results.json").read_text())["runs"][0]["testbeds"][0]["plan"]
    assert plan["crypto"]["profile"] == "modern" and [b["name"] for b in plan["branches"]] == [
        "site-a",
        "site-b",
        "site-c",
    ]


def test_the_run_log_keeps_the_suite_facts(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(
        json.dumps({"suite": {"testbed": "pod7", "lab_plan": '{"name": "pod7"}'}})
        + "\n"
        + json.dumps({"collected": ["a.py::t"]})
        + "\n"
    )
    log = read_run_log(path)
    assert log.suite == {"testbed": "pod7", "lab_plan": '{"name": "pod7"}'} and log.collected == ["a.py::t"]
