"""Benchmark plots: grouped bars with labelled axes and units, titled with the benchmark and its machine. PNG.

    .venv/bin/python benchmarks/planner.py --backends rules,offline --plot docs/bench_planner.png

A benchmark's `--plot PATH` draws the rows its tables print: one `Bars` panel per table, one bar per
(category, series), stacked in one figure. matplotlib draws through its Agg canvas only (no pyplot, no
display) in DejaVu Sans, which ships with matplotlib, so nothing is fetched. At 80 dpi and about 10 inches
wide a figure of flat bars stays well under 150 KB.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hvla.core.errors import ConfigError

DPI = 80
WIDTH_IN = 10.0
VERTICAL_PANEL_IN = 3.4  # height of a panel whose bars stand up
ROW_IN = 0.085  # height per bar of a lying panel (plus room for its axis and title)
COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
PASS, FAIL = ("pass", "#2e7d32"), ("FAIL", "#c62828")  # marks: (word, colour)


@dataclass(frozen=True)
class Share:
    """`hits` of `total`: a rate a table prints and a bar draws (no bar when `total` is 0)."""

    hits: int
    total: int

    @classmethod
    def of(cls, flags: Iterable[bool]) -> Share:
        flags = list(flags)
        return cls(sum(bool(f) for f in flags), len(flags))

    @property
    def pct(self) -> float:
        return 100.0 * self.hits / self.total if self.total else math.nan

    def format(self, spec: str = "{pct:.0f} ({hits}/{total})") -> str:
        """The table's cell: `spec` filled with pct, hits and total, or "-" when there is nothing to count."""
        return spec.format(pct=self.pct, hits=self.hits, total=self.total) if self.total else "-"


@dataclass(frozen=True)
class Bars:
    """One panel of grouped bars: `values[series][i]` is that series' bar at `categories[i]`; NaN draws none.

    `limit` draws a dashed line across the panel (a hard limit, a budget); `marks` adds a (word, colour)
    to each category's name (pass / FAIL); `labels` is the format of the number written at each bar's end.
    """

    title: str
    axis: str  # the value axis, with its unit: "exact plans [%]"
    categories: tuple[str, ...]
    values: dict[str, tuple[float, ...]]
    limit: float | None = None
    limit_label: str = ""
    marks: tuple[tuple[str, str], ...] = ()
    labels: str | None = None  # e.g. "{:.0f}"
    horizontal: bool = False  # lying bars, for many or long category names
    log: bool = False
    top: float | None = None  # the value axis' upper end (e.g. 100 for a rate); None: from the data

    def __post_init__(self) -> None:
        if not self.categories or not self.values:
            raise ConfigError(f"panel {self.title!r}: no categories or no series to draw")
        wrong = {s: len(v) for s, v in self.values.items() if len(v) != len(self.categories)}
        if wrong:
            raise ConfigError(f"panel {self.title!r}: {len(self.categories)} categories but series lengths {wrong}")
        if self.marks and len(self.marks) != len(self.categories):
            raise ConfigError(f"panel {self.title!r}: {len(self.marks)} marks for {len(self.categories)} categories")

    @property
    def height_in(self) -> float:
        if not self.horizontal:
            return VERTICAL_PANEL_IN
        return 1.0 + ROW_IN * len(self.categories) * (len(self.values) + 0.6)


def save_bars(path: Path, benchmark: str, machine: str, panels: Sequence[Bars]) -> Path:
    """Draw `panels` one above the other under the title "`benchmark` - `machine`" as a PNG at `path`."""
    from matplotlib.figure import Figure

    if not panels:
        raise ConfigError(f"{benchmark}: nothing to plot")
    heights = [p.height_in for p in panels]
    fig = Figure(figsize=(WIDTH_IN, sum(heights) + 0.5), dpi=DPI, layout="constrained")
    fig.suptitle(f"{benchmark} - {machine}", fontsize=11)
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, panel in zip(axes, panels):
        _draw(ax, panel)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def _draw(ax, panel: Bars) -> None:
    _bars(ax, panel)
    _category_axis(ax, panel)
    _value_axis(ax, panel)
    ax.set_title(panel.title, fontsize=10, loc="left")
    if len(panel.values) > 1 or panel.limit is not None:  # beside the panel: it never hides a bar
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _bars(ax, panel: Bars) -> None:
    """Series k's bar sits at k-th place within its category's 0.8 wide slot; NaN draws a gap, unlabelled."""
    width = 0.8 / len(panel.values)
    draw = ax.barh if panel.horizontal else ax.bar
    for k, (series, values) in enumerate(panel.values.items()):
        at = [i - 0.4 + width * (k + 0.5) for i in range(len(panel.categories))]
        bars = draw(at, [0.0 if math.isnan(v) else v for v in values], width, label=series,
                    color=COLOURS[k % len(COLOURS)])
        if panel.labels:
            ax.bar_label(bars, ["" if math.isnan(v) else panel.labels.format(v) for v in values], padding=2,
                         fontsize=7)


def _category_axis(ax, panel: Bars) -> None:
    # A mark joins its category's tick label, in its colour: the layout then keeps it in the picture.
    names = [f"{c}  [{word}]" for c, (word, _) in zip(panel.categories, panel.marks)] or list(panel.categories)
    positions = list(range(len(names)))
    if panel.horizontal:
        ticks = ax.set_yticks(positions, names, fontsize=8)
        ax.set_ylim(len(names) - 0.5, -0.5)  # the table's first row on top
    else:
        long = max(len(c) for c in names) > 12
        ticks = ax.set_xticks(positions, names, fontsize=8, rotation=25 if long else 0,
                              ha="right" if long else "center")
    for tick, (_, colour) in zip(ticks, panel.marks):
        tick.label1.set_color(colour)


def _value_axis(ax, panel: Bars) -> None:
    set_label, set_scale, get_lim, set_lim, line, axis = (
        (ax.set_xlabel, ax.set_xscale, ax.get_xlim, ax.set_xlim, ax.axvline, ax.xaxis) if panel.horizontal else
        (ax.set_ylabel, ax.set_yscale, ax.get_ylim, ax.set_ylim, ax.axhline, ax.yaxis))
    set_label(panel.axis)
    # Room beyond the longest bar for its number: a factor on a log axis, a share of the range on a linear one.
    if panel.log:
        set_scale("log")
        low, high = get_lim()
        set_lim(low, high * (3.0 if panel.labels else 1.0))
    else:
        values = [v for vs in panel.values.values() for v in vs if not math.isnan(v)]
        top = panel.top if panel.top is not None else max(panel.limit or 0.0, *values, 0.0)
        set_lim(0, top * (1.12 if panel.labels else 1.05) or 1.0)
    if panel.limit is not None:
        line(panel.limit, color="#333333", linestyle="--", linewidth=1.2, label=panel.limit_label or None)
    axis.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
