"""Charts as a self-contained HTML page: inline SVG written by hand, no script, no network.

:func:`html_page` lays out a title, a list of facts and time-series :class:`Panel`\\ s that
share the x axis (seconds), each with its own y axis, legend and a dashed reference line if
wanted. Every text is HTML-escaped. The load test writes its chart with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

# Okabe-Ito colours: told apart with any colour vision.
VERMILLION, BLUE, GREEN, ORANGE, PURPLE, GREY = (
    "#D55E00",
    "#0072B2",
    "#009E73",
    "#E69F00",
    "#CC79A7",
    "#555555",
)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per x value; None leaves a gap
    color: str
    area: bool = False  # filled (stacked on the panel's previous area series)


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str  # what the y axis counts
    series: Sequence[Series]
    reference: tuple[str, float] | None = None  # a dashed horizontal line: (label, value)
    description: str = ""  # for screen readers (the SVG's <desc>)


@dataclass(frozen=True)
class Layout:
    width: int = 880
    height: int = 240
    left: int = 64
    right: int = 16
    top: int = 50
    bottom: int = 40

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2, 2.5 or 5 times a power
    of ten."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _stacked(panel: Panel) -> list[list[float | None]]:
    """The values to draw: area series stacked on the earlier area series."""
    drawn: list[list[float | None]] = []
    base: list[float] | None = None
    for s in panel.series:
        values = list(s.values)
        if s.area:
            if base is None:
                base = [0.0] * len(values)
            values = [None if v is None else v + b for v, b in zip(values, base, strict=True)]
            base = [b if v is None else v for v, b in zip(values, base, strict=True)]
        drawn.append(values)
    return drawn


def svg_panel(panel: Panel, xs: Sequence[float], layout: Layout = Layout()) -> str:
    drawn = _stacked(panel)
    highest = max((v for values in drawn for v in values if v is not None), default=0.0)
    if panel.reference is not None:
        highest = max(highest, panel.reference[1])
    y_ticks = nice_ticks(highest)
    y_top = y_ticks[-1] or 1.0
    x_ticks = nice_ticks(max(xs, default=0.0), 8)
    x_top = x_ticks[-1] or 1.0
    w, h, left, top = layout.plot_width, layout.plot_height, layout.left, layout.top

    def px(x: float) -> float:
        return round(left + x / x_top * w, 1)

    def py(y: float) -> float:
        return round(top + h - y / y_top * h, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {layout.height}" '
        f'width="{layout.width}" height="{layout.height}" role="img">',
        f"<title>{escape(panel.title)}</title>",
        f"<desc>{escape(panel.description or panel.title)}</desc>",
        f'<text x="{left}" y="18" class="title">{escape(panel.title)}</text>',
    ]
    for tick in y_ticks:
        y = py(tick)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y}" y2="{y}" class="grid"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4}" class="tick" text-anchor="end">'
            f"{_number(tick)}</text>"
        )
    for tick in x_ticks:
        x = px(tick)
        parts.append(f'<line x1="{x}" x2="{x}" y1="{top + h}" y2="{top + h + 4}" class="axis"/>')
        parts.append(
            f'<text x="{x}" y="{top + h + 17}" class="tick" text-anchor="middle">'
            f"{_number(tick)}</text>"
        )
    parts.append(
        f'<text x="{left + w}" y="{top + h + 34}" class="tick" text-anchor="end">'
        "seconds since the burst started</text>"
    )
    parts.append(
        f'<text x="14" y="{top + h / 2}" class="tick" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + h / 2})">{escape(panel.unit)}</text>'
    )
    floors = [0.0] * len(xs)
    for s, values in zip(panel.series, drawn, strict=True):
        for run in _runs(xs, values):
            line = " ".join(f"{px(x)},{py(y)}" for x, y in run)
            if s.area:
                first, last = run[0][0], run[-1][0]
                under = " ".join(
                    f"{px(x)},{py(f)}"
                    for x, f in reversed(list(zip(xs, floors, strict=True)))
                    if first <= x <= last
                )
                parts.append(
                    f'<polygon points="{line} {under}" fill="{s.color}" '
                    'fill-opacity="0.35" stroke="none"/>'
                )
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{s.color}" '
                'stroke-width="2" stroke-linejoin="round"/>'
            )
        if s.area:
            floors = [f if v is None else v for v, f in zip(values, floors, strict=True)]
    if panel.reference is not None:
        label, value = panel.reference
        y = py(value)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y}" y2="{y}" class="reference"/>')
        parts.append(f'<text x="{left + 6}" y="{y + 14}" class="tick">{escape(label)}</text>')
    x = float(left)
    for s in panel.series:
        parts.append(f'<rect x="{x}" y="28" width="14" height="10" fill="{s.color}"/>')
        parts.append(f'<text x="{x + 18}" y="37" class="legend">{escape(s.label)}</text>')
        x += 40 + 7 * len(s.label)
    parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="frame"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def _runs(xs: Sequence[float], values: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    """The unbroken stretches of ``values`` (None breaks a line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, v in zip(xs, values, strict=True):
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, v))
    return [r for r in runs if r]


STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a;
       margin: 24px auto; max-width: 900px; padding: 0 12px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
p.sub { margin: 0 0 16px; color: #444; }
dl { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px 16px; margin: 0 0 18px; }
dl div { border-left: 3px solid #0072B2; padding: 2px 8px; }
dt { font-size: 12px; color: #555; } dd { margin: 0; font-size: 18px; font-weight: 600; }
svg { display: block; margin: 0 0 10px; max-width: 100%; height: auto; }
svg .title { font-size: 14px; font-weight: 600; fill: #1a1a1a; }
svg .tick, svg .legend { font-size: 12px; fill: #333; }
svg .grid { stroke: #e4e4e4; } svg .axis { stroke: #777; }
svg .frame { fill: none; stroke: #999; }
svg .reference { stroke: #555; stroke-dasharray: 6 4; stroke-width: 1.5; }
p.note { color: #444; font-size: 13px; }
"""


@dataclass(frozen=True)
class Page:
    title: str
    subtitle: str
    facts: Sequence[tuple[str, str]] = ()
    panels: Sequence[Panel] = ()
    notes: Sequence[str] = field(default_factory=tuple)


def html_page(page: Page, xs: Sequence[float]) -> str:
    """The whole page: no script, no external resource."""
    facts = "".join(
        f"<div><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>"
        for label, value in page.facts
    )
    panels = "\n".join(svg_panel(p, xs) for p in page.panels)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in page.notes)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
        f"<title>{escape(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<h1>{escape(page.title)}</h1>\n<p class="sub">{escape(page.subtitle)}</p>\n'
        f"<dl>{facts}</dl>\n{panels}\n{notes}\n</body>\n</html>\n"
    )
