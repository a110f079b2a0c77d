"""The donor analysis (business: discrete): BG/BB scores that mean what the report says.

Run on the committed example charity (8,000 donors over 8 years, generated from
BG/BB with the published 1995-cohort parameters).
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.analysis import run_analysis
from clvreport.comparison import StoredReport, compare_reports
from clvreport.config import load_client
from clvreport.customer_groups import at_risk_mask
from clvreport.donors import (
    DonorFit,
    cohort_giving,
    donation_log,
    donor_summary,
    fit_donor_model,
    income_forecast,
    period_label,
    score_donors,
)
from clvreport.ingest import load_transactions
from clvreport.models.units import horizon_periods
from clvreport.outputs import customer_table

EXAMPLES = Path(__file__).parents[1] / "data"
CLIENT = "goededoel"


@pytest.fixture(scope="module")
def analysis():
    client_dir, config = load_client(CLIENT, EXAMPLES)
    return run_analysis(config, client_dir)


@pytest.fixture(scope="module")
def log():
    client_dir, config = load_client(CLIENT, EXAMPLES)
    with load_transactions(config, client_dir, as_of=config.as_of) as tx:
        return donation_log(tx.engine, tx.table)


def test_the_model_is_bgbb_and_recovers_the_generating_parameters(analysis):
    fit = analysis.model
    assert isinstance(fit, DonorFit) and fit.usable and fit.model_name == "bgbb"
    params, errors = fit.model.params_, fit.model.standard_errors_
    truth = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in truth.items():
        assert abs(params[name] - value) < 4 * errors[name], name
    assert analysis.config.business == "discrete"
    assert "T" not in analysis.summary and "n_periods" in analysis.summary


def test_scores_hold_their_identities(analysis):
    c = analysis.customers
    periods = horizon_periods(analysis.config.horizon_months, "year")
    np.testing.assert_allclose(c["clv"], c["p_alive"] * c["clv_if_alive"], rtol=1e-9)
    np.testing.assert_allclose(
        c["value_at_stake"], (1 - c["p_alive"]) * c["clv_if_alive"], rtol=1e-9, atol=1e-9
    )
    assert (c["p_alive"].between(0, 1)).all() and (c["clv"] >= 0).all()
    # at most one gift per period, and only while still a donor
    assert (c["expected_purchases"] <= periods * c["p_alive"] + 1e-9).all()
    assert (c["purchases_low"] <= c["purchases_high"]).all()
    assert (c["purchases_high"] <= periods).all()
    # donors who gave in the last year are more likely to give again than lapsed ones
    recent = c["recency_days"] <= 365
    assert c.loc[recent, "p_alive"].median() > c.loc[~recent, "p_alive"].median()


def test_base_value_is_the_sum_with_a_range(analysis):
    base = analysis.base_value
    assert base["clv"] == pytest.approx(analysis.customers["clv"].sum(), rel=1e-9)
    assert base["clv_low"] < base["clv"] < base["clv_high"]
    assert base["purchases_low"] < base["expected_purchases"] < base["purchases_high"]


def test_income_forecast_adds_up_and_falls_without_new_donors(analysis):
    donors = analysis.donors
    income = donors.income
    periods = horizon_periods(analysis.config.horizon_months, "year")
    assert len(income) == periods
    assert income["donors_giving"].sum() == pytest.approx(
        analysis.customers["expected_purchases"].sum(), rel=1e-9
    )
    assert (np.diff(income["income"]) < 0).all() and (np.diff(income["alive"]) < 0).all()
    assert (income["donors_giving"] <= income["alive"]).all()
    # next year's income from today's donors is of the order of this year's
    assert 0.5 < income["income"].iloc[0] / analysis.revenue_last_year < 1.2


def test_cohort_giving_is_a_recount_and_near_the_model(analysis, log):
    table = analysis.donors.cohorts
    gifts = log[~log["is_return"]].assign(year=pd.to_datetime(log["order_date"]).dt.year)
    first = gifts.groupby("customer_id")["year"].min()
    cohort_2017 = set(first[first == 2017].index)
    gave_2018 = set(gifts.loc[gifts["year"] == 2018, "customer_id"]) & cohort_2017
    row = table[(table["cohort"] == "2017") & (table["age"] == 1)].iloc[0]
    assert row["donors"] == len(cohort_2017) and row["givers"] == len(gave_2018)
    # the generating model's share, within 4 binomial standard errors
    se = np.sqrt(table["expected"] * (1 - table["expected"]) / table["donors"])
    assert (np.abs(table["share"] - table["expected"]) < 4 * se).mean() > 0.95
    assert np.all(np.diff(table.groupby("age")["expected"].first()) < 0)


def test_small_case_by_hand():
    log = pd.DataFrame(
        {
            "customer_id": ["a"] * 3 + ["b"] + [f"c{i}" for i in range(40) for _ in (0, 1)],
            "order_date": pd.to_datetime(
                ["2020-03-01", "2021-05-01", "2023-11-01", "2022-07-01"]
                + [d for _ in range(40) for d in ("2020-06-01", "2022-06-01")]
            ),
            "amount": [20.0, 30.0, 40.0, 50.0] + [10.0, 12.0] * 40,
            "is_return": False,
        }
    )
    summary = donor_summary(log, "year", dt.date(2024, 12, 31))
    a = summary.set_index("customer_id").loc["a"]
    assert (a["frequency"], a["recency"], a["n_periods"]) == (2, 3, 4)
    fit = fit_donor_model(summary, "year")
    assert fit.usable
    scores, _ = score_donors(fit, summary, horizon_months=24, discount_rate=0.0, gross_margin=1.0)
    # without discounting, CLV = expected gifts × expected amount per gift
    np.testing.assert_allclose(
        scores["clv"], scores["expected_purchases"] * scores["expected_spend"], rtol=1e-9
    )
    income = income_forecast(fit, summary, 2)
    assert income["income"].sum() == pytest.approx(scores["clv"].sum(), rel=1e-9)
    giving = cohort_giving(log, fit, "year", as_of=dt.date(2024, 12, 31))
    assert giving.loc[(giving["cohort"] == "2020") & (giving["age"] == 2), "givers"].item() == 40


def test_too_few_repeat_donors_fail_clearly():
    summary = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "frequency": [1, 0],
            "recency": [1, 0],
            "n_periods": [3, 3],
            "monetary_value": [10.0, 5.0],
        }
    )
    fit = fit_donor_model(summary, "year")
    assert not fit.usable and fit.reason == "too_few_repeat_buyers"


def test_period_labels():
    assert period_label(2024, "year") == "2024"
    assert period_label(2024 * 4 + 3, "quarter") == "2024-Q4"
    assert horizon_periods(60, "year") == 5 and horizon_periods(60, "month") == 60


def test_comparison_of_two_donor_reports_checks_the_forecast(analysis):
    client_dir, config = load_client(CLIENT, EXAMPLES)
    before = run_analysis(config, client_dir, as_of=dt.date(2023, 12, 31))
    previous = StoredReport(Path("x"), before.as_of, customer_table(before), before.model.to_dict())
    now = customer_table(analysis)
    result = compare_reports(previous, now, analysis.as_of)
    total = result.total
    fit = previous.fit
    old = previous.customers
    expected = fit.model.expected_purchases(1, old["frequency"], old["recency"], old["n_periods"])
    assert total["predicted_purchases"] == pytest.approx(float(np.sum(expected)), rel=1e-9)
    # actual: donors of 2023 who gave again in 2024 (one count per donor and year)
    gave = now.set_index("customer_id").loc[old["customer_id"], "frequency"].to_numpy()
    assert total["actual_purchases"] == float((gave - old["frequency"].to_numpy()).sum())
    assert total["purchases_low"] <= total["actual_purchases"] <= total["purchases_high"]
    assert result.migration["customers"].sum() == len(old)
    assert set(result.newly_at_risk) <= set(now.loc[at_risk_mask(now), "customer_id"])
