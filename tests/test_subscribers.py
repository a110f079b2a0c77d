"""The subscription analysis (business: subscription): sBG scores that mean what the report says.

Run on the committed example subscription service (two monthly plans generated
from sBG with Fader & Hardie's 'regular' and 'high end' parameters).
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.analysis import run_analysis
from clvreport.config import load_client
from clvreport.customer_groups import AT_RISK_CANCEL_RENEWALS, AT_RISK_P_CANCEL, at_risk_mask
from clvreport.engine import DuckDBEngine
from clvreport.models.units import horizon_periods
from clvreport.subscribers import (
    SubscriberFit,
    fit_subscriber_model,
    read_contracts,
    score_subscribers,
)
from clvreport.subscription_log import create_payments

DATA = Path(__file__).parents[1] / "data"
CLIENT = "abonnement"


@pytest.fixture(scope="module")
def analysis():
    client_dir, config = load_client(CLIENT, DATA)
    return run_analysis(config, client_dir)


def test_one_model_per_plan_recovers_the_generating_parameters(analysis):
    fit = analysis.model
    assert isinstance(fit, SubscriberFit) and fit.usable and fit.model_name == "sbg"
    truth = {"duobox": (0.704, 1.182), "gezinsbox": (0.668, 3.806)}
    for plan, (alpha, beta) in truth.items():
        model = fit.models[plan]
        errors = model.standard_errors_
        assert abs(model.params_["alpha"] - alpha) < 4 * errors["alpha"], plan
        assert abs(model.params_["beta"] - beta) < 4 * errors["beta"], plan


def test_payments_are_one_per_paid_period(analysis):
    contracts = analysis.subscribers.contracts
    customers = analysis.customers.set_index("customer_id")
    latest = (
        contracts.groupby("customer_id")["renewals"].sum() + contracts.groupby("customer_id").size()
    )
    np.testing.assert_array_equal(customers.loc[latest.index, "n_purchases"], latest.to_numpy())
    paid = (contracts["renewals"] + 1) * contracts["price"]
    revenue = paid.groupby(contracts["customer_id"]).sum()
    np.testing.assert_allclose(customers.loc[revenue.index, "revenue"], revenue, rtol=1e-9)


def test_scores_hold_their_identities(analysis):
    c = analysis.customers
    periods = horizon_periods(analysis.config.horizon_months, "month")
    np.testing.assert_allclose(c["clv"] + c["value_at_stake"], c["clv_if_alive"], rtol=1e-9)
    ended = ~c["active"]
    assert (c.loc[ended, ["p_alive", "clv"]] == 0).all().all()
    # an ended subscription has nothing at stake; a win-back can win at most a new
    # subscription of its plan, less the longer ago it ended
    assert (c.loc[ended, "value_at_stake"] == 0).all()
    assert (c.loc[~ended, "winback_value"] == 0).all()
    new = c["active"] & (c["n_purchases"] == 1)
    assert c.loc[ended, "winback_value"].max() <= c.loc[new, "clv_if_alive"].max() + 1e-9
    assert c["p_alive"].between(0, 1).all()
    assert (c["expected_purchases"] <= periods + 1e-9).all()
    # p_alive = S(n + H) / S(n) of the subscriber's plan, by hand for one of them
    row = c[c["active"]].iloc[0]
    contract = analysis.subscribers.contracts.set_index("customer_id").loc[row["customer_id"]]
    model = analysis.model.model_for(contract["plan"])
    n = contract["renewals"]
    assert row["p_alive"] == pytest.approx(model.survival(n + periods) / model.survival(n))
    # at risk: running subscriptions likely to cancel within the next renewals
    risky = c[at_risk_mask(c)]
    assert risky["active"].all() and (risky["p_cancel_soon"] >= AT_RISK_P_CANCEL).all()
    assert (risky["n_purchases"] >= 2).all()
    row = risky.iloc[0]
    contract = analysis.subscribers.contracts.set_index("customer_id").loc[row["customer_id"]]
    model = analysis.model.model_for(contract["plan"])
    n, k = contract["renewals"], AT_RISK_CANCEL_RENEWALS
    assert row["p_cancel_soon"] == pytest.approx(1 - model.survival(n + k) / model.survival(n))
    # a longer subscription is less likely to end (heterogeneity)
    long = c["active"] & (c["n_purchases"] >= 25)
    short = c["active"] & (c["n_purchases"] <= 4)
    assert c.loc[long, "p_alive"].mean() > c.loc[short, "p_alive"].mean()


def test_forecast_adds_up(analysis):
    sub = analysis.subscribers
    forecast = sub.forecast
    assert (np.diff(forecast["subscribers"]) < 0).all()
    assert forecast["subscribers"].iloc[0] <= analysis.customers["active"].sum()
    assert forecast["subscribers"].sum() == pytest.approx(
        analysis.customers["expected_purchases"].sum(), rel=1e-9
    )
    base = analysis.base_value
    assert base["clv_low"] < base["clv"] < base["clv_high"]
    assert base["clv"] == pytest.approx(analysis.customers["clv"].sum(), rel=1e-9)


def test_cohort_survival_is_a_recount(analysis):
    sub = analysis.subscribers
    table = sub.cohorts
    contracts = sub.contracts
    started_2021 = contracts[pd.to_datetime(contracts["start"]).dt.year == 2021]
    row = table[(table["cohort"] == "2021") & (table["age"] == 12)].iloc[0]
    assert row["share"] == pytest.approx((started_2021["renewals"] >= 12).mean())
    assert abs(row["share"] - row["expected"]) < 4 * np.sqrt(
        row["expected"] * (1 - row["expected"]) / row["subscriptions"]
    )
    assert "2024" not in set(table["cohort"])  # not observed a whole period for all of them


def test_small_case_by_hand(tmp_path):
    rows = ["id;start;end;price"]
    rows += [f"a{i};01-01-2023;01-{1 + i % 6:02d}-2024;10,00" for i in range(30)]
    rows += [f"b{i};01-06-2023;;10,00" for i in range(20)]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "client.yml").write_text(
        "name: x\nbusiness: subscription\nas_of: 2024-12-31\n"
        "subscription: {start: start, end: end, period: month, price: price}\n"
        "data:\n  sources: [log.csv]\n"
        "  csv: {delimiter: ';', decimal: ',', date_format: '%d-%m-%Y'}\n"
        "  columns: {customer_id: id, date: start, amount: price}\n",
        encoding="utf-8",
    )
    _, config = load_client(tmp_path.name, tmp_path.parent)
    contracts = read_contracts(config, tmp_path, dt.date(2024, 12, 31))
    assert len(contracts) == 50 and contracts["active"].sum() == 20
    with DuckDBEngine() as engine:
        table = create_payments(engine, contracts, "month")
        paid = engine.query(f"SELECT count(*) AS n, sum(amount) AS total FROM {table}")
    assert int(paid["n"].iloc[0]) == int((contracts["renewals"] + 1).sum())
    assert float(paid["total"].iloc[0]) == pytest.approx(10.0 * paid["n"].iloc[0])
    fit = fit_subscriber_model(contracts, "month")
    scores, _ = score_subscribers(
        fit, contracts, horizon_months=12, discount_rate=0.0, gross_margin=1.0
    )
    running = scores[scores["active"]]
    # undiscounted: CLV = price x expected payments; if alive = price x 12
    np.testing.assert_allclose(running["clv"], 10.0 * running["expected_purchases"])
    np.testing.assert_allclose(running["clv_if_alive"], 120.0)


def test_comparison_of_two_subscription_reports_checks_the_forecast(analysis):
    from clvreport.comparison import StoredReport, compare_reports
    from clvreport.outputs import customer_table

    client_dir, config = load_client(CLIENT, DATA)
    before = run_analysis(config, client_dir, as_of=dt.date(2024, 6, 30))
    old = customer_table(before)
    previous = StoredReport(Path("x"), before.as_of, old, before.model.to_dict())
    now = customer_table(analysis)
    result = compare_reports(previous, now, analysis.as_of)
    total = result.total
    # actual: the payments of June's subscribers since (one per paid month)
    paid = now.set_index("customer_id").loc[old["customer_id"], "n_purchases"].to_numpy()
    assert total["actual_purchases"] == float((paid - old["n_purchases"].to_numpy()).sum())
    # predicted: six months of each running subscriber's S(n + s) / S(n), by plan
    fit = previous.fit
    expected = 0.0
    for row in old[old["active"]].itertuples():
        model = fit.model_for(row.plan)
        s = np.arange(1, 7)
        expected += float(np.sum(model.survival(row.frequency + s) / model.survival(row.frequency)))
    assert total["predicted_purchases"] == pytest.approx(expected, rel=1e-9)
    assert total["purchases_low"] <= total["actual_purchases"] <= total["purchases_high"]


def test_running_and_cancelled_subscribers_never_share_a_segment(analysis):
    c = analysis.customers
    mixed = c.groupby(c["segment"].astype(str), observed=True)["active"].nunique()
    assert (mixed == 1).all(), mixed[mixed > 1]
    cancelled = set(c.loc[~c["active"], "segment"].astype(str))
    assert cancelled <= {"at_risk", "cant_lose_them", "hibernating", "lost"}


def test_data_quality_speaks_of_the_clients_file(analysis):
    q = analysis.quality
    source = DATA / CLIENT / "abonnementen.csv"
    lines = source.read_text(encoding="utf-8").strip().splitlines()
    assert [info.path.name for info in q.files] == ["abonnementen.csv"]
    assert q.rows_read == len(lines) - 1  # the header is no data row
    assert q.rows_kept == len(analysis.subscribers.contracts)
    assert q.rows_read == q.rows_kept + q.excluded_rows


def test_tenure_is_measured_and_the_forecast_named_apart(analysis):
    from clvreport.tenure import ALL_PLANS_LABEL, tenure_table

    contracts = analysis.subscribers.contracts
    cap = analysis.config.lifetime_years * 12
    table = tenure_table(contracts, analysis.model.model_for, "month", cap).set_index("plan")
    paid = contracts["renewals"] + 1
    ended = ~contracts["active"]
    for plan in ("duobox", "gezinsbox"):
        mine = (contracts["plan"] == plan) & ended
        assert table.loc[plan, "ended_mean"] == pytest.approx(paid[mine].mean())
    total = table.loc[ALL_PLANS_LABEL]
    assert total["all_mean"] == pytest.approx(paid.mean())  # 7.4 months, not 1.8 years
    assert total["all_median"] == pytest.approx(paid.median())
    # both plans have alpha < 1: an uncapped mean lifetime would be infinite
    assert total["unbounded"]
    # the forecast for running subscriptions is within the cap and beyond what ended ones lasted
    assert total["ended_mean"] < total["expected_remaining"] < cap


def test_value_at_stake_never_exceeds_the_value_it_is_part_of(analysis):
    """Per subscriber, per segment and in total: stake <= value if staying the whole period."""
    c = analysis.customers
    stake, if_alive = c["value_at_stake"], c["clv_if_alive"]
    assert (stake >= -1e-9).all() and (stake <= if_alive + 1e-9).all()
    life = c["value_at_stake_lifetime"]
    assert (life >= -1e-9).all() and (life <= c["clv_if_alive_lifetime"] + 1e-9).all()
    seg = analysis.segments.set_index("segment")
    if_alive_by_segment = if_alive.groupby(c["segment"].astype(str)).sum()
    assert (seg["value_at_stake"] <= if_alive_by_segment.reindex(seg.index).fillna(0) + 1e-6).all()
    assert seg["value_at_stake"].sum() == pytest.approx(stake.sum())
    # the running base: what is at stake is part of its value if all stayed, never more
    assert stake.sum() <= if_alive.sum()
    # ex-subscribers' win-back value is apart from the stake
    ended = ~c["active"]
    assert seg.loc[seg.index.isin(c.loc[ended, "segment"].unique()), "value_at_stake"].sum() == 0


def test_winback_decays_and_stops_at_the_horizon(analysis):
    from clvreport.subscribers import winback_weight

    options = analysis.config.subscription
    c = analysis.customers[~analysis.customers["active"]]
    months = c["months_since_end"].to_numpy()
    weight = winback_weight(months, options.winback_half_life_months, 1e9)
    assert np.all(np.diff(weight[np.argsort(months)]) <= 1e-12)  # longer ago, less
    half = winback_weight(np.array([0.0, options.winback_half_life_months]), 6.0, 24.0)
    assert half.tolist() == [1.0, 0.5]
    beyond = months > options.winback_horizon_months
    assert beyond.any() and (c.loc[beyond, "winback_value"] == 0).all()
    assert (c.loc[~beyond, "winback_value"] > 0).all()
    # beyond the horizon: on no action list
    from clvreport.recommendations import customer_actions

    actions = customer_actions(analysis.customers)
    listed = set(actions["customer_id"].astype(str))
    assert not listed & set(c.loc[beyond, "customer_id"].astype(str))
    # a win-back is worth less for whom cancelled longer ago (same plan)
    plan = c["plan"] == "duobox"
    recent = c.loc[plan & (months < 3), "winback_value"].mean()
    older = c.loc[plan & (months > 12) & ~beyond, "winback_value"].mean()
    assert recent > 2 * older


def test_retention_actions_count_only_subscribers_who_may_leave(analysis):
    """A thank-you to loyal subscribers keeps value only where cancelling is likely soon."""
    from clvreport.recommendations import PlanRules, customer_actions

    c = analysis.customers
    actions = customer_actions(c).join(c[["active", "p_cancel_soon", "clv"]])
    running = actions[actions["active"]]
    calm = running["p_cancel_soon"] < AT_RISK_P_CANCEL
    assert (running.loc[calm, "value_kept"] == 0).all()
    assert (running.loc[calm, "value_at_stake"] == 0).all()
    # the reward e-mail to the most loyal: at most its assumed rates on the movable ones
    rules = PlanRules.default().actions["reward"]
    reward = running[running["action"] == "reward"]
    movable = ~calm.loc[reward.index]
    bound = (rules["success_rate"] * reward["value_at_stake"] + rules["uplift"] * reward["clv"])[
        movable
    ].sum()
    assert reward["value_kept"].sum() == pytest.approx(bound)
    assert reward["value_kept"].sum() < 0.01 * c.loc[c["segment"] == "champions", "clv"].sum()


def test_identical_running_subscribers_share_a_segment(analysis):
    """A few days' difference in the renewal date does not move a subscriber to another group."""
    c = analysis.customers
    running = c[c["active"]]
    assert (running["r"] == analysis.rules.bins).all()
    same = running.groupby(["plan", "n_purchases", "revenue"], observed=True)["segment"]
    assert (same.nunique() == 1).all()
    assert set(running["segment"].astype(str)) <= {"champions", "potential_loyalists", "new"}


def test_concentration_is_over_running_subscriptions(analysis):
    """The 80/20 figures do not count ex-subscribers, who are worth 0 by definition."""
    from clvreport.customer_groups import top_group, valued_customers

    c = analysis.customers
    running = valued_customers(c)
    assert len(running) == int(c["active"].sum())
    tiers = analysis.tiers
    assert int(tiers["n_customers"].sum()) == len(running)
    assert tiers["value"].sum() == pytest.approx(c["clv"].sum())
    top = top_group(running, value="clv")
    assert abs(top.n_customers - 0.2 * len(running)) < 1
    # the top fifth of the running base holds less than the near-all of the whole table
    assert top.future_share < top_group(c, value="clv").future_share


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_at_risk_words_state_the_rule_in_use(language):
    """The texts name the at-risk rule the code applies (its chance and its renewals)."""
    from clvreport.i18n import Translator

    t = Translator(language, audience="subscribers")
    chance = t.percent(AT_RISK_P_CANCEL, digits=0)
    keys = ("overview.headline", "overview.risk_note", "loyalty.drifting")
    for key in (*keys, "methodology.value_at_stake", "overview.risk_note_none"):
        text = t(key)  # the template, placeholders unfilled
        assert chance in text and f" {AT_RISK_CANCEL_RENEWALS} " in text, (language, key)


def test_sensitivity_moves_the_winback_value_with_margin_and_horizon(analysis):
    from clvreport.sensitivity import _Variant, _variant_customers

    c = analysis.customers
    cfg = analysis.config
    base = _Variant(cfg.gross_margin, cfg.discount_rate, cfg.horizon_months)
    doubled = _variant_customers(
        analysis, c, base, _Variant(2 * cfg.gross_margin, cfg.discount_rate, cfg.horizon_months)
    )
    np.testing.assert_allclose(doubled["winback_value"], 2 * c["winback_value"])
    shorter = _variant_customers(
        analysis, c, base, _Variant(cfg.gross_margin, cfg.discount_rate, cfg.horizon_months // 2)
    )
    ended = ~c["active"]
    beyond = ended & (c["months_since_end"] > cfg.subscription.winback_horizon_months)
    assert (shorter.loc[beyond, "winback_value"] == 0).all()
    within = ended & ~beyond
    assert (shorter.loc[within, "winback_value"] < c.loc[within, "winback_value"]).all()
    assert (shorter.loc[ended, "value_at_stake"] == 0).all()
