"""Monthly acquisition cohorts: retention and revenue by months since the first purchase.

A customer's *cohort* is the calendar month of their first purchase in the
observation window; *age* is the number of calendar months from that month to
the month of a transaction (0 = the acquisition month). A customer is *active*
at an age with at least one purchase (not only a return) in that month.
Revenue is net of returns.

The aggregation is one SQL query that DuckDB and Spark SQL both run; only one
row per cohort and age comes back.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from clvreport.engine import Engine
from clvreport.metrics import ObservationWindow, customer_periods_sql

__all__ = ["cohort_matrix", "cohort_table"]

_MONTH_INDEX = "(year(order_date) * 12 + month(order_date) - 1)"


def _month_start(index: np.ndarray) -> pd.DatetimeIndex:
    years, months = np.divmod(index, 12)
    return pd.DatetimeIndex(
        pd.to_datetime(pd.DataFrame({"year": years, "month": months + 1, "day": 1}))
    )


def cohort_table(
    engine: Engine,
    table: str,
    window: ObservationWindow,
    *,
    max_age: int | None = None,
) -> pd.DataFrame:
    """Retention share and revenue per monthly acquisition cohort and age.

    Parameters
    ----------
    engine
        The data engine holding ``table`` (:class:`clvreport.engine.Engine`).
    table
        Clean transactions table (``customer_id, order_date, amount, is_return``).
    window
        Observation window; rows outside it are ignored.
    max_age
        Keep ages ``0 … max_age`` only (``None``: all).

    Returns
    -------
    pandas.DataFrame
        One row per cohort and age that the window covers (ages without any
        activity included, with zeros), sorted by cohort and age, with columns:

        ``cohort`` (datetime64, first day of the acquisition month);
        ``age_months`` (0 = acquisition month); ``cohort_size`` (customers
        acquired that month); ``active_customers``; ``retention``
        (active / cohort size; 1 at age 0); ``revenue`` (net);
        ``revenue_per_customer`` (revenue / cohort size);
        ``cumulative_revenue_per_customer`` (sum over ages so far);
        ``complete`` (the month lies wholly inside the window).

    Examples
    --------
    >>> import datetime as dt
    >>> from clvreport.engine import DuckDBEngine
    >>> engine = DuckDBEngine()
    >>> engine.execute(
    ...     "CREATE TABLE tx AS SELECT * FROM (VALUES "
    ...     "('a', DATE '2020-01-05', 100.0, false), ('a', DATE '2020-03-01', 50.0, false), "
    ...     "('b', DATE '2020-01-20', 200.0, false)) "
    ...     "AS t(customer_id, order_date, amount, is_return)")
    >>> w = ObservationWindow(dt.date(2020, 1, 1), dt.date(2020, 3, 31))
    >>> cohort_table(engine, "tx", w)[["age_months", "active_customers", "retention", "revenue"]]
       age_months  active_customers  retention  revenue
    0           0                 2        1.0    300.0
    1           1                 0        0.0      0.0
    2           2                 1        0.5     50.0
    >>> engine.close()
    """
    if max_age is not None and max_age < 0:
        raise ValueError(f"max_age must be 0 or more, not {max_age}")
    # the cells count and sum the groups by customer and month, not the rows (no
    # distinct count over every row)
    per = customer_periods_sql(engine.dialect, table, window, _MONTH_INDEX)
    query = f"""
        WITH per AS ({per}),
        firsts AS (
            SELECT customer_id, MIN(k) AS cohort_m FROM per WHERE active = 1
            GROUP BY customer_id
        ),
        cells AS (
            SELECT f.cohort_m, p.k - f.cohort_m AS age,
                CAST(SUM(p.active) AS BIGINT) AS active_customers,
                CAST(SUM(p.revenue) AS DOUBLE) AS revenue
            FROM per p JOIN firsts f ON p.customer_id = f.customer_id
            WHERE p.k >= f.cohort_m
            GROUP BY f.cohort_m, p.k - f.cohort_m
        ),
        sizes AS (SELECT cohort_m, COUNT(*) AS cohort_size FROM firsts GROUP BY cohort_m)
        SELECT s.cohort_m, s.cohort_size, c.age, c.active_customers, c.revenue
        FROM sizes s LEFT JOIN cells c ON s.cohort_m = c.cohort_m
    """
    rows = engine.query(query)
    columns = [
        "cohort",
        "age_months",
        "cohort_size",
        "active_customers",
        "retention",
        "revenue",
        "revenue_per_customer",
        "cumulative_revenue_per_customer",
        "complete",
    ]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    last_m = window.end.year * 12 + window.end.month - 1
    sizes = rows.groupby("cohort_m")["cohort_size"].first().astype("int64")
    # Every (cohort, age) the window covers, so that months without activity show as 0.
    grid = pd.DataFrame(
        [(c, age) for c in sizes.index for age in range(last_m - int(c) + 1)],
        columns=["cohort_m", "age"],
    )
    if max_age is not None:
        grid = grid[grid["age"] <= max_age]
    cells = rows.dropna(subset=["age"]).astype({"age": "int64"})
    out = grid.merge(cells[["cohort_m", "age", "active_customers", "revenue"]], how="left")
    out["cohort_size"] = out["cohort_m"].map(sizes).astype("int64")
    out["active_customers"] = out["active_customers"].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64")
    out = out.sort_values(["cohort_m", "age"], ignore_index=True)
    calendar_m = (out["cohort_m"] + out["age"]).to_numpy(dtype="int64")
    month_start = _month_start(calendar_m)
    month_end = month_start + pd.offsets.MonthEnd(0)
    out["cohort"] = _month_start(out["cohort_m"].to_numpy(dtype="int64"))
    out["age_months"] = out["age"]
    out["retention"] = out["active_customers"] / out["cohort_size"]
    out["revenue_per_customer"] = out["revenue"] / out["cohort_size"]
    out["cumulative_revenue_per_customer"] = out.groupby("cohort_m")[
        "revenue_per_customer"
    ].cumsum()
    out["complete"] = (month_start >= pd.Timestamp(window.start)) & (
        month_end <= pd.Timestamp(window.end)
    )
    return out[columns]


def cohort_matrix(
    cohorts: pd.DataFrame,
    value: Literal[
        "retention",
        "active_customers",
        "revenue",
        "revenue_per_customer",
        "cumulative_revenue_per_customer",
    ] = "retention",
) -> pd.DataFrame:
    """Cohorts as rows, ages as columns: the shape of a cohort heatmap.

    Parameters
    ----------
    cohorts
        Output of :func:`cohort_table`.
    value
        The column to spread.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (first day of the month), columns ``age_months``
        (0, 1, ...); NaN where the window does not reach that age yet.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"cohort": pd.to_datetime(["2020-01-01"] * 2 + ["2020-02-01"]),
    ...                       "age_months": [0, 1, 0], "retention": [1.0, 0.5, 1.0]})
    >>> cohort_matrix(table).to_numpy().tolist()
    [[1.0, 0.5], [1.0, nan]]
    """
    return cohorts.pivot(index="cohort", columns="age_months", values=value)
