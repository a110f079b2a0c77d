import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clvreport.engine
from clvreport.config import ColumnMapping, CsvOptions, DataPolicies
from clvreport.engine import SPARK, DuckDBEngine
from clvreport.errors import DataError
from clvreport.ingest import DataQuality, Transactions, read_transactions
from clvreport.ingest.exceptional import ExceptionalOrderRule
from clvreport.models.spend_caps import CAPPED_COLUMN
from clvreport.rfm import capped_sql, rfm_summaries, rfm_summary, summary_sql, summary_totals

DATA = Path(__file__).parent / "data"
SMALL = DATA / "ingest" / "summary_small.csv"
CDNOW = DATA / "cdnow_sample.txt"
SMALL_COLUMNS = ColumnMapping(customer_id="customer", date="date", amount="amount")
CDNOW_COLUMNS = ColumnMapping(customer_id="id", date="date", amount="amount")
CDNOW_CSV = CsvOptions(header=False, names=("id", "sample", "date", "qty", "amount"))


@pytest.fixture(scope="module")
def small():
    with read_transactions(SMALL, SMALL_COLUMNS, policies=DataPolicies(duplicates="keep")) as tx:
        yield tx


@pytest.fixture(scope="module")
def cdnow():
    policies = DataPolicies(zero_amounts="keep")
    with read_transactions(CDNOW, CDNOW_COLUMNS, csv=CDNOW_CSV, policies=policies) as tx:
        yield tx


# --- hand-computed fixture (tests/data/ingest/summary_small.csv) ---------------------------
# Calibration end 2020-01-31, holdout end 2020-02-29, in days:
#   A: first 01-01 (10 + 5 same day), repeat days 01-08 (20) and 01-15 (30), a return of 5
#      on 01-20; holdout 02-05 (40).
#      frequency 2, recency 14, T 30, monetary (20 + 30 - 5) / 2 = 22.5, revenue 60.
#   B: 01-10 (100); holdout 02-10 (50 + 25 on one day): frequency 0, T 21, holdout 1 day of 75.
#   C: 01-31 (7): first purchase on the calibration end, T 0.
#   D (02-03) and E (02-29) start after the calibration end: not in the summary.


def test_hand_computed_summary_in_days(small):
    s = rfm_summary(
        small, calibration_end="2020-01-31", observation_end="2020-02-29", time_unit="days"
    )
    assert s["customer_id"].tolist() == ["A", "B", "C"]
    assert s["frequency"].tolist() == [2, 0, 0]
    assert s["recency"].tolist() == [14.0, 0.0, 0.0]
    assert s["T"].tolist() == [30.0, 21.0, 0.0]
    assert s["monetary_value"].tolist() == [22.5, 0.0, 0.0]
    assert s["revenue"].tolist() == [60.0, 100.0, 7.0]
    assert s["frequency_holdout"].tolist() == [1, 1, 0]
    assert s["monetary_value_holdout"].tolist() == [40.0, 75.0, 0.0]
    assert s["revenue_holdout"].tolist() == [40.0, 75.0, 0.0]
    assert s["duration_holdout"].tolist() == [29.0, 29.0, 29.0]
    assert s.attrs == {
        "time_unit": "days",
        "calibration_end": "2020-01-31",
        "observation_end": "2020-02-29",
    }
    assert s["frequency"].dtype == np.int64 and s["frequency_holdout"].dtype == np.int64


def test_time_units(small):
    weeks = rfm_summary(small, calibration_end="2020-01-31", time_unit="weeks")
    months = rfm_summary(small, calibration_end=dt.date(2020, 1, 31), time_unit="months")
    assert weeks["recency"].tolist() == [2.0, 0.0, 0.0]
    assert weeks["T"].tolist() == pytest.approx([30 / 7, 3.0, 0.0])
    assert months["T"].tolist() == pytest.approx([30 / (365.25 / 12), 21 / (365.25 / 12), 0.0])
    assert "frequency_holdout" not in weeks
    assert weeks["monetary_value"].tolist() == [22.5, 0.0, 0.0]  # spend has no time unit


def test_default_calibration_end_is_as_of(small):
    s = rfm_summary(small)
    assert s.attrs["calibration_end"] == "2020-02-29"
    assert s["customer_id"].tolist() == ["A", "B", "C", "D", "E"]
    a = s.set_index("customer_id").loc["A"]
    assert (a["frequency"], a["recency"], a["monetary_value"]) == (3, 5.0, (20 + 30 - 5 + 40) / 3)


def test_returns_dropped_are_not_netted():
    with read_transactions(SMALL, SMALL_COLUMNS, policies=DataPolicies(returns="drop")) as tx:
        s = rfm_summary(tx, calibration_end="2020-01-31", time_unit="days")
        assert s["monetary_value"].tolist()[0] == 25.0
        assert s["revenue"].tolist()[0] == 65.0


def test_totals(small):
    s = rfm_summary(small, calibration_end="2020-01-31", observation_end="2020-02-29")
    totals = summary_totals(s)
    assert totals == {
        "customers": 3,
        "repeat_buyers": 1,
        "calibration_repeat_purchases": 2,
        "holdout_repeat_purchases": 2,
        "revenue": 167.0,
        "holdout_revenue": 115.0,
        "time_unit": "weeks",
        "calibration_end": "2020-01-31",
        "observation_end": "2020-02-29",
    }
    no_holdout = summary_totals(rfm_summary(small, calibration_end="2020-01-31"))
    assert no_holdout["holdout_repeat_purchases"] is None
    assert no_holdout["holdout_revenue"] is None


# --- CDNOW (Fader & Hardie's 1/10th sample) -------------------------------------------


def test_cdnow_calibration_and_holdout_counts(cdnow):
    s = rfm_summary(cdnow, calibration_end="1997-09-30", observation_end="1998-06-30")
    totals = summary_totals(s)
    assert totals["customers"] == 2357
    assert totals["repeat_buyers"] == 946
    assert totals["calibration_repeat_purchases"] == 2457
    assert totals["holdout_repeat_purchases"] == 1882
    assert s["duration_holdout"].iloc[0] == pytest.approx(273 / 7)
    assert s["T"].max() == pytest.approx(272 / 7)  # customers of 1997-01-01
    assert s["T"].min() == pytest.approx(189 / 7)  # the last first purchase: 1997-03-25
    first = s.set_index("customer_id").loc["00004"]
    # 00004 bought on 1997-01-01, 01-18, 08-02 (calibration) and 12-12 (holdout).
    assert first["frequency"] == 2
    assert first["recency"] == pytest.approx(213 / 7)
    assert first["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert first["frequency_holdout"] == 1
    assert first["monetary_value_holdout"] == pytest.approx(26.48)


def test_cdnow_dropping_zero_orders_loses_the_customers_who_only_had_one():
    policies = DataPolicies(zero_amounts="drop")
    with read_transactions(CDNOW, CDNOW_COLUMNS, csv=CDNOW_CSV, policies=policies) as tx:
        s = rfm_summary(tx, calibration_end="1997-09-30", observation_end="1998-06-30")
        totals = summary_totals(s)
        assert totals["customers"] == 2357 - 8  # eight customers only had an order of $0
        assert totals["calibration_repeat_purchases"] == 2457
        assert totals["holdout_repeat_purchases"] == 1882


# --- periods and SQL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration_end": "2019-12-31"}, "before the first transaction"),
        ({"calibration_end": "2020-03-01"}, "after the as-of date 2020-02-29"),
        ({"calibration_end": "2020-01-31", "observation_end": "2020-01-31"}, "is not after"),
        (
            {"calibration_end": "2020-01-31", "observation_end": "2020-03-31"},
            "after the (data ends|last transaction)",
        ),
        ({"calibration_end": "31-01-2020"}, "calibration end '31-01-2020' is not a date"),
        ({"time_unit": "years"}, "unknown time unit 'years'"),
    ],
)
def test_bad_periods(small, kwargs, message):
    with pytest.raises(DataError, match=message):
        rfm_summary(small, **kwargs)


def test_sql_is_portable_to_spark():
    sql = summary_sql("tx", dt.date(1997, 9, 30), dt.date(1998, 6, 30), dialect=SPARK)
    assert "datediff(c.last_0, c.first_0)" in sql
    assert "min_by(" in sql and "arg_min" not in sql
    assert "date_diff" not in sql
    assert "DATE '1997-09-30'" in sql and "DATE '1998-06-30'" in sql


# --- properties ---------------------------------------------------------------------------

transactions = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.integers(min_value=0, max_value=120),
        st.floats(min_value=-50, max_value=500, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=60,
)


@pytest.fixture(scope="module")
def engine():
    with DuckDBEngine(memory_limit="512MB", threads=1) as engine:
        yield engine


def _transactions(engine: DuckDBEngine, rows) -> Transactions:
    start = dt.date(2021, 1, 1)
    frame = pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "order_date": [start + dt.timedelta(days=d) for _, d, _ in rows],
            "amount": [a for _, _, a in rows],
        }
    )
    frame["is_return"] = frame["amount"] < 0
    name = engine.unique_name("prop")
    engine.register(name, frame)
    first, last = frame["order_date"].min(), frame["order_date"].max()
    quality = DataQuality(len(frame), len(frame), (), 0, 0, 0)
    return Transactions(engine, name, tuple(frame.columns), first, last, last, quality)


def _reference(rows, cal_end: dt.date) -> pd.DataFrame:
    start = dt.date(2021, 1, 1)
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    frame["date"] = [start + dt.timedelta(days=d) for d in frame["day"]]
    frame = frame[frame["date"] <= cal_end]
    purchases = frame[frame["amount"] >= 0]
    out = {}
    for customer, days in purchases.groupby("customer_id")["date"]:
        unique = sorted(set(days))
        out[customer] = (len(unique) - 1, (unique[-1] - unique[0]).days, (cal_end - unique[0]).days)
    return pd.DataFrame(out, index=["frequency", "recency", "T"]).T.sort_index()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=transactions, cut=st.integers(min_value=0, max_value=120))
def test_summary_properties(engine, rows, cut):
    tx = _transactions(engine, rows)
    try:
        cal_end = min(tx.first_date + dt.timedelta(days=cut), tx.as_of)
        if not any(
            a >= 0 and dt.date(2021, 1, 1) + dt.timedelta(days=d) <= cal_end for _, d, a in rows
        ):
            return
        s = rfm_summary(tx, calibration_end=cal_end, time_unit="days")
        days_per_customer = (
            pd.DataFrame(rows, columns=["c", "d", "a"]).query("a >= 0").groupby("c")["d"].nunique()
        )
        for _, row in s.iterrows():
            assert 0 <= row["frequency"] <= days_per_customer[row["customer_id"]] - 1
            assert 0 <= row["recency"] <= row["T"]
            if row["frequency"] == 0:
                assert row["recency"] == 0 and row["monetary_value"] == 0
        expected = _reference(rows, cal_end)
        got = s.set_index("customer_id")[["frequency", "recency", "T"]].sort_index()
        assert got.index.tolist() == expected.index.tolist()
        assert np.array_equal(got.to_numpy(dtype=float), expected.to_numpy(dtype=float))
        weeks = rfm_summary(tx, calibration_end=cal_end, time_unit="weeks")
        assert np.allclose(weeks["T"] * 7, s["T"]) and np.allclose(
            weeks["recency"] * 7, s["recency"]
        )
    finally:
        engine.drop(tx.table)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=transactions)
def test_holdout_counts_every_later_purchase_day(engine, rows):
    tx = _transactions(engine, rows)
    try:
        cal_end = tx.first_date + (tx.as_of - tx.first_date) // 2
        if cal_end >= tx.as_of:
            return
        s = rfm_summary(tx, calibration_end=cal_end, observation_end=tx.as_of, time_unit="days")
        start = dt.date(2021, 1, 1)
        frame = pd.DataFrame(rows, columns=["c", "d", "a"])
        frame["date"] = [start + dt.timedelta(days=d) for d in frame["d"]]
        later = frame[
            (frame["date"] > cal_end) & (frame["a"] >= 0) & frame["c"].isin(s["customer_id"])
        ]
        assert s["frequency_holdout"].sum() == later.groupby("c")["date"].nunique().sum()
        assert (s["frequency_holdout"] >= 0).all()
        total = frame[frame["c"].isin(s["customer_id"])]["a"].sum()
        assert s["revenue"].sum() + s["revenue_holdout"].sum() == pytest.approx(total, abs=1e-6)
    finally:
        engine.drop(tx.table)


# --- the one-pass summaries against the joined construction ---------------------------------

_columns_of = {
    False: ["frequency", "recency_days", "age_days", "monetary_value", "revenue"],
    True: ["frequency_holdout", "first_holdout_days", "monetary_value_holdout", "revenue_holdout"],
}


def _joined(engine, table, cal_end, obs_end, rule):
    from summary_reference import joined_summary_sql

    capped = rule is not None and len(engine.query(capped_sql(table, cal_end, rule)))
    sql = joined_summary_sql(table, cal_end, obs_end, exceptional=rule if capped else None)
    return engine.query_arrow(sql).to_pandas(), bool(capped)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=transactions,
    cut=st.integers(min_value=0, max_value=120),
    capped=st.booleans(),
)
def test_one_pass_summaries_equal_the_joined_construction_to_the_bit(engine, rows, cut, capped):
    """Full and calibration summaries of one query equal separate joined queries exactly.

    Returns before a customer's first purchase, return-only days, same-day
    purchases, a holdout and exceptional orders (a rule that caps orders above
    four times a 20 order) are all in the generated rows.
    """
    tx = _transactions(engine, rows)
    rule = ExceptionalOrderRule(20.0, 0.5, 4.0, 100) if capped else None
    tx = dataclasses.replace(tx, exceptional_rule=rule)
    try:
        cal_end = min(tx.first_date + dt.timedelta(days=cut), tx.as_of)
        bought = [
            a >= 0 and dt.date(2021, 1, 1) + dt.timedelta(days=d) <= cal_end for _, d, a in rows
        ]
        if not any(bought) or cal_end >= tx.last_date:
            return
        periods = [(tx.as_of, None), (cal_end, tx.as_of)]
        full, calibration = rfm_summaries(tx, periods, time_unit="days")
        for got, (end, obs) in zip((full, calibration), periods, strict=True):
            expected, any_capped = _joined(engine, tx.table, end, obs, rule)
            assert got["customer_id"].tolist() == expected["customer_id"].tolist()
            names = _columns_of[False] + (_columns_of[True] if obs else [])
            names += [CAPPED_COLUMN] if any_capped else []
            renamed = {"recency_days": "recency", "age_days": "T"}
            for name in names:
                mine = got[renamed.get(name, name)].to_numpy(dtype=float)
                assert np.array_equal(mine, expected[name].to_numpy(dtype=float), equal_nan=True)
        assert full.equals(rfm_summary(tx, time_unit="days"))
    finally:
        engine.drop(tx.table)


def test_summaries_by_ranges_of_customers_equal_one_query(cdnow, monkeypatch):
    """Large tables are summarised per range of customer ids: the same rows, in order."""
    periods = [(cdnow.as_of, None), (dt.date(1997, 9, 30), cdnow.as_of)]
    whole = rfm_summaries(cdnow, periods)
    monkeypatch.setattr(clvreport.engine, "ROWS_PER_CUSTOMER_RANGE", 700)
    assert len(cdnow.engine.customer_ranges(cdnow.table)) > 3
    ranged = rfm_summaries(cdnow, periods)
    for one, split in zip(whole, ranged, strict=True):
        pd.testing.assert_frame_equal(one, split)
