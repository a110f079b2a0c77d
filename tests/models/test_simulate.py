"""Simulators: valid summaries whose averages match the models' own predictions."""

from __future__ import annotations

import numpy as np
import pytest

from clvreport.models import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from clvreport.models.simulate import simulate_spend, simulate_summary

CASES = [
    ("bgnbd", BetaGeoModel, {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}),
    ("mbgnbd", ModifiedBetaGeoModel, {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}),
    ("pnbd", ParetoNBDModel, {"r": 0.5, "alpha": 5.0, "s": 0.6, "beta": 12.0}),
]


@pytest.mark.parametrize(("name", "cls", "params"), CASES, ids=[c[0] for c in CASES])
def test_mean_purchases_and_zero_share_match_the_model(name, cls, params) -> None:
    summary = simulate_summary(name, params, 100_000, T=39.0, resolution=None, seed=1)
    model = cls.from_params(params)
    assert summary["frequency"].mean() == pytest.approx(
        model.expected_purchases_new_customer(39.0), rel=0.03
    )
    assert (summary["frequency"] == 0).mean() == pytest.approx(
        model.probability_no_purchases(39.0), abs=0.005
    )


@pytest.mark.parametrize(("name", "cls", "params"), CASES, ids=[c[0] for c in CASES])
def test_summaries_are_valid_and_on_the_day_grid(name, cls, params) -> None:
    summary = simulate_summary(name, params, 5000, T=(10.0, 52.0), seed=2)
    assert list(summary.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert (summary["recency"] <= summary["T"]).all()
    assert (summary.loc[summary["frequency"] == 0, "recency"] == 0).all()
    days = summary["T"] * 7
    np.testing.assert_allclose(days, np.round(days), atol=1e-9)


def test_spend_has_the_gamma_gamma_mean() -> None:
    params = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    spend = simulate_spend(params, np.full(200_000, 3), seed=3)
    assert spend.mean() == pytest.approx(GammaGammaModel.from_params(params).mean_spend, rel=0.02)
    assert simulate_spend(params, np.array([0]), seed=3).tolist() == [0.0]


def test_unknown_model_name() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        simulate_summary("nbd", {}, 10)
