"""A report: the runs it covers, their results and matrix; and the names of the files it is written to.

:func:`pkilab.report.write.write_reports` is the one place report files are written. Every text is masked when the
results are read from JUnit (:func:`pkilab.report.junit.enrich_junit`), and each rendered
file is masked once more as a whole before it touches the disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from junitparser import JUnitXml

from pkilab import __version__
from pkilab.junitprops import PROP_INTERRUPTED
from pkilab.report.junit import properties, read_results, suite_info, suites
from pkilab.report.matrix import Matrix, build_matrix
from pkilab.report.model import OUTCOMES, Outcome, SuiteInfo, TestResult

JUNIT_NAME = "junit.xml"
RESULTS_NAME = "results.json"
HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"


@dataclass(frozen=True)
class RunInfo:
    """One run (a ``pkilab certify``, a CI shard, a pod) of a report.

    ``interrupted`` names the signal that cut the run short (None for a complete run).
    """

    label: str
    source: str
    suites: tuple[SuiteInfo, ...]
    totals: dict[Outcome, int]
    duration: float
    interrupted: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything the renderers need; built from enriched JUnit files."""

    title: str
    generated: str
    runs: tuple[RunInfo, ...]
    results: tuple[TestResult, ...]
    matrix: Matrix

    def totals(self) -> dict[Outcome, int]:
        """Return how many results have each outcome, over all runs."""
        totals: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
        for result in self.results:
            totals[result.outcome] += 1
        return totals

    def interrupted(self) -> tuple[RunInfo, ...]:
        """Return the runs that were cut short."""
        return tuple(run for run in self.runs if run.interrupted)

    def not_run(self) -> tuple[TestResult, ...]:
        """Return the tests of interrupted runs that never ran or never finished."""
        return tuple(r for r in self.results if r.outcome == "notrun")


def build_report(runs: Sequence[tuple[str, str, JUnitXml]], title: str) -> Report:
    """Build a report from enriched runs given as (label, source path, JUnit)."""
    infos: list[RunInfo] = []
    results: list[TestResult] = []
    for label, source, xml in runs:
        run_results = read_results(xml, run=label)
        totals: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
        for result in run_results:
            totals[result.outcome] += 1
        infos.append(
            RunInfo(
                label=label,
                source=source,
                suites=tuple(suite_info(s) for s in suites(xml)),
                totals=totals,
                duration=sum(r.duration for r in run_results),
                interrupted=next((p for s in suites(xml) if (p := properties(s).get(PROP_INTERRUPTED))), None),
            )
        )
        results.extend(run_results)
    return Report(
        title=title,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        runs=tuple(infos),
        results=tuple(results),
        matrix=build_matrix(results),
    )


def results_document(report: Report) -> dict[str, object]:
    """Return the ``results.json`` document: the runs, then one record per test."""
    return {
        "format": "pkilab-results/1",
        "generator": f"pkilab {__version__}",
        "generated": report.generated,
        "complete": not report.interrupted(),
        "runs": [
            {
                "label": run.label,
                "source": run.source,
                "testbeds": [
                    {
                        "testbed": suite.testbed,
                        "testbed_file": suite.testbed_file,
                        "plan": dict(suite.plan) if suite.plan else None,
                        "devices": [
                            {"name": d.name, "role": d.role, "platform": d.platform, "image": d.image}
                            for d in suite.devices
                        ],
                    }
                    for suite in run.suites
                ],
                "totals": run.totals,
                "interrupted": run.interrupted,
            }
            for run in report.runs
        ],
        "results": [result.record() for result in report.results],
    }
