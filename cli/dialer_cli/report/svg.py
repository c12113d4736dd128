"""Inline SVG charts drawn from numbers (no library, no JavaScript): a bar chart and a time series
with a limit line. Every text goes through :func:`html.escape`."""

from __future__ import annotations

from html import escape

from dialer_cli.report.metrics import Series

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569")
LIMIT_COLOUR = "#dc2626"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.2f}"


def bar_chart(name: str, values: dict[str, float], unit: str = "", width: int = 640) -> str:
    """Horizontal bars, largest first, each with its label and value."""
    items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    row, label_w, pad = 26, 200, 8
    height = row * len(items) + 2 * pad
    peak = max((v for _, v in items), default=0) or 1
    span = width - label_w - 90
    parts = [
        f'<svg class="chart-svg" data-chart="{escape(name)}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = max(1.0, span * value / peak) if value else 0
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" class="lbl">{escape(label)}</text>'
            f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt(value)} {escape(unit)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="val">{_fmt(value)}{(" " + escape(unit)) if unit else ""}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def time_chart(name: str, series: Series, width: int = 720, height: int = 240) -> str:
    """A step line of ``series`` with its limit as a dashed red line and labelled axes."""
    left, right, top, bottom = 56, 16, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = series.values or [0.0]
    ceiling = max(max(values), series.limit or 0.0) * 1.1 or 1.0
    n = len(values)

    def x(i: float) -> float:
        return left + plot_w * i / max(n, 1)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ceiling)

    points = []
    for i, value in enumerate(values):
        points += [f"{x(i):.1f},{y(value):.1f}", f"{x(i + 1):.1f},{y(value):.1f}"]
    parts = [
        f'<svg class="chart-svg" data-chart="{escape(name)}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
    ]
    highest = ceiling / 1.1
    for tick in (0.0, highest / 2, highest):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">{_fmt(tick)}</text>'
        )
    total_s = series.step * n
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        parts.append(
            f'<text x="{x(n * frac):.1f}" y="{height - 12}" text-anchor="{anchor}" class="tick">+{total_s * frac:,.0f} s</text>'
        )
    parts.append(
        f'<polyline class="mark" fill="none" stroke="{PALETTE[0]}" stroke-width="1.6" points="{" ".join(points)}">'
        f"<title>{escape(series.label)}: peak {_fmt(series.peak)} {escape(series.unit)}</title></polyline>"
    )
    if series.limit is not None:
        parts.append(
            f'<line class="limit" x1="{left}" x2="{left + plot_w}" y1="{y(series.limit):.1f}" y2="{y(series.limit):.1f}" '
            f'stroke="{LIMIT_COLOUR}" stroke-dasharray="6 4"><title>limit {_fmt(series.limit)} {escape(series.unit)}</title></line>'
            f'<text x="{left + plot_w - 4}" y="{y(series.limit) - 5:.1f}" text-anchor="end" class="tick limit-label">limit {_fmt(series.limit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
