"""Figure that checks the next-purchase chances: predicted against observed per decile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from clvreport.plots._base import (
    Formatter,
    Palette,
    _axes,
    _paired_bars,
    _require,
)

__all__ = ["plot_purchase_calibration"]


def plot_purchase_calibration(
    deciles: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """The chance of a purchase within 90 days per decile: predicted against what happened.

    Customers are ranked by their predicted chance and split into ten groups of
    equal size; for each group the bars compare the share that bought within 90
    days of the calibration end with the mean predicted chance. Bars of equal
    height mean the chances can be taken at their word.

    Parameters
    ----------
    deciles
        One row per group, lowest chances first, with ``decile``, ``observed`` and
        ``predicted`` (shares, 0-1): the rows of
        :func:`~clvreport.models.next_purchase.probability_calibration`.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours: observed in ``primary``, predicted in a light tone.
    labels
        Translated texts: ``decile`` (x axis), ``share`` (y axis), ``observed`` and
        ``predicted`` (legend), ``title`` (optional).
    formatter
        Tick labels of the y axis, e.g. ``lambda x: t.percent(x, digits=0)``.
    **kwargs
        Passed to both ``Axes.bar`` calls.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> deciles = pd.DataFrame({"decile": [1, 2], "observed": [0.05, 0.6],
    ...                         "predicted": [0.04, 0.62]})
    >>> len(plot_purchase_calibration(deciles).patches)
    4
    """
    palette = palette or Palette()
    frame = _require(deciles, "plot_purchase_calibration", ["decile", "observed", "predicted"])
    ax = _axes(ax, palette, height=3.0)
    return _paired_bars(
        ax,
        palette,
        frame,
        "decile",
        ("observed", "predicted"),
        labels=labels,
        ylabel="share",
        formatter=formatter,
        **kwargs,
    )
