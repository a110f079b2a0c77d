"""Retention recommendations: rules as data, ranking by money at stake, grouping by action."""

import pandas as pd
import pytest

from clvreport.errors import ConfigError
from clvreport.i18n import catalog_keys
from clvreport.recommendations import group_by_action, load_recommendation_rules, recommend
from clvreport.segments import default_segment_rules


@pytest.fixture
def segments():
    # Hand-made segment table: value at risk per year in euros.
    return pd.DataFrame(
        {
            "segment": ["champions", "loyal", "at_risk", "cant_lose_them", "new", "lost"],
            "n_customers": [120, 300, 80, 15, 0, 900],
            "value_at_risk": [1_000.0, 5_000.0, 4_000.0, 2_500.0, 0.0, 300.0],
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
    actions = recommend(segments.drop(columns="value_at_risk"), load_recommendation_rules())
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
            "value_at_risk": [100.0, 100.0],
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
    empty = pd.DataFrame(columns=["segment", "n_customers", "value_at_risk"])
    assert recommend(empty, load_recommendation_rules()).empty
    assert group_by_action(recommend(empty, load_recommendation_rules())).empty
