"""Generated report text: findings, segments and recommendations name the right
segments with the right amounts.

The fixture client (400 customers) is analysed once; every expected value here
is recomputed from the per-customer table, independently of the section code.
"""

import math
import re
from pathlib import Path

import pytest

from clvreport.report import first_page, sections
from clvreport.report.context import setup

CLIENTS = Path(__file__).parent / "fixtures" / "clients"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    out = tmp_path_factory.mktemp("sections")
    return setup(client="branded", data_dir=CLIENTS, language="en", output_dir=out)


@pytest.fixture(scope="module")
def labels(ctx):
    return ctx.analysis.rules.labels("en")


def test_the_fixture_has_a_usable_model(ctx):
    assert ctx.analysis.has_predictions


def _key_figure_values(text: str) -> list[str]:
    return re.findall(r"\[([^\]]+)\]\{\.value\}", text)


def _advised(ctx):
    return ctx.plan[ctx.plan["profitable"].fillna(False).astype(bool)]


def test_page_one_answers_the_four_questions_with_this_clients_numbers(ctx):
    t, a = ctx.t, ctx.analysis
    customers = a.customers
    text = first_page.executive_summary(ctx)
    # What it is worth: the sum of the customers' CLV; who is worth most: the future share
    # of the top 20% by CLV; who is at risk: the value at stake of the at-risk segments;
    # what to do: the net return of the three best profitable actions.
    top = customers.nlargest(math.floor(0.2 * len(customers)), "clv")
    risky = customers[(customers["n_purchases"] >= 2) & (customers["p_alive"] < 0.5)]
    plan = _advised(ctx).head(3)
    assert _key_figure_values(text) == [
        t.money(customers["clv"].sum()),
        t.percent(top["clv"].sum() / customers["clv"].sum(), digits=0),
        t.money(risky["value_at_stake"].sum()),
        t.money(plan["net_return"].sum()),
    ]
    assert t.money(a.base_value["clv_low"]) in text and t.money(a.base_value["clv_high"]) in text
    assert t.number(len(risky)) in text
    for row in plan.itertuples():
        assert t(f"recommendations.actions.{row.action}.name") in text
        assert t.money(row.cost) in text and t.money(row.net_return) in text


def test_page_one_action_table_has_a_total_row(ctx):
    t = ctx.t
    text = first_page.executive_summary(ctx)
    plan = _advised(ctx).head(3)
    assert f"| **{t('overview.total')}** |" in text
    total = next(line for line in text.splitlines() if f"**{t('overview.total')}**" in line)
    assert f"{t.money(plan['net_return'].sum())}" in total  # the likely net, in its range
    assert f"{t.money(plan['cost'].sum())}" in total  # the budget


def test_recommendations_rank_actions_by_net_return_and_reject_unprofitable_ones(ctx):
    t = ctx.t
    text = sections.recommendations(ctx)
    advised = _advised(ctx)
    names = re.findall(r"^\d+\. \*\*(.+?)\*\* ", text, re.M)
    assert names == [t(f"recommendations.actions.{a}.name") for a in advised["action"]]
    assert list(advised["net_return"]) == sorted(advised["net_return"], reverse=True)
    assert (advised["net_return"] > 0).all()
    rejected = ctx.plan[~ctx.plan["action"].isin(advised["action"])]
    if len(rejected):
        tail = text.split(t("recommendations.not_profitable_intro"))[1]
        for row in rejected.itertuples():
            assert t(f"recommendations.actions.{row.action}.name") in tail


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
    t, a = ctx.t, ctx.analysis
    customers = a.customers
    value = customers["revenue"].sum() / customers["n_purchases"].sum()
    text = first_page.executive_summary(ctx)
    assert f"{t.money(value, digits=2)} per purchase" in text
    per_customer = customers["revenue"].sum() / len(customers)
    assert f"more than the {t.money(per_customer)} a customer has spent so far" in text
    assert f"brings in {t.money(customers['historic_clv'].mean())} of revenue" in text
    # its factors are the defined terms, each with the one number the report gives it
    f = a.figures
    assert f"at a retention rate of {t.percent(f.retention_rate, digits=0)}" in text
    remaining = t.number(f.expected_remaining_years, digits=1)
    assert f"expected remaining years of such a customer are {remaining} years" in text
    assert f"{t.number(f.customer_years, digits=1)} customer years" in text
    assert a.retention["retention_rate"].iloc[-1] == f.retention_rate  # the table's last year


def test_loyalty_and_methodology_give_each_term_its_one_number(ctx):
    t, a = ctx.t, ctx.analysis
    f, customers = a.figures, a.customers
    loyalty = sections.loyalty_and_retention(ctx)
    method = sections.methodology(ctx)
    retention = t.percent(f.retention_rate, digits=0)
    repeat = t.percent((customers["n_purchases"] >= 2).mean(), digits=0)
    lifespan = t.number(
        customers.loc[customers["n_purchases"] >= 2, "lifespan_years"].median(), digits=1
    )
    active = t.number(int((customers["last_purchase"] >= "2024-01-01").sum()))
    assert f"Retention rate: {retention}" in loyalty
    assert f"repeat buyers (customers with more than one purchase) is {repeat}" in loyalty
    assert f"there are {active} active customers" in loyalty
    assert f"repeat buyers: median {lifespan} years" in loyalty
    assert f"a retention rate of {retention}." in method
    assert f"Share of repeat buyers: {repeat}." in method
    assert f"Median customer lifespan of the repeat buyers: {lifespan} years." in method
    assert f"There are {active} active customers." in method


def test_captions_state_the_finding_with_its_number(ctx):
    """Captions carry this client's numbers, recomputed here, not a description of the axes."""
    t, a = ctx.t, ctx.analysis
    c = a.concentration
    text = sections.concentration(ctx)
    caption = re.search(r"!\[(.+?)\]\(figures/lorenz\.png\)", text).group(1)
    assert t.percent(c.top_value_share, digits=0) in caption
    assert t.percent(c.customer_share_for_target, digits=0) in caption
    value = sections.most_valuable_customers(ctx)
    top20 = a.tiers.iloc[:3]["value_share"].sum()
    tiers_caption = re.search(r"!\[(.+?)\]\(figures/tiers\.png\)", value).group(1)
    assert t.percent(top20, digits=0) in tiers_caption
    top = sections._top_customers(ctx, "clv")[0]  # as the table ranks them
    assert f"{t.money(top['clv'].sum())}" in value


@pytest.mark.parametrize(
    ("error", "judge", "nl", "en"),
    [
        (-0.20, True, "20% te laag", "20% too low"),
        (0.12, False, "12% te hoog", "12% too high"),
        (-0.04, True, "4% te laag: vrijwel raak", "4% too low: close to the mark"),
        (0.0501, True, "5% te hoog: vrijwel raak", "5% too high: close to the mark"),
        (0.0549, True, "5% te hoog: vrijwel raak", "5% too high: close to the mark"),
        (0.0551, True, "6% te hoog", "6% too high"),
        # a check that is not good never calls a miss close, whatever its size
        (-0.04, False, "4% te laag", "4% too low"),
        (0.004, True, "vrijwel precies goed", "almost exactly right"),
        (0.004, False, "vrijwel precies goed", "almost exactly right"),
        (float("nan"), True, "verschil onbekend", "difference unknown"),
    ],
)
def test_a_forecast_miss_always_says_which_way(error, judge, nl, en):
    """A miss says too low or too high (not "a difference of 4%"); "close" only for a good check."""
    from clvreport.i18n import Translator

    assert sections._difference(Translator("nl", "EUR"), error, judge=judge) == nl
    assert sections._difference(Translator("en", "EUR"), error, judge=judge) == en


def test_a_top_group_of_one_segment_is_not_counted_twice():
    """Not "424 subscribers, among them 424 Most loyal subscribers"."""
    from types import SimpleNamespace

    from clvreport.customer_groups import TopGroup
    from clvreport.i18n import Translator
    from clvreport.report.first_page import _top_figure
    from clvreport.segments import default_segment_rules

    rules = default_segment_rules()
    code = next(iter(rules.codes))
    ctx = SimpleNamespace(t=Translator("en", "EUR"), analysis=SimpleNamespace(rules=rules))
    one = TopGroup(0.2, 424, 1000.0, 0.29, 0.3, ((code, 424),))
    note = _top_figure(ctx, one).note
    assert "424 customers, all of them" in note and "among them" not in note
    two = TopGroup(0.2, 424, 1000.0, 0.29, 0.3, ((code, 400), (code, 24)))
    assert "among them 400" in _top_figure(ctx, two).note


def test_a_measured_rate_is_never_called_an_assumption(ctx):
    """After a report with control groups the plan prices an action with its learned rate.

    Page 2 then says "partly measured"; the recommendations and the break-even
    sentence must say the same of that rate, not "(an assumption, ...)".
    """
    import copy

    from clvreport.report.sensitivity import _break_even

    advised = _advised(ctx)
    assert len(advised) >= 2
    measured = ctx.plan.copy()
    sources = {advised["action"].iloc[0]: "partly_measured", advised["action"].iloc[1]: "measured"}
    measured["rate_source"] = [sources.get(a, "assumed") for a in measured["action"]]
    learned = copy.copy(ctx)
    learned.__dict__["plan"] = measured
    text = str(sections.recommendations(learned))
    items = {
        action: next(
            line
            for line in text.splitlines()
            if f"**{ctx.t(f'recommendations.actions.{action}.name')}**" in line
        )
        for action in advised["action"]
    }
    for action, item in items.items():
        source = {"partly_measured": "partly measured", "measured": "measured"}.get(
            sources.get(action, ""), "assumption"
        )
        assert f"({source}, not a response rate)" in item, item
    for action in sources:
        assert "assumption" not in items[action], items[action]
    first = advised.iloc[0]
    if first["uplift"]:
        assert "more afterwards (partly measured)" in items[first["action"]]
    # the unchanged context still calls every rate an assumption
    plain = str(sections.recommendations(ctx))
    assert plain.count("(assumption, not a response rate)") == len(advised)
    break_even = _break_even(learned) or ""
    assert "(assumed:" not in break_even
    assert "(assumption: " in (_break_even(ctx) or "(assumption: ")


def test_the_segment_caption_compares_running_subscriptions_only():
    """Not "Cancelled subscribers are the least likely to stay (0%)": that is no finding."""
    from types import SimpleNamespace

    import pandas as pd

    from clvreport.i18n import Translator
    from clvreport.segments import load_segment_rules

    rules = load_segment_rules(audience="subscribers")
    new, loyal, gone = "new", "champions", "lost"
    assert {new, loyal, gone} <= set(rules.codes)
    customers = pd.DataFrame(
        {
            "segment": [loyal, loyal, new, new, gone, gone],
            "p_alive": [0.6, 0.5, 0.1, 0.12, 0.0, 0.0],
            "active": [True, True, True, True, False, False],
        }
    )
    analysis = SimpleNamespace(
        has_predictions=True, customers=customers, risk_basis="alive", rules=rules
    )
    ctx = SimpleNamespace(t=Translator("en", "EUR", audience="subscribers"), analysis=analysis)
    seg = pd.DataFrame({"segment": [loyal, new, gone]})
    labels = rules.labels("en")
    caption = sections._segment_table_caption(ctx, seg)
    assert f"{labels[new]}" in caption and "(11%)" in caption, caption
    assert labels[gone] not in caption and "(0%)" not in caption, caption
    assert f"{labels[loyal]}" in caption and "(55%)" in caption, caption
    # a shop's table (no running column) still names its lowest segment, whatever it is
    shop = SimpleNamespace(
        has_predictions=True,
        customers=customers.drop(columns="active"),
        risk_basis="alive",
        rules=rules,
    )
    assert "(0%)" in sections._segment_table_caption(SimpleNamespace(t=ctx.t, analysis=shop), seg)


@pytest.mark.parametrize(
    ("language", "audience", "one", "many"),
    [
        ("nl", None, "1 klant van 30 juni 2024 staat", "2 klanten van 30 juni 2024 staan"),
        ("en", None, "1 customer of 30 June 2024 is not", "2 customers of 30 June 2024 are not"),
        ("nl", "donors", "bij 1 donateur verschillen", "bij 2 donateurs verschillen"),
        ("nl", "subscribers", "1 abonnee loopt sinds", "2 abonnees lopen sinds"),
    ],
)
def test_the_comparison_notes_say_one_customer_in_the_singular(language, audience, one, many):
    """Not "1 klanten van 30 juni 2024 staan niet meer in de nieuwe gegevens"."""
    import datetime as dt
    from types import SimpleNamespace

    import pandas as pd

    from clvreport.i18n import Translator
    from clvreport.report.changes import _risk_and_notes

    t = Translator(language, "EUR", **({"audience": audience} if audience else {}))
    customers = pd.DataFrame({"customer_id": ["a", "b"], "value_at_stake": [10.0, 5.0]})
    ctx = SimpleNamespace(t=t, analysis=SimpleNamespace(customers=customers))

    def notes(count: int) -> str:
        comparison = SimpleNamespace(
            previous_as_of=dt.date(2024, 6, 30),
            newly_at_risk=["a", "b"][:count],
            missing_customers=count,
            changed_history=count,
        )
        return " ".join(str(_risk_and_notes(ctx, comparison)).split())

    single, plural = notes(1), notes(2)
    assert one in single, single
    assert many in plural, plural
    assert not re.search(r"\b1 (klanten|customers|donateurs|donors|abonnees|subscribers)\b", single)


def test_a_horizon_as_long_as_the_relationship_is_not_set_against_itself(ctx):
    """goededoel (60 months, at most 5 years) read "EUR 99.610 at stake ... over the rest of
    their relationship (at most 5 years) EUR 99.610 is at stake" and "the segment table counts
    the next 60 months only": one number named twice as if it were two."""
    import copy

    from clvreport.customer_groups import at_risk
    from clvreport.report.first_page import _risk_figure, lifetime_beyond_horizon

    a = ctx.analysis
    assert "value_at_stake_lifetime" in a.customers and lifetime_beyond_horizon(ctx)
    risk = at_risk(a.customers)
    assert risk.n_customers > 0
    assert "Over the rest of their relationship" in _risk_figure(ctx, risk).note
    plain = str(sections.recommendations(ctx))
    assert "the segment table counts the next" in plain
    assert "whole relationship" in plain or "relationship" in plain

    same = copy.copy(ctx)
    same.analysis = copy.copy(a)
    same.analysis.config = a.config.model_copy(
        update={"horizon_months": a.config.lifetime_years * 12}
    )
    assert not lifetime_beyond_horizon(same)
    assert "Over the rest of" not in _risk_figure(same, risk).note
    text = str(sections.recommendations(same))
    assert "the segment table counts the next" not in text
    assert "at most 5 years" not in text and "rest of their relationship" not in text
    assert f"the next {a.config.lifetime_years * 12} months" in text
    assert "Lifetime value:" in str(sections.methodology(ctx))
    assert "Lifetime value:" not in str(sections.methodology(same))


def test_without_a_margin_the_control_check_speaks_of_revenue(ctx):
    """cdnow and goededoel have no margin ("Er is geen marge opgegeven") yet page 2 promised to
    compare "marge per klant" / "marge per donateur"."""
    import copy

    from clvreport.report.first_page import _memo_items, top_actions

    actions = top_actions(ctx)
    with_margin = copy.copy(ctx)
    with_margin.analysis = copy.copy(ctx.analysis)
    with_margin.analysis.config = ctx.analysis.config.model_copy(update={"gross_margin": 0.4})
    assert "(bought again, margin per customer)" in _memo_items(with_margin, actions)
    revenue = copy.copy(ctx)
    revenue.analysis = copy.copy(ctx.analysis)
    revenue.analysis.config = ctx.analysis.config.model_copy(update={"gross_margin": 1.0})
    text = _memo_items(revenue, actions)
    assert "(bought again, revenue per customer)" in text and "margin" not in text, text


def test_a_plan_with_measured_rates_does_not_call_every_rate_an_assumption(ctx):
    """The demo's second report said "slagingskansen ... zijn aannames" on page 2 and under the
    recommendations, beside "Belonen en bedanken: deels gemeten"."""
    import copy

    advised = _advised(ctx)
    learned = copy.copy(ctx)
    plan = ctx.plan.copy()
    plan["rate_source"] = [
        "partly_measured" if a == advised["action"].iloc[0] else "assumed" for a in plan["action"]
    ]
    learned.__dict__["plan"] = plan
    plain = " ".join(str(sections.recommendations(ctx)).split())
    assert "success rates and the extra purchases after an action are assumptions" in plain
    measured = " ".join(str(sections.recommendations(learned)).split())
    assert "are assumptions, not measurements" not in measured
    assert "except where the previous report's control groups measured them" in measured
    page = " ".join(str(first_page.executive_summary(learned)).split())
    assert "Costs are assumptions; so are success rates" in page, page
    assert "success rates and the extra purchases after an action are assumptions" not in page


def test_identical_rows_of_a_ranked_table_collapse_into_one_profile():
    """Ten rows of tied customers say nothing: alike rows become one, with their number."""
    import pandas as pd

    ids = [f"c{i}" for i in range(14)]
    cells = pd.DataFrame(
        {
            "Customer": ids,
            "Segment": ["Loyal"] * 12 + ["New", "Loyal"],
            "Since": [""] * 14,
            "Value": ["€ 9"] * 5 + ["€ 8"] * 7 + ["€ 7", "€ 6"],
        }
    )
    days = pd.to_datetime([f"2024-01-{d:02d}" for d in range(1, 15)])
    marks = [""] * 14
    marks[5] = " (*)"  # a mark shown is part of the profile
    rows, counts = sections.collapse_profiles(
        cells,
        ids=ids,
        marks=marks,
        dates=days,
        n=3,
        label=lambda count, first: f"{count} customers with this profile, e.g. {first}",
        date=lambda day: f"{day:%d %b}",
    )
    assert rows["Customer"].tolist() == [
        "5 customers with this profile, e.g. c0, c1",
        "c5",
        "6 customers with this profile, e.g. c6, c7",
    ]
    assert rows["Since"].tolist() == ["01 Jan – 05 Jan", "", "07 Jan – 12 Jan"]
    assert counts["count"].tolist() == [5, 1, 6]
    assert counts["members"].iloc[2] == [6, 7, 8, 9, 10, 11]
    # without identical rows the table is unchanged
    distinct = cells.iloc[11:].reset_index(drop=True)
    rows, counts = sections.collapse_profiles(
        distinct,
        ids=ids[11:],
        marks=[""] * 3,
        dates=days[11:],
        n=10,
        label=lambda count, first: "never",
        date=str,
    )
    assert rows.reset_index(drop=True).equals(distinct) and counts["count"].tolist() == [1] * 3


def test_a_shop_with_identical_top_customers_lists_ten_different_profiles(ctx):
    """The shop gets the subscription example's treatment: 25 copies of the best customer
    make one row "25 customers with this profile", and the table still has ten profiles."""
    import copy
    import dataclasses

    import pandas as pd

    customers = ctx.analysis.customers
    best = customers.sort_values("clv", ascending=False).iloc[[0]]
    copies = pd.concat([best] * 24, ignore_index=True)
    copies["customer_id"] = [f"twin{i:02d}" for i in range(24)]
    twinned = copy.copy(ctx)
    twinned.analysis = dataclasses.replace(
        ctx.analysis, customers=pd.concat([customers, copies], ignore_index=True)
    )
    text = " ".join(str(sections.most_valuable_customers(twinned)).split())
    table = text[text.index("| Customer |") : text.index("{#tbl-top}")]
    rows = [line for line in table.split(" | |") if "€" in line]
    assert len(rows) == 10, table
    assert "25 customers with this profile, e.g." in rows[0], rows[0]
    assert "customers with this profile" not in " ".join(rows[1:])
    assert "The ten most valuable profiles stand for 34 customers" in text
    assert "share one row" in text
    plain = " ".join(str(sections.most_valuable_customers(ctx)).split())
    assert "with this profile" not in plain and "The ten most valuable customers are" in plain


def test_dates_in_the_top_table_do_not_break():
    """ "10 apr / 2018" on two lines: day, month and year are joined by non-breaking spaces."""
    import datetime as dt

    from clvreport.i18n import translator

    cell = sections._date_cell(translator("nl"), dt.date(2018, 4, 10))
    assert cell == "10\xa0apr\xa02018"


def test_only_the_assumed_extra_purchases_rest_on_an_assumption(ctx):
    """Demo, second report: "€ 7.567 steunt op de aanname dat klanten ... iets meer kopen"
    counted the measured action's extra purchases too."""
    import pandas as pd

    from clvreport.i18n import translator

    plan = pd.DataFrame(
        {
            "value_added": [4000.0, 3567.0],
            "value_kept": [10000.0, 5000.0],
            "rate_source": ["partly_measured", "assumed"],
        }
    )
    for language, assumption, measured in (
        ("nl", "steunt € 3.567 op de aanname", "Nog eens € 4.000 aan extra aankopen is deels"),
        ("en", "€3,567 rests on the assumption", "Another €4,000 of extra purchases is partly"),
    ):
        text = " ".join(first_page.uplift_sentences(translator(language), plan)).replace(
            "\xa0", " "
        )
        assert assumption in text and measured in text, text
        assert "7.567" not in text and "7,567" not in text
    # every action measured: no assumption left to name
    plan["rate_source"] = ["measured", "measured"]
    text = " ".join(first_page.uplift_sentences(translator("nl"), plan)).replace("\xa0", " ")
    assert "aanname" not in text and "€ 7.567 extra aankopen, gemeten" in text, text
    # none measured: the sentence as before
    plan = plan.drop(columns="rate_source")
    text = " ".join(first_page.uplift_sentences(translator("nl"), plan)).replace("\xa0", " ")
    assert text.startswith("Van die opbrengst steunt € 7.567 op de aanname"), text
    # the summary uses it
    learned_plan = ctx.plan.copy()
    learned_plan["rate_source"] = "measured"
    assert "rests on the assumption" not in first_page._return_notes(
        _with_plan(ctx, learned_plan), _advised(ctx).assign(rate_source="measured")
    )


def _with_plan(ctx, plan):
    import copy

    learned = copy.copy(ctx)
    learned.__dict__["plan"] = plan
    return learned
