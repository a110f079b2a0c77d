"""fit_clv_models at scale: candidates compared on a sample, the chosen one refitted on all."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import ModelError
from clvreport.models import ClvModelFit, fit_clv_models, fitting
from clvreport.models.simulate import simulate_spend

SPEND_TRUTH = {"p": 6.0, "q": 4.0, "gamma": 15.0}
PNBD_TRUTH = {"r": 1.0, "alpha": 2.0, "s": 4.0, "beta": 40.0}
N = 6000
SAMPLE = 1500  # N > 2 * SAMPLE: the search runs on a sample


def simulate(
    model: str, params: dict[str, float], n: int, *, holdout: float = 39.0, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibration (with holdout columns) and full-period summaries of BG/NBD or Pareto/NBD data.

    First purchases spread over 39 weeks before the calibration end, times on a daily grid.
    """
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)
    if model == "bgnbd":
        p = rng.beta(params["a"], params["b"], n)
        death = np.full(n, np.inf)
    else:
        p = np.zeros(n)
        death = rng.exponential(1 / rng.gamma(params["s"], 1 / params["beta"], n))
    age = np.floor(rng.uniform(1, 39, n) * 7) / 7
    end = np.minimum(age + holdout, death)
    alive = np.ones(n, dtype=bool)
    t = np.zeros(n)
    x, t_x, x_all, t_all = (np.zeros(n) for _ in range(4))
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / rate[idx])
        over = t[idx] > end[idx]
        alive[idx[over]] = False
        buy = idx[~over]
        day = np.floor(t[buy] * 7) / 7
        x_all[buy] += 1
        t_all[buy] = day
        cal = buy[t[buy] <= age[buy]]
        x[cal] += 1
        t_x[cal] = np.floor(t[cal] * 7) / 7
        alive[buy] &= rng.random(len(buy)) >= p[buy]
    x_holdout = x_all - x
    calibration = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": x,
            "recency": np.minimum(t_x, age),
            "T": age,
            "monetary_value": simulate_spend(SPEND_TRUTH, x, seed=rng),
            "frequency_holdout": x_holdout,
            "revenue_holdout": x_holdout * 35.0,
            "duration_holdout": holdout,
        }
    )
    full = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": x_all,
            "recency": np.minimum(t_all, age + holdout),
            "T": age + holdout,
            "monetary_value": simulate_spend(SPEND_TRUTH, x_all, seed=rng),
        }
    )
    return calibration, full


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pareto/NBD data on which Pareto/NBD is clearly right (the others' errors are 3x larger)."""
    return simulate("pnbd", PNBD_TRUTH, N, seed=1)


@pytest.fixture(scope="module")
def fits(data) -> tuple[ClvModelFit, ClvModelFit]:
    """The same data with the search on all rows and on a sample of SAMPLE customers."""
    calibration, full = data
    return (
        fit_clv_models(calibration, full, horizon_months=12, search_sample=None),
        fit_clv_models(calibration, full, horizon_months=12, search_sample=SAMPLE),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_the_sample_chooses_the_model_the_full_search_chooses(data, fits, seed) -> None:
    everything, sampled = fits
    if seed != fitting.SEARCH_SEED:
        sampled = fit_clv_models(*data, search_sample=SAMPLE, search_seed=seed)
    assert (everything.search.method, sampled.search.method) == ("all", "subsample")
    assert sampled.search.seed == seed
    errors = {name: c.holdout.binned_error for name, c in everything.candidates.items()}
    assert min(errors["bgnbd"], errors["mbgnbd"]) > 2 * errors["pnbd"]
    assert (everything.model_name, everything.choice_note) == ("pnbd", "best_holdout_fit")
    assert (sampled.model_name, sampled.choice_note) == ("pnbd", "best_holdout_fit")
    assert sampled.selection == everything.selection == "holdout"
    assert sampled.status == everything.status == "ok"
    # the others were compared on the sample: its customers, with their own holdout purchases
    for name in ("bgnbd", "mbgnbd"):
        candidate = sampled.candidates[name]
        assert candidate.model.n_customers_ == SAMPLE
        assert candidate.holdout.by_frequency["customers"].sum() == SAMPLE


def test_only_the_chosen_model_is_refitted_on_all_rows_and_equals_a_full_fit(data, fits) -> None:
    calibration, full = data
    everything, sampled = fits
    chosen = sampled.model_name
    direct_calibration = fitting.MODELS[chosen](time_unit="weeks").fit(calibration)
    direct_full = fitting.MODELS[chosen](time_unit="weeks").fit(full)
    refit = sampled.candidates[chosen].model
    assert refit.n_customers_ == N and sampled.model.n_customers_ == N
    # both refits started from the optimum on the sample (one start), not the usual three
    assert refit.diagnostics_.n_starts == sampled.model.diagnostics_.n_starts == 1
    assert refit.params_ == pytest.approx(direct_calibration.params_, rel=1e-6)
    assert sampled.model.params_ == pytest.approx(direct_full.params_, rel=1e-6)
    assert sampled.model.params_ == pytest.approx(everything.model.params_, rel=1e-6)
    assert sampled.model.log_likelihood_ == pytest.approx(everything.model.log_likelihood_)
    assert sampled.model.converged_ and sampled.model.standard_errors_ is not None
    # its fit on the sample, as compared, is kept
    assert sampled.search.sample_fit["n_customers"] == SAMPLE
    assert sampled.search.sample_fit["params"] != pytest.approx(refit.params_, rel=1e-6)
    # the validation is the chosen model's on all customers, revenue and horizon included
    assert sampled.validation.by_frequency["customers"].sum() == N
    assert sampled.validation.bin_mae == pytest.approx(everything.validation.bin_mae, rel=1e-6)
    assert sampled.validation.revenue_error == pytest.approx(everything.validation.revenue_error)
    assert sampled.validation.shorter_than_horizon is True
    # the Gamma-Gamma spend model is fitted on all repeat buyers of the full period
    buyers = int(((full["frequency"] > 0) & (full["monetary_value"] > 0)).sum())
    assert sampled.spend_model.n_customers_ == buyers
    assert sampled.spend_model.params_ == pytest.approx(everything.spend_model.params_)


def test_model_json_states_how_the_model_was_chosen(fits) -> None:
    everything, sampled = fits
    data = json.loads(json.dumps(sampled.to_dict(), allow_nan=False))
    search = data["search"]
    assert {k: search[k] for k in ("method", "customers", "of", "seed", "note")} == {
        "method": "subsample",
        "customers": SAMPLE,
        "of": N,
        "seed": fitting.SEARCH_SEED,
        "note": None,
    }
    assert search["sample_fit"]["holdout"]["model"] == data["model"]
    customers = {name: c["n_customers"] for name, c in data["candidates"].items()}
    assert customers == {"bgnbd": SAMPLE, "mbgnbd": SAMPLE, "pnbd": N}
    assert data["transaction_model"]["n_customers"] == N
    restored = ClvModelFit.from_dict(data)
    assert restored.search == sampled.search
    assert json.loads(json.dumps(restored.to_dict())) == data
    plain = json.loads(json.dumps(everything.to_dict()))
    assert plain["search"] == {
        "method": "all",
        "customers": N,
        "of": N,
        "seed": None,
        "note": None,
        "sample_fit": None,
    }
    old = {k: v for k, v in plain.items() if k != "search"}
    assert ClvModelFit.from_dict(old).search is None


def test_below_the_threshold_nothing_changes(data, fits) -> None:
    calibration, full = data
    everything, _ = fits
    assert N <= 2 * fitting.SEARCH_SAMPLE
    for fit in (
        fit_clv_models(calibration, full, horizon_months=12),  # the default sample
        fit_clv_models(calibration, full, horizon_months=12, search_sample=N // 2),  # 2x: all
    ):
        assert fit.search == fitting.CandidateSearch("all", N, N)
        assert fit.to_dict() == everything.to_dict()
    # a fixed model has nothing to search
    fixed = fit_clv_models(calibration, full, model="bgnbd", search_sample=SAMPLE)
    assert (fixed.search.method, fixed.candidates["bgnbd"].model.n_customers_) == ("all", N)


def test_without_holdout_the_scaled_likelihoods_choose(data) -> None:
    calibration = data[0].drop(columns=["frequency_holdout", "duration_holdout"])
    everything = fit_clv_models(calibration, search_sample=None)
    sampled = fit_clv_models(calibration, search_sample=SAMPLE)
    assert sampled.selection == everything.selection == "likelihood"
    assert sampled.search.method == "subsample" and sampled.validation is None
    assert (sampled.model_name, sampled.choice_note) == (
        everything.model_name,
        everything.choice_note,
    )
    assert sampled.model.params_ == pytest.approx(everything.model.params_, rel=1e-6)


def test_a_failed_refit_repeats_the_search_on_all_rows(data, fits, monkeypatch) -> None:
    calibration, full = data
    everything, _ = fits
    original = fitting._refit

    def no_warm_refit(name, summary, **kwargs):
        return None if kwargs.get("start") is not None else original(name, summary, **kwargs)

    monkeypatch.setattr(fitting, "_refit", no_warm_refit)
    fit = fit_clv_models(calibration, full, horizon_months=12, search_sample=SAMPLE)
    assert fit.search == fitting.CandidateSearch("all", N, N, note="subsample_refit_failed")
    assert {k: v for k, v in fit.to_dict().items() if k != "search"} == {
        k: v for k, v in everything.to_dict().items() if k != "search"
    }


def test_search_sample_must_be_positive(data) -> None:
    with pytest.raises(ModelError, match="search_sample"):
        fit_clv_models(data[0], search_sample=0)
