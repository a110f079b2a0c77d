"""The first page's figures: by hand, and as properties on the example clients."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest

import clvreport.customer_groups
from clvreport.analysis import run_analysis
from clvreport.concentration import value_tiers
from clvreport.config import load_client
from clvreport.customer_groups import AT_RISK_SEGMENTS, at_risk, top_group


def test_docstring_examples_run():
    assert doctest.testmod(clvreport.customer_groups).failed == 0


def test_top_group_by_hand():
    customers = pd.DataFrame(
        {
            "segment": ["a", "b", "a", "c", "c", "c", "c", "c", "c", "c"],
            "revenue": [100.0, 50.0, 10.0] + [5.0] * 7,
            "clv": [40.0, 30.0, 20.0] + [1.0] * 7,
        }
    )
    g = top_group(customers, share=0.2)
    assert g.n_customers == 2  # 20% of 10
    assert g.value == 70.0
    assert g.future_share == pytest.approx(70 / 97)
    assert g.past_share == pytest.approx(150 / 195)
    assert g.segments == (("a", 1), ("b", 1))


def test_top_group_rounds_up_and_checks_share():
    customers = pd.DataFrame({"segment": ["a"] * 3, "revenue": [1.0] * 3, "clv": [3.0, 2.0, 1.0]})
    assert top_group(customers, share=0.2).n_customers == 1  # at least one customer
    with pytest.raises(ValueError, match="share"):
        top_group(customers, share=0)


def test_at_risk_by_hand():
    customers = pd.DataFrame(
        {
            "segment": ["at_risk", "cant_lose_them", "lost", "champions"],
            "revenue": [100.0, 200.0, 10.0, 500.0],
            "clv": [10.0, 30.0, 0.5, 100.0],
            "value_at_stake": [40.0, 20.0, 9.5, 1.0],
        }
    )
    r = at_risk(customers)
    assert r.n_customers == 2
    assert r.customer_share == 0.5
    assert r.value_at_stake == 60.0
    assert r.value_if_active == 100.0  # clv + value at stake
    assert r.past_revenue == 300.0
    assert set(AT_RISK_SEGMENTS) == {"at_risk", "cant_lose_them"}


def test_at_risk_means_repeat_buyers_probably_gone():
    customers = pd.DataFrame(
        {
            "segment": ["loyal", "at_risk", "lost", "champions"],
            "n_purchases": [5, 3, 1, 8],
            "p_alive": [0.3, 0.45, 0.05, 0.95],
            "revenue": [500.0, 200.0, 10.0, 900.0],
            "clv": [30.0, 20.0, 0.1, 300.0],
            "clv_if_alive": [100.0, 36.0, 2.0, 316.0],
            "value_at_stake": [70.0, 16.0, 1.9, 16.0],
        }
    )
    r = at_risk(customers)
    assert r.n_customers == 2  # the one-time buyer and the active champion are not at risk
    assert r.value_at_stake == 86.0
    assert r.value_if_active == 136.0
    assert r.segments == (("at_risk", 1), ("loyal", 1)) or r.segments == (
        ("loyal", 1),
        ("at_risk", 1),
    )


def test_at_risk_without_a_model_has_no_stake():
    customers = pd.DataFrame({"segment": ["at_risk"], "revenue": [10.0]})
    r = at_risk(customers)
    assert r.n_customers == 1 and math.isnan(r.value_at_stake)


# --- the example clients: the numbers mean what their labels say ---------------------


@pytest.fixture(scope="module", params=["demo", "cdnow"])
def analysis(request):
    client_dir, config = load_client(request.param)
    return run_analysis(config, client_dir)


def test_historic_clv_is_not_below_what_customers_already_paid(analysis):
    f = analysis.figures
    if not f.retention.measured:
        # CDNOW: 18 months are one full year; no retention, so no historic CLV is made up
        assert f.retention.refused == "short"
        assert math.isnan(f.historic_clv) and analysis.customers["historic_clv"].isna().all()
        return
    assert f.historic_clv >= f.revenue_per_customer
    assert f.historic_clv == pytest.approx(analysis.customers["historic_clv"].mean())


def test_value_at_stake_identity_per_customer(analysis):
    c = analysis.customers
    if_alive = c["clv_if_alive"] if "clv_if_alive" in c else c["clv"] / c["p_alive"]
    np.testing.assert_allclose(c["clv"] + c["value_at_stake"], if_alive, rtol=1e-9, atol=1e-9)
    middle = c[(c["p_alive"] > 0.01) & (c["p_alive"] < 0.99)]
    np.testing.assert_allclose(
        middle["value_at_stake"],
        middle["clv"] * (1 - middle["p_alive"]) / middle["p_alive"],
        rtol=0.01,
    )


def test_no_segment_stake_exceeds_its_value_if_all_were_active(analysis):
    c = analysis.customers
    per_segment = c.groupby("segment")[["clv", "value_at_stake"]].sum()
    assert (per_segment["value_at_stake"] <= per_segment.sum(axis=1) + 1e-9).all()
    r = at_risk(c)
    assert r.value_at_stake <= r.value_if_active


def test_base_value_is_the_sum_of_the_customers_clv_and_lies_in_its_range(analysis):
    base = analysis.base_value
    assert base["clv"] == pytest.approx(analysis.customers["clv"].sum(), rel=1e-9)
    assert base["clv_low"] <= base["clv"] <= base["clv_high"]
    assert base["customers"] == len(analysis.customers)


def test_top_20_percent_hold_more_future_than_their_share(analysis):
    g = top_group(analysis.customers)
    assert 0.2 <= g.future_share <= 1
    assert g.n_customers == math.floor(0.2 * len(analysis.customers))
    # the same customers as the value tiers' best 20% (ties broken the same way)
    tiers = value_tiers(analysis.customers, "clv")
    assert g.n_customers == int(tiers.isin(["top1", "top5", "top20"]).sum())


def test_customers_lapsed_for_over_a_year_are_probably_gone(analysis):
    # "Lost" must mean lost: the model may not keep long-lapsed customers alive (BG/NBD's
    # P(alive) = 1 for one-time buyers is avoided when another model predicts as well).
    c = analysis.customers
    lapsed = c[c["recency_days"] > 365]
    assert len(lapsed) > 100
    assert lapsed["p_alive"].median() < 0.5
    one_time = lapsed[lapsed["n_purchases"] == 1]
    assert one_time["p_alive"].median() < 0.5
    assert c.loc[c["segment"] == "lost", "p_alive"].mean() < 0.5


def test_identical_runs_give_identical_numbers():
    client_dir, config = load_client("demo")
    first, second = (run_analysis(config, client_dir) for _ in range(2))
    columns = ["customer_id", "revenue", "historic_clv", "p_alive", "clv", "value_at_stake"]
    pd.testing.assert_frame_equal(
        first.customers[columns], second.customers[columns], check_exact=True
    )
    assert first.figures == second.figures


def test_the_report_context_holds_no_per_transaction_table(analysis):
    """At scale the notebook may only hold aggregates: at most one row per customer."""
    import dataclasses

    n_customers = len(analysis.customers)
    assert analysis.quality.rows_kept > n_customers  # else this test proves nothing
    frames = {
        field.name: getattr(analysis, field.name)
        for field in dataclasses.fields(analysis)
        if isinstance(getattr(analysis, field.name), pd.DataFrame)
    }
    frames |= {f"acquisition.{k}": v for k, v in analysis.acquisition.items()}
    assert "customers" in frames and "summary" in frames
    for name, frame in frames.items():
        assert len(frame) <= n_customers, name


def test_top_ranked_breaks_ties_deterministically_and_counts_them():
    from clvreport.customer_groups import top_ranked

    rng = np.random.default_rng(3)
    n = 40
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in rng.permutation(n)],
            "clv": np.r_[np.full(22, 1482.004), rng.uniform(0, 1000, n - 22)],
            "revenue": np.r_[np.full(20, 9718.0), 9800.0, 9700.0, rng.uniform(0, 5000, n - 22)],
            "tenure_days": np.r_[np.arange(22) % 3, np.zeros(n - 22)],
        }
    )
    top = top_ranked(customers, "clv", 10)
    again = top_ranked(customers.sample(frac=1.0, random_state=1), "clv", 10)
    shown = customers.iloc[top.rows]
    # the same customers in the same order whatever the input order
    assert shown["customer_id"].tolist() == (
        customers.sample(frac=1.0, random_state=1).iloc[again.rows]["customer_id"].tolist()
    )
    assert top.tied == 22 and top.tied_shown == 10
    assert shown["customer_id"].iloc[0] == customers.loc[20, "customer_id"]  # most revenue
    keys = list(zip(-shown["revenue"], -shown["tenure_days"], shown["customer_id"], strict=True))
    assert keys == sorted(keys)
    # no tie at the cut: nothing to say
    assert top_ranked(customers, "clv", 25).tied == top_ranked(customers, "clv", 25).tied_shown


def _top_by_full_sort(customers, value, n, last=None):
    """The ranking by sorting every customer on every key (what top_ranked must equal)."""
    cents = np.nan_to_num(np.round(customers[value].to_numpy(dtype=float) * 100.0), nan=-np.inf)
    keys = [customers["customer_id"].astype(str).to_numpy()]
    for column in ("tenure_days", "revenue"):
        if column in customers:
            keys.append(-np.nan_to_num(customers[column].to_numpy(dtype=float), nan=-np.inf))
    keys.append(-cents)
    if last is not None:
        keys.append(np.asarray(last, dtype=bool))
    order = np.lexsort(tuple(keys))[:n]
    if order.size == 0:
        return [], 0, 0
    cut = cents[order[-1]]
    return order.tolist(), int((cents == cut).sum()), int((cents[order] == cut).sum())


def test_top_ranked_equals_sorting_everyone_on_every_key():
    """Ordering only the customers that can reach the top n changes no row, tie or order.

    Random small tables with ties, missing values, repeated ids and customers
    placed last, for every n from none to more than all.
    """
    from clvreport.customer_groups import top_ranked

    rng = np.random.default_rng(29)
    for _ in range(600):
        m = int(rng.integers(0, 30))
        customers = pd.DataFrame(
            {
                "customer_id": rng.choice(list("abcdef"), m) + rng.integers(0, 4, m).astype(str),
                "clv": np.where(rng.random(m) < 0.2, np.nan, rng.integers(0, 4, m) / 3.0),
                "revenue": np.where(rng.random(m) < 0.1, np.nan, rng.integers(0, 3, m) * 1.0),
                "tenure_days": rng.integers(0, 3, m),
            }
        )
        last = rng.random(m) < 0.3 if rng.random() < 0.5 else None
        n = int(rng.integers(0, m + 3))
        top = top_ranked(customers, "clv", n, last=last)
        expected = _top_by_full_sort(customers, "clv", n, last)
        assert (top.rows.tolist(), top.tied, top.tied_shown) == expected
