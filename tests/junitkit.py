"""Reading the JUnit XML a child pytest run wrote: each test's outcome."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml


def junit_outcomes(junit: Path) -> dict[str, str]:
    """``classname::name`` of every test case -> ``passed``, ``failure``, ``error`` or ``skipped``."""
    result = {}
    for suite in JUnitXml.fromfile(str(junit)):
        for case in suite:
            result[f"{case.classname}::{case.name}"] = case.result[0]._tag if case.result else "passed"
    return result
