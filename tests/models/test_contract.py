"""Subscription logs -> renewal data for the sBG model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError, ModelError
from clvreport.models.contract import (
    cohort_survival,
    fit_subscription_log,
    read_subscription_log,
    subscription_summary,
)
from clvreport.models.sbg import ShiftedBetaGeometricModel, fit_cohorts

DATA = Path(__file__).resolve().parents[1] / "data" / "subscriptions" / "sbg_survival.csv"

COLUMNS = {"customer_col": "customer", "start_col": "start", "end_col": "end"}


def _log(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer", "start", "end"])


def _summary(rows, **kwargs) -> pd.DataFrame:
    return subscription_summary(_log(rows), **COLUMNS, **kwargs)


# -- renewals, activity and cohorts on a hand-made log ----------------------------------


HAND_MADE = [
    ("first_year_churn", "2019-01-01", "2019-08-15"),  # left in the first period
    ("active", "2019-01-01", ""),  # 2020, 2021, 2022-01-01 renewals by as_of
    ("mid_year", "2019-07-01", ""),  # renewals 2020-07-01, 2021-07-01
    ("ends_on_anniversary", "2019-03-01", "2021-03-01"),  # the 2021 renewal not made
    ("ends_day_before", "2019-03-01", "2021-02-28"),  # same: last covered day
    ("ends_day_after", "2019-03-01", "2021-03-02"),  # renewed on 2021-03-01, then left
    ("notice_given", "2020-05-01", "2023-04-30"),  # ends after as_of: still active
    ("leap_day", "2020-02-29", ""),  # renews 2021-02-28, 2022-02-28 (month end clipped)
    ("chain", "2018-01-01", "2018-12-31"),  # one row per renewal: one subscription
    ("chain", "2019-01-01", "2019-12-31"),
    ("chain", "2020-01-01", "2020-12-31"),
    ("returns", "2018-06-01", "2019-06-01"),  # one year, a gap, then back
    ("returns", "2020-09-01", ""),
]
AS_OF = "2022-06-30"


@pytest.fixture(scope="module")
def hand_made() -> pd.DataFrame:
    return _summary(HAND_MADE, as_of=AS_OF)


def test_renewals_and_activity(hand_made: pd.DataFrame) -> None:
    got = {
        (row.customer_id, row.spell): (row.cohort, row.renewals, row.active)
        for row in hand_made.itertuples()
    }
    assert got == {
        ("active", 1): ("2019", 3, True),
        ("chain", 1): ("2018", 2, False),
        ("ends_day_after", 1): ("2019", 2, False),
        ("ends_day_before", 1): ("2019", 1, False),
        ("ends_on_anniversary", 1): ("2019", 1, False),
        ("first_year_churn", 1): ("2019", 0, False),
        ("leap_day", 1): ("2020", 2, True),
        ("mid_year", 1): ("2019", 2, True),
        ("notice_given", 1): ("2020", 2, True),
        ("returns", 1): ("2018", 0, False),
        ("returns", 2): ("2020", 1, True),
    }
    assert hand_made.attrs == {
        "period": "year",
        "time_unit": "years",
        "as_of": "2022-06-30",
        "source": None,
    }
    chain = hand_made[hand_made["customer_id"] == "chain"].iloc[0]
    assert chain["start"] == pd.Timestamp("2018-01-01")
    assert chain["end"] == pd.Timestamp("2020-12-31")
    assert pd.isna(hand_made.loc[hand_made["customer_id"] == "active", "end"]).all()


def test_cohort_survival_table(hand_made: pd.DataFrame) -> None:
    table = cohort_survival(hand_made)
    assert list(table.columns) == ["cohort", "period", "active_at_start", "churned", "censored"]
    c2019 = table[table["cohort"] == "2019"].set_index("period")
    # 2019 cohort: first_year_churn 0/churned, active 3/active, mid_year 2/active,
    # anniversary 1/churned, day_before 1/churned, day_after 2/churned
    assert c2019["active_at_start"].tolist() == [6, 5, 3, 1]
    assert c2019["churned"].tolist() == [1, 2, 1, 0]
    assert c2019["censored"].tolist() == [0, 0, 1, 1]
    for _, group in table.groupby("cohort"):
        at_start = group["active_at_start"].to_numpy()
        leaving = (group["churned"] + group["censored"]).to_numpy()
        np.testing.assert_array_equal(at_start[1:], at_start[:-1] - leaving[:-1])
    # the table and the customers give the same likelihood
    by_table = ShiftedBetaGeometricModel().fit(table)
    by_customer = ShiftedBetaGeometricModel().fit(hand_made)
    assert by_table.log_likelihood_ == pytest.approx(by_customer.log_likelihood_, rel=1e-10)


@pytest.mark.parametrize(
    ("period", "cohort", "renewals"),
    [
        ("year", "2019", 1),
        ("years", "2019", 1),
        ("annual", "2019", 1),
        ("quarter", "2019-Q1", 7),
        ("month", "2019-02", 23),
    ],
)
def test_periods_and_cohort_labels(period: str, cohort: str, renewals: int) -> None:
    summary = _summary([("a", "2019-02-14", "2021-01-20")], period=period, as_of="2021-06-30")
    assert summary["cohort"].tolist() == [cohort]
    assert summary["renewals"].tolist() == [renewals]
    assert summary.attrs["time_unit"] in {"years", "quarters", "months"}


def test_month_ends_are_clipped() -> None:
    # monthly from 31 January: renewals on 28/29 Feb, 31 Mar, 30 Apr, ...
    summary = _summary(
        [("a", "2021-01-31", ""), ("b", "2021-01-31", "2021-04-30"), ("c", "2021-01-31", "")],
        period="month",
        as_of="2021-04-29",
    )
    assert summary["renewals"].tolist() == [2, 2, 2]  # 2021-02-28 and 2021-03-31
    later = _summary([("a", "2021-01-31", "")], period="month", as_of="2021-04-30")
    assert later["renewals"].tolist() == [3]


def test_period_column() -> None:
    log = _log([("a", "2020-01-01", ""), ("b", "2020-03-01", "2020-08-01")])
    log["plan"] = ["monthly", "Monthly"]
    summary = subscription_summary(log, **COLUMNS, period_col="plan", as_of="2020-12-31")
    assert summary.attrs["period"] == "month"
    assert summary["renewals"].tolist() == [11, 4]
    log["plan"] = ["monthly", "annual"]
    with pytest.raises(DataError, match=r"mixes renewal periods: month .*row 0.*, year .*row 1"):
        subscription_summary(log, **COLUMNS, period_col="plan")
    log["plan"] = ["monthly", "weekly"]
    with pytest.raises(DataError, match="row 1: unknown renewal period 'weekly' in column 'plan'"):
        subscription_summary(log, **COLUMNS, period_col="plan")
    log["plan"] = ["annual", "annual"]
    with pytest.raises(DataError, match="period='month' but column 'plan' says year"):
        subscription_summary(log, **COLUMNS, period_col="plan", period="month")


def test_date_formats_and_types() -> None:
    european = _summary([("a", "15-03-2019", ""), ("b", "01-02-2019", "31-01-2020")])
    assert european["renewals"].tolist() == [0, 0]
    assert european.attrs["as_of"] == "2020-01-31"  # the latest date in the log
    typed = pd.DataFrame(
        {
            "customer": [1, 2],
            "start": pd.to_datetime(["2019-01-01 08:30", "2019-05-05"], format="ISO8601"),
            "end": pd.to_datetime([None, "2021-05-05"]),
        }
    )
    summary = subscription_summary(typed, **COLUMNS, as_of=pd.Timestamp("2021-12-31"))
    assert summary["customer_id"].tolist() == ["1", "2"]
    assert summary["renewals"].tolist() == [2, 1]
    assert summary["active"].tolist() == [True, False]
    explicit = _summary([("a", "2019/3/1", "")], date_format="%Y/%m/%d", as_of="2020-03-01")
    assert explicit["renewals"].tolist() == [1]


# -- errors name the column, row and file --------------------------------------------------


def test_missing_column_names_it_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "contracts.csv"
    path.write_text("customer,start_date,end\n1,2020-01-01,\n")
    with pytest.raises(DataError) as error:
        fit_subscription_log(path, **COLUMNS)
    text = str(error.value)
    assert "no column 'start' (the start date column)" in text
    assert str(path) in text
    assert "did you mean 'start_date'" in text


def test_end_before_start_names_the_row() -> None:
    with pytest.raises(
        DataError, match=r"row 1: the contract ends \(2018-12-31\) before it starts"
    ):
        _summary([("a", "2019-01-01", ""), ("b", "2019-01-01", "2018-12-31")])


def test_start_after_as_of_names_the_row() -> None:
    with pytest.raises(DataError, match=r"row 2: the contract starts \(2023-01-01\) after as_of"):
        _summary(
            [("a", "2019-01-01", ""), ("b", "2019-01-01", ""), ("c", "2023-01-01", "")],
            as_of="2022-12-31",
        )


def test_unreadable_date_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("customer;start;end\na;2019-01-01;\nb;2019-02-30;\nc;2019-01-01;soon\n")
    with pytest.raises(DataError) as error:
        fit_subscription_log(path, **COLUMNS)
    text = str(error.value)
    assert "line 3: cannot read '2019-02-30' in column 'start' as a date" in text
    assert str(path) in text
    with pytest.raises(DataError, match="row 1: cannot read 'soon' in column 'end'"):
        _summary([("a", "2019-01-01", ""), ("b", "2019-01-01", "soon")])


def test_ambiguous_dates_ask_for_a_format() -> None:
    with pytest.raises(DataError, match="%d/%m/%Y or as %m/%d/%Y"):
        _summary([("a", "01/02/2019", ""), ("b", "03/04/2019", "")])


def test_empty_logs(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("customer,start,end\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path in (header_only, empty):
        with pytest.raises(DataError, match="no rows") as error:
            fit_subscription_log(path, **COLUMNS)
        assert str(path) in str(error.value)
    with pytest.raises(DataError, match="does not exist"):
        read_subscription_log(tmp_path / "missing.csv")


def test_missing_id_or_start() -> None:
    with pytest.raises(DataError, match=r"row 1: the customer id \(column 'customer'\) is empty"):
        _summary([("a", "2019-01-01", ""), ("", "2019-01-01", "")])
    with pytest.raises(DataError, match=r"row 0: the start date \(column 'start'\) is empty"):
        _summary([("a", "", "2020-01-01")])


# -- end to end: files and the sBG fit ------------------------------------------------------


def _reference_log(cohort: str) -> pd.DataFrame:
    """Fader & Hardie's survivor counts as a log: 1000 contracts from 2010-01-01."""
    counts = pd.read_csv(DATA)[cohort].to_numpy()
    ends = []
    for year, lost in enumerate(counts[:-1] - counts[1:], start=1):
        # half leave on the renewal date, half during the last paid year
        ends += [f"{2010 + year}-01-01"] * (lost // 2)
        ends += [f"{2010 + year - 1}-09-30"] * (lost - lost // 2)
    ends += [""] * counts[-1]
    return pd.DataFrame(
        {"customer": [f"c{i:04d}" for i in range(1000)], "start": "2010-01-01", "end": ends}
    )


@pytest.mark.parametrize(("cohort", "alpha", "beta"), [("regular", 0.704, 1.182)])
def test_reference_log_reproduces_the_published_fit(
    tmp_path: Path, cohort: str, alpha: float, beta: float
) -> None:
    path = tmp_path / "regular.csv"
    _reference_log(cohort).to_csv(path, index=False, sep=";")
    model, summary = fit_subscription_log(path, **COLUMNS, period="years", as_of="2017-06-30")
    assert model.time_unit == "years"
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(-1680.27, abs=5e-3)
    table = cohort_survival(summary)
    counts = pd.read_csv(DATA)[cohort].tolist()
    assert table["active_at_start"].tolist() == counts
    assert summary.attrs["source"] == str(path)


def test_excel_and_parquet_logs(tmp_path: Path) -> None:
    log = _reference_log("high_end").iloc[::10].reset_index(drop=True)
    log["start"] = pd.to_datetime(log["start"])
    log["end"] = pd.to_datetime(log["end"].replace("", None))
    fitted = {}
    for suffix in ("xlsx", "parquet"):
        path = tmp_path / f"log.{suffix}"
        if suffix == "xlsx":
            log.to_excel(path, index=False)
        else:
            log.to_parquet(path)
        model, summary = fit_subscription_log(path, **COLUMNS, as_of="2017-06-30")
        assert len(summary) == 100
        fitted[suffix] = model.params_
    assert fitted["xlsx"] == pytest.approx(fitted["parquet"], rel=1e-12)
    broken = log.copy()
    broken["end"] = broken["end"].astype(object)
    broken.loc[5, "end"] = "later"
    broken.to_excel(tmp_path / "broken.xlsx", index=False)
    with pytest.raises(DataError, match="line 7: cannot read 'later' in column 'end'"):
        fit_subscription_log(tmp_path / "broken.xlsx", **COLUMNS)


def test_simulated_log_with_staggered_starts_recovers_the_parameters() -> None:
    """theta ~ Beta(alpha, beta) per customer, geometric churn, starts spread over 6 years."""
    alpha, beta, n = 0.9, 2.2, 4000
    rng = np.random.default_rng(5)
    theta = rng.beta(alpha, beta, n)
    lifetime = np.minimum(rng.geometric(theta), 100)  # years paid (beyond as_of: censored)
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), "D")
    # leave on the renewal date after the last paid year
    end = pd.Series([s + pd.DateOffset(years=int(t)) for s, t in zip(start, lifetime, strict=True)])
    as_of = pd.Timestamp("2021-12-31")
    log = pd.DataFrame(
        {
            "customer": np.arange(n),
            "start": start.strftime("%Y-%m-%d"),
            "end": np.where(end <= as_of, end.dt.strftime("%Y-%m-%d"), ""),
        }
    )
    model, summary = fit_subscription_log(log, **COLUMNS, as_of=as_of)
    assert summary["cohort"].nunique() == 6
    assert 0.2 < summary["active"].mean() < 0.8
    # each customer's renewals are the whole years they paid for, censored at as_of
    observable = np.array(
        [(as_of.year - s.year) - ((as_of.month, as_of.day) < (s.month, s.day)) for s in start]
    )
    expected = np.where(lifetime <= observable, lifetime - 1, observable)
    by_id = summary.set_index(summary["customer_id"].astype(int)).sort_index()
    np.testing.assert_array_equal(by_id["renewals"].to_numpy(), expected)
    assert model.converged_
    assert abs(model.params_["alpha"] - alpha) < 3 * model.standard_errors_["alpha"]
    assert abs(model.params_["beta"] - beta) < 3 * model.standard_errors_["beta"]
    # the 2020 cohort has seen one renewal only: its heterogeneity is not identified
    with pytest.raises(ModelError, match=r"cohort '2020': .* second renewal"):
        fit_cohorts(summary)
    per_cohort = fit_cohorts(summary, errors="skip")
    assert list(per_cohort) == [str(y) for y in range(2015, 2020)]
    assert all(m.converged_ for m in per_cohort.values())
