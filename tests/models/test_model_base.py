"""Shared base: input checks, compression, serialisation, time units, diagnostics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError, ModelError
from clvreport.models import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    compress_rfm,
)
from clvreport.models.base import MaximumLikelihoodModel
from clvreport.models.compression import factorize_pairs
from clvreport.models.inputs import validate_summary


def test_compression_merges_identical_histories() -> None:
    data = compress_rfm([0, 0, 2, 2, 2], [0.0, 0.0, 3.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0, 5.0])
    assert data.n_rows == 3 and data.n_customers == 5
    rows = sorted(zip(data.x, data.t_x, data.T, data.weight, strict=True))
    assert rows == [(0, 0, 5, 2), (2, 3, 5, 2), (2, 4, 5, 1)]
    codes, xs, ts = data.pair_codes("t_x")
    np.testing.assert_array_equal(xs[codes], data.x)
    np.testing.assert_array_equal(ts[codes], data.t_x)


def test_compression_sums_given_weights() -> None:
    data = compress_rfm([1, 1], [2.0, 2.0], [4.0, 4.0], weights=[3, 4])
    assert data.n_rows == 1 and data.weight.tolist() == [7.0]


def test_compression_keeps_the_likelihood(cdnow) -> None:
    model = BetaGeoModel.from_params({"r": 0.3, "alpha": 5.0, "a": 0.7, "b": 2.0})
    data = compress_rfm(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert data.n_rows < len(cdnow) / 2
    compressed = data.weight @ model.log_likelihood(data.x, data.t_x, data.T)
    full = model.log_likelihood(cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()
    assert compressed == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1], [5.0], [4.0], "recency .* must be <= T"),
        ([-1], [0.0], [4.0], "whole number >= 0"),
        ([1.5], [1.0], [4.0], "whole number >= 0"),
        ([0], [1.0], [4.0], "recency must be 0"),
        ([1], [np.nan], [4.0], "recency has a missing"),
        ([1], [1.0], [-1.0], "must be >= 0"),
    ],
)
def test_impossible_histories_are_named(frequency, recency, T, message) -> None:
    with pytest.raises(DataError, match=message):
        compress_rfm(frequency, recency, T)


def test_summary_validation_names_the_column_and_row() -> None:
    with pytest.raises(DataError, match=r"lacks column.*recency"):
        validate_summary(pd.DataFrame({"frequency": [1], "T": [2.0]}))
    frame = pd.DataFrame({"frequency": [1, 2], "recency": [1.0, None], "T": [2.0, 3.0]})
    with pytest.raises(DataError, match=r"'recency' has a missing .* row 1"):
        validate_summary(frame)
    with pytest.raises(DataError, match="expected a summary DataFrame"):
        validate_summary([1, 2])  # type: ignore[arg-type]


def test_factorize_pairs() -> None:
    codes, a, b = factorize_pairs(np.array([1.0, 2.0, 1.0, 1.0]), np.array([5.0, 5.0, 5.0, 6.0]))
    assert codes.tolist() == [0, 1, 0, 2]
    assert list(zip(a, b, strict=True)) == [(1.0, 5.0), (2.0, 5.0), (1.0, 6.0)]


@pytest.mark.parametrize("fixture", ["bgnbd", "mbgnbd", "paretonbd", "gamma_gamma"])
def test_json_round_trip(fixture, request) -> None:
    model = request.getfixturevalue(fixture)
    text = json.dumps(model.to_dict(), allow_nan=False)
    restored = MaximumLikelihoodModel.from_dict(json.loads(text))
    assert type(restored) is type(model)
    assert restored.params_ == model.params_
    assert restored.standard_errors_ == model.standard_errors_
    assert restored.log_likelihood_ == model.log_likelihood_
    assert restored.converged_ is True and restored.time_unit == "weeks"
    np.testing.assert_array_equal(restored.covariance_log_, model.covariance_log_)
    assert restored.diagnostics_ == model.diagnostics_


def test_from_dict_rejects_unknown_models() -> None:
    with pytest.raises(ModelError, match="unknown model 'nbd'"):
        MaximumLikelihoodModel.from_dict({"model": "nbd", "params": {}})
    with pytest.raises(ModelError, match="unknown model 'pnbd'"):
        GammaGammaModel.from_dict(
            ParetoNBDModel.from_params({"r": 1, "alpha": 1, "s": 1, "beta": 1}).to_dict()
        )


def test_from_params_checks_values() -> None:
    with pytest.raises(ModelError, match="needs parameter"):
        BetaGeoModel.from_params({"r": 1.0})
    with pytest.raises(ModelError, match="positive"):
        BetaGeoModel.from_params({"r": 1.0, "alpha": -1.0, "a": 1.0, "b": 1.0})


def test_unfitted_model_explains_itself() -> None:
    with pytest.raises(ModelError, match="has not been fitted"):
        BetaGeoModel().probability_alive(1, 1.0, 2.0)
    assert "unfitted" in repr(BetaGeoModel())


def test_time_unit_only_rescales_alpha(cdnow, bgnbd) -> None:
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    model = BetaGeoModel(time_unit="days").fit(days)
    assert model.time_unit == "days"
    assert model.params_["alpha"] == pytest.approx(7 * bgnbd.params_["alpha"], rel=1e-6)
    for name in ("r", "a", "b"):
        assert model.params_[name] == pytest.approx(bgnbd.params_[name], rel=1e-6)
    # the density of t_x picks up a Jacobian of 1/7 per repeat purchase
    shift = cdnow["frequency"].sum() * np.log(7)
    assert model.log_likelihood_ == pytest.approx(bgnbd.log_likelihood_ - shift, abs=1e-6)


def test_identical_customers_give_the_flagged_limiting_model() -> None:
    # no heterogeneity at all: the supremum is the limit r, alpha -> inf and a, b -> inf
    same = pd.DataFrame({"frequency": [2] * 50, "recency": [10.0] * 50, "T": [20.0] * 50})
    model = BetaGeoModel().fit(same)
    assert model.converged_
    assert model.boundary_ == ("no_rate_heterogeneity", "no_dropout_heterogeneity")
    assert model.diagnostics_.message.startswith("boundary optimum")
    assert np.isfinite(model.expected_purchases(52.0, 2, 10.0, 20.0))
    assert model.to_dict()["boundary"] == ["no_rate_heterogeneity", "no_dropout_heterogeneity"]


def test_large_data_uses_a_subsample_search_and_still_finds_the_optimum() -> None:
    from clvreport.models.simulate import simulate_bgnbd

    data = simulate_bgnbd({"r": 0.3, "alpha": 5.0, "a": 0.8, "b": 2.5}, 120_000, seed=8)
    model = BetaGeoModel().fit(data)  # search on ~50k customers, polish on all
    reference = BetaGeoModel(n_starts=1)
    reference.search_customers = 10**9  # type: ignore[misc]  # no subsample
    reference.fit(data)
    assert model.converged_ and reference.converged_
    assert model.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-10)
