"""Value per acquisition channel and country: which channel brings the customers worth most.

A customer belongs to the channel (or country) of their *first* purchase in the
window: where they were won. :func:`first_purchase_groups` reads that from the
transactions in the engine (one row per customer comes back);
:func:`group_value` totals the per-customer table per group.
"""

from __future__ import annotations

import pandas as pd

from clvreport.definitions import repeat_mask
from clvreport.engine import Engine, quote_identifier
from clvreport.metrics import ObservationWindow

__all__ = ["MIN_GROUP_CUSTOMERS", "first_purchase_groups", "group_value"]

MIN_GROUP_CUSTOMERS = 30
"""Groups with fewer customers are flagged as too small to draw conclusions from."""


def first_purchase_groups(
    engine: Engine, table: str, window: ObservationWindow, column: str
) -> pd.DataFrame:
    """The value of ``column`` on each customer's first purchase in the window.

    Parameters
    ----------
    engine
        The data engine holding ``table``.
    table
        Clean transactions table with ``column`` (e.g. ``channel``, ``country``).
    window
        Observation window; rows outside it are ignored.
    column
        The grouping column.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``group`` (missing values become ``""``). Ties on the
        first day take the smallest value.

    Examples
    --------
    >>> import datetime as dt
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute(
    ...     "CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "('a', DATE '2020-01-05', 10.0, false, 'web'), "
    ...     "('a', DATE '2020-03-01', 10.0, false, 'shop'), "
    ...     "('b', DATE '2020-02-01', 10.0, false, 'shop')) "
    ...     "AS t(customer_id, order_date, amount, is_return, channel)")
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    >>> first_purchase_groups(engine, "tx", w, "channel").values.tolist()
    [['a', 'web'], ['b', 'shop']]
    >>> engine.close()
    """
    name = quote_identifier(column)
    query = f"""
        WITH ranked AS (
            SELECT customer_id, COALESCE(CAST({name} AS {engine.dialect.text_type}), '') AS grp,
                ROW_NUMBER() OVER (
                    PARTITION BY customer_id ORDER BY order_date, {name}
                ) AS n
            FROM {quote_identifier(table)}
            WHERE NOT is_return AND {window.sql_filter(engine.dialect)}
        )
        SELECT customer_id, grp AS "group" FROM ranked WHERE n = 1 ORDER BY customer_id
    """
    if engine.dialect.name == "spark":
        query = query.replace('AS "group"', "AS `group`")
    frame = engine.query(query)
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame.reset_index(drop=True)


def group_value(customers: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Customers, revenue and predicted value per acquisition group, most valuable first.

    Parameters
    ----------
    customers
        Per-customer table with ``customer_id``, ``revenue``, ``n_purchases``
        and, when a model was used, ``clv``.
    groups
        Output of :func:`first_purchase_groups`.

    Returns
    -------
    pandas.DataFrame
        ``group, customers, customer_share, revenue, revenue_per_customer,
        repeat_rate`` (the repeat rate, :func:`clvreport.definitions.repeat_rate`), and with a model
        ``clv`` and ``clv_per_customer``; ``small`` is true for groups with
        fewer than :data:`MIN_GROUP_CUSTOMERS` customers. Sorted by value per
        customer (CLV, else revenue), largest first.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "revenue": [10.0, 30.0, 50.0],
    ...                           "n_purchases": [1, 2, 3], "clv": [1.0, 5.0, 9.0]})
    >>> groups = pd.DataFrame({"customer_id": ["a", "b", "c"], "group": ["web", "shop", "shop"]})
    >>> group_value(customers, groups)[["group", "customers", "clv_per_customer"]].values.tolist()
    [['shop', 2, 7.0], ['web', 1, 1.0]]
    """
    merged = customers.merge(groups, on="customer_id", how="left")
    merged["group"] = merged["group"].fillna("")
    merged["repeat"] = repeat_mask(merged)
    aggregations = {
        "customers": ("customer_id", "size"),
        "revenue": ("revenue", "sum"),
        "repeat_rate": ("repeat", "mean"),
    }
    if "clv" in merged:
        aggregations["clv"] = ("clv", "sum")
    table = merged.groupby("group", sort=False).agg(**aggregations).reset_index()
    table["customer_share"] = table["customers"] / len(merged) if len(merged) else float("nan")
    table["revenue_per_customer"] = table["revenue"] / table["customers"]
    order = "revenue_per_customer"
    if "clv" in table:
        table["clv_per_customer"] = table["clv"] / table["customers"]
        order = "clv_per_customer"
    table["small"] = table["customers"] < MIN_GROUP_CUSTOMERS
    columns = ["group", "customers", "customer_share", "revenue", "revenue_per_customer"]
    columns += ["repeat_rate"] + (["clv", "clv_per_customer"] if "clv" in table else [])
    columns.append("small")
    return table.sort_values(order, ascending=False, ignore_index=True)[columns]
