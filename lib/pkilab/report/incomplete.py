"""An interrupted run in JUnit: the signal, the tests cut short, and the tests that never ran.

pytest's JUnit file of an interrupted run holds only the tests that reported; a test the
interrupt landed in may even be there as passed (its call passed, its teardown — the restore —
never ran). :func:`mark_interrupted` completes the file from the run log
(:mod:`pkilab.report.runlog`): the suite gets the ``interrupted`` property (the signal); a test
cut short that JUnit counts as passed or skipped, and every collected test that never started,
gets ``<skipped type="pkilab.notrun">`` — outcome ``notrun`` for the report layer, a skip for
any other JUnit reader. When pytest wrote no JUnit file at all (killed after the grace period),
:func:`junit_from_log` builds one from the log.
"""

from __future__ import annotations

import re

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite, xunit2

from pkilab.junitprops import NOT_RUN_TYPE, PROP_INTERRUPTED, PROP_NODEID
from pkilab.report.junit import case_outcome, properties, set_properties, suites, update_statistics
from pkilab.report.runlog import RunLog


def junit_address(nodeid: str) -> tuple[str, str]:
    """Return the (classname, name) pytest's junitxml gives the test ``nodeid``."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def mark_interrupted(xml: JUnitXml, log: RunLog, reason: str) -> JUnitXml:
    """Mark ``xml`` (an enriched JUnit file) as interrupted by ``reason``; return it."""
    suite = next(iter(suites(xml)), None)
    if suite is None:
        suite = TestSuite("pytest")
        xml.add_testsuite(suite)
    set_properties(suite, {**properties(suite), PROP_INTERRUPTED: reason})  # enrichment may have said "unknown"
    cases = _cases_by_test(xml)
    for nodeid in log.cut_short():
        case = cases.get(nodeid) or cases.get(junit_address(nodeid))
        if case is None:
            suite.add_testcase(_not_run(nodeid, f"interrupted ({reason}) while it ran: no verdict"))
        elif case_outcome(case) in ("passed", "skipped"):
            case.result = [_not_run_result(f"interrupted ({reason}) while it ran (its restore may not have run)")]
    for nodeid in log.not_started():
        if nodeid not in cases and junit_address(nodeid) not in cases:
            suite.add_testcase(_not_run(nodeid, f"not run: the run was interrupted ({reason})"))
    update_statistics(xml)
    return xml


def junit_from_log(log: RunLog) -> JUnitXml:
    """Return a JUnit file of the tests the log saw finish (pytest wrote none)."""
    xml: JUnitXml = xunit2.JUnitXml()
    suite = TestSuite("pytest")
    xml.add_testsuite(suite)
    for nodeid, done in log.finished.items():
        classname, name = junit_address(nodeid)
        case = TestCase(name, classname, done.duration)
        result = {"failed": Failure, "error": Error, "skipped": Skipped}.get(done.outcome)
        if result is not None:
            case.result = [result(done.message or done.outcome)]
        set_properties(case, {PROP_NODEID: nodeid})
        suite.add_testcase(case)
    update_statistics(xml)
    return xml


def _cases_by_test(xml: JUnitXml) -> dict[object, TestCase]:
    """Index testcases by node id property and by (classname, name)."""
    cases: dict[object, TestCase] = {}
    for suite in suites(xml):
        for case in suite:
            nodeid = properties(case).get(PROP_NODEID)
            if nodeid:
                cases[nodeid] = case
            cases[(str(case.classname or ""), str(case.name or ""))] = case
    return cases


def _not_run(nodeid: str, message: str) -> TestCase:
    classname, name = junit_address(nodeid)
    case = TestCase(name, classname, 0.0)
    case.result = [_not_run_result(message)]
    set_properties(case, {PROP_NODEID: nodeid})
    return case


def _not_run_result(message: str) -> Skipped:
    return Skipped(message, NOT_RUN_TYPE)
