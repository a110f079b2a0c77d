"""The per-customer summary as separate joins: the reference the one-pass SQL is checked against.

This is ``clvreport.rfm.summary_sql`` as it was before the summaries shared one
grouping of the rows (:func:`clvreport.rfm.summaries_sql`): each summary
grouped the rows by customer and day, joined every day with the customer's
first purchase day and summed the later days. Kept here as an independent
construction of the same figures.
"""

from __future__ import annotations

import datetime as dt

from clvreport.engine import DUCKDB, Dialect
from clvreport.ingest.exceptional import ExceptionalOrderRule
from clvreport.rfm import capped_sql

__all__ = ["joined_summary_sql"]


def joined_summary_sql(
    table: str,
    calibration_end: dt.date,
    observation_end: dt.date | None = None,
    *,
    dialect: Dialect = DUCKDB,
    exceptional: ExceptionalOrderRule | None = None,
) -> str:
    """The summary of :func:`clvreport.rfm.summary_sql`, built with joins."""
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
