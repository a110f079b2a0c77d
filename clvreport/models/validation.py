"""Calibration/holdout validation and model choice.

A model fitted on the calibration period predicts each customer's purchases in
the holdout period; we compare with what happened, per calibration-frequency
bin (customers without a repeat purchase, ``x = 0``, included) and in total
(the classic Fader-Hardie check), and, when the summary carries the holdout
revenue and an expected spend per customer is given, in money. The model
whose binned predictions are closest is chosen, except that BG/NBD, whose
P(alive) is identically 1 for customers without a repeat purchase, gives way
to MBG/NBD or Pareto/NBD when one of them fits the holdout as well: a binned
error at most 20% (or 1 percentage point) larger and a verdict no worse (see
:func:`fits_as_well` for why). The verdict is a short code plus the numbers; the
report turns it into words.

What the verdict weighs
-----------------------
Four errors, each graded against its own thresholds; the worst grade wins:

total
    ``|predicted - actual| / actual`` of all holdout purchases.
binned
    The purchase-weighted mean of the bins' absolute relative errors,
    ``sum_b |predicted_b - actual_b| / sum_b actual_b`` (the customer-weighted
    mean absolute error of the bin means relative to the mean purchases per
    customer: the same number). Errors of opposite sign do not cancel.
worst bin
    The largest ``|relative error|`` of a *large* bin: one holding at least
    10% of the customers or of the holdout purchases, and at least
    :data:`MIN_BIN_PURCHASES` actual purchases (smaller bins are too noisy to
    judge alone). A bin is a part of the whole, so chance moves it more (a
    bin with 300 holdout purchases by some 6-10%), hence looser thresholds;
    but a group of customers whose purchases are off by more than 40% is a
    systematic miss the report must not call reliable.
revenue
    ``|predicted - actual| / actual`` of the holdout revenue, where the
    prediction is the expected purchases times the expected spend per
    purchase of each customer (the spend model checked out of sample). Only
    when an expected spend is given and the summary has ``revenue_holdout``.

Thresholds (:data:`VERDICT_THRESHOLDS`, :data:`WORST_BIN_THRESHOLDS`): total,
binned and revenue within 15% and every large bin within 20% is ``good``;
within 30% and 40% ``fair``; anything worse ``poor``.

The comparison also records the holdout length in months and, given the
forecast horizon, whether the holdout is shorter than it
(``shorter_than_horizon``): a 6-month check says little about month 7 to 12
of a 12-month forecast, whatever the verdict.

With a seasonal index (:mod:`clvreport.models.season`) the model and the
calibration summary are in its operational time, estimated on the
calibration period alone (:meth:`~clvreport.models.fitting.ClvModelFit.calibration_operational`):
``duration_holdout`` is then the holdout's operational length, so a check
over July to December expects December's peak; the holdout length in months
is read from the summary's dates.

Verdict codes
-------------
``good``
    Total, binned and revenue errors within 15%, every large bin within 20%.
``fair``
    Within 30% (large bins 40%).
``poor``
    Worse: the report warns that forecasts are unreliable.
``invalid_prediction``
    The model's prediction is not finite (NaN or infinite) for some customer:
    a failed candidate, never on target (direction ``unknown``).
``no_holdout``
    The summary has no holdout columns.
``no_holdout_purchases``
    Nobody bought in the holdout period, so relative errors are undefined.

Model-choice notes (:attr:`ModelChoice.note`)
---------------------------------------------
``best_holdout_fit``
    The chosen model has the smallest binned holdout error and is not BG/NBD.
``bgnbd_fits_better``
    BG/NBD is chosen because every alternative fits the holdout clearly
    worse (binned error more than the tolerance larger, or a worse verdict).
``bgnbd_only_candidate``
    BG/NBD is chosen because no alternative is available.
``avoids_bgnbd_artefact``
    BG/NBD had the smallest binned error, but an alternative fits as well and
    is chosen because its P(alive) of customers without a repeat purchase is
    not stuck at 1.
``best_likelihood``, ``bgnbd_likelihood_better``, ``avoids_bgnbd_artefact_likelihood``
    The same without a holdout, by calibration log-likelihood
    (:func:`select_model_by_likelihood`).

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way. Marketing Science 24(2), 275-284 (Figures 3 and 4).
.. [2] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical
   validation and comparison of models for customer base analysis.
   International Journal of Research in Marketing 24(3), 201-209 (MBG/NBD).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvreport.errors import ModelError
from clvreport.models.base import TransactionModel
from clvreport.models.inputs import validate_summary
from clvreport.models.numeric import json_float
from clvreport.models.units import DAYS_PER_MONTH, DAYS_PER_UNIT

__all__ = [
    "ARTEFACT_MODELS",
    "CHOICE_ABS_TOLERANCE",
    "CHOICE_TOLERANCE",
    "HOLDOUT_COLUMNS",
    "LIKELIHOOD_TOLERANCE",
    "ON_TARGET",
    "REVENUE_COLUMN",
    "VERDICT_THRESHOLDS",
    "WORST_BIN_THRESHOLDS",
    "HoldoutComparison",
    "ModelChoice",
    "choose_model",
    "compare_predictions",
    "fits_as_well",
    "has_holdout",
    "holdout_comparison",
    "holdout_verdict",
    "select_model",
    "select_model_by_likelihood",
]

HOLDOUT_COLUMNS = ("frequency_holdout", "duration_holdout")
REVENUE_COLUMN = "revenue_holdout"
VERDICT_THRESHOLDS: dict[str, float] = {"good": 0.15, "fair": 0.30}
WORST_BIN_THRESHOLDS: dict[str, float] = {"good": 0.20, "fair": 0.40}
LARGE_BIN_SHARE = 0.10  # a bin with this share of customers or holdout purchases is large
MIN_BIN_PURCHASES = 30  # ... if it also has this many actual holdout purchases
HORIZON_SLACK_MONTHS = 0.5  # a 39-week holdout (8.97 months) counts as 9 months
ARTEFACT_MODELS = frozenset({"bgnbd"})  # P(alive | x = 0) is identically 1
CHOICE_TOLERANCE = 0.20  # "fits as well": binned error at most 20% larger ...
CHOICE_ABS_TOLERANCE = 0.01  # ... or at most 1 percentage point larger
LIKELIHOOD_TOLERANCE = 1.0  # log-likelihood units (an AIC difference of 2)
ON_TARGET = 0.05
"""A total within this share of the actual counts as on target (a close miss)."""
_GRADES = ("good", "fair", "poor")
_MONTHS_PER_UNIT = {"years": 12.0, "quarters": 3.0}
_NAN = float("nan")


def has_holdout(summary: pd.DataFrame) -> bool:
    """Whether a summary carries holdout columns with a positive holdout duration.

    Parameters
    ----------
    summary
        Customer summary table.

    Returns
    -------
    bool
        ``True`` when ``frequency_holdout`` and ``duration_holdout`` are present
        and some duration is positive.

    Examples
    --------
    >>> has_holdout(pd.DataFrame({"frequency": [1]}))
    False
    """
    if not all(c in summary.columns for c in HOLDOUT_COLUMNS):
        return False
    duration = pd.to_numeric(summary["duration_holdout"], errors="coerce")
    return bool((duration > 0).any())


def _grade(error: float, thresholds: Mapping[str, float]) -> int:
    """0 (good), 1 (fair) or 2 (poor) for an absolute relative error."""
    if error <= thresholds["good"]:
        return 0
    return 1 if error <= thresholds["fair"] else 2


def _assess(
    total_error: float,
    binned_error: float,
    worst_bin_error: float,
    revenue_error: float,
    finite: bool,
) -> tuple[str, str, str | None]:
    """``(verdict, direction, limiting criterion)``."""
    if not finite:
        return "invalid_prediction", "unknown", None
    if not (np.isfinite(total_error) and np.isfinite(binned_error)):
        return "no_holdout_purchases", "on_target", None
    criteria = [
        ("total", abs(total_error), VERDICT_THRESHOLDS),
        ("binned", abs(binned_error), VERDICT_THRESHOLDS),
        ("worst_bin", abs(worst_bin_error), WORST_BIN_THRESHOLDS),
        ("revenue", abs(revenue_error), VERDICT_THRESHOLDS),
    ]
    graded = [
        (_grade(error, limits), error / limits["good"], name)
        for name, error, limits in criteria
        if np.isfinite(error)
    ]
    grade, _, limiting = max(graded)
    if abs(total_error) <= ON_TARGET:
        direction = "on_target"
    else:
        direction = "over" if total_error > 0 else "under"
    return _GRADES[grade], direction, limiting


def holdout_verdict(
    total_error: float,
    binned_error: float,
    *,
    worst_bin_error: float = _NAN,
    revenue_error: float = _NAN,
    finite: bool = True,
) -> tuple[str, str]:
    """Grade holdout errors into a verdict code and a direction.

    Parameters
    ----------
    total_error
        ``(predicted - actual) / actual`` for all holdout purchases.
    binned_error
        Purchase-weighted mean absolute relative error of the
        calibration-frequency bins (x = 0 included).
    worst_bin_error
        Relative error of the worst large bin (NaN: no large bin, not weighed).
    revenue_error
        ``(predicted - actual) / actual`` of the holdout revenue (NaN: not
        checked, not weighed).
    finite
        Whether every prediction was finite; ``False`` gives
        ``invalid_prediction``.

    Returns
    -------
    tuple of str
        ``(verdict, direction)``: verdict in ``good, fair, poor,
        invalid_prediction, no_holdout_purchases``; direction in ``under,
        over, on_target, unknown`` (``unknown`` only for invalid predictions).

    Examples
    --------
    >>> holdout_verdict(-0.12, 0.08)
    ('good', 'under')
    >>> holdout_verdict(-0.12, 0.12, worst_bin_error=-0.42)
    ('poor', 'under')
    >>> holdout_verdict(float("nan"), float("nan"), finite=False)
    ('invalid_prediction', 'unknown')
    """
    verdict, direction, _ = _assess(
        total_error, binned_error, worst_bin_error, revenue_error, finite
    )
    return verdict, direction


@dataclass(frozen=True)
class HoldoutComparison:
    """Actual versus predicted holdout purchases (and revenue) of one model.

    Attributes
    ----------
    model
        Model name.
    by_frequency
        One row per calibration-frequency bin: ``bin, customers, actual_mean,
        predicted_mean, actual_total, predicted_total, relative_error``
        (``(predicted_total - actual_total) / actual_total``, NaN when the bin
        bought nothing).
    actual_total, predicted_total
        Holdout purchases, all customers.
    total_error
        ``(predicted - actual) / actual`` (NaN when nobody bought).
    mae, rmse
        Per-customer mean absolute and root-mean-square error.
    bin_mae
        Customer-weighted mean absolute error of the bin means: the model
        choice criterion.
    binned_error
        ``bin_mae`` relative to the mean actual purchases per customer, which
        equals the purchase-weighted mean of the bins' absolute relative errors.
    verdict, direction
        See :func:`holdout_verdict`.
    worst_bin, worst_bin_error
        Label and relative error of the large bin with the largest absolute
        relative error (``None``/NaN when no bin is large).
    actual_revenue, predicted_revenue, revenue_error
        Holdout revenue, its prediction (expected purchases times expected
        spend per customer) and ``(predicted - actual) / actual``; NaN when no
        expected spend was given or the summary lacks ``revenue_holdout``.
    holdout_months
        Length of the holdout period in months.
    horizon_months
        The forecast horizon it was compared with (``None``: not given).
    shorter_than_horizon
        Whether the holdout is shorter than the horizon (by more than half a
        month); ``None`` when no horizon was given.
    invalid_predictions
        Customers whose prediction is NaN or infinite.
    limiting
        The criterion that set the verdict: ``total``, ``binned``,
        ``worst_bin`` or ``revenue`` (``None`` for ``invalid_prediction`` and
        ``no_holdout_purchases``).
    """

    model: str
    by_frequency: pd.DataFrame = field(repr=False)
    actual_total: float
    predicted_total: float
    total_error: float
    mae: float
    rmse: float
    bin_mae: float
    binned_error: float
    verdict: str
    direction: str
    worst_bin: str | None = None
    worst_bin_error: float = _NAN
    actual_revenue: float = _NAN
    predicted_revenue: float = _NAN
    revenue_error: float = _NAN
    holdout_months: float = _NAN
    horizon_months: float | None = None
    shorter_than_horizon: bool | None = None
    invalid_predictions: int = 0
    limiting: str | None = None

    @property
    def valid(self) -> bool:
        """Whether every prediction was finite (the candidate can be used)."""
        return self.verdict != "invalid_prediction"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary (bins as a list of records)."""
        bins = [
            {k: (json_float(v) if not isinstance(v, str) else v) for k, v in row.items()}
            for row in self.by_frequency.to_dict(orient="records")
        ]
        return {
            "model": self.model,
            "actual_total": json_float(self.actual_total),
            "predicted_total": json_float(self.predicted_total),
            "total_error": json_float(self.total_error),
            "mae": json_float(self.mae),
            "rmse": json_float(self.rmse),
            "bin_mae": json_float(self.bin_mae),
            "binned_error": json_float(self.binned_error),
            "verdict": self.verdict,
            "direction": self.direction,
            "worst_bin": self.worst_bin,
            "worst_bin_error": json_float(self.worst_bin_error),
            "actual_revenue": json_float(self.actual_revenue),
            "predicted_revenue": json_float(self.predicted_revenue),
            "revenue_error": json_float(self.revenue_error),
            "holdout_months": json_float(self.holdout_months),
            "horizon_months": json_float(self.horizon_months),
            "shorter_than_horizon": self.shorter_than_horizon,
            "invalid_predictions": self.invalid_predictions,
            "limiting": self.limiting,
            "by_frequency": bins,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HoldoutComparison:
        """Rebuild from :meth:`to_dict` output (older dictionaries lack the newer keys)."""

        def num(key: str) -> float:
            value = data.get(key)
            return float("nan") if value is None else float(value)

        bins = pd.DataFrame(data.get("by_frequency") or [])
        for column in bins.columns:
            if column != "bin":
                bins[column] = pd.to_numeric(bins[column], errors="coerce")
        horizon = data.get("horizon_months")
        shorter = data.get("shorter_than_horizon")
        worst = data.get("worst_bin")
        limiting = data.get("limiting")
        return cls(
            model=str(data["model"]),
            by_frequency=bins,
            actual_total=num("actual_total"),
            predicted_total=num("predicted_total"),
            total_error=num("total_error"),
            mae=num("mae"),
            rmse=num("rmse"),
            bin_mae=num("bin_mae"),
            binned_error=num("binned_error"),
            verdict=str(data["verdict"]),
            direction=str(data["direction"]),
            worst_bin=None if worst is None else str(worst),
            worst_bin_error=num("worst_bin_error"),
            actual_revenue=num("actual_revenue"),
            predicted_revenue=num("predicted_revenue"),
            revenue_error=num("revenue_error"),
            holdout_months=num("holdout_months"),
            horizon_months=None if horizon is None else float(horizon),
            shorter_than_horizon=None if shorter is None else bool(shorter),
            invalid_predictions=int(data.get("invalid_predictions") or 0),
            limiting=None if limiting is None else str(limiting),
        )


def _relative(predicted: float, actual: float) -> float:
    if actual > 0 and np.isfinite(predicted):
        return float((predicted - actual) / actual)
    return _NAN


def _holdout_months(calibration: pd.DataFrame, duration: np.ndarray, time_unit: str) -> float:
    """The holdout's calendar length in months.

    From the summary's dates when it has them (in operational time, with a
    seasonal index, ``duration_holdout`` is not calendar time), else from the
    longest holdout duration.
    """
    start = calibration.attrs.get("calibration_end")
    end = calibration.attrs.get("observation_end")
    if start is not None and end is not None:
        days = (pd.Timestamp(end) - pd.Timestamp(start)).days
        return float(days) / DAYS_PER_MONTH
    positive = duration[np.isfinite(duration) & (duration > 0)]
    if not len(positive):
        return _NAN
    if time_unit in _MONTHS_PER_UNIT:  # the period models' years and quarters
        return float(positive.max()) * _MONTHS_PER_UNIT[time_unit]
    return float(positive.max()) * DAYS_PER_UNIT[time_unit] / DAYS_PER_MONTH


def holdout_comparison(
    model: TransactionModel,
    calibration: pd.DataFrame,
    *,
    max_bin: int = 7,
    expected_spend: Any = None,
    horizon_months: float | None = None,
) -> HoldoutComparison:
    """Compare a calibration-fitted model's holdout predictions with the actual purchases.

    Parameters
    ----------
    model
        Transaction model fitted on the calibration columns.
    calibration
        Summary with ``frequency, recency, T, frequency_holdout,
        duration_holdout`` in the model's time unit, and ``revenue_holdout``
        (net holdout revenue per customer) for the revenue check.
    max_bin
        Customers with at least this many calibration purchases share the last
        bin (``"7+"``).
    expected_spend
        Expected spend per holdout purchase, one value per row of
        ``calibration`` (or one for all), from a spend model fitted on the
        calibration period. With it (and ``revenue_holdout``) the predicted
        holdout revenue is ``sum(expected purchases * expected spend)``.
    horizon_months
        The forecast horizon the report uses, to flag a shorter holdout.

    Returns
    -------
    HoldoutComparison
        Per-bin, total and revenue comparison with a verdict.

    Raises
    ------
    clvreport.errors.ModelError
        When ``expected_spend`` has neither one value nor one per customer.

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), Marketing Science 24(2), Figure 3.

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> cal = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86],
    ...                     "frequency_holdout": [0, 2], "duration_holdout": [39.0, 39.0]})
    >>> holdout_comparison(bg, cal).actual_total
    2.0
    >>> holdout_comparison(bg, cal, horizon_months=12).shorter_than_horizon
    True
    """
    validate_summary(calibration, ("frequency", "recency", "T", *HOLDOUT_COLUMNS))
    predicted = model.expected_purchases(
        calibration["duration_holdout"].to_numpy(dtype=float),
        calibration["frequency"].to_numpy(dtype=float),
        calibration["recency"].to_numpy(dtype=float),
        calibration["T"].to_numpy(dtype=float),
    )
    return compare_predictions(
        model.name,
        calibration,
        predicted,
        time_unit=model.time_unit,
        max_bin=max_bin,
        expected_spend=expected_spend,
        horizon_months=horizon_months,
    )


def compare_predictions(
    name: str,
    calibration: pd.DataFrame,
    predicted: Any,
    *,
    time_unit: str,
    max_bin: int = 7,
    expected_spend: Any = None,
    horizon_months: float | None = None,
) -> HoldoutComparison:
    """The holdout comparison of :func:`holdout_comparison` for predictions made elsewhere.

    The models on whole periods (BG/BB for donors, sBG per plan for
    subscriptions) predict their holdout themselves; this grades their
    predictions with the same bins, thresholds and verdict as the shop models.

    Parameters
    ----------
    name
        Model name (``"bgbb"``, ``"sbg"``).
    calibration
        ``frequency`` (the bins: purchases, gifts or renewals in the
        calibration period), ``frequency_holdout`` (actual),
        ``duration_holdout`` and optionally ``revenue_holdout``.
    predicted
        Expected holdout count per row (or one for all).
    time_unit
        Unit of ``duration_holdout`` (for the holdout's length when the
        summary's ``attrs`` lack ``calibration_end`` and ``observation_end``).
    max_bin, expected_spend, horizon_months
        As for :func:`holdout_comparison`.

    Returns
    -------
    HoldoutComparison

    Examples
    --------
    >>> cal = pd.DataFrame({"frequency": [0, 1, 1], "frequency_holdout": [0, 1, 2],
    ...                     "duration_holdout": [2.0, 2.0, 2.0]})
    >>> check = compare_predictions("bgbb", cal, [0.1, 1.4, 1.5], time_unit="years")
    >>> check.actual_total, check.predicted_total, check.verdict
    (3.0, 3.0, 'good')
    """
    validate_summary(calibration, ("frequency", *HOLDOUT_COLUMNS))
    x = calibration["frequency"].to_numpy(dtype=float)
    actual = calibration["frequency_holdout"].to_numpy(dtype=float)
    duration = calibration["duration_holdout"].to_numpy(dtype=float)
    predicted = np.broadcast_to(np.asarray(predicted, dtype=float), actual.shape)
    invalid = int((~np.isfinite(predicted)).sum())
    bins = np.minimum(x, max_bin).astype(int)
    labels = [str(i) for i in range(max_bin)] + [f"{max_bin}+"]
    frame = pd.DataFrame({"bin": bins, "actual": actual, "predicted": predicted})
    grouped = frame.groupby("bin", sort=True).agg(
        customers=("actual", "size"),
        actual_total=("actual", "sum"),
        predicted_total=("predicted", lambda s: float(np.sum(s.to_numpy()))),
    )
    grouped["actual_mean"] = grouped["actual_total"] / grouped["customers"]
    grouped["predicted_mean"] = grouped["predicted_total"] / grouped["customers"]
    grouped["relative_error"] = [
        _relative(p, a)
        for p, a in zip(grouped["predicted_total"], grouped["actual_total"], strict=True)
    ]
    by_frequency = grouped.reset_index()
    by_frequency["bin"] = [labels[i] for i in by_frequency["bin"]]
    by_frequency = by_frequency[
        [
            "bin",
            "customers",
            "actual_mean",
            "predicted_mean",
            "actual_total",
            "predicted_total",
            "relative_error",
        ]
    ]
    n = max(len(frame), 1)
    actual_total = float(actual.sum())
    predicted_total = float(predicted.sum())
    bin_mae = float(
        (grouped["customers"] * (grouped["actual_mean"] - grouped["predicted_mean"]).abs()).sum()
        / n
    )
    mean_actual = actual_total / n
    if actual_total > 0:
        total_error = (predicted_total - actual_total) / actual_total
        binned_error = bin_mae / mean_actual
    else:
        total_error = binned_error = float("nan")

    large = (
        (by_frequency["customers"] >= LARGE_BIN_SHARE * len(frame))
        | (by_frequency["actual_total"] >= LARGE_BIN_SHARE * actual_total)
    ) & (by_frequency["actual_total"] >= MIN_BIN_PURCHASES)
    candidates = by_frequency[large & by_frequency["relative_error"].notna()]
    worst_bin: str | None = None
    worst_bin_error = _NAN
    if len(candidates):
        row = candidates.loc[candidates["relative_error"].abs().idxmax()]
        worst_bin, worst_bin_error = str(row["bin"]), float(row["relative_error"])

    actual_revenue = predicted_revenue = revenue_error = _NAN
    if expected_spend is not None and REVENUE_COLUMN in calibration.columns:
        spend = np.asarray(expected_spend, dtype=float)
        if spend.ndim > 1 or (spend.ndim == 1 and len(spend) not in (1, len(frame))):
            raise ModelError(
                f"expected_spend has {spend.size} values for {len(frame)} customers",
                hint="pass one expected spend per customer of the calibration summary",
            )
        revenue = pd.to_numeric(calibration[REVENUE_COLUMN], errors="coerce").to_numpy(float)
        actual_revenue = float(np.sum(revenue))
        predicted_revenue = float(np.sum(predicted * spend))
        revenue_error = _relative(predicted_revenue, actual_revenue)

    holdout_months = _holdout_months(calibration, duration, time_unit)
    shorter = None
    if horizon_months is not None:
        shorter = bool(
            not np.isfinite(holdout_months)
            or holdout_months + HORIZON_SLACK_MONTHS < float(horizon_months)
        )

    verdict, direction, limiting = _assess(
        float(total_error), float(binned_error), worst_bin_error, revenue_error, invalid == 0
    )
    return HoldoutComparison(
        model=name,
        by_frequency=by_frequency,
        actual_total=actual_total,
        predicted_total=predicted_total,
        total_error=float(total_error),
        mae=float(np.mean(np.abs(predicted - actual))) if len(frame) else float("nan"),
        rmse=float(np.sqrt(np.mean((predicted - actual) ** 2))) if len(frame) else float("nan"),
        bin_mae=bin_mae,
        binned_error=float(binned_error),
        verdict=verdict,
        direction=direction,
        worst_bin=worst_bin,
        worst_bin_error=worst_bin_error,
        actual_revenue=actual_revenue,
        predicted_revenue=predicted_revenue,
        revenue_error=revenue_error,
        holdout_months=holdout_months,
        horizon_months=None if horizon_months is None else float(horizon_months),
        shorter_than_horizon=shorter,
        invalid_predictions=invalid,
        limiting=limiting,
    )


@dataclass(frozen=True)
class ModelChoice:
    """Which model was chosen, and why.

    Attributes
    ----------
    name
        The chosen model.
    note
        Why (see the module docstring): ``best_holdout_fit``,
        ``bgnbd_fits_better``, ``bgnbd_only_candidate``,
        ``avoids_bgnbd_artefact`` or their ``_likelihood`` counterparts.
    best
        The model with the smallest error (or highest likelihood), which
        differs from ``name`` only for ``avoids_bgnbd_artefact*``.
    """

    name: str
    note: str
    best: str


def fits_as_well(
    alternative: HoldoutComparison,
    reference: HoldoutComparison,
    *,
    tolerance: float = CHOICE_TOLERANCE,
    abs_tolerance: float = CHOICE_ABS_TOLERANCE,
) -> bool:
    """Whether ``alternative`` fits the holdout as well as ``reference``.

    "As well" means both:

    * its binned error is at most ``tolerance`` (20%) *relatively* larger, or
      at most ``abs_tolerance`` (1 percentage point of the holdout purchases)
      larger, whichever allows more; and
    * its verdict is no worse (``good`` < ``fair`` < ``poor``), so a model that
      misses one large bin badly never counts as fitting as well.

    Why these numbers. The tolerance is a materiality threshold, not a
    significance test. The three candidates have four parameters each, so a
    smaller binned error is not bought with flexibility. The binned error is
    the share of holdout purchases the model puts in the wrong
    calibration-frequency bins, typically 5-20%; a fifth of that is 1-4% of
    the holdout purchases, which changes no forecast a manager acts on. The
    paired bootstrap standard deviation of the relative difference between
    two candidates' binned errors on the same holdout is 5% (demo client,
    5,000 customers) to 12-16% (CDNOW sample, 2,357 customers), so 20% is
    one to four standard deviations: close to what one holdout can
    tell apart at all. BG/NBD's P(alive) = 1 for every one-time buyer, in
    contrast, distorts the value at stake and the segments of typically half
    the customer base. The absolute floor keeps the rule meaningful when the
    reference error is itself tiny.

    Parameters
    ----------
    alternative, reference
        Holdout comparisons of the two models on the same holdout.
    tolerance
        Relative tolerance on the binned error.
    abs_tolerance
        Absolute tolerance on the binned error (a share of the mean purchases).

    Returns
    -------
    bool

    Examples
    --------
    >>> def hc(name, error):
    ...     return HoldoutComparison(name, pd.DataFrame(), 10, 9, -0.1, 1, 1, error, error,
    ...                              "fair", "under")
    >>> fits_as_well(hc("mbgnbd", 0.21), hc("bgnbd", 0.20))
    True
    """
    ranks = {grade: i for i, grade in enumerate(_GRADES)}
    if alternative.verdict not in ranks:
        return False
    if reference.verdict in ranks and ranks[alternative.verdict] > ranks[reference.verdict]:
        return False
    a, r = alternative.binned_error, reference.binned_error
    if not (np.isfinite(a) and np.isfinite(r)):
        return False
    return bool(a <= r + max(tolerance * r, abs_tolerance) + 1e-12)


def _usable_comparison(comparison: HoldoutComparison) -> bool:
    return comparison.valid and bool(np.isfinite(comparison.bin_mae))


def select_model_by_likelihood(
    log_likelihoods: Mapping[str, float], *, tolerance: float = LIKELIHOOD_TOLERANCE
) -> ModelChoice:
    """Highest calibration log-likelihood, but not BG/NBD when an alternative is as likely.

    An alternative is as likely when its log-likelihood is at most
    ``tolerance`` (1) below BG/NBD's: with equal numbers of parameters that is
    an AIC difference of at most 2, the conventional "no real difference in
    support" (Burnham and Anderson, 2002).

    Parameters
    ----------
    log_likelihoods
        Calibration log-likelihood per model name.
    tolerance
        Log-likelihood units BG/NBD must win by.

    Returns
    -------
    ModelChoice

    Examples
    --------
    >>> select_model_by_likelihood({"bgnbd": -100.0, "pnbd": -100.4}).name
    'pnbd'
    """
    finite = {n: v for n, v in log_likelihoods.items() if np.isfinite(v)}
    if not finite:
        raise ValueError("no models to choose from")
    best = max(finite, key=finite.__getitem__)
    if best not in ARTEFACT_MODELS:
        return ModelChoice(best, "best_likelihood", best)
    alternatives = [n for n in finite if n not in ARTEFACT_MODELS]
    if not alternatives:
        return ModelChoice(best, "bgnbd_only_candidate", best)
    as_likely = [n for n in alternatives if finite[n] >= finite[best] - tolerance]
    if as_likely:
        name = max(as_likely, key=finite.__getitem__)
        return ModelChoice(name, "avoids_bgnbd_artefact_likelihood", best)
    return ModelChoice(best, "bgnbd_likelihood_better", best)


def select_model(
    comparisons: Mapping[str, HoldoutComparison],
    log_likelihoods: Mapping[str, float] | None = None,
    *,
    tolerance: float = CHOICE_TOLERANCE,
    abs_tolerance: float = CHOICE_ABS_TOLERANCE,
) -> ModelChoice:
    """Choose by holdout: the smallest binned error, unless that is BG/NBD and another fits as well.

    BG/NBD's P(alive) is identically 1 for customers without a repeat
    purchase, however long ago they bought: for them it cannot say who has
    left. MBG/NBD and Pareto/NBD can. So when BG/NBD has the smallest binned
    error but an alternative fits as well (:func:`fits_as_well`), the
    alternative with the smallest binned error among those is chosen.
    Candidates with an ``invalid_prediction`` are never chosen.

    Parameters
    ----------
    comparisons
        Holdout comparison per model name.
    log_likelihoods
        Calibration log-likelihood per model name, to break ties (and to
        choose when no comparison has a finite error, e.g. nobody bought in
        the holdout).
    tolerance, abs_tolerance
        See :func:`fits_as_well`.

    Returns
    -------
    ModelChoice

    Raises
    ------
    ValueError
        When there is nothing to choose from.

    Examples
    --------
    >>> def hc(name, error):
    ...     return HoldoutComparison(name, pd.DataFrame(), 10, 9, -0.1, 1, 1, error, error,
    ...                              "fair", "under")
    >>> select_model({"bgnbd": hc("bgnbd", 0.20), "pnbd": hc("pnbd", 0.21)})
    ModelChoice(name='pnbd', note='avoids_bgnbd_artefact', best='bgnbd')
    """
    if not comparisons:
        raise ValueError("no models to choose from")
    lls = log_likelihoods or {}
    pool = {n: c for n, c in comparisons.items() if _usable_comparison(c)}
    if not pool:
        valid = {n: lls.get(n, -np.inf) for n, c in comparisons.items() if c.valid}
        if valid and any(np.isfinite(v) for v in valid.values()):
            return select_model_by_likelihood(valid)
        name = next(iter(valid or comparisons))
        return ModelChoice(name, "best_holdout_fit", name)

    def key(name: str) -> tuple[float, float]:
        return (pool[name].bin_mae, -lls.get(name, -np.inf))

    best = min(pool, key=key)
    if best not in ARTEFACT_MODELS:
        return ModelChoice(best, "best_holdout_fit", best)
    alternatives = [n for n in pool if n not in ARTEFACT_MODELS]
    if not alternatives:
        return ModelChoice(best, "bgnbd_only_candidate", best)
    as_well = [
        n
        for n in alternatives
        if fits_as_well(pool[n], pool[best], tolerance=tolerance, abs_tolerance=abs_tolerance)
    ]
    if as_well:
        return ModelChoice(min(as_well, key=key), "avoids_bgnbd_artefact", best)
    return ModelChoice(best, "bgnbd_fits_better", best)


def choose_model(
    comparisons: Mapping[str, HoldoutComparison],
    log_likelihoods: Mapping[str, float] | None = None,
) -> str:
    """The name :func:`select_model` chooses (kept for callers that need no reason).

    Parameters
    ----------
    comparisons
        Holdout comparison per model name.
    log_likelihoods
        Calibration log-likelihood per model name, to break ties.

    Returns
    -------
    str
        The chosen model name.

    Examples
    --------
    >>> a = HoldoutComparison("bgnbd", pd.DataFrame(), 10, 9, -0.1, 1, 1, 0.2, 0.2, "good", "under")
    >>> b = HoldoutComparison("pnbd", pd.DataFrame(), 10, 11, 0.1, 1, 1, 0.1, 0.1, "good", "over")
    >>> choose_model({"bgnbd": a, "pnbd": b})
    'pnbd'
    """
    return select_model(comparisons, log_likelihoods).name
