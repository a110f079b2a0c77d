"""The source's customer-value figures, repeat purchases and retention per year.

The source (Dutch marketing practice) computes customer lifetime value from
history with three factors::

    average purchase value  = revenue / number of purchases
    purchase frequency      = purchases per year
    customer value          = average purchase value × purchase frequency
    customer lifespan       = years as a customer
    historic CLV            = customer value × customer lifespan

Taken literally (frequency per year of the whole observation window, lifespan
from first to last purchase, 0 for one-time buyers) the factors describe
different things and their product falls *below* what customers already paid.
This module measures the factors on the same footing, the **year with a
purchase** (the years of :mod:`clvreport.definitions`: twelve months counted
back from the report date):

* purchase frequency = purchases per year with a purchase; customer value =
  revenue per year with a purchase;
* the third factor, the *customer years*, = the years with a purchase
  customers had so far plus the *expected remaining years* of the customers
  who bought in the last twelve months (:func:`clvreport.definitions.expected_remaining_years`:
  ``r / (1 − r)`` from the retention rate ``r``).

The *customer lifespan* keeps the source's meaning, first to last purchase
(observed; the report shows the median of the repeat buyers), and is a
different figure from the customer years: one word, one number.

So ``historic CLV = revenue per customer so far + (share of customers who
bought in the last twelve months) × revenue per year with a purchase ×
r / (1 − r)``. It is never below the revenue per customer already realised,
equals it for a closed cohort whose customers have all left, and is one
definition for the whole base (:func:`clv_figures`) and per customer
(:func:`customer_metrics`, where a customer who bought in the last twelve
months gets the base's expected remaining years at the base's revenue per
year, so the mean of the per-customer values is the overall figure). Without a
retention rate (fewer than two full years of data, see
:func:`clvreport.definitions.retention`) the expected remaining years, the
customer years and the historic CLV are unknown (NaN): they are never
extrapolated from a partial year.

This module computes these figures per customer (:func:`customer_metrics`)
and for the whole customer base or any group of customers
(:func:`clv_figures`), the customers, retention and revenue of new versus
returning customers per year (:func:`years_table`; per calendar period:
:func:`retention_by_period`), and the source's comparison of a one-off big
spender with a loyal regular (:func:`big_spender_vs_regular`).

Definitions
-----------
Transactions
    The clean transactions table: ``customer_id``, ``order_date`` (DATE),
    ``amount`` (DOUBLE) and ``is_return`` (BOOLEAN); optionally ``order_id``.
    Returns (``is_return``, negative amounts) are netted into revenue but are
    not purchases.
Observation window
    The dates ``[start, end]`` the figures describe (both inclusive; by default
    the first and last transaction date). Transactions outside it are ignored.
    Its length in years is ``(end − start + 1 day) / 365.25``.
Customer
    Anyone with at least one purchase in the window (a customer with only
    returns in the window is not counted).
Purchase
    A non-return transaction row (``purchase_unit="transaction"``, the
    default), a distinct ``order_id`` (``"order"``) or a distinct purchase day
    (``"day"``).
Revenue
    Net revenue: the sum of all amounts of the customer in the window,
    returns included.
Year
    Year ``k`` of :func:`clvreport.definitions.year_index`: ``k = 0`` is the
    twelve months up to the window end. ``active_years`` counts a customer's
    years with a purchase; ``active_now`` is 1 for a purchase in year 0 (for a
    shop: an active customer), ``active_previous`` for one in year 1.
Retention rate, expected remaining years, lifespan, repeat rate
    As defined in :mod:`clvreport.definitions` (computed there, read here).

All SQL here is plain SQL that DuckDB and Spark SQL both run (``year()``,
``quarter()``, ``month()``, ``day()``, ``CASE``, ``COUNT(DISTINCT)``;
``DATE`` literals and day differences from the engine's dialect) through a
:class:`clvreport.engine.Engine`; divisions happen in pandas on the
per-customer or per-period results, never on transactions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from clvreport.dates import parse_date
from clvreport.definitions import (
    DAYS_PER_YEAR,
    FULL_YEAR_GRACE_DAYS,
    MAX_RETENTION,
    Retention,
    expected_remaining_years,
    full_years,
    lifespan_years,
    median_lifespan,
    repeat_mask,
    retention,
    year_end,
    year_index,
    year_index_sql,
    year_start,
)
from clvreport.engine import Dialect, Engine, quote_identifier
from clvreport.errors import DataError
from clvreport.models.units import PERIODS_PER_YEAR

__all__ = [
    "DAYS_PER_YEAR",
    "MAX_RETENTION",
    "BigSpenderComparison",
    "ClvFigures",
    "ObservationWindow",
    "RepeatRates",
    "big_spender_vs_regular",
    "clv_figures",
    "customer_metrics",
    "customer_periods_sql",
    "observation_window",
    "repeat_rates",
    "retention_by_period",
    "years_table",
]

PurchaseUnit = Literal["transaction", "order", "day"]
Period = Literal["year", "quarter", "month"]


@dataclass(frozen=True)
class ObservationWindow:
    """The period ``[start, end]`` (both inclusive) that the figures describe.

    Attributes
    ----------
    start, end
        First and last day of the window.

    Examples
    --------
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    >>> w.days, round(w.years, 4)
    (366, 1.0021)
    """

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    @property
    def days(self) -> int:
        """Length in days, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def years(self) -> float:
        """Length in years of 365.25 days."""
        return self.days / DAYS_PER_YEAR

    def sql_filter(self, dialect: Dialect, column: str = "order_date") -> str:
        """SQL condition selecting the rows whose ``column`` lies in the window.

        Parameters
        ----------
        dialect
            The engine's dialect (``engine.dialect``), which spells the DATE literals.
        column
            The DATE column to filter on.

        Returns
        -------
        str
            E.g. ``order_date >= DATE '2020-01-01' AND order_date <= DATE '2020-12-31'``.
        """
        return f"{column} >= {dialect.date(self.start)} AND {column} <= {dialect.date(self.end)}"


def observation_window(
    engine: Engine,
    table: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ObservationWindow:
    """The observation window: given dates, or the first/last transaction date.

    Parameters
    ----------
    engine
        The data engine holding ``table`` (:class:`clvreport.engine.Engine`).
    table
        Clean transactions table.
    start, end
        Window bounds; ``None`` takes the first (last) ``order_date`` in the table.
        ``end`` is normally the report's as-of date.

    Returns
    -------
    ObservationWindow

    Raises
    ------
    DataError
        If the table has no transactions.

    Examples
    --------
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute("CREATE TABLE tx AS SELECT 'a' AS customer_id, "
    ...                "DATE '2020-01-01' AS order_date, 10.0 AS amount, false AS is_return")
    >>> observation_window(engine, "tx", end=dt.date(2020, 12, 31)).days
    366
    >>> engine.close()
    """
    if start is None or end is None:
        bounds = engine.query(
            f"SELECT MIN(order_date) AS first_date, MAX(order_date) AS last_date "
            f"FROM {quote_identifier(table)}",
        )
        first, last = bounds.iloc[0]["first_date"], bounds.iloc[0]["last_date"]
        if pd.isna(first):
            raise DataError(
                f"the transactions table '{table}' is empty",
                hint="check the source files and the exclusions in the data-quality table",
            )
        start = start if start is not None else parse_date(first)
        end = end if end is not None else parse_date(last)
    return ObservationWindow(start, end)


def _purchase_count_sql(purchase_unit: PurchaseUnit) -> str:
    if purchase_unit == "transaction":
        return "SUM(CASE WHEN is_return THEN 0 ELSE 1 END)"
    if purchase_unit == "order":
        return "COUNT(DISTINCT CASE WHEN is_return THEN NULL ELSE order_id END)"
    if purchase_unit == "day":
        return "COUNT(DISTINCT CASE WHEN is_return THEN NULL ELSE order_date END)"
    raise ValueError(
        f"purchase_unit must be 'transaction', 'order' or 'day', not {purchase_unit!r}"
    )


def customer_metrics(
    engine: Engine,
    table: str,
    window: ObservationWindow,
    *,
    purchase_unit: PurchaseUnit = "transaction",
) -> pd.DataFrame:
    """Per-customer purchase history and the source's figures, one row per customer.

    The aggregation runs in the engine; only one row per customer comes back.

    Parameters
    ----------
    engine
        The data engine holding ``table`` (:class:`clvreport.engine.Engine`).
    table
        Clean transactions table (``customer_id, order_date, amount, is_return``;
        ``order_id`` when ``purchase_unit="order"``).
    window
        Observation window (see :func:`observation_window`); rows outside it are ignored.
    purchase_unit
        What counts as one purchase: a non-return row (``"transaction"``), a
        distinct ``order_id`` (``"order"``) or a distinct purchase day (``"day"``).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``customer_id``, with columns:

        ``customer_id`` (str); ``first_purchase``, ``last_purchase``
        (datetime64); ``n_purchases`` (int); ``revenue`` (net, returns
        included); ``returns`` (sum of return amounts, ≤ 0);
        ``active_years``, ``active_now``, ``active_previous`` (see the module
        docstring); ``lifespan_days`` (last − first purchase);
        ``lifespan_years`` (the customer lifespan,
        :func:`clvreport.definitions.lifespan_years`); ``recency_days``
        (window end − last purchase); ``tenure_days`` (window end − first
        purchase); ``avg_purchase_value`` (revenue / purchases);
        ``purchase_frequency`` (purchases per year with a purchase);
        ``customer_value`` (revenue per year with a purchase);
        ``expected_remaining_years`` (the base's expected remaining years for
        a customer who bought in the last twelve months, else 0; NaN for
        everyone without a retention rate); ``historic_clv`` (revenue so far
        + expected remaining years × the base's revenue per year with a
        purchase; NaN without a retention rate).

    Examples
    --------
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute(
    ...     "CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "('a', DATE '2020-01-01', 100.0, false), ('a', DATE '2020-07-01', 50.0, false), "
    ...     "('b', DATE '2020-03-01', 200.0, false)) "
    ...     "AS t(customer_id, order_date, amount, is_return)")
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    >>> customer_metrics(engine, "tx", w)[["customer_id", "n_purchases", "lifespan_days"]]
      customer_id  n_purchases  lifespan_days
    0           a            2            182
    1           b            1              0
    >>> engine.close()
    """
    parts = [
        engine.query_arrow(
            _customer_metrics_sql(engine.dialect, table, condition, window, purchase_unit)
        )
        for condition in engine.customer_ranges(table)
    ]
    # ordered by customer in each range, the ranges in order: no sort needed here
    frame = pa.concat_tables(parts).to_pandas(date_as_object=False)
    return _derive_customer_figures(frame, window)


_MASK_YEARS = 62
"""Windows up to this many years keep each customer's years with a purchase as bits of a BIGINT."""


def _customer_metrics_sql(
    dialect: Dialect,
    table: str,
    condition: str,
    window: ObservationWindow,
    purchase_unit: PurchaseUnit,
) -> str:
    """One aggregate per customer of the rows where ``condition`` holds, ordered by customer.

    The years with a purchase are the bits of one number per customer (year
    ``k`` back from the window end is bit ``k``): counting them needs no
    second grouping by customer and year. Windows longer than
    :data:`_MASK_YEARS` years (implausible dates) count them by that grouping.
    """
    purchases = _purchase_count_sql(purchase_unit)
    year = year_index_sql("order_date", window.end)
    rows = f"{quote_identifier(table)} WHERE {window.sql_filter(dialect)} AND ({condition})"
    totals = f"""
                MIN(CASE WHEN is_return THEN NULL ELSE order_date END) AS first_purchase,
                MAX(CASE WHEN is_return THEN NULL ELSE order_date END) AS last_purchase,
                {purchases} AS n_purchases,
                {dialect.exact_sum("amount")} AS revenue,
                {dialect.exact_sum("CASE WHEN is_return THEN amount ELSE 0 END")} AS returns"""
    if year_index(window.start, window.end) <= _MASK_YEARS:
        return f"""
        SELECT customer_id, first_purchase, last_purchase, n_purchases, revenue, returns,
            CAST(bit_count(years) AS BIGINT) AS active_years,
            CASE WHEN (years & 1) <> 0 THEN 1 ELSE 0 END AS active_now,
            CASE WHEN (years & 2) <> 0 THEN 1 ELSE 0 END AS active_previous
        FROM (
            SELECT customer_id,{totals},
                bit_or(CASE WHEN is_return THEN NULL ELSE {dialect.bit(year)} END) AS years
            FROM {rows}
            GROUP BY customer_id
        )
        WHERE n_purchases > 0
        ORDER BY customer_id
    """
    return f"""
        WITH tx AS (SELECT * FROM {rows}),
        per_customer AS (
            SELECT customer_id,{totals}
            FROM tx
            GROUP BY customer_id
        ),
        active_periods AS (
            SELECT DISTINCT customer_id, {year} AS k FROM tx WHERE NOT is_return
        ),
        per_year AS (
            SELECT customer_id,
                COUNT(*) AS active_years,
                MAX(CASE WHEN k = 0 THEN 1 ELSE 0 END) AS active_now,
                MAX(CASE WHEN k = 1 THEN 1 ELSE 0 END) AS active_previous
            FROM active_periods
            GROUP BY customer_id
        )
        SELECT p.*, y.active_years, y.active_now, y.active_previous
        FROM per_customer p JOIN per_year y ON p.customer_id = y.customer_id
        WHERE p.n_purchases > 0
        ORDER BY p.customer_id
    """


def _derive_customer_figures(frame: pd.DataFrame, window: ObservationWindow) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "first_purchase": frame["first_purchase"].astype("datetime64[us]"),
            "last_purchase": frame["last_purchase"].astype("datetime64[us]"),
            "n_purchases": frame["n_purchases"].astype("int64"),
            "revenue": frame["revenue"].astype("float64"),
            "returns": frame["returns"].astype("float64"),
            "active_years": frame["active_years"].astype("int64"),
            "active_now": frame["active_now"].astype("int64"),
            "active_previous": frame["active_previous"].astype("int64"),
        }
    )
    end = pd.Timestamp(window.end)
    out["lifespan_days"] = (out["last_purchase"] - out["first_purchase"]).dt.days.astype("int64")
    out["lifespan_years"] = lifespan_years(out["first_purchase"], out["last_purchase"])
    out["recency_days"] = (end - out["last_purchase"]).dt.days.astype("int64")
    out["tenure_days"] = (end - out["first_purchase"]).dt.days.astype("int64")
    out["avg_purchase_value"] = out["revenue"] / out["n_purchases"]
    out["purchase_frequency"] = out["n_purchases"] / out["active_years"]
    out["customer_value"] = out["revenue"] / out["active_years"]
    remaining = expected_remaining_years(retention(out, window.start, window.end).rate)
    per_year = _ratio(float(out["revenue"].sum()), float(out["active_years"].sum()))
    out["expected_remaining_years"] = out["active_now"] * remaining
    out["historic_clv"] = out["revenue"] + out["expected_remaining_years"] * per_year
    return out


@dataclass(frozen=True)
class ClvFigures:
    """The source's figures for a group of customers (all customers by default).

    Attributes
    ----------
    n_customers
        Customers in the group.
    n_purchases
        Their purchases.
    revenue
        Their net revenue.
    window_years
        Length of the observation window in years.
    revenue_per_customer
        ``revenue / n_customers``: what a customer brought in so far.
    avg_purchase_value
        ``revenue / n_purchases``.
    avg_purchase_frequency
        Purchases per year with a purchase: ``n_purchases / Σ active_years``.
    customer_value
        ``avg_purchase_value × avg_purchase_frequency``: revenue per year with a purchase.
    observed_active_years
        Years with a purchase per customer so far: ``Σ active_years / n_customers``.
    retention_rate
        The retention rate (:func:`clvreport.definitions.retention`); NaN when refused.
    retention
        The retention with its base, its years and the reason for a refusal.
    n_bought_last_year
        Customers who bought in the twelve months up to the window end (year 0).
    expected_remaining_years
        Years still to come of a customer who bought in year 0:
        ``r / (1 − r)`` (:func:`clvreport.definitions.expected_remaining_years`;
        NaN without a retention rate).
    customer_years
        The third factor of the historic CLV, per customer: ``observed_active_years +
        n_bought_last_year / n_customers × expected_remaining_years``.
    historic_clv
        ``customer_value × customer_years``; equals ``revenue_per_customer``
        plus the value of the expected remaining years, so it is never below
        what customers already paid. NaN without a retention rate.
    lifespan_years
        The customer lifespan: median years from first to last purchase of the
        repeat buyers (:func:`clvreport.definitions.median_lifespan`).
    n_repeat_customers
        Repeat buyers: customers with two or more purchases.
    repeat_purchase_rate
        The repeat rate, ``n_repeat_customers / n_customers``.

    All ratios are NaN for an empty group.
    """

    n_customers: int
    n_purchases: int
    revenue: float
    window_years: float
    revenue_per_customer: float
    avg_purchase_value: float
    avg_purchase_frequency: float
    customer_value: float
    observed_active_years: float
    retention_rate: float
    retention: Retention
    n_bought_last_year: int
    expected_remaining_years: float
    customer_years: float
    historic_clv: float
    lifespan_years: float
    n_repeat_customers: int
    repeat_purchase_rate: float

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict (for JSON and the report); ``retention`` as a dict."""
        out = dict(self.__dict__)
        out["retention"] = self.retention.as_dict()
        return out

    def __eq__(self, other: object) -> bool:
        """Equal figures: NaN (a refused retention) equals NaN."""
        if not isinstance(other, ClvFigures):
            return NotImplemented
        return all(
            _same(getattr(self, name), getattr(other, name)) for name in self.__dataclass_fields__
        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Retention) and isinstance(b, Retention):
        return all(_same(getattr(a, n), getattr(b, n)) for n in a.__dataclass_fields__)
    return a == b


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def clv_figures(customers: pd.DataFrame, window: ObservationWindow) -> ClvFigures:
    """The source's overall figures for a set of customers.

    Parameters
    ----------
    customers
        Output of :func:`customer_metrics`, or any subset of its rows (a segment,
        a tier) to get the figures of that group (with that group's retention).
    window
        The window ``customers`` was computed for.

    Returns
    -------
    ClvFigures

    Examples
    --------
    Over 2020–2021, ``a`` bought in both years (150 in all), ``b`` once in the
    first (200): retention is 1 of 2, so ``a``, who bought in the last year,
    can expect 1 more year:

    >>> import pandas as pd
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    >>> customers = pd.DataFrame({"n_purchases": [2, 1], "revenue": [150.0, 200.0],
    ...                           "active_years": [2, 1], "active_now": [1, 0],
    ...                           "active_previous": [1, 1], "lifespan_years": [1.2, 0.0]})
    >>> f = clv_figures(customers, w)
    >>> f.retention_rate, f.expected_remaining_years, f.customer_years, f.lifespan_years
    (0.5, 1.0, 2.0, 1.2)
    >>> round(f.historic_clv, 4), f.revenue_per_customer  # 175 + ½ × 116.67 × 1
    (233.3333, 175.0)
    """
    n_customers = len(customers)
    n_purchases = int(customers["n_purchases"].sum())
    revenue = float(customers["revenue"].sum())
    active_years = float(customers["active_years"].sum())
    n_bought = int(customers["active_now"].sum())
    kept = retention(customers, window.start, window.end)
    remaining = expected_remaining_years(kept.rate)
    avg_value = _ratio(revenue, n_purchases)
    frequency = _ratio(n_purchases, active_years)
    observed = _ratio(active_years, n_customers)
    customer_years = observed + _ratio(n_bought, n_customers) * remaining
    n_repeat = int(repeat_mask(customers).sum())
    return ClvFigures(
        n_customers=n_customers,
        n_purchases=n_purchases,
        revenue=revenue,
        window_years=window.years,
        revenue_per_customer=_ratio(revenue, n_customers),
        avg_purchase_value=avg_value,
        avg_purchase_frequency=frequency,
        customer_value=avg_value * frequency,
        observed_active_years=observed,
        retention_rate=kept.rate,
        retention=kept,
        n_bought_last_year=n_bought,
        expected_remaining_years=remaining,
        customer_years=customer_years,
        historic_clv=avg_value * frequency * customer_years,
        lifespan_years=median_lifespan(customers).median_years,
        n_repeat_customers=n_repeat,
        repeat_purchase_rate=_ratio(n_repeat, n_customers),
    )


def customer_periods_sql(
    dialect: Dialect, table: str, window: ObservationWindow, index_sql: str
) -> str:
    """SQL of one row per customer and period of ``index_sql`` within ``window``.

    Columns ``customer_id``, ``k`` (the period), ``revenue`` (net, as the exact
    decimal of :meth:`~clvreport.engine.Dialect.decimal`, so sums of it equal the
    rows' sums to the last bit once cast to DOUBLE) and ``active`` (1 when the
    customer bought in the period, 0 when they only returned). The yearly flows
    and the cohort cells are sums over these groups.

    Examples
    --------
    >>> from clvreport.engine import DUCKDB
    >>> w = ObservationWindow(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    >>> "GROUP BY customer_id, month(order_date)" in customer_periods_sql(
    ...     DUCKDB, "tx", w, "month(order_date)")
    True
    """
    return f"""
            SELECT customer_id, {index_sql} AS k,
                SUM({dialect.decimal("amount")}) AS revenue,
                MAX(CASE WHEN is_return THEN 0 ELSE 1 END) AS active
            FROM {quote_identifier(table)}
            WHERE {window.sql_filter(dialect)}
            GROUP BY customer_id, {index_sql}
        """


def _period_flows(
    engine: Engine, table: str, window: ObservationWindow, index_sql: str, *, counts_back: bool
) -> pd.DataFrame:
    """Revenue, new and retained customers per period of ``index_sql``, indexed by period.

    ``counts_back``: the index counts periods back from the window's end (0 =
    the last), so a customer's first period is the largest index and the
    period before ``k`` is ``k + 1``; otherwise it counts forward.
    """
    first, before = ("MAX", "+") if counts_back else ("MIN", "-")
    # everything reads the groups by customer and period, not the rows again: at 100M
    # transactions the rows were read three times and joined once
    sql = f"""
        WITH per AS ({customer_periods_sql(engine.dialect, table, window, index_sql)}),
        firsts AS (
            SELECT customer_id, {first}(k) AS first_k FROM per WHERE active = 1
            GROUP BY customer_id
        ),
        flows AS (
            SELECT p.k,
                CAST(SUM(p.revenue) AS DOUBLE) AS revenue,
                CAST(SUM(CASE WHEN p.k = f.first_k THEN p.revenue ELSE 0 END) AS DOUBLE)
                    AS revenue_new,
                CAST(SUM(p.active) AS BIGINT) AS customers,
                SUM(CASE WHEN p.active = 1 AND p.k = f.first_k THEN 1 ELSE 0 END)
                    AS new_customers
            FROM per p LEFT JOIN firsts f ON p.customer_id = f.customer_id
            GROUP BY p.k
        ),
        retained AS (
            SELECT cur.k, COUNT(*) AS retained_customers
            FROM per cur JOIN per prev
                ON cur.customer_id = prev.customer_id AND prev.k = cur.k {before} 1
            WHERE cur.active = 1 AND prev.active = 1
            GROUP BY cur.k
        )
        SELECT r.k, r.revenue, r.revenue_new, r.customers, r.new_customers,
            t.retained_customers
        FROM flows r
        LEFT JOIN retained t ON r.k = t.k
    """
    return engine.query(sql).set_index("k")


def years_table(
    engine: Engine,
    table: str,
    window: ObservationWindow,
    *,
    grace_days: int = FULL_YEAR_GRACE_DAYS,
) -> pd.DataFrame:
    """Customers, retention and revenue per year (twelve months back from the window end).

    The years are those of :mod:`clvreport.definitions`; a year's retention is
    the share of the previous year's customers who bought again in it, given
    only when both years are full years (the definition of
    :func:`clvreport.definitions.retention`, so the last row's rate is the
    report's retention rate).

    Parameters
    ----------
    engine
        The data engine holding ``table``.
    table
        Clean transactions table.
    window
        Observation window; rows outside it are ignored. Its end is the report date.
    grace_days
        See :func:`clvreport.definitions.full_years`.

    Returns
    -------
    pandas.DataFrame
        One row per year from the oldest (``k`` largest) to year 0, with columns
        ``k``; ``year_start``, ``year_end`` (datetime64; the oldest year's start
        is the window start when the data begin later); ``full`` (the data cover
        the whole year); ``customers`` (bought in the year); ``new_customers``
        (first purchase in the year); ``returning_customers``;
        ``previous_customers`` (bought in the year before; NaN for the oldest);
        ``retained_customers`` (bought in both); ``retention_rate`` (retained /
        previous, NaN unless both years are full); ``revenue``;
        ``revenue_new``; ``revenue_returning``; ``returning_revenue_share``.

    Examples
    --------
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute(
    ...     "CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "('a', DATE '2020-01-01', 100.0, false), ('a', DATE '2021-07-01', 50.0, false), "
    ...     "('b', DATE '2020-03-01', 200.0, false)) "
    ...     "AS t(customer_id, order_date, amount, is_return)")
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    >>> years_table(engine, "tx", w)[["k", "customers", "retention_rate"]]
       k  customers  retention_rate
    0  1          2             NaN
    1  0          1             0.5
    >>> engine.close()
    """
    rows = _period_flows(
        engine, table, window, year_index_sql("order_date", window.end), counts_back=True
    )
    oldest = year_index(window.start, window.end)
    index = np.arange(oldest, -1, -1)
    rows = rows.reindex(index)
    starts = [max(year_start(window.end, int(k)), window.start) for k in index]
    ends = [year_end(window.end, int(k)) for k in index]
    limit = full_years(window.start, window.end, grace_days=grace_days)
    full = index < limit
    customers = rows["customers"].fillna(0).astype("int64").to_numpy()
    new = rows["new_customers"].fillna(0).astype("int64").to_numpy()
    retained = rows["retained_customers"].fillna(0).astype("int64").to_numpy()
    previous = np.concatenate([[np.nan], customers[:-1]]).astype("float64")
    both_full = full & np.concatenate([[False], full[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(both_full & (previous > 0), retained / previous, np.nan)
    revenue = rows["revenue"].fillna(0.0).to_numpy(dtype="float64")
    revenue_new = rows["revenue_new"].fillna(0.0).to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        returning_share = np.where(revenue != 0, (revenue - revenue_new) / revenue, np.nan)
    return pd.DataFrame(
        {
            "k": index.astype("int64"),
            "year_start": pd.to_datetime(starts),
            "year_end": pd.to_datetime(ends),
            "full": full,
            "customers": customers,
            "new_customers": new,
            "returning_customers": customers - new,
            "previous_customers": previous,
            "retained_customers": retained,
            "retention_rate": rate,
            "revenue": revenue,
            "revenue_new": revenue_new,
            "revenue_returning": revenue - revenue_new,
            "returning_revenue_share": returning_share,
        }
    )


def _period_index_sql(period: Period, column: str = "order_date") -> str:
    if period == "year":
        return f"year({column})"
    if period == "quarter":
        return f"(year({column}) * 4 + quarter({column}) - 1)"
    if period == "month":
        return f"(year({column}) * 12 + month({column}) - 1)"
    raise ValueError(f"period must be 'year', 'quarter' or 'month', not {period!r}")


def _period_index(day: dt.date, period: Period) -> int:
    # The Python twin of _period_index_sql.
    per_year = PERIODS_PER_YEAR[period]
    return day.year * per_year + (day.month - 1) * per_year // 12


def _period_bounds(index: np.ndarray, period: Period) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    per_year = PERIODS_PER_YEAR[period]
    months_per_period = 12 // per_year
    years, within = np.divmod(index, per_year)
    months = within * months_per_period + 1
    starts = pd.to_datetime(pd.DataFrame({"year": years, "month": months, "day": 1}))
    ends = starts + pd.DateOffset(months=months_per_period) - pd.Timedelta(days=1)
    return pd.DatetimeIndex(starts), pd.DatetimeIndex(ends)


def _period_labels(index: np.ndarray, period: Period) -> list[str]:
    per_year = PERIODS_PER_YEAR[period]
    years, within = np.divmod(index, per_year)
    if period == "year":
        return [str(y) for y in years]
    if period == "quarter":
        return [f"{y}-Q{q + 1}" for y, q in zip(years, within, strict=True)]
    return [f"{y}-{m + 1:02d}" for y, m in zip(years, within, strict=True)]


def retention_by_period(
    engine: Engine,
    table: str,
    window: ObservationWindow,
    *,
    period: Period = "year",
) -> pd.DataFrame:
    """Active, new, returning and retained customers and their revenue per period.

    A customer is *active* in a period with at least one purchase (not only a
    return) in it; *new* in the period of their first purchase in the window;
    *returning* when active in a later period. Retention in period p is the
    share of the customers active in p − 1 who are active again in p; churn is
    1 − retention. Revenue (net of returns) is split into that of new
    customers (customers whose first purchase falls in the period) and the
    rest (returning).

    Parameters
    ----------
    engine
        The data engine holding ``table`` (:class:`clvreport.engine.Engine`).
    table
        Clean transactions table.
    window
        Observation window; rows outside it are ignored.
    period
        ``"year"``, ``"quarter"`` or ``"month"`` (calendar periods).

    Returns
    -------
    pandas.DataFrame
        One row per calendar period from the window's first to its last, with
        columns: ``period`` (label ``"2020"``, ``"2020-Q1"`` or ``"2020-01"``);
        ``period_start``, ``period_end`` (datetime64); ``complete`` (the period
        lies wholly inside the window); ``active_customers``;
        ``new_customers``; ``returning_customers``; ``previous_active``
        (active in the period before; NaN for the first period);
        ``retained_customers`` (active in both); ``retention_rate``
        (retained / previous active; NaN when nobody was active before);
        ``churn_rate`` (1 − retention); ``revenue``; ``revenue_new``;
        ``revenue_returning``; ``returning_revenue_share`` (returning / revenue).

    Examples
    --------
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute(
    ...     "CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "('a', DATE '2020-01-01', 100.0, false), ('a', DATE '2021-07-01', 50.0, false), "
    ...     "('b', DATE '2020-03-01', 200.0, false)) "
    ...     "AS t(customer_id, order_date, amount, is_return)")
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    >>> retention_by_period(engine, "tx", w)[["period", "active_customers", "retention_rate"]]
      period  active_customers  retention_rate
    0   2020                 2             NaN
    1   2021                 1             0.5
    >>> engine.close()
    """
    rows = _period_flows(engine, table, window, _period_index_sql(period), counts_back=False)
    index = np.arange(_period_index(window.start, period), _period_index(window.end, period) + 1)
    rows = rows.reindex(index)
    starts, ends = _period_bounds(index, period)
    active = rows["customers"].fillna(0).astype("int64").to_numpy()
    new = rows["new_customers"].fillna(0).astype("int64").to_numpy()
    retained = rows["retained_customers"].fillna(0).astype("int64").to_numpy()
    previous = np.concatenate([[np.nan], active[:-1]]).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        retention = np.where(previous > 0, retained / previous, np.nan)
    revenue = rows["revenue"].fillna(0.0).to_numpy(dtype="float64")
    revenue_new = rows["revenue_new"].fillna(0.0).to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        returning_share = np.where(revenue != 0, (revenue - revenue_new) / revenue, np.nan)
    return pd.DataFrame(
        {
            "period": _period_labels(index, period),
            "period_start": starts,
            "period_end": ends,
            "complete": (starts >= pd.Timestamp(window.start)) & (ends <= pd.Timestamp(window.end)),
            "active_customers": active,
            "new_customers": new,
            "returning_customers": active - new,
            "previous_active": previous,
            "retained_customers": retained,
            "retention_rate": retention,
            "churn_rate": 1.0 - retention,
            "revenue": revenue,
            "revenue_new": revenue_new,
            "revenue_returning": revenue - revenue_new,
            "returning_revenue_share": returning_share,
        }
    )


@dataclass(frozen=True)
class BigSpenderComparison:
    """The source's one-off big spender versus loyal regular.

    Attributes
    ----------
    big_spender_threshold
        Smallest average purchase value that makes a one-time buyer a big spender.
    top_share
        The share of customers (by average purchase value) the threshold cuts off.
    min_purchases
        Purchases that make a customer a loyal regular.
    groups
        One row per group, index ``"big_spender"`` and ``"loyal_regular"``, with
        the :class:`ClvFigures` fields as columns (``n_customers``,
        ``revenue_per_customer``, ``avg_purchase_value``,
        ``avg_purchase_frequency``, ``customer_value``, ``customer_years``,
        ``historic_clv``, ...).
    regular_to_big_spender_revenue
        Historic revenue per loyal regular ÷ revenue per big spender
        (> 1: the regular was worth more over the observed lifespan; NaN if a
        group is empty).
    """

    big_spender_threshold: float
    top_share: float
    min_purchases: int
    groups: pd.DataFrame
    regular_to_big_spender_revenue: float


def big_spender_vs_regular(
    customers: pd.DataFrame,
    window: ObservationWindow,
    *,
    top_share: float = 0.10,
    min_purchases: int = 5,
) -> BigSpenderComparison:
    """Compare one-off big spenders with loyal regulars, as the source does.

    * **One-off big spender**: exactly one purchase, with a purchase value in
      the top ``top_share`` of all customers' average purchase values (at or
      above their ``1 − top_share`` quantile, linear interpolation).
    * **Loyal regular**: at least ``min_purchases`` purchases, whatever they spend.

    The source's point: a regular's modest baskets add up over the lifespan to
    more than the big spender's single order. Compare
    ``groups["revenue_per_customer"]`` (what each was worth so far) and the
    source's figures per group (``customer_value``, ``customer_years``,
    ``historic_clv``, which for both groups includes the revenue already paid).

    Parameters
    ----------
    customers
        Output of :func:`customer_metrics`.
    window
        Its observation window.
    top_share
        Share of highest purchase values that counts as "big", in (0, 1).
    min_purchases
        Purchases that make a loyal regular, ≥ 2.

    Returns
    -------
    BigSpenderComparison

    Examples
    --------
    >>> import pandas as pd
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    >>> customers = pd.DataFrame({
    ...     "n_purchases": [1, 1, 6], "revenue": [20.0, 500.0, 300.0],
    ...     "active_years": [1, 1, 1], "active_now": [1, 0, 1], "active_previous": [0, 0, 0],
    ...     "avg_purchase_value": [20.0, 500.0, 50.0], "lifespan_years": [0.0, 0.0, 0.8]})
    >>> c = big_spender_vs_regular(customers, w, top_share=0.34)
    >>> c.groups.loc[["big_spender", "loyal_regular"], "revenue_per_customer"].tolist()
    [500.0, 300.0]
    """
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must lie between 0 and 1, not {top_share}")
    if min_purchases < 2:
        raise ValueError(f"min_purchases must be at least 2, not {min_purchases}")
    values = customers["avg_purchase_value"].to_numpy(dtype="float64")
    threshold = float(np.quantile(values, 1 - top_share)) if len(values) else math.nan
    big = customers[
        (customers["n_purchases"] == 1) & (customers["avg_purchase_value"] >= threshold)
    ]
    regular = customers[customers["n_purchases"] >= min_purchases]
    groups = pd.DataFrame(
        [clv_figures(big, window).as_dict(), clv_figures(regular, window).as_dict()],
        index=pd.Index(["big_spender", "loyal_regular"], name="group"),
    )
    ratio = _ratio(
        float(groups.loc["loyal_regular", "revenue_per_customer"]),
        float(groups.loc["big_spender", "revenue_per_customer"]),
    )
    return BigSpenderComparison(
        big_spender_threshold=threshold,
        top_share=top_share,
        min_purchases=min_purchases,
        groups=groups,
        regular_to_big_spender_revenue=ratio,
    )


@dataclass(frozen=True)
class RepeatRates:
    """How often new and returning customers buy again within a year.

    Attributes
    ----------
    days
        The follow-up period in days (365 by default).
    new_customers
        Customers whose first purchase lies at least ``days`` before the window
        end, so that their whole follow-up period was observed.
    new_repeat_rate
        Share of them with a second purchase (on a later day) within ``days``
        after the first.
    returning_customers
        Customers whose second purchase lies at least ``days`` before the end.
    returning_repeat_rate
        Share of them with a third purchase within ``days`` after the second.
    """

    days: int
    new_customers: int
    new_repeat_rate: float
    returning_customers: int
    returning_repeat_rate: float


def repeat_rates(
    engine: Engine, table: str, window: ObservationWindow, *, days: int = 365
) -> RepeatRates:
    """The client's own figure for the rule of thumb "returning customers buy again far more often".

    Purchases are counted per purchase day: several orders on one day are one
    occasion. A customer counts only when the whole follow-up period after the
    first (second) purchase lies inside the window.

    Parameters
    ----------
    engine
        The data engine holding ``table``.
    table
        Clean transactions table.
    window
        Observation window; rows outside it are ignored.
    days
        Follow-up period.

    Returns
    -------
    RepeatRates

    Examples
    --------
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute(
    ...     "CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "('a', DATE '2020-01-01', 10.0, false), ('a', DATE '2020-03-01', 10.0, false), "
    ...     "('a', DATE '2020-05-01', 10.0, false), ('b', DATE '2020-02-01', 10.0, false)) "
    ...     "AS t(customer_id, order_date, amount, is_return)")
    >>> r = repeat_rates(engine, "tx", ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 6, 30)))
    >>> r.new_customers, r.new_repeat_rate, r.returning_customers, r.returning_repeat_rate
    (2, 0.5, 1, 1.0)
    >>> engine.close()
    """
    dialect = engine.dialect
    end = dialect.date(window.end)
    query = f"""
        WITH days AS (
            SELECT DISTINCT customer_id, order_date FROM {quote_identifier(table)}
            WHERE NOT is_return AND {window.sql_filter(dialect)}
        ),
        -- the first three purchase days of each customer in one aggregation
        firsts AS (
            SELECT {dialect.smallest("order_date", 3)} AS d FROM days GROUP BY customer_id
        ),
        named AS (
            SELECT {dialect.item("d", 1)} AS d1, {dialect.item("d", 2)} AS d2,
                {dialect.item("d", 3)} AS d3
            FROM firsts
        ),
        gaps AS (
            SELECT
                {dialect.date_diff_days("d1", end)} AS follow_1,
                {dialect.date_diff_days("d1", "d2")} AS gap_12,
                {dialect.date_diff_days("d2", end)} AS follow_2,
                {dialect.date_diff_days("d2", "d3")} AS gap_23
            FROM named
        )
        SELECT
            SUM(CASE WHEN follow_1 >= {days} THEN 1 ELSE 0 END) AS new_customers,
            SUM(CASE WHEN follow_1 >= {days} AND gap_12 <= {days} THEN 1 ELSE 0 END) AS new_again,
            SUM(CASE WHEN follow_2 >= {days} THEN 1 ELSE 0 END) AS returning_customers,
            SUM(CASE WHEN follow_2 >= {days} AND gap_23 <= {days} THEN 1 ELSE 0 END)
                AS returning_again
        FROM gaps
    """
    row = engine.query(query).fillna(0).iloc[0]
    new, returning = int(row["new_customers"]), int(row["returning_customers"])
    return RepeatRates(
        days=days,
        new_customers=new,
        new_repeat_rate=_ratio(float(row["new_again"]), new),
        returning_customers=returning,
        returning_repeat_rate=_ratio(float(row["returning_again"]), returning),
    )
