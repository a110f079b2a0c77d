"""score_customers / score_segments: columns, consistency, chunking, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError, ModelError
from clvreport.models import ClvModelFit, fit_clv_models, score_customers, score_segments
from clvreport.models.scoring import (
    SCORE_COLUMNS,
    SEGMENT_COLUMNS,
    clear_forecast_cache,
    score_customers_with_total,
)


@pytest.fixture(scope="module")
def fit(cdnow, cdnow_full) -> ClvModelFit:
    return fit_clv_models(cdnow, cdnow_full)


@pytest.fixture(scope="module")
def scores(fit, cdnow_full) -> pd.DataFrame:
    return score_customers(fit, cdnow_full, horizon_months=12, discount_rate=0.1, n_draws=100)


def test_one_row_per_customer_with_the_contract_columns(scores, cdnow_full) -> None:
    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["customer_id"].tolist() == cdnow_full["customer_id"].tolist()
    assert scores.index.equals(cdnow_full.index)
    assert scores[SCORE_COLUMNS[1:]].notna().all().all()


def test_values_agree_with_the_models(scores, fit, cdnow_full) -> None:
    x, t_x, T = (cdnow_full[c] for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(scores["p_alive"], fit.model.probability_alive(x, t_x, T))
    horizon = 12 * 30.4375 / 7
    np.testing.assert_allclose(
        scores["expected_purchases"], fit.model.expected_purchases(horizon, x, t_x, T)
    )
    spend = fit.spend_model.expected_spend(x, cdnow_full["monetary_value"])
    np.testing.assert_allclose(scores["expected_spend"], spend)
    assert np.all((scores["prob_active"] >= 0) & (scores["prob_active"] <= scores["p_alive"]))
    assert np.all(scores["clv"] > 0)
    assert np.all(scores["clv"] < scores["expected_purchases"] * scores["expected_spend"])


def test_intervals_are_ordered_and_contain_the_estimate(scores) -> None:
    assert np.all(scores["clv_low"] <= scores["clv_high"])
    assert np.all(scores["clv_low"] <= scores["clv"])
    inside = (scores["clv_low"] <= scores["clv"]) & (scores["clv"] <= scores["clv_high"])
    assert inside.mean() > 0.95
    # the expectation is above the 95th percentile only where buying nothing is that likely
    above = scores["clv"] > scores["clv_high"]
    assert np.all(scores.loc[above, "purchases_high"] == 0)
    assert np.all(scores["expected_purchases_low"] <= scores["expected_purchases_high"])


def test_predictive_purchase_intervals(scores, fit, cdnow_full) -> None:
    low, high = scores["purchases_low"], scores["purchases_high"]
    assert np.all(low == np.floor(low)) and np.all(low <= high)
    assert np.all(low <= scores["expected_purchases"])
    # predictive intervals are far wider than the parameter bands of the expectation
    width = high - low
    band = scores["expected_purchases_high"] - scores["expected_purchases_low"]
    assert np.median(width[cdnow_full["frequency"].to_numpy() > 0]) >= 2
    assert (width > band).mean() > 0.9
    # under the point estimate the interval holds at least 90% of each customer's pmf
    from clvreport.models.predictive import conditional_purchase_pmf

    x, t_x, T = (cdnow_full[c] for c in ("frequency", "recency", "T"))
    pmf = conditional_purchase_pmf(fit.model, 12 * 30.4375 / 7, x, t_x, T)
    cdf = np.cumsum(pmf, axis=1)
    rows = np.arange(len(cdf))
    lo, hi = low.to_numpy().astype(int), high.to_numpy().astype(int)
    mass = cdf[rows, hi] - np.where(lo > 0, cdf[rows, np.maximum(lo - 1, 0)], 0.0)
    assert np.quantile(mass, 0.05) > 0.85 and np.median(mass) >= 0.9


def test_clv_is_p_alive_times_clv_if_alive_and_the_interval_scales_purchases(scores) -> None:
    np.testing.assert_array_equal(scores["clv"], scores["p_alive"] * scores["clv_if_alive"])
    assert np.all(scores["clv_if_alive"] >= scores["clv"])
    # CLV bounds: purchase bounds x spend x the average discount of the expected purchases
    value_per_purchase = scores["clv"] / scores["expected_purchases"]
    np.testing.assert_allclose(scores["clv_low"], value_per_purchase * scores["purchases_low"])
    np.testing.assert_allclose(scores["clv_high"], value_per_purchase * scores["purchases_high"])
    assert np.all(value_per_purchase <= scores["expected_spend"] * (1 + 1e-12))


def test_chunking_and_seed_do_not_change_the_result(fit, cdnow_full) -> None:
    one = score_customers(fit, cdnow_full, n_draws=50, seed=3)
    chunked = score_customers(fit, cdnow_full, n_draws=50, seed=3, chunk_size=97)
    pd.testing.assert_frame_equal(one, chunked)
    other_seed = score_customers(fit, cdnow_full, n_draws=50, seed=4)
    assert not np.allclose(one["clv_high"], other_seed["clv_high"])


@pytest.mark.parametrize("threads", [1, 3])
def test_chunks_scored_on_threads_give_the_same_scores_and_totals(
    fit, cdnow_full, monkeypatch, threads
) -> None:
    """Chunks scored side by side are put back in order: bit-for-bit the same result."""
    from clvreport.models import threads as pool

    monkeypatch.setattr(pool, "THREADS", 1)
    clear_forecast_cache()
    base = score_customers_with_total(fit, cdnow_full, n_draws=50, chunk_size=97)
    monkeypatch.setattr(pool, "THREADS", threads)
    clear_forecast_cache()
    again = score_customers_with_total(fit, cdnow_full, n_draws=50, chunk_size=97)
    pd.testing.assert_frame_equal(base[0], again[0])
    pd.testing.assert_series_equal(base[1], again[1])


def test_margin_and_horizon(fit, cdnow_full, scores) -> None:
    half = score_customers(fit, cdnow_full, gross_margin=0.5, n_draws=100)
    np.testing.assert_allclose(half["clv"], scores["clv"] * 0.5)
    np.testing.assert_allclose(half["clv_low"], scores["clv_low"] * 0.5)
    longer = score_customers(fit, cdnow_full, horizon_months=24, n_draws=10)
    assert np.all(longer["clv"] > scores["clv"])


def test_segment_totals_add_up(fit, cdnow_full, scores) -> None:
    labels = pd.Series(
        np.where(cdnow_full["frequency"] > 0, "repeat", "one-time"), index=cdnow_full.index
    )
    table = score_segments(fit, cdnow_full, labels, n_draws=100).set_index("segment")
    assert list(table.reset_index().columns) == SEGMENT_COLUMNS
    assert table["customers"].sum() == len(cdnow_full)
    by_segment = scores.groupby(labels.to_numpy())[["clv", "expected_purchases"]].sum()
    np.testing.assert_allclose(table.loc[by_segment.index, "clv"], by_segment["clv"])
    assert np.all(table["clv_low"] <= table["clv"]) and np.all(table["clv"] <= table["clv_high"])
    assert np.all(table["purchases_low"] <= table["expected_purchases"])
    assert np.all(table["expected_purchases"] <= table["purchases_high"])
    # the predictive interval of a sum is wider than the parameter band of its expectation
    assert np.all(table["purchases_low"] <= table["expected_purchases_low"])
    assert np.all(table["purchases_high"] >= table["expected_purchases_high"])
    # a total is known relatively better than its customers
    width = (table["clv_high"] - table["clv_low"]) / table["clv"]
    customer_width = ((scores["clv_high"] - scores["clv_low"]) / scores["clv"]).median()
    assert np.all(width <= customer_width * 1.5)


@pytest.mark.parametrize("chunk_size", [20_000, 97])
def test_one_pass_gives_the_customers_and_the_total_of_the_two_calls(
    fit, cdnow_full, chunk_size
) -> None:
    # one set of draws and one evaluation per distinct history serve both
    clear_forecast_cache()
    options = {"n_draws": 60, "seed": 2, "chunk_size": chunk_size, "horizon_months": 12}
    scores, total = score_customers_with_total(fit, cdnow_full, **options)
    clear_forecast_cache()
    pd.testing.assert_frame_equal(scores, score_customers(fit, cdnow_full, **options))
    clear_forecast_cache()
    everyone = pd.Series("all", index=cdnow_full.index)
    table = score_segments(fit, cdnow_full, everyone, **options)
    assert list(total.index) == SEGMENT_COLUMNS and total["segment"] == "all"
    assert total["customers"] == len(cdnow_full) == table["customers"].iloc[0]
    for column in SEGMENT_COLUMNS[2:]:
        assert total[column] == pytest.approx(table[column].iloc[0], rel=1e-12), column
    assert total["clv"] == pytest.approx(scores["clv"].sum(), rel=1e-12)
    assert total["clv_low"] < total["clv"] < total["clv_high"]


def test_segments_by_column_name(fit, cdnow_full) -> None:
    frame = cdnow_full.assign(group="all")
    table = score_segments(fit, frame, "group", n_draws=20)
    assert table["segment"].tolist() == ["all"] and table["customers"].tolist() == [2357]
    with pytest.raises(DataError, match="one label per summary row"):
        score_segments(fit, frame, pd.Series(["a"]))


def test_mismatched_time_unit_is_refused(fit, cdnow_full) -> None:
    days = cdnow_full.copy()
    days.attrs["time_unit"] = "days"
    with pytest.raises(ModelError, match="summary is in days"):
        score_customers(fit, days)


def test_missing_columns_are_named(fit, cdnow_full) -> None:
    with pytest.raises(DataError, match="customer_id"):
        score_customers(fit, cdnow_full.drop(columns="customer_id"))
    with pytest.raises(DataError, match="monetary_value"):
        score_customers(fit, cdnow_full.drop(columns="monetary_value"))


def test_without_covariance_intervals_are_missing(fit, cdnow_full) -> None:
    data = fit.to_dict()
    data["transaction_model"]["covariance_log"] = None
    scores = score_customers(ClvModelFit.from_dict(data), cdnow_full.head(20), n_draws=10)
    assert scores["clv"].notna().all() and scores["clv_low"].isna().all()


@pytest.mark.parametrize("with_spend_model", [True, False])
def test_segment_sums_under_each_draw_are_the_customers_own_values_summed(
    fit, cdnow_full, with_spend_model
) -> None:
    """Customers sharing a history are summed before the draws (their spend is linear in
    their mean spend): each draw's segment totals equal every customer's own CLV and
    purchases under that draw, summed by segment."""
    import dataclasses

    from clvreport.models import scoring
    from clvreport.models.uncertainty import draw_fit_parameters, value_draws

    model = fit if with_spend_model else dataclasses.replace(fit, spend_model=None)
    if not with_spend_model:
        model = dataclasses.replace(model, spend_fallback=35.0)
    settings = scoring._settings(model, 12, 0.1, 0.4, cdnow_full)
    x, t_x, T, m = scoring._inputs(model, cdnow_full)
    labels = np.where(x > 3, 0, np.where(x > 0, 1, 2)).astype(np.int64)
    draws = draw_fit_parameters(model, 40, 5)
    assert (draws.spend is not None) == with_spend_model
    histories = scoring._Histories.of(x, t_x, T)
    assert histories.size < len(cdnow_full)  # customers do share histories
    order = scoring._by_pair(histories.x, histories.T)
    sums = scoring._SegmentSums(model, draws, histories, order, labels, 3, x, m, settings)
    for chunk, _ in scoring._draw_chunks(model, draws, histories, order, settings, 101):
        sums.add(sums.of(chunk))
    clear_forecast_cache()
    clv, purchases = value_draws(model, draws, x, t_x, T, m, settings)
    for segment in range(3):
        mine = labels == segment
        np.testing.assert_allclose(sums.clv[:, segment], clv[:, mine].sum(axis=1), rtol=1e-11)
        np.testing.assert_allclose(
            sums.purchases[:, segment], purchases[:, mine].sum(axis=1), rtol=1e-11
        )
