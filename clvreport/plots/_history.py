"""Figures comparing reports: segment migration and key figures across report dates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clvreport.plots._base import (
    LABEL_PT,
    NOTE_PT,
    TICK_PT,
    DateFormatter,
    Formatter,
    Palette,
    _axes,
    _fmt,
    _label,
    _optional,
    _style,
    _tick_formatter,
    luminance,
)

__all__ = ["plot_migration", "plot_report_history"]


def plot_migration(
    migration: pd.DataFrame,
    *,
    order: Sequence[str] | None = None,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    count_formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of customers per (segment then → segment now).

    Rows are the segments of the earlier report, columns those of the new one;
    each cell holds the number of customers who moved that way (darker: more).
    The diagonal is the customers who stayed.

    Parameters
    ----------
    migration
        ``from_segment, to_segment, customers`` (``migration.csv``); the
        segment columns hold the texts to show.
    order
        Segments in the order of the rows and columns (default: as they appear).
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours; cells in tints of ``primary``.
    labels
        Translated texts: ``from_segment`` (y axis), ``to_segment`` (x axis),
        ``title`` (optional).
    count_formatter
        Numbers in the cells (default ``1,234``).
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> moves = pd.DataFrame({"from_segment": ["A", "A", "B"], "to_segment": ["A", "B", "B"],
    ...                       "customers": [5, 2, 3]})
    >>> ax = plot_migration(moves)
    >>> sorted(t.get_text() for t in ax.texts)
    ['2', '3', '5']
    """
    palette = palette or Palette()
    matrix = migration.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum"
    )
    if order is None:
        order = list(dict.fromkeys([*migration["from_segment"], *migration["to_segment"]]))
    # the same segments on both axes, so the diagonal is "stayed"
    present = set(matrix.index) | set(matrix.columns)
    rows = columns = [s for s in order if s in present]
    matrix = matrix.reindex(index=rows, columns=columns)
    values = matrix.to_numpy(dtype=float)
    ax = _axes(ax, palette, height=float(np.clip(1.6 + 0.32 * len(rows), 2.8, 5.6)))
    cmap = palette.sequential()
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    options: dict[str, Any] = {
        "cmap": cmap,
        "vmin": 0.0,
        "vmax": top or 1.0,
        "mask": ~np.isfinite(values),
        "linewidths": 0.5,
        "linecolor": palette.background,
        "cbar": False,
    }
    sns.heatmap(pd.DataFrame(values), ax=ax, **{**options, **kwargs})
    for (row, col), value in np.ndenumerate(values):
        if not np.isfinite(value):
            continue
        cell = cmap(min(max(value / (top or 1.0), 0.0), 1.0))
        ax.text(
            col + 0.5,
            row + 0.5,
            _fmt(count_formatter, value),
            ha="center",
            va="center",
            fontsize=NOTE_PT - 0.5,
            color="#FFFFFF" if luminance(cell) < 0.22 else palette.foreground,
            fontweight="bold" if row == col else "normal",
        )
    ax.set_xticks(np.arange(len(columns)) + 0.5, columns, rotation=35, ha="right")
    ax.set_yticks(np.arange(len(rows)) + 0.5, rows, rotation=0)
    _style(
        ax,
        palette,
        xlabel=_label(labels, "to_segment"),
        ylabel=_label(labels, "from_segment"),
        title=_optional(labels, "title"),
        grid=None,
    )
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0, labelsize=TICK_PT - 0.5)
    return ax


def plot_report_history(
    history: pd.DataFrame,
    *,
    money: Sequence[str] = ("base_value", "value_at_stake"),
    counts: Sequence[str] = ("active_customers", "at_risk_customers"),
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    money_formatter: Formatter | None = None,
    count_formatter: Formatter | None = None,
    date_formatter: DateFormatter | None = None,
) -> Figure:
    """The key figures of every report of a client, one point per report date.

    Two panels side by side: amounts (``money`` columns) and numbers of
    customers (``counts`` columns), each series a line with markers, told
    apart by lightness and line style.

    Parameters
    ----------
    history
        One row per report: ``as_of`` (dates) and the key-figure columns
        (:func:`clvreport.comparison.history`).
    money, counts
        The columns of each panel (missing or empty ones are left out).
    palette
        Brand colours.
    labels
        Translated texts: one per column, plus ``money`` and ``counts`` (the
        panels' y axes) and ``as_of`` (x axes).
    money_formatter, count_formatter
        Tick labels of the panels.
    date_formatter
        Report dates on the x axes (default ``2024-12-31``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> frame = pd.DataFrame({"as_of": pd.to_datetime(["2024-03-31", "2024-06-30", "2024-09-30"]),
    ...                       "base_value": [10.0, 12.0, 11.0], "value_at_stake": [2.0, 3.0, 2.5],
    ...                       "active_customers": [50, 55, 60], "at_risk_customers": [5, 6, 4]})
    >>> fig = plot_report_history(frame)
    >>> [len(ax.lines) for ax in fig.axes]
    [2, 2]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from clvreport.plots._base import FIGURE_WIDTH_IN, _legend_above

    palette = palette or Palette()
    figure = Figure(figsize=(FIGURE_WIDTH_IN, 3.2), layout="constrained")
    FigureCanvasAgg(figure)
    figure.set_facecolor(palette.background)
    panels = figure.subplots(1, 2)
    dates = pd.to_datetime(history["as_of"])
    ticks = list(range(len(dates)))
    # "Dec 2024" on two lines, so neighbouring dates never run into each other
    tick_labels = [
        (date_formatter(d.date()) if date_formatter else d.date().isoformat()).replace(" ", "\n", 1)
        for d in dates
    ]
    colors = [palette.primary, palette.accent]
    styles = ["-", (0, (4, 2))]
    markers = ["o", "s"]
    for ax, columns, key, formatter in (
        (panels[0], money, "money", money_formatter),
        (panels[1], counts, "counts", count_formatter),
    ):
        shown = [c for c in columns if c in history and history[c].notna().any()]
        for i, column in enumerate(shown):
            ax.plot(
                ticks,
                history[column].to_numpy(dtype=float),
                color=colors[i % 2],
                linestyle=styles[i % 2],
                marker=markers[i % 2],
                linewidth=2.0,
                markersize=5,
                label=_label(labels, column),
            )
        ax.set_xticks(ticks, tick_labels, rotation=0)
        ax.set_xlim(-0.35, len(ticks) - 0.65)
        ax.set_ylim(bottom=0)
        if formatter is not None:
            ax.yaxis.set_major_formatter(_tick_formatter(formatter))
        _style(ax, palette, xlabel=_optional(labels, "as_of"), ylabel=_label(labels, key))
        ax.yaxis.label.set_fontsize(LABEL_PT)
        if shown:
            _legend_above(ax, palette, ncols=1)
    return figure
