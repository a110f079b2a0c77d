"""Figures about segments: the segment map (size × value) and the money at stake."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, NullFormatter
from matplotlib.transforms import Bbox

from clvreport.plots._base import (
    NOTE_PT,
    TICK_PT,
    Formatter,
    Palette,
    _axes,
    _fmt,
    _label,
    _mix,
    _optional,
    _require,
    _root_figure,
    _style,
    _tick_formatter,
)

__all__ = ["plot_at_risk", "plot_segment_map"]

_MIN_AREA = 40.0
_MAX_AREA = 1100.0
"""Bubble areas in points² for the smallest and largest value at stake."""


def _areas(sizes: np.ndarray) -> np.ndarray:
    top = np.nanmax(sizes) if sizes.size and np.nanmax(sizes) > 0 else 1.0
    scaled = np.clip(np.nan_to_num(sizes, nan=0.0), 0.0, None) / top
    return _MIN_AREA + (_MAX_AREA - _MIN_AREA) * scaled


def _nice_steps(top: float) -> list[float]:
    """Two or three round reference amounts up to ``top`` for the bubble-size legend."""
    if not np.isfinite(top) or top <= 0:
        return []
    magnitude = 10 ** np.floor(np.log10(top))
    largest = float(np.floor(top / magnitude) * magnitude)
    steps = [largest, largest / 2, largest / 10]
    return [s for s in steps if s > 0.05 * top]


_LABEL_GAP_PT = 3.0
"""Space between a bubble's edge (or another label) and a label, in points."""

# Where a label may go around its bubble, in order of preference: (dx, dy) direction
# of the label seen from the bubble's centre. Right and left read best, then above
# and below, then the diagonals and the directions between.
_DIRECTIONS = (
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (-1, 1),
    (1, -1),
    (-1, -1),
    (2, 1),
    (-2, 1),
    (2, -1),
    (-2, -1),
    (1, 2),
    (-1, 2),
    (1, -2),
    (-1, -2),
)
_REACH = (0.0, 0.6, 1.3, 2.2, 3.4, 5.0, 7.0, 9.5)
"""Further steps away from the bubble (in label heights) when every place beside it is taken."""
_FAR = 0.08
"""Cost of a label one label height further from its bubble, in label areas."""
_CLASH = 100.0
"""Weight of a label leaving the axes or covering a bubble or label (per label area): any
clash costs more than the furthest place, which costs less than one label area."""
_AMBIGUOUS = 0.25
"""Cost of a label nearer to another bubble than to its own, in label areas: a few steps
further out are worth it, an overlap is not."""


def _circle_hits(box: Bbox, centre: np.ndarray, radius: float) -> bool:
    """Whether the rectangle ``box`` and the circle (centre, radius), in pixels, intersect."""
    nearest_x = min(max(centre[0], box.x0), box.x1)
    nearest_y = min(max(centre[1], box.y0), box.y1)
    return (nearest_x - centre[0]) ** 2 + (nearest_y - centre[1]) ** 2 < radius**2


def _label_boxes(
    centre: np.ndarray,
    radius: float,
    size: tuple[float, float],
    direction: tuple[int, int],
    gap: float,
) -> list[Bbox]:
    """Boxes for a label of ``size`` (w, h) beside a bubble in ``direction``.

    The label's nearest side (or corner) touches the bubble's edge plus ``gap`` in
    that direction; a label above or below may also line up with the bubble's left
    or right side, and one beside it sit half a line higher or lower, which gives a
    long label room between its neighbours.
    """
    width, height = size
    dx, dy = direction
    norm = math.hypot(dx, dy)
    # the point on the bubble's edge (plus the gap) in that direction ...
    px = centre[0] + dx / norm * (radius + gap)
    py = centre[1] + dy / norm * (radius + gap)
    # ... where the label's nearest side (or corner) touches
    x0 = px if dx > 0 else px - width if dx < 0 else px - width / 2
    y0 = py if dy > 0 else py - height if dy < 0 else py - height / 2
    if dx == 0:  # above or below: centred, or flush with the bubble's left or right side
        shifts = [(0.0, 0.0), (width / 2 - radius, 0.0), (radius - width / 2, 0.0)]
    elif dy == 0:  # beside: level, or half a line up or down
        shifts = [(0.0, 0.0), (0.0, height / 2), (0.0, -height / 2)]
    else:
        shifts = [(0.0, 0.0)]
    return [Bbox.from_bounds(x0 + sx, y0 + sy, width, height) for sx, sy in shifts]


def _edge_distance(box: Bbox, centre: np.ndarray, radius: float) -> float:
    """How far the rectangle ``box`` is from the edge of the circle (centre, radius)."""
    nearest_x = min(max(centre[0], box.x0), box.x1)
    nearest_y = min(max(centre[1], box.y0), box.y1)
    return math.hypot(nearest_x - centre[0], nearest_y - centre[1]) - radius


def _overlap(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _bubble_labels(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    areas: np.ndarray,
    names: pd.Series,
    palette: Palette,
) -> list[Text]:
    """One label per bubble, beside it, clear of the other labels, bubbles and the frame.

    Every label tries the places around its own bubble, nearest first (right, left,
    above, below, the diagonals, then a step further out), and takes the first
    that stays inside the axes, touches no bubble and no label placed before it
    and is nearer to its own bubble than to any other (so it cannot be read as
    another's); the largest bubbles choose first. A label that finds no such
    place (only in a crowded chart) takes the one that breaks these the least:
    overlaps first, then nearness to another bubble. The search is
    deterministic: the same segments give the same chart. A label away from its
    bubble gets a thin line to it; a halo in the background colour keeps labels
    readable on grid lines.
    """
    figure = _root_figure(ax)
    figure.draw_without_rendering()  # settle the layout so data ↔ pixels is final
    renderer = figure.canvas.get_renderer()
    to_pixels = figure.dpi / 72.0
    gap = _LABEL_GAP_PT * to_pixels
    centres = ax.transData.transform(np.column_stack([x, y]))
    radii = np.sqrt(np.clip(areas, 0.0, None)) / 2.0 * to_pixels
    frame = ax.get_window_extent(renderer).padded(-1.0)
    texts = [
        ax.text(
            xi,  # at the bubble for now (a valid point on a log axis too): moved below
            yi,
            str(name),
            fontsize=NOTE_PT + 0.5,
            color=palette.foreground,
            ha="left",
            va="bottom",
            zorder=4,
            path_effects=[withStroke(linewidth=3, foreground=palette.background)],
        )
        for xi, yi, name in zip(x, y, names, strict=True)
    ]
    placed: dict[int, Bbox] = {}

    def cost(box: Bbox, i: int) -> tuple[float, float]:
        """What is wrong with ``box`` for label ``i``, in label areas: (clash, soft).

        The clash is leaving the axes, covering a bubble or another label; soft is
        being nearer to another bubble than to its own. (0, 0) is perfect.
        """
        area = box.width * box.height
        inside = (
            frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        )
        clash = 0.0 if inside else 10 * area
        clash += sum(_overlap(box.padded(gap / 2), other) for other in placed.values())
        clash += area * sum(_circle_hits(box, centres[j], radii[j]) for j in range(len(texts)))
        own = _edge_distance(box, centres[i], radii[i])
        others = (_edge_distance(box, centres[j], radii[j]) for j in range(len(texts)) if j != i)
        ambiguous = any(distance < own for distance in others)
        return clash / area, _AMBIGUOUS if ambiguous else 0.0

    def place(i: int) -> float:
        """Put label ``i`` at its best place given the others; return how much it clashes."""
        extent = texts[i].get_window_extent(renderer)
        size = (extent.width, extent.height)
        best, best_cost, best_clash = None, math.inf, math.inf
        for level, reach in enumerate(_REACH):
            for direction in _DIRECTIONS:
                for box in _label_boxes(
                    centres[i], radii[i], size, direction, gap + reach * size[1]
                ):
                    clash, soft = cost(box, i)
                    total = _CLASH * clash + soft + _FAR * reach  # any clash outweighs the rest
                    if total < best_cost:
                        best, best_cost, best_clash = box, total, clash
            further = _REACH[level + 1] if level + 1 < len(_REACH) else math.inf
            if best_cost <= _FAR * further:
                break  # nothing further out can be better
        placed[i] = best
        return best_clash

    order = [int(i) for i in np.argsort(-radii, kind="stable")]
    clashes = {i: place(i) for i in order}
    # A label that had to clash may find room once the labels placed after it are
    # down: place every label again against all the others, a few rounds at most.
    for _ in range(4):
        if not any(clashes.values()):
            break
        for i in order:
            del placed[i]
            clashes[i] = place(i)
    to_data = ax.transData.inverted()
    for i, box in placed.items():
        texts[i].set_position(to_data.transform((box.x0, box.y0)))
    for i, text in enumerate(texts):
        box = text.get_window_extent(renderer)
        nearest = np.array(
            [min(max(centres[i][0], box.x0), box.x1), min(max(centres[i][1], box.y0), box.y1)]
        )
        distance = float(np.hypot(*(nearest - centres[i])))
        if distance > radii[i] + 2.5 * gap:  # away from its bubble: a line shows whose it is
            edge = centres[i] + (nearest - centres[i]) * (radii[i] / distance)
            ax.plot(
                *to_data.transform(np.array([edge, nearest])).T,
                color=palette.neutral,
                linewidth=0.7,
                zorder=3.5,
            )
    return texts


def _room_for_bubbles(ax: Axes, x: np.ndarray, y: np.ndarray, areas: np.ndarray) -> None:
    """Widen the axes' limits so that no bubble is cut off by the frame.

    A segment worth nothing sits on the value axis' zero, a small one beside the
    count axis' zero: half their bubble would fall outside the axes, and a label
    beside it too. The limits grow by what the largest bubble at each edge needs;
    ticks stay where the data is (no negative counts or amounts).
    """
    figure = _root_figure(ax)
    radii = np.sqrt(np.clip(areas, 0.0, None)) / 2.0 * figure.dpi / 72.0 + 1.0
    for _ in range(3):  # growing a limit changes the scale: further passes settle it
        figure.draw_without_rendering()
        frame = ax.get_window_extent()
        centres = ax.transData.transform(np.column_stack([x, y]))
        finite = np.isfinite(centres).all(axis=1)
        if not finite.any():
            return
        c, r = centres[finite], radii[finite]
        left = max(0.0, float(np.max(r - (c[:, 0] - frame.x0))))
        right = max(0.0, float(np.max(c[:, 0] + r - frame.x1)))
        bottom = max(0.0, float(np.max(r - (c[:, 1] - frame.y0))))
        top = max(0.0, float(np.max(c[:, 1] + r - frame.y1)))
        if max(left, right, bottom, top) < 0.5:
            break
        (x0, y0), (x1, y1) = ax.transData.inverted().transform(
            [(frame.x0 - left, frame.y0 - bottom), (frame.x1 + right, frame.y1 + top)]
        )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    for axis, values in ((ax.xaxis, x), (ax.yaxis, y)):
        if values.size and np.nanmin(values) >= 0 and axis.get_scale() == "linear":
            high = max(axis.get_view_interval())
            ticks = [t for t in axis.get_majorticklocs() if 0 <= t <= high]
            axis.set_major_locator(FixedLocator(ticks))


def _spans_decades(values: np.ndarray, ratio: float = 10.0) -> bool:
    """True when all values are positive and the largest is ``ratio`` times the smallest."""
    finite = values[np.isfinite(values)]
    return bool(finite.size >= 2 and finite.min() > 0 and finite.max() / finite.min() >= ratio)


def plot_segment_map(
    segments: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    count_formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Segment map: how many customers each segment has and what they are worth.

    One bubble per segment: to the right are large segments, higher up are
    valuable ones. When ``value_at_stake`` is given, the bubble area shows it, so
    the segments that need attention stand out. Each label sits beside its
    bubble, inside the axes, clear of the other labels and bubbles (the nearest
    free place around the bubble, the largest bubbles first; the same segments
    always give the same chart); no bubble is cut off by the frame. When the
    values span more than a factor ten the value axis is logarithmic, so small
    segments do not pile up.

    Parameters
    ----------
    segments
        One row per segment with columns ``segment_label`` (display text),
        ``customers`` (count), ``value`` (total predicted value of the
        segment's customers) and optionally ``value_at_stake``.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: bubbles in ``primary``.
    labels
        Translated texts: ``customers`` (x axis), ``value`` (y axis),
        ``value_at_stake`` (title of the bubble-size legend), ``title`` (optional).
    formatter
        Money on the y axis and in the size legend, e.g. ``t.money``.
    count_formatter
        Customer counts on the x axis, e.g. ``t.number``.
    **kwargs
        Passed to ``Axes.scatter`` (e.g. ``alpha``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> segments = pd.DataFrame({"segment_label": ["Champions", "Lost"],
    ...     "customers": [120, 900], "value": [41000.0, 3000.0],
    ...     "value_at_stake": [2000.0, 2500.0]})
    >>> ax = plot_segment_map(segments)
    >>> ax.collections[0].get_offsets().tolist()
    [[120.0, 41000.0], [900.0, 3000.0]]
    """
    palette = palette or Palette()
    frame = _require(
        segments,
        "plot_segment_map",
        ["segment_label", "customers", "value"],
        optional=["value_at_stake"],
    )
    ax = _axes(ax, palette, height=4.0)
    x = frame["customers"].to_numpy(dtype="float64")
    y = frame["value"].to_numpy(dtype="float64")
    has_risk = "value_at_stake" in frame.columns
    areas = _areas(frame["value_at_stake"].to_numpy(dtype="float64")) if has_risk else None
    options = {
        "s": areas if areas is not None else 160.0,
        "color": palette.primary,
        "alpha": 0.7,
        "edgecolor": palette.foreground,
        "linewidth": 0.8,
        "zorder": 3,
    }
    ax.scatter(x, y, **{**options, **kwargs})
    ax.set_xlim(0, (np.nanmax(x) if x.size else 1.0) * 1.12 or 1.0)
    if _spans_decades(y):
        # Segment values often range from a few hundred to tens of thousands: on a
        # linear axis the small segments pile up at the bottom and their labels collide.
        ax.set_yscale("log")
        ax.set_ylim(float(np.nanmin(y)) / 1.8, float(np.nanmax(y)) * 1.8)
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        low = min(0.0, float(np.nanmin(y))) if y.size else 0.0
        ax.set_ylim(low, (np.nanmax(y) if y.size else 1.0) * 1.15 or 1.0)
    if formatter is not None:
        ax.yaxis.set_major_formatter(_tick_formatter(formatter))
    if count_formatter is not None:
        ax.xaxis.set_major_formatter(_tick_formatter(count_formatter))
    _style(
        ax,
        palette,
        xlabel=_label(labels, "customers"),
        ylabel=_label(labels, "value"),
        title=_optional(labels, "title"),
        grid="both",
    )
    if has_risk:
        top = float(np.nanmax(frame["value_at_stake"])) if len(frame) else 0.0
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markersize=float(np.sqrt(_areas(np.array([amount, top]))[0])),
                markerfacecolor=_mix(palette.primary, palette.background, 0.3),
                markeredgecolor=palette.foreground,
                markeredgewidth=0.8,
                label=_fmt(formatter, amount),
            )
            for amount in _nice_steps(top)
        ]
        if handles:
            legend = ax.legend(
                handles=handles,
                title=_label(labels, "value_at_stake"),
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                frameon=False,
                fontsize=TICK_PT,
                title_fontsize=TICK_PT,
                borderaxespad=0.0,
                labelspacing=1.4,
                handlelength=3.2,
                handleheight=2.0,
                handletextpad=0.6,
                labelcolor=palette.foreground,
                alignment="left",
            )
            legend.get_title().set_color(palette.foreground)
    sizes = np.broadcast_to(np.asarray(options["s"] if "s" not in kwargs else kwargs["s"]), x.shape)
    sizes = np.asarray(sizes, dtype="float64")
    if len(frame):
        _room_for_bubbles(ax, x, y, sizes)
        _bubble_labels(ax, x, y, sizes, frame["segment_label"], palette)
    return ax


def plot_at_risk(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Money at stake per segment, largest on top, each bar labelled with its amount.

    Parameters
    ----------
    frame
        One row per segment with columns ``segment_label`` (display text) and
        ``value_at_stake`` (money). Any order: the plot sorts largest first.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: bars in ``primary``.
    labels
        Translated texts: ``value_at_stake`` (x axis), ``title`` (optional).
    formatter
        Money on the x axis and at the bars, e.g. ``t.money``.
    **kwargs
        Passed to ``Axes.barh`` (e.g. ``height``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> frame = pd.DataFrame({"segment_label": ["Lost", "At risk"],
    ...                       "value_at_stake": [1200.0, 5400.0]})
    >>> ax = plot_at_risk(frame)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['At risk', 'Lost']
    """
    palette = palette or Palette()
    data = _require(frame, "plot_at_risk", ["segment_label", "value_at_stake"])
    data = data.sort_values("value_at_stake", ascending=False, kind="stable")
    n = len(data)
    ax = _axes(ax, palette, height=max(2.2, 0.9 + 0.34 * n))
    values = data["value_at_stake"].to_numpy(dtype="float64")
    positions = np.arange(n, dtype="float64")
    options = {"height": 0.68, "color": palette.primary, "zorder": 3}
    bars = ax.barh(positions, values, **{**options, **kwargs})
    ax.bar_label(
        bars,
        labels=[_fmt(formatter, v) for v in values],
        padding=4,
        fontsize=NOTE_PT + 0.5,
        color=palette.foreground,
    )
    ax.set_yticks(positions, data["segment_label"].astype(str).tolist())
    ax.invert_yaxis()
    top = float(np.nanmax(values)) if n else 1.0
    ax.set_xlim(min(0.0, float(np.nanmin(values))) if n else 0.0, top * 1.18 if top > 0 else 1.0)
    if formatter is not None:
        ax.xaxis.set_major_formatter(_tick_formatter(formatter))
    _style(
        ax,
        palette,
        xlabel=_label(labels, "value_at_stake"),
        title=_optional(labels, "title"),
        grid="x",
        left_spine=False,
    )
    return ax
