"""The subscription model's holdout check: sBG fitted without the last months predicts them.

The subscriptions are cut off at the calibration end (``holdout_months``
before the report date): a contract that ended later was still running then,
with the renewals it had made by that day. sBG is fitted per plan on that
picture (:func:`~clvreport.subscribers.fit_subscriber_model`, the report's
own fit) and predicts, for every subscription running at the calibration
end, its renewals at the renewal dates of the held-back months:
``Σ_s S(n + s) / S(n)`` after ``n`` renewals, with its 90% range per
subscription and, for the total, the range from parameter draws plus the
cancellations' own chance. What happened is the renewals the subscriptions
made by the report date. The comparison and verdict are the shop models'
(:func:`~clvreport.models.validation.compare_predictions`), binned by the
renewals before the calibration end; new subscriptions of the holdout are
not part of it (the forecast is about today's subscribers, too).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from clvreport.models.contract import _whole_months
from clvreport.models.predictive import INTERVAL, interval_check
from clvreport.models.sbg import ShiftedBetaGeometricModel
from clvreport.models.uncertainty import draw_parameters
from clvreport.models.units import MONTHS_PER_PERIOD
from clvreport.models.validation import compare_predictions
from clvreport.period_holdout import PeriodHoldout, frame_dates, holdout_periods, total_range
from clvreport.subscribers import SubscriberFit, fit_subscriber_model

__all__ = ["contracts_at", "renewal_pmf", "subscriber_holdout"]

N_DRAWS = 100


def contracts_at(contracts: pd.DataFrame, date: dt.date, period: str) -> pd.DataFrame:
    """The subscriptions as they stood on ``date``: later ones left out, later ends undone.

    Examples
    --------
    >>> contracts = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...     "start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-08-01"]),
    ...     "end": pd.to_datetime(["2024-04-01", "2024-10-01", None]),
    ...     "renewals": [2, 8, 4], "active": [False, False, True]})
    >>> at = contracts_at(contracts, dt.date(2024, 6, 30), "month")
    >>> at[["customer_id", "renewals", "active"]].values.tolist()
    [['a', 2, False], ['b', 5, True]]
    """
    months = MONTHS_PER_PERIOD[period]
    stamp = pd.Timestamp(date)
    frame = contracts[pd.to_datetime(contracts["start"]) <= stamp].copy()
    end = pd.to_datetime(frame["end"])
    running = (end.isna() | (end > stamp)).to_numpy()
    start = pd.DatetimeIndex(frame["start"])
    elapsed = _whole_months(start, pd.DatetimeIndex([stamp] * len(frame))) // months
    frame["renewals"] = np.where(running, np.maximum(elapsed, 0), frame["renewals"]).astype(int)
    frame["active"] = running
    return frame.reset_index(drop=True)


def renewal_pmf(stay: np.ndarray) -> np.ndarray:
    """Distribution of the renewals ``K`` from ``P(K >= s) = stay[s - 1]``: shape ``(H + 1, n)``.

    Examples
    --------
    >>> renewal_pmf(np.array([[0.5], [0.25]]))[:, 0].tolist()
    [0.5, 0.25, 0.25]
    """
    at_least = np.vstack([np.ones(stay.shape[1]), stay])
    return at_least - np.vstack([stay, np.zeros(stay.shape[1])])


def _stay(model: ShiftedBetaGeometricModel, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``S(n + s) / S(n)`` for ``s = 1..max d``, 0 beyond each subscription's own ``d``."""
    width = int(d.max(initial=0))
    s = np.arange(1, width + 1)[:, None]
    stay = np.asarray(model.survival(n[None, :] + s), dtype=float) / np.asarray(
        model.survival(n), dtype=float
    )
    return np.where(s <= d[None, :], stay, 0.0)


def subscriber_holdout(
    contracts: pd.DataFrame,
    period: str,
    calibration_end: dt.date | None,
    as_of: dt.date,
    holdout_months: int,
    *,
    horizon_months: float | None = None,
) -> PeriodHoldout:
    """Check sBG on the renewals of the last ``holdout_months``, held back from its fit.

    Parameters
    ----------
    contracts
        :func:`~clvreport.subscribers.read_contracts` output as of ``as_of``.
    period
        The renewal period.
    calibration_end
        Last day of the fit (``None``: the history is too short for a holdout,
        :func:`~clvreport.analysis.calibration_end_for`).
    as_of
        The report date.
    holdout_months
        Months held back (``client.yml``).
    horizon_months
        The forecast horizon, to flag a holdout shorter than it.

    Returns
    -------
    PeriodHoldout
        The comparison with verdict, range and interval check, or why there is none.

    Examples
    --------
    >>> check = subscriber_holdout(contracts, "month", dt.date(2024, 6, 30),
    ...                            dt.date(2024, 12, 31), 6)  # doctest: +SKIP
    """
    if holdout_months <= 0:
        return PeriodHoldout(reason="off")
    if holdout_periods(holdout_months, period) == 0:
        return PeriodHoldout(reason="shorter_than_period")
    if calibration_end is None:
        return PeriodHoldout(reason="too_little_history")
    before = contracts_at(contracts, calibration_end, period)
    fit = fit_subscriber_model(before, period) if len(before) else None
    if fit is None or not fit.usable:
        return PeriodHoldout(reason="too_little_data")
    frame = _holdout_frame(before, contracts, period, as_of)
    frame_dates(frame, calibration_end, as_of)
    n = frame["frequency"].to_numpy(dtype=float)
    d = frame["duration_holdout"].to_numpy(dtype=float)
    plans = frame["plan"].astype(str).to_numpy()
    stay = np.zeros((int(d.max(initial=0)), len(frame)))
    for plan in pd.unique(plans):
        rows = np.flatnonzero(plans == plan)
        stay[:, rows] = _stay(fit.model_for(plan), n[rows], d[rows])
    comparison = compare_predictions(
        "sbg",
        frame,
        stay.sum(axis=0),
        time_unit=fit.time_unit,
        expected_spend=frame["price"].to_numpy(dtype=float),
        horizon_months=horizon_months,
    )
    pmf = renewal_pmf(stay)
    k = np.arange(pmf.shape[0])[:, None]
    variance = np.maximum((pmf * k * k).sum(axis=0) - ((pmf * k).sum(axis=0)) ** 2, 0.0)
    low, high = total_range(_draw_totals(fit, frame), float(variance.sum()))
    return PeriodHoldout(
        comparison=comparison,
        calibration_end=calibration_end,
        holdout_periods=holdout_periods(holdout_months, period),
        predicted_low=low,
        predicted_high=high,
        intervals=interval_check(_interval_scores(pmf, frame["frequency_holdout"].to_numpy())),
    )


def _holdout_frame(
    before: pd.DataFrame, contracts: pd.DataFrame, period: str, as_of: dt.date
) -> pd.DataFrame:
    """Subscriptions running at the calibration end: renewals then, possible and made after."""
    running = before[before["active"].to_numpy(dtype=bool)].reset_index(drop=True)
    now = contracts.set_index(["customer_id", "start"])["renewals"]
    made = now.reindex(pd.MultiIndex.from_frame(running[["customer_id", "start"]])).to_numpy()
    start = pd.DatetimeIndex(running["start"])
    possible = _whole_months(start, pd.DatetimeIndex([pd.Timestamp(as_of)] * len(running)))
    possible = possible // MONTHS_PER_PERIOD[period] - running["renewals"].to_numpy()
    n = running["renewals"].to_numpy(dtype=float)
    renewed = np.clip(np.nan_to_num(made.astype(float) - n), 0, np.maximum(possible, 0))
    price = running["price"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "customer_id": running["customer_id"].astype(str).to_numpy(),
            "plan": running["plan"].astype(str).to_numpy(),
            "price": price,
            "frequency": n,
            "frequency_holdout": renewed,
            "duration_holdout": np.maximum(possible, 0).astype(float),
            "revenue_holdout": renewed * price,
        }
    )


def _interval_scores(pmf: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
    """Each subscription's 90% range of renewals and the chance of falling below or above it."""
    cdf = np.cumsum(pmf, axis=0)
    low = np.argmax(cdf >= (1 - INTERVAL) / 2 - 1e-12, axis=0)
    high = np.argmax(cdf >= (1 + INTERVAL) / 2 - 1e-12, axis=0)
    columns = np.arange(pmf.shape[1])
    below = np.where(low > 0, cdf[np.maximum(low - 1, 0), columns], 0.0)
    above = np.clip(1.0 - cdf[high, columns], 0.0, 1.0)
    return pd.DataFrame(
        {
            "holdout_purchases": actual,
            "holdout_purchases_low": low.astype(float),
            "holdout_purchases_high": high.astype(float),
            "chance_below": below,
            "chance_above": above,
        }
    )


def _draw_totals(fit: SubscriberFit, frame: pd.DataFrame) -> np.ndarray:
    """The predicted holdout renewals under each parameter draw, summed over the plans."""
    n = frame["frequency"].to_numpy(dtype=float)
    d = frame["duration_holdout"].to_numpy(dtype=float)
    plans = frame["plan"].astype(str).to_numpy()
    totals = np.zeros(N_DRAWS)
    rng = np.random.default_rng(0)
    for plan in pd.unique(plans):
        rows = np.flatnonzero(plans == plan)
        model = fit.model_for(plan)
        draws = draw_parameters(model, N_DRAWS, rng)
        if draws is None:
            totals += _stay(model, n[rows], d[rows]).sum()
            continue
        for i, row in enumerate(np.atleast_2d(draws)):
            drawn = ShiftedBetaGeometricModel.from_params(
                dict(zip(model.param_names, row, strict=True)), time_unit=model.time_unit
            )
            totals[i] += _stay(drawn, n[rows], d[rows]).sum()
    return totals
