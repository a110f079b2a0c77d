"""One definition per concept: years, active customers, repeat buyers, lifespan, retention.

Small cases computed by hand, the refusal of a retention rate on too short data
(including a log whose oldest "year" has nine days), and the SQL year index
against its Python twin.
"""

from __future__ import annotations

import datetime as dt
import doctest
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvreport.definitions
from clvreport.definitions import (
    FULL_YEAR_GRACE_DAYS,
    MAX_RETENTION,
    active_mask,
    expected_remaining_years,
    full_years,
    lifespan_years,
    median_lifespan,
    repeat_rate,
    retention,
    year_end,
    year_index,
    year_index_sql,
    year_start,
)
from clvreport.engine import DuckDBEngine
from clvreport.metrics import ObservationWindow, clv_figures, customer_metrics, years_table

D = dt.date


def test_docstring_examples_run():
    assert doctest.testmod(clvreport.definitions).failed == 0


def make_engine(rows) -> DuckDBEngine:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "is_return"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    engine = DuckDBEngine(memory_limit="1GB", threads=1)
    engine.register("frame", frame)
    engine.execute(
        "CREATE TABLE tx AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, "
        "CAST(order_date AS DATE) AS order_date, CAST(amount AS DOUBLE) AS amount, "
        "CAST(is_return AS BOOLEAN) AS is_return FROM frame"
    )
    engine.drop("frame")
    return engine


# --- years -------------------------------------------------------------------------------


def test_years_count_back_from_the_report_date():
    # As of 31 December the years are calendar years.
    assert (year_start(D(2024, 12, 31)), year_end(D(2024, 12, 31))) == (
        D(2024, 1, 1),
        D(2024, 12, 31),
    )
    assert (year_start(D(2024, 12, 31), 1), year_end(D(2024, 12, 31), 1)) == (
        D(2023, 1, 1),
        D(2023, 12, 31),
    )
    # As of 30 June: July to June.
    assert (year_start(D(2024, 6, 30), 1), year_end(D(2024, 6, 30), 1)) == (
        D(2022, 7, 1),
        D(2023, 6, 30),
    )
    assert year_index(D(2023, 7, 1), D(2024, 6, 30)) == 0
    assert year_index(D(2023, 6, 30), D(2024, 6, 30)) == 1
    # A leap day as report date: the year starts the day after 28 February.
    assert year_start(D(2024, 2, 29)) == D(2023, 3, 1)
    assert year_index(D(2023, 2, 28), D(2024, 2, 29)) == 1


@settings(max_examples=30, deadline=None)
@given(
    end=st.dates(D(2019, 1, 1), D(2026, 12, 31)),
    days=st.lists(st.integers(0, 2000), min_size=1, max_size=30),
)
def test_the_sql_year_index_is_the_python_one(end, days):
    dates = [end - dt.timedelta(days=d) for d in days]
    with DuckDBEngine(memory_limit="256MB", threads=1) as engine:
        engine.register("d", pd.DataFrame({"day": pd.to_datetime(dates)}))
        got = engine.query(f"SELECT {year_index_sql('CAST(day AS DATE)', end)} AS k FROM d")
    assert got["k"].tolist() == [year_index(day, end) for day in dates]
    for day in dates:  # and every day lies in its year's bounds
        k = year_index(day, end)
        assert year_start(end, k) <= day <= year_end(end, k)


def test_full_years_and_the_grace_for_a_quiet_first_week():
    end = D(2024, 12, 31)
    assert full_years(D(2022, 1, 1), end) == 3
    assert full_years(D(2022, 1, 1) + dt.timedelta(days=FULL_YEAR_GRACE_DAYS), end) == 3
    assert full_years(D(2022, 1, 1) + dt.timedelta(days=FULL_YEAR_GRACE_DAYS + 1), end) == 2
    assert full_years(D(2024, 3, 1), end) == 0
    assert full_years(D(1997, 1, 1), D(1998, 6, 30)) == 1  # CDNOW: 18 months


# --- active customers, repeat buyers, lifespan -------------------------------------------


def test_active_customer_bought_in_the_last_twelve_months():
    as_of = D(2024, 6, 30)
    table = pd.DataFrame(
        {"last_purchase": pd.to_datetime(["2024-06-30", "2023-07-01", "2023-06-30", "2020-01-01"])}
    )
    assert active_mask(table, as_of).tolist() == [True, True, False, False]
    # A subscription is active while it runs, whatever the payments say.
    running = table.assign(active=[False, True, True, False])
    assert active_mask(running, as_of).tolist() == [False, True, True, False]


def test_repeat_rate_by_hand():
    assert repeat_rate(pd.DataFrame({"n_purchases": [1, 1, 2, 7]})) == 0.5
    assert math.isnan(repeat_rate(pd.DataFrame({"n_purchases": []})))


def test_lifespan_is_first_to_last_purchase_and_its_median_over_repeat_buyers():
    first = pd.to_datetime(pd.Series(["2020-01-01", "2020-01-01", "2021-01-01", "2022-05-05"]))
    last = pd.to_datetime(pd.Series(["2020-01-01", "2020-07-01", "2022-01-01", "2024-05-04"]))
    years = lifespan_years(first, last)
    assert (years * 365.25).round().tolist() == [0, 182, 365, 730]
    table = pd.DataFrame({"n_purchases": [1, 2, 3, 2], "lifespan_years": years})
    span = median_lifespan(table)
    assert span.repeat_buyers == 3  # the one-time buyer has no lifespan to speak of
    assert span.median_years == pytest.approx(365 / 365.25)
    assert math.isnan(median_lifespan(table.iloc[:1]).median_years)


# --- retention ---------------------------------------------------------------------------


def flags(now: list[int], previous: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"active_now": now, "active_previous": previous})


def test_retention_by_hand():
    # 5 customers bought in 2023; 3 of them bought again in 2024; 2 others are new.
    table = flags([1, 1, 1, 0, 0, 1, 1], [1, 1, 1, 1, 1, 0, 0])
    r = retention(table, D(2022, 3, 1), D(2024, 12, 31))
    assert r.measured and (r.base, r.retained) == (5, 3)
    assert r.rate == pytest.approx(0.6)
    assert (r.year_start, r.year_end) == (D(2024, 1, 1), D(2024, 12, 31))
    assert (r.base_start, r.base_end) == (D(2023, 1, 1), D(2023, 12, 31))
    assert expected_remaining_years(r.rate) == pytest.approx(1.5)  # 0.6 / 0.4


def test_retention_is_refused_with_fewer_than_two_full_years():
    table = flags([1, 1, 0], [1, 1, 1])
    r = retention(table, D(2023, 6, 1), D(2024, 12, 31))
    assert not r.measured and r.refused == "short"
    assert math.isnan(r.rate) and (r.base, r.retained) == (3, 2)  # counted, not used
    assert r.full_years == 1 and r.base_days == 214  # 1 June to 31 December 2023
    assert math.isnan(expected_remaining_years(r.rate))


def test_a_nine_day_first_year_is_never_a_year():
    # The log starts nine days before the year boundary: its customers of those nine days
    # must not become "last year's customers" whose return makes a customer stay for years.
    rows = [(f"c{i}", "2023-12-23", 50.0, False) for i in range(10)]
    rows += [(f"c{i}", "2024-03-01", 50.0, False) for i in range(9)]  # 9 of 10 come back
    rows += [(f"n{i}", "2024-05-01", 50.0, False) for i in range(40)]
    window = ObservationWindow(D(2023, 12, 23), D(2024, 12, 31))
    with make_engine(rows) as engine:
        customers = customer_metrics(engine, "tx", window)
        years = years_table(engine, "tx", window)
    f = clv_figures(customers, window)
    assert f.retention.refused == "short" and f.retention.base_days == 9
    assert math.isnan(f.retention_rate) and math.isnan(f.expected_remaining_years)
    assert math.isnan(f.historic_clv) and math.isnan(f.customer_years)
    assert customers["historic_clv"].isna().all()
    # The same data per year: the nine days are a partial year, and no retention is given.
    assert years["full"].tolist() == [False, True]
    assert years["year_start"].iloc[0] == pd.Timestamp("2023-12-23")
    assert years["customers"].tolist() == [10, 49]
    assert years["retention_rate"].isna().all()
    # The lifespan and the repeat rate need no full year.
    assert f.lifespan_years == pytest.approx(
        (pd.Timestamp("2024-03-01") - pd.Timestamp("2023-12-23")).days / 365.25
    )
    assert f.repeat_purchase_rate == pytest.approx(9 / 50)


def test_a_short_oldest_year_leaves_the_full_years_their_retention():
    # Nine days of 2022, then 2023 and 2024 in full: retention 2024 is measured, 2023's is not.
    rows = [("a", "2022-12-23", 10.0, False), ("a", "2023-06-01", 10.0, False)]
    rows += [("b", "2023-02-01", 10.0, False), ("b", "2024-02-01", 10.0, False)]
    rows += [("c", "2023-03-01", 10.0, False), ("d", "2024-04-01", 10.0, False)]
    window = ObservationWindow(D(2022, 12, 23), D(2024, 12, 31))
    with make_engine(rows) as engine:
        customers = customer_metrics(engine, "tx", window)
        years = years_table(engine, "tx", window)
    f = clv_figures(customers, window)
    assert f.retention.measured and f.retention.full_years == 2
    assert (f.retention.base, f.retention.retained) == (3, 1)  # a, b, c in 2023; b in 2024
    assert f.retention_rate == pytest.approx(1 / 3)
    assert years["full"].tolist() == [False, True, True]
    np.testing.assert_array_equal(years["retention_rate"].to_numpy(), [np.nan, np.nan, 1 / 3])
    # the table's last row is the retention rate: one definition
    assert years["retention_rate"].iloc[-1] == f.retention_rate


def test_retention_without_customers_in_the_year_before_is_refused():
    r = retention(flags([1, 1], [0, 0]), D(2020, 1, 1), D(2024, 12, 31))
    assert r.refused == "no_customers" and math.isnan(r.rate)


def test_expected_remaining_years_is_capped():
    assert expected_remaining_years(0.0) == 0.0
    assert expected_remaining_years(0.5) == 1.0
    assert expected_remaining_years(0.99) == pytest.approx(MAX_RETENTION / (1 - MAX_RETENTION))
