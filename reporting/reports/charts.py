"""Bar charts as SVG markup, for the pages and the PDFs alike (no JavaScript, no library).

Every chart is a self-contained `<svg role="img">` with a `<title>` and a `<desc>` that
screen readers announce, axes with labelled ticks, and a `<title>` on each bar (the browser
shows it on hover). Colours come as presentation attributes, not `style=`, so the strict
Content-Security-Policy holds and WeasyPrint draws the same thing in a PDF. Callers always
show the numbers in a table beside the chart as well: a chart is for seeing, not reading.

    vertical_bar_chart(chart_id="per-month", title="Submissions per month",
                       categories=["Jan", "Feb"], series=[Series("Submissions", [12, 9])])
    horizontal_bar_chart(chart_id="reasons", title="Cases by reason",
                         bars=[("Discrepancy", 40), ("Great catch", 12)])
"""

import math
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Colours distinguishable with the common colour-vision deficiencies and in greyscale print
# (they differ in lightness too); all at least 3:1 against white.
PALETTE = ("#0e5c6b", "#c46f00", "#4a6fb5", "#6b7780", "#8a4f9e", "#2f7d4a")
AXIS = "#4f5d69"
GRID = "#d5dce1"
TEXT = "#1f2a33"
TARGET = "#b3261e"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    color: str = ""


def _fmt(value: float) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def nice_ticks(maximum: float, *, count: int = 6) -> list[float]:
    """Whole-number ticks from 0 to at least `maximum`, in steps of 1, 2 or 5 times a power
    of ten (the charts count things: submissions, people, conferences)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = step * math.ceil(maximum / step)
    return list(range(0, int(top) + 1, int(step)))


def _svg_open(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="{FONT}" font-size="11">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]


def _legend(series: list[Series], x: float, width: float) -> tuple[list[str], int]:
    """Legend entries from the left, wrapped onto more rows when they do not fit; the parts
    and the number of rows."""
    parts, offset, row = [], 0.0, 0
    for item in series:
        size = 14 + 6.2 * len(item.name) + 18
        if offset and x + offset + size > width:
            offset, row = 0.0, row + 1
        y = 14 + row * 16
        parts.append(
            f'<rect x="{x + offset:.1f}" y="{y - 9:.1f}" width="10" height="10" '
            f'fill="{item.color}"/>'
            f'<text x="{x + offset + 14:.1f}" y="{y:.1f}" fill="{TEXT}">{escape(item.name)}</text>'
        )
        offset += size
    return parts, row + 1


def vertical_bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: list[str],
    series: list[Series],
    description: str = "",
    y_label: str = "",
    width: int = 640,
    height: int = 260,
    target: float | None = None,
    target_label: str = "",
    category_titles: list[str] | None = None,
) -> SafeString:
    """Bars per category; several series are stacked, with a legend.

    `category_titles` (optional) are longer names for each bar's hover title (a conference's
    title, say), where the axis label must stay short.
    """
    series = [
        Series(s.name, [v or 0 for v in s.values], s.color or PALETTE[i % len(PALETTE)])
        for i, s in enumerate(series)
    ]
    n = len(categories)
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    if not description:
        description = _describe(categories, totals, series)
    parts = _svg_open(chart_id, width, height, title, description)
    if n == 0:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{AXIS}">'
            "No data for this period.</text></svg>"
        )
        return mark_safe("".join(parts))  # every value above is escaped

    rotate = n > 14 or max((len(c) for c in categories), default=0) * 6.2 > (width - 60) / n
    legend = len(series) > 1
    left, right = 46, 12
    legend_parts, legend_rows = _legend(series, left, width - right) if legend else ([], 0)
    top = (12 + 16 * legend_rows if legend else 14) + (14 if target is not None else 0)
    bottom = 64 if rotate else 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max([*totals, target or 0, 1]))
    scale = plot_h / ticks[-1]

    # Grid and y axis.
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">'
            f"{_fmt(tick)}</text>"
        )
    if y_label:
        parts.append(
            f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="{AXIS}" '
            f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
        )

    # Bars.
    slot = plot_w / n
    bar_w = max(min(slot * 0.7, 48), 1.5)
    show_values = n <= 24 and bar_w >= 9
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        base = top + plot_h
        name = (category_titles or categories)[i]
        for item in series:
            value = item.values[i]
            h = value * scale
            if h <= 0:
                continue
            label = f"{name}: {_fmt(value)}" + (f" {item.name.lower()}" if legend else "")
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{item.color}"><title>{escape(label)}</title></rect>'
            )
            base -= h
        if show_values and totals[i]:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{base - 3:.1f}" text-anchor="middle" '
                f'font-size="{10 if n <= 16 else 8}" fill="{TEXT}">{_fmt(totals[i])}</text>'
            )
        label_x, label_y = x + bar_w / 2, top + plot_h + 14
        if rotate:
            parts.append(
                f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="end" fill="{AXIS}" '
                f'font-size="9" transform="rotate(-45 {label_x:.1f} {label_y:.1f})">'
                f"{escape(category)}</text>"
            )
        else:
            parts.append(
                f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="middle" '
                f'fill="{AXIS}">{escape(category)}</text>'
            )

    # Axes on top of the bars.
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{AXIS}"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{AXIS}"/>'
    )
    if target is not None:
        y = top + plot_h - target * scale
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<text x="{left + plot_w}" y="{top - 6}" text-anchor="end" fill="{TARGET}">'
            f"- - {escape(target_label or f'Target {_fmt(target)}')}</text>"
        )
    parts += legend_parts
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every value above is escaped


def horizontal_bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: list[tuple[str, float]],
    description: str = "",
    width: int = 640,
    color: str = PALETTE[0],
    value_suffix: str = "",
) -> SafeString:
    """One bar per row, the label on the left and the value at the end of the bar."""
    row_h, top, bottom = 24, 8, 24
    height = top + bottom + row_h * max(len(bars), 1)
    if not description:
        description = "; ".join(f"{label}: {_fmt(value)}{value_suffix}" for label, value in bars)
    parts = _svg_open(chart_id, width, height, title, description or "No data.")
    if not bars:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{AXIS}">'
            "No data for this period.</text></svg>"
        )
        return mark_safe("".join(parts))  # every value above is escaped
    left = min(max(len(label) for label, _ in bars) * 6.4 + 16, width * 0.45)
    right = 48
    plot_w = width - left - right
    ticks = nice_ticks(max([v for _, v in bars] + [1]))
    scale = plot_w / ticks[-1]
    plot_h = row_h * len(bars)
    for tick in ticks:
        x = left + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{GRID}"/>'
            f'<text x="{x:.1f}" y="{top + plot_h + 15}" text-anchor="middle" fill="{AXIS}">'
            f"{_fmt(tick)}</text>"
        )
    for i, (label, value) in enumerate(bars):
        y = top + i * row_h
        w = value * scale
        parts.append(
            f'<text x="{left - 8:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT}">{escape(label)}</text>'
            f'<rect x="{left:.1f}" y="{y + 4:.1f}" width="{max(w, 0):.1f}" '
            f'height="{row_h - 8}" fill="{color}"><title>{escape(label)}: '
            f"{_fmt(value)}{escape(value_suffix)}</title></rect>"
            f'<text x="{left + w + 5:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="{TEXT}">'
            f"{_fmt(value)}{escape(value_suffix)}</text>"
        )
    parts.append(
        f'<line x1="{left:.1f}" y1="{top}" x2="{left:.1f}" y2="{top + plot_h}" stroke="{AXIS}"/>'
        "</svg>"
    )
    return mark_safe("".join(parts))  # every value above is escaped


def _describe(categories: list[str], totals: list[float], series: list[Series]) -> str:
    """A sentence a screen reader can say instead of looking at the bars."""
    if not categories:
        return "No data."
    pairs = ", ".join(f"{c} {_fmt(t)}" for c, t in zip(categories, totals, strict=True))
    if len(pairs) > 600:
        peak = max(range(len(totals)), key=totals.__getitem__)
        pairs = (
            f"{len(categories)} bars from {categories[0]} to {categories[-1]}, "
            f"total {_fmt(sum(totals))}, highest {categories[peak]} with {_fmt(totals[peak])}"
        )
    if len(series) > 1:
        pairs += ". Stacked: " + ", ".join(s.name for s in series)
    return pairs + "."
