"""Inline SVG charts for the report pages: horizontal bars and a vertical histogram.

Charts are plain SVG markup in the page (no script, no library, no external resource), with a
<title> for screen readers and a tooltip per bar. Labels are escaped here, because the template
inserts the returned markup as is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

BAR_HEIGHT = 18
BAR_GAP = 4
LABEL_WIDTH = 190
BAR_AREA = 300
VALUE_WIDTH = 90
HISTOGRAM_HEIGHT = 120
MAX_BARS = 25
"""Bars drawn per chart; the rest are summed into a last "other" bar so the chart stays short."""

COLORS = {"default": "#3b6ea5", "bad": "#a51d1d", "warn": "#b07900", "muted": "#8a96a3"}


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    value_text: Callable[[float], str] = str,
    maximum: float | None = None,
    color: str = "default",
    item_colors: Sequence[str] | None = None,
    other_label: str = "…",
) -> Markup:
    """Draw horizontal bars, one per (label, value), longest first as given.

    Args:
        items: labels and non-negative values.
        title: the accessible name of the chart.
        value_text: formats a value for the text at the end of its bar.
        maximum: the value of a full bar (100 for percentages); default the largest value.
        color: a key of COLORS, for every bar unless item_colors is given.
        item_colors: a key of COLORS per item, in the order of items. The "other" bar that
            sums the items beyond MAX_BARS is drawn in `color`.
        other_label: label of the bar that sums the items beyond MAX_BARS.
    """
    items = list(items)
    colors = list(item_colors) if item_colors is not None else [color] * len(items)
    if len(colors) != len(items):
        raise ValueError(
            f"bar_chart: expected one item color per item, got {len(colors)} for {len(items)} items"
        )
    if len(items) > MAX_BARS:
        rest = sum(value for _, value in items[MAX_BARS - 1 :])
        items = items[: MAX_BARS - 1] + [(other_label, rest)]
        colors = colors[: MAX_BARS - 1] + [color]
    if not items:
        return Markup("")
    top = maximum if maximum else max((value for _, value in items), default=0) or 1
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    height = len(items) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, ((label, value), color_key) in enumerate(zip(items, colors, strict=True)):
        fill = COLORS.get(color_key, COLORS["default"])
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        length = max(BAR_AREA * min(value, top) / top, 1 if value else 0)
        text = escape(value_text(value))
        shown_label = escape(_shorten(str(label), 28))
        parts.append(
            f"<g><title>{escape(label)}: {text}</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT - 5}" text-anchor="end" '
            f'class="chart-label">{shown_label}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{fill}" rx="2"/>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR_HEIGHT - 5}" '
            f'class="chart-value">{text}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(
    bins: Sequence[tuple[str, int]],
    *,
    title: str,
    value_text: Callable[[float], str] = str,
    color: str = "default",
) -> Markup:
    """Draw vertical bars over ordered bins (years), labelling the first, last and every tenth."""
    bins = list(bins)
    if not bins:
        return Markup("")
    top = max(count for _, count in bins) or 1
    step = max(4, min(24, 600 // len(bins)))
    width = max(len(bins) * step + 60, 200)
    height = HISTOGRAM_HEIGHT + 40
    fill = COLORS.get(color, COLORS["default"])
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="12" class="chart-value">{escape(value_text(top))}</text>',
        f'<line x1="30" y1="{HISTOGRAM_HEIGHT + 10}" x2="{width}" y2="{HISTOGRAM_HEIGHT + 10}" '
        'stroke="#999"/>',
    ]
    for index, (label, count) in enumerate(bins):
        bar = HISTOGRAM_HEIGHT * count / top
        x = 30 + index * step
        y = HISTOGRAM_HEIGHT + 10 - bar
        parts.append(
            f'<rect x="{x}" y="{y:.1f}" width="{max(step - 1, 1)}" height="{bar:.1f}" '
            f'fill="{fill}"><title>{escape(label)}: {escape(value_text(count))}</title></rect>'
        )
        if index in (0, len(bins) - 1) or index % 10 == 0:
            parts.append(
                f'<text x="{x}" y="{HISTOGRAM_HEIGHT + 26}" class="chart-label">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
