"""A self-contained SVG line chart (log-log) of cumulative cost against monthly request volume.

Hand-written SVG because the HTML report must open offline with no script or CDN; a plotting library
(matplotlib) would be a heavy dependency for one chart.
"""

from __future__ import annotations

import math
import re
from html import escape

from ftrouter.cost.compare import Chart

WIDTH, HEIGHT = 920, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 350, 40, 50  # RIGHT: the legend, room for LEGEND_CHARS at 12px
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def _decades(low: float, high: float) -> list[int]:
    return list(range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1))


def _label(value: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _money(value: float) -> str:
    return f"${_label(value)}" if value >= 1 else f"${value:g}"


class _Axes:
    def __init__(self, x_low: float, x_high: float, y_low: float, y_high: float) -> None:
        self.x0, self.x1 = math.log10(x_low), math.log10(x_high)
        self.y0, self.y1 = math.log10(y_low), math.log10(y_high)

    def x(self, value: float) -> float:
        return LEFT + (math.log10(value) - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - (math.log10(value) - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)


def _grid(axes: _Axes, x_decades: list[int], y_decades: list[int]) -> list[str]:
    parts = []
    for d in x_decades:
        x = axes.x(10.0**d)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{_label(10.0**d)}</text>')
    for d in y_decades:
        y = axes.y(10.0**d)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_money(10.0**d)}</text>')
    return parts


def cost_chart_svg(chart: Chart, *, marker: float | None = None) -> str:
    """The chart as an ``<svg>`` element; ``marker`` draws the stated monthly volume."""
    values = [v for series in chart.series.values() for v in series if v > 0]
    if not chart.volumes or not values:
        return "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'></svg>"
    x_dec = _decades(chart.volumes[0], chart.volumes[-1])
    y_dec = _decades(min(values), max(values))
    axes = _Axes(10.0 ** x_dec[0], 10.0 ** x_dec[-1], 10.0 ** y_dec[0], 10.0 ** y_dec[-1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" aria-label="cumulative cost against monthly requests">',
             "<style>text{font:12px sans-serif;fill:#333}.grid{stroke:#ddd;stroke-width:1}"
             ".axis{stroke:#333}.marker{stroke:#999;stroke-dasharray:4 3}</style>",
             f'<text x="{LEFT}" y="22" style="font-weight:bold">Cumulative cost over {chart.months:g} months '
             f"vs monthly requests (log-log)</text>"]
    parts += _grid(axes, x_dec, y_dec)
    parts.append(f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" class="axis"/>')
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" text-anchor="middle">'
                 "requests per month</text>")
    if marker and chart.volumes[0] <= marker <= chart.volumes[-1]:
        x = axes.x(marker)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" class="marker"/>')
        parts.append(f'<text x="{x + 4:.1f}" y="{TOP + 12}">stated volume</text>')
    for i, (name, series) in enumerate(chart.series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{axes.x(v):.1f},{axes.y(max(c, 10.0 ** y_dec[0])):.1f}"
                          for v, c in zip(chart.volumes, series, strict=True))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
                     f"<title>{escape(name)}</title></polyline>")
        y = TOP + 10 + i * 18
        parts.append(f'<line x1="{WIDTH - RIGHT + 12}" y1="{y}" x2="{WIDTH - RIGHT + 32}" y2="{y}" '
                     f'stroke="{colour}" stroke-width="3"/>')
        caveat = chart.caveats.get(name)
        label = _short(name, LEGEND_CHARS - 2) + " †" if caveat else _short(name)
        parts.append(f'<text x="{WIDTH - RIGHT + 38}" y="{y + 4}">{escape(label)}'
                     f"<title>{escape(name + (f' ({caveat})' if caveat else ''))}</title></text>")
    # footnotes for the marked options, under the legend (two lines each: the name, then why)
    y = TOP + 10 + len(chart.series) * 18 + 10
    for name, caveat in chart.caveats.items():
        for text in (f"† {_short(name)}:", f"  {caveat}"):
            parts.append(f'<text x="{WIDTH - RIGHT + 12}" y="{y}" style="font-size:11px">{escape(text)}</text>')
            y += 14
    parts.append("</svg>")
    return "\n".join(parts)


LEGEND_CHARS = 44


def _short(name: str, limit: int = LEGEND_CHARS) -> str:
    """A legend label that fits: Hugging Face org prefixes dropped (``meta-llama/``), then cut with "…"."""
    name = re.sub(r"(?<=\s)[\w.-]+/", "", name)
    return name if len(name) <= limit else name[: limit - 1] + "…"
