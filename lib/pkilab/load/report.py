"""``report.html`` of a load run: the verdict, the figures, and plots as inline SVG.

Plots: tunnels up over time (with enrolled, refused and failed), handshake latency percentiles,
the enrollment latency distribution, and the test host's CPU; above them, the branch side's IKE
CPU per handshake against the raw OpenSSL ceiling timed in the same run, as one line and a small
bar chart. The page is self-contained (no script, no external file) and reads only the run's
``results.json`` document.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from pkilab.load import svg

REPORT_NAME = "report.html"
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1340px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:3px 12px;border-radius:4px;color:#fff;font-weight:bold}
.pass{background:#2e7d32} .fail{background:#c62828}
table{border-collapse:collapse;margin:6px 0} td,th{border:1px solid #ddd;padding:3px 10px;text-align:left}
th{background:#f4f4f4} td.n{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(640px,1fr));gap:12px}
.plots svg{border:1px solid #e6e6e6;background:#fff;max-width:100%;height:auto}
.problems li{color:#b71c1c} .muted{color:#666}
"""

COUNT_LABELS = (
    ("branches", "branches started"),
    ("enrolled", "enrolled over SCEP"),
    ("up", "tunnels up"),
    ("traffic_ok", "passed traffic"),
    ("revoked", "revoked"),
    ("refused", "refused after revocation"),
    ("failed", "did not do what they should"),
)
TIMING_LABELS = (
    ("handshakes_per_s", "handshakes per second"),
    ("keygen_p50_ms", "key pair generation p50 (ms)"),
    ("enroll_p50_ms", "enrollment p50 (ms)"),
    ("enroll_p99_ms", "enrollment p99 (ms)"),
    ("handshake_p50_ms", "handshake p50 (ms)"),
    ("handshake_p90_ms", "handshake p90 (ms)"),
    ("handshake_p99_ms", "handshake p99 (ms)"),
    ("handshake_max_ms", "handshake max (ms)"),
    ("branch_cpu_ms_per_handshake", "branch side: IKE CPU per handshake (ms)"),
    ("ceiling_ms_per_handshake", "OpenSSL ceiling per handshake (ms)"),
    ("ceiling_kept_ms_per_handshake", "OpenSSL ceiling, keys kept (ms)"),
    ("ceiling_share_pct", "branch side's rate, % of the ceiling's"),
)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{escape(label)}</th><td class='n'>{escape('—' if value is None else str(value))}</td></tr>"
        for label, value in rows
    )
    return f"<table>{body}</table>"


def plots(doc: dict[str, Any]) -> list[str]:
    """The four charts, as SVG text."""
    timeline = doc.get("timeline") or []

    def series(key: str, name: str) -> svg.Series:
        return svg.Series(name, tuple((s["t"], float(s[key])) for s in timeline))

    tunnels = svg.line_chart(
        [
            series("enrolled", "enrolled"),
            series("up", "tunnels up"),
            series("refused", "refused"),
            series("failed", "failed"),
        ],
        "Tunnels up over time",
        "seconds since start",
        "branches",
        step=True,
    )
    names = ("p50", "p90", "p99", "max")
    values = [doc.get(f"handshake_{n}_ms") for n in names]
    shown = [(n, float(v)) for n, v in zip(names, values, strict=True) if v is not None]
    latency = svg.bar_chart([n for n, _ in shown], [v for _, v in shown], "Handshake latency (main + quick mode)", "ms")
    enroll = [r["enroll_ms"] for r in doc.get("branch_details", []) if r.get("enroll_ms") is not None]
    enrollment = svg.cdf_chart(enroll, "Enrollment latency (SCEP request to certificate)", "ms")
    cpu = svg.line_chart(
        [series("cpu_host", "test host (all cores)"), series("cpu_process", "pkilab process (% of one core)")],
        "CPU of the test host",
        "seconds since start",
        "percent",
    )
    return [tunnels, latency, enrollment, cpu]


def _headend_note(where: object) -> str:
    return f" Headend: {escape(str(where))}." if where else ""


def ceiling_section(doc: dict[str, Any]) -> str:
    """The branch side against the raw ceiling: one line a person reads at a glance, and a bar each."""
    title = "<h2>Branch side against the OpenSSL ceiling</h2>"
    branch, ceiling = doc.get("branch_cpu_ms_per_handshake"), doc.get("ceiling_ms_per_handshake")
    kept, share = doc.get("ceiling_kept_ms_per_handshake"), doc.get("ceiling_share_pct")
    if branch is None or ceiling is None or kept is None:
        return title + "<p class='muted'>No handshake completed: nothing to set against the ceiling.</p>"
    detail = doc.get("ceiling") or {}
    line = (
        f"<p><b>branch side {branch} ms of CPU per handshake vs OpenSSL ceiling {ceiling} ms: {share} %</b>"
        f" of the ceiling's rate (keys kept: {kept} ms).<br><span class='muted'>Ceiling: "
        f"{escape(str(detail.get('work')))}, {detail.get('reps')} handshakes' worth timed alone at the end of"
        " this run. Branch side: the branches' IKE work on the loop thread (main mode started, IKE packets,"
        f" IKE timers; refused attempts included), {detail.get('handshakes')} handshakes."
        f"{_headend_note(detail.get('headend'))} (docs/load.md)</span></p>"
    )
    chart = svg.hbar_chart(
        ["branch side (IKE CPU)", "OpenSSL ceiling", "OpenSSL ceiling, keys kept"],
        [float(branch), float(ceiling), float(kept)],
        "CPU per handshake",
        "ms",
    )
    return title + line + f"<div class='plots'>{chart}</div>"


def render(doc: dict[str, Any]) -> str:
    """The whole page."""
    ok = bool(doc.get("ok"))
    plan = doc.get("plan") or {}
    options = doc.get("options") or {}
    verdict = f"<span class='verdict {'pass' if ok else 'fail'}'>{'PASS' if ok else 'FAIL'}</span>"
    problems = doc.get("problems") or []
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>pkilab load: {escape(str(plan.get('name', '')))}</title><style>{STYLE}</style></head><body>",
        f"<h1>pkilab load — {escape(str(plan.get('name', '')))} {verdict}</h1>",
        f"<p class='muted'>{escape(str(plan.get('testbed_file', '')))} · started {escape(str(doc.get('started')))}"
        f" · {doc.get('elapsed_s')} s · auth {escape(str(options.get('auth')))}"
        f" · grant {escape(str(options.get('grant')))} · crypto {escape(str((plan.get('crypto') or {}).get('ike')))}"
        f" · revoke {options.get('revoke_pct')} % · rate {options.get('rate') or 'unlimited'}/s"
        f" · duration {options.get('duration_s')} s</p>",
    ]
    if problems:
        items = "".join(f"<li>{escape(str(p))}</li>" for p in problems)
        parts.append(f"<h2>Problems</h2><ul class='problems'>{items}</ul>")
    parts.append(ceiling_section(doc))
    parts.append("<h2>Plots</h2><div class='plots'>" + "".join(plots(doc)) + "</div>")
    parts.append("<h2>Counts</h2>" + _table([(label, doc.get(key)) for key, label in COUNT_LABELS]))
    parts.append("<h2>Timings</h2>" + _table([(label, doc.get(key)) for key, label in TIMING_LABELS]))
    view = doc.get("headend_view")
    if view:
        rows = [
            ("show crypto isakmp sa: QM_IDLE with branches", view.get("isakmp_qm_idle")),
            ("show crypto session: UP-ACTIVE with branches", view.get("sessions_up_active")),
            ("IKMP_INVAL_CERT logged for branches", len(view.get("refusals_logged") or [])),
        ]
        parts.append("<h2>The headend's view</h2>" + _table(rows))
    phases = [(p["name"], f"{p['start_s']} to {p['end_s']} s") for p in doc.get("phases", [])]
    parts.append("<h2>Phases</h2>" + _table(phases))
    parts.append(_branches(doc.get("branch_details") or []))
    parts.append("</body></html>")
    return "\n".join(parts)


def _branches(rows: list[dict[str, Any]]) -> str:
    wrong = [r for r in rows if r.get("reason") or r.get("phase") not in ("passing traffic", "refused")]
    shown = wrong[:100] if wrong else rows[:20]
    title = (
        f"Branches not where they should be ({len(wrong)})" if wrong else f"First {len(shown)} of {len(rows)} branches"
    )
    head = "<tr><th>branch</th><th>address</th><th>phase</th><th>enroll ms</th><th>handshake ms</th><th>why</th></tr>"
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape('' if r.get(k) is None else str(r.get(k)))}</td>"
            for k in ("name", "address", "phase", "enroll_ms", "handshake_ms", "reason")
        )
        + "</tr>"
        for r in shown
    )
    return f"<h2>{escape(title)}</h2><table>{head}{body}</table>"


def write(out: Path, doc: dict[str, Any]) -> Path:
    """Write ``report.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    path.write_text(render(doc))
    return path
