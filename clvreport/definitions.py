"""One definition per concept: year, active customer, repeat buyer, lifespan, retention.

Every figure the report, ``model.json`` and ``customers.csv`` show under one of
these names is computed by the function of this module that defines it, and
nowhere else. The report's methodology section defines each once in plain words;
the words are in the message catalogs (``clvreport/i18n/``), one term per concept
and never one term for two concepts.

Definitions
-----------
Year
    The twelve months counted back from the report date: year 0 runs from the day
    after the same date a year earlier up to and including the report date, year 1
    is the twelve months before that, and so on (rolling years; as of 31 December
    they are calendar years). Every "per year" figure about loyalty uses these
    years (:func:`year_start`, :func:`year_index`, :func:`year_index_sql`).
Full year
    A year the data cover wholly: the data begin at most
    :data:`FULL_YEAR_GRACE_DAYS` days after its first day (a quiet first week
    is no missing data). The oldest year of a log is usually not full: a log
    that starts nine days before a year boundary has a nine-day oldest "year",
    which is never used as a year (:func:`full_years`).
Active customer
    A customer with a purchase in year 0, the last twelve months up to the report
    date. For a subscription business: a subscriber whose subscription is running
    (:func:`active_mask`).
Repeat buyer, repeat rate
    A repeat buyer made two or more purchases (``n_purchases >= 2``); the repeat
    rate is the share of all customers who are repeat buyers (:func:`repeat_mask`,
    :func:`repeat_rate`).
Customer lifespan
    The source's definition, observed: the time from a customer's first to last
    purchase, in years of 365.25 days (0 after one purchase). The report's one
    figure is the median over the repeat buyers (:func:`lifespan_years`,
    :func:`median_lifespan`).
Retention rate
    Of the customers who bought in year 1, the share who bought again in year 0
    (:func:`retention`). Only when both years are full years; otherwise it is
    refused (NaN, with the reason), never estimated from a partial year. The
    table per year applies the same definition to every pair of consecutive
    full years.
Expected remaining years
    The rule of thumb's years still to come of a customer who bought in year 0:
    with retention rate ``r`` such a customer buys again next year with chance
    ``r``, the year after with ``r²``, ... so ``r / (1 − r)`` more years (``r``
    capped at :data:`MAX_RETENTION`); a customer who did not buy in year 0
    expects none. Unknown when retention is refused
    (:func:`expected_remaining_years`). Never called a lifespan.

All functions are pure (dates, per-customer tables); the SQL aggregations that
feed them are in :mod:`clvreport.metrics`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from clvreport.audiences.base import running
from clvreport.dates import parse_date

__all__ = [
    "ACTIVE_MONTHS",
    "DAYS_PER_YEAR",
    "FULL_YEAR_GRACE_DAYS",
    "MAX_RETENTION",
    "MIN_FULL_YEARS",
    "Lifespan",
    "Retention",
    "active_mask",
    "expected_remaining_years",
    "full_years",
    "lifespan_years",
    "median_lifespan",
    "repeat_mask",
    "repeat_rate",
    "retention",
    "year_end",
    "year_index",
    "year_index_sql",
    "year_start",
]

DAYS_PER_YEAR = 365.25
"""Days in a year (the mean Julian year) for durations in years (lifespan)."""

ACTIVE_MONTHS = 12
"""An active customer bought in this many months up to the report date (year 0)."""

FULL_YEAR_GRACE_DAYS = 7
"""A year still counts as full when the data begin at most this many days after its start."""

MIN_FULL_YEARS = 2
"""Full years the retention rate needs: the year it is measured in and the year before."""

MAX_RETENTION = 0.9
"""Highest retention rate the expected remaining years use (at most 9 more years)."""

RetentionRefusal = Literal["short", "no_customers"]


def year_start(end: dt.date, k: int = 0) -> dt.date:
    """First day of year ``k`` counted back from the report date ``end``.

    Parameters
    ----------
    end
        The report date: the last day of year 0.
    k
        0 for the last twelve months, 1 for the twelve before, ...

    Returns
    -------
    datetime.date

    Examples
    --------
    >>> year_start(dt.date(2024, 12, 31)), year_start(dt.date(2024, 6, 30), 1)
    (datetime.date(2024, 1, 1), datetime.date(2022, 7, 1))
    >>> year_start(dt.date(2024, 2, 29))  # the day after 28 February 2023
    datetime.date(2023, 3, 1)
    """
    end = parse_date(end)
    return (pd.Timestamp(end) - pd.DateOffset(years=k + 1)).date() + dt.timedelta(days=1)


def year_end(end: dt.date, k: int = 0) -> dt.date:
    """Last day of year ``k`` counted back from the report date ``end``.

    Examples
    --------
    >>> year_end(dt.date(2024, 6, 30), 1)
    datetime.date(2023, 6, 30)
    """
    return year_start(end, k - 1) - dt.timedelta(days=1) if k else parse_date(end)


def year_index(day: dt.date, end: dt.date) -> int:
    """The year ``k`` that ``day`` (at most ``end``) falls in: the Python twin of the SQL.

    Examples
    --------
    >>> end = dt.date(2024, 6, 30)
    >>> year_index(dt.date(2024, 6, 30), end), year_index(dt.date(2023, 7, 1), end)
    (0, 0)
    >>> year_index(dt.date(2023, 6, 30), end)
    1
    >>> year_index(dt.date(2020, 2, 29), dt.date(2023, 2, 28))
    2
    """
    day, end = parse_date(day), parse_date(end)
    return end.year - day.year - int((day.month, day.day) > (end.month, end.day))


def year_index_sql(column: str, end: dt.date) -> str:
    """SQL for the year ``k`` of a DATE ``column`` (DuckDB and Spark SQL alike).

    Parameters
    ----------
    column
        A DATE expression (dates after ``end`` get negative indices).
    end
        The report date.

    Returns
    -------
    str

    Examples
    --------
    >>> year_index_sql("order_date", dt.date(2024, 6, 30))
    '(2024 - year(order_date) - CASE WHEN month(order_date) * 100 + day(order_date) > 630 THEN 1 ELSE 0 END)'
    """  # noqa: E501
    end = parse_date(end)
    day_of_year = end.month * 100 + end.day
    return (
        f"({end.year} - year({column}) - CASE WHEN month({column}) * 100 + day({column}) "
        f"> {day_of_year} THEN 1 ELSE 0 END)"
    )


def full_years(start: dt.date, end: dt.date, *, grace_days: int = FULL_YEAR_GRACE_DAYS) -> int:
    """How many years, counted back from ``end``, the data from ``start`` cover wholly.

    Year ``k`` is full when ``start`` lies at most ``grace_days`` after its first day.

    Parameters
    ----------
    start
        First day of the data (the observation window's start).
    end
        The report date.
    grace_days
        Days the data may begin late and still cover a year.

    Returns
    -------
    int

    Examples
    --------
    >>> full_years(dt.date(2022, 1, 1), dt.date(2024, 12, 31))
    3
    >>> full_years(dt.date(1997, 1, 1), dt.date(1998, 6, 30))  # 18 months
    1
    >>> full_years(dt.date(2023, 12, 23), dt.date(2024, 12, 31))  # a 9-day year before
    1
    """
    start, end = parse_date(start), parse_date(end)
    if start > end:
        return 0
    k = 0
    while start <= year_start(end, k) + dt.timedelta(days=grace_days):
        k += 1
    return k


def active_mask(customers: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Which customers are active: a purchase in the last twelve months (or a running subscription).

    Parameters
    ----------
    customers
        One row per customer with ``last_purchase`` (a subscription business:
        with ``active``, whether the subscription runs).
    as_of
        The report date.

    Returns
    -------
    pandas.Series
        Booleans, aligned with ``customers``.

    Examples
    --------
    >>> table = pd.DataFrame({"last_purchase": pd.to_datetime(["2024-01-01", "2023-12-31"])})
    >>> active_mask(table, dt.date(2024, 12, 31)).tolist()
    [True, False]
    """
    runs = running(customers)
    if runs is not None:
        return runs
    last = pd.to_datetime(customers["last_purchase"])
    return (last >= pd.Timestamp(year_start(as_of))).fillna(False)


def repeat_mask(customers: pd.DataFrame) -> pd.Series:
    """Which customers are repeat buyers: two or more purchases.

    Examples
    --------
    >>> repeat_mask(pd.DataFrame({"n_purchases": [1, 2, 5]})).tolist()
    [False, True, True]
    """
    return customers["n_purchases"] >= 2


def repeat_rate(customers: pd.DataFrame) -> float:
    """The repeat rate: the share of customers who are repeat buyers (NaN without customers).

    Examples
    --------
    >>> repeat_rate(pd.DataFrame({"n_purchases": [1, 2, 5, 1]}))
    0.5
    """
    return float(repeat_mask(customers).mean()) if len(customers) else math.nan


def lifespan_years(first_purchase: pd.Series, last_purchase: pd.Series) -> pd.Series:
    """Each customer's lifespan: first to last purchase, in years of 365.25 days.

    Examples
    --------
    >>> first = pd.to_datetime(pd.Series(["2020-01-01", "2020-03-01"]))
    >>> last = pd.to_datetime(pd.Series(["2021-01-01", "2020-03-01"]))
    >>> lifespan_years(first, last).round(4).tolist()
    [1.0021, 0.0]
    """
    days = (pd.to_datetime(last_purchase) - pd.to_datetime(first_purchase)).dt.days
    return days / DAYS_PER_YEAR


@dataclass(frozen=True)
class Lifespan:
    """The report's one lifespan figure.

    Attributes
    ----------
    median_years
        Median lifespan (first to last purchase) of the repeat buyers; NaN without any.
    repeat_buyers
        How many repeat buyers it is the median of.
    """

    median_years: float
    repeat_buyers: int


def median_lifespan(customers: pd.DataFrame) -> Lifespan:
    """The median lifespan of the repeat buyers (one-time buyers have none to speak of).

    Parameters
    ----------
    customers
        One row per customer with ``n_purchases`` and ``lifespan_years``.

    Returns
    -------
    Lifespan

    Examples
    --------
    >>> table = pd.DataFrame({"n_purchases": [1, 2, 3, 4], "lifespan_years": [0, 0.5, 1, 2]})
    >>> median_lifespan(table)
    Lifespan(median_years=1.0, repeat_buyers=3)
    """
    years = customers.loc[repeat_mask(customers), "lifespan_years"]
    return Lifespan(
        median_years=float(years.median()) if len(years) else math.nan,
        repeat_buyers=len(years),
    )


@dataclass(frozen=True)
class Retention:
    """The retention rate: of the customers of year 1, the share who bought again in year 0.

    Attributes
    ----------
    rate
        ``retained / base``; NaN when refused.
    base
        Customers who bought in year 1.
    retained
        Of them, those who bought in year 0 too.
    year_start, year_end
        Year 0 (the twelve months up to the report date).
    base_start, base_end
        Year 1 (the twelve months before).
    data_start
        First day of the data.
    full_years
        Full years the data cover (:func:`full_years`).
    refused
        ``None`` when measured; ``"short"`` when year 1 is not a full year (fewer
        than two full years of data); ``"no_customers"`` when nobody bought in year 1.
    """

    rate: float
    base: int
    retained: int
    year_start: dt.date
    year_end: dt.date
    base_start: dt.date
    base_end: dt.date
    data_start: dt.date
    full_years: int
    refused: RetentionRefusal | None

    @property
    def measured(self) -> bool:
        """Whether the rate could be measured."""
        return self.refused is None

    @property
    def base_days(self) -> int:
        """Days of year 1 the data cover (fewer than a year when refused as short)."""
        first = max(self.base_start, self.data_start)
        return max(0, (self.base_end - first).days + 1)

    def as_dict(self) -> dict[str, object]:
        """The retention as plain values (for ``model.json``)."""
        return {
            "rate": None if math.isnan(self.rate) else self.rate,
            "base": self.base,
            "retained": self.retained,
            "year": [self.year_start.isoformat(), self.year_end.isoformat()],
            "base_year": [self.base_start.isoformat(), self.base_end.isoformat()],
            "full_years": self.full_years,
            "refused": self.refused,
        }


def retention(
    customers: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    grace_days: int = FULL_YEAR_GRACE_DAYS,
) -> Retention:
    """The retention rate of a group of customers, or its refusal when the data are too short.

    Parameters
    ----------
    customers
        One row per customer with ``active_now`` (bought in year 0) and
        ``active_previous`` (bought in year 1), as :func:`clvreport.metrics.customer_metrics`
        gives them; any subset of its rows for the retention of that group.
    start
        First day of the data (the observation window's start).
    end
        The report date.
    grace_days
        See :func:`full_years`.

    Returns
    -------
    Retention

    Examples
    --------
    >>> table = pd.DataFrame({"active_now": [1, 0, 1, 1], "active_previous": [1, 1, 1, 0]})
    >>> r = retention(table, dt.date(2022, 1, 1), dt.date(2024, 12, 31))
    >>> round(r.rate, 4), r.base, r.retained, r.refused
    (0.6667, 3, 2, None)
    >>> retention(table, dt.date(2023, 12, 23), dt.date(2024, 12, 31)).refused
    'short'
    """
    start, end = parse_date(start), parse_date(end)
    previous = customers["active_previous"].to_numpy(dtype=bool)
    now = customers["active_now"].to_numpy(dtype=bool)
    base = int(previous.sum())
    retained = int((previous & now).sum())
    years = full_years(start, end, grace_days=grace_days)
    refused: RetentionRefusal | None = None
    if years < MIN_FULL_YEARS:
        refused = "short"
    elif base == 0:
        refused = "no_customers"
    return Retention(
        rate=math.nan if refused else retained / base,
        base=base,
        retained=retained,
        year_start=year_start(end, 0),
        year_end=end,
        base_start=year_start(end, 1),
        base_end=year_end(end, 1),
        data_start=start,
        full_years=years,
        refused=refused,
    )


def expected_remaining_years(rate: float) -> float:
    """Years still to come of a customer who bought in the last year: ``r / (1 − r)``.

    ``r`` is capped at :data:`MAX_RETENTION`; NaN when the retention is refused (NaN).

    Examples
    --------
    >>> expected_remaining_years(0.5), expected_remaining_years(1.0)
    (1.0, 9.000000000000002)
    >>> import math
    >>> math.isnan(expected_remaining_years(math.nan))
    True
    """
    if not np.isfinite(rate):
        return math.nan
    capped = min(max(rate, 0.0), MAX_RETENTION)
    return capped / (1.0 - capped)
