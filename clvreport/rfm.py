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
from typing import Any, get_args

import pandas as pd

from clvreport.dates import parse_date
from clvreport.engine import DUCKDB, Dialect
from clvreport.errors import DataError
from clvreport.ingest import Transactions
from clvreport.ingest.exceptional import ExceptionalOrderRule
from clvreport.models.spend_caps import CAPPED_COLUMN, SUMMARY_ATTR
from clvreport.models.units import DAYS_PER_UNIT, TimeUnit

__all__ = ["capped_sql", "rfm_summary", "summary_sql", "summary_totals"]


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
        monetary_value_holdout, revenue_holdout`` with a holdout), ordered by
        ``customer_id``.

    Examples
    --------
    >>> "GROUP BY customer_id, order_date" in summary_sql("tx", dt.date(2020, 1, 1))
    True
    """
    cal = dialect.date(calibration_end)
    holdout_cte = ""
    holdout_columns = ""
    holdout_join = ""
    if observation_end is not None:
        obs = dialect.date(observation_end)
        holdout_cte = f""",
holdout_days AS (
    SELECT customer_id, order_date,
           MAX(CASE WHEN is_return THEN 0 ELSE 1 END) AS is_purchase_day,
           {dialect.exact_sum("amount")} AS amount
    FROM {table}
    WHERE order_date > {cal} AND order_date <= {obs}
    GROUP BY customer_id, order_date
),
holdout AS (
    SELECT customer_id,
           SUM(is_purchase_day) AS frequency_holdout,
           MIN(CASE WHEN is_purchase_day = 1 THEN order_date END) AS first_holdout,
           {dialect.exact_sum("amount")} AS revenue_holdout
    FROM holdout_days
    GROUP BY customer_id
)"""
        holdout_columns = f""",
       CAST(COALESCE(h.frequency_holdout, 0) AS BIGINT) AS frequency_holdout,
       {dialect.date_diff_days(cal, "h.first_holdout")} AS first_holdout_days,
       CASE WHEN h.frequency_holdout > 0 THEN h.revenue_holdout / h.frequency_holdout
            ELSE 0 END AS monetary_value_holdout,
       COALESCE(h.revenue_holdout, 0) AS revenue_holdout"""
        holdout_join = "LEFT JOIN holdout h ON c.customer_id = h.customer_id"
    capped_ctes = capped_columns = capped_join = ""
    if exceptional is not None:
        capped_ctes = f""",
capped AS (
{capped_sql(table, calibration_end, exceptional, dialect=dialect)}
)"""
        capped_columns = """
       CASE WHEN c.frequency > 0
            THEN (c.repeat_revenue - COALESCE(k.reduction, 0)) / c.frequency ELSE 0 END
           AS monetary_value_capped,"""
        capped_join = "\nLEFT JOIN capped k ON c.customer_id = k.customer_id"
    return f"""WITH calibration_days AS (
    SELECT customer_id, order_date,
           MAX(CASE WHEN is_return THEN 0 ELSE 1 END) AS is_purchase_day,
           {dialect.exact_sum("amount")} AS amount
    FROM {table}
    WHERE order_date <= {cal}
    GROUP BY customer_id, order_date
),
first_purchases AS (
    SELECT customer_id, MIN(order_date) AS first_purchase
    FROM calibration_days
    WHERE is_purchase_day = 1
    GROUP BY customer_id
),
calibration AS (
    SELECT d.customer_id, f.first_purchase,
           SUM(CASE WHEN d.is_purchase_day = 1 AND d.order_date > f.first_purchase
                    THEN 1 ELSE 0 END) AS frequency,
           MAX(CASE WHEN d.is_purchase_day = 1 THEN d.order_date END) AS last_purchase,
           {dialect.exact_sum("CASE WHEN d.order_date > f.first_purchase THEN d.amount ELSE 0 END")}
               AS repeat_revenue,
           {dialect.exact_sum("d.amount")} AS revenue
    FROM calibration_days d
    JOIN first_purchases f ON d.customer_id = f.customer_id
    GROUP BY d.customer_id, f.first_purchase
){holdout_cte}{capped_ctes}
SELECT c.customer_id,
       CAST(c.frequency AS BIGINT) AS frequency,
       {dialect.date_diff_days("c.first_purchase", "c.last_purchase")} AS recency_days,
       {dialect.date_diff_days("c.first_purchase", cal)} AS age_days,
       CASE WHEN c.frequency > 0 THEN c.repeat_revenue / c.frequency ELSE 0 END
           AS monetary_value,{capped_columns}
       c.revenue{holdout_columns}
FROM calibration c
{holdout_join}{capped_join}
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
    if time_unit not in get_args(TimeUnit):
        raise DataError(f"unknown time unit {time_unit!r}", hint="use one of days, weeks, months")
    cal = parse_date(calibration_end, "calibration end", error=DataError) or transactions.as_of
    obs = parse_date(observation_end, "holdout end", error=DataError)
    _check_period(transactions, cal, obs)
    engine = transactions.engine
    rule = getattr(transactions, "exceptional_rule", None)
    capped = None
    if rule is not None:  # a small query first: most exports have nothing to cap
        capped = engine.query(capped_sql(transactions.table, cal, rule, dialect=engine.dialect))
    exceptional = rule if capped is not None and len(capped) else None
    # Through Arrow: customer ids become pandas' Arrow-backed strings without Python objects.
    frame = engine.query_arrow(
        summary_sql(transactions.table, cal, obs, dialect=engine.dialect, exceptional=exceptional)
    ).to_pandas()
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
