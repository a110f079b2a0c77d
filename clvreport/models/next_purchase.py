"""When each customer's next purchase is due, how overdue they are, and how sure that is.

The time to a customer's next purchase
--------------------------------------
For the purchase-count models (BG/NBD, MBG/NBD, Pareto/NBD) the chance of at
least one purchase in the ``t`` time units after the end of the history
``(x, t_x, T)`` is

``F(t) = P(alive at T) * (1 - P(no purchase in (T, T + t] | alive at T))``,

the model's own building blocks (:class:`~clvreport.models.base.TransactionModel`),
dropout included:

* BG/NBD and MBG/NBD: a customer drops out only right after a purchase, so
  without one there is no dropout in between and
  ``P(no purchase in t | alive) = ((alpha + T) / (alpha + T + t))^(r + x)``;
  ``F(t) = P(alive) * (1 - ((alpha + T) / (alpha + T + t))^(r + x))``.
* Pareto/NBD: alive at ``T`` the rates are independent ``Gamma(r + x, alpha + T)``
  and ``Gamma(s, beta + T)``; given them the chance of no purchase in ``t`` is
  ``mu / (lambda + mu) (1 - exp(-(lambda + mu) t)) + exp(-(lambda + mu) t)``
  (die at some ``v < t`` before a purchase, or neither purchase nor die),
  integrated exactly over the two gammas
  (:meth:`~clvreport.models.paretonbd.ParetoNBDModel._probability_no_purchase_if_alive`).

``F`` is *defective*: ``F(inf)`` is the chance the customer ever buys again,
below 1 because of dropout. So the window is defined conditional on a purchase
within a stated horizon ``H`` (the report's horizon, 12 months by default):

* ``p_horizon = F(H)``; ``p_purchase_30d = F(30 days)``, ``p_purchase_90d = F(90 days)``.
* The ``q``-quantile is the first calendar day ``d`` (1 = the day after the
  history ends) with ``F(d) >= q * F(H)``: the distribution of the day of the
  next purchase *given a purchase within the horizon*. The median is ``q = 0.5``,
  the 80% window runs from ``q = 0.1`` to ``q = 0.9``. Given a purchase within
  ``H``, it falls in the window with a chance of (at least) 80%.
* A purchase is *expected* when ``p_horizon >= EXPECTED_SHARE`` (0.5); only
  then are the dates shown (:func:`next_purchase_table`); for the others the
  reason says the chance instead.

The holdout check (:func:`holdout_window_check`) measures exactly that claim:
with ``H`` the holdout's length, the share of the customers who bought in the
holdout whose first holdout purchase fell in their window.

With a seasonal index (:mod:`clvreport.models.season`) the model runs on
operational time; ``clock`` maps calendar days after the history's end to
the model's time, so the days are calendar days.

Overdue
-------
* ``overdue_ratio``: days since the last purchase divided by the customer's
  typical interval, ``recency / frequency`` (first to last purchase over the
  repeat purchases). A one-time buyer has no interval of their own; theirs is
  the median typical interval of the repeat buyers of the same summary
  (what "customers of this shop" do), NaN without repeat buyers.
* ``p_silence`` (computed by :mod:`clvreport.models.scoring`): the chance that a
  customer buying at their own pace is silent this long.
* ``risk_label``: ``"low"`` when a purchase is expected within the horizon
  (``p_horizon >= 0.5``), ``"high"`` below :data:`RISK_HIGH` (0.2), else
  ``"elevated"``. The label is the model's chance of no purchase within the
  horizon, dropout and the customer's own rhythm included; it is used rather
  than ``p_silence`` alone because that one ignores dropout (a one-time buyer
  of long ago has a high chance of silence at the population's slow pace, yet
  rarely comes back). :func:`risk_label_check` compares each label's share of
  holdout buyers with its band.

On CDNOW (23,570 customers, 39-week calibration and holdout, Pareto/NBD) the
first holdout purchase of 80% of the holdout buyers fell in their window (7%
earlier, 13% later), and 73% of the low-risk, 47% of the elevated and 17% of
the high-risk customers bought in the holdout: each label within its band
(``tests/models/test_next_purchase_cdnow.py``).

P(purchase within 90 days) on that holdout is within 5 points of the observed
share in 9 of 10 deciles; the seventh (where the one-time buyers end) is 5.6
points low, and the chances run low wherever they are not tiny (14.8% predicted
against 17.7% observed over all customers). That is the model's bias on these
data, not the computation's:

* the chosen Pareto/NBD expects 12.9% fewer holdout purchases than happened; the
  six lowest deciles (nearly all one-time buyers of the calibration period) made
  1.6 to 2.2 times the holdout purchases it expected for them, the top decile
  0.96 times (by calibration purchases: ``validation.by_frequency``);
* BG/NBD and MBG/NBD calibrate worse on the same holdout (largest gaps 7.3 and
  6.9 points, in the eighth decile; they expect 14.3% and 19.1% fewer purchases);
* on 100,000 customers drawn from the fitted Pareto/NBD with CDNOW's ages the
  same computation is within 1.5 points in every decile
  (``tests/models/test_next_purchase.py``);
* it is not the Christmas quarter alone: on three other CDNOW splits
  (calibration to 1997-06-30, 1997-12-31 and 1998-03-31, holdouts of three to six
  months to 1997-09-30, 1998-06-30 and 1998-06-30; MBG/NBD chosen each time)
  nine deciles of ten are again within 5 points and the tenth is off by 6.0, 6.2
  and 5.5 points (the eighth, seventh and tenth decile).

The chances are therefore reported as the model gives them, not rescaled to the
holdout; ``validation.p_purchase_90d_gap`` (:func:`calibration_gap`) states the
largest gap, and the methodology says when it exceeds
:data:`CALIBRATION_TOLERANCE` and how many fewer (more) purchases the model expected.

BG/BB (donors)
--------------
:func:`next_gift_probabilities` gives the period analogue: the chance that the
next gift falls in each of the coming opportunities, dropout included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clvreport.models.base import TransactionModel
from clvreport.models.compression import distinct_histories
from clvreport.models.season import Season
from clvreport.models.units import DAYS_PER_MONTH, DAYS_PER_UNIT

__all__ = [
    "CALIBRATION_TOLERANCE",
    "EXPECTED_SHARE",
    "NEXT_PURCHASE_COLUMNS",
    "RISK_HIGH",
    "RISK_LABELS",
    "WINDOW",
    "NextPurchaseDays",
    "WindowCheck",
    "calendar_clock",
    "calibration_gap",
    "chosen_window_check",
    "holdout_window_check",
    "next_gift_probabilities",
    "next_gift_window",
    "next_purchase_days",
    "next_purchase_table",
    "overdue",
    "probability_calibration",
    "purchase_within",
    "risk_label_check",
    "risk_labels",
    "validation_entries",
]

WINDOW = 0.8
"""Nominal coverage of the window (from the 10th to the 90th percentile)."""
_QUANTILES = (0.5 * (1 - WINDOW), 0.5, 0.5 * (1 + WINDOW))
EXPECTED_SHARE = 0.5
"""A purchase is expected (dates shown, risk ``"low"``) from this P(purchase within the horizon)."""
RISK_HIGH = 0.2
"""Below this P(purchase within the horizon) the risk is ``"high"``."""
RISK_LABELS = ("low", "elevated", "high")
NEXT_PURCHASE_COLUMNS = [
    "customer_id",
    "next_purchase_median",
    "next_purchase_low",
    "next_purchase_high",
    "p_purchase_30d",
    "p_purchase_90d",
    "p_purchase_horizon",
    "overdue_ratio",
    "typical_interval_days",
    "risk_label",
]
"""Columns of :func:`next_purchase_table` (the dates empty when no purchase is expected)."""
SHORT_DAYS = 30
LONG_DAYS = 90
CALIBRATION_TOLERANCE = 0.05
"""A decile's predicted chance within this of its observed share counts as calibrated."""


def calendar_clock(
    days: int, time_unit: str, season: Season | None = None, start: dt.date | None = None
) -> np.ndarray:
    """The model's time at the end of each calendar day ``0 .. days`` after ``start``.

    Parameters
    ----------
    days
        Last day of the grid.
    time_unit
        The model's time unit (``days``, ``weeks``, ``months``).
    season
        The fit's seasonal index; ``None`` or an inactive one: the calendar.
    start
        The history's last day (needed with an active index).

    Returns
    -------
    numpy.ndarray
        ``days + 1`` increasing values from 0, in ``time_unit``.

    Examples
    --------
    >>> calendar_clock(14, "weeks")[[0, 7, 14]].tolist()
    [0.0, 1.0, 2.0]
    """
    calendar = np.arange(days + 1, dtype=float)
    if season is not None and season.active:
        if start is None:
            raise ValueError("a seasonal clock needs the history's last day")
        calendar = season.elapsed(start, calendar)
    return calendar / DAYS_PER_UNIT[time_unit]


def purchase_within(
    model: TransactionModel,
    t: Any,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    p_alive: np.ndarray | None = None,
) -> np.ndarray:
    """``F(t)``: the chance of at least one purchase in ``(T, T + t]`` given the history.

    Parameters
    ----------
    model
        A fitted transaction model.
    t
        Time after the history's end, in the model's time unit (per customer or scalar).
    x, t_x, T
        Histories in the model's time unit.
    p_alive
        ``P(alive)`` of the histories, when already known.

    Returns
    -------
    numpy.ndarray
        One chance per customer, in ``[0, P(alive)]``.

    Examples
    --------
    >>> from clvreport.models import BetaGeoModel
    >>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> one = np.array([1.0])
    >>> round(float(purchase_within(bg, 10.0, one, one * 2, one * 30)[0]), 4)
    0.0747
    """
    params = model._params()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p_alive is None:
            p_alive = model._probability_alive_many(params, x, t_x, T)
        silent = model._probability_no_purchase_if_alive(params, np.asarray(t, float), x, T)
    return np.clip(p_alive * (1.0 - silent), 0.0, 1.0)


@dataclass(frozen=True)
class NextPurchaseDays:
    """The next purchase of each history in calendar days after its end.

    Attributes
    ----------
    p_30, p_90, p_horizon
        Chance of a purchase within 30 days, 90 days and the horizon.
    low, median, high
        Days of the 10th, 50th and 90th percentile given a purchase within the
        horizon (NaN when that chance is 0).
    horizon_days
        The horizon.
    """

    p_30: np.ndarray
    p_90: np.ndarray
    p_horizon: np.ndarray
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    horizon_days: int

    def take(self, codes: np.ndarray) -> NextPurchaseDays:
        """The rows ``codes`` (distinct histories expanded to customers)."""
        return NextPurchaseDays(
            self.p_30[codes],
            self.p_90[codes],
            self.p_horizon[codes],
            self.low[codes],
            self.median[codes],
            self.high[codes],
            self.horizon_days,
        )


def _first_day_reaching(
    model: TransactionModel,
    clock: np.ndarray,
    target: np.ndarray,
    x: np.ndarray,
    T: np.ndarray,
    p_alive: np.ndarray,
    horizon_days: int,
) -> np.ndarray:
    """The first day ``d`` in ``1 .. horizon_days`` with ``F(clock[d]) >= target``.

    Bisection on whole days (``F`` increases with ``d``); ``F(clock[horizon_days])``
    must reach the target.
    """
    lo = np.zeros(target.size, dtype=np.int64)  # F(0) = 0 < target
    hi = np.full(target.size, horizon_days, dtype=np.int64)
    open_ = hi - lo > 1
    params = model._params()
    while open_.any():
        idx = np.flatnonzero(open_)
        mid = (lo[idx] + hi[idx]) // 2
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            silent = model._probability_no_purchase_if_alive(params, clock[mid], x[idx], T[idx])
        reached = p_alive[idx] * (1.0 - silent) >= target[idx]
        hi[idx] = np.where(reached, mid, hi[idx])
        lo[idx] = np.where(reached, lo[idx], mid)
        open_ = hi - lo > 1
    return hi.astype(float)


def next_purchase_days(
    model: TransactionModel,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    clock: np.ndarray,
    horizon_days: int,
) -> NextPurchaseDays:
    """Chances and window of the next purchase, once per distinct history.

    Parameters
    ----------
    model
        A fitted transaction model.
    x, t_x, T
        Histories in the model's time unit (operational with a seasonal index).
    clock
        :func:`calendar_clock` up to at least ``max(horizon_days, 90)`` days.
    horizon_days
        The horizon the window is conditional on (calendar days).

    Returns
    -------
    NextPurchaseDays
        One entry per customer (see the module docstring for the definitions).

    Examples
    --------
    >>> from clvreport.models import BetaGeoModel
    >>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> days = next_purchase_days(bg, np.array([5.0]), np.array([30.0]), np.array([32.0]),
    ...                           calendar_clock(365, "weeks"), 365)
    >>> bool(days.low[0] < days.median[0] < days.high[0] <= 365)
    True
    """
    distinct, codes = _distinct_days(model, x, t_x, T, clock, horizon_days)
    return distinct.take(codes)


def _distinct_days(
    model: TransactionModel,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    clock: np.ndarray,
    horizon_days: int,
) -> tuple[NextPurchaseDays, np.ndarray]:
    """:func:`next_purchase_days` of each distinct history, and each customer's history."""
    if clock.size <= max(horizon_days, LONG_DAYS):
        raise ValueError("the clock must reach the horizon and 90 days")
    x, t_x, T = (np.asarray(v, dtype=float).reshape(-1) for v in (x, t_x, T))
    codes, first = distinct_histories(x, t_x, T)
    ux, ut, uT = x[first], t_x[first], T[first]
    params = model._params()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_alive = model._probability_alive_many(params, ux, ut, uT)
    p_alive = np.clip(np.nan_to_num(p_alive, nan=0.0), 0.0, 1.0)

    def within(days: int) -> np.ndarray:
        return purchase_within(model, clock[days], ux, ut, uT, p_alive=p_alive)

    p_horizon = within(horizon_days)
    possible = p_horizon > 0
    n = int(possible.sum())
    quantiles = np.full((len(_QUANTILES), ux.size), np.nan)
    if n:
        targets = np.concatenate([q * p_horizon[possible] for q in _QUANTILES])
        reps = len(_QUANTILES)
        days = _first_day_reaching(
            model,
            clock,
            targets,
            np.tile(ux[possible], reps),
            np.tile(uT[possible], reps),
            np.tile(p_alive[possible], reps),
            horizon_days,
        )
        quantiles[:, possible] = days.reshape(reps, n)
    distinct = NextPurchaseDays(
        p_30=within(SHORT_DAYS),
        p_90=within(LONG_DAYS),
        p_horizon=p_horizon,
        low=quantiles[0],
        median=quantiles[1],
        high=quantiles[2],
        horizon_days=horizon_days,
    )
    return distinct, codes


def overdue(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, time_unit: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days since the last purchase, the typical interval and their ratio (calendar summary).

    Parameters
    ----------
    frequency, recency, T
        The calendar summary (not operational time) in ``time_unit``.
    time_unit
        Its time unit.

    Returns
    -------
    tuple of numpy.ndarray
        ``(days_since, typical_days, ratio)``. A repeat buyer's typical interval is
        ``recency / frequency``; a one-time buyer's the median of the repeat
        buyers' (NaN without any).

    Examples
    --------
    >>> since, typical, ratio = overdue(np.array([3, 0]), np.array([9.0, 0.0]),
    ...                                 np.array([15.0, 4.0]), "weeks")
    >>> since.tolist(), typical.tolist(), ratio.round(2).tolist()
    ([42.0, 28.0], [21.0, 21.0], [2.0, 1.33])
    """
    per_unit = DAYS_PER_UNIT[time_unit]
    x = np.asarray(frequency, dtype=float)
    since = np.rint((np.asarray(T, float) - np.asarray(recency, float)) * per_unit)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.asarray(recency, float) * per_unit / x
    base = float(np.median(own[repeat])) if repeat.any() else np.nan
    typical = np.where(repeat, own, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(typical > 0, since / typical, np.nan)
    return since, typical, ratio


def risk_labels(p_horizon: np.ndarray) -> pd.Categorical:
    """``"low"``, ``"elevated"`` or ``"high"`` from the chance of a purchase within the horizon.

    Examples
    --------
    >>> list(risk_labels(np.array([0.8, 0.3, 0.1, np.nan])))
    ['low', 'elevated', 'high', nan]
    """
    p = np.asarray(p_horizon, dtype=float)
    codes = np.where(p >= EXPECTED_SHARE, 0, np.where(p >= RISK_HIGH, 1, 2))
    codes = np.where(np.isnan(p), -1, codes)
    return pd.Categorical.from_codes(codes, categories=list(RISK_LABELS))


def _dates(start: dt.date, days: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """``start`` plus ``days`` as dates (midnights), NaT where not ``shown``."""
    values = np.datetime64(start, "D") + np.where(shown, days, 0).astype("timedelta64[D]")
    return np.where(shown, values, np.datetime64("NaT")).astype("datetime64[ns]")


def next_purchase_table(
    fit: Any,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
) -> pd.DataFrame:
    """Per customer: the next purchase window, its chances, how overdue and the risk label.

    Parameters
    ----------
    fit
        A usable :class:`~clvreport.models.fitting.ClvModelFit` (transaction model).
    summary
        The calendar summary scored (``customer_id, frequency, recency, T``) at
        ``attrs["calibration_end"]`` (the report date), in ``fit.time_unit``.
    horizon_months
        The horizon the window is conditional on.

    Returns
    -------
    pandas.DataFrame
        :data:`NEXT_PURCHASE_COLUMNS`: the dates (``None`` unless a purchase is
        expected), ``p_purchase_30d``, ``p_purchase_90d``, ``p_purchase_horizon``,
        ``overdue_ratio``, ``typical_interval_days`` and ``risk_label``.
    """
    start = dt.date.fromisoformat(str(summary.attrs["calibration_end"])[:10])
    horizon_days = round(horizon_months * DAYS_PER_MONTH)
    season = fit.season if fit.seasonal else None
    clock = calendar_clock(max(horizon_days, LONG_DAYS) + 1, fit.time_unit, season, start)
    timed = fit.operational(summary)
    # each history's chances and dates, then one array per column for the customers
    days, codes = _distinct_days(
        fit.model,
        timed["frequency"].to_numpy(dtype=float),
        timed["recency"].to_numpy(dtype=float),
        timed["T"].to_numpy(dtype=float),
        clock,
        horizon_days,
    )
    del timed
    shown = days.p_horizon >= EXPECTED_SHARE
    table = {"customer_id": summary["customer_id"].to_numpy()}
    for column, values in (
        ("next_purchase_median", days.median),
        ("next_purchase_low", days.low),
        ("next_purchase_high", days.high),
    ):
        table[column] = _dates(start, values, shown)[codes]
    for column, values in (
        ("p_purchase_30d", days.p_30),
        ("p_purchase_90d", days.p_90),
        ("p_purchase_horizon", days.p_horizon),
    ):
        table[column] = values[codes]
    _, typical, table["overdue_ratio"] = overdue(
        summary["frequency"].to_numpy(dtype=float),
        summary["recency"].to_numpy(dtype=float),
        summary["T"].to_numpy(dtype=float),
        fit.time_unit,
    )
    table["typical_interval_days"] = typical
    risk = risk_labels(days.p_horizon)
    table["risk_label"] = pd.Categorical.from_codes(risk.codes[codes], dtype=risk.dtype)
    assert list(table) == NEXT_PURCHASE_COLUMNS
    return pd.DataFrame(table, copy=False)  # the arrays as the columns, not copied into a block


def next_gift_probabilities(model: Any, x: Any, t_x: Any, n: Any, periods: int) -> np.ndarray:
    """BG/BB: the chance that a donor's next gift falls in each of the next ``periods``.

    Alive at opportunity ``n`` (chance :meth:`~clvreport.models.bgbb.BetaGeoBetaBinomModel.
    probability_alive` with ``next_period=False``), the giving probability is
    ``Beta(alpha + x, beta + n - x)`` and the dropout probability
    ``Beta(gamma, delta + n)``; the next gift is at ``n + k`` when the donor
    survives ``k`` more opportunities and gives at the ``k``-th, not before:

    ``P(k) = P(alive) E[(1 - theta)^k] E[(1 - p)^(k - 1) p]``

    with ``E[(1 - theta)^k] = prod_{j<k} (delta + n + j) / (gamma + delta + n + j)`` and
    ``E[(1 - p)^(k-1) p] = (alpha + x) / (alpha + beta + n)
    prod_{j<k-1} (beta + n - x + j) / (alpha + beta + n + 1 + j)``. The sum over all ``k``
    is below 1: a donor may never give again.

    Parameters
    ----------
    model
        A fitted :class:`~clvreport.models.bgbb.BetaGeoBetaBinomModel`.
    x, t_x, n
        Gifts after the first, the last opportunity given at and the opportunities seen.
    periods
        How many coming opportunities.

    Returns
    -------
    numpy.ndarray
        Shape ``(donors, periods)``: column ``k - 1`` the chance of the next gift at ``n + k``.

    Examples
    --------
    >>> from clvreport.models.bgbb import BetaGeoBetaBinomModel
    >>> bgbb = BetaGeoBetaBinomModel.from_params(
    ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
    >>> chances = next_gift_probabilities(bgbb, [3], [4], [6], 3)
    >>> bool(np.isclose(chances[0, 0], bgbb.expected_purchases(1, 3, 4, 6)))
    True
    """
    a, b, g, d = model._params()
    x, t_x, n = (np.asarray(v, dtype=float).reshape(-1) for v in (x, t_x, n))
    alive = np.asarray(model.probability_alive(x, t_x, n, next_period=False), float).reshape(-1)
    j = np.arange(periods, dtype=float)[None, :]
    survive = np.cumprod((d + n[:, None] + j) / (g + d + n[:, None] + j), axis=1)
    ratio = (b + n[:, None] - x[:, None] + j) / (a + b + n[:, None] + 1.0 + j)
    silent = np.concatenate([np.ones((x.size, 1)), np.cumprod(ratio[:, :-1], axis=1)], axis=1)
    first = (a + x) / (a + b + n)
    return alive[:, None] * survive * first[:, None] * silent


def next_gift_window(chances: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The periods of the next gift's 80% window, given a gift within the periods shown.

    The period analogue of the shop models' window: with ``chances[:, j]`` the
    chance that the next gift falls in coming period ``j + 1``
    (:func:`next_gift_probabilities`), conditional on a gift within them, the
    first period by which the cumulative chance reaches 10%, 50% and 90%
    (:data:`WINDOW`). Periods are whole, so the window holds at least 80%.

    Parameters
    ----------
    chances
        ``(donors, periods)`` chances of the next gift per coming period.

    Returns
    -------
    tuple of numpy.ndarray
        ``(low, median, high)`` in coming periods (1 = the next), NaN for a donor
        with no chance of a gift within them.

    Examples
    --------
    >>> low, median, high = next_gift_window(np.array([[0.3, 0.2, 0.1, 0.05]]))
    >>> int(low[0]), int(median[0]), int(high[0])
    (1, 2, 3)
    """
    cumulative = np.cumsum(np.asarray(chances, dtype=float), axis=1)
    total = cumulative[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = cumulative / total
    out = []
    for level in _QUANTILES:
        reached = share >= level - 1e-12
        out.append(np.where(total[:, 0] > 0, reached.argmax(axis=1) + 1.0, np.nan))
    return out[0], out[1], out[2]


# -- holdout checks -------------------------------------------------------------------


def probability_calibration(
    predicted: np.ndarray, observed: np.ndarray, groups: int = 10
) -> list[dict[str, Any]]:
    """Mean predicted chance against the observed share, per group of equal size.

    Parameters
    ----------
    predicted
        Each customer's predicted chance.
    observed
        Whether it happened (booleans).
    groups
        Number of groups (deciles by default), by rank of the prediction.

    Returns
    -------
    list of dict
        ``decile`` (1 = lowest chances), ``customers``, ``predicted``, ``observed``.

    Examples
    --------
    >>> rows = probability_calibration(np.array([0.1, 0.1, 0.9, 0.9]),
    ...                                np.array([False, False, True, True]), groups=2)
    >>> [(r["predicted"], r["observed"]) for r in rows]
    [(0.1, 0.0), (0.9, 1.0)]
    """
    p = np.asarray(predicted, dtype=float)
    hit = np.asarray(observed, dtype=float)
    order = np.argsort(p, kind="stable")
    rows = []
    for number, part in enumerate(np.array_split(order, groups), start=1):
        if part.size == 0:
            continue
        rows.append(
            {
                "decile": number,
                "customers": int(part.size),
                "predicted": round(float(p[part].mean()), 4),
                "observed": round(float(hit[part].mean()), 4),
            }
        )
    return rows


def calibration_gap(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where :func:`probability_calibration`'s prediction is furthest from what happened.

    Returns
    -------
    dict or None
        ``largest`` (the largest absolute gap), its ``decile``, ``within`` (deciles
        within :data:`CALIBRATION_TOLERANCE`) and the ``predicted`` and ``observed``
        share over all customers (a prediction low throughout is the model's
        expectation of the holdout, see the module docstring); ``None`` without rows.

    Examples
    --------
    >>> calibration_gap([{"decile": 1, "customers": 2, "predicted": 0.1, "observed": 0.12},
    ...                  {"decile": 2, "customers": 2, "predicted": 0.5, "observed": 0.58}])
    {'largest': 0.08, 'decile': 2, 'within': 1, 'predicted': 0.3, 'observed': 0.35}
    """
    if not rows:
        return None
    gaps = [abs(r["predicted"] - r["observed"]) for r in rows]
    worst = int(np.argmax(gaps))
    weights = np.array([r["customers"] for r in rows], dtype=float)
    return {
        "largest": round(gaps[worst], 4),
        "decile": rows[worst]["decile"],
        "within": sum(g <= CALIBRATION_TOLERANCE + 1e-12 for g in gaps),
        "predicted": round(float(np.average([r["predicted"] for r in rows], weights=weights)), 4),
        "observed": round(float(np.average([r["observed"] for r in rows], weights=weights)), 4),
    }


@dataclass(frozen=True)
class WindowCheck:
    """How the next-purchase windows and chances held on the holdout.

    Attributes
    ----------
    buyers
        Customers with a holdout purchase (the window is conditional on one).
    coverage
        Share of them whose first holdout purchase fell in their window.
    early, late
        Shares before and after it.
    horizon_days
        The holdout's length (the window's horizon in the check).
    calibration
        :func:`probability_calibration` of P(purchase within 90 days).
    risk
        Per risk label: ``customers`` and the share that bought in the holdout.
    """

    buyers: int
    coverage: float
    early: float
    late: float
    horizon_days: int
    calibration: list[dict[str, Any]]
    risk: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (shares rounded to 4 decimals)."""
        return {
            "buyers": self.buyers,
            "coverage": round(self.coverage, 4),
            "early": round(self.early, 4),
            "late": round(self.late, 4),
            "window": WINDOW,
            "horizon_days": self.horizon_days,
            "risk_labels": self.risk,
        }


def risk_label_check(labels: pd.Categorical, bought: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per risk label, its customers and the share of them that bought in the holdout."""
    out = {}
    codes = np.asarray(labels.codes)
    for code, label in enumerate(RISK_LABELS):
        mine = codes == code
        share = float(bought[mine].mean()) if mine.any() else float("nan")
        out[label] = {
            "customers": int(mine.sum()),
            "bought": round(share, 4) if mine.any() else None,
        }
    return out


def holdout_window_check(
    model: TransactionModel,
    calibration: pd.DataFrame,
    timed: pd.DataFrame | None = None,
    season: Season | None = None,
) -> WindowCheck:
    """The windows and P(purchase within 90 days) of the calibration fit against the holdout.

    Parameters
    ----------
    model
        The transaction model fitted on the calibration period.
    calibration
        Calendar calibration summary with ``first_holdout_days`` (calendar days
        from the calibration end to the first holdout purchase, NaN without) and
        ``attrs["calibration_end"]``/``["observation_end"]``.
    timed
        ``calibration`` in the model's (operational) time; default ``calibration``.
    season
        The calibration period's seasonal index (``None``: calendar).

    Returns
    -------
    WindowCheck
        With the horizon the holdout's length in days.
    """
    timed = calibration if timed is None else timed
    start = dt.date.fromisoformat(str(calibration.attrs["calibration_end"])[:10])
    end = dt.date.fromisoformat(str(calibration.attrs["observation_end"])[:10])
    horizon_days = (end - start).days
    unit = calibration.attrs.get("time_unit") or model.time_unit
    clock = calendar_clock(max(horizon_days, LONG_DAYS) + 1, unit, season, start)
    days = next_purchase_days(
        model,
        timed["frequency"].to_numpy(dtype=float),
        timed["recency"].to_numpy(dtype=float),
        timed["T"].to_numpy(dtype=float),
        clock,
        horizon_days,
    )
    first = calibration["first_holdout_days"].to_numpy(dtype=float)
    bought = np.isfinite(first)
    known = bought & np.isfinite(days.low)
    d, lo, hi = first[known], days.low[known], days.high[known]
    n = int(known.sum())
    nan = float("nan")
    within_90 = bought & (np.nan_to_num(first, nan=np.inf) <= LONG_DAYS)
    usable_90 = horizon_days >= LONG_DAYS
    return WindowCheck(
        buyers=n,
        coverage=float(np.mean((lo <= d) & (d <= hi))) if n else nan,
        early=float(np.mean(d < lo)) if n else nan,
        late=float(np.mean(d > hi)) if n else nan,
        horizon_days=horizon_days,
        calibration=probability_calibration(days.p_90, within_90) if usable_90 else [],
        risk=risk_label_check(risk_labels(days.p_horizon), bought),
    )


def chosen_window_check(fit: Any, calibration: pd.DataFrame) -> WindowCheck | None:
    """:func:`holdout_window_check` of the chosen model's calibration fit (``None`` without one).

    Parameters
    ----------
    fit
        A :class:`~clvreport.models.fitting.ClvModelFit` fitted with a holdout.
    calibration
        Its calendar calibration summary (with ``first_holdout_days``).
    """
    if fit.model_name is None or fit.validation is None:
        return None
    if "first_holdout_days" not in calibration or not calibration.attrs.get("observation_end"):
        return None
    candidate = fit.candidates.get(fit.model_name)
    if candidate is None or candidate.model is None:
        return None
    season = fit.calibration_season
    return holdout_window_check(
        candidate.model,
        calibration,
        fit.calibration_operational(calibration),
        season if season is not None and season.active else None,
    )


def validation_entries(check: WindowCheck | None) -> dict[str, Any]:
    """The keys the check adds to ``validation`` in ``model.json`` and ``fit --json``.

    ``next_purchase_coverage`` (share of holdout buyers whose first holdout
    purchase fell in their window, ``None`` without any), ``next_purchase_window``
    (:meth:`WindowCheck.to_dict`), ``p_purchase_90d_calibration`` (per decile) and
    ``p_purchase_90d_gap`` (:func:`calibration_gap`).

    Examples
    --------
    >>> validation_entries(None)
    {}
    """
    if check is None:
        return {}
    return {
        "next_purchase_coverage": round(check.coverage, 4) if check.buyers else None,
        "next_purchase_window": check.to_dict() if check.buyers else None,
        "p_purchase_90d_calibration": check.calibration,
        "p_purchase_90d_gap": calibration_gap(check.calibration),
    }
