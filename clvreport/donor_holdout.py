"""The donor model's holdout check: BG/BB fitted without the last periods predicts them.

The last ``holdout_months`` (in whole giving periods: 24 months of yearly
giving are the last two years) are held back. BG/BB and the amount model are
fitted on the donors' histories up to the end of the period before
(:func:`~clvreport.donors.fit_donor_model`, the same fit the report uses), and
predict for every donor of then the gifts in the held-back periods: the
expected number of periods with a gift
(:meth:`~clvreport.models.bgbb.BetaGeoBetaBinomModel.expected_purchases`) and
its 90% range per donor, and for the total the range from parameter draws
plus the gifts' own chance. What happened is the donors' own history over the
same periods (full summary minus calibration summary, with the same rules for
several gifts in one period and refunds). The comparison and verdict are the
shop models' (:func:`~clvreport.models.validation.compare_predictions`),
binned by the gifts in the calibration periods.

The chances of the next gift (:func:`clvreport.donors.next_gift_table`) are
checked on the same held-back periods (:func:`next_gift_check`): the predicted
chance of a gift in the first held-back period against the share of donors who
gave in it, per decile of the prediction (``validation.p_gift_next_period_calibration``
in ``model.json``, the donors' ``p_purchase_90d_calibration``), and per risk
label (from the chance of a gift in the held-back periods) the share who gave in them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from clvreport.donors import donor_summary, fit_donor_model
from clvreport.models.bgbb import BetaGeoBetaBinomModel
from clvreport.models.discrete import _period_end, period_index
from clvreport.models.predictive import interval_check
from clvreport.models.uncertainty import draw_parameters
from clvreport.models.validation import compare_predictions
from clvreport.period_holdout import PeriodHoldout, frame_dates, holdout_periods, total_range

__all__ = ["donor_holdout", "next_gift_check"]

N_DRAWS = 100


def donor_holdout(
    log: pd.DataFrame,
    period: str,
    as_of: dt.date,
    holdout_months: int,
    *,
    horizon_months: float | None = None,
) -> PeriodHoldout:
    """Check BG/BB on the last ``holdout_months`` of giving, held back from its fit.

    Parameters
    ----------
    log
        :func:`~clvreport.donors.donation_log` output (``customer_id,
        order_date, amount, is_return``).
    period
        The giving period (``year``, ``quarter``, ``month``).
    as_of
        The report date; only periods that ended by then count.
    holdout_months
        Months held back (``client.yml``), used in whole periods.
    horizon_months
        The forecast horizon, to flag a holdout shorter than it.

    Returns
    -------
    PeriodHoldout
        The comparison with verdict, range and interval check, or the reason
        there is none (:data:`~clvreport.period_holdout.NOT_CHECKED`).

    Examples
    --------
    >>> check = donor_holdout(log, "year", dt.date(2024, 12, 31), 24)  # doctest: +SKIP
    >>> check.comparison.verdict, check.holdout_periods  # doctest: +SKIP
    ('good', 2)
    """
    if holdout_months <= 0:
        return PeriodHoldout(reason="off")
    k = holdout_periods(holdout_months, period)
    if k == 0:
        return PeriodHoldout(reason="shorter_than_period")
    full = donor_summary(log, period, as_of)
    last_whole = int(period_index(pd.DatetimeIndex([full.attrs["last_period_end"]]), period)[0])
    calibration_end = _period_end(last_whole - k, period).date()
    dates = pd.to_datetime(log["order_date"])
    before = log[(dates <= pd.Timestamp(calibration_end)).to_numpy()]
    gifts = before[~before["is_return"].astype(bool)]
    if gifts.empty:
        return PeriodHoldout(reason="too_little_history")
    first = int(period_index(pd.to_datetime(gifts["order_date"]), period).min())
    if last_whole - k - first < k:  # fewer calibration opportunities than held-back periods
        return PeriodHoldout(reason="too_little_history")
    calibration = donor_summary(before, period, calibration_end)
    fit = fit_donor_model(calibration, period)
    if not fit.usable or fit.model is None:
        return PeriodHoldout(reason="too_little_data")
    frame = _holdout_frame(calibration, full, k)
    frame_dates(frame, calibration_end, _period_end(last_whole, period).date())
    model = fit.model
    x, t_x, n = (frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    predicted = np.asarray(model.expected_purchases(k, x, t_x, n), dtype=float)
    spend = np.nan_to_num(fit.expected_spend(x, frame["monetary_value"].to_numpy(dtype=float)))
    comparison = compare_predictions(
        "bgbb",
        frame,
        predicted,
        time_unit=fit.time_unit,
        expected_spend=spend,
        horizon_months=horizon_months,
    )
    result = model.predictive_interval(k, x, t_x, n)
    scores = pd.DataFrame(
        {
            "holdout_purchases": frame["frequency_holdout"].to_numpy(),
            "holdout_purchases_low": result.low,
            "holdout_purchases_high": result.high,
            "chance_below": result.below,
            "chance_above": result.above,
        }
    )
    low, high = total_range(_draw_totals(model, k, x, t_x, n), float(np.nansum(result.variance)))
    first_gift = _first_gift_period(log, dates, calibration, period, last_whole, k)
    gave = frame["frequency_holdout"].to_numpy() > 0
    return PeriodHoldout(
        next_purchase=next_gift_check(
            model, x, t_x, n, k, first_gift == 1, gave, first_gift=first_gift
        ),
        comparison=comparison,
        calibration_end=calibration_end,
        holdout_periods=k,
        predicted_low=low,
        predicted_high=high,
        intervals=interval_check(scores),
    )


def next_gift_check(
    model: BetaGeoBetaBinomModel,
    x: np.ndarray,
    t_x: np.ndarray,
    n: np.ndarray,
    k: int,
    gave_first: np.ndarray,
    gave: np.ndarray,
    *,
    first_gift: np.ndarray | None = None,
) -> dict[str, Any]:
    """The calibration fit's chances of the next gift against the held-back periods.

    Parameters
    ----------
    model
        BG/BB fitted on the calibration periods.
    x, t_x, n
        The calibration donors' histories.
    k
        Held-back periods.
    gave_first, gave
        Whether each donor gave in the first held-back period, and in any of them.
    first_gift
        Each donor's first held-back period with a gift (1..k, NaN without), for the
        window check.

    Returns
    -------
    dict
        ``p_gift_next_period_calibration``: per decile of the predicted chance of a gift
        in the first held-back period (``decile``, ``donors``, ``predicted``,
        ``observed``); ``next_gift``: the ``k`` periods, the mean predicted chance of a
        gift in them against the share who gave, and per risk label (from that chance,
        :func:`~clvreport.models.next_purchase.risk_labels`) the donors and the share
        who gave; with ``first_gift``, ``window``: of the donors who gave, the share
        whose first gift fell in their 80% window given a gift in the ``k`` periods
        (:func:`~clvreport.models.next_purchase.next_gift_window`), before and after it,
        and ``expected``, the share the model gives the windows (whole periods hold
        at least 80%).

    Examples
    --------
    >>> from clvreport.models.bgbb import BetaGeoBetaBinomModel
    >>> bgbb = BetaGeoBetaBinomModel.from_params(
    ...     {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8})
    >>> one = np.ones(2)
    >>> check = next_gift_check(bgbb, one, one, one * 2, 1, np.array([True, False]),
    ...                         np.array([True, False]))
    >>> check["next_gift"]["gave"]
    0.5
    """
    from clvreport.models.next_purchase import (
        WINDOW,
        next_gift_probabilities,
        next_gift_window,
        probability_calibration,
        risk_label_check,
        risk_labels,
    )

    chances = next_gift_probabilities(model, x, t_x, n, k)
    within = chances.sum(axis=1)
    deciles = [
        {
            "decile": r["decile"],
            "donors": r["customers"],
            **{key: r[key] for key in ("predicted", "observed")},
        }
        for r in probability_calibration(chances[:, 0], gave_first)
    ]
    risk = {
        label: {"donors": row["customers"], "gave": row["bought"]}
        for label, row in risk_label_check(risk_labels(within), gave).items()
    }
    out = {
        "p_gift_next_period_calibration": deciles,
        "next_gift": {
            "periods": k,
            "predicted": round(float(within.mean()), 4) if within.size else None,
            "gave": round(float(np.mean(gave)), 4) if within.size else None,
            "risk_labels": risk,
        },
    }
    if first_gift is not None:
        low, _, high = next_gift_window(chances)
        known = np.isfinite(first_gift) & np.isfinite(low)
        d, lo, hi = first_gift[known], low[known], high[known]
        givers = int(known.sum())

        def share(hit: np.ndarray) -> float | None:
            return round(float(np.mean(hit)), 4) if givers else None

        # whole periods: the window holds at least 80%; the model's own share is the mark
        periods = np.arange(1, k + 1)
        inside = (periods >= low[:, None]) & (periods <= high[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            mass = (chances * inside).sum(axis=1) / within
        out["next_gift"]["window"] = {
            "window": WINDOW,
            "givers": givers,
            "expected": share(mass[known]),
            "coverage": share((lo <= d) & (d <= hi)),
            "early": share(d < lo),
            "late": share(d > hi),
        }
    return out


def _first_gift_period(
    log: pd.DataFrame,
    dates: pd.Series,
    calibration: pd.DataFrame,
    period: str,
    last_whole: int,
    k: int,
) -> np.ndarray:
    """Each calibration donor's first held-back period with a gift (1..k), NaN without.

    Period by period, with the summary's own rules (several gifts in one period
    are one, refunds netted), as the holdout's counts.
    """
    first = np.full(len(calibration), np.nan)
    for j in range(1, k + 1):
        end = _period_end(last_whole - k + j, period).date()
        upto = donor_summary(log[(dates <= pd.Timestamp(end)).to_numpy()], period, end)
        gave = _holdout_frame(calibration, upto, j)["frequency_holdout"].to_numpy() > 0
        first = np.where(np.isnan(first) & gave, float(j), first)
    return first


def _holdout_frame(calibration: pd.DataFrame, full: pd.DataFrame, k: int) -> pd.DataFrame:
    """The calibration donors with their gifts and income in the ``k`` held-back periods.

    Examples
    --------
    >>> cal = pd.DataFrame({"customer_id": ["a"], "frequency": [1], "recency": [1],
    ...                     "n_periods": [2], "monetary_value": [10.0]})
    >>> full = pd.DataFrame({"customer_id": ["a"], "frequency": [3], "recency": [4],
    ...                      "n_periods": [4], "monetary_value": [20.0]})
    >>> _holdout_frame(cal, full, 2)[["frequency_holdout", "revenue_holdout"]].values.tolist()
    [[2.0, 50.0]]
    """
    later = full.set_index("customer_id").reindex(calibration["customer_id"])
    x_full = later["frequency"].to_numpy(dtype=float)
    x_cal = calibration["frequency"].to_numpy(dtype=float)
    m_full = np.nan_to_num(later["monetary_value"].to_numpy(dtype=float))
    m_cal = np.nan_to_num(calibration["monetary_value"].to_numpy(dtype=float))
    return pd.DataFrame(
        {
            "customer_id": calibration["customer_id"].to_numpy(),
            "frequency": x_cal,
            "recency": calibration["recency"].to_numpy(dtype=float),
            "T": calibration["n_periods"].to_numpy(dtype=float),
            "monetary_value": calibration["monetary_value"].to_numpy(dtype=float),
            "frequency_holdout": x_full - x_cal,
            "duration_holdout": np.full(len(calibration), float(k)),
            # the repeat periods' totals of the held-back periods
            "revenue_holdout": m_full * x_full - m_cal * x_cal,
        }
    )


def _draw_totals(model: BetaGeoBetaBinomModel, k: int, x, t_x, n) -> list[float]:
    """The predicted holdout total under each parameter draw (the point estimate without)."""
    draws = draw_parameters(model, N_DRAWS, np.random.default_rng(0))
    if draws is None:
        return [float(np.sum(model.expected_purchases(k, x, t_x, n)))]
    totals = []
    for row in np.atleast_2d(draws):
        drawn = BetaGeoBetaBinomModel.from_params(dict(zip(model.param_names, row, strict=True)))
        totals.append(float(np.sum(drawn.expected_purchases(k, x, t_x, n))))
    return totals
