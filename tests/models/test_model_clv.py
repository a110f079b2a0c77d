"""CLV: discounting, horizon in months, units, broadcasting over draws."""

from __future__ import annotations

import numpy as np
import pytest

from clvreport.errors import ModelError
from clvreport.models import (
    BetaGeoModel,
    ClvSettings,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    forecast_purchases,
)

MODELS = [
    BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
    ModifiedBetaGeoModel.from_params({"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}),
    ParetoNBDModel.from_params({"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}),
]
X = np.array([0.0, 1.0, 2.0, 7.0, 26.0])
T_X = np.array([0.0, 5.0, 30.43, 20.0, 30.86])
AGE = np.array([38.86, 38.0, 38.86, 38.0, 31.0])


def test_settings_discount_monthly_from_an_annual_rate() -> None:
    settings = ClvSettings(horizon_months=24, discount_rate=0.10, time_unit="weeks")
    factors = settings.discount_factors()
    assert factors[11] == pytest.approx(1 / 1.10)
    assert factors[23] == pytest.approx(1 / 1.10**2)
    np.testing.assert_allclose(settings.month_grid()[1:4], np.arange(1, 4) * 30.4375 / 7)
    assert settings.horizon == pytest.approx(2 * 365.25 / 7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_months": 0}, "horizon_months"),
        ({"horizon_months": 1.5}, "horizon_months"),
        ({"discount_rate": 1.2}, "discount_rate"),
        ({"gross_margin": 0.0}, "gross_margin"),
        ({"time_unit": "years"}, "unknown time unit"),
    ],
)
def test_settings_reject_nonsense(kwargs, message) -> None:
    with pytest.raises(ModelError, match=message):
        ClvSettings(**kwargs)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_undiscounted_clv_is_spend_times_expected_purchases(model) -> None:
    spend = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    clv = customer_lifetime_value(model, X, T_X, AGE, spend, horizon_months=12, discount_rate=0.0)
    horizon = 12 * 30.4375 / 7
    np.testing.assert_allclose(
        clv, spend * model.expected_purchases(horizon, X, T_X, AGE), rtol=1e-10
    )


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_discounting_matches_a_month_by_month_sum(model) -> None:
    months = np.arange(25) * 30.4375 / 7
    cumulative = np.array([model.expected_purchases(t, X, T_X, AGE) for t in months])
    by_month = np.diff(cumulative, axis=0)
    expected = (by_month * 1.08 ** (-np.arange(1, 25) / 12)[:, None]).sum(axis=0) * 0.4 * 30.0
    clv = customer_lifetime_value(
        model, X, T_X, AGE, 30.0, horizon_months=24, discount_rate=0.08, gross_margin=0.4
    )
    np.testing.assert_allclose(clv, expected, rtol=1e-10)
    undiscounted = customer_lifetime_value(
        model, X, T_X, AGE, 30.0, horizon_months=24, discount_rate=0
    )
    assert np.all(clv < 0.4 * undiscounted)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_same_customers_in_days_give_the_same_clv(model) -> None:
    params = dict(model.params_)
    for name in ("alpha", "beta"):
        if name in params:
            params[name] *= 7  # rates per day are 7 times slower
    in_days = type(model).from_params(params, time_unit="days")
    weeks = customer_lifetime_value(model, X, T_X, AGE, 25.0, horizon_months=18)
    days = customer_lifetime_value(in_days, X, T_X * 7, AGE * 7, 25.0, horizon_months=18)
    np.testing.assert_allclose(days, weeks, rtol=1e-9)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_forecast_broadcasts_over_parameter_draws(model) -> None:
    settings = ClvSettings(time_unit="weeks")
    rng = np.random.default_rng(0)
    draws = model.param_vector * np.exp(rng.normal(0, 0.05, (6, 4)))
    batched = forecast_purchases(
        model, tuple(draws[:, [i]] for i in range(4)), X, T_X, AGE, settings
    )
    for row, params in enumerate(draws):
        single = forecast_purchases(model, tuple(params), X, T_X, AGE, settings)
        for field in ("p_alive", "expected_purchases", "discounted_purchases", "prob_active"):
            np.testing.assert_allclose(
                getattr(batched, field)[row], getattr(single, field), rtol=1e-12
            )


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_forecast_matches_the_model_methods(model) -> None:
    settings = ClvSettings(horizon_months=6, time_unit="weeks")
    forecast = forecast_purchases(model, model._params(), X, T_X, AGE, settings)
    t = settings.horizon
    np.testing.assert_allclose(forecast.p_alive, model.probability_alive(X, T_X, AGE), rtol=1e-12)
    np.testing.assert_allclose(
        forecast.expected_purchases, model.expected_purchases(t, X, T_X, AGE), rtol=1e-12
    )
    np.testing.assert_allclose(
        forecast.prob_active, model.probability_of_purchase(t, X, T_X, AGE), rtol=1e-12
    )
    assert np.all((forecast.prob_active >= 0) & (forecast.prob_active <= forecast.p_alive))


def test_forecast_if_alive_in_blocks_equals_one_pass(monkeypatch) -> None:
    """Blocks of pairs bound the temporaries of many draws and change no value."""
    from clvreport.models import clv
    from clvreport.models.bgnbd import BetaGeoModel
    from clvreport.models.clv import ClvSettings, forecast_if_alive

    rng = np.random.default_rng(3)
    x = rng.integers(0, 20, 5_000).astype(float)
    T = rng.uniform(1.0, 100.0, 5_000)
    params = tuple(value * rng.uniform(0.9, 1.1, (40, 1)) for value in (0.243, 4.414, 0.793, 2.426))
    settings = ClvSettings(12, 0.1, 1.0, "weeks")
    whole = forecast_if_alive(BetaGeoModel, params, x, T, settings)
    monkeypatch.setattr(clv, "_BLOCK_ELEMENTS", 40 * 333)
    blocked = forecast_if_alive(BetaGeoModel, params, x, T, settings)
    for name in ("horizon", "discounted", "no_purchase"):
        assert getattr(blocked, name).shape == (40, 5_000)
        np.testing.assert_array_equal(getattr(blocked, name), getattr(whole, name))


@pytest.mark.parametrize("shape", [(), (1, 1)])
def test_forecast_if_alive_in_blocks_with_one_parameter_set(monkeypatch, shape) -> None:
    from clvreport.models import clv
    from clvreport.models.bgnbd import BetaGeoModel
    from clvreport.models.clv import ClvSettings, forecast_if_alive

    x = np.arange(50, dtype=float) % 7
    T = np.linspace(5.0, 80.0, 50)
    params = tuple(np.full(shape, v) for v in (0.243, 4.414, 0.793, 2.426))
    settings = ClvSettings(12, 0.1, 1.0, "weeks")
    whole = forecast_if_alive(BetaGeoModel, params, x, T, settings)
    monkeypatch.setattr(clv, "_BLOCK_ELEMENTS", 7)
    blocked = forecast_if_alive(BetaGeoModel, params, x, T, settings)
    for name in ("horizon", "discounted", "no_purchase"):
        np.testing.assert_array_equal(getattr(blocked, name), getattr(whole, name))
