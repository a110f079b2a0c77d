"""MBG/NBD: BTYDplus values on CDNOW, gradient, predictions, recovery."""

from __future__ import annotations

import numpy as np
import pytest

from clvreport.models import BetaGeoModel, ModifiedBetaGeoModel, compress_rfm
from clvreport.models.bgnbd import beta_geometric_objective
from clvreport.models.simulate import simulate_mbgnbd

BTYDPLUS = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


def test_cdnow_parameters_match_btydplus(mbgnbd: ModifiedBetaGeoModel, cdnow) -> None:
    for name, value in BTYDPLUS.items():
        assert mbgnbd.params_[name] == pytest.approx(value, abs=5e-4)
    assert mbgnbd.converged_
    # BTYDplus publishes parameters only: its rounded values must score just below our maximum
    published = ModifiedBetaGeoModel.from_params(BTYDPLUS)
    at_published = published.log_likelihood(cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()
    assert at_published <= mbgnbd.log_likelihood_ < at_published + 0.01


def test_log_likelihood_per_customer_sums_to_the_fit(mbgnbd, cdnow) -> None:
    ll = mbgnbd.log_likelihood(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert ll.sum() == pytest.approx(mbgnbd.log_likelihood_, rel=1e-12)


def test_analytic_gradient_matches_finite_differences(cdnow) -> None:
    data = compress_rfm(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    objective = beta_geometric_objective(data, modified=True)
    theta = np.log([0.4, 5.0, 1.2, 2.0])
    _, grad = objective(theta)
    step = 1e-6
    numeric = [
        (objective(theta + step * e)[0] - objective(theta - step * e)[0]) / (2 * step)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


def test_one_time_buyers_can_be_inactive(mbgnbd: ModifiedBetaGeoModel) -> None:
    # the difference with BG/NBD: P(alive) of a one-time buyer falls with time
    p = mbgnbd.probability_alive(np.zeros(3), np.zeros(3), np.array([1.0, 10.0, 40.0]))
    assert np.all(p < 1) and np.all(np.diff(p) < 0)


def test_new_customer_predictions_match_lifetimes_formula(mbgnbd: ModifiedBetaGeoModel) -> None:
    from scipy.special import hyp2f1

    r, alpha, a, b = mbgnbd.param_vector
    t = np.array([0.1429, 1.0, 31.8571, 78.0])
    closed_form = (
        b / (a - 1) * (1 - hyp2f1(r, b + 1, a + b, t / (alpha + t)) * (alpha / (alpha + t)) ** r)
    )
    np.testing.assert_allclose(mbgnbd.expected_purchases_new_customer(t), closed_form, rtol=1e-10)
    # Hardie's spreadsheet values, as quoted in lifetimes' tests (5%)
    np.testing.assert_allclose(
        mbgnbd.expected_purchases_new_customer(t), [0.0078, 0.0532, 1.0405, 1.8576], rtol=0.05
    )
    p0 = a / (a + b) + b / (a + b) * (alpha / (alpha + 39.0)) ** r
    assert mbgnbd.probability_no_purchases(39.0) == pytest.approx(p0, rel=1e-12)


def test_conditional_expectation_close_to_bg_nbd(mbgnbd: ModifiedBetaGeoModel) -> None:
    value = mbgnbd.expected_purchases(39, 2, 30.43, 38.86)
    assert value == pytest.approx(1.226, abs=0.05)
    bg = BetaGeoModel.from_params(mbgnbd.params_)
    assert mbgnbd.expected_purchases(39, 2, 30.43, 38.86) != bg.expected_purchases(
        39, 2, 30.43, 38.86
    )


def test_recovers_parameters_of_simulated_data() -> None:
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}
    data = simulate_mbgnbd(truth, 30_000, T=(20.0, 60.0), resolution=None, seed=12)
    model = ModifiedBetaGeoModel().fit(data)
    assert model.converged_
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name
