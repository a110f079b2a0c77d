"""Figures about where the money is: Lorenz curve, value tiers, big spenders, new vs returning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from clvreport.plots._base import (
    NOTE_PT,
    DateFormatter,
    Formatter,
    Palette,
    _axes,
    _label,
    _legend_above,
    _mix,
    _optional,
    _percent,
    _period_label,
    _period_ticks,
    _require,
    _style,
    _tick_formatter,
)

__all__ = [
    "plot_big_spender_vs_regular",
    "plot_lorenz",
    "plot_revenue_new_vs_returning",
    "plot_value_tiers",
]


def plot_lorenz(
    points: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    share: float = 0.2,
    **kwargs: Any,
) -> Axes:
    """Lorenz curve of revenue over customers, best customers first, with the 20/80 point.

    The curve shows which share of revenue the best ``x`` % of customers bring.
    The further it bulges above the diagonal (every customer worth the same),
    the more revenue depends on few customers. A marker shows the top 20 %
    and their share (the "20/80" check).

    Parameters
    ----------
    points
        Columns ``customer_share`` and ``revenue_share`` (``value_share`` is
        accepted too), both 0–1 and cumulative. Either order works: the classic
        Lorenz curve (lowest values first, below the diagonal, as
        :func:`clvreport.concentration.lorenz_curve` returns it) is mirrored to
        best-customers-first.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours (default: :class:`Palette`).
    labels
        Translated texts: ``customer_share`` (x axis), ``revenue_share``
        (y axis), ``equality`` (text on the diagonal), ``top20`` (the
        annotation at the marker, already formatted, e.g. "Top 20%: 79% of
        revenue"), ``title`` (optional). Missing keys show the key.
    formatter
        Tick labels of both axes (shares 0–1), e.g. ``lambda x: t.percent(x, digits=0)``.
        Default: ``20%``.
    share
        Customer share of the marker (0.2 for the 20/80 check).
    **kwargs
        Passed to ``Axes.plot`` for the curve (e.g. ``linewidth``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from clvreport.concentration import lorenz_curve
    >>> points = lorenz_curve([5, 10, 20, 40, 300])
    >>> ax = plot_lorenz(points, labels={"top20": "Top 20%: 80% of revenue"})
    >>> round(float(ax.lines[-1].get_ydata()[0]), 2)  # the 20/80 marker
    0.8
    """
    palette = palette or Palette()
    frame = _require(
        points,
        "plot_lorenz",
        ["customer_share", "revenue_share"],
        aliases={"value_share": "revenue_share"},
    )
    x = frame["customer_share"].to_numpy(dtype="float64")
    y = frame["revenue_share"].to_numpy(dtype="float64")
    if x.size and np.nanmean(y - x) < 0:  # classic orientation: mirror to best first
        x, y = 1.0 - x, 1.0 - y
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if x.size == 0 or x[0] > 0:
        x, y = np.concatenate([[0.0], x]), np.concatenate([[0.0], y])

    ax = _axes(ax, palette, height=3.9)
    fmt = _percent(formatter)
    ax.plot([0, 1], [0, 1], color=palette.neutral, linewidth=1.0, linestyle=(0, (4, 3)))
    ax.text(
        0.84,
        0.83,
        _label(labels, "equality"),
        rotation=45,
        rotation_mode="anchor",
        transform_rotates_text=True,
        ha="center",
        va="top",
        fontsize=NOTE_PT,
        color=palette.secondary,
    )
    ax.fill_between(x, y, x, color=palette.primary, alpha=0.10, linewidth=0)
    ax.plot(x, y, **{"color": palette.primary, "linewidth": 2.2, **kwargs})

    y_share = float(np.interp(share, x, y))
    guide = {"color": palette.accent, "linewidth": 1.0, "linestyle": ":"}
    ax.plot([share, share], [0, y_share], **guide)
    ax.plot([0, share], [y_share, y_share], **guide)
    ax.annotate(
        _label(labels, "top20"),
        xy=(share, y_share),
        xytext=(14, -14),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=NOTE_PT + 1,
        fontweight="bold",
        color=palette.foreground,
    )
    ax.plot(
        [share],
        [y_share],
        marker="o",
        markersize=8,
        color=palette.accent,
        markeredgecolor=palette.foreground,
        markeredgewidth=0.8,
        linestyle="none",
        zorder=5,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.margins(0)
    ax.xaxis.set_major_formatter(_tick_formatter(fmt))
    ax.yaxis.set_major_formatter(_tick_formatter(fmt))
    _style(
        ax,
        palette,
        xlabel=_label(labels, "customer_share"),
        ylabel=_label(labels, "revenue_share"),
        title=_optional(labels, "title"),
        grid="both",
    )
    return ax


def plot_value_tiers(
    tiers: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Share of customers next to share of revenue, per value tier.

    Parameters
    ----------
    tiers
        One row per tier, best first, with columns ``tier_label`` (display
        text, e.g. "Top 1%"), ``customer_share`` and ``revenue_share`` (0–1).
        :func:`clvreport.concentration.tier_summary`'s ``value_tier`` and
        ``value_share`` are accepted too.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours; revenue is drawn in ``primary``, customers in a light tone.
    labels
        Translated texts: ``customer_share`` and ``revenue_share`` (legend),
        ``share`` (x axis), ``title`` (optional).
    formatter
        Shares on the x axis and on the bars; default ``20%``.
    **kwargs
        Passed to both ``Axes.barh`` calls (e.g. ``height``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> tiers = pd.DataFrame({"tier_label": ["Top 20%", "Rest"],
    ...                       "customer_share": [0.2, 0.8], "revenue_share": [0.7, 0.3]})
    >>> ax = plot_value_tiers(tiers)
    >>> len(ax.patches)
    4
    """
    palette = palette or Palette()
    frame = _require(
        tiers,
        "plot_value_tiers",
        ["tier_label", "customer_share", "revenue_share"],
        aliases={"value_tier": "tier_label", "value_share": "revenue_share"},
    )
    n = len(frame)
    ax = _axes(ax, palette, height=max(2.4, 1.0 + 0.62 * n))
    fmt = _percent(formatter)
    dark, light = palette.pair()
    positions = np.arange(n, dtype="float64")
    height = kwargs.pop("height", 0.38)
    series = [
        ("customer_share", light, -height / 2),
        ("revenue_share", dark, height / 2),
    ]
    for column, color, offset in series:
        values = frame[column].to_numpy(dtype="float64")
        bars = ax.barh(
            positions + offset,
            values,
            height=height,
            color=color,
            edgecolor=dark,
            linewidth=0.6,
            label=_label(labels, column),
            **kwargs,
        )
        ax.bar_label(
            bars,
            labels=[fmt(v) for v in values],
            padding=3,
            fontsize=NOTE_PT,
            color=palette.foreground,
        )
    ax.set_yticks(positions, frame["tier_label"].astype(str).tolist())
    ax.invert_yaxis()  # best tier on top
    top = float(np.nanmax(frame[["customer_share", "revenue_share"]].to_numpy())) if n else 1.0
    ax.set_xlim(0, min(1.0, top * 1.15) if top > 0 else 1.0)
    ax.xaxis.set_major_formatter(_tick_formatter(fmt))
    _style(
        ax,
        palette,
        xlabel=_label(labels, "share"),
        title=_optional(labels, "title"),
        grid="x",
        left_spine=False,
    )
    _legend_above(ax, palette)
    return ax


def plot_big_spender_vs_regular(
    comparison: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    count_formatter: Formatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Value per order next to value per customer: the loyal regular vs the one-off big spender.

    Two groups of bars on one money axis. The big spender wins per order, the
    regular wins per customer because they come back: the number of orders is
    written under the amount above each per-customer bar.

    Parameters
    ----------
    comparison
        One row per group (usually two), with columns ``group_label`` (display
        text, shown in the legend), ``avg_order_value``, ``orders`` (average
        orders per customer) and ``revenue_per_customer``.
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours; the first group in ``primary``, the next ones lighter.
    labels
        Translated texts: ``avg_order_value`` and ``revenue_per_customer``
        (the two bar groups), ``value`` (y axis), ``orders`` (text above the
        per-customer bars, a template with ``{orders}``; default
        ``"{orders}×"``), ``orders_one`` (the same for exactly one order, e.g.
        ``"{orders} order"``; default ``orders``), ``title`` (optional).
    formatter
        Money on the y axis and above the bars, e.g. ``t.money``.
    count_formatter
        The number of orders, e.g. ``lambda x: t.number(x, digits=1)``.
        Default: one decimal unless whole.
    **kwargs
        Passed to ``Axes.bar`` (e.g. ``width``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> comparison = pd.DataFrame({"group_label": ["Regular", "Big spender"],
    ...     "avg_order_value": [40.0, 150.0], "orders": [8.0, 1.0],
    ...     "revenue_per_customer": [320.0, 150.0]})
    >>> ax = plot_big_spender_vs_regular(comparison)
    >>> [float(p.get_height()) for p in ax.patches]
    [40.0, 320.0, 150.0, 150.0]
    """
    palette = palette or Palette()
    frame = _require(
        comparison,
        "plot_big_spender_vs_regular",
        ["group_label", "avg_order_value", "orders", "revenue_per_customer"],
    )
    n = len(frame)
    ax = _axes(ax, palette, height=3.6)
    money = formatter or (lambda value: f"{value:,.0f}")

    def count(value: float) -> str:
        if count_formatter is not None:
            return count_formatter(value)
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"

    dark, light = palette.pair()
    colors = [dark] if n == 1 else [_mix(dark, light, i / (n - 1)) for i in range(n)]
    metrics = ["avg_order_value", "revenue_per_customer"]
    width = kwargs.pop("width", min(0.8 / max(n, 1), 0.36))
    orders_template = _optional(labels, "orders") or "{orders}×"
    orders_one = _optional(labels, "orders_one") or orders_template
    for i, row in enumerate(frame.itertuples(index=False)):
        offset = (i - (n - 1) / 2) * width
        heights = [float(row.avg_order_value), float(row.revenue_per_customer)]
        bars = ax.bar(
            np.arange(2) + offset,
            heights,
            width=width,
            color=colors[i],
            edgecolor=dark,
            linewidth=0.6,
            label=str(row.group_label),
            **kwargs,
        )
        template = orders_one if float(row.orders) == 1 else orders_template
        orders = template.format(orders=count(float(row.orders)))
        ax.bar_label(
            bars,
            labels=[money(heights[0]), f"{money(heights[1])}\n{orders}"],
            padding=3,
            fontsize=NOTE_PT + 0.5,
            color=palette.foreground,
            linespacing=1.3,
        )
    ax.set_xticks(np.arange(2), [_label(labels, metric) for metric in metrics])
    ax.tick_params(axis="x", length=0)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
    ax.yaxis.set_major_formatter(_tick_formatter(money))
    _style(
        ax,
        palette,
        ylabel=_label(labels, "value"),
        title=_optional(labels, "title"),
        grid="y",
    )
    ax.tick_params(axis="x", labelsize=NOTE_PT + 1.5)
    _legend_above(ax, palette, ncols=max(n, 1))
    return ax


def plot_revenue_new_vs_returning(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    palette: Palette | None = None,
    labels: Mapping[str, str] | None = None,
    formatter: Formatter | None = None,
    date_formatter: DateFormatter | None = None,
    **kwargs: Any,
) -> Axes:
    """Revenue per period from returning and from new customers, as stacked bars.

    Parameters
    ----------
    frame
        One row per period, in order, with columns ``period`` (``Period``,
        ``Timestamp`` or text), ``new`` and ``returning`` (revenue).
    ax
        Axes to draw on; by default a new figure 16 cm wide.
    palette
        Brand colours; returning customers (the base) in ``primary``, new ones lighter.
    labels
        Translated texts: ``returning`` and ``new`` (legend), ``period``
        (x axis, only drawn when given, since dates speak for themselves),
        ``revenue`` (y axis), ``title`` (optional).
    formatter
        Money on the y axis, e.g. ``t.money``.
    date_formatter
        Period labels, e.g. ``lambda d: format_date(d, "MMM yy", locale="nl")``;
        default ``2024-01``. At most 12 labels are shown.
    **kwargs
        Passed to both ``Axes.bar`` calls (e.g. ``width``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> frame = pd.DataFrame({"period": pd.period_range("2024-01", periods=3, freq="M"),
    ...                       "new": [100.0, 80.0, 60.0], "returning": [50.0, 90.0, 120.0]})
    >>> ax = plot_revenue_new_vs_returning(frame)
    >>> len(ax.patches)
    6
    """
    palette = palette or Palette()
    data = _require(frame, "plot_revenue_new_vs_returning", ["period", "new", "returning"])
    ax = _axes(ax, palette, height=3.4)
    dark, light = palette.pair()
    positions = np.arange(len(data), dtype="float64")
    returning = data["returning"].to_numpy(dtype="float64")
    new = data["new"].to_numpy(dtype="float64")
    width = kwargs.pop("width", 0.75)
    ax.bar(
        positions,
        returning,
        width=width,
        color=dark,
        edgecolor=dark,
        linewidth=0.5,
        label=_label(labels, "returning"),
        **kwargs,
    )
    ax.bar(
        positions,
        new,
        bottom=returning,
        width=width,
        color=light,
        edgecolor=dark,
        linewidth=0.5,
        label=_label(labels, "new"),
        **kwargs,
    )
    texts = [_period_label(value, date_formatter) for value in data["period"]]
    _period_ticks(ax, positions.tolist(), texts)
    ax.set_xlim(-0.6, len(data) - 0.4)
    if formatter is not None:
        ax.yaxis.set_major_formatter(_tick_formatter(formatter))
    _style(
        ax,
        palette,
        xlabel=_optional(labels, "period"),
        ylabel=_label(labels, "revenue"),
        title=_optional(labels, "title"),
        grid="y",
    )
    ax.tick_params(axis="x", length=0)
    _legend_above(ax, palette)
    return ax
