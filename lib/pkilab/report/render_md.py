"""Markdown rendering of a report (for CI job summaries and pull requests).

The matrix cells of failing tests link to anchors in the Failures section of the same file.
"""

from __future__ import annotations

import re

from pkilab.report.document import Report
from pkilab.report.matrix import Cell, anchor_for
from pkilab.report.model import OUTCOME_LABELS, OUTCOMES, TestResult

_STATUS_TEXT = {
    "pass": "pass",
    "fail": "**FAIL**",
    "error": "**ERROR**",
    "flaky": "**FLAKY**",
    "skip": "skip",
    "notrun": "not run",
}


def _cell(text: str) -> str:
    """Escape ``text`` for a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Return ``text`` as inline code, with a fence longer than any backtick run inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _render_cell(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    text = _STATUS_TEXT[cell.status] + cell.counts()
    failing = cell.failing()
    if len(failing) == 1:
        return f"[{text}](#{anchor_for(failing[0])})"
    if failing:
        text += " (" + " ".join(f"[{i}](#{anchor_for(r)})" for i, r in enumerate(failing, 1)) + ")"
    return text


def render_markdown(report: Report) -> str:
    """Return the Markdown report."""
    out: list[str] = [f"# {report.title}", "", f"Generated {report.generated}.", ""]
    for run in report.interrupted():
        out += [
            f"> **INTERRUPTED** ({run.interrupted}): run {_cell(run.label)} was cut short; "
            f"{run.totals['notrun']} of {sum(run.totals.values())} tests did not run or did not finish "
            "(listed under *Not run*). Its results are incomplete.",
            "",
        ]
    totals = report.totals()
    counts = report.matrix.counts()
    shown = [o for o in OUTCOMES if o != "notrun" or totals[o]]
    out.append(
        f"**{len(report.results)} results**: "
        + ", ".join(f"{totals[o]} {OUTCOME_LABELS[o]}" for o in shown)
        + f"; {counts['flaky']} flaky cells."
    )
    out += [
        "",
        "## Runs",
        "",
        "| Run | Testbed | Devices (role, platform, image) | "
        + " | ".join(OUTCOME_LABELS[o].capitalize() for o in shown)
        + " |",
    ]
    out.append("|---|---|---|" + "---|" * len(shown))
    for run in report.runs:
        testbeds = ", ".join(s.testbed or "?" for s in run.suites) or "?"
        devices = "; ".join(
            f"{d.name} ({d.role or '?'}, {d.platform or '?'}, {d.image or '?'})" for s in run.suites for d in s.devices
        )
        label = run.label + (f" (interrupted: {run.interrupted})" if run.interrupted else "")
        out.append(
            f"| {_cell(label)} | {_cell(testbeds)} | {_cell(devices or '—')} | "
            + " | ".join(str(run.totals[o]) for o in shown)
            + " |"
        )
    plans = [(s.testbed or "?", s.plan_summary()) for run in report.runs for s in run.suites if s.plan]
    if plans:
        out += ["", "## Lab plans certified", ""]
        out += [f"- **{_cell(name)}**: {_cell(summary)}" for name, summary in plans]
    out += ["", "## Certification matrix", ""]
    columns = report.matrix.columns
    out.append("| Test | Seed section | " + " | ".join(_cell(c) for c in columns) + " |")
    out.append("|---|---|" + "---|" * len(columns))
    for row in report.matrix.rows:
        cells = " | ".join(_render_cell(row.cells.get(c)) for c in columns)
        out.append(f"| {_cell(_code(row.test))} | {_cell(row.seed_section or '—')} | {cells} |")
    failing = [r for r in report.results if r.outcome in ("failed", "error")]
    if failing:
        out += ["", "## Failures", ""]
        for result in failing:
            out += _render_failure(result)
    if report.not_run():
        out += ["", "## Not run", ""]
        out += [f"- {_code(r.nodeid)} (run {r.run}): {r.message or 'not run'}" for r in report.not_run()]
    return "\n".join(out) + "\n"


def _render_failure(result: TestResult) -> list[str]:
    out = [
        f'<a id="{anchor_for(result)}"></a>',
        "",
        f"### {_code(result.nodeid)} — {result.outcome} on {result.column()} (run {result.run})",
        "",
        f"Devices: {', '.join(result.devices) or '—'}; seed section: {result.seed_section or '—'}; "
        f"{result.duration:.2f} s.",
        "",
    ]
    if result.message:
        out += [_block(result.message), ""]
    if result.transcript:
        out += ["Device transcript:", "", _block(result.transcript), ""]
    if result.details:
        out += ["<details><summary>Details</summary>", "", _block(result.details), "", "</details>", ""]
    return out
