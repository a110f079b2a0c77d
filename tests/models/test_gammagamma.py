"""Gamma-Gamma: published CDNOW values, gradient, shrinkage, recovery."""

from __future__ import annotations

import numpy as np
import pytest

from clvreport.errors import ModelError
from clvreport.models import GammaGammaModel, spend_frequency_correlation
from clvreport.models.gammagamma import _gamma_gamma_objective, spend_data
from clvreport.models.simulate import simulate_spend


def test_cdnow_parameters_match_fader_hardie(gamma_gamma: GammaGammaModel, cdnow) -> None:
    assert gamma_gamma.n_customers_ == 946
    assert gamma_gamma.params_["p"] == pytest.approx(6.25, abs=0.005)
    assert gamma_gamma.params_["q"] == pytest.approx(3.74, abs=0.005)
    assert gamma_gamma.params_["gamma"] == pytest.approx(15.44, abs=0.005)
    assert gamma_gamma.log_likelihood_ == pytest.approx(-4055.9177, abs=0.01)
    assert gamma_gamma.converged_


def test_analytic_gradient_matches_finite_differences(cdnow) -> None:
    objective = _gamma_gamma_objective(spend_data(cdnow["frequency"], cdnow["monetary_value"]))
    theta = np.log([5.0, 3.0, 12.0])
    _, grad = objective(theta)
    step = 1e-6
    numeric = [
        (objective(theta + step * e)[0] - objective(theta - step * e)[0]) / (2 * step)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


def test_expected_spend_shrinks_towards_the_mean(gamma_gamma: GammaGammaModel) -> None:
    p, q, gamma = gamma_gamma.param_vector
    mean = p * gamma / (q - 1)
    assert gamma_gamma.mean_spend == pytest.approx(mean)
    assert gamma_gamma.expected_spend(0, 0.0) == pytest.approx(mean)
    own = 100.0
    spends = gamma_gamma.expected_spend(np.array([1, 5, 50]), np.full(3, own))
    assert np.all(np.diff(spends) > 0) and np.all(spends < own) and np.all(spends > mean)
    # hand computation for x = 1: p (gamma + m) / (p + q - 1)
    assert spends[0] == pytest.approx(p * (gamma + own) / (p + q - 1))


def test_q_at_most_one_has_no_mean() -> None:
    model = GammaGammaModel.from_params({"p": 2.0, "q": 0.9, "gamma": 10.0})
    assert np.isnan(model.mean_spend)
    with pytest.raises(ModelError, match=r"q = 0\.9"):
        model.expected_spend(1, 20.0)


def test_non_positive_spends_are_excluded(cdnow) -> None:
    frame = cdnow.copy()
    first_buyer = frame.index[frame["frequency"] > 0][0]
    frame.loc[first_buyer, "monetary_value"] = -5.0
    model = GammaGammaModel().fit(frame)
    assert model.n_excluded_ == 1 and model.n_customers_ == 945


def test_fails_clearly_without_repeat_buyers() -> None:
    with pytest.raises(ModelError, match="fewer than two repeat buyers"):
        GammaGammaModel().fit(np.array([0, 0, 1]), np.array([0.0, 0.0, 10.0]))


def test_correlation_check() -> None:
    assert spend_frequency_correlation([1, 2, 3], [5.0, 10.0, 15.0]) == pytest.approx(1.0)
    assert np.isnan(spend_frequency_correlation([1, 1, 1], [5.0, 10.0, 15.0]))


def test_recovers_parameters_of_simulated_data() -> None:
    truth = {"p": 4.0, "q": 3.0, "gamma": 20.0}
    rng = np.random.default_rng(4)
    frequency = rng.integers(1, 15, 20_000)
    spend = simulate_spend(truth, frequency, seed=rng)
    model = GammaGammaModel().fit(frequency, spend)
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name
