"""The subscription model's holdout check (sBG without the last months predicts the renewals).

Property tests on monthly subscriptions simulated from known sBG parameters:
the check must call the model close and its range must hold the actual
renewals; when cancellations jump in the held-back months it must say the
forecast missed, too high. Hand-checkable cases pin the bookkeeping.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clvreport.models.contract import subscription_summary
from clvreport.models.sbg import ShiftedBetaGeometricModel
from clvreport.subscriber_holdout import _stay, contracts_at, renewal_pmf, subscriber_holdout

TRUTH = (0.704, 1.182)  # Fader & Hardie's "regular" customers
AS_OF = dt.date(2024, 12, 31)
CALIBRATION_END = dt.date(2024, 6, 30)


def simulate_contracts(n: int, seed: int, *, extra_churn: float = 0.0) -> pd.DataFrame:
    """Monthly subscriptions started 2021-2024 from sBG; ``extra_churn`` a month after June 2024."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(*TRUTH, n)
    months = rng.integers(0, 42, n)  # start months from January 2021
    start = pd.to_datetime([dt.date(2021 + m // 12, m % 12 + 1, 1) for m in months])
    end = []
    for i in range(n):
        date = start[i]
        while True:  # pays a month, then cancels (end = next renewal date) or renews
            date = date + pd.DateOffset(months=1)
            churn = theta[i] + (extra_churn if date > pd.Timestamp(CALIBRATION_END) else 0.0)
            if date > pd.Timestamp(AS_OF):
                end.append(None)
                break
            if rng.random() < churn:
                end.append(date)
                break
    log = pd.DataFrame({"id": [str(i) for i in range(n)], "start": start, "end": end})
    contracts = subscription_summary(
        log, customer_col="id", start_col="start", end_col="end", period="month", as_of=AS_OF
    )
    contracts["plan"] = "all"
    contracts["price"] = 20.0
    return contracts


@pytest.fixture(scope="module")
def true_checks():
    return [
        subscriber_holdout(
            simulate_contracts(2500, seed), "month", CALIBRATION_END, AS_OF, 6, horizon_months=24
        )
        for seed in range(1, 6)
    ]


def test_a_true_model_is_called_close_and_its_range_holds_the_actual_renewals(true_checks):
    for check in true_checks:
        v = check.comparison
        assert check.checked and check.holdout_periods == 6
        assert check.calibration_end == CALIBRATION_END
        assert v.verdict == "good" and abs(v.total_error) < 0.05
        assert 0 < check.predicted_high - check.predicted_low < 0.1 * v.predicted_total
        assert check.intervals.coverage >= 0.9
        assert v.actual_revenue == pytest.approx(20.0 * v.actual_total)
        assert v.holdout_months == pytest.approx(6.0, abs=0.1)
        assert v.shorter_than_horizon is True
    assert sum(check.covers_actual for check in true_checks) >= 4


def test_cancellations_that_jump_in_the_holdout_are_called_a_miss_too_high():
    contracts = simulate_contracts(2500, 7, extra_churn=0.15)
    check = subscriber_holdout(contracts, "month", CALIBRATION_END, AS_OF, 6)
    v = check.comparison
    assert v.verdict == "poor" and v.direction == "over"
    assert not check.covers_actual and v.actual_total < check.predicted_low


def test_the_renewals_after_the_calibration_end_are_counted_by_hand():
    contracts = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "start": pd.to_datetime(["2024-01-01", "2024-03-01", "2023-01-01", "2024-08-01"]),
            "end": pd.to_datetime([None, "2024-10-01", "2024-02-01", None]),
            "renewals": [11, 6, 12, 4],
            "active": [True, False, False, True],
            "plan": "all",
            "price": [10.0, 10.0, 10.0, 10.0],
        }
    )
    at = contracts_at(contracts, CALIBRATION_END, "month")
    # a: 5 renewals by June 30; b: 3 and running then; c ended before; d had not begun
    assert at[["customer_id", "renewals", "active"]].values.tolist() == [
        ["a", 5, True],
        ["b", 3, True],
        ["c", 12, False],
    ]


def test_the_expected_renewals_are_the_sbg_survival_ratios_by_hand():
    model = ShiftedBetaGeometricModel.from_params({"alpha": 1.0, "beta": 1.0}, time_unit="months")
    # S(t) = 1 / (t + 1): after 1 renewal, S(2)/S(1) + S(3)/S(1) = 2/3 + 1/2
    stay = _stay(model, np.array([1.0, 1.0]), np.array([2.0, 1.0]))
    assert stay.sum(axis=0).tolist() == pytest.approx([7 / 6, 2 / 3])
    pmf = renewal_pmf(stay)
    assert pmf[:, 0].tolist() == pytest.approx([1 / 3, 2 / 3 - 1 / 2, 1 / 2])


@pytest.mark.parametrize(
    ("months", "calibration_end", "reason"),
    [(0, CALIBRATION_END, "off"), (2, CALIBRATION_END, None), (6, None, "too_little_history")],
)
def test_no_check_says_why(months, calibration_end, reason):
    contracts = simulate_contracts(300, 8)
    check = subscriber_holdout(contracts, "month", calibration_end, AS_OF, months)
    assert check.reason == reason and check.checked == (reason is None)


def test_a_quarter_held_back_from_yearly_renewals_is_shorter_than_a_period():
    check = subscriber_holdout(simulate_contracts(50, 9), "year", CALIBRATION_END, AS_OF, 6)
    assert check.reason == "shorter_than_period"


def test_too_few_cancellations_before_the_holdout_is_too_little_data():
    check = subscriber_holdout(simulate_contracts(6, 10), "month", CALIBRATION_END, AS_OF, 6)
    assert check.reason == "too_little_data"
