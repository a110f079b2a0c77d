"""Forecasts under parameter draws from a checked polynomial through a few exact draws."""

from __future__ import annotations

import numpy as np
import pytest

from clvreport.models import draw_expansion
from clvreport.models.bgnbd import BetaGeoModel
from clvreport.models.clv import ClvSettings, forecast_if_alive
from clvreport.models.draw_expansion import TOLERANCE, evaluate_over_draws
from clvreport.models.paretonbd import ParetoNBDModel

BGNBD_CDNOW = np.array([0.2426, 4.4136, 0.7929, 2.4259])  # Fader, Hardie & Lee (2005), weeks
PNBD_CDNOW = np.array([0.5533, 10.5776, 0.6061, 11.6650])
SETTINGS = ClvSettings(horizon_months=12, discount_rate=0.1, gross_margin=1.0, time_unit="weeks")


def _draws(centre: np.ndarray, spread: float, n: int = 200, seed: int = 0) -> np.ndarray:
    """Log-normal draws around ``centre``, correlated like a fit's (r with alpha, a with b)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, centre.size))
    z[:, 1] = 0.8 * z[:, 0] + 0.6 * z[:, 1]
    z[:, 3] = 0.7 * z[:, 2] + 0.71 * z[:, 3]
    return np.exp(np.log(centre) + spread * z)


def _histories(n: int = 1_500, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.uniform(1.0, 78.0, n)
    x = np.minimum(rng.poisson(rng.gamma(0.5, 4.0, n)), 60).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0.0, 1.0, n), 0.0)
    return x, t_x, T


def _columns(draws: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(draws[:, [i]] for i in range(draws.shape[1]))


@pytest.mark.parametrize(
    ("model", "centre"), [(BetaGeoModel, BGNBD_CDNOW), (ParetoNBDModel, PNBD_CDNOW)]
)
def test_close_draws_of_a_large_base_come_within_the_tolerance_of_the_exact_forecast(
    model, centre
) -> None:
    """Standard errors of a base of ~100k customers (log-scale 0.2-1%): every draw's
    forecast and P(alive), not only the checked ones, within the tolerance."""
    draws = _draws(centre, 0.005)
    x, t_x, T = _histories()

    def forecast(p):
        f = forecast_if_alive(model, p, x, T, SETTINGS)
        return f.horizon, f.discounted, f.no_purchase

    def alive(p):
        return (model._probability_alive_many(p, x, t_x, T),)

    for evaluate in (forecast, alive):
        outputs, expanded = evaluate_over_draws(evaluate, draws)
        assert expanded
        for got, want in zip(outputs, evaluate(_columns(draws)), strict=True):
            assert got.shape == want.shape == (200, x.size)
            scale = np.max(np.abs(want), axis=0)
            assert np.all(np.abs(got - want) <= TOLERANCE * scale)


def test_spread_draws_of_a_small_base_are_all_evaluated_exactly() -> None:
    """Where the polynomial misses the check draws (a few thousand customers' standard
    errors), every draw is exact: the result is the exact evaluation itself."""
    draws = _draws(BGNBD_CDNOW, 0.15)
    x, _, T = _histories()

    def forecast(p):
        f = forecast_if_alive(BetaGeoModel, p, x, T, SETTINGS)
        return f.horizon, f.discounted, f.no_purchase

    outputs, expanded = evaluate_over_draws(forecast, draws)
    assert not expanded
    for got, want in zip(outputs, forecast(_columns(draws)), strict=True):
        np.testing.assert_array_equal(got, want)


def test_exact_draws_keep_their_exact_values_and_few_draws_are_all_exact() -> None:
    draws = _draws(BGNBD_CDNOW, 0.001)
    calls: list[int] = []

    def evaluate(p):
        calls.append(p[0].shape[0])
        return (p[0] * p[1] + np.arange(4.0),)

    (values,), expanded = evaluate_over_draws(evaluate, draws)
    assert expanded and sum(calls) == draw_expansion.DESIGN_DRAWS + draw_expansion.CHECK_DRAWS
    exact = draws[:, [0]] * draws[:, [1]] + np.arange(4.0)
    assert np.sum(values == exact) >= 4 * sum(calls)  # the evaluated draws are exact
    np.testing.assert_allclose(values, exact, rtol=TOLERANCE)
    (few,), expanded = evaluate_over_draws(evaluate, draws[:40])
    assert not expanded
    np.testing.assert_array_equal(few, draws[:40, [0]] * draws[:40, [1]] + np.arange(4.0))


def test_a_value_that_is_not_finite_makes_every_draw_exact() -> None:
    draws = _draws(BGNBD_CDNOW, 0.001)

    def evaluate(p):
        return (np.where(p[0] > BGNBD_CDNOW[0], np.inf, 1.0) * np.ones((1, 3)),)

    (values,), expanded = evaluate_over_draws(evaluate, draws)
    assert not expanded
    np.testing.assert_array_equal(values, evaluate(_columns(draws))[0])
