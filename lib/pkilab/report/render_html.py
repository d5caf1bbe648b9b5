"""Static, self-contained HTML rendering of a report: inline CSS, no script, no external asset.

A failing matrix cell links to the transcript of its failing result further down the page;
``:target`` highlights the transcript the reader jumped to.
"""

from __future__ import annotations

from html import escape

from pkilab.report.document import Report, RunInfo
from pkilab.report.matrix import Cell, anchor_for
from pkilab.report.model import OUTCOME_LABELS, OUTCOMES, TestResult

_CSS = """
:root { --pass:#1a7f37; --fail:#cf222e; --error:#bc4c00; --flaky:#8250df; --skip:#6e7781; --notrun:#9a6700; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1f2328;
       background: #ffffff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.muted { color: #59636e; }
.totals { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.total { border-radius: 6px; padding: 8px 14px; color: #fff; font-weight: 600; min-width: 96px; }
.total b { display: block; font-size: 22px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d1d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.test { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
td.cell { text-align: center; font-weight: 600; color: #fff; min-width: 110px; }
td.cell a { color: #fff; }
.s-pass { background: var(--pass); } .s-fail { background: var(--fail); }
.s-error { background: var(--error); } .s-skip { background: var(--skip); }
.s-flaky { background: repeating-linear-gradient(45deg, var(--flaky), var(--flaky) 8px, #a475f9 8px,
           #a475f9 16px); }
.s-none { background: #eaeef2; color: #59636e !important; font-weight: 400; }
.s-notrun { background: var(--notrun); }
.o-passed { color: var(--pass); } .o-failed { color: var(--fail); } .o-error { color: var(--error); }
.o-skipped { color: var(--skip); } .o-notrun { color: var(--notrun); }
.interrupted { border: 2px solid var(--notrun); background: #fff8c5; border-radius: 6px; padding: 8px 14px;
               font-weight: 600; }
section.failure { border: 1px solid #d1d9e0; border-left: 6px solid var(--fail); border-radius: 6px;
                  padding: 8px 14px; margin: 14px 0; }
section.failure:target { outline: 3px solid #0969da; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all;
      font-size: 12px; max-height: 600px; }
"""

_TOTAL_COLOURS = {
    "passed": "var(--pass)",
    "failed": "var(--fail)",
    "error": "var(--error)",
    "skipped": "var(--skip)",
    "notrun": "var(--notrun)",
}


def render_html(report: Report) -> str:
    """Return the HTML report as one self-contained page."""
    e = escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="muted">Generated {e(report.generated)} from {len(report.runs)} run(s), '
        f"{len(report.results)} result(s).</p>",
        *(
            f'<p class="interrupted">INTERRUPTED ({e(run.interrupted or "")}): run {e(run.label)} was cut short; '
            f"{run.totals['notrun']} of {sum(run.totals.values())} tests did not run or did not finish "
            "(outcome &ldquo;not run&rdquo; below). Its results are incomplete.</p>"
            for run in report.interrupted()
        ),
        _totals(report),
        "<h2>Certification matrix</h2>",
        _matrix(report),
        "<h2>Runs</h2>",
        _runs(report.runs),
        "<h2>Results</h2>",
        _results(report.results),
    ]
    failing = [r for r in report.results if r.outcome in ("failed", "error")]
    if failing:
        parts.append("<h2>Failures</h2>")
        parts.extend(_failure(r) for r in failing)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _totals(report: Report) -> str:
    totals = report.totals()
    boxes = [
        f'<div class="total" style="background:{_TOTAL_COLOURS[o]}"><b>{totals[o]}</b>{OUTCOME_LABELS[o]}</div>'
        for o in OUTCOMES
        if o != "notrun" or totals[o]
    ]
    flaky = report.matrix.counts()["flaky"]
    boxes.append(f'<div class="total s-flaky"><b>{flaky}</b>flaky cells</div>')
    return '<div class="totals">' + "".join(boxes) + "</div>"


def _matrix(report: Report) -> str:
    columns = report.matrix.columns
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for row in report.matrix.rows:
        cells = "".join(_cell(row.cells.get(c)) for c in columns)
        rows.append(
            f'<tr><td class="test">{escape(row.test)}</td><td>{escape(row.seed_section or "—")}</td>{cells}</tr>'
        )
    return (
        '<table id="matrix"><thead><tr><th>Test</th><th>Seed section</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="cell s-none" title="not run">—</td>'
    label = escape(cell.label())
    failing = cell.failing()
    if len(failing) == 1:
        label = f'<a href="#{anchor_for(failing[0])}">{label}</a>'
    elif failing:
        links = " ".join(f'<a href="#{anchor_for(r)}">{i}</a>' for i, r in enumerate(failing, 1))
        label = f"{label}<br>{links}"
    runs = ", ".join(sorted({r.run for r in cell.results if r.run}))
    return f'<td class="cell s-{cell.status}" title="runs: {escape(runs)}">{label}</td>'


def _runs(runs: tuple[RunInfo, ...]) -> str:
    rows = []
    for run in runs:
        for suite in run.suites or ():
            devices = "<br>".join(
                escape(f"{d.name}: {d.role or '?'}, {d.platform or '?'}, {d.image or 'image unknown'}")
                for d in suite.devices
            )
            t = run.totals
            label = run.label + (f" (interrupted: {run.interrupted})" if run.interrupted else "")
            rows.append(
                f"<tr><td>{escape(label)}</td><td>{escape(suite.testbed or '?')}</td>"
                f"<td>{escape(suite.testbed_file or '—')}<br><small>{escape(suite.plan_summary())}</small></td>"
                f"<td>{devices or '—'}</td>"
                + "".join(f"<td>{t[o]}</td>" for o in OUTCOMES)
                + f"<td>{run.duration:.1f} s</td></tr>"
            )
    heads = "".join(f"<th>{OUTCOME_LABELS[o].capitalize()}</th>" for o in OUTCOMES)
    return (
        "<table><thead><tr><th>Run</th><th>Testbed</th><th>Testbed file</th><th>Devices</th>"
        f"{heads}<th>Time</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _results(results: tuple[TestResult, ...]) -> str:
    rows = []
    for r in results:
        outcome = escape(OUTCOME_LABELS[r.outcome] if r.outcome == "notrun" else r.outcome)
        if r.outcome in ("failed", "error"):
            outcome = f'<a href="#{anchor_for(r)}">{outcome}</a>'
        message = escape((r.message or "").splitlines()[0] if r.message else "")
        rows.append(
            f'<tr><td class="test">{escape(r.nodeid)}</td><td>{escape(r.run)}</td>'
            f'<td class="o-{escape(r.outcome)}">{outcome}</td><td>{escape(", ".join(r.devices) or "—")}</td>'
            f"<td>{escape(r.column())}</td><td>{r.duration:.2f} s</td><td>{message}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Test</th><th>Run</th><th>Outcome</th><th>Devices</th><th>Image / testbed</th>"
        f"<th>Time</th><th>Message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _failure(result: TestResult) -> str:
    e = escape
    parts = [
        f'<section class="failure" id="{anchor_for(result)}">',
        f"<h3>{e(result.nodeid)} — {e(result.outcome)} on {e(result.column())}</h3>",
        f'<p class="muted">Run {e(result.run)}; devices {e(", ".join(result.devices) or "—")}; '
        f"seed section {e(result.seed_section or '—')}; {result.duration:.2f} s.</p>",
    ]
    if result.message:
        parts.append(f"<pre>{e(result.message)}</pre>")
    if result.transcript:
        parts.append(f"<h4>Device transcript</h4><pre>{e(result.transcript)}</pre>")
    else:
        parts.append('<p class="muted">No device transcript was recorded.</p>')
    if result.details:
        parts.append(f"<details><summary>Details</summary><pre>{e(result.details)}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)
