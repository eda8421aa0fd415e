"""Small, dependency-free SVG charts for the self-contained HTML report (works offline: no chart library)."""

from __future__ import annotations

import html
from collections.abc import Sequence

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10.0 ** int(f"{value:e}".split("e")[1])
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * exponent:
            return float(step * exponent)
    return float(10.0 * exponent)


def _fmt(value: float) -> str:
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def bar_chart(
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    y_label: str,
    line: tuple[str, Sequence[float]] | None = None,
    stacked: bool = True,
    width: int = 720,
    height: int = 300,
) -> str:
    """Stacked (or grouped) bars per x label, with an optional line (a cap or a budget)."""
    left, right, top, bottom = 70, 20, 36, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(x_labels)
    totals = (
        [sum(values[i] for values in series.values()) for i in range(n)]
        if stacked
        else [max((values[i] for values in series.values()), default=0.0) for i in range(n)]
    )
    peak = max([*totals, *(line[1] if line else [])], default=0.0)
    y_max = _nice_max(peak)
    slot = plot_w / max(n, 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt(value)}</text>')
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle" font-size="11">{html.escape(y_label)}</text>'
    )
    names = list(series)
    for i, label in enumerate(x_labels):
        x0 = left + slot * i
        base = 0.0
        for j, name in enumerate(names):
            value = float(series[name][i])
            if value <= 0:
                continue
            h = plot_h * value / y_max
            if stacked:
                y = top + plot_h - plot_h * (base + value) / y_max
                x, w = x0 + slot * 0.15, slot * 0.7
                base += value
            else:
                w = slot * 0.7 / len(names)
                x, y = x0 + slot * 0.15 + j * w, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{html.escape(name)} {html.escape(label)}: '
                f"{_fmt(value)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'font-size="11">{html.escape(label)}</text>'
        )
    if line:
        points = " ".join(
            f"{left + slot * (i + 0.5):.1f},{top + plot_h - plot_h * float(v) / y_max:.1f}"
            for i, v in enumerate(line[1])
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="#222" stroke-width="2" stroke-dasharray="6 3"/>')
    legend_y = height - 18
    entries = [(name, PALETTE[j % len(PALETTE)]) for j, name in enumerate(names)]
    x = left
    for name, color in entries:
        parts.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{legend_y}" font-size="11">{html.escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    if line:
        parts.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="#222" '
            f'stroke-width="2" stroke-dasharray="6 3"/><text x="{x + 22}" y="{legend_y}" '
            f'font-size="11">{html.escape(line[0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
