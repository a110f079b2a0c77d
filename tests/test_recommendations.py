"""Retention recommendations: rules as data, ranking by money at stake, grouping by action."""

import pandas as pd
import pytest

from clvreport.config import ClientConfig
from clvreport.errors import ConfigError
from clvreport.i18n import catalog_keys
from clvreport.recommendations import (
    CUSTOMER_ACTION_COLUMNS,
    PLAN_COLUMNS,
    PlanRules,
    customer_actions,
    group_by_action,
    load_action_rules,
    load_channel_costs,
    load_recommendation_rules,
    plan_actions,
    recommend,
    sheet_names,
)
from clvreport.segments import default_segment_rules


@pytest.fixture
def segments():
    # Hand-made segment table: value at stake per year in euros.
    return pd.DataFrame(
        {
            "segment": ["champions", "loyal", "at_risk", "cant_lose_them", "new", "lost"],
            "n_customers": [120, 300, 80, 15, 0, 900],
            "value_at_stake": [1_000.0, 5_000.0, 4_000.0, 2_500.0, 0.0, 300.0],
            "revenue": [50_000.0, 40_000.0, 9_000.0, 6_000.0, 0.0, 2_000.0],
        }
    )


def test_every_segment_has_a_rule_with_texts_in_both_languages():
    rules = load_recommendation_rules()
    assert set(rules) == set(default_segment_rules().codes)
    for language in ("nl", "en"):
        keys = catalog_keys(language)
        for rule in rules.values():
            assert f"recommendations.actions.{rule['action']}.what" in keys
            assert f"recommendations.actions.{rule['action']}.why" in keys
            assert f"recommendations.actions.{rule['action']}.name" in keys


def test_every_action_has_stated_assumptions():
    actions = load_action_rules()
    channels = load_channel_costs()
    for rule in load_recommendation_rules().values():
        action = actions[rule["action"]]
        assert action["channel"] in channels
        assert 0 < action["success_rate"] <= 1
        assert 0 <= action["uplift"] <= 1
    assert 8 <= channels["phone"]["cost_per_contact"] <= 12
    assert 0.10 <= channels["email"]["cost_per_contact"] <= 0.50
    assert 1.50 <= channels["letter"]["cost_per_contact"] <= 3.00


def test_ranked_by_money_at_stake_and_empty_segments_left_out(segments):
    actions = recommend(segments, load_recommendation_rules())
    assert actions["segment"].tolist() == [
        "loyal",
        "at_risk",
        "cant_lose_them",
        "champions",
        "lost",
    ]
    assert actions["value_at_stake"].tolist() == [5_000.0, 4_000.0, 2_500.0, 1_000.0, 300.0]
    assert actions["customers"].tolist() == [300, 80, 15, 120, 900]
    assert actions.loc[0, "action"] == "personal_attention"


def test_without_a_model_revenue_is_the_money_at_stake(segments):
    actions = recommend(segments.drop(columns="value_at_stake"), load_recommendation_rules())
    assert actions["segment"].tolist()[:2] == ["champions", "loyal"]
    assert actions.loc[0, "value_at_stake"] == 50_000.0


def test_segments_sharing_an_action_become_one_recommendation(segments):
    grouped = group_by_action(recommend(segments, load_recommendation_rules()))
    first = grouped.iloc[0]
    # at_risk (4,000) + cant_lose_them (2,500) = 6,500 beats loyal's 5,000.
    assert first["action"] == "win_back_personal"
    assert first["segments"] == ("at_risk", "cant_lose_them")
    assert first["customers"] == 95
    assert first["value_at_stake"] == pytest.approx(6_500.0)
    assert grouped["action"].tolist() == [
        "win_back_personal",
        "personal_attention",
        "reward",
        "low_cost_reactivation",
    ]


def test_ties_are_broken_by_priority():
    tied = pd.DataFrame(
        {
            "segment": ["hibernating", "at_risk"],
            "n_customers": [10, 10],
            "value_at_stake": [100.0, 100.0],
        }
    )
    assert recommend(tied, load_recommendation_rules())["segment"].tolist() == [
        "at_risk",  # priority 1
        "hibernating",  # priority 6
    ]


def test_client_overrides_change_or_drop_a_rule(segments):
    rules = load_recommendation_rules({"lost": None, "loyal": {"action": "reward"}})
    actions = recommend(segments, rules)
    assert "lost" not in actions["segment"].tolist()
    assert actions.set_index("segment").loc["loyal", "action"] == "reward"


def test_a_malformed_override_names_the_segment():
    with pytest.raises(ConfigError, match=r"recommendations\.loyal: expected a mapping"):
        load_recommendation_rules({"loyal": "call them"})
    with pytest.raises(ConfigError, match=r"recommendations\.loyal"):
        load_recommendation_rules({"loyal": {"actoin": "reward"}})


def test_empty_segment_table_gives_no_recommendations():
    empty = pd.DataFrame(columns=["segment", "n_customers", "value_at_stake"])
    assert recommend(empty, load_recommendation_rules()).empty
    assert group_by_action(recommend(empty, load_recommendation_rules())).empty


# --- The plan with money --------------------------------------------------------------
#
# Packaged assumptions used below (clvreport/rules/recommendations.yml):
#   win_back_personal: phone (€10, only customers worth it), success 20%
#   reward: e-mail (€0.25, everyone), success 10%, uplift 3%
#   second_purchase: discount (€0.25 + 10% × order value × 30% redemption), 15%, uplift 5%
#   low_cost_reactivation: e-mail (€0.25, everyone), success 3%


@pytest.fixture
def customers():
    return pd.DataFrame(
        {
            "customer_id": list("abcdefg"),
            "segment": [
                "at_risk",  # a: kept 0.2 × 200 = 40 > €10: called
                "at_risk",  # b: kept 0.2 × 20 = 4 < €10: not called
                "cant_lose_them",  # c: kept 20 > €10: called
                "lost",  # d: kept 0.03 × 5 = 0.15 < €0.25
                "lost",  # e: idem
                "champions",  # f: kept 0.1 × 10 + 0.03 × 1000 = 31
                "potential_loyalists",  # g: kept 0.15 × 100 + 0.05 × 200 = 25
            ],
            "value_at_stake": [200.0, 20.0, 100.0, 5.0, 5.0, 10.0, 100.0],
            "clv": [50.0, 5.0, 10.0, 0.1, 0.1, 1000.0, 200.0],
            "revenue": [500.0, 50.0, 300.0, 20.0, 20.0, 4000.0, 300.0],
            "n_purchases": [5, 1, 3, 1, 1, 20, 3],  # g: order value 300 / 3 = 100
        }
    )


def test_plan_cost_value_kept_and_net_return(customers):
    plan = plan_actions(customers).set_index("action")
    win_back = plan.loc["win_back_personal"]
    assert win_back["segments"] == ("at_risk", "cant_lose_them")  # 220 before 100 at stake
    assert win_back["segment_customers"] == 3
    assert win_back["customers"] == 2  # a and c are worth a call, b is not
    assert win_back["value_at_stake"] == pytest.approx(300.0)
    assert win_back["channel"] == "phone"
    assert win_back["cost_per_contact"] == pytest.approx(10.0)
    assert win_back["success_rate"] == pytest.approx(0.20)
    assert win_back["cost"] == pytest.approx(20.0)
    assert win_back["value_kept"] == pytest.approx(60.0)
    assert win_back["net_return"] == pytest.approx(40.0)
    assert win_back["max_spend_per_customer"] == pytest.approx(30.0)
    assert bool(win_back["profitable"])

    reward = plan.loc["reward"]  # growth action: value kept is mostly the uplift on clv
    assert reward["cost"] == pytest.approx(0.25)
    assert reward["value_kept"] == pytest.approx(31.0)
    assert reward["net_return"] == pytest.approx(30.75)

    voucher = plan.loc["second_purchase"]  # €0.25 + 0.10 × €100 × 0.30 = €3.25
    assert voucher["channel"] == "discount"
    assert voucher["cost"] == pytest.approx(3.25)
    assert voucher["value_kept"] == pytest.approx(25.0)
    assert voucher["net_return"] == pytest.approx(21.75)


def test_plan_is_ranked_by_net_return_and_flags_what_does_not_pay(customers):
    plan = plan_actions(customers, language="nl")
    assert list(plan.columns) == PLAN_COLUMNS
    assert plan["action"].tolist() == [
        "win_back_personal",
        "reward",
        "second_purchase",
        "low_cost_reactivation",
    ]
    last = plan.iloc[-1]
    # Two e-mails of €0.25 keep 2 × 0.15: niet rendabel.
    assert last["customers"] == 2
    assert last["cost"] == pytest.approx(0.50)
    assert last["value_kept"] == pytest.approx(0.30)
    assert last["net_return"] == pytest.approx(-0.20)
    assert not bool(last["profitable"])
    assert last["list_name"] is None
    assert plan["list_name"].tolist()[:3] == [
        "Persoonlijk terugwinnen",
        "Belonen en bedanken",
        "Volgende aankoop",
    ]


def test_a_phone_action_nobody_is_worth_shows_the_cost_of_calling_everyone(customers):
    only_b = customers[customers["customer_id"] == "b"]
    row = plan_actions(only_b).iloc[0]
    assert row["action"] == "win_back_personal"
    assert row["customers"] == 1
    assert row["cost"] == pytest.approx(10.0)
    assert row["value_kept"] == pytest.approx(4.0)
    assert row["net_return"] == pytest.approx(-6.0)
    assert not bool(row["profitable"])


def test_per_customer_economics(customers):
    per = customer_actions(customers).set_index("customer_id")
    assert list(customer_actions(customers).columns) == CUSTOMER_ACTION_COLUMNS
    assert per.loc["a", "value_kept"] == pytest.approx(40.0)
    assert per.loc["a", "contact_cost"] == pytest.approx(10.0)
    assert per.loc["a", "net_return"] == pytest.approx(30.0)
    assert bool(per.loc["a", "contact"]) and not bool(per.loc["b", "contact"])
    assert bool(per.loc["d", "contact"])  # e-mail goes to everyone
    assert per.loc["g", "contact_cost"] == pytest.approx(3.25)


def test_client_overrides_of_costs_and_actions(customers):
    rules = PlanRules(
        load_recommendation_rules(),
        load_action_rules({"low_cost_reactivation": {"success_rate": 0.5}}),
        load_channel_costs({"phone": 25.0, "discount_share": 0.0}),
    )
    plan = plan_actions(customers, rules).set_index("action")
    # At €25 a call only a (kept 40) is worth it: cost 25, net 15.
    assert plan.loc["win_back_personal", "customers"] == 1
    assert plan.loc["win_back_personal", "net_return"] == pytest.approx(15.0)
    # 50% success: 2 × 2.5 kept for 2 × 0.25.
    assert plan.loc["low_cost_reactivation", "net_return"] == pytest.approx(4.5)
    assert bool(plan.loc["low_cost_reactivation", "profitable"])
    assert plan.loc["second_purchase", "cost"] == pytest.approx(0.25)  # no voucher value
    assert plan.index[0] == "reward"  # 30.75 now beats the calls


def test_overrides_from_client_config(customers):
    config = ClientConfig.model_validate(
        {
            "name": "X",
            "data": {
                "sources": "a.csv",
                "columns": {"customer_id": "k", "date": "d", "amount": "b"},
            },
            "costs": {"phone": 25.0},
            "actions": {"win_back_personal": {"channel": "email"}},
        }
    )
    rules = PlanRules.from_config(config)
    assert rules.channels["phone"]["cost_per_contact"] == 25.0
    row = plan_actions(customers, rules).set_index("action").loc["win_back_personal"]
    assert row["channel"] == "email"
    assert row["customers"] == 3  # e-mail goes to every customer of the segments
    assert row["cost"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("actions", "costs", "expected"),
    [
        (
            {"win_back_personal": {"success_rate": 1.5}},
            None,
            r"actions\.win_back_personal\.success_rate: expected a share",
        ),
        (
            {"win_back_personal": {"success_rate": "20%"}},
            None,
            r"actions\.win_back_personal\.success_rate",
        ),
        (
            {"win_back_personal": {"chanel": "email"}},
            None,
            r"actions\.win_back_personal\.chanel: unknown key; did you mean 'channel'",
        ),
        (
            {"win_back_personal": {"channel": "sms"}},
            None,
            r"actions\.win_back_personal\.channel: 'sms' is not a channel",
        ),
        ({"win_back_personal": "call"}, None, r"actions\.win_back_personal: expected a mapping"),
        ({"vip_event": {"uplift": 0.1}}, None, r"actions\.vip_event: not a known action"),
        (
            {"reward": {"only_worth_contacting": "yes"}},
            None,
            r"actions\.reward\.only_worth_contacting",
        ),
        (None, {"phone": -1}, r"costs\.phone: Input should be greater than or equal to 0"),
        (None, {"fax": 1.0}, r"costs\.fax: unknown key"),
        (None, {"discount_redemption": 2}, r"costs\.discount_redemption"),
    ],
)
def test_a_bad_override_names_the_key(actions, costs, expected):
    with pytest.raises(ConfigError, match=expected):
        load_action_rules(actions)
        load_channel_costs(costs)


def test_a_new_action_needs_assumptions():
    segments = load_recommendation_rules({"loyal": {"action": "vip_event"}})
    with pytest.raises(ConfigError, match=r"recommendations\.loyal\.action: 'vip_event'"):
        PlanRules(segments, load_action_rules(), load_channel_costs())
    actions = load_action_rules({"vip_event": {"channel": "letter", "success_rate": 0.3}})
    rules = PlanRules(segments, actions, load_channel_costs())
    assert rules.only_worth_contacting("vip_event")  # letters go to those worth it


def test_without_a_model_the_plan_has_no_money():
    history = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "segment": ["at_risk", "lost"],
            "revenue": [100.0, 10.0],
            "n_purchases": [2, 1],
        }
    )
    plan = plan_actions(history, language="en")
    assert plan["action"].tolist() == ["win_back_personal", "low_cost_reactivation"]
    assert plan["value_at_stake"].tolist() == [100.0, 10.0]  # revenue
    assert plan["value_kept"].isna().all() and plan["net_return"].isna().all()
    assert plan["profitable"].isna().all()
    assert plan["list_name"].tolist() == ["Personal win-back", "Low-cost reactivation"]


def test_empty_customers_give_an_empty_plan():
    empty = pd.DataFrame(columns=["customer_id", "segment", "value_at_stake", "clv"])
    plan = plan_actions(empty)
    assert plan.empty and list(plan.columns) == PLAN_COLUMNS


def test_sheet_names_are_valid_and_unique():
    names = sheet_names(
        ["Bellen: top/risico", "x" * 40, "X" * 40, "Overzicht", "History"], reserved=["Overzicht"]
    )
    assert all(len(n) <= 31 for n in names)
    assert not any(set(n) & set("[]:*?/\\") for n in names)
    assert len({n.casefold() for n in names} | {"overzicht"}) == len(names) + 1
    assert names[0] == "Bellen- top-risico"
