"""Parametric-bootstrap intervals: draws, ordering and coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvreport.models import BetaGeoModel, GammaGammaModel, fit_clv_models, score_customers
from clvreport.models.simulate import simulate_summary
from clvreport.models.uncertainty import draw_parameters, percentile_interval


def test_draws_follow_the_log_scale_covariance(bgnbd: BetaGeoModel) -> None:
    draws = draw_parameters(bgnbd, 20_000, np.random.default_rng(1))
    assert draws.shape == (20_000, 4) and np.all(draws > 0)
    logs = np.log(draws)
    np.testing.assert_allclose(logs.mean(axis=0), np.log(bgnbd.param_vector), atol=0.01)
    sample, expected = np.cov(logs.T), bgnbd.covariance_log_
    np.testing.assert_allclose(np.diag(sample), np.diag(expected), rtol=0.05)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(sample / scale, expected / scale, atol=0.03)  # correlations


def test_gamma_gamma_draws_keep_a_finite_mean(gamma_gamma: GammaGammaModel) -> None:
    draws = draw_parameters(gamma_gamma, 500, np.random.default_rng(2), min_q=3.5)
    assert draws.shape == (500, 3) and np.all(draws[:, 1] > 3.5)


def test_no_covariance_means_no_draws() -> None:
    model = BetaGeoModel.from_params({"r": 1, "alpha": 1, "a": 1, "b": 1})
    assert draw_parameters(model, 10, np.random.default_rng(0)) is None


def test_percentile_interval_rejects_bad_coverage() -> None:
    with pytest.raises(ValueError):
        percentile_interval(np.zeros((3, 2)), 1.5)


def test_intervals_cover_the_true_expectation_about_90_percent() -> None:
    truth = {"r": 0.3, "alpha": 5.0, "a": 0.8, "b": 2.5}
    profile = pd.DataFrame(
        {
            "customer_id": [1],
            "frequency": [3],
            "recency": [25.0],
            "T": [39.0],
            "monetary_value": [1.0],
        }
    )
    true_model = BetaGeoModel.from_params(truth)
    horizon = 12 * 30.4375 / 7
    target = true_model.expected_purchases(horizon, 3, 25.0, 39.0)
    hits = 0
    replications = 60
    for seed in range(replications):
        summary = simulate_summary("bgnbd", truth, 2000, T=(30.0, 39.0), resolution=None, seed=seed)
        fit = fit_clv_models(summary, model="bgnbd")
        scores = score_customers(fit, profile, n_draws=300, seed=seed)
        hits += (
            scores["expected_purchases_low"][0] <= target <= scores["expected_purchases_high"][0]
        )
    assert 0.78 <= hits / replications <= 0.98


def test_value_draws_accept_precomputed_p_alive(cdnow, cdnow_full) -> None:
    from clvreport.models.clv import ClvSettings
    from clvreport.models.uncertainty import as_param_tuple, draw_fit_parameters, value_draws

    fit = fit_clv_models(cdnow, cdnow_full, model="bgnbd")
    draws = draw_fit_parameters(fit, 20, seed=1)
    head = cdnow_full.head(200)
    x, t_x, T = (head[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    m = head["monetary_value"].to_numpy(dtype=float)
    settings = ClvSettings(12, 0.1, 1.0, "weeks")
    p_alive = fit.model._probability_alive_many(as_param_tuple(draws.transaction), x, t_x, T)
    given = value_draws(fit, draws, x, t_x, T, m, settings, p_alive=p_alive)
    computed = value_draws(fit, draws, x, t_x, T, m, settings)
    np.testing.assert_array_equal(given[0], computed[0])
    np.testing.assert_array_equal(given[1], computed[1])
