"""Calibration/holdout validation and model choice.

A model fitted on the calibration period predicts each customer's purchases in
the holdout period; we compare with what happened, per calibration-frequency
bin and in total (the classic Fader-Hardie check), and choose the model whose
binned predictions are closest. The verdict is a short code plus the numbers;
the report turns it into words.

Verdict codes
-------------
``good``
    Total and binned holdout errors both within 15%.
``fair``
    Within 30%.
``poor``
    Worse than 30%: the report warns that forecasts are unreliable.
``no_holdout``
    The summary has no holdout columns.
``no_holdout_purchases``
    Nobody bought in the holdout period, so relative errors are undefined.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way. Marketing Science 24(2), 275-284 (Figure 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvreport.models.base import TransactionModel, json_float, validate_summary

__all__ = [
    "HOLDOUT_COLUMNS",
    "VERDICT_THRESHOLDS",
    "HoldoutComparison",
    "choose_model",
    "has_holdout",
    "holdout_comparison",
    "holdout_verdict",
]

HOLDOUT_COLUMNS = ("frequency_holdout", "duration_holdout")
VERDICT_THRESHOLDS: dict[str, float] = {"good": 0.15, "fair": 0.30}
_ON_TARGET = 0.05


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


def holdout_verdict(total_error: float, binned_error: float) -> tuple[str, str]:
    """Grade holdout errors into a verdict code and a direction.

    Parameters
    ----------
    total_error
        ``(predicted - actual) / actual`` for all holdout purchases.
    binned_error
        Customer-weighted mean absolute error of the per-bin means, relative
        to the mean actual purchases per customer.

    Returns
    -------
    tuple of str
        ``(verdict, direction)``: verdict in ``good, fair, poor,
        no_holdout_purchases``; direction in ``under, over, on_target``.

    Examples
    --------
    >>> holdout_verdict(-0.12, 0.08)
    ('good', 'under')
    """
    if not (np.isfinite(total_error) and np.isfinite(binned_error)):
        return "no_holdout_purchases", "on_target"
    worst = max(abs(total_error), binned_error)
    if worst <= VERDICT_THRESHOLDS["good"]:
        verdict = "good"
    elif worst <= VERDICT_THRESHOLDS["fair"]:
        verdict = "fair"
    else:
        verdict = "poor"
    if abs(total_error) <= _ON_TARGET:
        direction = "on_target"
    else:
        direction = "over" if total_error > 0 else "under"
    return verdict, direction


@dataclass(frozen=True)
class HoldoutComparison:
    """Actual versus predicted holdout purchases of one model.

    Attributes
    ----------
    model
        Model name.
    by_frequency
        One row per calibration-frequency bin: ``bin, customers, actual_mean,
        predicted_mean, actual_total, predicted_total``.
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
        ``bin_mae`` relative to the mean actual purchases per customer.
    verdict, direction
        See :func:`holdout_verdict`.
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
            "by_frequency": bins,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HoldoutComparison:
        """Rebuild from :meth:`to_dict` output."""

        def num(key: str) -> float:
            value = data.get(key)
            return float("nan") if value is None else float(value)

        return cls(
            model=str(data["model"]),
            by_frequency=pd.DataFrame(data.get("by_frequency") or []),
            actual_total=num("actual_total"),
            predicted_total=num("predicted_total"),
            total_error=num("total_error"),
            mae=num("mae"),
            rmse=num("rmse"),
            bin_mae=num("bin_mae"),
            binned_error=num("binned_error"),
            verdict=str(data["verdict"]),
            direction=str(data["direction"]),
        )


def holdout_comparison(
    model: TransactionModel, calibration: pd.DataFrame, *, max_bin: int = 7
) -> HoldoutComparison:
    """Compare a calibration-fitted model's holdout predictions with the actual purchases.

    Parameters
    ----------
    model
        Transaction model fitted on the calibration columns.
    calibration
        Summary with ``frequency, recency, T, frequency_holdout,
        duration_holdout`` in the model's time unit.
    max_bin
        Customers with at least this many calibration purchases share the last
        bin (``"7+"``).

    Returns
    -------
    HoldoutComparison
        Per-bin and total comparison with a verdict.

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
    """
    validate_summary(calibration, ("frequency", "recency", "T", *HOLDOUT_COLUMNS))
    x = calibration["frequency"].to_numpy(dtype=float)
    actual = calibration["frequency_holdout"].to_numpy(dtype=float)
    predicted = np.asarray(
        model.expected_purchases(
            calibration["duration_holdout"].to_numpy(dtype=float),
            x,
            calibration["recency"].to_numpy(dtype=float),
            calibration["T"].to_numpy(dtype=float),
        ),
        dtype=float,
    )
    bins = np.minimum(x, max_bin).astype(int)
    labels = [str(i) for i in range(max_bin)] + [f"{max_bin}+"]
    frame = pd.DataFrame({"bin": bins, "actual": actual, "predicted": predicted})
    grouped = frame.groupby("bin", sort=True).agg(
        customers=("actual", "size"),
        actual_total=("actual", "sum"),
        predicted_total=("predicted", "sum"),
    )
    grouped["actual_mean"] = grouped["actual_total"] / grouped["customers"]
    grouped["predicted_mean"] = grouped["predicted_total"] / grouped["customers"]
    by_frequency = grouped.reset_index()
    by_frequency["bin"] = [labels[i] for i in by_frequency["bin"]]
    by_frequency = by_frequency[
        ["bin", "customers", "actual_mean", "predicted_mean", "actual_total", "predicted_total"]
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
    verdict, direction = holdout_verdict(total_error, binned_error)
    return HoldoutComparison(
        model=model.name,
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
    )


def choose_model(
    comparisons: Mapping[str, HoldoutComparison],
    log_likelihoods: Mapping[str, float] | None = None,
) -> str:
    """Pick the model with the smallest binned holdout error (ties: higher likelihood).

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
    if not comparisons:
        raise ValueError("no models to choose from")
    lls = log_likelihoods or {}

    def key(name: str) -> tuple[float, float]:
        error = comparisons[name].bin_mae
        return (error if np.isfinite(error) else np.inf, -lls.get(name, -np.inf))

    return min(comparisons, key=key)
