"""Generated report text: findings, segments and recommendations name the right
segments with the right amounts.

The fixture client (400 customers) is analysed once; every expected value here
is recomputed from the per-customer table, independently of the section code.
"""

import re
from pathlib import Path

import pytest

from clvreport.recommendations import load_recommendation_rules
from clvreport.report import sections
from clvreport.report.context import setup

CLIENTS = Path(__file__).parent / "fixtures" / "clients"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    out = tmp_path_factory.mktemp("sections")
    return setup(client="branded", data_dir=CLIENTS, language="en", output_dir=out)


@pytest.fixture(scope="module")
def labels(ctx):
    return ctx.analysis.rules.labels("en")


@pytest.fixture(scope="module")
def stakes_by_action(ctx):
    """Money at stake per action, summed from the customers, largest first."""
    customers = ctx.analysis.customers
    rules = load_recommendation_rules(ctx.analysis.config.recommendations)
    by_segment = customers.groupby("segment").agg(
        customers=("customer_id", "size"), stake=("value_at_risk", "sum")
    )
    by_segment["action"] = [rules[s]["action"] for s in by_segment.index]
    by_segment["priority"] = [rules[s]["priority"] for s in by_segment.index]
    by_segment = by_segment.sort_values(["stake", "priority"], ascending=[False, True])
    grouped = by_segment.groupby("action", sort=False).agg(
        segments=("stake", lambda s: tuple(s.index)),
        customers=("customers", "sum"),
        stake=("stake", "sum"),
    )
    return grouped.sort_values("stake", ascending=False)


def test_the_fixture_has_a_usable_model(ctx):
    assert ctx.analysis.has_predictions


def test_champions_finding_counts_them_and_their_revenue_share(ctx, labels):
    t, customers = ctx.t, ctx.analysis.customers
    champions = customers[customers["segment"] == "champions"]
    share = champions["revenue"].sum() / customers["revenue"].sum()
    expected = (
        f"Your {t.number(len(champions))} {labels['champions']} bring in "
        f"{t.percent(share, digits=0)} of revenue."
    )
    assert expected in sections._findings(ctx)


def test_money_at_stake_finding_names_the_largest_action_group(ctx, labels, stakes_by_action):
    t = ctx.t
    top = stakes_by_action.iloc[0]
    expected = (
        f"The most money is at stake with {t.join([labels[s] for s in top['segments']])}: "
        f"{t.number(top['customers'])} customers, together {t.money(top['stake'])} a year "
        "that may be lost."
    )
    assert expected in sections._findings(ctx)


def test_three_to_five_findings(ctx):
    assert 3 <= len(sections._findings(ctx)) <= 5


def test_recommendations_list_each_action_once_ranked_by_money(ctx, labels, stakes_by_action):
    t = ctx.t
    text = sections.recommendations(ctx)
    items = re.findall(
        r"^\d+\. \*\*(.+?)\*\* \((.+?) customers, at stake per year (.+?)\): ", text, re.M
    )
    expected = [
        (t.join([labels[s] for s in row.segments]), t.number(row.customers), t.money(row.stake))
        for row in stakes_by_action.itertuples()
    ]
    assert items == expected
    for action in stakes_by_action.index:
        assert text.count(t(f"recommendations.actions.{action}.what")) == 1


def test_segment_conclusion_names_the_segment_with_most_expected_value(ctx, labels):
    t, customers = ctx.t, ctx.analysis.customers
    clv = customers.groupby("segment")["clv"].sum()
    share = clv.max() / clv.sum()
    expected = t(
        "segments.conclusion_clv",
        label=labels[clv.idxmax()],
        share=t.percent(share, digits=0),
        months=12,
    )
    assert expected in sections.segments(ctx)


def test_summary_shows_the_historic_clv_calculation(ctx):
    t, customers = ctx.t, ctx.analysis.customers
    value = customers["revenue"].sum() / customers["n_purchases"].sum()
    text = sections.executive_summary(ctx)
    assert f"{t.money(value, digits=2)} per purchase" in text
    per_customer = customers["revenue"].sum() / len(customers)
    assert f"average revenue per customer ({t.money(per_customer)})" in text


def test_summary_key_figures(ctx):
    t, a = ctx.t, ctx.analysis
    text = sections.executive_summary(ctx)
    values = re.findall(r"\[([^\]]+)\]\{\.value\}", text)
    active = int((a.customers["recency_days"] <= 365.25).sum())
    assert values == [
        t.number(active),
        t.money(a.customers["revenue"].sum()),
        t.money(a.figures.historic_clv),
        t.money(a.customers["clv"].mean()),
        t.percent(a.concentration.top_value_share, digits=0),
    ]
