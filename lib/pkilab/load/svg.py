"""Small SVG charts for the load report, written by hand (no plotting library).

Each function returns one ``<svg>`` element as text, sized in CSS pixels, with its axes, ticks,
a legend and the data; every text value is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 50, 44
COLORS = ("#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b")


@dataclass(frozen=True)
class Series:
    """A named line: (x, y) points in data units."""

    name: str
    points: tuple[tuple[float, float], ...]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    ticks = [math.floor(lo / step) * step]
    while ticks[-1] < hi - step * 1e-9:  # the last tick reaches the highest value
        ticks.append(ticks[-1] + step)
    return [round(t, 10) for t in ticks]


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


class _Frame:
    """Maps data to pixels inside the plot area and draws the axes."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], y_floor: float = 0.0) -> None:
        self.xt = nice_ticks(min(xs, default=0.0), max(xs, default=1.0))
        self.yt = nice_ticks(min([y_floor, *ys]), max(ys, default=1.0))
        self.x0, self.x1 = self.xt[0], self.xt[-1]
        self.y0, self.y1 = self.yt[0], self.yt[-1]

    def x(self, v: float) -> float:
        return LEFT + (v - self.x0) / ((self.x1 - self.x0) or 1.0) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return HEIGHT - BOTTOM - (v - self.y0) / ((self.y1 - self.y0) or 1.0) * (HEIGHT - TOP - BOTTOM)

    def axes(self, title: str, xlabel: str, ylabel: str, xticks: bool = True) -> list[str]:
        out = [f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" class="t">{escape(title)}</text>']
        for v in self.yt:
            y = self.y(v)
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="g"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(v)}</text>')
        for v in self.xt if xticks else ():
            x = self.x(v)
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{_label(v)}</text>')
        out.append(f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="a"/>')
        out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" class="a"/>')
        out.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(xlabel)}</text>')
        mid = (TOP + HEIGHT - BOTTOM) / 2
        out.append(
            f'<text x="14" y="{mid}" text-anchor="middle" transform="rotate(-90 14 {mid})">{escape(ylabel)}</text>'
        )
        return out


def _svg(parts: list[str], label: str, height: int = HEIGHT) -> str:
    style = (
        "<style>text{font:11px sans-serif;fill:#333}.t{font-size:13px;font-weight:bold}"
        ".g{stroke:#e4e4e4}.a{stroke:#555}</style>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}">{style}' + "".join(parts) + "</svg>"
    )


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    x = LEFT + 8
    for i, name in enumerate(names):
        color = COLORS[i % len(COLORS)]
        out.append(f'<rect x="{x}" y="{TOP - 22}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="{TOP - 13}">{escape(name)}</text>')
        x += 30 + 6 * len(name)  # about the width of 11 px sans-serif text
    return out


def line_chart(series: Sequence[Series], title: str, xlabel: str, ylabel: str, step: bool = False) -> str:
    """Lines over a shared x axis (``step`` draws counts as steps)."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    if not xs:
        return empty_chart(title)
    frame = _Frame(xs, ys)
    parts = frame.axes(title, xlabel, ylabel)
    for i, s in enumerate(series):
        coords: list[str] = []
        for k, (x, y) in enumerate(s.points):
            if step and k:
                coords.append(f"{frame.x(x):.1f},{frame.y(s.points[k - 1][1]):.1f}")
            coords.append(f"{frame.x(x):.1f},{frame.y(y):.1f}")
        color = COLORS[i % len(COLORS)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(coords)}"/>')
    parts += _legend([s.name for s in series])
    return _svg(parts, title)


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str) -> str:
    """One bar per label, its value written above it."""
    if not values:
        return empty_chart(title)
    frame = _Frame([0.0, float(len(values))], list(values))
    parts = frame.axes(title, "", ylabel, xticks=False)
    slot = (WIDTH - LEFT - RIGHT) / len(values)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot + slot * 0.2
        top = frame.y(value)
        color = COLORS[i % len(COLORS)]
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.6:.1f}" height="{HEIGHT - BOTTOM - top:.1f}" '
            f'fill="{color}"><title>{escape(label)}: {value:.1f}</title></rect>'
        )
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{top - 4:.1f}" text-anchor="middle">{value:.1f}</text>')
        parts.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    return _svg(parts, title)


def hbar_chart(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> str:
    """A short chart of horizontal bars on one scale from zero, each labelled and its value written after it."""
    if not values:
        return empty_chart(title)
    label_w, row, top = 190, 26, 34
    height = top + row * len(values) + 10
    scale = (WIDTH - label_w - RIGHT - 70) / (max(values) or 1.0)
    parts = [f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" class="t">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        width = max(value, 0.0) * scale
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{COLORS[i % len(COLORS)]}"><title>{escape(label)}: {value:g} {escape(unit)}</title></rect>'
        )
        parts.append(f'<text x="{label_w + width + 6:.1f}" y="{y + 14}">{value:g} {escape(unit)}</text>')
    return _svg(parts, title, height)


def cdf_chart(values: Sequence[float], title: str, xlabel: str) -> str:
    """The share of values at or below each value (an empirical CDF, in percent)."""
    if not values:
        return empty_chart(title)
    ordered = sorted(values)
    n = len(ordered)
    points = tuple((v, 100.0 * (i + 1) / n) for i, v in enumerate(ordered))
    return line_chart([Series(f"{n} samples", ((ordered[0], 0.0), *points))], title, xlabel, "% at or below")


def empty_chart(title: str) -> str:
    """A framed "no data" placeholder."""
    parts = [
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" class="t">{escape(title)}</text>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text>',
    ]
    return _svg(parts, title)
