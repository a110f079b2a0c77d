"""Discrete-time customer summaries: purchase opportunities instead of calendar time.

Some businesses give their customers one chance to buy per period: a charity's
yearly appeal, an annual conference, a quarterly subscription box. The BG/BB
model (:mod:`clvreport.models.bgbb`) describes such customers by three
numbers, computed here from a dated transaction log:

frequency (x)
    Number of *opportunities* (periods after the first) with at least one
    purchase; several purchases in one period count once.
recency (t_x)
    Index ``1..n`` of the last of those periods (0 when ``x`` is 0).
n_periods (n)
    Number of whole opportunities from the customer's first period up to the
    report date. Periods are counted from each customer's *own* first
    purchase period, which is period 0 and not an opportunity; a period
    counts only when it has ended on or before ``as_of`` (a yearly summary as
    of 2001-06-30 stops with 2000). A customer whose first purchase is in the
    last, unfinished period has ``n = 0``.
monetary_value
    Mean net amount per repeat purchase period (the totals of the periods
    counted in ``frequency``), or, for customers without one, of the first
    period.

Periods are calendar years, quarters or months. :func:`compress_discrete`
checks such a summary and merges identical ``(x, t_x, n)`` rows into weighted
rows for fitting.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base
   Analysis in a Discrete-Time Noncontractual Setting. Marketing Science
   29(6), 1086-1108.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from clvreport.errors import DataError
from clvreport.models.compression import RfmData, compress_rfm
from clvreport.models.units import PERIODS_PER_YEAR

__all__ = [
    "DISCRETE_COLUMNS",
    "Period",
    "check_discrete",
    "compress_discrete",
    "discrete_summary",
    "period_index",
]

Period = Literal["year", "quarter", "month"]
DISCRETE_COLUMNS = ["customer_id", "frequency", "recency", "n_periods", "monetary_value"]

ArrayLike = np.ndarray | pd.Series | Sequence[float]


def _check_period(period: str) -> Period:
    if period not in get_args(Period):
        raise DataError(
            f"unknown period {period!r}",
            hint="use 'year', 'quarter' or 'month' (one purchase opportunity per period)",
        )
    return period  # type: ignore[return-value]


def period_index(dates: pd.Series | pd.DatetimeIndex, period: Period) -> np.ndarray:
    """Consecutive integer index of the calendar period of each date.

    Parameters
    ----------
    dates
        Dates (datetime-like, no missing values).
    period
        ``"year"``, ``"quarter"`` or ``"month"``.

    Returns
    -------
    numpy.ndarray
        ``year * k + (period within the year)``, with ``k`` periods a year,
        so that consecutive periods differ by 1.

    Examples
    --------
    >>> dates = pd.Series(pd.to_datetime(["1999-12-31", "2000-01-01", "2000-04-01"]))
    >>> period_index(dates, "quarter").tolist()
    [7999, 8000, 8001]
    """
    period = _check_period(period)
    index = pd.DatetimeIndex(dates)
    per_year = PERIODS_PER_YEAR[period]
    within = (index.month.to_numpy() - 1) * per_year // 12
    return index.year.to_numpy().astype(np.int64) * per_year + within.astype(np.int64)


def _period_end(index: int, period: Period) -> pd.Timestamp:
    per_year = PERIODS_PER_YEAR[period]
    year, within = divmod(int(index), per_year)
    month = within * 12 // per_year + 12 // per_year  # last month of the period
    return pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)


def _as_timestamp(value: Any, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise DataError(f"{what} {value!r} is not a date", hint="give a date such as 2001-12-31")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def discrete_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    period: Period = "year",
    as_of: dt.date | str | pd.Timestamp | None = None,
    return_col: str | None = None,
) -> pd.DataFrame:
    """One row per customer with the discrete-time summary ``(x, t_x, n)`` and spend.

    Parameters
    ----------
    transactions
        Dated transaction log, one row per transaction.
    customer_col, date_col
        Customer id and date columns.
    amount_col
        Amount column (``monetary_value`` is NaN without one). Negative
        amounts are returns: they are netted into their period's total but do
        not make a period a purchase period.
    period
        Length of one purchase opportunity: ``"year"``, ``"quarter"`` or ``"month"``.
    as_of
        Report date: later rows are ignored and only periods that ended on or
        before it are opportunities. Default: the last transaction date.
    return_col
        Boolean column marking returns (instead of the sign of the amount),
        e.g. ``is_return`` of :mod:`clvreport.ingest`.

    Returns
    -------
    pandas.DataFrame
        :data:`DISCRETE_COLUMNS` (``customer_id, frequency, recency,
        n_periods, monetary_value``), sorted by customer, with ``attrs``
        ``period``, ``as_of`` and ``last_period_end`` (end of the last whole
        period, ISO dates).

    Raises
    ------
    clvreport.errors.DataError
        For missing columns, an empty log, unreadable dates or customer ids,
        or an ``as_of`` before every transaction.

    Examples
    --------
    >>> log = pd.DataFrame({
    ...     "donor": ["a", "a", "a", "b"],
    ...     "date": ["1995-03-01", "1996-05-01", "1996-11-01", "1995-07-01"],
    ...     "amount": [20.0, 10.0, 15.0, 50.0]})
    >>> summary = discrete_summary(log, customer_col="donor", amount_col="amount",
    ...                            as_of="1998-12-31")
    >>> summary[["customer_id", "frequency", "recency", "n_periods", "monetary_value"]]
      customer_id  frequency  recency  n_periods  monetary_value
    0           a          1        1          3            25.0
    1           b          0        0          3            50.0
    """
    period = _check_period(period)
    if not isinstance(transactions, pd.DataFrame):
        raise DataError(f"expected a DataFrame of transactions, got {type(transactions).__name__}")
    needed = [customer_col, date_col] + [c for c in (amount_col, return_col) if c is not None]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise DataError(
            f"the transactions lack column(s) {', '.join(map(repr, missing))}",
            hint=f"the columns are {', '.join(map(str, transactions.columns))}",
        )
    if len(transactions) == 0:
        raise DataError("there are no transactions", hint="check the file and the date range")
    customers = transactions[customer_col]
    if customers.isna().any():
        row = transactions.index[int(np.argmax(customers.isna().to_numpy()))]
        raise DataError(f"customer id is missing at row {row!r}")
    dates = pd.to_datetime(transactions[date_col], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    if dates.isna().any():
        row = transactions.index[int(np.argmax(dates.isna().to_numpy()))]
        value = transactions[date_col].loc[row]
        raise DataError(f"date {value!r} at row {row!r} is missing or not a date")
    if amount_col is not None:
        amount = pd.to_numeric(transactions[amount_col], errors="coerce")
        if amount.isna().any():
            row = transactions.index[int(np.argmax(amount.isna().to_numpy()))]
            raise DataError(f"amount at row {row!r} is missing or not a number")
        amount = amount.to_numpy(dtype=float)
    else:
        amount = np.full(len(transactions), np.nan)
    if return_col is not None:
        is_purchase = ~transactions[return_col].fillna(False).to_numpy(dtype=bool)
    else:
        is_purchase = ~(amount < 0)
    stamp = dates.max() if as_of is None else _as_timestamp(as_of, "as_of")
    keep = (dates <= stamp).to_numpy()
    if not keep.any():
        raise DataError(
            f"every transaction is after as_of {stamp.date().isoformat()}",
            hint="choose a report date after the first transaction",
        )
    as_of_period = int(period_index(pd.Series([stamp]), period)[0])
    ended = stamp.normalize() >= _period_end(as_of_period, period)
    last_whole = as_of_period if ended else as_of_period - 1

    frame = pd.DataFrame(
        {
            "customer_id": customers.to_numpy()[keep],
            "period": period_index(dates[keep], period),
            "amount": amount[keep],
            "purchase": is_purchase[keep],
        }
    )
    per_period = frame.groupby(["customer_id", "period"], sort=True).agg(
        total=("amount", "sum"), purchase=("purchase", "any")
    )
    per_period = per_period.reset_index()
    bought = per_period[per_period["purchase"].to_numpy()]
    if bought.empty:
        raise DataError(
            "there are no purchases (only returns) up to as_of",
            hint="check the amount sign and the return column",
        )
    first = bought.groupby("customer_id", sort=True)["period"].min()
    offset = bought["period"].to_numpy() - first.reindex(bought["customer_id"]).to_numpy()
    repeat = (offset >= 1) & (bought["period"].to_numpy() <= last_whole)
    firsts = offset == 0
    ids = bought["customer_id"].to_numpy()
    rep = pd.DataFrame({"customer_id": ids[repeat], "offset": offset[repeat]})
    rep["total"] = bought["total"].to_numpy()[repeat]
    grouped = rep.groupby("customer_id", sort=True)
    x = grouped.size().reindex(first.index, fill_value=0)
    t_x = grouped["offset"].max().reindex(first.index, fill_value=0)
    spend_repeat = grouped["total"].mean().reindex(first.index)
    spend_first = pd.Series(bought["total"].to_numpy()[firsts], index=ids[firsts]).reindex(
        first.index
    )
    monetary = spend_repeat.where(x > 0, spend_first)
    if amount_col is None:
        monetary[:] = np.nan
    n = np.maximum(last_whole - first.to_numpy(), 0)
    out = pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(),
            "frequency": x.to_numpy(dtype=np.int64),
            "recency": t_x.to_numpy(dtype=np.int64),
            "n_periods": n.astype(np.int64),
            "monetary_value": monetary.to_numpy(dtype=float),
        }
    )
    out.attrs.update(
        {
            "period": period,
            "as_of": stamp.date().isoformat(),
            "last_period_end": _period_end(last_whole, period).date().isoformat(),
        }
    )
    return out


def _column(values: ArrayLike, name: str) -> np.ndarray:
    array = pd.to_numeric(pd.Series(np.asarray(values).reshape(-1)), errors="coerce")
    array = array.to_numpy(dtype=float)
    if not np.isfinite(array).all():
        row = int(np.argmax(~np.isfinite(array)))
        raise DataError(f"{name} has a missing or non-numeric value at position {row}")
    return array


def check_discrete(
    frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a discrete-time summary: whole numbers with ``x <= t_x <= n``.

    Parameters
    ----------
    frequency, recency, n_periods
        ``x``, ``t_x`` and ``n`` per customer.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, t_x, n)`` as float arrays.

    Raises
    ------
    clvreport.errors.DataError
        For an impossible row, naming its position and the rule.

    Examples
    --------
    >>> [a.tolist() for a in check_discrete([0, 2], [0, 5], [6, 6])]
    [[0.0, 2.0], [0.0, 5.0], [6.0, 6.0]]
    """
    x = _column(frequency, "frequency")
    t_x = _column(recency, "recency")
    n = _column(n_periods, "n_periods")
    if not (x.size == t_x.size == n.size):
        raise DataError(
            f"frequency, recency and n_periods differ in length ({x.size}, {t_x.size}, {n.size})"
        )
    checks = [
        ((x < 0) | (x != np.floor(x)), "frequency must be a whole number >= 0"),
        ((t_x < 0) | (t_x != np.floor(t_x)), "recency must be a whole number >= 0"),
        ((n < 0) | (n != np.floor(n)), "n_periods must be a whole number >= 0"),
        (t_x > n, "recency (the last purchase period) must be <= n_periods"),
        (x > t_x, "frequency must be <= recency (one purchase counts per period)"),
    ]
    for bad, rule in checks:
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"impossible discrete summary at position {i} "
                f"(frequency={x[i]:g}, recency={t_x[i]:g}, n_periods={n[i]:g}): {rule}",
                hint="recency is the index 1..n of the last period with a repeat purchase, "
                "counted from the first purchase period (period 0)",
            )
    return x, t_x, n


def compress_discrete(
    data: pd.DataFrame | ArrayLike,
    recency: ArrayLike | None = None,
    n_periods: ArrayLike | None = None,
    weights: ArrayLike | str | None = None,
) -> RfmData:
    """Check a discrete-time summary and merge customers with identical ``(x, t_x, n)``.

    Parameters
    ----------
    data
        A summary table with ``frequency``, ``recency`` and ``n_periods`` (or
        ``periods``) columns, or the frequency array itself.
    recency, n_periods
        Arrays, when ``data`` is the frequency array.
    weights
        Number of customers per row: an array, or the name of a column of
        ``data`` (e.g. ``"donors"``). Default 1.

    Returns
    -------
    clvreport.models.compression.RfmData
        Distinct rows with summed weights; its ``T`` field holds ``n``.

    Raises
    ------
    clvreport.errors.DataError
        For missing columns or impossible rows.

    Examples
    --------
    >>> table = pd.DataFrame({"frequency": [0, 1, 1], "recency": [0, 2, 2],
    ...                       "periods": [6, 6, 6], "donors": [10, 4, 1]})
    >>> data = compress_discrete(table, weights="donors")
    >>> data.n_rows, data.n_customers
    (2, 15.0)
    """
    if isinstance(data, pd.DataFrame):
        n_col = "n_periods" if "n_periods" in data.columns else "periods"
        missing = [c for c in ("frequency", "recency", n_col) if c not in data.columns]
        if missing:
            raise DataError(
                f"summary table lacks column(s) {', '.join(missing)}",
                hint="the BG/BB model needs frequency, recency and n_periods (or periods); "
                "build the table with discrete_summary",
            )
        if isinstance(weights, str):
            if weights not in data.columns:
                raise DataError(f"summary table lacks the weight column {weights!r}")
            weights = data[weights]
        frequency, recency, n_periods = data["frequency"], data["recency"], data[n_col]
    else:
        if recency is None or n_periods is None:
            raise DataError("pass a summary DataFrame, or frequency, recency and n_periods arrays")
        if isinstance(weights, str):
            raise DataError("a weight column name needs a summary DataFrame")
        frequency = data
    x, t_x, n = check_discrete(frequency, recency, n_periods)
    if weights is not None:
        w = _column(weights, "weights")
        if w.size != x.size or (w < 0).any():
            raise DataError("weights must be one non-negative number per customer")
        weights = w
    return compress_rfm(x, t_x, n, weights)
