"""fit_clv_models: model choice on CDNOW and simulated data, statuses, model.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError, ModelError
from clvreport.models import (
    BetaGeoModel,
    ClvModelFit,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    fit_clv_models,
    fitting,
    score_customers,
)
from clvreport.models.simulate import simulate_spend, simulate_summary
from clvreport.models.validation import fits_as_well

BG_TRUTH = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
SPEND_TRUTH = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def cdnow_fit(cdnow, cdnow_full) -> ClvModelFit:
    return fit_clv_models(cdnow, cdnow_full, time_unit="weeks", horizon_months=12)


def simulate_with_holdout(
    n: int, params: dict[str, float], *, modified: bool, holdout: float = 39.0, seed: int = 0
) -> pd.DataFrame:
    """BG/NBD (or MBG/NBD: may drop out at the first purchase) over calibration and holdout.

    First purchases spread over 39 weeks, times on a daily grid, spend from Gamma-Gamma.
    """
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    age = np.floor(rng.uniform(1, 39, n) * 7) / 7
    end = age + holdout
    alive = rng.random(n) >= p if modified else np.ones(n, dtype=bool)
    t = np.zeros(n)
    x, t_x, x_holdout = np.zeros(n, dtype=int), np.zeros(n), np.zeros(n, dtype=int)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / rate[idx])
        over = t[idx] > end[idx]
        alive[idx[over]] = False
        buy = idx[~over]
        cal = buy[t[buy] <= age[buy]]
        x[cal] += 1
        t_x[cal] = np.floor(t[cal] * 7) / 7
        x_holdout[buy[t[buy] > age[buy]]] += 1
        alive[buy] &= rng.random(len(buy)) >= p[buy]
    return pd.DataFrame(
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


def test_cdnow_chooses_by_holdout_and_refits_on_the_full_period(cdnow_fit, bgnbd) -> None:
    fit = cdnow_fit
    assert (fit.status, fit.reasons, fit.reason) == ("ok", (), None)
    assert fit.selection == "holdout"
    assert set(fit.candidates) == {"bgnbd", "mbgnbd", "pnbd"}
    errors = {name: c.holdout.bin_mae for name, c in fit.candidates.items()}
    assert fit.model_name == min(errors, key=errors.get) == "bgnbd"
    # no alternative fits as well: Pareto/NBD's error is only 10.6% larger, but it misses
    # x = 0 by 42% (verdict poor); MBG/NBD's is 33% larger
    assert fit.choice_note == "bgnbd_fits_better"
    assert not any(
        fits_as_well(fit.candidates[name].holdout, fit.candidates["bgnbd"].holdout)
        for name in ("mbgnbd", "pnbd")
    )
    # the chosen model's validation adds the revenue check and the horizon to its candidate's
    validation, candidate = fit.validation, fit.candidates["bgnbd"].holdout
    assert validation.bin_mae == candidate.bin_mae and validation.verdict == "fair"
    assert np.isnan(candidate.revenue_error)
    assert validation.actual_revenue == pytest.approx(70976.39)
    assert validation.revenue_error == pytest.approx(-0.156, abs=0.005)
    assert (validation.horizon_months, validation.shorter_than_horizon) == (12.0, True)
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
    assert fit.choice_note == "best_likelihood"
    assert fit.validation is None


def test_a_fixed_model_is_fitted_alone(cdnow) -> None:
    fit = fit_clv_models(cdnow, model="pnbd")
    assert (fit.model_name, fit.selection, list(fit.candidates)) == ("pnbd", "fixed", ["pnbd"])
    assert fit.choice_note == "fixed"


def test_model_json_round_trip(cdnow_fit, cdnow_full) -> None:
    text = json.dumps(cdnow_fit.to_dict(), allow_nan=False)
    data = json.loads(text)
    assert data["status"] == "ok" and data["model"] == "bgnbd"
    assert data["transaction_model"]["params"]["r"] == pytest.approx(cdnow_fit.model.params_["r"])
    assert set(data["transaction_model"]["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert data["validation"]["actual_total"] == 1882
    assert data["choice_note"] == "bgnbd_fits_better"
    assert data["validation"]["shorter_than_horizon"] is True
    assert data["validation"]["revenue_error"] == pytest.approx(-0.156, abs=0.005)
    assert data["candidates"]["pnbd"]["holdout"]["predicted_total"] == pytest.approx(1665, abs=1)
    restored = ClvModelFit.from_dict(data)
    assert json.loads(json.dumps(restored.to_dict())) == data
    assert restored.choice_note == "bgnbd_fits_better"
    old = {k: v for k, v in data.items() if k != "choice_note"}
    assert ClvModelFit.from_dict(old).choice_note is None
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


def test_identical_customers_give_the_limiting_model_flagged() -> None:
    summary = pd.DataFrame(
        {
            "customer_id": range(60),
            "frequency": 2,
            "recency": 10.0,
            "T": 20.0,
            "monetary_value": 5.0,
        }
    )
    # No heterogeneity at all: the optimum lies at a limit of every model. BG/NBD and
    # MBG/NBD give their limiting model (flagged); nobody ends "not converged".
    fit = fit_clv_models(summary)
    assert fit.status == "degraded"
    assert "boundary_optimum" in fit.reasons
    assert fit.model is not None and fit.model.boundary_
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


def test_bgnbd_gives_way_to_mbgnbd_that_fits_as_well() -> None:
    """MBG/NBD data: BG/NBD has the smallest binned error, MBG/NBD is within 20%: MBG/NBD."""
    summary = simulate_with_holdout(4000, BG_TRUTH, modified=True, seed=0)
    fit = fit_clv_models(summary)
    holdouts = {name: c.holdout for name, c in fit.candidates.items()}
    errors = {name: h.binned_error for name, h in holdouts.items()}
    assert min(errors, key=errors.get) == "bgnbd"
    assert errors["mbgnbd"] <= 1.2 * errors["bgnbd"]
    assert holdouts["mbgnbd"].verdict == holdouts["bgnbd"].verdict
    assert (fit.status, fit.model_name, fit.selection) == ("ok", "mbgnbd", "holdout")
    assert fit.choice_note == "avoids_bgnbd_artefact"
    # the point of it: long-lapsed one-time buyers are no longer certainly alive
    lapsed = (summary["frequency"] == 0) & (summary["T"] > 30)
    p_alive = fit.model.probability_alive(
        summary.loc[lapsed, "frequency"], summary.loc[lapsed, "recency"], summary.loc[lapsed, "T"]
    )
    assert np.max(p_alive) < 0.9
    assert fit.validation.revenue_error == pytest.approx(
        fit.validation.predicted_revenue / fit.validation.actual_revenue - 1
    )


def test_bgnbd_that_fits_clearly_better_stays_and_says_why() -> None:
    summary = simulate_with_holdout(4000, BG_TRUTH, modified=False, seed=1)
    fit = fit_clv_models(summary)
    errors = {name: c.holdout.binned_error for name, c in fit.candidates.items()}
    for name in ("mbgnbd", "pnbd"):
        assert errors[name] > max(1.2 * errors["bgnbd"], errors["bgnbd"] + 0.01)
    assert (fit.model_name, fit.choice_note) == ("bgnbd", "bgnbd_fits_better")


def _nan_predictions(monkeypatch, *classes) -> None:
    for cls in classes:
        original = cls.expected_purchases

        def broken(self, t, frequency, recency, T, _original=original):
            value = np.array(_original(self, t, frequency, recency, T), dtype=float, ndmin=1)
            value[0] = np.nan
            return value

        monkeypatch.setattr(cls, "expected_purchases", broken)


def test_a_candidate_with_nan_predictions_is_unusable(cdnow, monkeypatch) -> None:
    _nan_predictions(monkeypatch, BetaGeoModel)
    fit = fit_clv_models(cdnow)
    assert fit.candidates["bgnbd"].holdout.verdict == "invalid_prediction"
    assert fit.model_name in {"mbgnbd", "pnbd"} and fit.usable
    assert fit.choice_note == "best_holdout_fit"
    json.dumps(fit.to_dict(), allow_nan=False)


def test_nan_predictions_everywhere_fail_cleanly(cdnow, monkeypatch) -> None:
    _nan_predictions(monkeypatch, BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel)
    for fit in (
        fit_clv_models(cdnow),
        fit_clv_models(cdnow, model="pnbd"),
        fit_clv_models(cdnow.drop(columns=["frequency_holdout", "duration_holdout"])),
    ):
        assert (fit.status, fit.reason, fit.usable) == ("failed", "invalid_predictions", False)
        json.dumps(fit.to_dict(), allow_nan=False)


def test_nan_predictions_without_holdout_exclude_the_candidate(cdnow, monkeypatch) -> None:
    _nan_predictions(monkeypatch, ModifiedBetaGeoModel)
    fit = fit_clv_models(cdnow.drop(columns=["frequency_holdout", "duration_holdout"]))
    # MBG/NBD has the highest likelihood but cannot predict; BG/NBD and Pareto/NBD remain
    assert fit.model_name != "mbgnbd" and fit.selection == "likelihood" and fit.usable


def test_a_refit_with_nan_predictions_falls_back_to_the_calibration_fit(
    cdnow, cdnow_full, monkeypatch
) -> None:
    monkeypatch.setattr(
        fitting, "_predictions_finite", lambda _c, summary: summary is not cdnow_full
    )
    fit = fit_clv_models(cdnow, cdnow_full)
    assert fit.status == "degraded" and "full_refit_not_converged" in fit.reasons
    assert fit.model is fit.candidates[fit.model_name].model


@pytest.fixture(scope="module")
def demo_summaries() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo client's calibration (holdout = its last 6 months) and full summaries."""
    from pathlib import Path

    from clvreport.analysis import calibration_end_for
    from clvreport.config import load_client
    from clvreport.ingest.transactions import load_transactions
    from clvreport.metrics import observation_window
    from clvreport.rfm import rfm_summary

    client_dir, config = load_client("demo", Path(__file__).resolve().parents[2] / "data")
    with load_transactions(config, client_dir, as_of=config.as_of) as tx:
        window = observation_window(tx.engine, tx.table, end=tx.as_of)
        end = calibration_end_for(window.start, tx.as_of, config.holdout_months)
        calibration = rfm_summary(tx, calibration_end=end, observation_end=tx.as_of)
        full = rfm_summary(tx, calibration_end=tx.as_of)
    return calibration, full


def test_demo_chooses_a_model_that_lets_one_time_buyers_leave(demo_summaries) -> None:
    """Demo (Pareto/NBD-like data): BG/NBD's binned error is smallest, but not by 20%."""
    calibration, full = demo_summaries
    fit = fit_clv_models(calibration, full, horizon_months=12)
    errors = {name: c.holdout.binned_error for name, c in fit.candidates.items()}
    assert min(errors, key=errors.get) == "bgnbd"
    # both alternatives let one-time buyers leave; the one nearer the holdout is chosen
    assert fit.choice_note == "avoids_bgnbd_artefact"
    assert fit.model_name == min(("pnbd", "mbgnbd"), key=errors.get)
    assert errors[fit.model_name] <= 1.2 * errors["bgnbd"]
    # the 6-month holdout of a 12-month forecast is flagged
    assert fit.validation.shorter_than_horizon is True
    assert fit.validation.holdout_months == pytest.approx(6.0, abs=0.1)
    lapsed = full[(full["frequency"] == 0) & (full["T"] > 52)]
    p_alive = fit.model.probability_alive(lapsed["frequency"], lapsed["recency"], lapsed["T"])
    assert np.median(p_alive) < 0.5
