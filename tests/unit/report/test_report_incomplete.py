"""Interrupted runs in JUnit and the reports: cut-short tests have no verdict, never-run tests are listed."""

from __future__ import annotations

import json
from pathlib import Path

import xmlschema

from pkilab.report.document import build_report
from pkilab.report.incomplete import junit_address, junit_from_log, mark_interrupted
from pkilab.report.junit import enrich_junit, load_junit
from pkilab.report.matrix import build_matrix
from pkilab.report.model import TestResult
from pkilab.report.runlog import RunLogWriter, read_run_log
from pkilab.report.write import write_reports
from pkilab.secrets import Masker
from unit.report.report_samples import SCHEMA, Case, Suite, write

IDS = [
    "suites/test_enroll.py::test_server_up",
    "suites/test_enroll.py::test_grant[auto]",
    "suites/test_enroll.py::test_reject",
    "suites/test_crl.py::TestRevoke::test_refused",
]
# pytest's junitxml leaves this behind for a test interrupted after its setup passed.
NAMELESS = Case(name="", classname="", time=0.0)


def _log(tmp_path: Path, finished: int, started: int) -> Path:
    path = tmp_path / "run.jsonl"
    writer = RunLogWriter(path)
    writer.write(collected=IDS)
    for nodeid in IDS[:started]:
        writer.write(started=nodeid)
    for nodeid in IDS[:finished]:
        writer.write(finished=nodeid, outcome="PASSED", duration=0.5, message="")
    writer.write(interrupted="SIGTERM")
    writer.close()
    with path.open("a") as torn:  # the line being written when the process was killed
        torn.write('{"finished": "suites/test_cr')
    return path


def test_the_run_log_says_what_never_ran_and_what_was_cut_short(tmp_path: Path) -> None:
    log = read_run_log(_log(tmp_path, finished=2, started=3))
    assert log.not_started() == IDS[3:]
    assert log.cut_short() == [IDS[2]]
    assert log.interrupted == "SIGTERM"
    assert read_run_log(tmp_path / "absent.jsonl").collected == []


def test_junit_address_is_pytests() -> None:
    assert junit_address(IDS[1]) == ("suites.test_enroll", "test_grant[auto]")
    assert junit_address(IDS[3]) == ("suites.test_crl.TestRevoke", "test_refused")
    assert junit_address("t.py::test_x[a/b.py::c]") == ("t", "test_x[a/b.py::c]")


def test_an_interrupted_junit_is_completed_and_the_nameless_case_dropped(tmp_path: Path) -> None:
    cases = (Case.of(IDS[0]), Case.of(IDS[1]), Case.of(IDS[2]), NAMELESS)  # IDS[2]: call passed, teardown cut
    raw = load_junit(write(tmp_path / "junit.xml", Suite(cases=cases)))
    xml = enrich_junit(raw, Masker(), run="podA")
    xml = mark_interrupted(xml, read_run_log(_log(tmp_path, finished=2, started=3)), "SIGTERM")
    out = tmp_path / "reports"
    report = build_report([("podA", "junit.xml", xml)], title="t")
    write_reports(report, out, Masker(), junit=xml)
    outcomes = {r.nodeid: (r.outcome, r.message) for r in report.results}
    assert outcomes == {
        IDS[0]: ("passed", None),
        IDS[1]: ("passed", None),
        IDS[2]: ("notrun", "interrupted (SIGTERM) while it ran (its restore may not have run)"),
        IDS[3]: ("notrun", "not run: the run was interrupted (SIGTERM)"),
    }
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(out / "junit.xml"))
    document = json.loads((out / "results.json").read_text())
    assert document["complete"] is False
    assert document["runs"][0]["interrupted"] == "SIGTERM"
    assert document["runs"][0]["totals"] == {"passed": 2, "failed": 0, "error": 0, "skipped": 0, "notrun": 2}
    markdown = (out / "report.md").read_text()
    assert "> **INTERRUPTED** (SIGTERM): run podA was cut short; 2 of 4 tests" in markdown
    assert "## Not run" in markdown and "`suites/test_crl.py::TestRevoke::test_refused`" in markdown
    assert "INTERRUPTED (SIGTERM)" in (out / "report.html").read_text()


def test_a_failure_the_interrupt_landed_in_keeps_its_verdict(tmp_path: Path) -> None:
    cases = (Case.of(IDS[0]), Case.of(IDS[1]), Case.of(IDS[2], outcome="failed", message="assert 1 == 2"))
    xml = enrich_junit(load_junit(write(tmp_path / "junit.xml", Suite(cases=cases))), Masker())
    xml = mark_interrupted(xml, read_run_log(_log(tmp_path, finished=2, started=3)), "SIGINT")
    results = {r.nodeid: r.outcome for r in build_report([("podA", "junit.xml", xml)], "t").results}
    assert results[IDS[2]] == "failed"


def test_a_junit_file_pytest_never_wrote_is_built_from_the_log(tmp_path: Path) -> None:
    log = read_run_log(_log(tmp_path, finished=2, started=3))
    xml = mark_interrupted(enrich_junit(junit_from_log(log), Masker(), run="r"), log, "SIGINT")
    outcomes = [r.outcome for r in build_report([("r", "-", xml)], "t").results]
    assert outcomes == ["passed", "passed", "notrun", "notrun"]


def test_a_raw_junit_with_a_nameless_case_reads_as_interrupted(tmp_path: Path) -> None:
    raw = load_junit(write(tmp_path / "junit.xml", Suite(cases=(Case.of(IDS[0]), NAMELESS))))
    report = build_report([("r", "-", enrich_junit(raw, Masker()))], "t")
    assert [r.nodeid for r in report.results] == [IDS[0]]
    assert report.runs[0].interrupted == "unknown signal"


def test_a_test_one_run_did_not_run_is_judged_by_the_runs_that_ran_it() -> None:
    def result(run: str, outcome: str) -> TestResult:
        return TestResult(nodeid=IDS[0], outcome=outcome, duration=1.0, image="15.4(3)M2", run=run)  # type: ignore[arg-type]

    cell = build_matrix([result("a", "passed"), result("b", "notrun")]).rows[0].cells["15.4(3)M2"]
    assert (cell.status, cell.label()) == ("pass", "pass")
    alone = build_matrix([result("b", "notrun")]).rows[0].cells["15.4(3)M2"]
    assert (alone.status, alone.label()) == ("notrun", "not run")
