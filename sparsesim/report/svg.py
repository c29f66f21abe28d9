"""Small hand-written SVG charts for the reports: stacked or grouped bars, a binned area over time, horizontal
bars with reference lines, and a scatter with a Pareto front.

Hand-written so that report.html stays one offline file with no plotting dependency and no fonts to embed
(text uses the browser's sans-serif). Every chart is one `<svg class="chart">` element with a `<title>`, and
every mark carries a `<title>` tooltip with its exact value. The output is well-formed XML (tests parse it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PASS_COLORS: dict[str, str] = {
    "FF": "#4e79a7",
    "BP": "#f28e2b",
    "WU": "#59a14f",
    "UPD": "#b07aa1",
    "GEN": "#9c755f",
}
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
GRID = "#e3e3e3"
INK = "#333333"
MUTED = "#777777"
FONT = 11  # px, axis labels; titles are 14 px, tick labels 10 px


# ---------------------------------------------------------------------------------------------- numbers
def si(value: float, digits: int = 3) -> str:
    """Compact number: 1.23k, 45.6M, 0.0123; integers below 10,000 as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4:
        for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if a >= div:
                return f"{v / div:.{digits}g}{suffix}"
    if a >= 1 and float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.{digits}g}"


def _num(v: float) -> str:
    """A coordinate: two decimals, no trailing zeros."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-6:
        if t >= lo - step * 1e-6:
            ticks.append(round(t, 12))
        t += step
    return ticks


def nice_max(top: float) -> float:
    """The first round tick at or above `top` (the top of a bar chart's axis)."""
    if not math.isfinite(top) or top <= 0:
        return 1.0
    ticks = nice_ticks(0.0, top)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else top
    return ticks[-1] if ticks[-1] >= top * 0.999 else ticks[-1] + step


def log_ticks(lo: float, hi: float, *, pow2: bool = False) -> list[float]:
    """Ticks for a log axis: powers of two when `pow2` (data such as array sizes) or the range is under a
    decade, else powers of 10 (with 2 and 5 between them when the range is narrow)."""
    lo, hi = max(lo, 1e-300), max(hi, lo * 1.0000001)
    decades = math.log10(hi) - math.log10(lo)
    if pow2 or decades < 1:
        p2 = [2.0**k for k in range(math.floor(math.log2(lo)), math.ceil(math.log2(hi)) + 1)]
        ticks = [t for t in p2 if lo * 0.999 <= t <= hi * 1.001]
        if len(ticks) > 12:
            ticks = ticks[:: math.ceil(len(ticks) / 12)]
        if len(ticks) >= 2:
            return ticks
    if decades >= 2:
        mults: tuple[float, ...] = (1,)
    elif decades >= 1:
        mults = (1, 2, 5)
    else:
        mults = (1, 1.5, 2, 3, 4, 5, 6, 8)
    out = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in mults:
            t = m * 10.0**e
            if lo * 0.999 <= t <= hi * 1.001:
                out.append(t)
    return out or [lo, hi]


@dataclass
class Scale:
    """Maps data values in [lo, hi] to pixels in [a, b], linearly or logarithmically."""

    lo: float
    hi: float
    a: float
    b: float
    log: bool = False
    pow2: bool = False  # log axis ticks at powers of two

    def __post_init__(self) -> None:
        if self.log:
            self.lo, self.hi = max(self.lo, 1e-300), max(self.hi, 1e-300)
        if self.hi == self.lo:
            self.hi = self.lo * 2 if self.log else self.lo + 1.0

    def __call__(self, v: float) -> float:
        if self.log:
            v = max(v, self.lo * 1e-3)
            f = (math.log(v) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return self.a + f * (self.b - self.a)

    def ticks(self, count: int = 5) -> list[float]:
        return (
            log_ticks(self.lo, self.hi, pow2=self.pow2) if self.log else nice_ticks(self.lo, self.hi, count)
        )


# ---------------------------------------------------------------------------------------------- canvas
@dataclass
class Canvas:
    """One chart: an SVG of `width` x `height` pixels with a plot area inside the margins."""

    width: float
    height: float
    title: str
    chart_id: str
    left: float = 64
    right: float = 16
    top: float = 40
    bottom: float = 48
    description: str = ""
    parts: list[str] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:  # bottom of the plot area (pixel y grows downwards)
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def text(
        self,
        x: float,
        y: float,
        s: str,
        *,
        size: int = FONT,
        anchor: str = "start",
        color: str = INK,
        rotate: float | None = None,
        weight: str | None = None,
        cls: str | None = None,
    ) -> None:
        rot = f' transform="rotate({_num(rotate)} {_num(x)} {_num(y)})"' if rotate else ""
        w = f' font-weight="{weight}"' if weight else ""
        c = f' class="{cls}"' if cls else ""
        self.add(
            f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" fill="{color}"'
            f"{w}{rot}{c}>{escape(s)}</text>"
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        color: str = INK,
        width: float = 1,
        dash: str | None = None,
        tip: str | None = None,
    ) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        body = f"<title>{escape(tip)}</title>" if tip else ""
        self.add(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" stroke="{color}" '
            f'stroke-width="{_num(width)}"{d}>{body}</line>'
        )

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        fill: str,
        tip: str | None = None,
        stroke: str | None = None,
        cls: str = "mark",
    ) -> None:
        if w <= 0 or h <= 0:
            return
        s = f' stroke="{stroke}" stroke-width="0.8"' if stroke else ""
        body = f"<title>{escape(tip)}</title>" if tip else ""
        self.add(
            f'<rect class="{cls}" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" '
            f'fill="{fill}"{s}>{body}</rect>'
        )

    def y_axis(self, scale: Scale, label: str, fmt: Callable[[float], str] = si, grid: bool = True) -> None:
        for t in scale.ticks():
            y = scale(t)
            if grid:
                self.line(self.x0, y, self.x1, y, color=GRID)
            self.text(self.x0 - 6, y + 3.5, fmt(t), size=10, anchor="end", color=MUTED)
        self.line(self.x0, self.y0, self.x0, self.y1, color=MUTED)
        cy = (self.y0 + self.y1) / 2
        self.text(14, cy, label, anchor="middle", rotate=-90)

    def x_axis(self, scale: Scale, label: str, fmt: Callable[[float], str] = si, grid: bool = False) -> None:
        for t in scale.ticks():
            x = scale(t)
            if grid:
                self.line(x, self.y0, x, self.y1, color=GRID)
            self.line(x, self.y0, x, self.y0 + 4, color=MUTED)
            self.text(x, self.y0 + 16, fmt(t), size=10, anchor="middle", color=MUTED)
        self.line(self.x0, self.y0, self.x1, self.y0, color=MUTED)
        self.text((self.x0 + self.x1) / 2, self.height - 8, label, anchor="middle")

    def legend(self, items: Sequence[tuple[str, str]], *, dashed: Sequence[tuple[str, str]] = ()) -> None:
        """Coloured squares (and dashed-line entries) in one row under the title."""
        x, y = self.x0, self.top - 12
        for name, color in items:
            self.add(f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" fill="{color}"/>')
            self.text(x + 14, y, name, size=10)
            x += 24 + 6.2 * len(name)
        for name, color in dashed:
            self.line(x, y - 4, x + 16, y - 4, color=color, width=1.5, dash="5 3")
            self.text(x + 20, y, name, size=10)
            x += 30 + 6.2 * len(name)

    def render(self) -> str:
        desc = f"<desc>{escape(self.description)}</desc>" if self.description else ""
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(self.chart_id)}" '
            f'width="{_num(self.width)}" height="{_num(self.height)}" '
            f'viewBox="0 0 {_num(self.width)} {_num(self.height)}" role="img" '
            f'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">'
            f"<title>{escape(self.title)}</title>{desc}"
        )
        title = (
            f'<text x="{_num(self.left)}" y="16" font-size="14" font-weight="600" fill="{INK}">'
            f"{escape(self.title)}</text>"
        )
        return head + title + "".join(self.parts) + "</svg>"


def _label_space(labels: Sequence[str], limit: int = 28) -> float:
    """Pixels below the axis for labels rotated by -60 degrees."""
    longest = max((min(len(s), limit) for s in labels), default=0)
    return 24 + 5.6 * longest * math.sin(math.radians(60))


def _short(s: str, limit: int = 28) -> str:
    return s if len(s) <= limit else "…" + s[-(limit - 1) :]


# ------------------------------------------------------------------------------------------------ charts
def bar_chart(
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    chart_id: str,
    ylabel: str,
    stacked: bool,
    colors: dict[str, str] | None = None,
    markers: tuple[str, Sequence[float]] | None = None,
    hlines: Sequence[tuple[float, str, str]] = (),
    ymax: float | None = None,
    fmt: Callable[[float], str] = si,
    unit: str = "",
    description: str = "",
) -> str:
    """Vertical bars per category: `series` stacked or side by side; `markers` = (name, value per category)
    drawn as a black tick (e.g. the dense baseline); `hlines` = (value, label, colour) dashed lines."""
    names = list(series)
    colors = colors or {}
    color = {n: colors.get(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)}
    n_cat = len(categories)
    per = 14.0 if stacked else max(8.0, 7.0 * len(names) + 4)
    plot_w = max(560.0, n_cat * per)
    bottom = _label_space(categories)
    cv = Canvas(plot_w + 80, 300 + bottom, title, chart_id, bottom=bottom, description=description)

    def clean(v: float) -> float:
        return 0.0 if v is None or not math.isfinite(v) else float(v)

    if stacked:
        tops = [sum(clean(series[n][i]) for n in names) for i in range(n_cat)]
    else:
        tops = [max((clean(series[n][i]) for n in names), default=0.0) for i in range(n_cat)]
    if markers is not None:
        tops = [max(t, clean(m)) for t, m in zip(tops, markers[1])]
    top = max([*tops, *(v for v, _, _ in hlines), 0.0])
    ys = Scale(0.0, ymax if ymax is not None else nice_max(top), cv.y0, cv.y1)
    xs = Scale(0.0, float(max(n_cat, 1)), cv.x0, cv.x1)
    cv.y_axis(ys, ylabel, fmt)
    cv.line(cv.x0, cv.y0, cv.x1, cv.y0, color=MUTED)
    slot = xs(1) - xs(0)
    for i, cat in enumerate(categories):
        left = xs(i) + slot * 0.12
        width = slot * 0.76
        if stacked:
            base = 0.0
            for n in names:
                v = clean(series[n][i])
                if v > 0:
                    cv.rect(
                        left,
                        ys(base + v),
                        width,
                        ys(base) - ys(base + v),
                        fill=color[n],
                        tip=f"{cat} {n}: {fmt(v)}{unit}",
                    )
                base += v
        else:
            bw = width / max(1, len(names))
            for j, n in enumerate(names):
                v = series[n][i]
                if v is None or not math.isfinite(v):
                    continue
                cv.rect(
                    left + j * bw, ys(v), bw, ys(0) - ys(v), fill=color[n], tip=f"{cat} {n}: {fmt(v)}{unit}"
                )
        if markers is not None:
            m = markers[1][i]
            if m is not None and math.isfinite(m) and m > 0:
                cv.line(
                    left - 1,
                    ys(m),
                    left + width + 1,
                    ys(m),
                    color="#111",
                    width=2,
                    tip=f"{cat} {markers[0]}: {fmt(m)}{unit}",
                )
        lx, ly = xs(i) + slot / 2 + 3, cv.y0 + 10
        cv.add(
            f'<text x="{_num(lx)}" y="{_num(ly)}" font-size="10" text-anchor="end" fill="{INK}" '
            f'transform="rotate(-60 {_num(lx)} {_num(ly)})">{escape(_short(cat))}<title>{escape(cat)}</title>'
            "</text>"
        )
    for value, label, c in hlines:
        cv.line(cv.x0, ys(value), cv.x1, ys(value), color=c, width=1.5, dash="5 3", tip=f"{label}")
    cv.legend(
        [(n, color[n]) for n in names] + ([(markers[0], "#111")] if markers is not None else []),
        dashed=[(label, c) for _, label, c in hlines],
    )
    return cv.render()


def area_chart(
    edges: Sequence[float],
    values: Sequence[float],
    *,
    title: str,
    chart_id: str,
    xlabel: str,
    ylabel: str,
    color: str = "#4e79a7",
    hlines: Sequence[tuple[float, str, str]] = (),
    strip: Sequence[tuple[float, float, str]] = (),
    strip_legend: Sequence[tuple[str, str]] = (),
    strip_label: str = "",
    fmt_x: Callable[[float], str] = si,
    unit: str = "",
    description: str = "",
) -> str:
    """A binned quantity over time: bin i spans [edges[i], edges[i+1]] with height values[i]. `strip` =
    (start, end, colour) segments drawn as an activity band under the axis (e.g. what the PE array runs)."""
    band = 14.0 if strip else 0.0
    cv = Canvas(
        820, 330 + band, title, chart_id, bottom=48 + band + (16 if strip else 0), description=description
    )
    x_lo, x_hi = (edges[0], edges[-1]) if len(edges) >= 2 else (0.0, 1.0)
    xs = Scale(x_lo, x_hi, cv.x0, cv.x1)
    top = max([*(v for v in values if math.isfinite(v)), *(v for v, _, _ in hlines), 0.0])
    ys = Scale(0.0, top * 1.08 or 1.0, cv.y0, cv.y1)
    cv.y_axis(ys, ylabel)
    pts = [f"{_num(xs(x_lo))},{_num(cv.y0)}"]
    for i, v in enumerate(values):
        y = ys(v if math.isfinite(v) else 0.0)
        pts.append(f"{_num(xs(edges[i]))},{_num(y)}")
        pts.append(f"{_num(xs(edges[i + 1]))},{_num(y)}")
    pts.append(f"{_num(xs(x_hi))},{_num(cv.y0)}")
    cv.add(
        f'<polygon class="mark" points="{" ".join(pts)}" fill="{color}" fill-opacity="0.35" stroke="{color}" '
        f'stroke-width="1"><title>{escape(ylabel)} (average per bin)</title></polygon>'
    )
    # Invisible hover targets: a tooltip per bin with its exact average.
    for i, v in enumerate(values):
        x0, x1 = xs(edges[i]), xs(edges[i + 1])
        cv.add(
            f'<rect x="{_num(x0)}" y="{_num(cv.y1)}" width="{_num(max(x1 - x0, 0.5))}" '
            f'height="{_num(cv.y0 - cv.y1)}" fill="transparent">'
            f"<title>{fmt_x(edges[i])}-{fmt_x(edges[i + 1])} {escape(unit)}: {si(v)}</title></rect>"
        )
    for value, label, c in hlines:
        cv.line(cv.x0, ys(value), cv.x1, ys(value), color=c, width=1.5, dash="5 3", tip=label)
    # the x axis sits below the activity strip
    sy = cv.y0 + 3
    for start, end, c in strip:
        cv.add(
            f'<rect x="{_num(xs(start))}" y="{_num(sy)}" width="{_num(max(xs(end) - xs(start), 0.3))}" '
            f'height="{_num(band - 4)}" fill="{c}"/>'
        )
    if strip:
        cv.text(cv.x0 - 6, sy + band - 6, strip_label, size=9, anchor="end", color=MUTED)
        ax_y = cv.y0 + band
        for t in xs.ticks(8):
            x = xs(t)
            cv.line(x, ax_y, x, ax_y + 4, color=MUTED)
            cv.text(x, ax_y + 16, fmt_x(t), size=10, anchor="middle", color=MUTED)
        cv.line(cv.x0, cv.y0, cv.x1, cv.y0, color=MUTED)
        cv.text((cv.x0 + cv.x1) / 2, cv.height - 8, xlabel, anchor="middle")
    else:
        cv.x_axis(xs, xlabel, fmt_x)
    cv.legend(list(strip_legend), dashed=[(label, c) for _, label, c in hlines])
    return cv.render()


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    chart_id: str,
    xlabel: str,
    colors: Sequence[str] | None = None,
    vlines: Sequence[tuple[float, str, str]] = (),
    fmt: Callable[[float], str] = lambda v: f"{v:.3f}",
    suffix: str = "",
    description: str = "",
) -> str:
    """One horizontal bar per label with its value printed; `vlines` = (value, label, colour) dashed lines."""
    left = 24 + 6.4 * max((len(s) for s in labels), default=4)
    row = 26.0
    cv = Canvas(
        left + 520,
        70 + row * len(labels) + 40,
        title,
        chart_id,
        left=left,
        right=70,
        top=44,
        bottom=44,
        description=description,
    )
    finite = [v for v in values if v is not None and math.isfinite(v)]
    hi = max([*finite, *(v for v, _, _ in vlines), 1.0]) * 1.08
    xs = Scale(0.0, hi, cv.x0, cv.x1)
    cv.x_axis(xs, xlabel, grid=True, fmt=lambda v: f"{v:g}")
    for i, (label, v) in enumerate(zip(labels, values)):
        y = cv.y1 + i * row + 4
        cv.text(cv.x0 - 8, y + row / 2, label, anchor="end")
        if v is None or not math.isfinite(v):
            cv.text(cv.x0 + 4, y + row / 2, "n/a", color=MUTED)
            continue
        c = colors[i] if colors else PALETTE[0]
        cv.rect(cv.x0, y + 3, xs(v) - cv.x0, row - 8, fill=c, tip=f"{label}: {fmt(v)}{suffix}")
        cv.text(xs(v) + 4, y + row / 2 + 1, f"{fmt(v)}{suffix}", size=10, color=INK)
    for value, label, c in vlines:
        cv.line(
            xs(value),
            cv.y0,
            xs(value),
            cv.y1 - 2,
            color=c,
            width=1.5,
            dash="5 3",
            tip=f"{label}: {fmt(value)}{suffix}",
        )
    cv.legend([], dashed=[(label, c) for _, label, c in vlines])
    return cv.render()


@dataclass
class ScatterPoint:
    x: float
    y: float
    group: str
    tip: str


def _powers_of_two(values: Sequence[float]) -> bool:
    return bool(values) and all(
        v > 0 and float(v).is_integer() and (int(v) & (int(v) - 1)) == 0 for v in values
    )


def pareto_front(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats on both axes (lower x and lower y are better), by x."""
    order = sorted(
        (i for i in range(len(xs)) if math.isfinite(xs[i]) and math.isfinite(ys[i])),
        key=lambda i: (xs[i], ys[i]),
    )
    front: list[int] = []
    best = math.inf
    for i in order:
        if ys[i] < best:
            front.append(i)
            best = ys[i]
    return front


def scatter_chart(
    points: Sequence[ScatterPoint],
    front: Sequence[int],
    *,
    title: str,
    chart_id: str,
    xlabel: str,
    ylabel: str,
    xlog: bool = False,
    ylog: bool = False,
    description: str = "",
) -> str:
    """Points coloured by group; the Pareto front (indices into `points`) joined by a step line and ringed."""
    groups = list(dict.fromkeys(p.group for p in points))
    color = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    width, left, right = 760.0, 76.0, 16.0
    # Legend entries (groups, then the front) flow into rows under the title.
    entries = [(g, 30 + 6 * len(g)) for g in groups] + [("Pareto front", 90.0)]
    placed, x, row = [], left, 0
    for name, w in entries:
        if x + w > width - right and x > left:
            x, row = left, row + 1
        placed.append((name, x, 34 + 16 * row))
        x += w
    cv = Canvas(
        width,
        460 + 16 * row,
        title,
        chart_id,
        top=44 + 16 * row,
        left=left,
        right=right,
        description=description,
    )
    good = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    xs_v = [p.x for p in good] or [0.0, 1.0]
    ys_v = [p.y for p in good] or [0.0, 1.0]

    def span(lo: float, hi: float, log: bool) -> tuple[float, float]:
        if log:
            return lo / 1.25, hi * 1.25
        pad = (hi - lo) * 0.06 or abs(hi) * 0.1 or 1.0
        return lo - pad, hi + pad

    xl, xh = span(min(xs_v), max(xs_v), xlog)
    yl, yh = span(min(ys_v), max(ys_v), ylog)
    xs = Scale(xl, xh, cv.x0, cv.x1, log=xlog, pow2=_powers_of_two(xs_v))
    ys = Scale(yl, yh, cv.y0, cv.y1, log=ylog, pow2=_powers_of_two(ys_v))
    cv.y_axis(ys, ylabel)
    cv.x_axis(xs, xlabel, grid=True)
    fr = [points[i] for i in front]
    if len(fr) >= 2:
        path = [f"M{_num(xs(fr[0].x))},{_num(ys(fr[0].y))}"]
        for b in fr[1:]:
            path.append(f"H{_num(xs(b.x))}V{_num(ys(b.y))}")
        cv.add(
            f'<path d="{"".join(path)}" fill="none" stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3">'
            "<title>Pareto front</title></path>"
        )
    on_front = set(front)
    for i, p in enumerate(points):
        if not (math.isfinite(p.x) and math.isfinite(p.y)):
            continue
        ring = ' stroke="#111" stroke-width="2"' if i in on_front else ' stroke="white" stroke-width="1"'
        r = 6 if i in on_front else 4.5
        cls = "mark front" if i in on_front else "mark"
        cv.add(
            f'<circle class="{cls}" cx="{_num(xs(p.x))}" cy="{_num(ys(p.y))}" r="{r}" fill="{color[p.group]}"'
            f"{ring}><title>{escape(p.tip)}</title></circle>"
        )
    for name, x, y in placed[:-1]:
        cv.add(f'<circle cx="{_num(x + 5)}" cy="{_num(y - 4)}" r="5" fill="{color[name]}"/>')
        cv.text(x + 14, y, name, size=10)
    _, x, y = placed[-1]
    cv.line(x, y - 4, x + 16, y - 4, color=INK, width=1.5, dash="4 3")
    cv.text(x + 20, y, "Pareto front", size=10)
    return cv.render()
