"""What a stored model forecast for a given period: purchases and revenue per group, with intervals.

A report's ``model.json`` and ``customers.parquet`` hold the fitted model and
every customer's history at that report's date. The next report asks what
that model expected for the time *between* the two reports (any length, not
only the horizon in whole months) and compares it with what happened.
:func:`period_forecast` answers from the stored model alone, without refitting.

* Expected purchases: the model's conditional expectation over ``t`` time
  units for each customer, summed per group.
* Expected revenue: each customer's expected purchases times their expected
  spend per purchase (Gamma-Gamma, or the historic fallback), summed.
* Intervals (90% by default): as for segments in
  :mod:`clvreport.models.scoring`, a group's purchases are a sum of independent
  counts, approximately normal given the parameters; the means are summed per
  parameter draw and the process variance (at the point estimate) is added
  before taking quantiles of the mixture. Revenue values each customer's count
  at their expected spend (its own uncertainty is left out: for a sum over many
  customers the count is by far the larger one).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from clvreport.errors import ModelError
from clvreport.models.compression import distinct_rows
from clvreport.models.fitting import ClvModelFit
from clvreport.models.predictive import normal_mixture_interval, purchase_moments
from clvreport.models.uncertainty import as_param_tuple, draw_fit_parameters
from clvreport.models.units import DAYS_PER_UNIT

__all__ = ["PERIOD_COLUMNS", "period_forecast"]

PERIOD_COLUMNS = [
    "group",
    "customers",
    "expected_purchases",
    "purchases_low",
    "purchases_high",
    "expected_revenue",
    "revenue_low",
    "revenue_high",
]
"""Columns of :func:`period_forecast`'s table."""

_CHUNK = 20_000


def period_forecast(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    groups: pd.Series | str,
    t: float,
    *,
    interval: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
    start: dt.date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchases and revenue the model expects in the next ``t`` time units, per group and customer.

    Parameters
    ----------
    fit
        A usable fit, e.g. ``ClvModelFit.from_dict(model_json)``.
    summary
        ``customer_id, frequency, recency, T, monetary_value`` per customer in
        the fit's time unit, at the date the forecast starts.
    groups
        Group label per row (aligned with ``summary``), or a column name.
    t
        Length of the period in the fit's time unit (> 0).
    interval
        Coverage of the intervals.
    n_draws, seed
        Parameter draws for the intervals (none when the fit has no covariance).
    start
        The date of ``summary`` (the forecast runs from the day after). Only
        used with a seasonal index (:attr:`ClvModelFit.season`): the histories
        and the period are then measured in its operational time, so a period
        over December expects December's purchases. Default: the date the
        index ends (the stored report's date).

    Returns
    -------
    tuple of pandas.DataFrame
        The groups table (columns :data:`PERIOD_COLUMNS`, one row per group in
        order of first appearance) and the per-customer table
        (``customer_id, expected_purchases, expected_revenue``).

    Raises
    ------
    ModelError
        When the fit is not usable or ``t`` is not positive.

    Examples
    --------
    >>> from clvreport.models.fitting import fit_clv_models
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 2000,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> fit = fit_clv_models(summary, model="bgnbd")
    >>> groups, customers = period_forecast(fit, summary, "all", 26.0, n_draws=50)
    >>> bool(groups.loc[0, "purchases_low"] < groups.loc[0, "expected_purchases"]
    ...      < groups.loc[0, "purchases_high"])
    True
    """
    if not fit.usable or fit.model is None:
        raise ModelError("the stored model cannot forecast (its fit failed)")
    if not np.isfinite(t) or t <= 0:
        raise ModelError(f"the forecast period must be positive, not {t}")
    model = fit.model
    if isinstance(groups, str):
        labels = summary[groups] if groups in summary else pd.Series(groups, index=summary.index)
    else:
        labels = groups
    timed = fit.operational(summary, start)
    if fit.seasonal:
        assert fit.season is not None
        origin = start or fit.season.end
        per_unit = DAYS_PER_UNIT[fit.time_unit]
        t = float(fit.season.elapsed(origin, t * per_unit)) / per_unit
    x = timed["frequency"].to_numpy(dtype=float)
    t_x = timed["recency"].to_numpy(dtype=float)
    T = timed["T"].to_numpy(dtype=float)
    m = fit.spend_input(summary)
    code, names = pd.factorize(np.asarray(labels), use_na_sentinel=False)
    rows, first = distinct_rows(x, t_x, T, m, code)
    counts = np.bincount(rows).astype(float)
    ux, ut, uT, um, ug = x[first], t_x[first], T[first], m[first], code[first]
    n_groups = len(names)

    spend = np.nan_to_num(np.asarray(fit.expected_spend(ux, um), dtype=float))
    params = model._params()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_alive = model._probability_alive(params, ux, ut, uT)
        # the mean in closed form; the process variance from the predictive distribution
        mean = p_alive * model._expected_purchases_if_alive(params, t, ux, uT)
        _, variance = purchase_moments(model, params, t, ux, ut, uT, p_alive=p_alive)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(ug, weights=counts * values, minlength=n_groups)

    table = pd.DataFrame(
        {
            "group": list(names),
            "customers": np.bincount(ug, weights=counts, minlength=n_groups).astype(int),
            "expected_purchases": total(mean),
            "expected_revenue": total(mean * spend),
        }
    )
    for column in ("purchases", "revenue"):
        table[f"{column}_low"] = np.nan
        table[f"{column}_high"] = np.nan
    draws = draw_fit_parameters(fit, n_draws, seed)
    if draws.transaction is not None and len(draws.transaction):
        drawn = as_param_tuple(draws.transaction)
        purchase_sums = np.zeros((len(draws.transaction), n_groups))
        revenue_sums = np.zeros_like(purchase_sums)
        for start in range(0, ux.size, _CHUNK):
            part = slice(start, start + _CHUNK)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                alive = model._probability_alive_many(drawn, ux[part], ut[part], uT[part])
                expected = alive * model._expected_purchases_if_alive(drawn, t, ux[part], uT[part])
            expected = np.nan_to_num(expected)
            membership = np.zeros((expected.shape[1], n_groups))
            membership[np.arange(expected.shape[1]), ug[part]] = counts[part]
            purchase_sums += expected @ membership
            revenue_sums += (expected * spend[part]) @ membership
        low, high = normal_mixture_interval(purchase_sums, total(variance), interval)
        table["purchases_low"], table["purchases_high"] = low, high
        low, high = normal_mixture_interval(revenue_sums, total(variance * spend**2), interval)
        table["revenue_low"], table["revenue_high"] = low, high
    customers = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "expected_purchases": mean[rows],
            "expected_revenue": (mean * spend)[rows],
        }
    )
    return table[PERIOD_COLUMNS], customers
