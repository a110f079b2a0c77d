"""Per-customer RFM summary in the standard BTYD form, with a calibration/holdout split.

For each customer whose first purchase falls on or before the calibration end:

frequency
    Number of *repeat purchase days*: days with at least one purchase after the
    first purchase day. Purchases on the same day are merged into one.
recency (t_x)
    Time from the first to the last purchase day in the calibration period
    (0 when ``frequency`` is 0).
T
    Time from the first purchase to the end of the calibration period.
monetary_value
    Mean spend per repeat purchase day: the net amount of every transaction
    after the first purchase day (returns on those days, or on days without a
    purchase, netted in) divided by ``frequency``; 0 when ``frequency`` is 0.
    The first purchase is left out, as Fader, Hardie & Lee (2005) prescribe
    for the Gamma-Gamma spend model.
revenue
    Net amount of all the customer's transactions up to the calibration end.
monetary_value_capped
    Only when some customer has an *exceptional* repeat order (far larger
    than both their other orders and the client's median order,
    :mod:`clvreport.ingest.exceptional`): ``monetary_value`` with each such
    order counted as its reference, an ordinary order of the customer. The
    spend model may read it instead (:mod:`clvreport.models.spend_caps`);
    ``revenue`` and ``monetary_value`` keep what customers paid. Whether an
    order is exceptional is judged on the rows up to the calibration end only,
    so a holdout check does not see the holdout. ``attrs["spend_caps"]`` counts
    the orders, customers and amounts.

With an observation end after the calibration end, the holdout columns count
what the same customers did in ``(calibration_end, observation_end]``:
``frequency_holdout`` (purchase days), ``monetary_value_holdout`` (net
amount per holdout purchase day, 0 without one), ``revenue_holdout`` and
``duration_holdout`` (the holdout length), and ``first_holdout_days`` (calendar
days from the calibration end to the first holdout purchase, NaN without one:
the next-purchase windows' check). (lifetimes'
``calibration_and_holdout_data`` averages holdout *rows* instead of purchase
days; here both periods use purchase days.)

Times are in days, weeks (days / 7) or months (days / (365.25 / 12)).

The aggregation is one SQL query (:func:`summary_sql`) built with the
engine's dialect, so DuckDB and Spark run the same text; only one row per
customer comes back to pandas.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers"
the easy way: an alternative to the Pareto/NBD model. *Marketing Science*
24(2), 275-284.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clvreport.dates import parse_date
from clvreport.engine import DUCKDB, Dialect, rows_in_range
from clvreport.errors import DataError
from clvreport.ingest import Transactions
from clvreport.ingest.exceptional import ExceptionalOrderRule
from clvreport.models.spend_caps import CAPPED_COLUMN, SUMMARY_ATTR
from clvreport.models.units import DAYS_PER_UNIT, TimeUnit

__all__ = [
    "SummaryPeriod",
    "capped_sql",
    "rfm_summaries",
    "rfm_summary",
    "summaries_sql",
    "summary_sql",
    "summary_totals",
]


@dataclass(frozen=True)
class SummaryPeriod:
    """One summary's periods: calibration up to ``calibration_end``, then an optional holdout.

    Attributes
    ----------
    calibration_end
        Last day of the calibration period (inclusive).
    observation_end
        Last day of the holdout period (inclusive), or ``None`` for no holdout.
    exceptional
        The client's rule for exceptional orders: the summary then also has
        ``monetary_value_capped`` (:func:`capped_sql`).
    """

    calibration_end: dt.date
    observation_end: dt.date | None = None
    exceptional: ExceptionalOrderRule | None = None


def summary_sql(
    table: str,
    calibration_end: dt.date,
    observation_end: dt.date | None = None,
    *,
    dialect: Dialect = DUCKDB,
    exceptional: ExceptionalOrderRule | None = None,
) -> str:
    """The SQL computing the per-customer summary, durations in days.

    Parameters
    ----------
    table
        Clean transactions table (``customer_id, order_date, amount, is_return``).
    calibration_end
        Last day of the calibration period (inclusive).
    observation_end
        Last day of the holdout period (inclusive), or ``None`` for no holdout.
    dialect
        The engine's SQL dialect.
    exceptional
        The client's rule for exceptional orders: with it the query also
        returns ``monetary_value_capped``, the mean repeat spend with every
        exceptional order counted as its reference, an ordinary order of the
        customer (:func:`capped_sql`).

    Returns
    -------
    str
        A query returning ``customer_id, frequency, recency_days, age_days,
        monetary_value, revenue`` (and ``frequency_holdout,
        monetary_value_holdout, revenue_holdout, first_holdout_days`` with a
        holdout), ordered by ``customer_id``.

    Examples
    --------
    >>> "GROUP BY customer_id, order_date" in summary_sql("tx", dt.date(2020, 1, 1))
    True
    """
    period = SummaryPeriod(calibration_end, observation_end, exceptional)
    return summaries_sql(table, [period], dialect=dialect, suffixes=False)


def summaries_sql(
    table: str,
    periods: Sequence[SummaryPeriod],
    *,
    dialect: Dialect = DUCKDB,
    suffixes: bool = True,
) -> str:
    """The SQL computing several per-customer summaries in one pass over the rows.

    The rows are grouped once by customer and day, then once by customer:
    each summary's figures are conditional aggregates of those days (the
    report's full-history and calibration summaries share the grouping, the
    costly part at 100 million rows).

    A customer's repeat revenue is their revenue after the first purchase
    day: their revenue, less that day's, less any returns on days before it
    (read again for the few customers who have such days). The amounts are
    summed as exact decimals, so every figure equals that of a separate query
    to the last bit.

    Parameters
    ----------
    table
        Clean transactions table (``customer_id, order_date, amount, is_return``).
    periods
        The summaries; the first must have the latest calibration end (its
        customers include every other summary's).
    dialect
        The engine's SQL dialect.
    suffixes
        Name summary ``i``'s columns ``<column>_<i>`` (``frequency_0``...), with
        ``in_<i>`` (the customer bought in its calibration period); ``False``
        (one summary only): the plain names of :func:`summary_sql`.

    Returns
    -------
    str
        One row per customer with a purchase up to the first summary's
        calibration end, ordered by ``customer_id``.

    Examples
    --------
    >>> sql = summaries_sql("tx", [SummaryPeriod(dt.date(2020, 12, 31)),
    ...                           SummaryPeriod(dt.date(2020, 6, 30), dt.date(2020, 12, 31))])
    >>> sql.count("GROUP BY customer_id, order_date"), "frequency_holdout_1" in sql
    (1, True)
    """
    if not periods:
        raise ValueError("summaries_sql needs at least one period")
    if not suffixes and len(periods) > 1:
        raise ValueError("several summaries need suffixed column names")
    later = [p for p in periods[1:] if p.calibration_end > periods[0].calibration_end]
    if later:
        raise ValueError("the first summary must have the latest calibration end")
    top = max(p.observation_end or p.calibration_end for p in periods)
    decimal = dialect.decimal

    def name(column: str, i: int) -> str:
        return f"{column}_{i}" if suffixes else column

    aggregates, early, early_flags, selects, joins, capped_ctes = [], [], [], [], [], []
    for i, period in enumerate(periods):
        cal = dialect.date(period.calibration_end)
        bought = f"is_purchase_day = 1 AND order_date <= {cal}"
        aggregates += [
            f"MIN(CASE WHEN {bought} THEN order_date END) AS first_{i}",
            f"MAX(CASE WHEN {bought} THEN order_date END) AS last_{i}",
            f"SUM(CASE WHEN {bought} THEN 1 ELSE 0 END) AS days_{i}",
            f"{dialect.arg_min(decimal('amount'), f'CASE WHEN {bought} THEN order_date END')}"
            f" AS first_amount_{i}",
            f"MIN(CASE WHEN is_purchase_day = 0 AND order_date <= {cal} THEN order_date END)"
            f" AS first_return_day_{i}",
            f"SUM(CASE WHEN order_date <= {cal} THEN {decimal('amount')} ELSE 0 END)"
            f" AS revenue_{i}",
        ]
        # returns on days before the first purchase: not repeat revenue
        early_flags.append(f"first_return_day_{i} < first_{i}")
        early.append(
            f"SUM(CASE WHEN t.order_date < p.first_{i} THEN {decimal('t.amount')} ELSE 0 END)"
            f" AS early_{i}"
        )
        repeat = f"(c.revenue_{i} - c.first_amount_{i} - COALESCE(e.early_{i}, 0))"
        frequency = f"(c.days_{i} - 1)"
        columns = [
            f"CAST({frequency} AS BIGINT) AS {name('frequency', i)}",
            f"{dialect.date_diff_days(f'c.first_{i}', f'c.last_{i}')} AS {name('recency_days', i)}",
            f"{dialect.date_diff_days(f'c.first_{i}', cal)} AS {name('age_days', i)}",
            f"CASE WHEN {frequency} > 0 THEN CAST({repeat} AS DOUBLE) / {frequency} ELSE 0 END"
            f" AS {name('monetary_value', i)}",
        ]
        if period.exceptional is not None:
            capped_ctes.append(
                f"capped_{i} AS (\n"
                f"{capped_sql(table, period.calibration_end, period.exceptional, dialect=dialect)}"
                "\n)"
            )
            joins.append(f"LEFT JOIN capped_{i} k_{i} ON c.customer_id = k_{i}.customer_id")
            columns.append(
                f"CASE WHEN {frequency} > 0 THEN (CAST({repeat} AS DOUBLE) - "
                f"COALESCE(k_{i}.reduction, 0)) / {frequency} ELSE 0 END"
                f" AS {name('monetary_value_capped', i)}"
            )
        columns.append(f"CAST(c.revenue_{i} AS DOUBLE) AS {name('revenue', i)}")
        if period.observation_end is not None:
            obs = dialect.date(period.observation_end)
            held = f"order_date > {cal} AND order_date <= {obs}"
            aggregates += [
                f"SUM(CASE WHEN {held} AND is_purchase_day = 1 THEN 1 ELSE 0 END)"
                f" AS frequency_holdout_{i}",
                f"MIN(CASE WHEN {held} AND is_purchase_day = 1 THEN order_date END)"
                f" AS first_holdout_{i}",
                f"SUM(CASE WHEN {held} THEN {decimal('amount')} ELSE 0 END) AS revenue_holdout_{i}",
            ]
            columns += [
                f"CAST(c.frequency_holdout_{i} AS BIGINT) AS {name('frequency_holdout', i)}",
                f"{dialect.date_diff_days(cal, f'c.first_holdout_{i}')}"
                f" AS {name('first_holdout_days', i)}",
                f"CASE WHEN c.frequency_holdout_{i} > 0 THEN CAST(c.revenue_holdout_{i} AS DOUBLE)"
                f" / c.frequency_holdout_{i} ELSE 0 END AS {name('monetary_value_holdout', i)}",
                f"CAST(c.revenue_holdout_{i} AS DOUBLE) AS {name('revenue_holdout', i)}",
            ]
        if suffixes:
            columns.append(f"c.first_{i} IS NOT NULL AS in_{i}")
        selects += columns
    nl = ",\n    "
    extra = "".join(f",\n{cte}" for cte in capped_ctes)
    return f"""WITH days AS (
    SELECT customer_id, order_date,
           MAX(CASE WHEN is_return THEN 0 ELSE 1 END) AS is_purchase_day,
           {dialect.exact_sum("amount")} AS amount
    FROM {table}
    WHERE order_date <= {dialect.date(top)}
    GROUP BY customer_id, order_date
),
customers AS (
    SELECT customer_id,
    {nl.join(aggregates)}
    FROM days
    GROUP BY customer_id
),
early AS (
    SELECT t.customer_id,
    {nl.join(early)}
    FROM {table} t
    JOIN (SELECT * FROM customers WHERE {" OR ".join(early_flags)}) p
        ON t.customer_id = p.customer_id
    WHERE t.is_return
    GROUP BY t.customer_id
){extra}
SELECT c.customer_id,
    {nl.join(selects)}
FROM customers c
LEFT JOIN early e ON c.customer_id = e.customer_id
{chr(10).join(joins)}
WHERE c.first_0 IS NOT NULL
ORDER BY c.customer_id"""


def capped_sql(
    table: str,
    calibration_end: dt.date,
    exceptional: ExceptionalOrderRule,
    *,
    dialect: Dialect = DUCKDB,
) -> str:
    """The customers with an exceptional repeat order up to the calibration end, and by how much.

    Whether an order is exceptional is judged on the rows up to the
    calibration end only: a holdout check of the capped spend model must not
    know the holdout. Only the few customers with an order above ``F × M``
    are read (:meth:`~clvreport.ingest.exceptional.ExceptionalOrderRule.exceptional_sql`).

    Parameters
    ----------
    table
        Clean transactions table (``customer_id, order_date, amount, is_return``).
    calibration_end
        Last day of the period (inclusive).
    exceptional
        The client's rule for exceptional orders.
    dialect
        The engine's SQL dialect.

    Returns
    -------
    str
        A query returning ``customer_id``, ``reduction`` (by how much their
        repeat revenue is lower when each exceptional order counts as its
        reference), ``capped_orders`` and ``capped_amount`` (what those orders
        amount to); one row per customer with an exceptional order after
        their first purchase day.

    Examples
    --------
    >>> rule = ExceptionalOrderRule(20.0, 0.5, 10.0, 100)
    >>> "capped_orders" in capped_sql("tx", dt.date(2020, 1, 1), rule)
    True
    """
    cal = dialect.date(calibration_end)
    period = f"order_date <= {cal}"
    found = exceptional.exceptional_sql(table, period, dialect)
    # the first purchase day of the customers who can have one (as the summary's)
    first = (
        f"SELECT customer_id AS _first_customer, MIN(order_date) AS _first_purchase "
        f"FROM {table} WHERE {period} AND NOT is_return AND customer_id IN "
        f"(SELECT customer_id FROM {table} WHERE {exceptional.candidate_condition(period)}) "
        "GROUP BY customer_id"
    )
    return f"""    SELECT e.customer_id,
           {dialect.exact_sum("e.amount - e._cap")} AS reduction,
           COUNT(*) AS capped_orders,
           {dialect.exact_sum("e.amount")} AS capped_amount
    FROM ({found}) e
    JOIN ({first}) f ON e.customer_id = f._first_customer
    WHERE e.order_date > f._first_purchase
    GROUP BY e.customer_id"""


def _check_period(
    transactions: Transactions, calibration_end: dt.date, observation_end: dt.date | None
) -> None:
    if calibration_end < transactions.first_date:
        raise DataError(
            f"calibration end {calibration_end} is before the first transaction "
            f"({transactions.first_date}): no customer would be in the summary",
            hint="choose a calibration end between the first transaction and the as-of date",
        )
    if calibration_end > transactions.as_of:
        raise DataError(
            f"calibration end {calibration_end} is after the as-of date {transactions.as_of}",
            hint="choose a calibration end on or before the as-of date",
        )
    # A period that ends after the last transaction but before the as-of date makes
    # every customer look as if they stopped buying (the fit then runs towards a
    # degenerate optimum for minutes); only the as-of date itself may lie beyond the
    # last transaction, as the report date of a quiet last stretch.
    last = transactions.last_date
    if calibration_end > last and calibration_end != transactions.as_of:
        raise DataError(
            f"calibration end {calibration_end} is after the last transaction ({last}): "
            "customers would look as if they stopped buying",
            hint=f"choose a calibration end on or before {last}",
        )
    if observation_end is not None and calibration_end >= last:
        raise DataError(
            f"calibration end {calibration_end} is not before the last transaction ({last}): "
            "the holdout period would hold no purchases",
            hint=f"choose a calibration end before {last}",
        )
    if observation_end is None:
        return
    if observation_end <= calibration_end:
        raise DataError(
            f"holdout end {observation_end} is not after the calibration end {calibration_end}",
            hint="the holdout period runs from the day after the calibration end to the "
            "holdout end",
        )
    if observation_end > transactions.as_of:
        raise DataError(
            f"holdout end {observation_end} is after the data ends ({transactions.as_of}): "
            "customers would look as if they stopped buying",
            hint=f"choose a holdout end on or before {transactions.as_of}",
        )
    if observation_end > last and observation_end != transactions.as_of:
        raise DataError(
            f"holdout end {observation_end} is after the last transaction ({last}): "
            "customers would look as if they stopped buying",
            hint=f"choose a holdout end on or before {last}",
        )


def rfm_summary(
    transactions: Transactions,
    *,
    calibration_end: dt.date | str | None = None,
    observation_end: dt.date | str | None = None,
    time_unit: TimeUnit = "weeks",
) -> pd.DataFrame:
    """Per-customer frequency, recency, age and mean repeat spend (BTYD form).

    Parameters
    ----------
    transactions
        Clean transactions from :func:`clvreport.ingest.read_transactions`.
    calibration_end
        Last day of the calibration period (inclusive); default: the as-of date.
        Customers whose first purchase is later are not in the summary.
    observation_end
        Last day of the holdout period (inclusive); ``None`` for no holdout.
    time_unit
        ``"days"``, ``"weeks"`` (days / 7) or ``"months"`` (days / (365.25 / 12)).

    Returns
    -------
    pandas.DataFrame
        One row per customer, ordered by ``customer_id``: ``customer_id``,
        ``frequency`` (int), ``recency``, ``T``, ``monetary_value``, ``revenue``;
        with a holdout also ``frequency_holdout`` (int),
        ``monetary_value_holdout``, ``revenue_holdout``, ``duration_holdout`` and
        ``first_holdout_days``; ``monetary_value_capped`` when an exceptional
        repeat order was capped.
        ``attrs`` holds ``time_unit``, ``calibration_end`` and
        ``observation_end``, and ``spend_caps`` (``orders, customers, amount,
        counted_as, rule``) when the transactions carry the rule for
        exceptional orders.

    Raises
    ------
    DataError
        For periods outside the data or a holdout end not after the calibration end.

    Examples
    --------
    >>> summary = rfm_summary(tx, calibration_end="1997-09-30",  # doctest: +SKIP
    ...                       observation_end="1998-06-30")
    >>> summary_totals(summary)["repeat_buyers"]  # doctest: +SKIP
    946
    """
    cal = parse_date(calibration_end, "calibration end", error=DataError) or transactions.as_of
    obs = parse_date(observation_end, "holdout end", error=DataError)
    return rfm_summaries(transactions, [(cal, obs)], time_unit=time_unit)[0]


def rfm_summaries(
    transactions: Transactions,
    periods: Sequence[tuple[dt.date, dt.date | None]],
    *,
    time_unit: TimeUnit = "weeks",
) -> list[pd.DataFrame]:
    """Several summaries of :func:`rfm_summary` from one pass over the transactions.

    Parameters
    ----------
    transactions
        Clean transactions from :func:`clvreport.ingest.read_transactions`.
    periods
        ``(calibration_end, observation_end)`` of each summary
        (``observation_end`` ``None`` for no holdout); the first must have the
        latest calibration end.
    time_unit
        ``"days"``, ``"weeks"`` or ``"months"``.

    Returns
    -------
    list of pandas.DataFrame
        One table per period, each as :func:`rfm_summary` returns it.

    Raises
    ------
    DataError
        For periods outside the data or a holdout end not after the calibration end.

    Examples
    --------
    >>> full, calibration = rfm_summaries(  # doctest: +SKIP
    ...     tx, [(tx.as_of, None), (dt.date(1997, 9, 30), tx.as_of)])
    """
    if time_unit not in get_args(TimeUnit):
        raise DataError(f"unknown time unit {time_unit!r}", hint="use one of days, weeks, months")
    # the periods with a holdout first: their messages name both ends
    for cal, obs in sorted(periods, key=lambda period: period[1] is None):
        _check_period(transactions, cal, obs)
    engine = transactions.engine
    rule = getattr(transactions, "exceptional_rule", None)
    capped: list[pd.DataFrame | None] = [
        # a small query first: most exports have nothing to cap
        engine.query(capped_sql(transactions.table, cal, rule, dialect=engine.dialect))
        if rule is not None
        else None
        for cal, _ in periods
    ]
    specs = [
        SummaryPeriod(cal, obs, rule if found is not None and len(found) else None)
        for (cal, obs), found in zip(periods, capped, strict=True)
    ]
    several = len(periods) > 1
    # One query per range of customers (large tables: the aggregates then fit in memory),
    # each ordered by customer: together they are in order. Through Arrow: customer ids
    # become pandas' Arrow-backed strings without Python objects.
    table = transactions.table
    result = pa.concat_tables(
        engine.query_arrow(
            summaries_sql(
                rows_in_range(table, condition),
                specs,
                dialect=engine.dialect,
                suffixes=several,
            )
        )
        for condition in engine.customer_ranges(table)
    )
    out = []
    for i, spec in enumerate(specs):
        part = result
        if several:  # summary i's columns, its customers (through Arrow: one copy at most)
            split = (c.rsplit("_", 1) for c in result.column_names if c != "customer_id")
            names = {f"{base}_{n}": base for base, n in split if n == str(i)}
            part = result.select(["customer_id", *names])
            part = part.rename_columns(["customer_id", *names.values()])
            bought = part.column("in")
            part = part.drop_columns(["in"])
            if not pc.all(bought).as_py():
                part = part.filter(bought)
        out.append(_summary_frame(part.to_pandas(), spec, capped[i], rule, time_unit))
        del part
    return out


def _summary_frame(
    frame: pd.DataFrame,
    spec: SummaryPeriod,
    capped: pd.DataFrame | None,
    rule: ExceptionalOrderRule | None,
    time_unit: TimeUnit,
) -> pd.DataFrame:
    """One summary's table from its query columns (see :func:`rfm_summary`)."""
    cal, obs = spec.calibration_end, spec.observation_end
    per_unit = DAYS_PER_UNIT[time_unit]
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("str"),
            "frequency": frame["frequency"].astype("int64"),
            "recency": frame["recency_days"].astype("float64") / per_unit,
            "T": frame["age_days"].astype("float64") / per_unit,
            "monetary_value": frame["monetary_value"].astype("float64"),
            "revenue": frame["revenue"].astype("float64"),
        }
    )
    if obs is not None:
        out["frequency_holdout"] = frame["frequency_holdout"].astype("int64")
        out["monetary_value_holdout"] = frame["monetary_value_holdout"].astype("float64")
        out["revenue_holdout"] = frame["revenue_holdout"].astype("float64")
        out["duration_holdout"] = (obs - cal).days / per_unit
        out["first_holdout_days"] = frame["first_holdout_days"].astype("float64")
    out.attrs = {
        "time_unit": time_unit,
        "calibration_end": cal.isoformat(),
        "observation_end": obs.isoformat() if obs else None,
    }
    if rule is not None and capped is not None:
        out.attrs[SUMMARY_ATTR] = {
            "orders": int(capped["capped_orders"].sum()),
            "customers": len(capped),
            "amount": round(float(capped["capped_amount"].sum()), 2),
            "counted_as": round(float((capped["capped_amount"] - capped["reduction"]).sum()), 2),
            "rule": rule.to_dict(),
        }
        if len(capped):
            out[CAPPED_COLUMN] = frame[CAPPED_COLUMN].astype("float64")
    return out


def summary_totals(summary: pd.DataFrame) -> dict[str, Any]:
    """Headline counts of a summary: customers, repeat buyers, repeat purchases, revenue.

    Parameters
    ----------
    summary
        A table from :func:`rfm_summary`.

    Returns
    -------
    dict
        ``customers``, ``repeat_buyers`` (frequency > 0),
        ``calibration_repeat_purchases`` (sum of frequency), ``revenue``
        (calibration, net), and with a holdout ``holdout_repeat_purchases``
        and ``holdout_revenue`` (else ``None``); plus the summary's
        ``time_unit``, ``calibration_end`` and ``observation_end``.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 2, 1], "revenue": [10.0, 30.0, 20.0]})
    >>> summary_totals(s)["calibration_repeat_purchases"]
    3
    """
    holdout = "frequency_holdout" in summary
    return {
        "customers": len(summary),
        "repeat_buyers": int((summary["frequency"] > 0).sum()),
        "calibration_repeat_purchases": int(summary["frequency"].sum()),
        "holdout_repeat_purchases": int(summary["frequency_holdout"].sum()) if holdout else None,
        # Sums of amounts in cents are rounded back to cents: 172909.83, not 172909.83000000002.
        "revenue": round(float(summary["revenue"].sum()), 2),
        "holdout_revenue": round(float(summary["revenue_holdout"].sum()), 2) if holdout else None,
        "time_unit": summary.attrs.get("time_unit"),
        "calibration_end": summary.attrs.get("calibration_end"),
        "observation_end": summary.attrs.get("observation_end"),
    }
