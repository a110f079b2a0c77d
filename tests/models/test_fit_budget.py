"""Every fit is bounded: a budget of likelihood evaluations, the limits searched on a sample.

At each boundary of Pareto/NBD (no dropout heterogeneity, no rate heterogeneity,
both) a fit on large data searches its limits on the start search's subsample and
refines on all rows: the same optimum as a fit on all rows throughout (the code
before), within a bounded number of evaluations. A candidate that needs more than
its budget is skipped with a note naming the model chosen instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvreport.models import ParetoNBDModel, fit_clv_models
from clvreport.models.fitting import SKIPPED
from clvreport.models.optimise import (
    MAX_EVALUATIONS,
    EvaluationBudget,
    FitBudgetExceeded,
    _safe,
    maximise_likelihood,
)
from clvreport.models.simulate import simulate_paretonbd, simulate_summary

BOUNDARIES = {
    "no_dropout_heterogeneity": (
        {"r": 0.6, "alpha": 8.0, "s": 1e6, "beta": 4e7},
        ("no_dropout_heterogeneity",),
    ),
    "no_rate_heterogeneity": (
        {"r": 1e6, "alpha": 1e7, "s": 0.6, "beta": 12.0},
        ("no_rate_heterogeneity",),
    ),
    "both": (
        {"r": 1e6, "alpha": 1e7, "s": 1e6, "beta": 4e7},
        ("no_rate_heterogeneity", "no_dropout_heterogeneity"),
    ),
}


def _summary(params: dict[str, float], n: int, seed: int) -> pd.DataFrame:
    return simulate_paretonbd(params, n, T=(10.0, 78.0), resolution=1 / 7, seed=seed)


def _fit(summary: pd.DataFrame, *, subsample: bool) -> ParetoNBDModel:
    model = ParetoNBDModel()
    if not subsample:
        model.search_customers = 10**9  # every optimisation on all rows, as before
    return model.fit(summary["frequency"], summary["recency"], summary["T"])


@pytest.mark.parametrize("case", list(BOUNDARIES))
def test_a_boundary_fit_on_large_data_equals_the_fit_on_all_rows(case: str) -> None:
    params, limits = BOUNDARIES[case]
    summary = _summary(params, 25_000, seed=2)
    sampled, everywhere = _fit(summary, subsample=True), _fit(summary, subsample=False)
    assert sampled.boundary_ == everywhere.boundary_
    if case != "no_rate_heterogeneity":  # that sample is most likely just inside (r ~ 1,200)
        assert sampled.boundary_ == limits
    assert sampled.converged_ and everywhere.converged_
    assert sampled.log_likelihood_ == pytest.approx(everywhere.log_likelihood_, rel=1e-11)
    for name in ("s", "beta") if case == "no_rate_heterogeneity" else ("r", "alpha"):
        # the parameters the limit leaves free agree (along its flat ridge the others less so)
        assert sampled.params_[name] == pytest.approx(everywhere.params_[name], rel=1e-5)
    # bounded: a few hundred evaluations over all rows, well inside the budget
    assert sampled.evaluations_ is not None and 20 < sampled.evaluations_ <= 400
    assert sampled.evaluations_ < MAX_EVALUATIONS


def test_the_budget_counts_subsample_evaluations_by_their_share() -> None:
    summary = _summary(BOUNDARIES["both"][0], 21_000, seed=3)
    sampled, everywhere = _fit(summary, subsample=True), _fit(summary, subsample=False)
    # every evaluation on all rows counts 1: the count is a whole number
    assert everywhere.evaluations_ == int(everywhere.evaluations_)
    assert sampled.evaluations_ != int(sampled.evaluations_)


def test_a_fit_beyond_its_budget_raises_and_stops_there() -> None:
    summary = _summary(BOUNDARIES["no_rate_heterogeneity"][0], 2_000, seed=4)
    model = ParetoNBDModel()
    model.max_evaluations = 25
    with pytest.raises(FitBudgetExceeded, match="more than 25 likelihood evaluations"):
        model.fit(summary["frequency"], summary["recency"], summary["T"])
    budget = EvaluationBudget(3)
    budget.spend(1.0)
    budget.spend(2.0)
    assert budget.used == 3.0
    with pytest.raises(FitBudgetExceeded):
        budget.spend(0.5)
    unbounded = EvaluationBudget(None)
    unbounded.spend(1e9)
    assert unbounded.used == 1e9


def test_a_candidate_beyond_its_budget_is_skipped_and_names_the_choice(monkeypatch) -> None:
    summary = simulate_summary(
        "bgnbd",
        {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5},
        2_000,
        spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0},
        seed=1,
    )
    monkeypatch.setattr(ParetoNBDModel, "max_evaluations", 10)
    fit = fit_clv_models(summary)
    skipped = fit.candidates["pnbd"]
    assert skipped.model is None and not skipped.usable
    assert skipped.error is not None and skipped.error.startswith(SKIPPED)
    assert skipped.error.endswith(f", chose {fit.model_name}")
    assert "more than 10 likelihood evaluations" in skipped.error
    assert fit.model_name in ("bgnbd", "mbgnbd")
    assert fit.usable
    assert fit.to_dict()["candidates"]["pnbd"]["error"] == skipped.error
    # with the default budget the same data fit Pareto/NBD as usual, well inside it
    monkeypatch.undo()
    model = ParetoNBDModel().fit(summary["frequency"], summary["recency"], summary["T"])
    assert model.converged_ and model.evaluations_ < MAX_EVALUATIONS / 3
    assert np.isfinite(model.log_likelihood_)


def test_limits_far_below_the_interior_are_screened_not_refined() -> None:
    # an interior truth: every limit is far less likely; on large data each is searched on
    # the subsample and, that far below, not refined on all rows
    summary = _summary({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, 25_000, seed=5)
    sampled, everywhere = _fit(summary, subsample=True), _fit(summary, subsample=False)
    assert sampled.boundary_ is None and everywhere.boundary_ is None
    assert sampled.log_likelihood_ == pytest.approx(everywhere.log_likelihood_, rel=1e-11)
    for name, value in sampled.params_.items():
        assert value == pytest.approx(everywhere.params_[name], rel=1e-6)
    screened = sampled.diagnostics_.limits
    refined = everywhere.diagnostics_.limits
    assert screened is not None and refined is not None
    assert screened.keys() == refined.keys()
    for key, value in refined.items():
        if key == "interior" or value is None:
            continue
        # the screened value is the limit's log-likelihood at the sample's optimum: a
        # lower bound of its maximum, close to it, and far below the interior
        assert screened[key] <= value + 1e-6 * abs(value)
        assert screened[key] >= value - 1e-3 * abs(value)
        assert value < refined["interior"] - 1e-3 * abs(refined["interior"])
    lower = [k for k, v in refined.items() if v is not None and screened[k] < v - 1e-9 * abs(v)]
    assert len(lower) >= 3  # screened: not at the limit's own maximum
    assert sampled.evaluations_ < 0.6 * everywhere.evaluations_


def test_a_point_asked_for_again_is_neither_evaluated_nor_charged_again() -> None:
    calls: list[np.ndarray] = []

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(theta.copy())
        return float(theta @ theta), 2.0 * theta

    budget = EvaluationBudget(None)
    wrapped = _safe(objective, budget, cost=0.5)
    first = wrapped(np.array([1.0, 2.0]))
    first[1][0] = 99.0  # the caller's copy: the remembered gradient stays as it was
    again = wrapped(np.array([1.0, 2.0]))
    assert len(calls) == 1 and budget.used == 0.5
    assert again[0] == 5.0 and again[1].tolist() == [2.0, 4.0]
    # an optimisation evaluates every distinct point once and is charged for those only
    calls.clear()
    budget = EvaluationBudget(None)
    optimum = maximise_likelihood(lambda _: objective, None, [np.array([3.0, -1.0])], budget=budget)
    assert np.allclose(optimum.log_params, 0.0, atol=1e-6)
    distinct = {c.tobytes() for c in calls}
    assert budget.used == len(calls) == len(distinct)
