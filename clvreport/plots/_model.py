"""Figures that check the model: holdout purchases by frequency, cumulative tracking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from clvreport.plots._base import (
    NOTE_PT,
    DateFormatter,
    Formatter,
    Palette,
    _axes,
    _label,
    _legend_above,
    _optional,
    _paired_bars,
    _period_label,
    _require,
    _style,
    _tick_formatter,
)

__all__ = ["plot_holdout_check", "plot_tracking", "plot_tracking_weekly"]


def plot_holdout_check(
    bins: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Actual vs predicted purchases in the holdout period, per calibration-frequency group.

    Customers are grouped by how often they bought in the calibration period;
    for each group the bars compare what they bought in the holdout period with
    what the model predicted. Bars of equal height mean the model is right.

    Parameters
    ----------
    bins
        One row per group, in display order, with columns ``frequency_bin``
        (text or number, e.g. ``0``, ``1``, …, ``"7+"``), ``actual`` and
        ``predicted`` (average holdout purchases per customer).
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: actual in ``primary``, predicted in a light tone.
    labels
        Translated texts: ``frequency_bin`` (x axis), ``purchases`` (y axis),
        ``actual`` and ``predicted`` (legend), ``title`` (optional).
    formatter
        Tick labels of the y axis, e.g. ``lambda x: t.number(x, digits=1)``.
    **kwargs
        Passed to both ``Axes.bar`` calls (e.g. ``width``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> bins = pd.DataFrame({"frequency_bin": ["0", "1", "2+"],
    ...                      "actual": [0.2, 0.6, 1.5], "predicted": [0.25, 0.55, 1.4]})
    >>> ax = plot_holdout_check(bins)
    >>> len(ax.patches)
    6
    """
    palette = palette or Palette()
    frame = _require(bins, "plot_holdout_check", ["frequency_bin", "actual", "predicted"])
    ax = _axes(ax, palette, height=3.4)
    return _paired_bars(
        ax,
        palette,
        frame,
        "frequency_bin",
        ("actual", "predicted"),
        labels=labels,
        ylabel="purchases",
        formatter=formatter,
        **kwargs,
    )


def _as_x(period: pd.Series) -> tuple[np.ndarray | pd.Series, bool]:
    """Plottable x values and whether they are dates."""
    if isinstance(period.dtype, pd.PeriodDtype):
        return period.dt.start_time, True
    if pd.api.types.is_datetime64_any_dtype(period):
        return period, True
    return period.to_numpy(), False


def _calibration_end(frame: pd.DataFrame, calibration_end: Any) -> Any:
    """The given calibration end, or the last calibration period of a tracking table."""
    if calibration_end is not None or "calibration" not in frame.columns:
        return calibration_end
    in_calibration = frame["calibration"].astype(bool).to_numpy()
    if in_calibration.all() or not in_calibration.any():
        return None
    return frame["period"].iloc[int(np.flatnonzero(in_calibration)[-1])]


def _actual_vs_predicted(
    frame: pd.DataFrame,
    actual: str,
    predicted: str,
    ylabel: str,
    *,
    ax: Axes | None,
    palette: Palette,
    labels: Mapping[str, str] | None,
    formatter: Formatter | None,
    date_formatter: DateFormatter | None,
    calibration_end: Any,
    linewidth: float,
    **kwargs: Any,
) -> Axes:
    """Actual (solid, primary) and predicted (dashed, accent) over time, calibration end dotted."""
    ax = _axes(ax, palette, height=3.4)
    x, is_date = _as_x(frame["period"])
    ax.plot(
        x,
        frame[actual].to_numpy(dtype="float64"),
        **{
            "color": palette.primary,
            "linewidth": linewidth,
            "label": _label(labels, "actual"),
            **kwargs,
        },
    )
    ax.plot(
        x,
        frame[predicted].to_numpy(dtype="float64"),
        **{
            "color": palette.accent,
            "linewidth": linewidth,
            "linestyle": (0, (5, 2.5)),
            "label": _label(labels, "predicted"),
            **kwargs,
        },
    )
    end = _calibration_end(frame, calibration_end)
    if end is not None:
        if is_date:
            end = pd.Period(end).start_time if isinstance(end, pd.Period) else pd.Timestamp(end)
        ax.axvline(end, color=palette.neutral, linewidth=1.2, linestyle=":")
        ax.text(
            end,
            0.97,
            _label(labels, "calibration_end") + " ",
            transform=blended_transform_factory(ax.transData, ax.transAxes),
            ha="right",
            va="top",
            fontsize=NOTE_PT,
            color=palette.secondary,
        )
    if is_date:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(
            FuncFormatter(
                lambda value, _pos: _period_label(
                    pd.Timestamp(mdates.num2date(value)).tz_localize(None), date_formatter
                )
            )
        )
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_ylim(bottom=0)
    ax.margins(x=0.01)
    if formatter is not None:
        ax.yaxis.set_major_formatter(_tick_formatter(formatter))
    _style(
        ax,
        palette,
        xlabel=_optional(labels, "period"),
        ylabel=_label(labels, ylabel),
        title=_optional(labels, "title"),
        grid="y",
    )
    _legend_above(ax, palette)
    return ax


def plot_tracking(
    weekly: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    date_formatter: DateFormatter | None = None,
    calibration_end: Any = None,
    **kwargs: Any,
) -> Axes:
    """Cumulative purchases over time: actual (solid) against the model's prediction (dashed).

    Parameters
    ----------
    weekly
        One row per period, in order, with columns ``period`` (dates,
        ``Period`` or week numbers), ``actual_cumulative`` and
        ``predicted_cumulative`` (cumulative repeat purchases), e.g. from
        :func:`clvreport.models.tracking.tracking_data`.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: actual in ``primary``, predicted in ``accent``; the
        dashes keep them apart in grey-scale.
    labels
        Translated texts: ``actual`` and ``predicted`` (legend), ``period``
        (x axis, drawn only when given), ``cumulative_purchases`` (y axis),
        ``calibration_end`` (text at the end of the calibration period),
        ``title`` (optional).
    formatter
        Tick labels of the y axis, e.g. ``t.number``.
    date_formatter
        Date tick labels, e.g. ``lambda d: format_date(d, "MMM yyyy", locale="nl")``;
        default ``2024-01``.
    calibration_end
        Where the calibration period ends (same kind as ``period``): drawn as
        a dotted vertical line. Default: the last period whose
        ``calibration`` column is true, when the table has one.
    **kwargs
        Passed to both ``Axes.plot`` calls (e.g. ``linewidth``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> weekly = pd.DataFrame({"period": range(1, 5), "actual_cumulative": [1, 3, 4, 7],
    ...                        "predicted_cumulative": [1.2, 2.6, 4.3, 6.5]})
    >>> ax = plot_tracking(weekly, calibration_end=2)
    >>> len(ax.lines)
    3
    """
    frame = _require(
        weekly,
        "plot_tracking",
        ["period", "actual_cumulative", "predicted_cumulative"],
        optional=["calibration"],
    )
    return _actual_vs_predicted(
        frame,
        "actual_cumulative",
        "predicted_cumulative",
        "cumulative_purchases",
        ax=ax,
        palette=palette or Palette(),
        labels=labels,
        formatter=formatter,
        date_formatter=date_formatter,
        calibration_end=calibration_end,
        linewidth=kwargs.pop("linewidth", 2.2),
        **kwargs,
    )


def plot_tracking_weekly(
    weekly: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    date_formatter: DateFormatter | None = None,
    calibration_end: Any = None,
    **kwargs: Any,
) -> Axes:
    """Repeat purchases per week: actual (solid) against the model's prediction (dashed).

    The companion of :func:`plot_tracking` (Fader, Hardie and Lee 2005,
    Figure 4): the weekly numbers show what the cumulative curve smooths
    away, e.g. a model that misses the seasonal peaks or drifts off after the
    calibration end.

    Parameters
    ----------
    weekly
        One row per period, in order, with columns ``period`` (dates,
        ``Period`` or week numbers), ``actual`` and ``predicted`` (repeat
        purchases in the period), e.g. from
        :func:`clvreport.models.tracking.tracking_data`.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: actual in ``primary``, predicted in ``accent``.
    labels
        Translated texts: ``actual`` and ``predicted`` (legend), ``period``
        (x axis, drawn only when given), ``weekly_purchases`` (y axis),
        ``calibration_end``, ``title`` (optional).
    formatter
        Tick labels of the y axis, e.g. ``t.number``.
    date_formatter
        Date tick labels; default ``2024-01``.
    calibration_end
        Where the calibration period ends (dotted line). Default: the last
        period whose ``calibration`` column is true, when the table has one.
    **kwargs
        Passed to both ``Axes.plot`` calls (e.g. ``linewidth``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> weekly = pd.DataFrame({"period": range(1, 5), "actual": [1, 2, 1, 3],
    ...                        "predicted": [1.2, 1.4, 1.7, 2.2],
    ...                        "calibration": [True, True, False, False]})
    >>> ax = plot_tracking_weekly(weekly)
    >>> len(ax.lines)
    3
    """
    frame = _require(
        weekly, "plot_tracking_weekly", ["period", "actual", "predicted"], optional=["calibration"]
    )
    return _actual_vs_predicted(
        frame,
        "actual",
        "predicted",
        "weekly_purchases",
        ax=ax,
        palette=palette or Palette(),
        labels=labels,
        formatter=formatter,
        date_formatter=date_formatter,
        calibration_end=calibration_end,
        linewidth=kwargs.pop("linewidth", 1.6),
        **kwargs,
    )
