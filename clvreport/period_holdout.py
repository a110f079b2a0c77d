"""What the holdout checks of the models on whole periods share: the result and its range.

The donor model (BG/BB, :mod:`clvreport.donor_holdout`) and the subscription
model (sBG, :mod:`clvreport.subscriber_holdout`) are checked the way the shop
models are: fitted on the history up to a calibration end, they predict the
last ``holdout_months`` (gifts, renewals), and
:func:`~clvreport.models.validation.compare_predictions` grades the
prediction against what happened with the shop models' thresholds and verdict
codes. :class:`PeriodHoldout` holds that comparison with the 90% range of the
predicted total and the per-person interval check, or why no check was made.

Why a check can be impossible (:attr:`PeriodHoldout.reason`)
------------------------------------------------------------
``off``
    ``holdout_months: 0`` in ``client.yml``.
``shorter_than_period``
    The holdout is shorter than one period (6 months of yearly giving).
``too_little_history``
    Fewer calibration periods before the holdout than in it.
``too_little_data``
    The model cannot be fitted on the calibration periods alone (too few
    donors who gave again, too few cancellations).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clvreport.models.numeric import json_float
from clvreport.models.predictive import INTERVAL, IntervalCheck, normal_mixture_interval
from clvreport.models.units import MONTHS_PER_PERIOD
from clvreport.models.validation import HoldoutComparison

__all__ = ["NOT_CHECKED", "PeriodHoldout", "holdout_periods", "total_range"]

NOT_CHECKED = ("off", "shorter_than_period", "too_little_history", "too_little_data")


@dataclass(frozen=True)
class PeriodHoldout:
    """The holdout check of a model on whole periods, or why there is none.

    Attributes
    ----------
    comparison
        Actual against predicted holdout counts with the verdict
        (:class:`~clvreport.models.validation.HoldoutComparison`; ``None``
        when not checked).
    calibration_end
        Last day the calibration fit saw (``None`` when not checked).
    holdout_periods
        Whole periods held back (``0`` when not checked).
    predicted_low, predicted_high
        The 90% range of the predicted holdout total: parameter uncertainty
        plus the chance in the counts themselves.
    intervals
        How the per-person 90% ranges held (``None`` when not checked).
    reason
        Why there is no check (one of :data:`NOT_CHECKED`), else ``None``.
    next_purchase
        Extra ``validation`` entries of the per-person chances of the next gift
        (donors: :func:`~clvreport.donor_holdout.next_gift_check`), else ``None``.
    """

    comparison: HoldoutComparison | None = None
    calibration_end: dt.date | None = None
    holdout_periods: int = 0
    predicted_low: float = float("nan")
    predicted_high: float = float("nan")
    intervals: IntervalCheck | None = None
    reason: str | None = None
    next_purchase: dict[str, Any] | None = None

    @property
    def checked(self) -> bool:
        """Whether the model was checked on a holdout."""
        return self.comparison is not None

    @property
    def covers_actual(self) -> bool:
        """Whether the actual holdout total lies in the 90% range of the prediction."""
        if self.comparison is None:
            return False
        actual = self.comparison.actual_total
        return bool(self.predicted_low <= actual <= self.predicted_high)

    def to_dict(self) -> dict[str, Any] | None:
        """``model.json``'s ``validation``: the comparison plus the range (``None``: no check)."""
        if self.comparison is None:
            return None
        return {
            **self.comparison.to_dict(),
            "predicted_low": json_float(self.predicted_low),
            "predicted_high": json_float(self.predicted_high),
            "holdout_periods": self.holdout_periods,
            **(self.next_purchase or {}),
        }


def holdout_periods(holdout_months: int, period: str) -> int:
    """Whole periods in ``holdout_months`` (a part of a period is not held back).

    Examples
    --------
    >>> holdout_periods(24, "year"), holdout_periods(6, "year"), holdout_periods(6, "month")
    (2, 0, 6)
    """
    return max(int(holdout_months), 0) // MONTHS_PER_PERIOD[period]


def total_range(
    draw_totals: Any, variance: float, interval: float = INTERVAL
) -> tuple[float, float]:
    """The range of a predicted total: one mean per parameter draw, plus the counts' spread.

    Parameters
    ----------
    draw_totals
        The predicted total under each parameter draw.
    variance
        The summed variance of the people's counts (their own chance).
    interval
        Coverage.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Examples
    --------
    >>> low, high = total_range([100.0], 100.0)
    >>> round(low, 1), round(high, 1)
    (83.6, 116.4)
    """
    totals = np.asarray(draw_totals, dtype=float).reshape(-1, 1)
    low, high = normal_mixture_interval(totals, np.array([float(variance)]), interval)
    return float(low[0]), float(high[0])


def frame_dates(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """``frame`` with the holdout's first and last day in ``attrs`` (its length in months)."""
    frame.attrs["calibration_end"] = pd.Timestamp(start)
    frame.attrs["observation_end"] = pd.Timestamp(end)
    return frame
