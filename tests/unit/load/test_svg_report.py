"""The report's hand-written SVG charts are well-formed and show the data they are given."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pkilab.load import report, svg

NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [(0, 398, [0, 100, 200, 300, 400]), (0, 1.62, [0, 0.5, 1, 1.5, 2]), (0, 100, [0, 20, 40, 60, 80, 100])],
)
def test_ticks_cover_the_range(lo: float, hi: float, ticks: list[float]) -> None:
    assert svg.nice_ticks(lo, hi) == ticks


def test_line_chart_draws_each_series_inside_the_frame() -> None:
    chart = svg.line_chart(
        [svg.Series("up <&>", ((0, 0), (1, 5), (2, 9))), svg.Series("refused", ((0, 0), (2, 1)))], "T", "s", "n"
    )
    root = ET.fromstring(chart)
    lines = root.findall(f"{NS}polyline")
    assert len(lines) == 2 and len(lines[0].get("points", "").split()) == 3
    for line in lines:
        for point in line.get("points", "").split():
            x, y = (float(v) for v in point.split(","))
            assert svg.LEFT <= x <= svg.WIDTH - svg.RIGHT and svg.TOP <= y <= svg.HEIGHT - svg.BOTTOM
    assert "up <&>" in [t.text for t in root.iter(f"{NS}text")]


def test_bar_and_cdf_charts_and_empty_data() -> None:
    bars = ET.fromstring(svg.bar_chart(["p50", "p99"], [12.5, 80.0], "lat", "ms"))
    assert len(bars.findall(f"{NS}rect")) == 2
    cdf = ET.fromstring(svg.cdf_chart([3.0, 1.0, 2.0], "enroll", "ms"))
    assert len(cdf.findall(f"{NS}polyline")[0].get("points", "").split()) == 4
    assert "no data" in svg.cdf_chart([], "enroll", "ms")


def test_report_page_holds_four_plots_and_the_verdict() -> None:
    doc = {
        "ok": False,
        "problems": ["vbr00002 (198.18.0.2): failed, not passing traffic: <no echo>"],
        "timeline": [{"t": 0.0, "up": 0, "enrolled": 0, "refused": 0, "failed": 0, "cpu_host": 0, "cpu_process": 0}],
        "handshake_p50_ms": 10.0,
        "handshake_p99_ms": 20.0,
        "branch_details": [{"name": "vbr00002", "phase": "failed", "reason": "<no echo>", "enroll_ms": 5.0}],
        "plan": {"name": "lab"},
        "options": {},
    }
    page = report.render(doc)
    assert page.count("<svg") == 4 and "FAIL" in page and "&lt;no echo&gt;" in page and "<no echo>" not in page


def test_horizontal_bars_share_one_scale_from_zero() -> None:
    root = ET.fromstring(svg.hbar_chart(["branch <side>", "ceiling"], [2.0, 1.0], "CPU", "ms"))
    widths = [float(r.get("width", "")) for r in root.findall(f"{NS}rect")]
    assert len(widths) == 2 and widths[0] == pytest.approx(2 * widths[1])
    assert "branch <side>" in [t.text for t in root.iter(f"{NS}text")]


def test_report_sets_the_branch_side_against_the_ceiling() -> None:
    doc = {
        "ok": True,
        "branch_cpu_ms_per_handshake": 2.0,
        "ceiling_ms_per_handshake": 0.9,
        "ceiling_kept_ms_per_handshake": 0.85,
        "ceiling_share_pct": 45.0,
        "ceiling": {
            "work": "RSA-2048 signature and 2 verifications, DH group 14",
            "reps": 20,
            "handshakes": 20,
            "headend": "simulated, in <another> process",
        },
        "plan": {"name": "lab"},
        "options": {},
    }
    page = report.render(doc)
    assert "branch side 2.0 ms of CPU per handshake vs OpenSSL ceiling 0.9 ms: 45.0 %" in page
    assert page.count("<svg") == 5 and "RSA-2048 signature" in page
    assert "Headend: simulated, in &lt;another&gt; process." in page
    empty = report.render({**doc, "branch_cpu_ms_per_handshake": None, "ceiling_ms_per_handshake": None})
    assert empty.count("<svg") == 4 and "No handshake completed" in empty
