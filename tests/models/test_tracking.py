"""The tracking plot's data: weekly repeat purchases, actual vs the model, on CDNOW and by hand."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from clvreport.engine import DuckDBEngine
from clvreport.errors import DataError
from clvreport.models import BetaGeoModel
from clvreport.models.season import daily_purchases
from clvreport.models.tracking import (
    TRACKING_COLUMNS,
    daily_repeat_purchases,
    tracking_data,
    tracking_table,
)

BG = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})


@pytest.fixture(scope="module")
def cdnow_tracking(cdnow_tx, bgnbd) -> pd.DataFrame:
    return tracking_data(
        cdnow_tx, bgnbd, calibration_end="1997-09-30", observation_end="1998-06-30"
    )


def test_cdnow_weeks_and_columns(cdnow_tracking) -> None:
    table = cdnow_tracking
    assert tuple(table.columns) == TRACKING_COLUMNS
    assert len(table) == 78 and table["calibration"].sum() == 39
    assert table["week"].tolist() == list(range(1, 79))
    assert (table["days"] == 7).all()
    assert table["period"].iloc[0] == pd.Timestamp("1997-01-07")
    assert table.loc[table["calibration"], "period"].iloc[-1] == pd.Timestamp("1997-09-30")
    assert table["period"].iloc[-1] == pd.Timestamp("1998-06-30")
    assert table.attrs["calibration_weeks"] == 39 and table.attrs["model"] == "bgnbd"
    assert pd.api.types.is_datetime64_any_dtype(table["period"])
    assert (table["predicted"] >= 0).all() and (table["actual"] >= 0).all()
    np.testing.assert_allclose(table["predicted"].cumsum(), table["predicted_cumulative"])
    np.testing.assert_array_equal(table["actual"].cumsum(), table["actual_cumulative"])


def test_cdnow_actual_adds_up_to_the_summary(cdnow_tracking, cdnow, cdnow_tx) -> None:
    table = cdnow_tracking
    calibration = table.loc[table["calibration"], "actual_cumulative"].iloc[-1]
    assert calibration == cdnow["frequency"].sum()
    holdout = table["actual"][~table["calibration"]].sum()
    assert holdout == cdnow["frequency_holdout"].sum() == 1882
    daily = daily_repeat_purchases(cdnow_tx, "1997-09-30", "1998-06-30")
    assert daily["births"].sum() == len(cdnow) == 2357
    assert daily["day"].min() == -272 and daily["day"].max() <= 273


def test_cdnow_bgnbd_tracks_the_calibration_period(cdnow_tracking, cdnow, bgnbd) -> None:
    table = cdnow_tracking
    end = table[table["calibration"]].iloc[-1]
    # Fader, Hardie and Lee (2005, Figure 4): BG/NBD tracks cumulative repeat purchases
    assert end["predicted_cumulative"] == pytest.approx(end["actual_cumulative"], rel=0.05)
    # the sum over customers of E[X(T)] with the summary's T
    expected = np.sum(bgnbd.expected_purchases_new_customer(cdnow["T"].to_numpy()))
    assert end["predicted_cumulative"] == pytest.approx(expected, rel=1e-9)
    last = table.iloc[-1]
    assert last["predicted_cumulative"] == pytest.approx(last["actual_cumulative"], rel=0.10)


def test_hand_made_days() -> None:
    daily = pd.DataFrame(
        {
            "day": [-9, -8, -2, 0, 3, 4, 10],
            "births": [2, 0, 1, 0, 5, 0, 0],  # births after the calibration end are ignored
            "repeat_purchases": [0, 1, 2, 1, 1, 4, 2],
        }
    )
    table = tracking_table(
        BG, daily, calibration_end=dt.date(2024, 6, 30), observation_end=dt.date(2024, 7, 10)
    )
    # weeks end on -7, 0 (calibration end), 7 and 10 (partial last week); the first is partial too
    assert table["period"].dt.strftime("%m-%d").tolist() == ["06-23", "06-30", "07-07", "07-10"]
    assert table["days"].tolist() == [3, 7, 7, 3]
    assert table["calibration"].tolist() == [True, True, False, False]
    assert table["actual"].tolist() == [1, 3, 5, 2]
    # two customers born on day -9, one on day -2: E[X(t)] from their own first purchase
    weeks = np.array([-7, 0, 7, 10])
    expected = 2 * BG.expected_purchases_new_customer((weeks + 9) / 7) + np.where(
        weeks >= -2, BG.expected_purchases_new_customer(np.maximum(weeks + 2, 0) / 7), 0
    )
    np.testing.assert_allclose(table["predicted_cumulative"], expected)


def test_no_holdout_and_no_customers() -> None:
    daily = pd.DataFrame({"day": [-14, -3], "births": [4, 0], "repeat_purchases": [0, 1]})
    table = tracking_table(BG, daily, calibration_end="2024-06-30")
    assert table["calibration"].all() and table["period"].iloc[-1] == pd.Timestamp("2024-06-30")
    assert table["actual_cumulative"].iloc[-1] == 1
    with pytest.raises(DataError, match="no customer made a first purchase"):
        tracking_table(BG, daily.assign(births=0), calibration_end="2024-06-30")
    with pytest.raises(DataError, match="before the calibration end"):
        tracking_table(BG, daily, calibration_end="2024-06-30", observation_end="2024-06-01")


def test_the_sql_counts_purchase_days_like_the_summary() -> None:
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b", "c", "c"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-03",  # a: a return first: not a purchase day
                    "2024-01-05",  # a: first purchase
                    "2024-01-05",  # a: same day, merged
                    "2024-01-20",  # a: repeat
                    "2024-01-10",  # b: first purchase
                    "2024-02-10",  # b: repeat in the holdout
                    "2024-02-05",  # c: first purchase after the calibration end
                    "2024-02-20",  # c: repeat: every customer's, not the calibration's
                ]
            ).date,
            "amount": [-5.0, 10.0, 4.0, 8.0, 3.0, 6.0, 9.0, 2.0],
            "is_return": [True, False, False, False, False, False, False, False],
        }
    )
    with DuckDBEngine(memory_limit=None, threads=1) as engine:
        engine.register("tx", rows)
        transactions = SimpleNamespace(engine=engine, table="tx")
        daily = daily_repeat_purchases(transactions, "2024-01-31", "2024-02-29")
    by_day = daily.set_index("day")
    assert by_day["births"].to_dict() == {-26: 1, -21: 1, -11: 0, 5: 1, 10: 0, 20: 0}
    # the calibration customers' repeats (the tracking table), and every customer's
    # (the seasonal index): one query for both
    assert by_day["repeat_purchases"].to_dict() == {-26: 0, -21: 0, -11: 1, 5: 0, 10: 1, 20: 0}
    assert by_day["repeat_purchases_all"].to_dict() == {
        -26: 0, -21: 0, -11: 1, 5: 0, 10: 1, 20: 1,
    }  # fmt: skip
    season_counts = daily_purchases(transactions, dt.date(2024, 2, 29), daily)
    with DuckDBEngine(memory_limit=None, threads=1) as engine:
        engine.register("tx", rows)
        alone = daily_purchases(SimpleNamespace(engine=engine, table="tx"), dt.date(2024, 2, 29))
    pd.testing.assert_frame_equal(season_counts, alone)


def test_daily_counts_by_ranges_of_customers_equal_one_query(cdnow_tx, monkeypatch) -> None:
    """Large tables are counted per range of customer ids and added up: the same days."""
    import clvreport.engine

    whole = daily_repeat_purchases(cdnow_tx, "1997-09-30", "1998-06-30")
    monkeypatch.setattr(clvreport.engine, "ROWS_PER_CUSTOMER_RANGE", 900)
    assert len(cdnow_tx.engine.customer_ranges(cdnow_tx.table)) > 3
    split = daily_repeat_purchases(cdnow_tx, "1997-09-30", "1998-06-30")
    pd.testing.assert_frame_equal(whole, split)
