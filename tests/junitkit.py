"""Reading the JUnit XML a child pytest run wrote: each test's outcome."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml


def junit_outcomes(junit: Path) -> dict[str, str]:
    """``classname::name`` of every test case -> ``passed``, ``failure``, ``error`` or ``skipped``."""
    result: dict[str, str] = {}
    for suite in JUnitXml.fromfile(str(junit)):
        for case in suite:
            outcome = case.result[0]._tag if case.result else "passed"
            assert outcome is not None, "a test case's result is skipped, failure or error"
            result[f"{case.classname}::{case.name}"] = outcome
    return result
