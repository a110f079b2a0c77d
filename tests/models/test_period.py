"""period_forecast: what a stored model expects for any period, in total and per group."""

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import ModelError
from clvreport.models import fit_clv_models, score_segments, simulate_summary
from clvreport.models.period import PERIOD_COLUMNS, period_forecast
from clvreport.models.units import months_to_units


@pytest.fixture(scope="module")
def fitted():
    summary = simulate_summary(
        "bgnbd",
        {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5},
        3000,
        spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0},
        seed=7,
    )
    summary["segment"] = np.where(summary["frequency"] > 0, "repeat", "one-time")
    return fit_clv_models(summary, model="bgnbd"), summary


def test_twelve_months_equals_the_segment_scores(fitted):
    fit, summary = fitted
    t = float(months_to_units(12.0, fit.time_unit))
    groups, _ = period_forecast(fit, summary, "segment", t, n_draws=100)
    scored = score_segments(fit, summary, "segment", horizon_months=12, n_draws=100)
    merged = groups.merge(scored, left_on="group", right_on="segment", suffixes=("", "_s"))
    assert list(groups.columns) == PERIOD_COLUMNS
    np.testing.assert_allclose(
        merged["expected_purchases"], merged["expected_purchases_s"], rtol=1e-7
    )
    np.testing.assert_allclose(merged["purchases_low"], merged["purchases_low_s"], rtol=1e-3)
    np.testing.assert_allclose(merged["purchases_high"], merged["purchases_high_s"], rtol=1e-3)


def test_customers_add_up_and_revenue_is_purchases_times_spend(fitted):
    fit, summary = fitted
    groups, customers = period_forecast(fit, summary, "segment", 20.0, n_draws=50)
    assert groups["customers"].sum() == len(summary)
    assert customers["expected_purchases"].sum() == pytest.approx(
        groups["expected_purchases"].sum(), rel=1e-9
    )
    direct = fit.model.expected_purchases(
        20.0, summary["frequency"], summary["recency"], summary["T"]
    )
    np.testing.assert_allclose(customers["expected_purchases"], direct, rtol=1e-6)
    spend = fit.expected_spend(summary["frequency"], summary["monetary_value"])
    assert customers["expected_revenue"].sum() == pytest.approx(
        float(np.sum(direct * spend)), rel=1e-6
    )
    assert (groups["purchases_low"] <= groups["expected_purchases"]).all()
    assert (groups["expected_purchases"] <= groups["purchases_high"]).all()


def test_longer_periods_expect_more(fitted):
    fit, summary = fitted
    totals = [
        period_forecast(fit, summary, "all", t, n_draws=20)[0].loc[0, "expected_purchases"]
        for t in (4.0, 13.0, 26.0, 52.0)
    ]
    assert np.all(np.diff(totals) > 0)


def test_bad_period_is_refused(fitted):
    fit, summary = fitted
    with pytest.raises(ModelError, match="positive"):
        period_forecast(fit, summary, "all", 0.0)
    with pytest.raises(ModelError, match="positive"):
        period_forecast(fit, summary, "all", float("nan"))


def test_groups_from_a_series_keep_their_order(fitted):
    fit, summary = fitted
    labels = pd.Series(np.where(summary["frequency"] > 2, "b", "a"), index=summary.index)
    groups, _ = period_forecast(fit, summary, labels, 10.0, n_draws=10)
    assert list(groups["group"]) == list(pd.unique(labels))
