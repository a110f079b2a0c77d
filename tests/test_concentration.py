"""Concentration: 20/80 check, Lorenz curve, Gini and value tiers."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvreport.concentration
from clvreport.concentration import (
    concentration,
    gini,
    lorenz_curve,
    tier_summary,
    top_positions,
    top_share,
    value_tiers,
)
from clvreport.customer_groups import top_group

CDNOW_SAMPLE = Path(__file__).parent / "data" / "cdnow_sample.txt"
REVENUES = [270.0, 200.0, 80.0, 200.0]  # the four customers of tests/test_metrics.py


def test_docstring_examples_run():
    assert doctest.testmod(clvreport.concentration).failed == 0


def test_lorenz_curve_by_hand():
    curve = lorenz_curve(REVENUES)
    # Sorted 80, 200, 200, 270 of 750: cumulative 0, 80, 280, 480, 750.
    assert curve["customer_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve["value_share"].tolist() == pytest.approx([0, 80 / 750, 280 / 750, 480 / 750, 1])


def test_gini_by_hand():
    # 2 (1·80 + 2·200 + 3·200 + 4·270) / (4 · 750) − 5/4 = 4320/3000 − 1.25 = 0.19.
    assert gini(REVENUES) == pytest.approx(0.19, abs=1e-12)
    assert gini([5, 5, 5]) == pytest.approx(0.0, abs=1e-12)
    assert gini([0, 0, 0, 10]) == pytest.approx(3 / 4)  # (n − 1) / n
    assert math.isnan(gini([])) and math.isnan(gini([0, 0]))


def test_top_share_by_hand():
    # Top 20% of 4 customers = 0.8 customer: 0.8 of the top customer's 270 → 216 / 750.
    assert top_share(REVENUES, 0.2) == pytest.approx(0.288)
    # Top half: 270 + 200 = 470 of 750.
    assert top_share(REVENUES, 0.5) == pytest.approx(470 / 750)
    assert top_share(REVENUES, 0.0) == pytest.approx(0.0)
    assert top_share(REVENUES, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="share"):
        top_share(REVENUES, 1.2)


def test_concentration_by_hand():
    c = concentration(REVENUES)
    assert (c.n_customers, c.total) == (4, 750.0)
    assert c.top_value_share == pytest.approx(0.288)
    # 80% of revenue (600) needs 270 + 200 + 130/200 of the next 200: 2.65 customers.
    assert c.customer_share_for_target == pytest.approx(2.65 / 4)
    assert c.gini == pytest.approx(0.19)
    assert c.claim_holds is False
    assert concentration([0] * 8 + [50, 50]).claim_holds is True


def test_negative_values_count_as_zero():
    assert gini([-50, 0, 10]) == gini([0, 0, 10])
    assert lorenz_curve([-50, 10])["value_share"].tolist() == [0.0, 0.0, 1.0]


def test_nan_values_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        gini([1.0, np.nan])


def test_lorenz_is_thinned_to_max_points():
    values = np.arange(1, 10_001, dtype=float)
    curve = lorenz_curve(values, max_points=300)
    assert len(curve) == 300
    assert curve.iloc[0].tolist() == [0.0, 0.0] and curve.iloc[-1].tolist() == [1.0, 1.0]
    # Every point lies exactly on the curve: k customers hold k(k + 1) / 2 of n(n + 1) / 2.
    k = np.round(curve["customer_share"] * 10_000)
    assert curve["value_share"].to_numpy() == pytest.approx(k * (k + 1) / (10_000 * 10_001))


def test_value_tiers_by_hand():
    customers = pd.DataFrame({"revenue": np.arange(1.0, 101.0)})
    tiers = value_tiers(customers, "revenue")
    assert tiers.cat.categories.tolist() == ["top1", "top5", "top20", "rest"]
    assert tiers[customers["revenue"] == 100].tolist() == ["top1"]
    assert set(tiers[customers["revenue"].between(96, 99)]) == {"top5"}
    assert set(tiers[customers["revenue"].between(81, 95)]) == {"top20"}
    assert set(tiers[customers["revenue"] <= 80]) == {"rest"}
    s = tier_summary(customers, "revenue")
    assert s["value_tier"].tolist() == ["top1", "top5", "top20", "rest"]
    assert s["n_customers"].tolist() == [1, 4, 15, 80]
    # 100; 96 + 97 + 98 + 99 = 390; 81 + ... + 95 = 15 · 88 = 1320; 1 + ... + 80 = 3240.
    assert s["value"].tolist() == [100.0, 390.0, 1320.0, 3240.0]
    assert s["value_share"].tolist() == pytest.approx(
        [100 / 5050, 390 / 5050, 1320 / 5050, 3240 / 5050]
    )
    assert s["min_value"].tolist() == [100.0, 96.0, 81.0, 1.0]


def test_value_tier_ties_are_broken_by_order():
    # 10 customers, top 20% = 2 positions; three tie at the top: the first two are top20,
    # so a tier always holds the share of customers its label says (as top_group does).
    customers = pd.DataFrame({"clv": [9.0, 9.0, 9.0, 5, 4, 3, 2, 1, 1, 0]})
    tiers = value_tiers(customers, "clv", cuts=(0.2,))
    assert tiers.tolist() == ["top20"] * 2 + ["rest"] * 8
    top = top_group(customers.assign(segment="a", revenue=1.0), share=0.2)
    assert top.n_customers == (tiers == "top20").sum()


def test_small_bases_have_empty_top_tiers():
    # 4 customers: the top 1% and 5% hold 0.04 and 0.2 customers, so nobody; top 20% = 0.8.
    s = tier_summary(pd.DataFrame({"revenue": REVENUES}), "revenue")
    assert s["n_customers"].tolist() == [0, 0, 0, 4]
    assert math.isnan(s["mean_value"].iloc[0])


def test_tier_cuts_are_checked():
    customers = pd.DataFrame({"revenue": [1.0, 2.0]})
    with pytest.raises(ValueError, match="increasing"):
        value_tiers(customers, "revenue", cuts=(0.2, 0.05))
    with pytest.raises(ValueError, match="between 0 and 1"):
        value_tiers(customers, "revenue", cuts=(0.5, 1.0))


def test_cdnow_concentration_matches_direct_computation():
    frame = pd.read_csv(
        CDNOW_SAMPLE, sep=r"\s+", header=None, names=["id", "s", "d", "q", "amount"]
    )
    revenue = frame.groupby("id")["amount"].sum().to_numpy()
    n = revenue.size
    assert n == 2357
    ordered = np.sort(revenue)[::-1]
    # Top 20% = 471.4 customers: the 471 best plus 0.4 of the 472nd.
    expected_top = (ordered[:471].sum() + 0.4 * ordered[471]) / ordered.sum()
    c = concentration(revenue)
    assert c.top_value_share == pytest.approx(expected_top)
    # Gini by its definition: mean absolute difference / (2 · mean).
    expected_gini = np.abs(revenue[:, None] - revenue[None, :]).sum() / (2 * n * n * revenue.mean())
    assert c.gini == pytest.approx(expected_gini)
    assert 0.5 < c.top_value_share < 0.8  # CDNOW: concentrated, but not 20/80.
    assert not c.claim_holds


values_strategy = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200)


@settings(max_examples=100, deadline=None)
@given(values_strategy, st.integers(2, 50))
def test_lorenz_and_gini_properties(values, max_points):
    g = gini(values)
    curve = lorenz_curve(values, max_points=max_points)
    if sum(values) == 0:
        assert math.isnan(g) and curve.empty
        return
    assert 0 <= g <= 1
    assert len(curve) <= max_points
    assert curve["customer_share"].is_monotonic_increasing
    assert curve["value_share"].is_monotonic_increasing
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert (curve["value_share"] <= curve["customer_share"] + 1e-9).all()  # below the diagonal
    share = top_share(values, 0.2)
    assert 0.2 - 1e-9 <= share <= 1 + 1e-9  # the best 20% hold at least 20%


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-100, 1e5, allow_nan=False), min_size=1, max_size=300))
def test_tier_properties(values):
    customers = pd.DataFrame({"v": values})
    s = tier_summary(customers, "v")
    assert s["n_customers"].sum() == len(values)
    assert s["customer_share"].sum() == pytest.approx(1.0)
    if s["value"].sum() != 0:
        assert s["value_share"].sum() == pytest.approx(1.0)
    tiers = value_tiers(customers, "v")
    codes = tiers.cat.codes.to_numpy()
    v = customers["v"].to_numpy()
    # A better tier never holds a lower value than a worse tier.
    for better in range(3):
        worse = codes > better
        if (codes == better).any() and worse.any():
            assert v[codes == better].min() >= v[worse].max()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.sampled_from([0.0, -0.0, 1.0, 2.5, float("nan")]),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        max_size=60,
    ),
    size=st.integers(-2, 70),
)
def test_top_positions_are_the_stable_sorts_first(values, size) -> None:
    """Largest first, equal values in position order, NaN last: a stable sort's head."""
    array = np.array(values, dtype=float)
    expected = np.argsort(-array, kind="stable")[: max(size, 0)]
    assert top_positions(array, size).tolist() == expected.tolist()


def test_value_tiers_give_the_same_customers_as_a_full_ranking() -> None:
    """Many ties (rounded values): each tier holds the first customers of the stable ranking."""
    rng = np.random.default_rng(7)
    values = np.round(rng.exponential(20.0, 5_000), 0)
    position = np.empty(values.size, dtype=int)
    position[np.argsort(-values, kind="stable")] = np.arange(1, values.size + 1)
    codes = value_tiers(pd.DataFrame({"v": values}), "v").cat.codes.to_numpy()
    expected = np.select([position <= 50, position <= 250, position <= 1000], [0, 1, 2], 3)
    assert (codes == expected).all()
