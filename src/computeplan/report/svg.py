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


def band_chart(
    title: str,
    x_labels: Sequence[str],
    bands: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    *,
    y_label: str,
    width: int = 720,
    height: int = 300,
) -> str:
    """A fan chart: per series, the P10-P90 band shaded and the P50 line, over the x labels."""
    left, right, top, bottom = 70, 20, 36, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(x_labels), 1)
    peak = max((max(hi, default=0.0) for _, _, hi in bands.values()), default=0.0)
    y_max = _nice_max(float(peak))
    step = plot_w / max(n - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{left + step * i:.1f},{top + plot_h - plot_h * float(v) / y_max:.1f}"

    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i in range(5):
        value, y = y_max * i / 4, top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt(value)}</text>')
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle" font-size="11">{html.escape(y_label)}</text>'
    )
    for i, label in enumerate(x_labels):
        parts.append(
            f'<text x="{left + step * i:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'font-size="11">{html.escape(label)}</text>'
        )
    legend_x = left
    for j, (name, (lo, mid, hi)) in enumerate(bands.items()):
        color = PALETTE[j % len(PALETTE)]
        outline = [xy(i, v) for i, v in enumerate(hi)] + [xy(i, v) for i, v in reversed(list(enumerate(lo)))]
        parts.append(
            f'<polygon points="{" ".join(outline)}" fill="{color}" fill-opacity="0.25" stroke="none">'
            f"<title>{html.escape(name)}: P10-P90</title></polygon>"
        )
        parts.append(
            f'<polyline points="{" ".join(xy(i, v) for i, v in enumerate(mid))}" fill="none" stroke="{color}" '
            f'stroke-width="2"><title>{html.escape(name)}: P50</title></polyline>'
        )
        parts.append(
            f'<rect x="{legend_x}" y="{height - 27}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{height - 18}" font-size="11">{html.escape(name)} (P50 line, P10-P90 band)'
            "</text>"
        )
        legend_x += 40 + 7 * (len(name) + 24)
    parts.append("</svg>")
    return "".join(parts)


def tornado_chart(title: str, values: dict[str, float], *, x_label: str, width: int = 720) -> str:
    """Horizontal bars from a zero line, longest first: how strongly each input moves an output (-1 to 1)."""
    rows = list(values.items())
    label_w, right, top, row_h = 300, 40, 36, 22
    height = top + row_h * len(rows) + 40
    plot_w = width - label_w - right
    zero = label_w + plot_w / 2
    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 4}" y2="{top + row_h * len(rows)}" stroke="#222"/>',
    ]
    for i, (name, value) in enumerate(rows):
        y = top + row_h * i
        w = abs(value) * plot_w / 2
        x = zero if value >= 0 else zero - w
        color = PALETTE[0] if value >= 0 else PALETTE[2]
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1.0):.1f}" height="{row_h - 6}" fill="{color}">'
            f"<title>{html.escape(name)}: {value:+.2f}</title></rect>"
            f'<text x="{label_w - 8}" y="{y + row_h - 7}" text-anchor="end" font-size="11">{html.escape(name)}</text>'
        )
    for v in (-1.0, -0.5, 0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{zero + v * plot_w / 2:.1f}" y="{top + row_h * len(rows) + 16}" text-anchor="middle" '
            f'font-size="11">{v:+.1f}</text>'
        )
    parts.append(
        f'<text x="{zero:.1f}" y="{height - 6}" text-anchor="middle" font-size="11">{html.escape(x_label)}</text></svg>'
    )
    return "".join(parts)
