"""The source's figures, repeat purchases and retention: by hand, on CDNOW and as properties."""

from __future__ import annotations

import datetime as dt
import doctest
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clvreport.engine
import clvreport.metrics
from clvreport.engine import DuckDBEngine
from clvreport.errors import DataError
from clvreport.metrics import (
    DAYS_PER_YEAR,
    MAX_RETENTION,
    ObservationWindow,
    big_spender_vs_regular,
    clv_figures,
    customer_metrics,
    observation_window,
    repeat_rates,
    retention_by_period,
    years_table,
)

CDNOW_SAMPLE = Path(__file__).parent / "data" / "cdnow_sample.txt"

# Four customers over 2020-01-01 .. 2021-12-31 (731 days: 2020 is a leap year).
FIXTURE_ROWS = [
    ("A", "2020-01-01", 100.0, False),
    ("A", "2020-07-01", 50.0, False),
    ("A", "2021-01-01", 150.0, False),
    ("A", "2021-02-01", -30.0, True),  # a return: netted, not a purchase
    ("B", "2020-03-01", 200.0, False),
    ("C", "2020-06-01", 40.0, False),
    ("C", "2020-06-01", 60.0, False),  # second transaction the same day
    ("C", "2021-12-31", 100.0, False),
    ("D", "2021-03-01", 80.0, False),
]
WINDOW = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 31))
WINDOW_DAYS = 731


def make_engine(rows, with_order_id: bool = False) -> DuckDBEngine:
    """A DuckDB engine holding the clean transactions table ``tx``."""
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "is_return"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    if with_order_id:
        frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    engine = DuckDBEngine(memory_limit="1GB", threads=1)
    engine.register("frame", frame)
    extra = ", order_id" if with_order_id else ""
    engine.execute(
        "CREATE TABLE tx AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, "
        "CAST(order_date AS DATE) AS order_date, CAST(amount AS DOUBLE) AS amount, "
        f"CAST(is_return AS BOOLEAN) AS is_return{extra} FROM frame"
    )
    engine.drop("frame")
    return engine


@pytest.fixture
def con() -> Iterator[DuckDBEngine]:
    with make_engine(FIXTURE_ROWS) as engine:
        yield engine


def test_docstring_examples_run():
    assert doctest.testmod(clvreport.metrics, optionflags=doctest.ELLIPSIS).failed == 0


def test_window_defaults_to_first_and_last_date(con):
    window = observation_window(con, "tx")
    assert (window.start, window.end) == (dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    assert window.days == WINDOW_DAYS
    assert window.years == pytest.approx(731 / 365.25)


def test_window_given_end_is_kept(con):
    window = observation_window(con, "tx", end=dt.date(2022, 6, 30))
    assert window.start == dt.date(2020, 1, 1)
    assert window.end == dt.date(2022, 6, 30)


def test_window_of_empty_table_is_a_data_error():
    with make_engine([]) as engine, pytest.raises(DataError, match="'tx' is empty"):
        observation_window(engine, "tx")


def test_window_rejects_end_before_start():
    with pytest.raises(ValueError, match="before its start"):
        ObservationWindow(dt.date(2021, 1, 1), dt.date(2020, 1, 1))


def test_table_name_is_quoted_not_injected(con):
    with pytest.raises(duckdb.CatalogException):
        customer_metrics(con, 'tx"; DROP TABLE tx; --', WINDOW)
    assert len(customer_metrics(con, "tx", WINDOW)) == 4


def test_customer_metrics_by_hand(con):
    c = customer_metrics(con, "tx", WINDOW).set_index("customer_id")
    assert list(c.index) == ["A", "B", "C", "D"]
    # Purchases: the return is not one; C's two same-day rows are two transactions.
    assert c["n_purchases"].tolist() == [3, 1, 3, 1]
    # Net revenue: A = 100 + 50 + 150 - 30; C = 40 + 60 + 100.
    assert c["revenue"].tolist() == [270.0, 200.0, 200.0, 80.0]
    assert c["returns"].tolist() == [-30.0, 0.0, 0.0, 0.0]
    # A: the return on 2021-02-01 does not extend the lifespan (last purchase 2021-01-01).
    assert c.loc["A", "last_purchase"] == pd.Timestamp("2021-01-01")
    # Lifespans: A 2020-01-01 -> 2021-01-01 = 366 days; C 2020-06-01 -> 2021-12-31
    # = 365 (to 2021-06-01) + 183 (to 2021-12-01) + 30 = 578 days; one-time buyers 0.
    assert c["lifespan_days"].tolist() == [366, 0, 578, 0]
    assert c["lifespan_years"].tolist() == pytest.approx([366 / 365.25, 0, 578 / 365.25, 0])
    # Recency and tenure to 2021-12-31: A last 2021-01-01 -> 364; B 2020-03-01 -> 670.
    assert c["recency_days"].tolist() == [364, 670, 0, 305]
    assert c["tenure_days"].tolist() == [730, 670, 578, 305]
    # Average purchase value: A 270 / 3 = 90; C 200 / 3.
    assert c["avg_purchase_value"].tolist() == pytest.approx([90.0, 200.0, 200 / 3, 80.0])
    # Years: twelve months back from 2021-12-31, so the calendar years 2021 (year 0) and
    # 2020 (year 1). A bought in both (2020-01/07 and 2021-01), B in 2020 only, C in both,
    # D in 2021 only.
    assert c["active_years"].tolist() == [2, 1, 2, 1]
    assert c["active_now"].tolist() == [1, 0, 1, 1]
    assert c["active_previous"].tolist() == [1, 1, 1, 0]
    # Frequency and customer value per active year.
    assert c["purchase_frequency"].tolist() == pytest.approx([1.5, 1.0, 1.5, 1.0])
    assert c["customer_value"].tolist() == pytest.approx([135.0, 200.0, 100.0, 80.0])
    # Retention: of the 3 customers of 2020, A and C bought again in 2021: r = 2/3, so a
    # customer who bought in 2021 expects r/(1-r) = 2 more years, at the base's
    # 750 / 6 = 125 per year with a purchase.
    assert c["expected_remaining_years"].tolist() == pytest.approx([2.0, 0.0, 2.0, 2.0])
    assert c["historic_clv"].tolist() == pytest.approx([520.0, 200.0, 450.0, 330.0])


def test_purchase_units(con):
    days = customer_metrics(con, "tx", WINDOW, purchase_unit="day").set_index("customer_id")
    # C bought on two distinct days (2020-06-01 twice, 2021-12-31).
    assert days["n_purchases"].tolist() == [3, 1, 2, 1]
    with make_engine(FIXTURE_ROWS, with_order_id=True) as orders:
        by_order = customer_metrics(orders, "tx", WINDOW, purchase_unit="order")
    assert by_order["n_purchases"].tolist() == [3, 1, 3, 1]
    with pytest.raises(ValueError, match="purchase_unit"):
        customer_metrics(con, "tx", WINDOW, purchase_unit="basket")


def test_window_filters_transactions(con):
    # Only 2020: A has 2 purchases (150), D none (not a customer), C one day (100).
    window_2020 = ObservationWindow(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    c = customer_metrics(con, "tx", window_2020).set_index("customer_id")
    assert list(c.index) == ["A", "B", "C"]
    assert c["revenue"].tolist() == [150.0, 200.0, 100.0]
    assert c["recency_days"].tolist() == [183, 305, 213]


def test_customer_with_only_returns_is_not_a_customer():
    with make_engine([*FIXTURE_ROWS, ("E", "2021-05-01", -20.0, True)]) as engine:
        assert "E" not in set(customer_metrics(engine, "tx", WINDOW)["customer_id"])


def test_overall_figures_by_hand(con):
    f = clv_figures(customer_metrics(con, "tx", WINDOW), WINDOW)
    years = 731 / 365.25
    assert (f.n_customers, f.n_purchases, f.revenue) == (4, 8, 750.0)
    assert f.window_years == pytest.approx(years)
    assert f.revenue_per_customer == 187.5  # 750 / 4
    assert f.avg_purchase_value == 93.75  # 750 / 8
    assert f.avg_purchase_frequency == pytest.approx(8 / 6)  # 8 purchases in 6 active years
    assert f.customer_value == pytest.approx(125.0)  # 750 per 6 active years
    assert f.observed_active_years == 1.5  # 6 / 4
    assert f.retention_rate == pytest.approx(2 / 3)
    assert (f.retention.base, f.retention.retained) == (3, 2)
    assert f.n_bought_last_year == 3
    assert f.expected_remaining_years == pytest.approx(2.0)  # r / (1 - r)
    assert f.customer_years == pytest.approx(3.0)  # 1.5 so far + 3 of 4 customers x 2 years
    # Lifespan: the median first-to-last purchase of the repeat buyers A (366 days) and
    # C (578 days); a different figure from the customer years.
    assert f.lifespan_years == pytest.approx((366 + 578) / 2 / 365.25)
    # Historic CLV = 93.75 x 4/3 x 3 = 375 = 187.5 already paid + 1.5 x 125 still expected.
    assert f.historic_clv == pytest.approx(375.0, rel=1e-12)
    assert (f.n_repeat_customers, f.repeat_purchase_rate) == (2, 0.5)


def test_overall_historic_clv_is_the_mean_of_the_per_customer_values(con):
    customers = customer_metrics(con, "tx", WINDOW)
    f = clv_figures(customers, WINDOW)
    assert f.historic_clv == pytest.approx(customers["historic_clv"].mean(), rel=1e-12)
    assert f.historic_clv >= f.revenue_per_customer


def test_historic_clv_of_a_closed_cohort_is_its_average_revenue():
    # 300 customers bought in 2019-2020 and then all left; the window runs to 2022.
    rng = np.random.default_rng(7)
    rows = []
    for i in range(300):
        first = dt.date(2019, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
        for _ in range(int(rng.integers(1, 6))):
            day = first + dt.timedelta(days=int(rng.integers(0, 400)))
            rows.append((f"c{i}", day.isoformat(), float(rng.gamma(2.0, 30.0)), False))
    window = ObservationWindow(dt.date(2019, 1, 1), dt.date(2022, 12, 31))
    with make_engine(rows) as engine:
        f = clv_figures(customer_metrics(engine, "tx", window), window)
    assert f.n_bought_last_year == 0
    assert f.retention.measured
    assert f.historic_clv == pytest.approx(f.revenue_per_customer, rel=0.02)


def test_historic_clv_counts_the_years_active_customers_still_expect():
    # Every customer buys every year: retention is capped at MAX_RETENTION (9 more years).
    rows = [(f"c{i}", f"{year}-06-01", 100.0, False) for i in range(5) for year in (2020, 2021)]
    window = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    with make_engine(rows) as engine:
        f = clv_figures(customer_metrics(engine, "tx", window), window)
    assert f.retention_rate == 1.0
    assert f.expected_remaining_years == pytest.approx(MAX_RETENTION / (1 - MAX_RETENTION))
    assert f.customer_years == pytest.approx(2 + 9)
    assert f.historic_clv == pytest.approx(200.0 + 9 * 100.0)


def test_figures_of_an_empty_group_are_nan(con):
    customers = customer_metrics(con, "tx", WINDOW)
    f = clv_figures(customers.iloc[0:0], WINDOW)
    assert f.n_customers == 0
    assert np.isnan(f.avg_purchase_value) and np.isnan(f.historic_clv)
    assert np.isnan(f.repeat_purchase_rate)


def test_retention_per_year_by_hand(con):
    r = retention_by_period(con, "tx", WINDOW, period="year").set_index("period")
    assert list(r.index) == ["2020", "2021"]
    # 2020: A, B, C active and new. 2021: A, C (returning) and D (new).
    assert r["active_customers"].tolist() == [3, 3]
    assert r["new_customers"].tolist() == [3, 1]
    assert r["returning_customers"].tolist() == [0, 2]
    # Retained in 2021: A and C of the 3 active in 2020 -> 2/3; churn 1/3.
    assert r.loc["2021", "retained_customers"] == 2
    assert r.loc["2021", "retention_rate"] == pytest.approx(2 / 3)
    assert r.loc["2021", "churn_rate"] == pytest.approx(1 / 3)
    assert np.isnan(r.loc["2020", "retention_rate"])
    # Revenue 2020: 100 + 50 + 200 + 40 + 60 = 450, all new customers.
    # 2021: 150 - 30 + 100 + 80 = 300; new (D) 80, returning 220.
    assert r["revenue"].tolist() == [450.0, 300.0]
    assert r["revenue_new"].tolist() == [450.0, 80.0]
    assert r["revenue_returning"].tolist() == [0.0, 220.0]
    assert r.loc["2021", "returning_revenue_share"] == pytest.approx(220 / 300)
    assert r["complete"].all()


def test_years_by_hand(con):
    # As of 31 December the years are the calendar years 2020 (k=1) and 2021 (k=0).
    y = years_table(con, "tx", WINDOW)
    assert y["k"].tolist() == [1, 0]
    assert y["year_start"].tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-01-01")]
    assert y["full"].tolist() == [True, True]
    assert y["customers"].tolist() == [3, 3]
    assert y["new_customers"].tolist() == [3, 1]
    assert y["retained_customers"].tolist()[1] == 2
    assert np.isnan(y["retention_rate"].iloc[0])
    assert y["retention_rate"].iloc[1] == pytest.approx(2 / 3)  # A and C of A, B, C
    assert y["revenue"].tolist() == [450.0, 300.0]
    assert y["revenue_new"].tolist() == [450.0, 80.0]
    # The retention rate of the figures is the table's last row: one definition.
    f = clv_figures(customer_metrics(con, "tx", WINDOW), WINDOW)
    assert f.retention_rate == y["retention_rate"].iloc[-1]


def test_years_as_of_mid_year_and_a_partial_oldest_year(con):
    window = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 6, 30))
    y = years_table(con, "tx", window)
    # Year 0: July 2020 to June 2021; year 1 would start July 2019 but the data start 2020.
    assert y["year_start"].tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-07-01")]
    assert y["year_end"].tolist() == [pd.Timestamp("2020-06-30"), pd.Timestamp("2021-06-30")]
    assert y["full"].tolist() == [False, True]
    assert y["customers"].tolist() == [3, 2]  # A, B, C; then A and D
    assert y["retained_customers"].tolist()[1] == 1
    assert y["retention_rate"].isna().all()  # never from a partial year
    f = clv_figures(customer_metrics(con, "tx", window), window)
    assert f.retention.refused == "short"


def test_retention_per_quarter_by_hand(con):
    r = retention_by_period(con, "tx", WINDOW, period="quarter")
    assert r["period"].tolist() == [f"{y}-Q{q}" for y in (2020, 2021) for q in (1, 2, 3, 4)]
    # Q1'20 A,B | Q2'20 C | Q3'20 A | Q4'20 - | Q1'21 A,D | Q2'21 - | Q3'21 - | Q4'21 C
    assert r["active_customers"].tolist() == [2, 1, 1, 0, 2, 0, 0, 1]
    assert r["new_customers"].tolist() == [2, 1, 0, 0, 1, 0, 0, 0]
    assert r["retained_customers"].tolist() == [0] * 8
    assert r["previous_active"].tolist()[1:] == [2, 1, 1, 0, 2, 0, 0]
    # Retention is 0 after a quarter with buyers and undefined after an empty quarter.
    expected = [np.nan, 0.0, 0.0, 0.0, np.nan, 0.0, np.nan, np.nan]
    np.testing.assert_array_equal(r["retention_rate"].to_numpy(), expected)
    # Q1'21: A 150 - 30 (returning) + D 80 (new).
    q1 = r.set_index("period").loc["2021-Q1"]
    assert (q1["revenue"], q1["revenue_new"], q1["revenue_returning"]) == (200.0, 80.0, 120.0)
    assert r["period_start"].iloc[4] == pd.Timestamp("2021-01-01")
    assert r["period_end"].iloc[4] == pd.Timestamp("2021-03-31")


def test_retention_marks_partial_periods(con):
    window = ObservationWindow(dt.date(2020, 2, 15), dt.date(2021, 11, 29))
    r = retention_by_period(con, "tx", window, period="year")
    assert r["complete"].tolist() == [False, False]
    r = retention_by_period(con, "tx", window, period="month")
    assert r["period"].iloc[0] == "2020-02" and r["period"].iloc[-1] == "2021-11"
    assert not r["complete"].iloc[0] and r["complete"].iloc[1] and not r["complete"].iloc[-1]
    with pytest.raises(ValueError, match="period"):
        retention_by_period(con, "tx", window, period="week")


def test_big_spender_vs_regular_by_hand(con):
    customers = customer_metrics(con, "tx", WINDOW)
    c = big_spender_vs_regular(customers, WINDOW, top_share=0.10, min_purchases=3)
    # Average purchase values 90, 200, 66.67, 80: the 90% quantile (linear) lies between
    # 90 and 200 at position 0.9 x 3 = 2.7 -> 90 + 0.7 x 110 = 167.
    assert c.big_spender_threshold == pytest.approx(167.0)
    g = c.groups
    # Big spender: B (one purchase of 200). Regulars: A and C (3 purchases each).
    assert g.loc["big_spender", "n_customers"] == 1
    assert g.loc["big_spender", "revenue_per_customer"] == 200.0
    assert g.loc["big_spender", "historic_clv"] == 200.0  # left: worth what B paid
    assert g.loc["loyal_regular", "n_customers"] == 2
    assert g.loc["loyal_regular", "revenue_per_customer"] == 235.0  # (270 + 200) / 2
    # Regulars: both bought in both years (retention 1, capped at 0.9: 9 more years)
    # at 470 / 4 active years = 117.5 a year: 235 + 9 x 117.5.
    assert g.loc["loyal_regular", "historic_clv"] == pytest.approx(235 + 9 * 117.5)
    assert c.regular_to_big_spender_revenue == pytest.approx(235 / 200)


def test_big_spender_arguments_are_checked(con):
    customers = customer_metrics(con, "tx", WINDOW)
    with pytest.raises(ValueError, match="top_share"):
        big_spender_vs_regular(customers, WINDOW, top_share=1.5)
    with pytest.raises(ValueError, match="min_purchases"):
        big_spender_vs_regular(customers, WINDOW, min_purchases=1)


# --- CDNOW sample: the same figures computed independently with pandas ------------------


def load_cdnow() -> pd.DataFrame:
    frame = pd.read_csv(
        CDNOW_SAMPLE,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "quantity", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    frame["order_date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["is_return"] = frame["amount"] < 0
    return frame[["customer_id", "order_date", "amount", "is_return"]]


@pytest.fixture(scope="module")
def cdnow() -> Iterator[tuple[DuckDBEngine, pd.DataFrame]]:
    frame = load_cdnow()
    with make_engine(frame.itertuples(index=False)) as engine:
        yield engine, frame


def test_cdnow_figures_match_pandas(cdnow):
    con, frame = cdnow
    window = observation_window(con, "tx")
    assert (window.start, window.end) == (dt.date(1997, 1, 1), dt.date(1998, 6, 30))
    assert window.days == 546
    customers = customer_metrics(con, "tx", window)
    assert len(customers) == 2357

    grouped = frame.groupby("customer_id")
    expected = pd.DataFrame(
        {
            "n_purchases": grouped.size(),
            "revenue": grouped["amount"].sum(),
            "lifespan_days": (grouped["order_date"].max() - grouped["order_date"].min()).dt.days,
        }
    )
    got = customers.set_index("customer_id")[["n_purchases", "revenue", "lifespan_days"]]
    pd.testing.assert_frame_equal(
        got.sort_index(), expected.sort_index(), check_dtype=False, check_names=False
    )

    f = clv_figures(customers, window)
    years = 546 / DAYS_PER_YEAR
    assert f.n_purchases == len(frame) == 6919
    assert f.revenue == pytest.approx(frame["amount"].sum())
    assert f.avg_purchase_value == pytest.approx(frame["amount"].sum() / len(frame))
    # Years: the twelve months to 1998-06-30 and the half year before: one full year.
    recent = frame["order_date"] >= pd.Timestamp("1997-07-01")
    periods = frame.assign(k=np.where(recent, 0, 1)).groupby("customer_id")["k"]
    active_years = periods.nunique()
    assert f.avg_purchase_frequency == pytest.approx(len(frame) / active_years.sum())
    # Retention needs two full years: 18 months of data are refused, never extrapolated,
    # and with it the expected remaining years and the historic CLV.
    assert f.retention.refused == "short" and f.retention.full_years == 1
    assert f.retention.base_days == 181  # 1997-01-01 .. 1997-06-30
    assert np.isnan(f.retention_rate) and np.isnan(f.expected_remaining_years)
    assert np.isnan(f.historic_clv) and customers["historic_clv"].isna().all()
    now = int(periods.min().eq(0).sum())
    assert f.n_bought_last_year == now
    assert years == pytest.approx(546 / 365.25)
    assert f.n_repeat_customers == int((expected["n_purchases"] >= 2).sum()) == 1152


def test_cdnow_quarterly_retention_matches_pandas(cdnow):
    con, frame = cdnow
    window = observation_window(con, "tx")
    r = retention_by_period(con, "tx", window, period="quarter")
    assert len(r) == 6  # 1997-Q1 .. 1998-Q2
    quarter = frame["order_date"].dt.to_period("Q")
    active = {q: set(ids) for q, ids in frame.groupby(quarter)["customer_id"]}
    quarters = sorted(active)
    first = frame.groupby("customer_id")["order_date"].min().dt.to_period("Q")
    for i, q in enumerate(quarters):
        row = r.iloc[i]
        assert row["period"] == f"{q.year}-Q{q.quarter}"
        assert row["active_customers"] == len(active[q])
        assert row["new_customers"] == int((first == q).sum())
        assert row["revenue"] == pytest.approx(frame.loc[quarter == q, "amount"].sum())
        if i:
            retained = len(active[q] & active[quarters[i - 1]])
            assert row["retention_rate"] == pytest.approx(retained / len(active[quarters[i - 1]]))
    # CDNOW customers were all acquired in 1997-Q1.
    assert r["new_customers"].tolist() == [2357, 0, 0, 0, 0, 0]


def test_cdnow_loyal_regulars_are_worth_more_than_big_spenders(cdnow):
    con, _ = cdnow
    window = observation_window(con, "tx")
    c = big_spender_vs_regular(customer_metrics(con, "tx", window), window)
    assert c.groups.loc["big_spender", "n_customers"] > 0
    assert c.groups.loc["loyal_regular", "n_customers"] > 0
    assert c.regular_to_big_spender_revenue > 1


# --- properties ------------------------------------------------------------------------

transaction_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.dates(dt.date(2020, 1, 1), dt.date(2021, 12, 31)),
        st.floats(1, 500, allow_nan=False).map(lambda x: round(x, 2)),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transaction_rows)
def test_properties_of_figures_and_periods(rows):
    rows = [(c, d, -a if ret else a, ret) for c, d, a, ret in rows]
    with make_engine(rows) as con:
        check_properties(con, rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transaction_rows, st.sampled_from([30, 90, 365]))
def test_repeat_rates_follow_each_customers_first_three_purchase_days(rows, days):
    """New and returning repeat rates from each customer's own distinct purchase days."""
    rows = [(c, d, -a if ret else a, ret) for c, d, a, ret in rows]
    with make_engine(rows) as con:
        r = repeat_rates(con, "tx", WINDOW, days=days)
    end = WINDOW.end
    counts = {"new": 0, "new_again": 0, "returning": 0, "returning_again": 0}
    for customer in {c for c, _, _, ret in rows if not ret}:
        d = sorted({day for c, day, _, ret in rows if c == customer and not ret})
        if (end - d[0]).days >= days:
            counts["new"] += 1
            counts["new_again"] += len(d) > 1 and (d[1] - d[0]).days <= days
        if len(d) > 1 and (end - d[1]).days >= days:
            counts["returning"] += 1
            counts["returning_again"] += len(d) > 2 and (d[2] - d[1]).days <= days
    assert (r.new_customers, r.returning_customers) == (counts["new"], counts["returning"])
    if counts["new"]:
        assert r.new_repeat_rate == counts["new_again"] / counts["new"]
    if counts["returning"]:
        assert r.returning_repeat_rate == counts["returning_again"] / counts["returning"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transaction_rows, st.booleans())
def test_customer_metrics_are_the_same_by_bits_by_grouping_and_by_ranges(rows, orders):
    """Years with a purchase as bits, as a grouping by year, per range of ids: one table."""
    rows = [(c, d, -a if ret else a, ret) for c, d, a, ret in rows]
    unit = "order" if orders else "transaction"
    with make_engine(rows, with_order_id=orders) as con:
        by_bits = customer_metrics(con, "tx", WINDOW, purchase_unit=unit)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(clvreport.metrics, "_MASK_YEARS", -1)
            by_grouping = customer_metrics(con, "tx", WINDOW, purchase_unit=unit)
            patch.setattr(clvreport.engine, "ROWS_PER_CUSTOMER_RANGE", 3)
            by_ranges = customer_metrics(con, "tx", WINDOW, purchase_unit=unit)
    pd.testing.assert_frame_equal(by_bits, by_grouping)
    pd.testing.assert_frame_equal(by_bits, by_ranges)
    assert by_bits["customer_id"].is_monotonic_increasing


def check_properties(con: DuckDBEngine, rows) -> None:
    customers = customer_metrics(con, "tx", WINDOW)
    purchasers = {c for c, _, _, ret in rows if not ret}
    assert set(customers["customer_id"]) == purchasers
    if customers.empty:
        return
    assert (customers["lifespan_days"] >= 0).all()
    assert (customers["lifespan_days"] <= customers["tenure_days"]).all()
    assert (customers["recency_days"] <= customers["tenure_days"]).all()
    f = clv_figures(customers, WINDOW)
    if customers["revenue"].sum() >= 0 and f.retention.measured:
        assert (customers["historic_clv"] >= customers["revenue"] - 1e-9).all()
    assert (customers["active_years"] <= 2).all()  # a 731-day window has two years
    assert (
        customers["active_now"] + customers["active_previous"] == customers["active_years"]
    ).all()
    assert 0 <= f.repeat_purchase_rate <= 1
    assert f.retention.measured == (customers["active_previous"].sum() > 0)
    if f.retention.measured:
        assert 0 <= f.retention_rate <= 1
        assert f.historic_clv == pytest.approx(customers["historic_clv"].mean())
        if f.revenue >= 0:
            assert f.historic_clv >= f.revenue_per_customer - 1e-9
        assert f.customer_years >= f.observed_active_years
    else:
        assert np.isnan(f.historic_clv) and customers["historic_clv"].isna().all()
    years = years_table(con, "tx", WINDOW)
    assert years["new_customers"].sum() == len(customers)
    assert years["customers"].iloc[-1] == customers["active_now"].sum()
    assert years["revenue"].sum() == pytest.approx(sum(a for _, _, a, _ in rows))
    if f.retention.measured:
        assert years["retention_rate"].iloc[-1] == pytest.approx(f.retention_rate)
    for period in ("year", "quarter", "month"):
        r = retention_by_period(con, "tx", WINDOW, period=period)
        assert r["new_customers"].sum() == len(customers)
        assert (r["retained_customers"] <= r["active_customers"]).all()
        rates = r["retention_rate"].dropna()
        assert ((rates >= 0) & (rates <= 1)).all()
        assert r["revenue_new"].sum() + r["revenue_returning"].sum() == pytest.approx(
            sum(a for _, _, a, _ in rows)
        )


def test_repeat_rates_of_new_and_returning_customers():
    # Window to 2022-12-31: everyone's first year after the first purchase is observed.
    rows = [
        ("a", "2020-01-01", 10.0, False),
        ("a", "2020-01-01", 5.0, False),  # the same day: one occasion
        ("a", "2020-06-01", 10.0, False),  # second purchase within a year
        ("a", "2021-03-01", 10.0, False),  # third within a year of the second
        ("b", "2020-02-01", 10.0, False),
        ("b", "2021-06-01", 10.0, False),  # second after more than a year
        ("c", "2022-06-01", 10.0, False),  # first purchase less than a year before the end
    ]
    window = ObservationWindow(dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    with make_engine(rows) as engine:
        r = repeat_rates(engine, "tx", window)
    assert (r.new_customers, r.new_repeat_rate) == (2, 0.5)  # a yes, b no; c not yet
    # a bought a third time within a year of the second, b (second in 2021-06) did not.
    assert (r.returning_customers, r.returning_repeat_rate) == (2, 0.5)
