"""Tests of the synthetic demo webshop (clvreport.demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.demo import COLUMNS, generate_transactions, main, write_demo_csv

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data" / "demo" / "transactions.csv"


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return generate_transactions()


@pytest.fixture(scope="module")
def purchases(demo: pd.DataFrame) -> pd.DataFrame:
    """Registered customers' delivered orders, duplicates removed."""
    delivered = demo["status"].isin(["afgerond", "verzonden"]) & demo["klantnummer"].notna()
    return demo[delivered].drop_duplicates()


def test_columns_and_types(demo: pd.DataFrame) -> None:
    assert tuple(demo.columns) == COLUMNS
    assert str(demo["klantnummer"].dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(demo["besteldatum"])
    assert set(demo["kanaal"]) == {"webshop", "app", "winkel"}
    assert set(demo["land"]) == {"NL", "BE", "DE"}
    assert set(demo["status"]) == {"afgerond", "verzonden", "geannuleerd", "retour"}


def test_customer_count_and_date_range(demo: pd.DataFrame) -> None:
    assert demo["klantnummer"].nunique() == 5000
    assert demo["besteldatum"].min() == pd.Timestamp("2022-01-01")
    assert demo["besteldatum"].max() == pd.Timestamp("2024-12-31")
    assert demo["besteldatum"].is_monotonic_increasing
    # customer numbers are handed out in order of acquisition
    first = demo.dropna(subset=["klantnummer"]).groupby("klantnummer")["besteldatum"].min()
    assert first.is_monotonic_increasing


def test_size_is_realistic(demo: pd.DataFrame, purchases: pd.DataFrame) -> None:
    assert 15_000 < len(demo) < 40_000
    orders_per_customer = purchases.groupby("klantnummer").size()
    assert 2.5 < orders_per_customer.mean() < 6
    assert 30 < purchases["bedrag"].median() < 60


def test_december_peak_summer_dip_and_black_friday(demo: pd.DataFrame) -> None:
    sales = demo[demo["status"] != "geannuleerd"]
    by_month = sales.groupby(sales["besteldatum"].dt.month)["bedrag"].sum()
    assert by_month[12] > 1.5 * by_month.mean()
    assert by_month[12] == by_month.max()
    assert by_month[7] < by_month.mean()
    daily = sales.groupby("besteldatum").size()
    for black_friday in ["2022-11-25", "2023-11-24", "2024-11-29"]:
        day = pd.Timestamp(black_friday)
        week_before = daily[day - pd.Timedelta(days=14) : day - pd.Timedelta(days=8)]
        assert daily[day] > 1.8 * week_before.mean()


def test_acquisition_grows(purchases: pd.DataFrame) -> None:
    first = purchases.groupby("klantnummer")["besteldatum"].min()
    new_per_year = first.dt.year.value_counts().sort_index()
    assert new_per_year[2024] > new_per_year[2022]


def test_one_time_buyers_regulars_and_big_spenders(purchases: pd.DataFrame) -> None:
    per_customer = purchases.groupby("klantnummer")["bedrag"].agg(["size", "mean"])
    one_time = per_customer["size"] == 1
    assert 0.45 < one_time.mean() < 0.70
    # loyal regulars: dozens of modest orders
    regulars = per_customer[per_customer["size"] >= 25]
    assert len(regulars) > 100
    assert regulars["mean"].median() < 50
    # one-off big spenders: a single order far above the typical basket
    big_one_offs = per_customer[one_time & (per_customer["mean"] > 300)]
    assert 100 < len(big_one_offs) < 400


def test_returns_cancellations_guests_duplicates(demo: pd.DataFrame) -> None:
    returns = demo[demo["status"] == "retour"]
    orders = demo[demo["status"] != "retour"]
    assert (returns["bedrag"] < 0).all()
    assert (orders["bedrag"] > 0).all()
    assert 0.02 < len(returns) / len(orders) < 0.06
    # every return refers to an earlier, delivered order of the same customer
    original = orders.drop_duplicates().set_index("bestelnummer")
    source = original.loc[returns["bestelnummer"].str.removesuffix("-R")]
    assert (source["besteldatum"].to_numpy() < returns["besteldatum"].to_numpy()).all()
    assert (-returns["bedrag"].to_numpy() <= source["bedrag"].to_numpy()).all()
    assert not source["status"].eq("geannuleerd").any()
    assert 0.005 < (demo["status"] == "geannuleerd").mean() < 0.03
    assert 0.02 < demo["klantnummer"].isna().mean() < 0.08
    assert 1 <= demo.duplicated().sum() <= 5
    assert demo.loc[demo["kanaal"] == "winkel", "land"].value_counts().idxmax() == "NL"


def test_seed_controls_the_data() -> None:
    a = generate_transactions(n_customers=300, seed=7)
    b = generate_transactions(n_customers=300, seed=7)
    c = generate_transactions(n_customers=300, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["bedrag"].equals(c["bedrag"])
    assert a["klantnummer"].nunique() == 300


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="n_customers"):
        generate_transactions(n_customers=0)
    with pytest.raises(ValueError, match="before start"):
        generate_transactions(start="2024-01-01", end="2023-01-01")


def test_csv_is_a_dutch_export(tmp_path: Path) -> None:
    path = write_demo_csv(tmp_path / "sub" / "t.csv", n_customers=200, seed=3)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "bestelnummer;klantnummer;besteldatum;bedrag;kanaal;land;status"
    assert b"\r" not in path.read_bytes()
    fields = [line.split(";") for line in lines[1:]]
    assert all(len(row) == 7 for row in fields)
    dates = pd.to_datetime(pd.Series([row[2] for row in fields]), format="%d-%m-%Y")
    assert dates.min() >= pd.Timestamp("2022-01-01")
    assert all(row[3].replace("-", "").replace(",", "").isdigit() for row in fields)
    assert all(row[3][-3] == "," for row in fields)  # two decimals after a comma
    back = pd.read_csv(path, sep=";", decimal=",", dtype={"klantnummer": "Int64"})
    original = generate_transactions(n_customers=200, seed=3)
    np.testing.assert_allclose(back["bedrag"], original["bedrag"])
    assert back["klantnummer"].isna().sum() == original["klantnummer"].isna().sum()


def test_committed_file_matches_the_generator(tmp_path: Path) -> None:
    """Regenerate with: python -m clvreport.demo --out data/demo/transactions.csv"""
    out = tmp_path / "transactions.csv"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes() == COMMITTED.read_bytes()
    assert COMMITTED.stat().st_size < 3_000_000
