"""Reports: JUnit enrichment and merge (junitparser), the certification matrix, HTML/Markdown.

Data flows one way: pytest's JUnit file → :func:`enrich_junit` (unique names, properties,
masking) → :func:`read_results` / :func:`build_report` (the result store and the matrix) →
:func:`write_reports` (``results.json``, ``report.html``, ``report.md``). The commands are
``pkilab certify`` (:mod:`pkilab.report.certify`) and ``pkilab report merge``
(:mod:`pkilab.report.cli`); the live display is the pytest plugin :mod:`pkilab.report.progress`.
See ``docs/reports.md``.
"""

from pkilab.report.document import Report, RunInfo, build_report
from pkilab.report.junit import enrich_junit, load_junit, merge_junit, read_results, write_junit
from pkilab.report.masking import build_masker, secrets_in_testbed
from pkilab.report.matrix import Cell, Matrix, build_matrix
from pkilab.report.model import DeviceInfo, RunMetadata, SuiteInfo, TestResult
from pkilab.report.write import write_reports

__all__ = [
    "Cell",
    "DeviceInfo",
    "Matrix",
    "Report",
    "RunInfo",
    "RunMetadata",
    "SuiteInfo",
    "TestResult",
    "build_masker",
    "build_matrix",
    "build_report",
    "enrich_junit",
    "load_junit",
    "merge_junit",
    "read_results",
    "secrets_in_testbed",
    "write_junit",
    "write_reports",
]
