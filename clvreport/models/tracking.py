"""The classic tracking plot's data: repeat purchases per week, actual against the model.

A model fitted on the calibration period predicts, for a customer who made
the first purchase ``t`` time units ago, ``E[X(t)]`` repeat purchases (the
unconditional expectation, :meth:`~clvreport.models.base.TransactionModel.
expected_purchases_new_customer`). Summed over the customers of the
calibration summary, each from their own first purchase, it gives the
expected cumulative repeat purchases of the whole customer base at any date,
in the calibration period and after it; the difference of consecutive weeks
is the expected weekly number. Fader, Hardie and Lee (2005, Figure 4) plot
these against the actual repeat purchases: a model that tracks the
calibration weeks and keeps tracking in the holdout weeks describes the
customer base; one that drifts away after the calibration end does not.

Definitions are those of :func:`clvreport.rfm.rfm_summary`, so the
numbers add up to the summary's: a *repeat purchase* is a purchase day of a
customer after the customer's first purchase day (several transactions on
one day are one purchase; days with only returns are none), and the
customers are those whose first purchase day is on or before the
calibration end. Weeks end on the calibration end (and every 7 days before
and after it), so the calibration end is a week boundary; the first and the
last week may be shorter.

Output columns (:func:`tracking_table`)
---------------------------------------
``week``
    1, 2, …
``period``
    Last day of the week (``datetime64``).
``days``
    Days in the week (7, fewer for a partial first or last week).
``calibration``
    Whether the week is in the calibration period.
``actual``, ``predicted``
    Repeat purchases in the week.
``actual_cumulative``, ``predicted_cumulative``
    Repeat purchases from the start up to the end of the week.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way. Marketing Science 24(2), 275-284 (Figure 4).

Examples
--------
>>> import datetime as dt
>>> from clvreport.models.bgnbd import BetaGeoModel
>>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
>>> daily = pd.DataFrame({"day": [-20, -10, -3, 5], "births": [10, 5, 0, 0],
...                       "repeat_purchases": [0, 2, 3, 1]})
>>> table = tracking_table(bg, daily, calibration_end=dt.date(2024, 6, 30),
...                        observation_end=dt.date(2024, 7, 14))
>>> table[["week", "days", "calibration", "actual_cumulative"]].to_numpy().tolist()
[[1, 7, True, 0], [2, 7, True, 2], [3, 7, True, 5], [4, 7, False, 6], [5, 7, False, 6]]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from clvreport.dates import parse_date
from clvreport.engine import DUCKDB, Dialect, rows_in_range
from clvreport.errors import DataError
from clvreport.models.base import TransactionModel
from clvreport.models.season import Season
from clvreport.models.units import DAYS_PER_UNIT

__all__ = [
    "TRACKING_COLUMNS",
    "daily_repeat_purchases",
    "tracking_data",
    "tracking_sql",
    "tracking_table",
]

TRACKING_COLUMNS = (
    "week",
    "period",
    "days",
    "calibration",
    "actual",
    "predicted",
    "actual_cumulative",
    "predicted_cumulative",
)
_CHUNK = 2_000_000  # birth days x week ends evaluated at once


def tracking_sql(
    table: str,
    calibration_end: dt.date,
    observation_end: dt.date | None = None,
    *,
    dialect: Dialect = DUCKDB,
) -> str:
    """The SQL counting first purchases and repeat purchases per day.

    Parameters
    ----------
    table
        Clean transactions table (``customer_id, order_date, amount, is_return``).
    calibration_end
        Last day of the calibration period: only customers whose first
        purchase day is on or before it are counted.
    observation_end
        Last day of the holdout period (default: the calibration end).
    dialect
        The engine's SQL dialect.

    Returns
    -------
    str
        A query returning ``day`` (days after the calibration end, so 0 is
        the calibration end and the calibration days are <= 0), ``births``
        (customers whose first purchase day it is, up to the observation end),
        ``repeat_purchases`` (the purchase days after the first of the customers
        whose first purchase is on or before the calibration end) and
        ``repeat_purchases_all`` (those of every customer), one row per day with
        any, ordered by ``day``. One query serves the tracking table (the
        calibration customers) and the seasonal index (every customer).

    Examples
    --------
    >>> "is_return" in tracking_sql("tx", dt.date(1997, 9, 30), dt.date(1998, 6, 30))
    True
    """
    cal = dialect.date(calibration_end)
    end = dialect.date(observation_end or calibration_end)
    return f"""WITH days AS (
    SELECT customer_id, order_date,
           MAX(CASE WHEN is_return THEN 0 ELSE 1 END) AS is_purchase_day
    FROM {table}
    WHERE order_date <= {end}
    GROUP BY customer_id, order_date
),
first_purchases AS (
    SELECT customer_id, MIN(order_date) AS first_purchase
    FROM days
    WHERE is_purchase_day = 1
    GROUP BY customer_id
),
births AS (
    SELECT first_purchase AS order_date, COUNT(*) AS births
    FROM first_purchases
    GROUP BY first_purchase
),
repeats AS (
    SELECT d.order_date,
           SUM(CASE WHEN f.first_purchase <= {cal} THEN 1 ELSE 0 END) AS repeat_purchases,
           COUNT(*) AS repeat_purchases_all
    FROM days d
    JOIN first_purchases f ON d.customer_id = f.customer_id
    WHERE d.is_purchase_day = 1 AND d.order_date > f.first_purchase
    GROUP BY d.order_date
)
SELECT {dialect.date_diff_days(cal, "COALESCE(b.order_date, r.order_date)")} AS day,
       CAST(COALESCE(b.births, 0) AS BIGINT) AS births,
       CAST(COALESCE(r.repeat_purchases, 0) AS BIGINT) AS repeat_purchases,
       CAST(COALESCE(r.repeat_purchases_all, 0) AS BIGINT) AS repeat_purchases_all
FROM births b
FULL OUTER JOIN repeats r ON b.order_date = r.order_date
ORDER BY day"""


def daily_repeat_purchases(
    transactions: Any,
    calibration_end: dt.date | str,
    observation_end: dt.date | str | None = None,
) -> pd.DataFrame:
    """First purchases and repeat purchases per day, counted on the engine.

    Parameters
    ----------
    transactions
        :class:`~clvreport.ingest.Transactions` (its ``engine`` and ``table``).
    calibration_end, observation_end
        As for :func:`clvreport.rfm.rfm_summary`.

    Returns
    -------
    pandas.DataFrame
        ``day`` (days after the calibration end), ``births``,
        ``repeat_purchases``, ``repeat_purchases_all``: see :func:`tracking_sql`.
    """
    cal = parse_date(calibration_end, "calibration end", error=DataError)
    obs = (
        None
        if observation_end is None
        else parse_date(observation_end, "holdout end", error=DataError)
    )
    engine, table = transactions.engine, transactions.table
    # per range of customers (large tables), the counts of each day added up
    parts = [
        engine.query(tracking_sql(rows_in_range(table, range_), cal, obs, dialect=engine.dialect))
        for range_ in engine.customer_ranges(table)
    ]
    frame = parts[0]
    if len(parts) > 1:
        frame = pd.concat(parts).groupby("day", as_index=False).sum().sort_values("day")
    daily = pd.DataFrame(
        {
            "day": frame["day"].astype("int64"),
            "births": frame["births"].astype("int64"),
            "repeat_purchases": frame["repeat_purchases"].astype("int64"),
            "repeat_purchases_all": frame["repeat_purchases_all"].astype("int64"),
        }
    )
    daily.attrs["calibration_end"] = cal.isoformat()
    return daily


def _week_ends(first_day: int, last_day: int, period_days: int) -> np.ndarray:
    """Period ends in days after the calibration end: ..., -7, 0, 7, ..., ``last_day``.

    The first period is the one containing ``first_day`` (<= 0); the last ends
    on ``last_day`` (it is shorter when the holdout is not whole periods).
    """
    k = -first_day // period_days
    before = -period_days * np.arange(k, -1, -1)
    after = np.arange(period_days, last_day, period_days)
    tail = [last_day] if last_day > 0 else []
    return np.concatenate([before, after, tail]).astype("int64")


def tracking_table(
    model: TransactionModel,
    daily: pd.DataFrame,
    *,
    calibration_end: dt.date | str,
    observation_end: dt.date | str | None = None,
    period_days: int = 7,
    season: Season | None = None,
) -> pd.DataFrame:
    """Actual and predicted repeat purchases per week, weekly and cumulative.

    Parameters
    ----------
    model
        Transaction model fitted on the calibration period (its ``time_unit``
        converts days).
    daily
        ``day`` (days after the calibration end), ``births`` (first
        purchases that day) and ``repeat_purchases``, e.g. from
        :func:`daily_repeat_purchases`. Births after the calibration end
        are ignored (those customers are not in the calibration summary).
    calibration_end, observation_end
        Dates of day 0 and of the last day (default: the calibration end).
    period_days
        Length of a period (7: weeks).
    season
        The seasonal index the model was fitted with
        (:class:`~clvreport.models.season.Season`): a customer's age at each
        week's end is then measured in its operational time, so the expected
        purchases follow the pattern. ``None``: calendar time.

    Returns
    -------
    pandas.DataFrame
        The columns of the module docstring (:data:`TRACKING_COLUMNS`);
        ``attrs`` holds ``calibration_end``, ``observation_end``, ``model``,
        ``calibration_weeks`` and ``seasonal``.

    Raises
    ------
    clvreport.errors.DataError
        When nobody made a first purchase by the calibration end.
    """
    cal = parse_date(calibration_end, "calibration end", error=DataError)
    obs = (
        cal
        if observation_end is None
        else parse_date(observation_end, "holdout end", error=DataError)
    )
    last_day = (obs - cal).days
    if last_day < 0:
        raise DataError(
            f"holdout end {obs} is before the calibration end {cal}",
            hint="the holdout period runs from the day after the calibration end",
        )
    day = daily["day"].to_numpy(dtype="int64")
    births = daily["births"].to_numpy(dtype="float64")
    repeats = daily["repeat_purchases"].to_numpy(dtype="float64")
    born = (births > 0) & (day <= 0)
    if not born.any():
        raise DataError(
            f"no customer made a first purchase on or before {cal}",
            hint="choose a later calibration end",
        )
    birth_days, birth_counts = day[born], births[born]
    ends = _week_ends(int(birth_days.min()), last_day, period_days)

    # actual: repeat purchases per period, days (previous end, end]
    in_range = (day >= birth_days.min()) & (day <= last_day)
    index = np.searchsorted(ends, day[in_range], side="left")
    actual = np.bincount(index, weights=repeats[in_range], minlength=len(ends))[: len(ends)]

    # predicted: sum over birth days of births x E[X(time since birth)] at each period end
    per_unit = DAYS_PER_UNIT[model.time_unit]
    seasonal = season is not None and season.active
    clock_ends, clock_births = ends.astype(float), birth_days.astype(float)
    if seasonal:
        assert season is not None
        origin = (cal - dt.date(1970, 1, 1)).days
        clock_ends = season.cumulative(origin + ends, origin)
        clock_births = season.cumulative(origin + birth_days, origin)
    cumulative = np.zeros(len(ends))
    rows = max(1, _CHUNK // max(len(ends), 1))
    for start in range(0, len(birth_days), rows):
        b = birth_days[start : start + rows, None]
        n = birth_counts[start : start + rows, None]
        clock = clock_births[start : start + rows, None]
        age = np.maximum(clock_ends[None, :] - clock, 0) / per_unit
        expected = np.asarray(model.expected_purchases_new_customer(age), dtype=float)
        cumulative += np.sum(np.where(ends[None, :] >= b, n * expected, 0.0), axis=0)

    starts = np.concatenate([[birth_days.min() - 1], ends[:-1]])
    cal_ts = pd.Timestamp(cal)
    table = pd.DataFrame(
        {
            "week": np.arange(1, len(ends) + 1),
            "period": cal_ts + pd.to_timedelta(ends, unit="D"),
            "days": (ends - starts).astype("int64"),
            "calibration": ends <= 0,
            "actual": actual.astype("int64") if np.all(repeats == repeats.round()) else actual,
            "predicted": np.diff(cumulative, prepend=0.0),
            "actual_cumulative": np.cumsum(actual),
            "predicted_cumulative": cumulative,
        }
    )
    if table["actual"].dtype == "int64":
        table["actual_cumulative"] = table["actual_cumulative"].astype("int64")
    table.attrs = {
        "calibration_end": cal.isoformat(),
        "observation_end": obs.isoformat(),
        "model": model.name,
        "calibration_weeks": int((ends <= 0).sum()),
        "seasonal": seasonal,
    }
    return table


def tracking_data(
    transactions: Any,
    model: TransactionModel,
    *,
    calibration_end: dt.date | str,
    observation_end: dt.date | str | None = None,
    period_days: int = 7,
    season: Season | None = None,
    daily: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The tracking table straight from the transactions (one SQL query, then pandas).

    Parameters
    ----------
    transactions
        :class:`~clvreport.ingest.Transactions`.
    model
        Transaction model fitted on the calibration summary of the same
        ``calibration_end``.
    calibration_end, observation_end
        As for :func:`clvreport.rfm.rfm_summary`.
    period_days
        Length of a period (7: weeks).
    season
        The calibration fit's seasonal index (see :func:`tracking_table`).
    daily
        :func:`daily_repeat_purchases` of the same dates, when already counted.

    Returns
    -------
    pandas.DataFrame
        See :func:`tracking_table`; ready for
        :func:`clvreport.plots.plot_tracking` and
        :func:`clvreport.plots.plot_tracking_weekly`.

    Examples
    --------
    >>> table = tracking_data(tx, bgnbd, calibration_end="1997-09-30",  # doctest: +SKIP
    ...                       observation_end="1998-06-30")
    """
    if daily is None:
        daily = daily_repeat_purchases(transactions, calibration_end, observation_end)
    return tracking_table(
        model,
        daily,
        calibration_end=calibration_end,
        observation_end=observation_end,
        period_days=period_days,
        season=season,
    )
