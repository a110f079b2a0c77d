"""A plan a manager can sign: lifetime value, page 2's memo, sensitivity, break-evens, guards."""

from __future__ import annotations

import itertools
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from clvreport.recommendations import PlanRules, customer_actions
from clvreport.sensitivity import break_even_success_rates, plan_customers

pytestmark = pytest.mark.slow


def _text(path) -> str:
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(path).pages))


def test_lifetime_value_is_at_least_the_horizons(demo_reports):
    _, _, second = demo_reports
    customers = pd.read_csv(second["nl"].folder / "customers.csv")
    assert {"clv_lifetime", "value_at_stake_lifetime"} <= set(customers.columns)
    # five years of the same forecast hold at least its first twelve months
    assert (customers["clv_lifetime"] >= customers["clv"] - 1e-3).all()
    assert (customers["value_at_stake_lifetime"] >= customers["value_at_stake"] - 1e-3).all()
    assert customers["clv_lifetime"].sum() > 1.5 * customers["clv"].sum()
    # ... and never more than five times a year's purchases at the same pace
    assert customers["clv_lifetime"].sum() < 5 * customers["clv"].sum()


def test_actions_are_priced_on_the_remaining_lifetime() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "segment": ["at_risk", "champions"],
            "value_at_stake": [100.0, 0.0],
            "value_at_stake_lifetime": [300.0, 0.0],
            "clv": [50.0, 400.0],
        }
    )
    rules = PlanRules.default()
    actions = customer_actions(customers, rules).set_index("customer_id")
    win_back = rules.actions["win_back_personal"]
    reward = rules.actions["reward"]
    assert actions.loc["a", "value_kept"] == pytest.approx(win_back["success_rate"] * 300.0)
    assert actions.loc["a", "value_kept_horizon"] == pytest.approx(win_back["success_rate"] * 100)
    assert actions.loc["b", "value_kept"] == pytest.approx(reward["uplift"] * 400.0)


def test_at_the_break_even_success_rate_the_action_nets_zero() -> None:
    rng = np.random.default_rng(3)
    n = 200
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "segment": "at_risk",
            "value_at_stake": rng.gamma(2.0, 30.0, n),
            "clv": rng.gamma(2.0, 10.0, n),
        }
    )
    customers["value_at_stake_lifetime"] = 2.5 * customers["value_at_stake"]
    rules = PlanRules.default()
    per = customer_actions(customers, rules)
    plan = pd.DataFrame({"action": ["win_back_personal"], "profitable": [True]})
    rate = break_even_success_rates(per, plan, rules)["win_back_personal"]
    assert 0 < rate < rules.actions["win_back_personal"]["success_rate"]
    chosen = plan_customers(per, plan)
    at_rate = PlanRules(
        rules.segments,
        {
            **rules.actions,
            "win_back_personal": {**rules.actions["win_back_personal"], "success_rate": rate},
        },
        rules.channels,
    )
    again = customer_actions(customers, at_rate)
    net = (again["value_kept"] - again["contact_cost"]).to_numpy()[chosen].sum()
    assert net == pytest.approx(0.0, abs=1e-6)


def test_sensitivity_moves_as_its_inputs_say(demo_reports):
    _, _, second = demo_reports
    model = json.loads((second["nl"].folder / "model.json").read_text())
    table = model["sensitivity"]
    assert set(table) == {"gross_margin", "discount_rate", "horizon_months", "success_rate"}
    margin = table["gross_margin"]
    base = margin["base_value"]
    assert base == pytest.approx(model["key_figures"]["base_value"], rel=1e-6)
    # value is proportional to the margin
    assert margin["base_low"] == pytest.approx(base * margin["low"] / margin["value"], rel=1e-6)
    assert margin["base_high"] == pytest.approx(base * margin["high"] / margin["value"], rel=1e-6)
    # success rates move the plan, not the value of the customers
    success = table["success_rate"]
    assert success["base_low"] == pytest.approx(base) == success["base_high"]
    assert success["net_low"] < success["net_return"] < success["net_high"]
    # a longer horizon holds more purchases, a higher rate discounts them more
    horizon = table["horizon_months"]
    assert horizon["base_low"] < base < horizon["base_high"]
    discount = table["discount_rate"]
    assert discount["base_low"] > base > discount["base_high"]
    plan = model["plan"]
    net = sum(a["net_return"] for a in plan.values() if a["profitable"])
    assert success["net_return"] == pytest.approx(net, rel=1e-6)
    for action in plan.values():
        if action["profitable"]:
            assert "break_even_success_rate" in action and "break_even_margin" in action


def test_page_two_is_a_decision_memo(demo_reports):
    _, _, second = demo_reports
    nl = _text(second["nl"].folder / "clv_report.pdf")
    en = _text(second["en"].folder / "clv_report.pdf")
    for text, words in (
        (nl, ("Wanneer", "Budget", "week 1", "Netto: slecht – verwacht – goed", "Controle:")),
        (en, ("When", "Budget", "week 1", "Net: low – likely – high", "Check it:")),
    ):
        for word in words:
            assert word in text, word
    assert "Hoe zeker zijn deze getallen?" in nl and "How sure are these figures?" in en
    assert "Over de rest van hun klantrelatie (hooguit 5 jaar)" in nl


def test_call_lists_put_the_most_value_kept_first(demo_reports):
    from openpyxl import load_workbook

    _, _, second = demo_reports
    folder = second["nl"].folder
    model = json.loads((folder / "model.json").read_text())
    customers = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str})
    known = (pd.Timestamp(model["as_of"]) - pd.to_datetime(customers["first_purchase"])).dt.days
    short = dict(zip(customers["customer_id"], known < 7 * 8, strict=True))
    book = load_workbook(folder / "customers.xlsx", read_only=True)
    for action in model["plan"].values():
        if not action["profitable"] or not action["list_name"]:
            continue
        rows = list(book[action["list_name"]].iter_rows(min_row=3, values_only=True))
        header = list(rows[0])
        kept = header.index("Verwachte behouden waarde")
        control = header.index("Controlegroep — niet benaderen")
        listed = [r for r in rows[1:] if r[0] and not r[control]]
        flags = [short[str(r[0])] for r in listed]
        assert flags == sorted(flags)  # customers known under 8 weeks after the others
        values = [r[kept] for r, f in zip(listed, flags, strict=True) if not f]
        assert all(a >= b - 1e-6 for a, b in itertools.pairwise(values))


def test_short_histories_are_ranked_after_the_others() -> None:
    from clvreport.report.sections import _top_customers

    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(15)],
            "clv": np.arange(15.0)[::-1] * 10,  # c0 worth most
            "tenure_days": [10, 20] + [400] * 13,  # c0 and c1 known under 8 weeks
        }
    )
    ctx = SimpleNamespace(
        analysis=SimpleNamespace(customers=customers, config=SimpleNamespace(min_history_weeks=8))
    )
    top, pushed, _ = _top_customers(ctx, "clv")
    assert pushed == 2
    assert top["customer_id"].tolist()[:2] == ["c2", "c3"]
    assert "c0" not in top["customer_id"].tolist()[:8]


def test_customers_csv_marks_exactly_the_customers_the_plan_prices(demo_reports):
    """``on_list`` per action counts what the plan's table says (control group included),
    and every id on a workbook sheet is on the list in customers.csv."""
    from openpyxl import load_workbook

    _, _, second = demo_reports
    folder = second["nl"].folder
    model = json.loads((folder / "model.json").read_text())
    customers = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str})
    listed = customers[customers["on_list"]]
    book = load_workbook(folder / "customers.xlsx", read_only=True)
    checked = 0
    for key, action in model["plan"].items():
        if not action["list_name"]:
            continue
        mine = listed[listed["action"] == key]
        treated = int((~mine["control_group"]).sum())
        assert treated == action["customers"], key
        rows = list(book[action["list_name"]].iter_rows(min_row=4, values_only=True))
        ids = {str(r[0]) for r in rows if r[0]}
        assert ids <= set(mine["customer_id"]), key
        checked += 1
    assert checked >= 2
    assert not customers.loc[~customers["on_list"], "control_group"].any()
