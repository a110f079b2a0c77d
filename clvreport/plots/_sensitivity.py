"""The sensitivity (tornado) figure: how a figure moves when each input moves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from clvreport.plots._base import (
    NOTE_PT,
    Formatter,
    Palette,
    _axes,
    _fmt,
    _label,
    _require,
    _style,
    _tick_formatter,
)

__all__ = ["plot_sensitivity"]


def plot_sensitivity(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    legend: bool = True,
    **kwargs: Any,
) -> Axes:
    """A tornado chart: per input, the figure at the input's low and high value around its base.

    Parameters
    ----------
    frame
        One row per input: ``label`` (display text), ``base`` (the figure as
        reported), ``low`` and ``high`` (the figure with the input moved down
        and up). Drawn widest swing on top.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: the low move in ``secondary``, the high move in ``primary``.
    labels
        Translated texts: ``x`` (axis), ``low`` and ``high`` (legend), ``title``.
    formatter
        Money on the axis and at the bar ends, e.g. ``t.money``.
    legend
        Whether to draw the legend (above the bars); off for a second panel.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> frame = pd.DataFrame({"label": ["Margin", "Horizon"], "base": [100.0, 100.0],
    ...                       "low": [50.0, 80.0], "high": [150.0, 110.0]})
    >>> ax = plot_sensitivity(frame)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Margin', 'Horizon']
    """
    palette = palette or Palette()
    data = _require(frame, "plot_sensitivity", ["label", "base", "low", "high"])
    swing = (data["high"] - data["low"]).abs().to_numpy(dtype=float)
    data = data.iloc[np.argsort(-swing, kind="stable")]
    n = len(data)
    ax = _axes(ax, palette, height=max(2.0, 0.9 + 0.45 * n))
    positions = np.arange(n, dtype=float)
    base = data["base"].to_numpy(dtype=float)
    options = {"height": 0.6, "zorder": 3}
    low = data["low"].to_numpy(dtype=float)
    high = data["high"].to_numpy(dtype=float)
    ax.barh(
        positions,
        low - base,
        left=base,
        color=palette.secondary,
        label=_label(labels, "low"),
        **{**options, **kwargs},
    )
    ax.barh(
        positions,
        high - base,
        left=base,
        color=palette.primary,
        label=_label(labels, "high"),
        **{**options, **kwargs},
    )
    ax.axvline(float(base[0]) if n else 0.0, color=palette.foreground, linewidth=1.0, zorder=4)
    for y, a, b in zip(positions, low, high, strict=True):
        for value in (a, b):
            ax.annotate(
                _fmt(formatter, value),
                (value, y),
                xytext=(4 if value >= base[0] else -4, 0),
                textcoords="offset points",
                ha="left" if value >= base[0] else "right",
                va="center",
                fontsize=NOTE_PT,
                color=palette.foreground,
            )
    ax.set_yticks(positions, data["label"].astype(str).tolist())
    ax.invert_yaxis()
    _style(ax, palette, xlabel=_label(labels, "x"), title=(labels or {}).get("title"), grid="x")
    if formatter is not None:
        ax.xaxis.set_major_formatter(_tick_formatter(formatter))
    _fit_labels(ax, low, high, base, formatter)
    if legend:
        ax.legend(
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=2,
            frameon=False,
            fontsize=NOTE_PT,
        )
    return ax


_GAP_IN = 12 / 72
"""Room for a bar-end label besides its text: 4 points off the bar, 8 points clear of the frame."""
_MARGIN_IN = 0.6
"""What besides the y tick labels takes the figure's width: tick pads and the figure's padding."""


def _text_width_in(text: str, size: float) -> float:
    """Width in inches of ``text`` at ``size`` points in the current font (no figure needed)."""
    renderer = RendererAgg(10, 10, 72)
    width, _, _ = renderer.get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False
    )
    return float(width) / 72


def _fit_labels(
    ax: Axes,
    low: np.ndarray,
    high: np.ndarray,
    base: np.ndarray,
    formatter: Formatter | None,
) -> None:
    """Limits that hold every bar-end label inside the axes, and ticks whose labels do not touch.

    With a fixed pad, long amounts ("US$ 408.590") ran into the y tick labels
    and out of the frame, and five money ticks ran into each other
    ("US$ 1.000.000US$ 1.250.000"). The axes' width is estimated from the
    figure's width less the widest y tick label, so the fit holds under the
    figure's constrained layout.
    """
    span = np.concatenate([low, high, base])
    lo, hi = float(np.nanmin(span)), float(np.nanmax(span))
    pad = (hi - lo) * 0.25 or abs(hi) * 0.25 or 1.0
    left, right = lo - pad, hi + pad
    labels = ax.get_yticklabels()
    tick_size = labels[0].get_fontsize() if labels else NOTE_PT
    y_width = max((_text_width_in(label.get_text(), tick_size) for label in labels), default=0.0)
    axes_width = ax.figure.get_figwidth() * ax.get_position().width / 0.775 - y_width - _MARGIN_IN
    centre = float(base[0]) if len(base) else 0.0
    ends = [
        (float(value), _text_width_in(_fmt(formatter, value), NOTE_PT) + _GAP_IN)
        for value in np.concatenate([low, high])
        if np.isfinite(value)
    ]
    if axes_width > 0.5 and ends:
        for _ in range(20):  # a fixed point: the scale depends on the limits it sets
            per_inch = (right - left) / axes_width
            need_left = min([left, *(v - w * per_inch for v, w in ends if v < centre)])
            need_right = max([right, *(v + w * per_inch for v, w in ends if v >= centre)])
            if need_left >= left and need_right <= right:
                break
            left, right = min(left, need_left), max(right, need_right)
    ax.set_xlim(left, right)
    tick_width = max(_text_width_in(_fmt(formatter, v), tick_size) for v in (left, right))
    bins = int(max(2, min(5, axes_width // (tick_width + 0.3)))) if axes_width > 0 else 5
    ax.xaxis.set_major_locator(MaxNLocator(nbins=bins))
