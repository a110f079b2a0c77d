"""BG/NBD: published CDNOW values, gradient, predictions, recovery."""

from __future__ import annotations

import numpy as np
import pytest

from clvreport.models import BetaGeoModel, compress_rfm
from clvreport.models.bgnbd import beta_geometric_objective
from clvreport.models.simulate import simulate_bgnbd

# Fader, Hardie and Lee (2005); BTYD's rounded values for the pmf check
PUBLISHED = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
BTYD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_cdnow_parameters_match_fader_hardie_lee(bgnbd: BetaGeoModel) -> None:
    for name, value in PUBLISHED.items():
        assert bgnbd.params_[name] == pytest.approx(value, rel=5e-5)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.429, abs=0.01)
    assert bgnbd.converged_
    assert bgnbd.diagnostics_.starts_agree


def test_standard_errors_match_an_independent_hessian(bgnbd: BetaGeoModel, cdnow) -> None:
    # second differences of the plain per-customer log-likelihood, natural parameters
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    theta = bgnbd.param_vector

    def ll(p: np.ndarray) -> float:
        return float(BetaGeoModel._log_likelihood(tuple(p), x, t_x, T).sum())

    h = 1e-4 * theta
    hessian = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            hessian[i, j] = (
                ll(theta + ei + ej)
                - ll(theta + ei - ej)
                - ll(theta - ei + ej)
                + ll(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    expected = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(
        [bgnbd.standard_errors_[k] for k in bgnbd.param_names], expected, rtol=1e-3
    )


def test_log_likelihood_per_customer_sums_to_the_fit(bgnbd: BetaGeoModel, cdnow) -> None:
    ll = bgnbd.log_likelihood(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert ll.sum() == pytest.approx(bgnbd.log_likelihood_, rel=1e-12)


def test_analytic_gradient_matches_finite_differences(cdnow) -> None:
    data = compress_rfm(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    objective = beta_geometric_objective(data, modified=False)
    theta = np.log([0.3, 5.0, 0.6, 3.0])
    _, grad = objective(theta)
    step = 1e-6
    numeric = [
        (objective(theta + step * e)[0] - objective(theta - step * e)[0]) / (2 * step)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


def test_conditional_expectation_matches_hardie_spreadsheet(bgnbd: BetaGeoModel) -> None:
    assert bgnbd.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


def test_probability_of_no_purchase_matches_btyd() -> None:
    model = BetaGeoModel.from_params(BTYD)
    assert model.probability_no_purchases(39.0) == pytest.approx(0.5737864, abs=1e-7)


def test_heavy_buyer_matches_btyd_vignette() -> None:
    # customer 1516: x = 26, t_x = 216 days, T = 217 days (printed as 30.86, 31)
    model = BetaGeoModel.from_params(PUBLISHED)
    assert model.expected_purchases(52, 26, 216 / 7, 31) == pytest.approx(25.75659, rel=1e-4)
    assert model.probability_alive(26, 216 / 7, 31) == pytest.approx(0.9688523, rel=1e-5)


def test_predictions_have_the_right_limits(bgnbd: BetaGeoModel) -> None:
    assert bgnbd.probability_alive(0, 0, 50) == 1.0  # no repeat purchase: never dropped out
    assert bgnbd.expected_purchases(0.0, 3, 10, 20) == pytest.approx(0.0)
    horizons = np.array([1.0, 10.0, 100.0])
    expected = bgnbd.expected_purchases(horizons, 3, 10, 20)
    assert np.all(np.diff(expected) > 0)
    new = bgnbd.expected_purchases_new_customer(horizons)
    assert new == pytest.approx(bgnbd.expected_purchases(horizons, 0, 0, 0))


def test_huge_frequency_does_not_overflow() -> None:
    model = BetaGeoModel.from_params(PUBLISHED)
    value = model.expected_purchases(52, 2000, 100, 104)
    assert np.isfinite(value) and value > 0
    assert model.probability_alive(1000, 10, 100) == pytest.approx(0.0, abs=1e-12)


def test_weights_give_the_same_fit_as_repeated_rows(cdnow) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().rename("weight").reset_index()
    weighted = BetaGeoModel().fit(
        grouped["frequency"], grouped["recency"], grouped["T"], weights=grouped["weight"]
    )
    assert weighted.params_ == pytest.approx(PUBLISHED, rel=5e-5)


def test_recovers_parameters_of_simulated_data() -> None:
    truth = {"r": 0.4, "alpha": 6.0, "a": 0.9, "b": 3.0}
    data = simulate_bgnbd(truth, 30_000, T=(20.0, 60.0), resolution=None, seed=11)
    model = BetaGeoModel().fit(data)
    assert model.converged_
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name
