"""Donors' next gift (BG/BB) and subscribers' next renewal (sBG): figures, holdout, sentences.

The chances of the next gift per coming period are checked against mpmath and
posterior draws in ``tests/models/test_next_purchase.py``; here the donor table
built from them, the subscribers' chance to cancel before the next renewal
(closed form against mpmath and 10⁶ simulated subscribers), the renewal dates on
the contracts' anniversaries, the donors' holdout check, and the reason
sentences, exact in nl and en.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clvreport.donor_holdout import next_gift_check
from clvreport.donors import DonorFit, next_gift_table
from clvreport.i18n import Translator
from clvreport.models.bgbb import BetaGeoBetaBinomModel
from clvreport.models.next_purchase import next_gift_probabilities
from clvreport.models.sbg import ShiftedBetaGeometricModel
from clvreport.next_purchase_text import donor_reasons, subscriber_reasons
from clvreport.subscribers import SubscriberFit, next_renewal_table
from clvreport.subscription_log import ALL_PLANS

mp = pytest.importorskip("mpmath")

BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
SBG = {"alpha": 0.704, "beta": 1.182}


def _donor_fit(period: str = "year") -> DonorFit:
    model = BetaGeoBetaBinomModel.from_params(BGBB)
    return DonorFit(status="ok", reasons=(), period=period, model=model)


def _donors() -> pd.DataFrame:
    # a: gave in all 5 years; b: 3 of 5, last in 2023; c: once, in 2020; d: new in 2024
    summary = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "frequency": [4, 2, 0, 0],
            "recency": [4, 3, 0, 0],
            "n_periods": [4, 4, 4, 0],
            "monetary_value": [20.0, 15.0, 0.0, 0.0],
        }
    )
    summary.attrs["last_period_end"] = "2024-12-31"
    return summary


def test_donor_table_follows_the_next_gift_chances() -> None:
    summary = _donors()
    table = next_gift_table(_donor_fit(), summary, horizon_months=36)
    x, t_x, n = (summary[c].to_numpy(float) for c in ("frequency", "recency", "n_periods"))
    chances = next_gift_probabilities(_donor_fit().model, x, t_x, n, 3)
    np.testing.assert_allclose(table["p_purchase_next_period"], chances[:, 0], rtol=1e-12)
    np.testing.assert_allclose(table["p_purchase_horizon"], chances.sum(axis=1), rtol=1e-12)
    cumulative = np.cumsum(chances, axis=1)
    for row, within in enumerate(table["next_gift_periods"]):
        if np.isnan(within):
            assert cumulative[row, -1] < 0.5
        else:
            k = int(within)
            assert cumulative[row, k - 1] >= 0.5 and (k == 1 or cumulative[row, k - 2] < 0.5)
    assert table["periods_given"].tolist() == [5, 3, 1, 1]
    assert table["periods_seen"].tolist() == [5, 5, 5, 1]
    assert table["last_gift_period"].tolist() == ["2024", "2023", "2020", "2024"]
    # rhythm in days: a gives every year, b every 1.5 years (3 periods over 2 gifts after
    # the first); one-time donors get the repeat donors' median (1.25 years)
    year = 365.25
    np.testing.assert_allclose(
        table["typical_interval_days"], [year, 1.5 * year, 1.25 * year, 1.25 * year]
    )
    np.testing.assert_allclose(table["overdue_ratio"], [0.0, 1 / 1.5, 4 / 1.25, 0.0])
    expected = [
        "low" if p >= 0.5 else "high" if p < 0.2 else "elevated"
        for p in table["p_purchase_horizon"]
    ]
    assert list(table["risk_label"]) == expected


def test_donor_table_in_quarters_names_quarters() -> None:
    summary = _donors()
    summary.attrs["last_period_end"] = "2024-06-30"
    table = next_gift_table(_donor_fit("quarter"), summary, horizon_months=12)
    assert table["last_gift_period"].tolist() == ["2024-Q2", "2024-Q1", "2023-Q2", "2024-Q2"]
    np.testing.assert_allclose(table["typical_interval_days"][:2], [365.25 / 4, 1.5 * 365.25 / 4])


def _sentences(frame: pd.DataFrame, language: str, period: str, horizon: int) -> list:
    t = Translator(language, "EUR", audience="donors")
    said = donor_reasons(frame, t, period=period, horizon_months=horizon)
    return [None if pd.isna(text) else text for text in said]


def test_donor_reasons_are_exact_in_both_languages() -> None:
    frame = pd.DataFrame(
        {
            "periods_given": [3, 1, 2, None],
            "periods_seen": [5, 1, 8, None],
            "last_gift_period": ["2023", "2024", "2019", None],
            "next_gift_periods": [1.0, 2.0, np.nan, np.nan],
            "p_purchase_horizon": [0.71, 0.55, 0.234, np.nan],
        }
    )
    assert _sentences(frame, "nl", "year", 24) == [
        "gaf in 3 van de 5 jaar, laatst in 2023; zulke donateurs geven meestal weer binnen "
        "een jaar.",
        "gaf voor het eerst in 2024; zulke donateurs geven meestal weer binnen 2 jaar.",
        "gaf in 2 van de 8 jaar, laatst in 2019; kans op een gift binnen 2 jaar: 23%.",
        None,
    ]
    assert _sentences(frame, "en", "year", 12) == [
        "gave in 3 of 5 years, last in 2023; donors like this usually give again within a year.",
        "first gave in 2024; donors like this usually give again within 2 years.",
        "gave in 2 of 8 years, last in 2019; chance of a gift within a year: 23%.",
        None,
    ]
    quarters = frame.assign(last_gift_period=["2023-Q4", "2024-Q1", "2019-Q2", None])
    assert _sentences(quarters, "nl", "quarter", 12)[:3] == [
        "gaf in 3 van de 5 kwartalen, laatst in 2023-Q4; zulke donateurs geven meestal weer "
        "binnen een kwartaal.",
        "gaf voor het eerst in 2024-Q1; zulke donateurs geven meestal weer binnen 2 kwartalen.",
        "gaf in 2 van de 8 kwartalen, laatst in 2019-Q2; kans op een gift binnen 4 kwartalen: 23%.",
    ]


def test_next_gift_check_deciles_and_labels() -> None:
    model = _donor_fit().model
    rng = np.random.default_rng(0)
    n = rng.integers(1, 8, 2000).astype(float)
    t_x = np.floor(rng.uniform(0, 1, n.size) * (n + 1))
    x = np.minimum(t_x, rng.integers(0, 8, n.size)).astype(float)
    first = rng.uniform(size=n.size) < 0.3
    gave = first | (rng.uniform(size=n.size) < 0.2)
    check = next_gift_check(model, x, t_x, n, 2, first, gave)
    rows = check["p_gift_next_period_calibration"]
    assert [r["decile"] for r in rows] == list(range(1, 11))
    assert sum(r["donors"] for r in rows) == 2000
    chances = next_gift_probabilities(model, x, t_x, n, 2)
    assert np.mean([r["predicted"] for r in rows]) == pytest.approx(chances[:, 0].mean(), abs=1e-4)
    assert np.mean([r["observed"] for r in rows]) == pytest.approx(first.mean(), abs=1e-4)
    summary = check["next_gift"]
    assert summary["periods"] == 2
    assert summary["predicted"] == pytest.approx(chances.sum(axis=1).mean(), abs=1e-4)
    assert summary["gave"] == pytest.approx(gave.mean(), abs=1e-4)
    assert sum(v["donors"] for v in summary["risk_labels"].values()) == 2000


# -- subscribers --------------------------------------------------------------------------


def _subscriber_fit(period: str = "month") -> SubscriberFit:
    model = ShiftedBetaGeometricModel.from_params(SBG, time_unit="months")
    return SubscriberFit(status="ok", reasons=(), period=period, models={ALL_PLANS: model})


@pytest.mark.parametrize("renewals", [0, 1, 5, 14, 40])
def test_cancel_before_the_next_renewal_matches_mpmath(renewals) -> None:
    """``1 - S(n + 1) / S(n) = beta... `` : the mean cancel chance of those who renewed n times,
    ``E[theta (1 - theta)^n] / E[(1 - theta)^n] = alpha / (alpha + beta + n)``."""
    contracts = pd.DataFrame(
        {
            "customer_id": ["s"],
            "start": [pd.Timestamp("2020-01-15")],
            "end": [pd.NaT],
            "renewals": [renewals],
            "active": [True],
            "plan": ["p"],
            "price": [10.0],
        }
    )
    contracts.attrs["as_of"] = "2024-12-31"
    table = next_renewal_table(_subscriber_fit(), contracts, horizon_months=12)
    mp.mp.dps = 30
    a, b = mp.mpf(SBG["alpha"]), mp.mpf(SBG["beta"])
    n = renewals

    def survival(t):
        return mp.beta(a, b + t) / mp.beta(a, b)

    exact = 1 - survival(n + 1) / survival(n)
    assert float(exact) == pytest.approx(float(a / (a + b + n)), rel=1e-20)
    assert table["p_cancel_before_renewal"].iloc[0] == pytest.approx(float(exact), rel=1e-10)


def test_cancel_before_the_next_renewal_matches_simulation() -> None:
    """10⁶ subscribers drawn from sBG: of those still subscribed after n renewals, the share
    who cancel before the next one."""
    rng = np.random.default_rng(7)
    theta = rng.beta(SBG["alpha"], SBG["beta"], 1_000_000)
    lifetime = rng.geometric(theta)  # periods paid: cancels at the lifetime-th renewal
    model = ShiftedBetaGeometricModel.from_params(SBG, time_unit="months")
    for n in (0, 2, 6):
        still = lifetime > n
        simulated = float(np.mean(lifetime[still] == n + 1))
        closed = 1 - float(model.survival(n + 1)) / float(model.survival(n))
        error = np.sqrt(closed * (1 - closed) / still.sum())
        assert abs(simulated - closed) < 4 * error, n


def test_next_renewal_dates_are_the_contracts_anniversaries() -> None:
    contracts = pd.DataFrame(
        {
            "customer_id": ["m", "y", "gone"],
            "start": pd.to_datetime(["2023-01-31", "2020-02-29", "2022-05-01"]),
            "end": pd.to_datetime([None, None, "2023-06-30"]),
            "renewals": [13, 3, 13],
            "active": [True, True, False],
            "plan": ["p", "p", "p"],
            "price": [10.0, 100.0, 10.0],
        }
    )
    contracts.attrs["as_of"] = "2024-03-15"
    monthly = next_renewal_table(_subscriber_fit("month"), contracts, horizon_months=12)
    assert monthly["customer_id"].tolist() == ["gone", "m", "y"]
    monthly = monthly.set_index("customer_id").loc[["m", "y", "gone"]]
    # month ends clip as in the contract log: 31 January + 14 months is 31 March
    assert monthly["next_renewal"].iloc[0] == pd.Timestamp("2024-03-31")
    assert monthly["tenure_months"].iloc[0] == 13
    assert pd.isna(monthly["next_renewal"].iloc[2]) and np.isnan(monthly["tenure_months"].iloc[2])
    assert np.isnan(monthly["p_cancel_before_renewal"].iloc[2])
    assert pd.isna(monthly["risk_label"].iloc[2])
    yearly = next_renewal_table(_subscriber_fit("year"), contracts, horizon_months=12)
    yearly = yearly.set_index("customer_id").loc[["m", "y", "gone"]]
    assert yearly["next_renewal"].iloc[1] == pd.Timestamp("2024-02-29")  # 2020-02-29 + 4 years
    once = contracts.assign(renewals=[13, 0, 13])
    first = next_renewal_table(_subscriber_fit("year"), once, horizon_months=12)
    assert first.set_index("customer_id").loc["y", "next_renewal"] == pd.Timestamp("2021-02-28")
    model = ShiftedBetaGeometricModel.from_params(SBG, time_unit="months")
    stays = float(model.survival(14)) / float(model.survival(13))  # 12 months = one renewal
    assert monthly["risk_label"].iloc[0] == "low"
    # the label reads the chance to stay through the horizon (12 monthly renewals)
    stay_horizon = float(model.survival(25)) / float(model.survival(13))
    assert stay_horizon > 0.5 and stays > stay_horizon


def test_subscriber_reasons_are_exact_in_both_languages() -> None:
    frame = pd.DataFrame(
        {
            "tenure_months": [14.0, 1.0, 0.0, np.nan],
            "next_renewal": pd.to_datetime(["2026-03-01", "2025-01-10", "2025-01-02", None]),
            "p_cancel_before_renewal": [0.06, 0.254, 0.4, np.nan],
        }
    )
    said = subscriber_reasons(frame, Translator("nl", "EUR", audience="subscribers"))
    nl = [None if pd.isna(text) else text for text in said]
    assert nl == [
        "abonnee sinds 14 maanden, volgende verlenging 1 maart 2026; kans op opzeggen daarvoor 6%.",
        "abonnee sinds 1 maand, volgende verlenging 10 januari 2025; kans op opzeggen daarvoor "
        "25%.",
        "abonnee sinds minder dan een maand, volgende verlenging 2 januari 2025; kans op opzeggen "
        "daarvoor 40%.",
        None,
    ]
    en = subscriber_reasons(frame, Translator("en", "EUR", audience="subscribers")).tolist()
    assert en[0] == (
        "subscriber for 14 months, next renewal 1 March 2026; chance of cancelling before then 6%."
    )
    assert en[2].startswith("subscriber for less than a month, next renewal 2 January 2025")


def test_reasons_are_asked_of_the_audience() -> None:
    """Each audience gives its own sentence (no business branches in the outputs)."""
    from clvreport.audiences import audience

    t = Translator("nl", "EUR", audience="subscribers")
    frame = pd.DataFrame(
        {
            "tenure_months": [2.0],
            "next_renewal": pd.to_datetime(["2025-02-01"]),
            "p_cancel_before_renewal": [0.1],
        }
    )
    said = audience("subscription").reasons(frame, t, as_of=dt.date(2025, 1, 1), horizon_months=12)
    assert said.iloc[0].startswith("abonnee sinds 2 maanden")
    assert (
        audience("discrete").reasons(frame, t, as_of=dt.date(2025, 1, 1), horizon_months=12) is None
    )
    assert (
        audience("transactions").reasons(frame, t, as_of=dt.date(2025, 1, 1), horizon_months=12)
        is None
    )


def test_donor_window_is_the_next_gift_chances_quantiles_given_a_gift() -> None:
    """The 80% window in period labels: the first periods by which 10% and 90% of the
    chance of a gift within the horizon is reached; empty unless that chance is >= 50%."""
    summary = _donors()
    table = next_gift_table(_donor_fit(), summary, horizon_months=60)
    x, t_x, n = (summary[c].to_numpy(float) for c in ("frequency", "recency", "n_periods"))
    chances = next_gift_probabilities(_donor_fit().model, x, t_x, n, 5)
    for row in range(len(summary)):
        share = np.cumsum(chances[row]) / chances[row].sum()
        low, high = int(np.argmax(share >= 0.1)) + 1, int(np.argmax(share >= 0.9)) + 1
        if chances[row].sum() >= 0.5:
            assert table["next_gift_low"][row] == str(2024 + low)
            assert table["next_gift_high"][row] == str(2024 + high)
            assert low <= table["next_gift_periods"][row] <= high
        else:
            assert pd.isna(table["next_gift_low"][row]) and pd.isna(table["next_gift_high"][row])
    assert table["next_gift_low"][0] == "2025"  # gave every year: most likely next year
    quarters = next_gift_table(_donor_fit("quarter"), summary, horizon_months=12)
    assert quarters["next_gift_low"][0] == "2025-Q1"
