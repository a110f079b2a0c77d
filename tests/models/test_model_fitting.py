"""fit_clv_models: model choice on CDNOW, statuses for degenerate data, model.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError, ModelError
from clvreport.models import ClvModelFit, fit_clv_models, score_customers
from clvreport.models.simulate import simulate_spend, simulate_summary

BG_TRUTH = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
SPEND_TRUTH = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def cdnow_fit(cdnow, cdnow_full) -> ClvModelFit:
    return fit_clv_models(cdnow, cdnow_full, time_unit="weeks")


def test_cdnow_chooses_by_holdout_and_refits_on_the_full_period(cdnow_fit, bgnbd) -> None:
    fit = cdnow_fit
    assert (fit.status, fit.reasons, fit.reason) == ("ok", (), None)
    assert fit.selection == "holdout"
    assert set(fit.candidates) == {"bgnbd", "mbgnbd", "pnbd"}
    errors = {name: c.holdout.bin_mae for name, c in fit.candidates.items()}
    assert fit.model_name == min(errors, key=errors.get) == "bgnbd"
    assert fit.validation is fit.candidates["bgnbd"].holdout
    assert fit.candidates["bgnbd"].model.params_ == pytest.approx(bgnbd.params_)
    # the scoring model is fitted on all 78 weeks, so it differs from the calibration fit
    assert fit.model.params_["alpha"] != pytest.approx(bgnbd.params_["alpha"], rel=1e-3)
    assert fit.model.converged_ and fit.n_customers == 2357
    assert fit.spend_model is not None and fit.spend_model.converged_


def test_without_holdout_the_likelihood_decides(cdnow) -> None:
    calibration = cdnow.drop(columns=["frequency_holdout", "duration_holdout"])
    fit = fit_clv_models(calibration)
    assert fit.selection == "likelihood"
    lls = {name: c.model.log_likelihood_ for name, c in fit.candidates.items()}
    assert fit.model_name == max(lls, key=lls.get) == "mbgnbd"
    assert fit.validation is None


def test_a_fixed_model_is_fitted_alone(cdnow) -> None:
    fit = fit_clv_models(cdnow, model="pnbd")
    assert (fit.model_name, fit.selection, list(fit.candidates)) == ("pnbd", "fixed", ["pnbd"])


def test_model_json_round_trip(cdnow_fit, cdnow_full) -> None:
    text = json.dumps(cdnow_fit.to_dict(), allow_nan=False)
    data = json.loads(text)
    assert data["status"] == "ok" and data["model"] == "bgnbd"
    assert data["transaction_model"]["params"]["r"] == pytest.approx(cdnow_fit.model.params_["r"])
    assert set(data["transaction_model"]["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert data["validation"]["actual_total"] == 1882
    assert data["candidates"]["pnbd"]["holdout"]["predicted_total"] == pytest.approx(1665, abs=1)
    restored = ClvModelFit.from_dict(data)
    assert json.loads(json.dumps(restored.to_dict())) == data
    pd.testing.assert_frame_equal(
        score_customers(restored, cdnow_full, n_draws=30),
        score_customers(cdnow_fit, cdnow_full, n_draws=30),
    )


def test_argument_mistakes_are_user_errors(cdnow) -> None:
    with pytest.raises(ModelError, match="unknown model 'nbd'"):
        fit_clv_models(cdnow, model="nbd")
    with pytest.raises(ModelError, match="unknown time unit"):
        fit_clv_models(cdnow, time_unit="years")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="lacks column"):
        fit_clv_models(cdnow.drop(columns="T"))
    days = cdnow.copy()
    days.attrs["time_unit"] = "days"
    with pytest.raises(ModelError, match="summary is in days"):
        fit_clv_models(days, time_unit="weeks")


def test_no_customers_fails_cleanly(cdnow) -> None:
    fit = fit_clv_models(cdnow.iloc[:0])
    assert (fit.status, fit.reason, fit.usable) == ("failed", "no_customers", False)
    json.dumps(fit.to_dict(), allow_nan=False)
    with pytest.raises(ModelError, match="no usable CLV model"):
        score_customers(fit, cdnow)


def test_too_few_repeat_buyers_fails_cleanly() -> None:
    summary = simulate_summary("bgnbd", {"r": 0.02, "alpha": 10.0, "a": 0.8, "b": 2.5}, 100, seed=1)
    assert (summary["frequency"] > 0).sum() < 10
    fit = fit_clv_models(summary)
    assert (fit.status, fit.reason) == ("failed", "too_few_repeat_buyers")


def test_identical_customers_do_not_converge_and_fail_cleanly() -> None:
    summary = pd.DataFrame(
        {
            "customer_id": range(60),
            "frequency": 2,
            "recency": 10.0,
            "T": 20.0,
            "monetary_value": 5.0,
        }
    )
    fit = fit_clv_models(summary)
    assert (fit.status, fit.reason) == ("failed", "not_converged")
    assert all(not c.usable for c in fit.candidates.values())
    json.dumps(fit.to_dict(), allow_nan=False)


def test_few_repeat_buyers_degrade() -> None:
    summary = simulate_summary("bgnbd", BG_TRUTH, 80, spend_params=SPEND_TRUTH, seed=0)
    assert 10 <= (summary["frequency"] > 0).sum() < 50
    fit = fit_clv_models(summary)
    assert (fit.status, fit.reasons) == ("degraded", ("few_repeat_buyers",))
    assert fit.usable


def test_spend_that_grows_with_frequency_is_flagged() -> None:
    summary = simulate_summary("bgnbd", BG_TRUTH, 4000, spend_params=SPEND_TRUTH, seed=5)
    summary["monetary_value"] *= 1 + 0.5 * summary["frequency"]
    fit = fit_clv_models(summary, model="bgnbd")
    assert fit.status == "degraded" and fit.reason == "spend_frequency_correlation"
    assert fit.spend_frequency_correlation > 0.3


def test_heavy_tailed_spend_falls_back_to_historic_means() -> None:
    summary = simulate_summary("bgnbd", BG_TRUTH, 4000, seed=6)
    rng = np.random.default_rng(6)
    summary["monetary_value"] = simulate_spend(
        {"p": 1.0, "q": 0.6, "gamma": 5.0}, summary["frequency"], seed=rng
    )
    fit = fit_clv_models(summary, model="bgnbd")
    assert fit.status == "degraded"
    assert fit.spend_model is None
    assert {"spend_model_infinite_mean", "spend_model_unavailable"} & set(fit.reasons)
    spend = fit.expected_spend(np.array([0, 3]), np.array([0.0, 12.5]))
    buyers = summary["monetary_value"][summary["frequency"] > 0]
    assert spend.tolist() == pytest.approx([buyers[buyers > 0].mean(), 12.5])


def test_missing_spend_column_still_gives_a_transaction_model() -> None:
    summary = simulate_summary("bgnbd", BG_TRUTH, 3000, seed=7).drop(columns="monetary_value")
    fit = fit_clv_models(summary, model="bgnbd")
    assert fit.status == "degraded" and fit.reason == "no_monetary_value" and fit.usable


def test_constant_spend_has_no_spend_model_but_scores() -> None:
    summary = simulate_summary("bgnbd", BG_TRUTH, 3000, seed=8)
    summary["monetary_value"] = np.where(summary["frequency"] > 0, 20.0, 0.0)
    fit = fit_clv_models(summary, model="bgnbd")
    assert fit.status == "degraded" and "spend_model_unavailable" in fit.reasons
    assert fit.spend_fallback == 20.0
    scores = score_customers(fit, summary, n_draws=20)
    assert (scores["expected_spend"] == 20.0).all()
    assert (scores["clv_low"] <= scores["clv_high"]).all()
