r"""The client's own seasonal pattern, as a monthly index and a time change.

Many shops sell far more in December than in July. The purchase models
(BG/NBD, MBG/NBD, Pareto/NBD) assume that a customer buys at a constant rate
while active, so a model fitted on the calendar misses every peak the same way:
a holdout over July to December is under-predicted, one over January to June
over-predicted. This module measures the pattern and takes it out of the clock.

The index
---------
Twelve factors ``s_1 .. s_12`` (January first), one per calendar month, that
say how much faster customers buy in that month than in an average one. They
are estimated from the client's own repeat purchases (purchase days after a
customer's first purchase day, as in :func:`clvreport.rfm.rfm_summary`)
by a Poisson regression over the complete calendar months of the last whole
years before the end of the data:

.. math::

    \log E[R_m] = \log E_m + \text{trend}(m) + \gamma_{month(m)}, \quad
    \textstyle\sum_j \gamma_j = 0,

where ``R_m`` is the number of repeat purchases in month ``m`` and ``E_m`` the
*exposure*: the customer-days of everyone whose first purchase was before the
day (the customers who could buy again then). The trend is a continuous
piecewise-linear function of time with a knot at each year boundary of the
window: customers drop out and new ones arrive, so the rate per acquired
customer drifts within a year, and without the trend that drift would be read
as a pattern (January high and December low in a base that is thinning out).
A continuous trend cannot mimic a pattern that repeats every year (it would
need a jump at every new year), so the month effects stay identified. Only
whole years enter, so every calendar month counts equally often.

When is there an index
----------------------
* ``too_short``: fewer than two whole years (24 complete months after the
  month of the first purchase) of history. One year cannot tell a season from
  a trend or a one-off.
* ``too_few_purchases``: fewer than :data:`MIN_MONTHLY_REPEATS` repeat
  purchases per month on average.
* ``flat``: the month effects are not significant: an F test of the regression
  with month effects against the trend alone, with the overdispersion of the
  monthly counts (the year-to-year variation of the pattern included), at the
  1% level (:data:`SEASON_LEVEL`). Every forecast changes with an index, so it
  takes clear evidence.
* ``off``: switched off (``season: off`` in ``client.yml``).

Otherwise the reason is ``seasonal`` and the index is used.

Shrinkage
---------
The estimated log-factors are shrunk towards 0 (a factor of 1) by empirical
Bayes: with ``v_j`` the sampling variance of month ``j``'s estimate (from the
regression, scaled by the overdispersion) and ``tau^2`` the variance of the
true log-factors (by the method of moments, ``max(0, mean(gamma_j^2) * 12/11
- mean(v_j))``), month ``j`` keeps the share ``tau^2 / (tau^2 + v_j)`` of its
estimate. With thin data (few purchases, a pattern that differs from year to
year) ``v_j`` is large and the factors move towards 1; a clear pattern on
thousands of purchases is kept almost whole. Finally the factors are scaled so
that their mean weighted by the days of the month is 1: a calendar year is
exactly a year of operational time.

The time change
---------------
With the index, *operational time* runs at the speed of the month:
:math:`\tau(d) = \int^d s(u)\,du`, a December day counting ``s_12`` days.
The models are fitted on histories measured in operational time (a
customer's ``recency`` and ``T`` become :math:`\tau(last) - \tau(first)` and
:math:`\tau(end) - \tau(first)`), and a forecast over a calendar window is the
model's expectation over the window's operational length: a six-month holdout
from July to December expects the December peak, a twelve-month horizon is
twelve months of operational time again and keeps its yearly total. A Poisson
process with rate ``lambda s(t)`` is exactly a Poisson process with rate
``lambda`` in operational time, so the models hold as they are. (Pareto/NBD's
dropout, exponential in time, then runs on operational time too: a customer
is a little likelier to leave in a busy month. BG/NBD's dropout happens at
purchases and is unaffected.)

Examples
--------
>>> season = Season(factors=(1.0,) * 11 + (2.0,), reason="seasonal", end=dt.date(2024, 6, 30))
>>> float(season.elapsed(dt.date(2024, 11, 30), 31.0))  # December: 31 days at speed 2
62.0
>>> Season.none("too_short", dt.date(2024, 6, 30)).active
False
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import fdtrc

from clvreport.models.numeric import json_float
from clvreport.models.units import DAYS_PER_MONTH, DAYS_PER_UNIT

__all__ = [
    "MIN_MONTHLY_REPEATS",
    "MIN_YEARS",
    "SEASON_LEVEL",
    "SEASON_REASONS",
    "Season",
    "daily_purchases",
    "estimate_season",
    "season_from_transactions",
]

SEASON_LEVEL = 0.01
"""Significance level of the month effects: above it the pattern counts as flat."""
MIN_YEARS = 2
"""Whole years of complete months needed to estimate a pattern."""
MIN_MONTHLY_REPEATS = 10
"""Fewest repeat purchases per month, on average over the window."""
SEASON_REASONS = ("seasonal", "flat", "too_short", "too_few_purchases", "off")
"""Why there is (``seasonal``) or is no index."""

_MONTH_DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
"""Mean days of each calendar month (365.25 a year)."""
_EPOCH_MONTH = np.datetime64("1970-01", "M")


def _day_numbers(values: Any) -> np.ndarray:
    """Days since 1970-01-01 of dates (date objects, strings, datetime64)."""
    array = np.asarray(pd.to_datetime(np.atleast_1d(values)).values.astype("datetime64[D]"))
    return array.astype(np.int64)


def _day_number(value: dt.date) -> int:
    return (value - dt.date(1970, 1, 1)).days


def _month_index(days: Any) -> Any:
    """Months since January 1970 of days since 1970-01-01 (an int for an int)."""
    months = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]") - _EPOCH_MONTH
    out = months.astype(np.int64)
    return int(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Season:
    """A client's monthly purchase-intensity index, or why there is none.

    Parameters
    ----------
    factors
        Twelve factors (January first) with a day-weighted mean of 1, or
        ``None`` when no index is used.
    reason
        ``seasonal`` (an index), ``flat``, ``too_short``,
        ``too_few_purchases`` or ``off`` (see the module docstring).
    end
        The last day of the history it was estimated on: the start of the
        forecasts made with it (``None`` when not estimated).
    years
        Whole years of monthly counts in the estimate (0 when too short).
    p_value
        Of the F test of the month effects (NaN when not tested).
    estimates
        The twelve factors before shrinkage (``None`` when not estimated).
    shrinkage
        Mean share of the estimated log-factors kept after shrinkage (1: none).
    repeat_purchases
        Repeat purchases in the window the index was estimated on.
    window
        First and last day of that window (ISO dates), or ``None``.

    Examples
    --------
    >>> flat = Season.none("flat", dt.date(2024, 12, 31))
    >>> flat.to_dict()["reason"], flat.factors is None
    ('flat', True)
    """

    factors: tuple[float, ...] | None
    reason: str
    end: dt.date | None = None
    years: int = 0
    p_value: float = math.nan
    estimates: tuple[float, ...] | None = None
    shrinkage: float = math.nan
    repeat_purchases: int = 0
    window: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.factors is not None:
            values = np.asarray(self.factors, dtype=float)
            if values.shape != (12,) or not np.all(np.isfinite(values) & (values > 0)):
                raise ValueError("a season needs twelve positive factors")

    @classmethod
    def none(cls, reason: str, end: dt.date | None = None, **details: Any) -> Season:
        """No index, for ``reason`` (``flat``, ``too_short``, ``too_few_purchases``, ``off``)."""
        return cls(factors=None, reason=reason, end=end, **details)

    @property
    def active(self) -> bool:
        """Whether the index is used (the forecasts follow the pattern)."""
        return self.factors is not None

    # -- operational time ------------------------------------------------------

    def _speed(self) -> np.ndarray:
        return np.asarray(self.factors if self.factors is not None else np.ones(12), dtype=float)

    def cumulative(self, days: np.ndarray, origin: int) -> np.ndarray:
        """Operational days from the end of day ``origin`` to the end of each day.

        Parameters
        ----------
        days, origin
            Days since 1970-01-01 (integers); ``days`` may be before ``origin``
            (negative results).

        Returns
        -------
        numpy.ndarray
            ``tau(day) - tau(origin)`` in days of operational time.
        """
        days = np.asarray(days, dtype=np.int64)
        speed = self._speed()
        both = np.concatenate([days.reshape(-1), [origin]])
        month = both.astype("datetime64[D]").astype("datetime64[M]")
        index = (month - _EPOCH_MONTH).astype(np.int64)
        first, last = int(index.min()), int(index.max())
        months = np.arange(first, last + 2)
        starts = (_EPOCH_MONTH + months).astype("datetime64[D]").astype(np.int64)
        lengths = np.diff(starts).astype(float)
        at_start = np.concatenate([[0.0], np.cumsum(speed[months[:-1] % 12] * lengths)])
        position = index - first
        day_of_month = both - starts[position] + 1
        tau = at_start[position] + speed[index % 12] * day_of_month
        return (tau[:-1] - tau[-1]).reshape(days.shape)

    def elapsed(self, start: dt.date, days: Any) -> np.ndarray:
        """Operational days in ``(start, start + days]`` for calendar ``days`` (floats allowed).

        Parameters
        ----------
        start
            The day the period starts after (its end).
        days
            Calendar days after ``start`` (non-negative, fractions allowed).

        Returns
        -------
        numpy.ndarray
            Operational days, the same shape as ``days``; ``days`` itself
            without an index.
        """
        days = np.asarray(days, dtype=float)
        if not self.active:
            return days.copy()
        whole = np.floor(days).astype(np.int64)
        origin = _day_number(start)
        nodes = np.arange(0, int(whole.max(initial=0)) + 2)
        tau = self.cumulative(origin + nodes, origin)
        return tau[whole] + (days - whole) * (tau[whole + 1] - tau[whole])

    def month_grid(self, start: dt.date, horizon_months: int, time_unit: str) -> np.ndarray:
        """Month boundaries of a forecast from ``start`` in operational time, in ``time_unit``.

        The calendar grid is months of 365.25 / 12 days
        (:meth:`clvreport.models.clv.ClvSettings.month_grid`); each boundary is
        mapped to its operational time after ``start``.

        Parameters
        ----------
        start
            The forecast's first day is the day after.
        horizon_months
            Months ahead.
        time_unit
            The model's time unit.

        Returns
        -------
        numpy.ndarray
            ``horizon_months + 1`` values from 0.
        """
        calendar = np.arange(horizon_months + 1, dtype=float) * DAYS_PER_MONTH
        return self.elapsed(start, calendar) / DAYS_PER_UNIT[time_unit]

    def operational_summary(
        self, summary: pd.DataFrame, end: dt.date | None = None
    ) -> pd.DataFrame:
        """The summary with ``recency``, ``T`` (and ``duration_holdout``) in operational time.

        Parameters
        ----------
        summary
            From :func:`clvreport.rfm.rfm_summary` (times in whole days,
            expressed in ``attrs["time_unit"]``).
        end
            The summary's calibration end; default ``attrs["calibration_end"]``,
            else :attr:`end`.

        Returns
        -------
        pandas.DataFrame
            A copy with converted times; ``attrs["operational_time"]`` is True.
            Without an index, or when already converted, ``summary`` itself.
        """
        if not self.active or summary.attrs.get("operational_time"):
            return summary
        end = end or _attr_date(summary, "calibration_end") or self.end
        if end is None:
            raise ValueError("the summary's calibration end is needed for operational time")
        per_unit = DAYS_PER_UNIT[summary.attrs.get("time_unit") or "weeks"]
        origin = _day_number(end)
        age = np.rint(summary["T"].to_numpy(dtype=float) * per_unit).astype(np.int64)
        recency = np.rint(summary["recency"].to_numpy(dtype=float) * per_unit).astype(np.int64)
        first = origin - age
        # one table of the days from the first purchase to the end (a few thousand values,
        # whatever the number of customers), so the same day has the same time to the bit
        start = int(first.min(initial=origin))
        table = self.cumulative(np.arange(start, origin + 1), origin)
        tau_first, tau_last = table[first - start], table[first + recency - start]
        out = summary.copy(deep=False)
        T = np.maximum(-tau_first, 0.0) / per_unit
        out["T"] = T
        out["recency"] = np.where(
            recency > 0, np.clip((tau_last - tau_first) / per_unit, 0.0, T), 0.0
        )
        observation = _attr_date(summary, "observation_end")
        if "duration_holdout" in out.columns and observation is not None:
            length = float(self.cumulative(np.array([_day_number(observation)]), origin)[0])
            out["duration_holdout"] = length / per_unit
        out.attrs = {**summary.attrs, "operational_time": True}
        return out

    # -- serialisation ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ``factors`` (or ``None``), ``reason`` and how it was estimated.

        Returns
        -------
        dict
            ``factors, reason, end, years, p_value, estimates, shrinkage,
            repeat_purchases, window``.
        """
        return {
            "factors": None if self.factors is None else [float(v) for v in self.factors],
            "reason": self.reason,
            "end": None if self.end is None else self.end.isoformat(),
            "years": self.years,
            "p_value": json_float(self.p_value),
            "estimates": None if self.estimates is None else [float(v) for v in self.estimates],
            "shrinkage": json_float(self.shrinkage),
            "repeat_purchases": self.repeat_purchases,
            "window": None if self.window is None else list(self.window),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Season | None:
        """Rebuild from :meth:`to_dict` output (``None`` stays ``None``)."""
        if not data:
            return None

        def floats(key: str) -> tuple[float, ...] | None:
            values = data.get(key)
            return None if values is None else tuple(float(v) for v in values)

        end = data.get("end")
        window = data.get("window")
        p_value = data.get("p_value")
        shrinkage = data.get("shrinkage")
        return cls(
            factors=floats("factors"),
            reason=str(data.get("reason") or "seasonal"),
            end=None if end is None else dt.date.fromisoformat(str(end)),
            years=int(data.get("years") or 0),
            p_value=math.nan if p_value is None else float(p_value),
            estimates=floats("estimates"),
            shrinkage=math.nan if shrinkage is None else float(shrinkage),
            repeat_purchases=int(data.get("repeat_purchases") or 0),
            window=None if window is None else (str(window[0]), str(window[1])),
        )


def _attr_date(summary: pd.DataFrame, key: str) -> dt.date | None:
    value = summary.attrs.get(key)
    return None if value is None else dt.date.fromisoformat(str(value))


# ---------------------------------------------------------------------------
# estimation
# ---------------------------------------------------------------------------


def _poisson_fit(
    y: np.ndarray, offset: np.ndarray, X: np.ndarray, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Poisson regression by iteratively reweighted least squares.

    Returns ``(beta, inverse information, deviance, Pearson chi-square)``.
    """
    mu = np.maximum(y, 0.5)
    eta = np.log(mu)
    beta = np.zeros(X.shape[1])
    for _ in range(iterations):
        z = eta - offset + (y - mu) / mu
        w = mu
        XtW = X.T * w
        new = np.linalg.solve(XtW @ X, XtW @ z)
        eta = np.clip(offset + X @ new, -700, 700)
        mu = np.exp(eta)
        done = np.max(np.abs(new - beta)) < 1e-10
        beta = new
        if done:
            break
    information = (X.T * mu) @ X
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    deviance = float(2.0 * terms.sum())
    pearson = float(np.sum((y - mu) ** 2 / mu))
    return beta, np.linalg.inv(information), deviance, pearson


def _trend_basis(n_months: int, years: int) -> np.ndarray:
    """Intercept and a continuous linear trend with a knot at each year boundary."""
    t = (np.arange(n_months) + 0.5) / 12.0 - years / 2.0
    columns = [np.ones(n_months), t]
    columns += [np.maximum(t - (k - years / 2.0), 0.0) for k in range(1, years)]
    return np.column_stack(columns)


def _month_basis(month_of_year: np.ndarray) -> np.ndarray:
    """Effect coding of the calendar month: eleven columns, December the reference (-1)."""
    columns = [
        (month_of_year == j).astype(float) - (month_of_year == 11).astype(float) for j in range(11)
    ]
    return np.column_stack(columns)


def estimate_season(
    daily: pd.DataFrame,
    end: dt.date,
    *,
    level: float = SEASON_LEVEL,
    min_years: int = MIN_YEARS,
) -> Season:
    """Estimate the monthly purchase-intensity index from first and repeat purchases per day.

    Parameters
    ----------
    daily
        ``date`` (calendar day), ``births`` (customers whose first purchase
        day it is) and ``repeat_purchases`` (purchase days of earlier
        customers), one row per day with either (days without are 0), e.g.
        from :func:`clvreport.models.tracking.daily_repeat_purchases`. Rows
        after ``end`` are ignored.
    end
        Last day of the history to estimate on (a calibration end or the
        report date).
    level
        Significance level of the month effects.
    min_years
        Whole years of complete months needed.

    Returns
    -------
    Season
        The index (``reason`` ``seasonal``) or why there is none.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", "2024-06-30")
    >>> daily = pd.DataFrame({"date": days, "births": 1, "repeat_purchases": 1})
    >>> estimate_season(daily, dt.date(2024, 6, 30)).reason
    'too_short'
    """
    day = _day_numbers(daily["date"]) if len(daily) else np.zeros(0, dtype=np.int64)
    last_day = _day_number(end)
    keep = day <= last_day
    day = day[keep]
    births = daily["births"].to_numpy(dtype=float)[keep]
    repeats = daily["repeat_purchases"].to_numpy(dtype=float)[keep]
    born = day[births > 0]
    if born.size == 0:
        return Season.none("too_short", end)
    first_day = int(born.min())
    # complete months only: the first purchase's month when it starts on its first day,
    # the end's month when the end is its last day
    first_month = _month_index(first_day)
    if _month_index(first_day - 1) == first_month:
        first_month += 1
    last_month = _month_index(last_day)
    if _month_index(last_day + 1) == last_month:
        last_month -= 1
    years = (last_month - first_month + 1) // 12
    if years < min_years:
        return Season.none("too_short", end, years=max(years, 0))
    start_month = last_month - 12 * years + 1
    window_start = int((_EPOCH_MONTH + start_month).astype("datetime64[D]").astype(np.int64))
    window_end = int((_EPOCH_MONTH + last_month + 1).astype("datetime64[D]").astype(np.int64)) - 1
    # exposure: customers whose first purchase was before the day, summed over the days
    span = np.arange(first_day, window_end + 1)
    births_per_day = np.bincount(day - first_day, weights=births, minlength=span.size)[: span.size]
    exposed = np.concatenate([[0.0], np.cumsum(births_per_day)[:-1]])
    in_window = span >= window_start
    span_month = _month_index(span[in_window]) - start_month
    n_months = 12 * years
    exposure = np.bincount(span_month, weights=exposed[in_window], minlength=n_months)
    inside = (day >= window_start) & (day <= window_end)
    counts = np.bincount(
        _month_index(day[inside]) - start_month, weights=repeats[inside], minlength=n_months
    )
    window = (
        str(np.datetime64(window_start, "D")),
        str(np.datetime64(window_end, "D")),
    )
    total = round(float(counts.sum()))
    details: dict[str, Any] = {"years": years, "repeat_purchases": total, "window": window}
    if total < MIN_MONTHLY_REPEATS * n_months or np.any(exposure <= 0):
        return Season.none("too_few_purchases", end, **details)

    month_of_year = (start_month + np.arange(n_months)) % 12
    trend = _trend_basis(n_months, years)
    X = np.column_stack([trend, _month_basis(month_of_year)])
    offset = np.log(exposure)
    beta, inverse, deviance, pearson = _poisson_fit(counts, offset, X)
    _, _, null_deviance, _ = _poisson_fit(counts, offset, trend)
    residual_df = n_months - X.shape[1]
    dispersion = max(pearson / residual_df, 1.0)
    statistic = max(null_deviance - deviance, 0.0) / 11.0 / dispersion
    p_value = float(fdtrc(11, residual_df, statistic))  # the F distribution's survival

    # the twelve log-factors and their sampling variances
    contrast = np.zeros((12, X.shape[1]))
    k = trend.shape[1]
    contrast[:11, k:] = np.eye(11)
    contrast[11, k:] = -1.0
    gamma = contrast @ beta
    variance = np.diag(contrast @ inverse @ contrast.T) * dispersion
    estimates = _normalised(np.exp(gamma))
    details.update(p_value=p_value, estimates=tuple(float(v) for v in estimates))
    if p_value > level:
        return Season.none("flat", end, **details)
    tau2 = max(float(np.mean(gamma**2)) * 12.0 / 11.0 - float(np.mean(variance)), 0.0)
    kept = tau2 / (tau2 + variance)
    if tau2 <= 0:
        return Season.none("flat", end, **details)
    factors = _normalised(np.exp(kept * gamma))
    return Season(
        factors=tuple(float(v) for v in factors),
        reason="seasonal",
        end=end,
        shrinkage=float(np.mean(kept)),
        **details,
    )


def _normalised(factors: np.ndarray) -> np.ndarray:
    """Factors scaled to a mean of 1 weighted by the days of the month."""
    return factors / (np.sum(factors * _MONTH_DAYS) / _MONTH_DAYS.sum())


def season_from_transactions(
    transactions: Any,
    end: dt.date,
    *,
    daily: pd.DataFrame | None = None,
    enabled: bool = True,
) -> Season:
    """The index of a transaction log up to ``end`` (one query on the engine).

    Parameters
    ----------
    transactions
        :class:`~clvreport.ingest.Transactions`.
    end
        Last day of the history to estimate on.
    daily
        First and repeat purchases per day with a ``date`` column (from
        :func:`daily_purchases`), when already counted up to ``end`` or later.
    enabled
        ``False``: no index, reason ``off``.

    Returns
    -------
    Season

    Examples
    --------
    >>> season = season_from_transactions(tx, dt.date(2024, 6, 30))  # doctest: +SKIP
    >>> season.reason, season.factors  # doctest: +SKIP
    ('seasonal', (0.99, 0.84, ..., 1.63))
    """
    if not enabled:
        return Season.none("off", end)
    if daily is None:
        daily = daily_purchases(transactions, end)
    return estimate_season(daily, end)


def daily_purchases(
    transactions: Any, end: dt.date, counts: pd.DataFrame | None = None
) -> pd.DataFrame:
    """First purchases and repeat purchases per calendar day up to ``end``.

    Parameters
    ----------
    transactions
        :class:`~clvreport.ingest.Transactions`.
    end
        Last day counted; every customer whose first purchase is on or before it.
    counts
        :func:`~clvreport.models.tracking.daily_repeat_purchases` up to ``end``
        (any calibration end: its days count from ``counts.attrs["calibration_end"]``),
        when already counted for the tracking table; its ``repeat_purchases_all``
        are every customer's.

    Returns
    -------
    pandas.DataFrame
        ``date, births, repeat_purchases``.

    Examples
    --------
    >>> daily = daily_purchases(tx, dt.date(2024, 12, 31))  # doctest: +SKIP
    >>> estimate_season(daily, dt.date(2024, 6, 30)).years  # doctest: +SKIP
    2
    """
    from clvreport.models.tracking import daily_repeat_purchases

    frame = daily_repeat_purchases(transactions, end) if counts is None else counts
    origin = pd.Timestamp(frame.attrs.get("calibration_end", end))
    dates = origin + pd.to_timedelta(frame["day"].to_numpy(), unit="D")
    upto = np.asarray(dates <= pd.Timestamp(end))
    return pd.DataFrame(
        {
            "date": dates[upto],
            "births": frame["births"].to_numpy()[upto],
            "repeat_purchases": frame["repeat_purchases_all"].to_numpy()[upto],
        }
    )
