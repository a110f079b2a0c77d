"""Discrete-time summaries (x, t_x, n) from dated logs, and their checks and compression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError
from clvreport.models.discrete import (
    DISCRETE_COLUMNS,
    check_discrete,
    compress_discrete,
    discrete_summary,
    period_index,
)


def small_log() -> pd.DataFrame:
    rows = [
        # a: two gifts in 1996 count once, nothing in 1997, one in 1998
        ("a", "1995-03-01", 20.0),
        ("a", "1996-05-01", 10.0),
        ("a", "1996-11-01", 15.0),
        ("a", "1998-01-10", 40.0),
        # b: two gifts in the first year only
        ("b", "1995-07-01", 50.0),
        ("b", "1995-08-01", 30.0),
        # c: first gift in the last year
        ("c", "1998-06-01", 70.0),
        # d: a return in 1997 is not a gift; a gift in 1998; a gift after as_of
        ("d", "1996-02-01", 25.0),
        ("d", "1997-02-01", -5.0),
        ("d", "1998-12-31", 5.0),
        ("d", "1999-01-02", 99.0),
    ]
    return pd.DataFrame(rows, columns=["donor", "when", "amount"])


def by_id(summary: pd.DataFrame) -> dict[str, tuple]:
    return {
        row.customer_id: (row.frequency, row.recency, row.n_periods, row.monetary_value)
        for row in summary.itertuples()
    }


def test_yearly_summary_of_a_small_log() -> None:
    summary = discrete_summary(
        small_log(), customer_col="donor", date_col="when", amount_col="amount", as_of="1998-12-31"
    )
    assert list(summary.columns) == DISCRETE_COLUMNS
    assert by_id(summary) == {
        "a": (2, 3, 3, 32.5),  # repeat years 1996 (25) and 1998 (40)
        "b": (0, 0, 3, 80.0),  # no repeat year: the first year's total
        "c": (0, 0, 0, 70.0),  # first gift in the as_of year: no opportunity yet
        "d": (1, 2, 2, 5.0),
    }
    assert summary.attrs == {
        "period": "year",
        "as_of": "1998-12-31",
        "last_period_end": "1998-12-31",
    }
    assert summary["frequency"].dtype == np.int64 and summary["n_periods"].dtype == np.int64


def test_an_unfinished_last_period_is_not_an_opportunity() -> None:
    summary = discrete_summary(
        small_log(), customer_col="donor", date_col="when", amount_col="amount", as_of="1998-06-30"
    )
    assert by_id(summary) == {
        "a": (1, 1, 2, 25.0),  # 1998 has not ended: only 1996 and 1997 are opportunities
        "b": (0, 0, 2, 80.0),
        "c": (0, 0, 0, 70.0),  # first gift in the unfinished period
        "d": (0, 0, 1, 25.0),
    }
    assert summary.attrs["last_period_end"] == "1997-12-31"


def test_default_as_of_is_the_last_date_and_a_return_column_can_mark_returns() -> None:
    log = small_log()
    log["is_return"] = log["amount"] < 0
    log["amount"] = log["amount"].abs()
    summary = discrete_summary(
        log, customer_col="donor", date_col="when", amount_col="amount", return_col="is_return"
    )
    assert summary.attrs["as_of"] == "1999-01-02"
    assert summary.attrs["last_period_end"] == "1998-12-31"
    assert by_id(summary)["d"][:3] == (1, 2, 2)


def test_quarters_and_months() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2020-01-15", "2020-02-20", "2020-07-01", "2020-12-01"]),
        }
    )
    quarters = discrete_summary(log, period="quarter", as_of="2020-12-31")
    assert by_id(quarters)["a"][:3] == (1, 2, 3)
    assert by_id(quarters)["b"][:3] == (0, 0, 0)
    assert np.isnan(by_id(quarters)["a"][3])  # no amount column
    months = discrete_summary(log, period="month", as_of="2020-12-31")
    assert by_id(months)["a"][:3] == (2, 6, 11)
    assert period_index(
        pd.Series(pd.to_datetime(["2020-12-31", "2021-01-01"])), "month"
    ).tolist() == [
        2020 * 12 + 11,
        2021 * 12,
    ]


def test_matches_an_independent_construction_on_random_logs() -> None:
    rng = np.random.default_rng(5)
    n_customers, last_year = 300, 2012
    first = rng.integers(2000, 2013, n_customers)
    rows, truth = [], {}
    for i in range(n_customers):
        n = last_year - first[i]
        buys = rng.random(n) < rng.uniform(0.1, 0.9)
        years = first[i] + 1 + np.flatnonzero(buys)
        x = int(buys.sum())
        truth[f"c{i}"] = (x, int(np.flatnonzero(buys).max() + 1) if x else 0, n)
        for year in [first[i], *years]:
            for _ in range(rng.integers(1, 4)):
                rows.append(
                    (f"c{i}", f"{year}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}")
                )
    log = pd.DataFrame(rows, columns=["customer_id", "date"]).sample(frac=1.0, random_state=1)
    summary = discrete_summary(log, as_of=f"{last_year}-12-31")
    assert {k: v[:3] for k, v in by_id(summary).items()} == truth


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"x": [1]}), {}, "lack column(s) 'customer_id', 'date'"),
        (pd.DataFrame({"customer_id": [], "date": []}), {}, "there are no transactions"),
        (pd.DataFrame({"customer_id": ["a"], "date": ["soon"]}), {}, "'soon' at row 0"),
        (pd.DataFrame({"customer_id": [None], "date": ["2020-01-01"]}), {}, "customer id"),
        (pd.DataFrame({"customer_id": ["a"], "date": ["2020-01-01"]}), {"period": "week"}, "week"),
        (
            pd.DataFrame({"customer_id": ["a"], "date": ["2020-01-01"]}),
            {"as_of": "2019-01-01"},
            "every transaction is after as_of 2019-01-01",
        ),
        (
            pd.DataFrame({"customer_id": ["a"], "date": ["2020-01-01"], "amount": [-3.0]}),
            {"amount_col": "amount"},
            "no purchases",
        ),
    ],
)
def test_clear_errors(frame: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(DataError) as info:
        discrete_summary(frame, **kwargs)
    assert message in str(info.value)


def test_compress_with_a_weight_column_and_impossible_rows() -> None:
    table = pd.DataFrame(
        {"frequency": [0, 1, 1], "recency": [0, 2, 2], "periods": [6, 6, 6], "donors": [3, 4, 5]}
    )
    data = compress_discrete(table, weights="donors")
    assert data.n_rows == 2 and data.n_customers == 12.0
    assert sorted(zip(data.x, data.t_x, data.T, data.weight, strict=True)) == [
        (0.0, 0.0, 6.0, 3.0),
        (1.0, 2.0, 6.0, 9.0),
    ]
    for bad, rule in [
        (([2], [1], [6]), "frequency must be <= recency"),
        (([1], [7], [6]), "recency (the last purchase period) must be <= n_periods"),
        (([1.5], [2], [6]), "frequency must be a whole number"),
        (([0], [0], [-1]), "n_periods must be a whole number >= 0"),
        (([1], [np.nan], [3]), "recency has a missing"),
    ]:
        with pytest.raises(DataError) as info:
            check_discrete(*bad)
        assert rule in str(info.value)
    with pytest.raises(DataError, match="lacks column"):
        compress_discrete(pd.DataFrame({"frequency": [1]}))
    with pytest.raises(DataError, match="weight column 'count'"):
        compress_discrete(table, weights="count")
