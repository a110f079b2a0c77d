"""Figures about loyalty: the cohort retention heatmap and distributions of one number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from clvreport.plots._base import (
    LABEL_PT,
    NOTE_PT,
    TICK_PT,
    DateFormatter,
    Formatter,
    Palette,
    _axes,
    _label,
    _optional,
    _percent,
    _period_label,
    _style,
    _tick_formatter,
    luminance,
)

__all__ = ["plot_cohort_giving", "plot_cohort_retention", "plot_distribution"]

_ANNOTATE_MAX_COLUMNS = 13
_ANNOTATE_MAX_ROWS = 24


def plot_cohort_retention(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    date_formatter: DateFormatter | None = None,
    annotate: bool | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of the share of each cohort still buying, by months since the first purchase.

    Darker is more customers still buying. The colour scale ends at the highest
    retention after month 0, so month 0 (always 100 %) does not wash out the
    rest. Empty cells are months the data does not reach yet.

    Parameters
    ----------
    matrix
        Index: cohort month (``Period``, ``Timestamp`` or text), one row per
        cohort, oldest first. Columns: months since the first purchase
        (0, 1, ...). Values: retention share 0–1, NaN where not observed, as
        :func:`clvreport.cohorts.cohort_matrix` returns it.
    ax
        Axes to draw on; by default a new figure 16 cm wide (height grows with
        the number of cohorts). The colour bar takes space from ``ax``.
    palette
        Brand colours; the colour map runs from a pale tint of ``primary`` to a
        deep shade of it (grey-scale safe).
    labels
        Translated texts: ``months_since_first_purchase`` (x axis), ``cohort``
        (y axis), ``retention`` (colour bar), ``title`` (optional).
    formatter
        Shares in the cells and on the colour bar; default ``20%``.
    date_formatter
        Cohort labels, e.g. ``lambda d: format_date(d, "MMM yyyy", locale="nl")``;
        default ``2024-01``.
    annotate
        Write the share in each cell; by default only when the matrix is small
        enough for the numbers to fit (at most 13 months and 24 cohorts).
    **kwargs
        Passed to :func:`seaborn.heatmap` (e.g. ``linewidths``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> matrix = pd.DataFrame([[1.0, 0.4, 0.3], [1.0, 0.5, np.nan]],
    ...     index=pd.period_range("2024-01", periods=2, freq="M"), columns=[0, 1, 2])
    >>> ax = plot_cohort_retention(matrix)
    >>> [t.get_text() for t in ax.texts][:3]
    ['100%', '40%', '30%']
    """
    palette = palette or Palette()
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError(
            f"plot_cohort_retention needs a pandas DataFrame, not {type(matrix).__name__}"
        )
    values = matrix.astype("float64")
    n_rows, n_cols = values.shape
    ax = _axes(ax, palette, height=float(np.clip(1.4 + 0.3 * n_rows, 2.6, 4.6)))
    fmt = _percent(formatter)
    if annotate is None:
        annotate = 0 < n_cols <= _ANNOTATE_MAX_COLUMNS and n_rows <= _ANNOTATE_MAX_ROWS
    later = values.loc[:, [c for c in values.columns if c != 0]] if n_cols > 1 else values
    vmax = float(np.nanmax(later.to_numpy())) if later.notna().any().any() else 1.0
    vmax = vmax if vmax > 0 else 1.0
    cmap = palette.sequential()
    options: dict[str, Any] = {
        "cmap": cmap,
        "vmin": 0.0,
        "vmax": vmax,
        "mask": values.isna().to_numpy(),
        "linewidths": 0.5,
        "linecolor": palette.background,
        "cbar_kws": {"shrink": 0.85, "pad": 0.02, "aspect": 25},
    }
    options.update(kwargs)
    sns.heatmap(values.reset_index(drop=True), ax=ax, **options)
    if annotate:
        for (row, col), value in np.ndenumerate(values.to_numpy()):
            if not np.isfinite(value):
                continue
            cell = cmap(min(max(value / vmax, 0.0), 1.0))
            ax.text(
                col + 0.5,
                row + 0.5,
                fmt(value),
                ha="center",
                va="center",
                fontsize=NOTE_PT - 0.5,
                color="#FFFFFF" if luminance(cell) < 0.22 else palette.foreground,
            )

    ages = [str(c) for c in values.columns]
    step_x = max(1, int(np.ceil(n_cols / 18)))
    ax.set_xticks(np.arange(0, n_cols, step_x) + 0.5, ages[::step_x], rotation=0)
    cohorts = [_period_label(v, date_formatter) for v in values.index]
    step_y = max(1, int(np.ceil(n_rows / 18)))
    ax.set_yticks(np.arange(0, n_rows, step_y) + 0.5, cohorts[::step_y], rotation=0)
    _style(
        ax,
        palette,
        xlabel=_label(labels, "months_since_first_purchase"),
        ylabel=_label(labels, "cohort"),
        title=_optional(labels, "title"),
        grid=None,
    )
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    colorbar = ax.collections[0].colorbar if ax.collections else None
    if colorbar is not None:
        colorbar.locator = MaxNLocator(nbins=5, steps=[1, 2, 5, 10])
        colorbar.formatter = _tick_formatter(fmt)
        colorbar.update_ticks()
        colorbar.outline.set_visible(False)
        colorbar.ax.tick_params(labelsize=TICK_PT, colors=palette.foreground, length=0)
        colorbar.set_label(_label(labels, "retention"), fontsize=LABEL_PT, color=palette.foreground)
    return ax


_BIN_FIRST = 200_000
"""Above this many values a histogram is counted with NumPy first, then drawn."""


def plot_distribution(
    values: pd.Series,
    *,
    kind: Literal["hist", "kde", "ecdf"] = "hist",
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    count_formatter: Formatter | None = None,
    reference: float | None = None,
    **kwargs: Any,
) -> Axes:
    """Distribution of one number over customers (lifespan in years, P(alive), ...).

    Parameters
    ----------
    values
        One value per customer; NaN is left out. The series' name is the
        ``labels`` key of the x axis (``"value"`` when unnamed).
    kind
        ``"hist"`` (bars, default), ``"kde"`` (smooth density) or ``"ecdf"``
        (share of customers up to each value).
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: bars in ``primary``, the reference line in ``accent``.
    labels
        Translated texts: ``<values.name>`` (x axis, e.g. ``lifespan_years``),
        ``customers`` (y axis), ``reference`` (text at the reference line, e.g.
        "median 2.3 years"), ``title`` (optional).
    formatter
        Tick labels of the x axis, e.g. ``lambda x: t.percent(x, digits=0)`` for P(alive).
    count_formatter
        Tick labels of the y axis, e.g. ``t.number`` (1.234 in Dutch).
    reference
        Draw a dashed vertical line here (e.g. the median), labelled with
        ``labels["reference"]`` above the plot.
    **kwargs
        Passed to :func:`seaborn.histplot`, :func:`seaborn.kdeplot` or
        :func:`seaborn.ecdfplot` (e.g. ``bins=20, binrange=(0, 1)``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> p_alive = pd.Series([0.1, 0.2, 0.2, 0.9], name="p_alive")
    >>> ax = plot_distribution(p_alive, bins=2, binrange=(0, 1), reference=0.2)
    >>> [float(p.get_height()) for p in ax.patches]
    [3.0, 1.0]
    """
    palette = palette or Palette()
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    key = str(values.name) if values.name is not None else "value"
    data = values.astype("float64").dropna()
    ax = _axes(ax, palette, height=3.2)
    if kind == "hist":
        options = {
            "color": palette.primary,
            "edgecolor": palette.background,
            "linewidth": 0.6,
            "alpha": 1.0,
        }
        options = {**options, **kwargs}
        plain = not {"binwidth", "discrete", "log_scale", "kde", "stat", "hue"} & set(options)
        if len(data) > _BIN_FIRST and plain:
            # millions of customers: count per bin first and draw the counts (the same bars)
            edges = np.histogram_bin_edges(
                data, bins=options.pop("bins", "auto"), range=options.pop("binrange", None)
            )
            counts, edges = np.histogram(data, bins=edges)
            sns.histplot(x=edges[:-1], weights=counts, bins=edges.tolist(), ax=ax, **options)
        else:
            sns.histplot(x=data, ax=ax, **options)
    elif kind == "kde":
        options = {"color": palette.primary, "fill": True, "alpha": 0.35, "linewidth": 2.0}
        sns.kdeplot(x=data, ax=ax, **{**options, **kwargs})
    elif kind == "ecdf":
        sns.ecdfplot(x=data, ax=ax, **{"color": palette.primary, "linewidth": 2.2, **kwargs})
    else:
        raise ValueError(f"kind must be 'hist', 'kde' or 'ecdf', not {kind!r}")
    if reference is not None and np.isfinite(reference):
        ax.axvline(reference, color=palette.accent, linewidth=1.6, linestyle=(0, (5, 3)))
        low, high = ax.get_xlim()
        right_half = (reference - low) > 0.6 * (high - low)
        ax.annotate(
            _label(labels, "reference"),
            xy=(reference, 1.0),
            xycoords=blended_transform_factory(ax.transData, ax.transAxes),
            xytext=(-4 if right_half else 4, 2),
            textcoords="offset points",
            ha="right" if right_half else "left",
            va="bottom",
            fontsize=NOTE_PT + 0.5,
            fontweight="bold",
            color=palette.foreground,
        )
    if formatter is not None:
        ax.xaxis.set_major_formatter(_tick_formatter(formatter))
    if count_formatter is not None and kind == "hist":
        ax.yaxis.set_major_formatter(_tick_formatter(count_formatter))
    y_key = "customers" if kind == "hist" else ("density" if kind == "kde" else "share")
    _style(
        ax,
        palette,
        xlabel=_label(labels, key),
        ylabel=_label(labels, y_key),
        title=_optional(labels, "title"),
        grid="y",
    )
    if kind == "ecdf":
        ax.yaxis.set_major_formatter(_tick_formatter(_percent(None)))
    return ax


def plot_cohort_giving(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    max_cohorts: int = 8,
) -> Axes:
    """Share of each acquisition cohort that gave again, by periods since the first gift.

    One thin line per cohort (older cohorts lighter) and, when the table has
    it, the model's expectation for a new donor as a thick dashed line: where
    the cohorts follow it, the model describes the donors well, and its
    continuation is the projection for the younger cohorts.

    Parameters
    ----------
    table
        ``cohort, age, share`` and optionally ``expected``
        (:func:`clvreport.donors.cohort_giving`).
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: cohorts in tints of ``primary``, the model in ``accent``.
    labels
        Translated texts: ``age`` (x axis), ``share`` (y axis), ``expected``
        (legend of the model line), ``cohort`` (legend title), ``title`` (optional).
    formatter
        Tick labels of the shares (default ``20%``).
    max_cohorts
        The most recent cohorts drawn (older ones are left out).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> table = pd.DataFrame({"cohort": ["2020", "2020", "2021"], "age": [1, 2, 1],
    ...                       "share": [0.5, 0.4, 0.55], "expected": [0.52, 0.42, 0.52]})
    >>> ax = plot_cohort_giving(table)
    >>> len(ax.lines)
    3
    """
    palette = palette or Palette()
    ax = _axes(ax, palette, height=3.4)
    cohorts = list(dict.fromkeys(table["cohort"]))[-max_cohorts:]
    n = len(cohorts)
    for i, cohort in enumerate(cohorts):
        rows = table[table["cohort"] == cohort].sort_values("age")
        shade = 0.25 + 0.75 * (i + 1) / max(n, 1)
        ax.plot(
            rows["age"],
            rows["share"],
            color=palette.primary,
            alpha=shade,
            linewidth=1.3,
            marker="o",
            markersize=3,
            label=str(cohort),
        )
    if "expected" in table and table["expected"].notna().any():
        model = table.groupby("age")["expected"].first().sort_index()
        ax.plot(
            model.index,
            model.to_numpy(),
            color=palette.accent,
            linewidth=2.6,
            linestyle=(0, (5, 3)),
            label=_label(labels, "expected"),
        )
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(_tick_formatter(_percent(formatter)))
    _style(
        ax,
        palette,
        xlabel=_label(labels, "age"),
        ylabel=_label(labels, "share"),
        title=_optional(labels, "title"),
    )
    legend = ax.legend(
        frameon=False,
        fontsize=TICK_PT,
        ncols=2,
        title=_optional(labels, "cohort"),
        title_fontsize=TICK_PT,
        loc="upper right",
        labelcolor=palette.foreground,
    )
    legend.set_in_layout(True)
    return ax
