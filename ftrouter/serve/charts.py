"""Loss curves as inline SVG, built from a job's stored metrics events — no charting library, no
script, nothing fetched. Every backend's metric names are read: the local trainer's ``loss`` /
``eval_loss``, OpenAI's ``train_loss`` / ``valid_loss`` / ``full_valid_loss``."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ftrouter.jobs.models import JobEvent

TRAIN_KEYS = ("loss", "train_loss")
VALID_KEYS = ("eval_loss", "valid_loss", "full_valid_loss")
WIDTH, HEIGHT, PAD = 640, 260, 44


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: list[tuple[float, float]]  # (step, loss)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:  # drop NaN
        return float(value)
    return None


def _first(data: dict[str, object], keys: tuple[str, ...]) -> float | None:
    return next((v for v in (_number(data.get(k)) for k in keys) if v is not None), None)


def loss_series(events: list[JobEvent]) -> list[Series]:
    """Training and validation loss by step from ``metrics`` events (events without a step are skipped)."""
    train: dict[float, float] = {}
    valid: dict[float, float] = {}
    for event in events:
        if event.type != "metrics":
            continue
        step = _number(event.data.get("step"))
        if step is None:
            continue
        if (value := _first(event.data, TRAIN_KEYS)) is not None:
            train[step] = value
        if (value := _first(event.data, VALID_KEYS)) is not None:
            valid[step] = value
    series = [Series("training loss", "#1f6feb", sorted(train.items())),
              Series("validation loss", "#d1242f", sorted(valid.items()))]
    return [s for s in series if s.points]


def _scale(lo: float, hi: float, out_lo: float, out_hi: float) -> tuple[float, float]:
    span = (hi - lo) or 1.0
    factor = (out_hi - out_lo) / span
    return factor, out_lo - lo * factor


def loss_chart_svg(series: list[Series]) -> str:
    """An SVG line chart (axes, two labelled ticks per axis, a legend); empty string without data."""
    if not series:
        return ""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    fx, cx = _scale(x_lo, x_hi, PAD, WIDTH - PAD / 2)
    fy, cy = _scale(y_lo, y_hi, HEIGHT - PAD, PAD / 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="loss-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}"><title>loss by step</title>',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD / 2}" y2="{HEIGHT - PAD}" stroke="#888"/>',
             f'<line x1="{PAD}" y1="{PAD / 2}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#888"/>']
    for value, anchor in ((x_lo, "start"), (x_hi, "end")):
        parts.append(f'<text x="{fx * value + cx:.1f}" y="{HEIGHT - PAD + 16}" font-size="11" '
                     f'text-anchor="{anchor}">step {value:g}</text>')
    for value in (y_lo, y_hi):
        parts.append(f'<text x="{PAD - 4}" y="{fy * value + cy + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{value:.3g}</text>')
    for index, s in enumerate(series):
        points = " ".join(f"{fx * x + cx:.1f},{fy * y + cy:.1f}" for x, y in s.points)
        parts.append(f'<polyline class="series" data-series="{escape(s.name)}" fill="none" stroke="{s.colour}" '
                     f'stroke-width="2" points="{points}"/>')
        if len(s.points) == 1:
            x, y = s.points[0]
            parts.append(f'<circle cx="{fx * x + cx:.1f}" cy="{fy * y + cy:.1f}" r="3" fill="{s.colour}"/>')
        parts.append(f'<text x="{WIDTH - PAD / 2}" y="{PAD / 2 + 14 * index + 10}" font-size="12" '
                     f'text-anchor="end" fill="{s.colour}">{escape(s.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
