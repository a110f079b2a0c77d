"""Monthly acquisition cohorts: hand-computed fixture, CDNOW against pandas, properties."""

from __future__ import annotations

import datetime as dt
import doctest
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvreport.cohorts
from clvreport.cohorts import cohort_matrix, cohort_table
from clvreport.engine import DuckDBEngine
from clvreport.metrics import ObservationWindow, observation_window

CDNOW_SAMPLE = Path(__file__).parent / "data" / "cdnow_sample.txt"

ROWS = [
    ("A", "2020-01-01", 100.0, False),
    ("A", "2020-07-01", 50.0, False),
    ("A", "2021-01-01", 150.0, False),
    ("A", "2021-02-01", -30.0, True),
    ("B", "2020-03-01", 200.0, False),
    ("C", "2020-06-01", 40.0, False),
    ("C", "2020-06-01", 60.0, False),
    ("C", "2021-12-31", 100.0, False),
    ("D", "2021-03-01", 80.0, False),
    ("E", "2020-01-20", 30.0, False),
    ("E", "2020-02-03", 20.0, False),
]
WINDOW = ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 31))


def connect(frame: pd.DataFrame) -> DuckDBEngine:
    """A DuckDB engine holding the clean transactions table ``tx``."""
    engine = DuckDBEngine(memory_limit="1GB", threads=1)
    engine.register("frame", frame)
    engine.execute(
        "CREATE TABLE tx AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, "
        "CAST(order_date AS DATE) AS order_date, CAST(amount AS DOUBLE) AS amount, "
        "CAST(is_return AS BOOLEAN) AS is_return FROM frame"
    )
    engine.drop("frame")
    return engine


@pytest.fixture
def con() -> Iterator[DuckDBEngine]:
    frame = pd.DataFrame(ROWS, columns=["customer_id", "order_date", "amount", "is_return"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    with connect(frame) as engine:
        yield engine


def test_docstring_examples_run():
    assert doctest.testmod(clvreport.cohorts).failed == 0


def test_cohorts_by_hand(con):
    t = cohort_table(con, "tx", WINDOW)
    sizes = t.groupby("cohort")["cohort_size"].first()
    # Cohorts: 2020-01 (A, E), 2020-03 (B), 2020-06 (C), 2021-03 (D).
    assert sizes.index.strftime("%Y-%m").tolist() == ["2020-01", "2020-03", "2020-06", "2021-03"]
    assert sizes.tolist() == [2, 1, 1, 1]
    # Each cohort has one row per month up to 2021-12: 24, 22, 19 and 10 ages.
    assert t.groupby("cohort").size().tolist() == [24, 22, 19, 10]
    jan = t[t["cohort"] == "2020-01-01"].set_index("age_months")
    # Age 0: A and E active, 100 + 30; age 1 (Feb): E 20; age 6 (Jul): A 50;
    # age 12 (Jan 2021): A 150; age 13 (Feb 2021): only A's return, so nobody active, −30.
    assert jan.loc[[0, 1, 6, 12, 13], "active_customers"].tolist() == [2, 1, 1, 1, 0]
    assert jan.loc[[0, 1, 6, 12, 13], "retention"].tolist() == [1.0, 0.5, 0.5, 0.5, 0.0]
    assert jan.loc[[0, 1, 6, 12, 13], "revenue"].tolist() == [130.0, 20.0, 50.0, 150.0, -30.0]
    assert jan.loc[2, "active_customers"] == 0 and jan.loc[2, "revenue"] == 0.0
    assert jan.loc[13, "revenue_per_customer"] == -15.0
    # Cumulative per customer: (130 + 20 + 50 + 150 − 30) / 2 = 160 by age 13.
    assert jan.loc[13, "cumulative_revenue_per_customer"] == 160.0
    assert jan["cumulative_revenue_per_customer"].iloc[-1] == 160.0
    june = t[t["cohort"] == "2020-06-01"].set_index("age_months")
    # C: two same-day transactions are one active customer; Dec 2021 is age 18.
    assert june.loc[0, ["active_customers", "revenue"]].tolist() == [1, 100.0]
    assert june.loc[18, ["active_customers", "revenue"]].tolist() == [1, 100.0]
    assert t["complete"].all()


def test_cohort_columns_and_max_age(con):
    t = cohort_table(con, "tx", WINDOW, max_age=3)
    assert t.columns.tolist() == [
        "cohort",
        "age_months",
        "cohort_size",
        "active_customers",
        "retention",
        "revenue",
        "revenue_per_customer",
        "cumulative_revenue_per_customer",
        "complete",
    ]
    assert t["age_months"].max() == 3
    assert (t.loc[t["age_months"] == 0, "retention"] == 1.0).all()
    with pytest.raises(ValueError, match="max_age"):
        cohort_table(con, "tx", WINDOW, max_age=-1)


def test_partial_last_month_is_not_complete(con):
    t = cohort_table(con, "tx", ObservationWindow(dt.date(2020, 1, 1), dt.date(2021, 12, 30)))
    december = (t["cohort"].dt.year * 12 + t["cohort"].dt.month - 1 + t["age_months"]) == (
        2021 * 12 + 11
    )
    assert not t.loc[december, "complete"].any()
    assert t.loc[~december, "complete"].all()


def test_cohort_matrix(con):
    m = cohort_matrix(cohort_table(con, "tx", WINDOW))
    assert m.shape == (4, 24)
    assert m.loc[pd.Timestamp("2021-03-01")].isna().sum() == 14  # ages 10..23 not reached
    assert m.loc[pd.Timestamp("2020-01-01"), 1] == 0.5
    revenue = cohort_matrix(cohort_table(con, "tx", WINDOW), "revenue")
    assert np.nansum(revenue.to_numpy()) == 800.0  # every transaction, returns netted


def test_empty_window_gives_empty_table(con):
    t = cohort_table(con, "tx", ObservationWindow(dt.date(2019, 1, 1), dt.date(2019, 12, 31)))
    assert t.empty and "retention" in t.columns


def test_cdnow_cohorts_match_pandas():
    frame = pd.read_csv(
        CDNOW_SAMPLE,
        sep=r"\s+",
        header=None,
        names=["customer_id", "s", "date", "q", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    frame["order_date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["is_return"] = False
    with connect(frame[["customer_id", "order_date", "amount", "is_return"]]) as engine:
        t = cohort_table(engine, "tx", observation_window(engine, "tx"))

    month = frame["order_date"].dt.year * 12 + frame["order_date"].dt.month - 1
    cohort = month.groupby(frame["customer_id"]).transform("min")
    frame["cohort"], frame["age"] = cohort, month - cohort
    sizes = frame.groupby("cohort")["customer_id"].nunique()
    active = frame.groupby(["cohort", "age"])["customer_id"].nunique()
    revenue = frame.groupby(["cohort", "age"])["amount"].sum()

    # CDNOW customers were acquired in January-March 1997; the data end in June 1998.
    assert t["cohort"].drop_duplicates().dt.strftime("%Y-%m").tolist() == [
        "1997-01",
        "1997-02",
        "1997-03",
    ]
    assert t.groupby("cohort")["cohort_size"].first().tolist() == sizes.tolist()
    assert sizes.sum() == 2357
    got = t.assign(cohort_m=t["cohort"].dt.year * 12 + t["cohort"].dt.month - 1).set_index(
        ["cohort_m", "age_months"]
    )
    got.index.names = ["cohort", "age"]
    pd.testing.assert_series_equal(
        got["active_customers"].loc[active.index],
        active,
        check_names=False,
        check_dtype=False,
        check_index_type=False,
    )
    assert got["revenue"].loc[revenue.index].to_numpy() == pytest.approx(revenue.to_numpy())
    assert got["revenue"].sum() == pytest.approx(frame["amount"].sum())
    assert ((t["retention"] >= 0) & (t["retention"] <= 1)).all()
