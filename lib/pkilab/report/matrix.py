"""The certification matrix: rows are tests, columns IOS images (or testbeds), cells outcomes.

A cell aggregates every result of one test on one column, across runs, shards and pods. A
test that both passed and failed (or errored) for the same image is **flaky**: neither a
pass nor a failure can be certified for it. A test an interrupted run never ran (``notrun``)
counts only where no run ran it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pkilab.report.model import TestResult
from pkilab.testbed import image_version

CellStatus = Literal["pass", "fail", "error", "skip", "flaky", "notrun"]

STATUSES: tuple[CellStatus, ...] = ("pass", "fail", "error", "flaky", "skip", "notrun")


def anchor_for(result: TestResult) -> str:
    """Return the HTML/Markdown anchor of a result's transcript (stable across renders)."""
    key = "\0".join((result.run, result.nodeid, result.column(), result.outcome))
    return "tr-" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]


@dataclass(frozen=True)
class Cell:
    """Every result of one test on one column."""

    status: CellStatus
    results: tuple[TestResult, ...]

    def failing(self) -> tuple[TestResult, ...]:
        """Return the failed and errored results, whose transcripts the cell links to."""
        return tuple(r for r in self.results if r.outcome in ("failed", "error"))

    def label(self) -> str:
        """Return the text of the cell: its status, with counts when several runs met."""
        return ("not run" if self.status == "notrun" else self.status) + self.counts()

    def counts(self) -> str:
        """Return what :meth:`label` adds to the status: `` x2``, `` 1/2 passed``, or nothing."""
        if len(self.results) == 1:
            return ""
        if self.status == "flaky":
            passed = sum(r.outcome == "passed" for r in self.results)
            return f" {passed}/{len(self.results)} passed"
        return f" x{len(self.results)}"


@dataclass(frozen=True)
class Row:
    """One test: its node id, the seed section it certifies, and its cells by column."""

    test: str
    seed_section: str | None
    cells: Mapping[str, Cell]


@dataclass(frozen=True)
class Matrix:
    """The whole matrix; columns are sorted naturally (12.4 before 15.1)."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    def counts(self) -> dict[CellStatus, int]:
        """Return how many cells have each status."""
        counts: dict[CellStatus, int] = dict.fromkeys(STATUSES, 0)
        for row in self.rows:
            for cell in row.cells.values():
                counts[cell.status] += 1
        return counts


def cell_status(results: Iterable[TestResult]) -> CellStatus:
    """Return the status of a cell holding ``results`` (at least one)."""
    outcomes = {r.outcome for r in results}
    if not outcomes:
        raise ValueError("a cell needs at least one result")
    bad = outcomes & {"failed", "error"}
    if "passed" in outcomes and bad:
        return "flaky"
    if "failed" in outcomes:
        return "fail"
    if "error" in outcomes:
        return "error"
    if "passed" in outcomes:
        return "pass"
    if "skipped" in outcomes:
        return "skip"
    return "notrun"


def ios_version(image: str) -> str:
    """The IOS version a column names: ``15.2(4)M11`` for ``disk0:c7200-…-mz.152-4.M11.bin``.

    Runs record the version ``show version`` prints; older runs recorded the image file, which
    is turned into its version here so that both land in one column. ``A + B`` (a test on
    routers of two images) is translated part by part; anything else is kept as it is.
    """
    parts = []
    for part in image.split(" + "):
        try:
            parts.append(image_version(part.rpartition(":")[2].rpartition("/")[2])[2])
        except ValueError:
            parts.append(part)
    return " + ".join(parts)


def build_matrix(results: Iterable[TestResult]) -> Matrix:
    """Group ``results`` into the matrix (columns by IOS version); rows keep the order tests first appear in."""
    grouped: dict[str, dict[str, list[TestResult]]] = {}
    sections: dict[str, str | None] = {}
    columns: set[str] = set()
    for result in results:
        column = ios_version(result.column())
        columns.add(column)
        grouped.setdefault(result.nodeid, {}).setdefault(column, []).append(result)
        if sections.get(result.nodeid) is None:
            sections[result.nodeid] = result.seed_section
    rows = tuple(
        Row(
            test=nodeid,
            seed_section=sections.get(nodeid),
            cells={col: _cell(rs) for col, rs in by_column.items()},
        )
        for nodeid, by_column in grouped.items()
    )
    return Matrix(columns=tuple(sorted(columns, key=natural_key)), rows=rows)


def _cell(results: list[TestResult]) -> Cell:
    ran = tuple(r for r in results if r.outcome != "notrun") or tuple(results)
    return Cell(cell_status(ran), ran)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key comparing the digit runs of ``text`` as numbers (``15.2(4)M`` < ``15.10``)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)
