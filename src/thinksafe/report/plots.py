"""Hand-written SVG plots for the HTML report: interval (forest) plots, a histogram, a heat map,
a plot of differences and a plot of rates against a swept setting.

Each function returns one ``<svg>`` element as text, with a ``<title>`` and ``<desc>`` for
screen readers, every number printed next to its mark (colour is never the only carrier of
meaning) and every piece of text escaped. No dependency beyond the standard library.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#1b1b1b"
MUTED = "#555555"
GRID = "#d0d0d0"
BAND = "#f3f4f6"

SERIES_STYLE: dict[str, tuple[str, str]] = {
    # series -> (colour, marker shape)
    "answer": ("#1f5fa8", "circle"),
    "reasoning": ("#a34a00", "square"),
    "either": ("#6a2c91", "diamond"),
}
"""Colours (each at least 4.5:1 against white) and marker shapes per channel."""

_DEFAULT_STYLE = ("#2f4f4f", "circle")
_CHAR_W = 6.6  # average width of a 12px character, for fitting labels


def esc(text: object) -> str:
    """Text escaped for SVG/HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def fit(text: str, width: float, char_w: float = _CHAR_W) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    room = max(3, int(width / char_w))
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def interval_text(value: float | None, ci: Sequence[float] | None) -> str:
    """``40.0% [30.1–50.2]``, or ``n/a``."""
    if value is None:
        return "n/a"
    text = pct(value)
    if ci is not None:
        text += f" [{ci[0] * 100:.1f}–{ci[1] * 100:.1f}]"
    return text


def _open(uid: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img"'
        f' width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"'
        f' aria-labelledby="{esc(uid)}-t {esc(uid)}-d" font-family="{esc(FONT)}"'
        f' font-size="12" fill="{INK}">',
        f'<title id="{esc(uid)}-t">{esc(title)}</title>',
        f'<desc id="{esc(uid)}-d">{esc(desc)}</desc>',
    ]


def _label(x: float, y: float, text: str, width: float, **attrs: str) -> str:
    """A text label fitted to ``width``, with the full text as a tooltip when cut."""
    shown = fit(text, width)
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    tip = f"<title>{esc(text)}</title>" if shown != text else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{tip}{esc(shown)}</text>'


def _marker(shape: str, x: float, y: float, colour: str, r: float = 4.5) -> str:
    if shape == "square":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}"'
            f' fill="{colour}"/>'
        )
    if shape == "diamond":
        d = r * 1.35
        return (
            f'<path d="M{x:.1f} {y - d:.1f}L{x + d:.1f} {y:.1f}L{x:.1f} {y + d:.1f}'
            f'L{x - d:.1f} {y:.1f}Z" fill="{colour}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}"/>'


@dataclass(frozen=True)
class Point:
    """One estimate with its interval. ``note`` is printed after the numbers (e.g. ``12/40``)."""

    series: str
    value: float | None
    ci95: tuple[float, float] | None = None
    note: str = ""


def interval_plot(
    groups: Sequence[tuple[str, Sequence[Point]]],
    *,
    uid: str,
    title: str,
    desc: str,
) -> str:
    """A forest plot on a 0-100% axis: one band per group, one row per point, each row with a
    marker (shape by series), its 95% interval, and its numbers printed on the right."""
    row_h, top, bottom = 18.0, 34.0, 12.0
    x_label, x_series, x0, x1, x_text = 8.0, 236.0, 316.0, 596.0, 608.0
    width = 860.0
    n_rows = sum(max(1, len(points)) for _, points in groups)
    height = top + n_rows * row_h + bottom + 6.0 * max(0, len(groups) - 1)
    out = _open(uid, width, height, title, desc)

    def xs(v: float) -> float:
        return x0 + (x1 - x0) * max(0.0, min(1.0, v))

    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = xs(tick)
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 6:.1f}" x2="{x:.1f}" y2="{height - bottom:.1f}"'
            f' stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{top - 12:.1f}" text-anchor="middle" fill="{MUTED}">'
            f"{tick * 100:.0f}%</text>"
        )
    y = top
    for index, (label, points) in enumerate(groups):
        rows = max(1, len(points))
        if index % 2 == 0:
            out.append(
                f'<rect x="0" y="{y - 2:.1f}" width="{width:.0f}" height="{rows * row_h + 4:.1f}"'
                f' fill="{BAND}" fill-opacity="0.7"/>'
            )
        out.append(
            _label(
                x_label, y + row_h * rows / 2 + 4, label, x_series - x_label - 10, font_weight="600"
            )
        )
        for j, p in enumerate(points):
            cy = y + j * row_h + row_h / 2
            colour, shape = SERIES_STYLE.get(p.series, _DEFAULT_STYLE)
            out.append(
                f'<text x="{x_series:.1f}" y="{cy + 4:.1f}" fill="{MUTED}">{esc(p.series)}</text>'
            )
            if p.value is not None:
                if p.ci95 is not None:
                    lo, hi = xs(p.ci95[0]), xs(p.ci95[1])
                    out.append(
                        f'<line x1="{lo:.1f}" y1="{cy:.1f}" x2="{hi:.1f}" y2="{cy:.1f}"'
                        f' stroke="{colour}" stroke-width="2"/>'
                    )
                    for xe in (lo, hi):
                        out.append(
                            f'<line x1="{xe:.1f}" y1="{cy - 4:.1f}" x2="{xe:.1f}"'
                            f' y2="{cy + 4:.1f}" stroke="{colour}" stroke-width="2"/>'
                        )
                out.append(_marker(shape, xs(p.value), cy, colour))
            text = interval_text(p.value, p.ci95) + (f"  {p.note}" if p.note else "")
            out.append(_label(x_text, cy + 4, text, width - x_text - 4))
        y += rows * row_h + 6.0
    out.append("</svg>")
    return "".join(out)


def histogram(
    bins: Sequence[tuple[str, int]],
    *,
    uid: str,
    title: str,
    desc: str,
    x_label: str,
    y_label: str = "count",
) -> str:
    """Vertical bars, one per bin, each with its count printed above it."""
    width, height = 640.0, 240.0
    left, right, top, bottom = 48.0, 12.0, 24.0, 44.0
    out = _open(uid, width, height, title, desc)
    peak = max((n for _, n in bins), default=0) or 1
    n_bins = max(1, len(bins))
    slot = (width - left - right) / n_bins
    bar_w = max(4.0, slot * 0.72)
    base = height - bottom
    out.append(
        f'<line x1="{left:.1f}" y1="{base:.1f}" x2="{width - right:.1f}" y2="{base:.1f}"'
        f' stroke="{INK}"/>'
    )
    for i, (label, n) in enumerate(bins):
        h = (base - top - 14) * n / peak
        x = left + i * slot + (slot - bar_w) / 2
        out.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
            f' fill="#1f5fa8"><title>{esc(label)}: {n}</title></rect>'
        )
        out.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">{n}</text>'
        )
        out.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{base + 16:.1f}" text-anchor="middle"'
            f' fill="{MUTED}">{esc(fit(label, slot))}</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 8:.1f}" text-anchor="middle">'
        f"{esc(x_label)}</text>"
    )
    out.append(
        f'<text x="14" y="{(top + base) / 2:.1f}" text-anchor="middle"'
        f' transform="rotate(-90 14 {(top + base) / 2:.1f})">{esc(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Cell:
    """One heat-map cell: a share in [0, 1] (or ``None``), and two printed lines."""

    value: float | None
    text: str
    subtext: str = ""


_HEAT_STOPS = ((255, 247, 236), (253, 187, 132), (227, 74, 51), (127, 0, 0))


def heat_colour(value: float) -> tuple[str, str]:
    """(fill, text colour) for a share in [0, 1]: light to dark red, with text that keeps a
    contrast of at least 4.5:1 on the fill."""
    v = max(0.0, min(1.0, value)) * (len(_HEAT_STOPS) - 1)
    i = min(int(v), len(_HEAT_STOPS) - 2)
    t = v - i
    rgb = [round(a + (b - a) * t) for a, b in zip(_HEAT_STOPS[i], _HEAT_STOPS[i + 1])]
    fill = "#{:02x}{:02x}{:02x}".format(*rgb)
    return fill, ("#ffffff" if _luminance(rgb) < 0.18 else "#000000")


def _luminance(rgb: Sequence[int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    cells: Sequence[Sequence[Cell]],
    *,
    uid: str,
    title: str,
    desc: str,
    legend: str = "100% unsafe",
) -> str:
    """A grid of shares: rows (e.g. categories) by columns (e.g. models), each cell coloured
    by its value and printed with its numbers; cells without a value are hatched ``n/a``."""
    label_w, cell_w, cell_h, head_h = 290.0, 132.0, 36.0, 46.0
    legend_h = 34.0
    width = max(label_w + cell_w * max(1, len(col_labels)) + 10, label_w + 330)
    height = head_h + cell_h * len(row_labels) + legend_h + 8
    out = _open(uid, width, height, title, desc)
    out.append(
        f'<defs><pattern id="{esc(uid)}-na" width="6" height="6" patternUnits="userSpaceOnUse"'
        f' patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="#bbbbbb" stroke-width="2"/></pattern></defs>'
    )
    for j, col in enumerate(col_labels):
        cx = label_w + j * cell_w + cell_w / 2
        head, sep, rest = col.partition(": ")
        if sep:
            out.append(
                f'<text x="{cx:.1f}" y="{head_h - 26:.1f}" text-anchor="middle"'
                f' font-weight="700">{esc(head)}</text>'
            )
            out.append(_label(cx, head_h - 10, rest, cell_w - 8, text_anchor="middle"))
        else:
            out.append(_label(cx, head_h - 10, col, cell_w - 8, text_anchor="middle"))
    for i, row in enumerate(row_labels):
        y = head_h + i * cell_h
        out.append(_label(6, y + cell_h / 2 + 4, row, label_w - 12))
        for j in range(len(col_labels)):
            cell = cells[i][j] if j < len(cells[i]) else Cell(None, "n/a")
            x = label_w + j * cell_w
            if cell.value is None:
                fill, ink = f"url(#{esc(uid)}-na)", INK
            else:
                fill, ink = heat_colour(cell.value)
            out.append(
                f'<rect x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cell_w - 2:.1f}"'
                f' height="{cell_h - 2:.1f}" fill="{fill}" stroke="#ffffff">'
                f"<title>{esc(row)} · {esc(col_labels[j])}: {esc(cell.text)}"
                f"{(' ' + esc(cell.subtext)) if cell.subtext else ''}</title></rect>"
            )
            out.append(
                f'<text x="{x + cell_w / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle"'
                f' font-weight="600" fill="{ink}">{esc(cell.text)}</text>'
            )
            if cell.subtext:
                out.append(
                    f'<text x="{x + cell_w / 2:.1f}" y="{y + 30:.1f}" text-anchor="middle"'
                    f' font-size="10.5" fill="{ink}">{esc(fit(cell.subtext, cell_w, 5.8))}</text>'
                )
    # Legend: the colour scale with its ends labelled.
    ly = head_h + cell_h * len(row_labels) + 12
    steps = 20
    seg = 200.0 / steps
    for k in range(steps):
        fill, _ = heat_colour((k + 0.5) / steps)
        out.append(
            f'<rect x="{label_w + k * seg:.1f}" y="{ly:.1f}" width="{seg + 0.5:.1f}" height="10"'
            f' fill="{fill}"/>'
        )
    out.append(f'<text x="{label_w - 6:.1f}" y="{ly + 9:.1f}" text-anchor="end">0%</text>')
    out.append(f'<text x="{label_w + 206:.1f}" y="{ly + 9:.1f}">{esc(legend)}</text>')
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Delta:
    """A difference of two shares with its interval, for :func:`delta_plot`."""

    label: str
    estimate: float | None
    ci95: tuple[float, float] | None
    note: str = ""


def delta_text(estimate: float | None, ci: Sequence[float] | None) -> str:
    """``+12.0 pp [3.1, 20.5]``, or ``n/a``."""
    if estimate is None:
        return "n/a"
    text = f"{_signed_pp(estimate)} pp"
    if ci is not None:
        text += f" [{_signed_pp(ci[0])}, {_signed_pp(ci[1])}]"
    return text


def _signed_pp(value: float) -> str:
    """Signed percentage points to one decimal; what rounds to zero is ``0.0``, not ``-0.0``."""
    text = f"{value * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def delta_plot(rows: Sequence[Delta], *, uid: str, title: str, desc: str) -> str:
    """Differences in percentage points around a zero line, each with its 95% interval and its
    numbers printed on the right."""
    row_h, top, bottom = 20.0, 34.0, 10.0
    x_label, x0, x1, x_text, width = 8.0, 250.0, 560.0, 572.0, 860.0
    height = top + row_h * max(1, len(rows)) + bottom
    span = 0.0
    for r in rows:
        for v in (r.estimate, *(r.ci95 or ())):
            if v is not None:
                span = max(span, abs(v))
    limit = next((s for s in (0.1, 0.25, 0.5, 1.0) if span <= s), 1.0)
    out = _open(uid, width, height, title, desc)

    def xs(v: float) -> float:
        return x0 + (x1 - x0) * (max(-limit, min(limit, v)) + limit) / (2 * limit)

    for k in range(-2, 3):
        tick = limit * k / 2
        x = xs(tick)
        stroke = INK if k == 0 else GRID
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 6:.1f}" x2="{x:.1f}" y2="{height - bottom:.1f}"'
            f' stroke="{stroke}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{top - 12:.1f}" text-anchor="middle" fill="{MUTED}">'
            f"{tick * 100:+.0f}</text>"
        )
    for i, r in enumerate(rows):
        cy = top + i * row_h + row_h / 2
        if i % 2 == 0:
            out.append(
                f'<rect x="0" y="{cy - row_h / 2:.1f}" width="{width:.0f}" height="{row_h:.1f}"'
                f' fill="{BAND}" fill-opacity="0.7"/>'
            )
        out.append(_label(x_label, cy + 4, r.label, x0 - x_label - 12))
        if r.estimate is not None:
            if r.ci95 is not None:
                out.append(
                    f'<line x1="{xs(r.ci95[0]):.1f}" y1="{cy:.1f}" x2="{xs(r.ci95[1]):.1f}"'
                    f' y2="{cy:.1f}" stroke="#1f5fa8" stroke-width="2"/>'
                )
            out.append(_marker("circle", xs(r.estimate), cy, "#1f5fa8"))
        text = delta_text(r.estimate, r.ci95) + (f"  {r.note}" if r.note else "")
        out.append(_label(x_text, cy + 4, text, width - x_text - 4))
    out.append("</svg>")
    return "".join(out)


def histogram_bins(values: Sequence[float], max_bins: int = 10) -> list[tuple[str, int]]:
    """Bins for :func:`histogram`: one per value when the values are few whole numbers (a 1-10
    score), else ``max_bins`` equal-width bins over the observed range."""
    if not values:
        return []
    if all(float(v).is_integer() for v in values):
        first, last = int(min(values)), int(max(values))
        if last - first < 2 * max_bins:
            counts = {k: 0 for k in range(first, last + 1)}
            for v in values:
                counts[int(v)] += 1
            return [(str(k), n) for k, n in counts.items()]
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        return [(f"{lo:g}", len(values))]
    step = (hi - lo) / max_bins
    counts_list = [0] * max_bins
    for v in values:
        counts_list[min(max_bins - 1, int((v - lo) / step))] += 1
    return [
        (f"{lo + k * step:.2g}–{lo + (k + 1) * step:.2g}", n) for k, n in enumerate(counts_list)
    ]


SERIES_DASH: dict[str, str] = {"answer": "", "reasoning": "7 4", "either": "2 3"}
"""Dash pattern of each channel's line in :func:`sweep_plot` (solid, dashed, dotted)."""


def _ceiling(values: Sequence[float]) -> float:
    """The top of a 0-based share axis: the first of 10%, 25%, 50%, 100% that holds them."""
    top = max(values, default=0.0)
    return next((s for s in (0.1, 0.25, 0.5) if top <= s), 1.0)


def sweep_plot(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Point]]],
    *,
    uid: str,
    title: str,
    desc: str,
    x_title: str,
    x_notes: Sequence[str] = (),
) -> str:
    """Shares against the values of one setting: the values evenly spaced along the x axis in
    the order given, one line per series (marker shape and dash pattern by series), a 95%
    interval bar and the share printed beside every mark. ``series`` holds one point per
    x label; a point without a value is printed ``n/a`` on the axis and breaks its line."""
    n = max(1, len(x_labels))
    step, slot = 48.0, max(168.0, 48.0 * len(series) + 24)
    left, right, top, plot_h = 56.0, 16.0, 44.0, 250.0
    width = max(560.0, left + n * slot + right)
    base = top + plot_h
    height = base + (72.0 if x_notes else 56.0)
    ceiling = _ceiling(
        [v for _, pts in series for p in pts for v in (p.value, *(p.ci95 or ())) if v is not None]
    )
    out = _open(uid, width, height, title, desc)

    def ys(v: float) -> float:
        return base - plot_h * max(0.0, min(ceiling, v)) / ceiling

    def xs(i: int, k: int) -> float:
        return left + (i + 0.5) * slot + (k - (len(series) - 1) / 2) * step

    # Legend: each series' marker on a short stretch of its line, and its name.
    lx = left
    for name, _ in series:
        colour, shape = SERIES_STYLE.get(name, _DEFAULT_STYLE)
        dash = SERIES_DASH.get(name, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{lx:.1f}" y1="14" x2="{lx + 34:.1f}" y2="14" stroke="{colour}"'
            f' stroke-width="2"{dash_attr}/>'
        )
        out.append(_marker(shape, lx + 17, 14, colour))
        out.append(f'<text x="{lx + 42:.1f}" y="18">{esc(name)}</text>')
        lx += 62 + len(name) * _CHAR_W
    for i in range(n):
        if i % 2 == 0:
            out.append(
                f'<rect x="{left + i * slot:.1f}" y="{top:.1f}" width="{slot:.1f}"'
                f' height="{plot_h:.1f}" fill="{BAND}" fill-opacity="0.7"/>'
            )
    for k in range(5):
        tick = ceiling * k / 4
        y = ys(tick)
        out.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}"'
            f' stroke="{INK if k == 0 else GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{tick * 100:g}%</text>"
        )
    for i, label in enumerate(x_labels):
        cx = left + (i + 0.5) * slot
        out.append(_label(cx, base + 18, label, slot - 8, text_anchor="middle", font_weight="600"))
        if i < len(x_notes):
            out.append(
                _label(cx, base + 34, x_notes[i], slot - 8, text_anchor="middle", fill=MUTED)
            )
    out.append(
        f'<text x="{left + n * slot / 2:.1f}" y="{height - 10:.1f}" text-anchor="middle">'
        f"{esc(x_title)}</text>"
    )
    marks: list[str] = []
    for k, (name, points) in enumerate(series):
        colour, shape = SERIES_STYLE.get(name, _DEFAULT_STYLE)
        dash = SERIES_DASH.get(name, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        stretch: list[str] = []
        for i, p in enumerate([*points, Point(name, None)]):
            if p.value is not None:
                stretch.append(f"{xs(i, k):.1f},{ys(p.value):.1f}")
                continue
            if len(stretch) > 1:
                out.append(
                    f'<polyline points="{" ".join(stretch)}" fill="none" stroke="{colour}"'
                    f' stroke-width="1.5"{dash_attr}/>'
                )
            stretch = []
        for i, p in enumerate(points[: len(x_labels)]):
            x = xs(i, k)
            label = x_labels[i]
            tip = f"{name} at {x_title} {label}: {interval_text(p.value, p.ci95)}"
            tip += f"  {p.note}" if p.note else ""
            if p.value is None:
                marks.append(
                    f'<text x="{x:.1f}" y="{base - 6:.1f}" text-anchor="middle" fill="{MUTED}"'
                    f' font-size="11"><title>{esc(tip)}</title>n/a</text>'
                )
                continue
            y = ys(p.value)
            bar = ""
            if p.ci95 is not None:
                lo, hi = ys(p.ci95[0]), ys(p.ci95[1])
                bar = (
                    f'<line x1="{x:.1f}" y1="{lo:.1f}" x2="{x:.1f}" y2="{hi:.1f}"'
                    f' stroke="{colour}" stroke-width="1.5"/>'
                    + "".join(
                        f'<line x1="{x - 4:.1f}" y1="{ye:.1f}" x2="{x + 4:.1f}" y2="{ye:.1f}"'
                        f' stroke="{colour}" stroke-width="1.5"/>'
                        for ye in (lo, hi)
                    )
                )
            marks.append(
                f'<g class="mark" data-series="{esc(name)}"><title>{esc(tip)}</title>{bar}'
                f"{_marker(shape, x, y, colour)}</g>"
            )
            marks.append(
                f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" font-size="11" paint-order="stroke"'
                f' stroke="#ffffff" stroke-width="3" stroke-linejoin="round">'
                f"{esc(pct(p.value))}</text>"
            )
    out.extend(marks)
    out.append("</svg>")
    return "".join(out)
