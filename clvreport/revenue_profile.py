"""The client's own season: how revenue spreads over the calendar months of an average year.

The models behind the forecast (BG/NBD, Pareto/NBD, ...) know no seasons of
their own: without a seasonal index (:mod:`clvreport.models.season`, when the
purchase pattern is too short, too weak or switched off) they predict an average
stretch of the year. A check over part of a year (the holdout's six or nine
months, the days since the previous report) then misses by more when those
months are busier or quieter than average: a shop
with a December peak looks "too low" in a July–December check and "too high" in
a January–June one. This module measures the season from the client's own
revenue and says how much a given period differs from an average one, so the
report can name it beside the check's verdict.

Definitions
-----------
Monthly revenue
    Net revenue per calendar month, complete months of the data only.
Seasonal index
    The ratio of a month's revenue to the centred twelve-month moving average
    around it (a 2×12 moving average, as in classical seasonal decomposition:
    growth or decline over the years does not pass for a season), averaged per
    calendar month over the years and scaled to an average of 1. It needs
    :data:`MIN_SEASON_MONTHS` complete months, so that every calendar month
    has at least one ratio; with fewer the season is unknown.
Share of an average year
    A calendar month's seasonal index / 12: the part of an average year's
    revenue that falls in it. A period's share adds up its days, each day
    carrying its month's share divided by the days of that month.
Notable season
    A period whose share of an average year differs from its share of the
    calendar (its days / 365.25) by more than :data:`SEASON_THRESHOLD`
    (relative): six months that normally bring more than 52.5% or less than
    47.5% of a year's revenue, a season effect beyond the 5% the holdout check
    calls close to the mark. Then the season may explain part of a check's miss:
    a busy period makes a model without seasons predict too little, a quiet one
    too much.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from clvreport.engine import Engine, quote_identifier

__all__ = [
    "MIN_SEASON_MONTHS",
    "SEASON_THRESHOLD",
    "SeasonCheck",
    "SeasonProfile",
    "monthly_profile",
    "monthly_revenue",
    "season_check",
    "seasonal_profile",
]

SEASON_THRESHOLD = 0.05
"""A period is notably busy (quiet) when its share of an average year's revenue is more than
5% above (below) its share of the calendar: a season effect beyond the 5% that the holdout
check calls close to the mark (:data:`clvreport.models.validation.ON_TARGET`)."""

MIN_SEASON_MONTHS = 24
"""Complete months of revenue the seasonal index needs (each calendar month once, after the
six months the centred moving average needs at either end)."""

WHOLE_YEAR_DAYS = 7
"""A period within this many days of a whole number of years covers whole years: no season."""


@dataclass(frozen=True)
class SeasonProfile:
    """How an average year's revenue spreads over the calendar months.

    Attributes
    ----------
    shares
        Share of an average year's revenue per calendar month (index 1–12; sums to 1).
    ratios
        How many monthly ratios each month's share averages (at least 1).
    first_month, last_month
        The first and last complete month of revenue the profile is measured on.
    """

    shares: pd.Series
    ratios: pd.Series
    first_month: dt.date
    last_month: dt.date

    @property
    def busiest(self) -> tuple[int, float]:
        """The busiest calendar month and its share of an average year."""
        month = int(self.shares.idxmax())
        return month, float(self.shares[month])

    @property
    def quietest(self) -> tuple[int, float]:
        """The quietest calendar month and its share of an average year."""
        month = int(self.shares.idxmin())
        return month, float(self.shares[month])

    @property
    def years(self) -> float:
        """Years of monthly revenue the profile rests on."""
        months = (self.last_month.year - self.first_month.year) * 12
        return (months + self.last_month.month - self.first_month.month + 1) / 12

    def as_dict(self) -> dict[str, object]:
        """The profile as plain values (for ``model.json``)."""
        return {
            "shares": {str(month): float(share) for month, share in self.shares.items()},
            "first_month": self.first_month.isoformat(),
            "last_month": self.last_month.isoformat(),
            "threshold": SEASON_THRESHOLD,
        }

    def period_share(self, start: dt.date, end: dt.date) -> float:
        """Share of an average year's revenue that falls in ``[start, end]`` (both included).

        Examples
        --------
        >>> flat = SeasonProfile(pd.Series(1 / 12, index=range(1, 13)), pd.Series(1, index=range(1, 13)),
        ...                      dt.date(2022, 1, 1), dt.date(2023, 12, 1))
        >>> round(flat.period_share(dt.date(2024, 1, 1), dt.date(2024, 12, 31)), 6)
        1.0
        """  # noqa: E501
        days = pd.date_range(start, end, freq="D")
        if days.empty:
            return 0.0
        weights = self.shares.reindex(days.month).to_numpy() / days.days_in_month.to_numpy()
        return float(weights.sum())


def monthly_revenue(engine: Engine, table: str, start: dt.date, end: dt.date) -> pd.Series:
    """Net revenue per complete calendar month between ``start`` and ``end``.

    Parameters
    ----------
    engine
        The data engine holding ``table``.
    table
        Clean transactions table (``order_date``, ``amount``).
    start, end
        The data's first and last day; months they cut are left out.

    Returns
    -------
    pandas.Series
        Revenue indexed by the first day of each complete month (months without
        revenue are 0), oldest first.

    Examples
    --------
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute("CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "(DATE '2024-01-15', 10.0), (DATE '2024-02-03', 5.0), (DATE '2024-03-01', 1.0)) "
    ...     "AS t(order_date, amount)")
    >>> monthly_revenue(engine, "tx", dt.date(2024, 1, 1), dt.date(2024, 3, 30)).tolist()
    [10.0, 5.0]
    >>> engine.close()
    """
    first = dt.date(start.year, start.month, 1)
    if start != first:
        first = (pd.Timestamp(first) + pd.DateOffset(months=1)).date()
    last = dt.date(end.year, end.month, 1)
    if end.day != calendar.monthrange(end.year, end.month)[1]:
        last = (pd.Timestamp(last) - pd.DateOffset(months=1)).date()
    months = pd.date_range(first, last, freq="MS")
    if months.empty:
        return pd.Series(dtype="float64")
    dialect = engine.dialect
    month_end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    rows = engine.query(
        f"SELECT year(order_date) AS y, month(order_date) AS m, "
        f"{dialect.exact_sum('amount')} AS revenue FROM {quote_identifier(table)} "
        f"WHERE order_date >= {dialect.date(first)} AND order_date <= {dialect.date(month_end)} "
        f"GROUP BY year(order_date), month(order_date)"
    )
    index = pd.DatetimeIndex(
        [pd.Timestamp(int(y), int(m), 1) for y, m in zip(rows["y"], rows["m"], strict=True)]
    )
    revenue = pd.Series(rows["revenue"].astype("float64").to_numpy(), index=index)
    return revenue.reindex(months, fill_value=0.0)


def seasonal_profile(revenue: pd.Series) -> SeasonProfile | None:
    """The seasonal profile of monthly revenue (ratio to a centred moving average).

    Parameters
    ----------
    revenue
        Revenue per consecutive complete month (:func:`monthly_revenue`).

    Returns
    -------
    SeasonProfile or None
        ``None`` with fewer than :data:`MIN_SEASON_MONTHS` months or without a
        ratio for every calendar month.

    Examples
    --------
    A December twice as busy as the other months, on a growing trend:

    >>> months = pd.date_range("2021-01-01", periods=36, freq="MS")
    >>> revenue = pd.Series([(2.0 if m.month == 12 else 1.0) * 1.01 ** i
    ...                      for i, m in enumerate(months)], index=months)
    >>> profile = seasonal_profile(revenue)
    >>> profile.busiest[0], round(profile.busiest[1], 2), round(float(profile.shares.sum()), 6)
    (12, 0.15, 1.0)
    """
    if len(revenue) < MIN_SEASON_MONTHS:
        return None
    values = revenue.to_numpy(dtype="float64")
    weights = np.r_[0.5, np.ones(11), 0.5] / 12  # the 2×12 centred moving average
    average = np.convolve(values, weights, mode="valid")  # centred on months 6 .. n-7
    centre = values[6 : len(values) - 6]
    months = revenue.index.month[6 : len(values) - 6]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(average > 0, centre / average, np.nan)
    frame = pd.DataFrame({"month": months, "ratio": ratio}).dropna()
    index = frame.groupby("month")["ratio"].mean().reindex(range(1, 13))
    if index.isna().any() or index.sum() <= 0:
        return None
    return SeasonProfile(
        shares=index / index.sum(),
        ratios=frame.groupby("month")["ratio"].size().reindex(range(1, 13)),
        first_month=revenue.index[0].date(),
        last_month=revenue.index[-1].date(),
    )


def monthly_profile(
    engine: Engine, table: str, start: dt.date, end: dt.date
) -> SeasonProfile | None:
    """The client's seasonal profile from the transactions (``None`` when unknown).

    Examples
    --------
    >>> monthly_profile(engine, "tx", dt.date(2022, 1, 1), dt.date(2024, 12, 31))  # doctest: +SKIP
    """
    return seasonal_profile(monthly_revenue(engine, table, start, end))


SeasonKind = Literal["busy", "quiet", "even"]


@dataclass(frozen=True)
class SeasonCheck:
    """How a period compares with an average stretch of the year.

    Attributes
    ----------
    start, end
        The period (both included).
    share
        Its share of an average year's revenue.
    calendar_share
        Its share of the calendar: days / 365.25.
    deviation
        ``share / calendar_share − 1``: above 0 busier than average.
    kind
        ``"busy"`` or ``"quiet"`` beyond :data:`SEASON_THRESHOLD`, else ``"even"``.
    whole_years
        Whether the period covers whole years (then the season cannot matter).
    """

    start: dt.date
    end: dt.date
    share: float
    calendar_share: float
    deviation: float
    kind: SeasonKind
    whole_years: bool

    @property
    def effect(self) -> float:
        """The miss the season alone gives a forecast of an average period.

        ``1 / (1 + deviation) − 1``, as (predicted − actual) / actual.

        Below 0 (too low) for a busy period, above 0 (too high) for a quiet one.
        """
        return 1.0 / (1.0 + self.deviation) - 1.0 if math.isfinite(self.deviation) else math.nan

    def as_dict(self) -> dict[str, object]:
        """The check as plain values (for ``model.json``)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "share": self.share,
            "calendar_share": self.calendar_share,
            "deviation": self.deviation,
            "kind": self.kind,
        }

    def explains(self, error: float) -> bool | None:
        """Whether the season points the way of a forecast's miss.

        ``error`` is (predicted − actual) / actual. A busy period makes a model
        without seasons predict too little (error below 0), a quiet one too much.
        ``None`` for an even period or an unknown error.
        """
        if self.kind == "even" or not math.isfinite(error) or error == 0:
            return None
        return (self.kind == "busy") == (error < 0)


def season_check(
    profile: SeasonProfile, start: dt.date, end: dt.date, *, threshold: float = SEASON_THRESHOLD
) -> SeasonCheck:
    """Compare the period ``[start, end]`` with an average stretch of the year.

    Parameters
    ----------
    profile
        The client's seasonal profile.
    start, end
        The period (both included).
    threshold
        Relative difference from the calendar share beyond which the period is busy or quiet.

    Returns
    -------
    SeasonCheck

    Examples
    --------
    >>> months = pd.date_range("2021-01-01", periods=36, freq="MS")
    >>> revenue = pd.Series([2.0 if m.month >= 10 else 1.0 for m in months], index=months)
    >>> check = season_check(seasonal_profile(revenue), dt.date(2024, 7, 1), dt.date(2024, 12, 31))
    >>> check.kind, round(check.share, 3), check.explains(-0.2), check.explains(0.2)
    ('busy', 0.6, True, False)
    """
    days = (end - start).days + 1
    calendar_share = days / 365.25
    share = profile.period_share(start, end)
    deviation = share / calendar_share - 1 if calendar_share > 0 else math.nan
    whole = abs(days - round(days / 365.25) * 365.25) <= WHOLE_YEAR_DAYS and days >= 365
    kind: SeasonKind = "even"
    if not whole and abs(deviation) > threshold:
        kind = "busy" if deviation > 0 else "quiet"
    return SeasonCheck(
        start=start,
        end=end,
        share=share,
        calendar_share=calendar_share,
        deviation=deviation,
        kind=kind,
        whole_years=whole,
    )
