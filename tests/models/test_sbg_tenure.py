"""Tenure: measured (censoring explicit) and expected by sBG, checked on simulated cohorts.

A cohort is simulated from the model's own story: each subscriber draws a churn
probability theta ~ Beta(alpha, beta) and pays for T ~ Geometric(theta) periods
(T >= 1). The sample means of T (and of T capped) are the truth the library's
formulas must recover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvreport.models.sbg import ShiftedBetaGeometricModel
from clvreport.tenure import (
    ALL_PLANS_LABEL,
    expected_new_months,
    expected_remaining_months,
    measured_tenure,
)


def _lifetimes(alpha: float, beta: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.geometric(rng.beta(alpha, beta, n))  # periods paid, T >= 1


def _model(alpha: float, beta: float) -> ShiftedBetaGeometricModel:
    return ShiftedBetaGeometricModel.from_params({"alpha": alpha, "beta": beta}, time_unit="months")


def _close(sample: np.ndarray, value: float, z: float = 4.0) -> None:
    se = sample.std(ddof=1) / np.sqrt(sample.size)
    assert abs(sample.mean() - value) < z * se, (sample.mean(), value, se)


def test_mean_lifetime_identity_on_a_simulated_cohort() -> None:
    alpha, beta = 3.0, 4.0
    model = _model(alpha, beta)
    lifetimes = _lifetimes(alpha, beta, 200_000, seed=1)
    truth = (alpha + beta - 1) / (alpha - 1)  # E[T] = E[1 / theta]
    assert model.expected_lifetime() == pytest.approx(truth)
    # T's variance is finite only for alpha > 2 (alpha = 3 here): the sample mean recovers E[T]
    _close(lifetimes.astype(float), truth)
    assert expected_new_months(model, 100_000, "month") == pytest.approx(truth, rel=1e-6)
    # in quarters: the same periods, three months each
    assert expected_new_months(model, 100_000, "quarter") == pytest.approx(3 * truth, rel=1e-6)


@pytest.mark.parametrize(("alpha", "beta"), [(3.0, 4.0), (0.704, 1.182), (0.668, 3.806)])
def test_capped_expectations_recover_the_simulated_truth(alpha: float, beta: float) -> None:
    """Also for alpha <= 1 (the example's plans), where E[T] is infinite but E[min(T, H)] is not."""
    model = _model(alpha, beta)
    lifetimes = _lifetimes(alpha, beta, 200_000, seed=2)
    cap = 60
    _close(np.minimum(lifetimes, cap).astype(float), expected_new_months(model, cap, "month"))
    # a subscriber who made n renewals has paid n + 1 periods (T > n); the further
    # renewals K = T - n - 1, capped at the horizon
    for n in (0, 3, 12):
        survivors = lifetimes[lifetimes > n]
        further = np.minimum(survivors - n - 1, cap).astype(float)
        _close(further, float(expected_remaining_months(model, n, cap, "month")[0]))
    if alpha <= 1:
        assert model.expected_lifetime() == np.inf
        # the capped mean keeps growing with the cap: the reason the report names its cap
        assert expected_new_months(model, 600, "month") > expected_new_months(model, cap, "month")


def test_remaining_tenure_grows_with_tenure_so_far() -> None:
    model = ShiftedBetaGeometricModel.from_params({"alpha": 0.7, "beta": 1.2}, time_unit="months")
    remaining = expected_remaining_months(model, np.arange(0, 40, 3), 60, "month")
    assert (np.diff(remaining) > 0).all()  # who stayed, stays (heterogeneity)
    assert (remaining <= 60).all()


def test_measured_tenure_keeps_censoring_apart_and_is_a_recount() -> None:
    """Staggered starts: ended means understate E[T]; the fitted model's capped mean recovers it."""
    alpha, beta = 3.0, 4.0
    rng = np.random.default_rng(5)
    n = 20_000
    lifetimes = _lifetimes(alpha, beta, n, seed=6)
    observable = rng.integers(0, 12, n)  # renewal dates passed by the report date
    ended = lifetimes <= observable
    contracts = pd.DataFrame(
        {
            "renewals": np.where(ended, lifetimes - 1, observable),
            "active": ~ended,
            "plan": np.where(rng.random(n) < 0.5, "a", "b"),
        }
    )
    table = measured_tenure(contracts, "month").set_index("plan")
    total = table.loc[ALL_PLANS_LABEL]
    assert total["ended"] + total["running"] == n
    assert total["ended"] == table.loc[["a", "b"], "ended"].sum()
    paid = contracts["renewals"] + 1
    assert total["ended_mean"] == pytest.approx(paid[~contracts["active"]].mean())
    assert total["running_mean"] == pytest.approx(paid[contracts["active"]].mean())
    assert total["all_mean"] == pytest.approx(paid.mean())
    # censoring: ended subscriptions are the short ones; all-together is a lower bound
    assert total["ended_mean"] < total["all_mean"] < lifetimes.mean()
    # the model fitted on the censored data recovers the uncensored truth (capped)
    fitted = ShiftedBetaGeometricModel(time_unit="months").fit_customers(
        contracts["renewals"].to_numpy(), contracts["active"].to_numpy()
    )
    cap = 36
    truth = np.minimum(lifetimes, cap).astype(float)
    assert abs(expected_new_months(fitted, cap, "month") - truth.mean()) < 0.05 * truth.mean()
