"""SVG charts drawn on the server: bars, grouped bars with error bars, lines, columns and curves.

Pure functions from numbers to an SVG string (as `Markup`, ready for a template). Every label
is escaped; every chart has a `<title>` and `aria-label`, and every mark a `<title>` giving
its value, so screen readers and tooltips read the numbers. A value of None is drawn as "n/a"
with no bar. Bars start at zero, so their lengths are proportional to their values; negative
values go below (or left of) the zero line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

Format = Callable[[float], str]
PALETTE = ("#2457c5", "#d97706", "#1f7a3d", "#8a5cc2", "#b3261e")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 44
MAX_X_LABELS = 8
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'  # keeps labels legible over marks


def plain(value: float) -> str:
    """Format a number with thousands separators and at most two decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def percent(value: float) -> str:
    """Format a share (0.125) as a percentage (12.5%)."""
    return f"{value:.1%}"


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value (None: not available) and an optional interval."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class BarGroup:
    """A group of bars side by side; each bar's label names its series in the legend."""

    label: str
    bars: Sequence[Bar]


@dataclass(frozen=True)
class Mark:
    """A labelled vertical line across a curve chart at `x` (e.g. the best share to contact)."""

    x: float
    label: str


@dataclass(frozen=True)
class Series:
    """A named line or column series, one value (or None) per x label."""

    name: str
    values: Sequence[float | None]


def _text(value: str) -> str:
    return escape(value, quote=True)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _open(title: str, width: int, height: int, kind: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {width} {height}" aria-label="{_text(title)}">',
        f"<title>{_text(title)}</title>",
    ]


def _ticks(values: Sequence[float], count: int = 4) -> list[float]:
    """Return evenly spaced round ticks covering zero and every value."""
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if math.isclose(lo, hi):
        hi = lo + 1.0
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


class _Scale:
    """Map values onto pixels between `start` (the lowest tick) and `end` (the highest)."""

    def __init__(self, ticks: Sequence[float], start: float, end: float) -> None:
        self.lo, self.hi, self.start, self.end = ticks[0], ticks[-1], start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


def _known(bars: Sequence[Bar]) -> list[float]:
    found: list[float] = []
    for bar in bars:
        found += [v for v in (bar.value, bar.low, bar.high) if v is not None]
    return found


def _y_axis(ticks: Sequence[float], y: _Scale, fmt: Format, width: int) -> list[str]:
    parts = ['<g class="axis">']
    for tick in ticks:
        at = _num(y(tick))
        line = "zero" if tick == 0 else "grid"
        parts.append(
            f'<line class="{line}" x1="{LEFT}" x2="{width - RIGHT}" y1="{at}" y2="{at}" '
            f'stroke="{"#5d6776" if tick == 0 else "#d9dee6"}"/>'
            f'<text x="{LEFT - 6}" y="{at}" text-anchor="end" dominant-baseline="middle" '
            f'font-size="11" fill="#5d6776">{_text(fmt(tick))}</text>'
        )
    parts.append("</g>")
    return parts


def _vertical_bar(bar: Bar, x: float, width: float, y: _Scale, fmt: Format, color: str) -> str:
    """Return one bar (or its n/a mark), its error bar and its value label."""
    middle = _num(x + width / 2)
    zero = y(0.0)
    if bar.value is None:
        return (
            f'<g class="bar missing"><title>{_text(bar.label)}: not available</title>'
            f'<text x="{middle}" y="{_num(zero - 4)}" text-anchor="middle" font-size="11" '
            f'fill="#5d6776">n/a</text></g>'
        )
    top, bottom = sorted((y(bar.value), zero))
    said = fmt(bar.value)
    if bar.low is not None and bar.high is not None:
        said += f" (interval {fmt(bar.low)} to {fmt(bar.high)})"
    parts = [
        f'<g class="bar"><title>{_text(bar.label)}: {_text(said)}</title>',
        f'<rect x="{_num(x)}" y="{_num(top)}" width="{_num(width)}" '
        f'height="{_num(bottom - top)}" fill="{color}"/>',
    ]
    label_x, label_y, anchor = middle, top - 4 if bar.value >= 0 else bottom + 13, "middle"
    if bar.low is not None and bar.high is not None:
        high, low = y(bar.high), y(bar.low)
        left, right = _num(x + width / 2 - 6), _num(x + width / 2 + 6)
        parts.append(
            f'<path class="interval" d="M{middle} {_num(low)}V{_num(high)}'
            f'M{left} {_num(low)}H{right}M{left} {_num(high)}H{right}" '
            f'stroke="#1d2430" stroke-width="1.5" fill="none"/>'
        )
        # Beside the error bar, level with the bar's end, so the line never crosses the figure.
        label_x, label_y, anchor = _num(x + width / 2 + 9), y(bar.value) - 4, "start"
    parts.append(
        f'<text class="value" x="{label_x}" y="{_num(label_y)}" text-anchor="{anchor}" '
        f'font-size="11" fill="#1d2430" {HALO}>{_text(fmt(bar.value))}</text></g>'
    )
    return "".join(parts)


def _x_label(text: str, x: float, height: int) -> str:
    return (
        f'<text class="label" x="{_num(x)}" y="{height - BOTTOM + 16}" text-anchor="middle" '
        f'font-size="12" fill="#1d2430">{_text(text)}</text>'
    )


def bar_chart(
    bars: Sequence[Bar], *, title: str, fmt: Format = plain, width: int = 360, height: int = HEIGHT
) -> Markup:
    """Return vertical bars with optional error bars (a bar's `low` to `high`)."""
    ticks = _ticks(_known(bars))
    y = _Scale(ticks, height - BOTTOM, TOP)
    parts = _open(title, width, height, "bars") + _y_axis(ticks, y, fmt, width)
    slot = (width - LEFT - RIGHT) / max(len(bars), 1)
    for i, bar in enumerate(bars):
        x = LEFT + i * slot
        parts.append(_vertical_bar(bar, x + slot * 0.2, slot * 0.6, y, fmt, PALETTE[i % 5]))
        parts.append(_x_label(bar.label, x + slot / 2, height))
    return Markup("".join([*parts, "</svg>"]))


def grouped_bar_chart(
    groups: Sequence[BarGroup], *, title: str, fmt: Format = plain, height: int = HEIGHT
) -> Markup:
    """Return groups of vertical bars with error bars and a legend of the series."""
    series = list(dict.fromkeys(bar.label for group in groups for bar in group.bars))
    ticks = _ticks([v for group in groups for v in _known(group.bars)])
    y = _Scale(ticks, height - BOTTOM, TOP + 18)
    parts = _open(title, WIDTH, height, "grouped") + _legend(series)
    parts += _y_axis(ticks, y, fmt, WIDTH)
    slot = (WIDTH - LEFT - RIGHT) / max(len(groups), 1)
    width = slot * 0.8 / max(len(series), 1)
    for i, group in enumerate(groups):
        x = LEFT + i * slot + slot * 0.1
        for bar in group.bars:
            n = series.index(bar.label)
            named = Bar(f"{group.label}, {bar.label}", bar.value, bar.low, bar.high)
            parts.append(_vertical_bar(named, x + n * width, width * 0.9, y, fmt, PALETTE[n % 5]))
        parts.append(_x_label(group.label, LEFT + i * slot + slot / 2, height))
    return Markup("".join([*parts, "</svg>"]))


def _legend(names: Sequence[str]) -> list[str]:
    parts = ['<g class="legend">']
    x = LEFT
    for n, name in enumerate(names):
        parts.append(
            f'<rect x="{x}" y="2" width="10" height="10" fill="{PALETTE[n % 5]}"/>'
            f'<text x="{x + 14}" y="11" font-size="11" fill="#1d2430">{_text(name)}</text>'
        )
        x += 24 + 7 * len(name)
    parts.append("</g>")
    return parts


def funnel_chart(bars: Sequence[Bar], *, title: str, fmt: Format = plain) -> Markup:
    """Return horizontal bars, one per step, each labelled with its value and share of the first."""
    row, label_end = 30, 120
    height = TOP + row * len(bars) + 8
    ticks = _ticks(_known(bars))
    x = _Scale(ticks, label_end + 8, WIDTH - 170)
    first = bars[0].value if bars else None
    parts = _open(title, WIDTH, height, "funnel")
    for i, bar in enumerate(bars):
        top = TOP + i * row
        middle = _num(top + row * 0.4)
        parts.append(
            f'<text class="label" x="{label_end}" y="{middle}" text-anchor="end" '
            f'dominant-baseline="middle" font-size="12" fill="#1d2430">{_text(bar.label)}</text>'
        )
        if bar.value is None:
            parts.append(
                f'<g class="bar missing"><title>{_text(bar.label)}: not available</title>'
                f'<text x="{_num(x(0))}" y="{middle}" dominant-baseline="middle" font-size="11" '
                f'fill="#5d6776">n/a</text></g>'
            )
            continue
        left, right = sorted((x(0.0), x(bar.value)))
        said = fmt(bar.value)
        if first and i:
            said += f" ({bar.value / first:.0%} of {bars[0].label.lower()})"
        parts.append(
            f'<g class="bar"><title>{_text(bar.label)}: {_text(said)}</title>'
            f'<rect x="{_num(left)}" y="{top}" width="{_num(right - left)}" '
            f'height="{_num(row * 0.8)}" fill="{PALETTE[0]}"/>'
            f'<text class="value" x="{_num(right + 6)}" y="{middle}" dominant-baseline="middle" '
            f'font-size="11" fill="#1d2430">{_text(said)}</text></g>'
        )
    return Markup("".join([*parts, "</svg>"]))


def series_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Format = plain,
    kind: str = "line",
    height: int = HEIGHT,
) -> Markup:
    """Return daily (or any ordered) series as lines, or as columns with `kind="columns"`.

    A None value leaves a gap in its line. At most `MAX_X_LABELS` x labels are written.
    """
    values = [v for s in series for v in s.values if v is not None]
    ticks = _ticks(values)
    y = _Scale(ticks, height - BOTTOM, TOP + 18)
    parts = _open(title, WIDTH, height, kind) + _legend([s.name for s in series])
    parts += _y_axis(ticks, y, fmt, WIDTH)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(_x_label(label, LEFT + (i + 0.5) * slot, height))
    for n, one in enumerate(series):
        color = PALETTE[n % 5]
        if kind == "columns":
            width = slot * 0.8 / len(series)
            for i, value in enumerate(one.values):
                bar = Bar(f"{labels[i]}, {one.name}", value)
                x = LEFT + i * slot + slot * 0.1 + n * width
                parts.append(_column(bar, x, width, y, fmt, color))
        else:
            parts.append(_line(labels, one, slot, y, fmt, color))
    return Markup("".join([*parts, "</svg>"]))


def _column(bar: Bar, x: float, width: float, y: _Scale, fmt: Format, color: str) -> str:
    if bar.value is None:
        return ""
    top, bottom = sorted((y(bar.value), y(0.0)))
    return (
        f'<g class="bar"><title>{_text(bar.label)}: {_text(fmt(bar.value))}</title>'
        f'<rect x="{_num(x)}" y="{_num(top)}" width="{_num(width)}" '
        f'height="{_num(bottom - top)}" fill="{color}"/></g>'
    )


def _line(
    labels: Sequence[str], one: Series, slot: float, y: _Scale, fmt: Format, color: str
) -> str:
    path, points, pen_down = [], [], False
    for i, value in enumerate(one.values):
        if value is None:
            pen_down = False
            continue
        x, at = _num(LEFT + (i + 0.5) * slot), _num(y(value))
        path.append(f"{'L' if pen_down else 'M'}{x} {at}")
        pen_down = True
        points.append(
            f'<circle cx="{x}" cy="{at}" r="2.5" fill="{color}">'
            f"<title>{_text(labels[i])}, {_text(one.name)}: {_text(fmt(value))}</title></circle>"
        )
    line = (
        f'<path class="line" d="{"".join(path)}" stroke="{color}" stroke-width="2" fill="none"/>'
        if path
        else ""
    )
    return f'<g class="series"><title>{_text(one.name)}</title>{line}{"".join(points)}</g>'


def curve_chart(
    xs: Sequence[float],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Format = plain,
    x_fmt: Format = percent,
    marks: Sequence[Mark] = (),
    height: int = HEIGHT,
) -> Markup:
    """Return lines over a numeric x axis (such as share contacted), with marked x values.

    Unlike `series_chart`, points sit at their x value, so a curve from 0 starts on the axis.
    """
    y_ticks = _ticks([v for s in series for v in s.values if v is not None])
    y = _Scale(y_ticks, height - BOTTOM, TOP + 18)
    x_ticks = _ticks([min(xs, default=0.0), max(xs, default=1.0)], count=5)
    x = _Scale(x_ticks, LEFT, WIDTH - RIGHT)
    parts = _open(title, WIDTH, height, "curves") + _legend([s.name for s in series])
    parts += _y_axis(y_ticks, y, fmt, WIDTH)
    parts += [_x_label(x_fmt(tick), x(tick), height) for tick in x_ticks]
    for n, one in enumerate(series):
        color = PALETTE[n % 5]
        path: list[str] = []
        points: list[str] = []
        for at, value in zip(xs, one.values, strict=True):
            if value is None:
                continue
            cx, cy = _num(x(at)), _num(y(value))
            path.append(f"{'L' if path else 'M'}{cx} {cy}")
            said = f"{x_fmt(at)}, {one.name}: {fmt(value)}"
            points.append(
                f'<circle cx="{cx}" cy="{cy}" r="2" fill="{color}"><title>{_text(said)}</title>'
                "</circle>"
            )
        line = (
            f'<path class="line" d="{"".join(path)}" stroke="{color}" stroke-width="2" '
            'fill="none"/>'
            if path
            else ""
        )
        parts.append(
            f'<g class="series"><title>{_text(one.name)}</title>{line}{"".join(points)}</g>'
        )
    for mark in marks:
        left = _num(x(mark.x))
        anchor, shift = ("end", -4) if x(mark.x) > WIDTH / 2 else ("start", 4)
        parts.append(
            f'<g class="mark"><title>{_text(mark.label)}</title>'
            f'<line x1="{left}" x2="{left}" y1="{TOP + 18}" y2="{height - BOTTOM}" '
            f'stroke="#1d2430" stroke-dasharray="4 3"/>'
            f'<text x="{_num(x(mark.x) + shift)}" y="{TOP + 30}" '
            f'text-anchor="{anchor}" font-size="11" fill="#1d2430" {HALO}>'
            f"{_text(mark.label)}</text></g>"
        )
    return Markup("".join([*parts, "</svg>"]))
