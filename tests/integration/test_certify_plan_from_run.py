"""``pkilab certify`` takes the lab plan for its reports from the run itself, not from a second load.

The pytest run logs its suite facts (testbed, file, lab plan) in the run log; ``certify`` reads
them there instead of loading the testbed through pyATS again before pytest starts. The whole
command, in one process and under pytest-xdist, is checked in ``test_any_lab.py``
(``test_reports_name_the_certified_plan``).
"""

from __future__ import annotations

import json
from pathlib import Path

from pkilab.report.runlog import read_run_log


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
