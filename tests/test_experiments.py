"""Control groups, the measured uplift and the learned rates: balance, coverage, false alarms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvreport.experiments import (
    CONTROL,
    TREATED,
    LearnedRate,
    assign_control_groups,
    learn_rates,
    measure_actions,
)


def _lists(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    segment = rng.choice(["at_risk", "cant_lose_them", "loyal"], n, p=[0.5, 0.2, 0.3])
    action = np.where(segment == "loyal", "personal_attention", "win_back_personal")
    return pd.DataFrame(
        {
            "customer_id": [f"K{i:05d}" for i in range(n)],
            "segment": segment,
            "action": action,
            "value": rng.lognormal(3.0, 1.2, n),
            "p_alive": rng.beta(2, 3, n),
        }
    )


def test_control_groups_are_the_share_balanced_and_reproducible() -> None:
    lists = _lists()
    groups = assign_control_groups(lists, share=0.1, client="demo", as_of="2024-06-30")
    again = assign_control_groups(
        lists.sample(frac=1.0, random_state=3), share=0.1, client="demo", as_of="2024-06-30"
    )
    assert groups.equals(again.reindex(groups.index))  # input order does not matter
    other_day = assign_control_groups(lists, share=0.1, client="demo", as_of="2024-12-31")
    assert not groups.equals(other_day)
    for action, rows in lists.groupby("action"):
        control = groups[rows.index] == CONTROL
        assert control.sum() == pytest.approx(0.1 * len(rows), abs=1.5)
        # value strata: treated and control have the same spread of value
        for column in ("value", "p_alive"):
            treated_mean = rows.loc[~control, column].mean()
            control_mean = rows.loc[control, column].mean()
            se = rows[column].std() * np.sqrt(1 / control.sum() + 1 / (~control).sum())
            assert abs(treated_mean - control_mean) < 3 * se, (action, column)
        assert rows.loc[control, "value"].rank(pct=True).mean() == pytest.approx(0.5, abs=0.1)
        mix_t = rows.loc[~control, "segment"].value_counts(normalize=True)
        mix_c = rows.loc[control, "segment"].value_counts(normalize=True)
        assert (mix_t - mix_c.reindex(mix_t.index).fillna(0)).abs().max() < 0.1
    # one customer, one list, one group
    assert groups.index.is_unique and set(groups) == {TREATED, CONTROL}
    off = assign_control_groups(lists, share={"win_back_personal": 0.0}, client="d", as_of="x")
    assert (off[lists["action"] == "win_back_personal"] == TREATED).all()
    assert (off[lists["action"] == "personal_attention"] == CONTROL).any()  # default share


def _simulate(effect: float, seed: int, n: int = 2000, share: float = 0.1) -> tuple:
    """Customers on one list with a known true uplift in revenue per treated customer."""
    rng = np.random.default_rng(seed)
    lists = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "action": "reward",
            "value": rng.gamma(2.0, 20.0, n),
        }
    )
    group = assign_control_groups(lists, share=share, client=f"sim{seed}", as_of="2024-06-30")
    actions = lists.assign(
        group=group, list_date=pd.Timestamp("2024-06-30"), expected=lists["value"]
    )
    # zero-inflated purchases and skewed amounts, like real shop revenue
    rate = lists["value"].to_numpy() / 40.0
    purchases = rng.poisson(rate)
    revenue = np.array([rng.gamma(3.0, 15.0, k).sum() for k in purchases])
    treated = (group == TREATED).to_numpy()
    # the true effect: extra revenue per treated customer (on average `effect`)
    extra = rng.exponential(effect, n) if effect > 0 else np.zeros(n)
    revenue = revenue + np.where(treated, extra, 0.0)
    outcome = pd.DataFrame(
        {"customer_id": lists["customer_id"], "purchases": purchases, "revenue": revenue}
    )
    return actions, outcome


def test_the_measured_uplift_covers_the_truth_and_rarely_calls_nothing_effective() -> None:
    covered, false_alarms = [], []
    for seed in range(200):
        actions, outcome = _simulate(12.0, seed)
        row = measure_actions(actions, outcome).iloc[0]
        covered.append(row["uplift_low"] <= 12.0 <= row["uplift_high"])
        actions, outcome = _simulate(0.0, 1000 + seed)
        row = measure_actions(actions, outcome).iloc[0]
        false_alarms.append(row["uplift_low"] > 0)
    assert 0.85 <= np.mean(covered) <= 0.95
    assert np.mean(false_alarms) <= 0.10


def test_reach_from_contacts_and_the_effect_on_those_reached() -> None:
    actions, outcome = _simulate(12.0, 5)
    treated = actions.loc[actions["group"] == TREATED, "customer_id"]
    control = actions.loc[actions["group"] == CONTROL, "customer_id"]
    contacts = pd.DataFrame(
        {"customer_id": [*treated.iloc[: len(treated) // 2], control.iloc[0]], "action": "reward"}
    )
    row = measure_actions(actions, outcome, contacts=contacts).iloc[0]
    assert row["reached"] == pytest.approx(0.5, abs=0.001)
    assert row["control_contacted"] == 1
    assert row["uplift_reached"] == pytest.approx(row["uplift"] / row["reached"])
    margin = measure_actions(actions, outcome, margin=0.4).iloc[0]
    assert margin["uplift"] == pytest.approx(0.4 * row["uplift"])


def test_small_control_groups_are_not_measurable() -> None:
    actions, outcome = _simulate(12.0, 1, n=200, share=0.1)
    row = measure_actions(actions, outcome).iloc[0]
    assert row["control"] < 30 and not row["measurable"]


def test_learned_rates_weigh_the_assumption_against_the_evidence() -> None:
    measured = pd.DataFrame(
        {
            "action": ["reward", "welcome", "tiny"],
            "treated": [9000, 900, 40],
            "control": [1000, 100, 4],
            "measurable": [True, True, False],
            "uplift": [2.0, 20.0, 50.0],
        }
    )
    promised = {"reward": 10.0, "welcome": 10.0, "tiny": 10.0}
    learned = learn_rates(measured, promised)
    # 9000/1000: evidence worth 900 customers against the assumption's 200
    assert learned["reward"].ratio == pytest.approx((200 + 900 * 0.2) / 1100)
    assert learned["reward"].source == "measured"
    assert learned["welcome"].source == "partly_measured"
    assert "tiny" not in learned  # not measurable: the assumption stays
    # the next report starts from what was learned: evidence adds up
    again = learn_rates(measured.iloc[[0]], promised, prior=learned)
    assert again["reward"].weight == pytest.approx(200 + 900 + 900)
    assert again["reward"].evidence == pytest.approx(1800)
    # a harmful or useless action is not given a negative rate
    worse = measured.assign(uplift=[-100.0, 0.0, 0.0]).iloc[[0]]
    assert learn_rates(worse, promised)["reward"].ratio == 0.0
    assert LearnedRate.from_dict("reward", learned["reward"].to_dict()) == learned["reward"]


@pytest.mark.parametrize("numeric_ids", [False, True])
def test_the_control_draw_does_not_depend_on_the_order_of_the_lists(numeric_ids) -> None:
    """Customers in id order (a sort on the value alone) or shuffled (on value and id)
    get the same groups, with many equal values whose order the ids decide."""
    lists = _lists(4000, seed=3)
    lists["value"] = np.round(lists["value"], 0)  # ties
    if numeric_ids:
        lists["customer_id"] = np.arange(4000) * 7 % 4001  # text order differs from numbers
    in_order = lists.sort_values("customer_id", key=lambda ids: ids.astype(str))
    shuffled = lists.sample(frac=1.0, random_state=1)
    kwargs = {"share": 0.1, "client": "demo", "as_of": "2024-06-30"}
    first = assign_control_groups(in_order, **kwargs)
    second = assign_control_groups(shuffled, **kwargs)
    assert first.sort_index().equals(second.sort_index())
    assert (first == CONTROL).sum() == pytest.approx(400, abs=2)
