"""Tests of the synthetic subscriptions (clvreport.demo_subscriptions) and its example client."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from clvreport.brand import load_brand
from clvreport.config import load_client, load_config
from clvreport.demo_subscriptions import (
    COLUMNS,
    LIST_PRICES,
    PLANS,
    SBG_PARAMS,
    generate_subscriptions,
    main,
    write_subscriptions_csv,
)
from clvreport.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data"
COMMITTED = EXAMPLES / "abonnement" / "abonnementen.csv"
AS_OF = pd.Timestamp("2024-12-31")


@pytest.fixture(scope="module")
def contracts() -> pd.DataFrame:
    return generate_subscriptions()


def sbg_survival(plan: str, k: int) -> float:
    """S(k) = B(alpha, beta + k) / B(alpha, beta): share still subscribed after k periods."""
    a, b = SBG_PARAMS[plan]["alpha"], SBG_PARAMS[plan]["beta"]
    return float(np.exp(betaln(a, b + k) - betaln(a, b)))


def test_columns_and_types(contracts: pd.DataFrame) -> None:
    assert tuple(contracts.columns) == COLUMNS
    assert pd.api.types.is_integer_dtype(contracts["klantnummer"])
    assert contracts["klantnummer"].is_unique
    assert pd.api.types.is_datetime64_any_dtype(contracts["startdatum"])
    assert pd.api.types.is_datetime64_any_dtype(contracts["einddatum"])
    assert set(contracts["abonnement"]) == set(PLANS)
    # customer numbers are handed out in order of the start date
    assert contracts["startdatum"].is_monotonic_increasing
    assert contracts["klantnummer"].is_monotonic_increasing


def test_monthly_cohorts(contracts: pd.DataFrame) -> None:
    per_month = contracts.groupby(contracts["startdatum"].dt.to_period("M")).size()
    assert per_month.index.min() == pd.Period("2021-01", "M")
    assert per_month.index.max() == pd.Period("2024-12", "M")
    assert per_month.size == 48
    assert per_month.between(100, 300).all()
    assert 7_000 < len(contracts) < 11_000
    assert contracts["startdatum"].dt.day.between(1, 28).all()
    by_year = contracts["startdatum"].dt.year.value_counts()
    assert by_year[2024] > by_year[2021]  # the service grows
    share = (contracts["abonnement"] == "duobox").mean()
    assert 0.55 < share < 0.65


def test_dates_and_censoring(contracts: pd.DataFrame) -> None:
    start, end = contracts["startdatum"], contracts["einddatum"]
    assert start.max() <= AS_OF
    ended = end.notna()
    assert (end[ended] <= AS_OF).all()
    assert (end[ended] > start[ended]).all()
    # an end date lies a whole number of months after the start
    assert (end[ended].dt.day == start[ended].dt.day).all()
    assert 0.15 < (~ended).mean() < 0.40
    # contracts started in the last month cannot have ended yet
    assert not ended[start > AS_OF - pd.DateOffset(months=1)].any()


def test_survival_follows_sbg_per_plan(contracts: pd.DataFrame) -> None:
    for plan in PLANS:
        plan_rows = contracts[contracts["abonnement"] == plan]
        survival = []
        for k in range(1, 13):
            horizon = plan_rows["startdatum"] + pd.DateOffset(months=k)
            observed = horizon <= AS_OF  # contracts that could have been in k periods
            alive = plan_rows["einddatum"].isna() | (plan_rows["einddatum"] > horizon)
            share = alive[observed].mean()
            expected = sbg_survival(plan, k)
            se = np.sqrt(expected * (1 - expected) / observed.sum())
            assert abs(share - expected) < 4 * se, (plan, k, share, expected)
            survival.append(share)
        assert all(np.diff(survival) < 0)
    # the family box keeps its subscribers longer
    assert sbg_survival("gezinsbox", 12) > 2 * sbg_survival("duobox", 12)


def test_prices_are_the_list_price_of_the_start_year(contracts: pd.DataFrame) -> None:
    for plan in PLANS:
        rows = contracts[contracts["abonnement"] == plan]
        expected = np.array(LIST_PRICES[plan])[rows["startdatum"].dt.year - 2021]
        np.testing.assert_allclose(rows["prijs_per_periode"], expected)
    assert (contracts["prijs_per_periode"] > 0).all()


def test_seed_controls_the_data() -> None:
    a = generate_subscriptions("2023-01", "2024-12", seed=7)
    b = generate_subscriptions("2023-01", "2024-12", seed=7)
    c = generate_subscriptions("2023-01", "2024-12", seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["startdatum"].equals(c["startdatum"])
    with pytest.raises(ValueError, match="before first_month"):
        generate_subscriptions("2024-06", "2024-01")


def test_csv_is_a_dutch_export(tmp_path: Path) -> None:
    path = write_subscriptions_csv(tmp_path / "sub" / "a.csv", first_month="2024-01", seed=3)
    again = write_subscriptions_csv(tmp_path / "again.csv", first_month="2024-01", seed=3)
    assert path.read_bytes() == again.read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "klantnummer;abonnement;startdatum;einddatum;prijs_per_periode"
    assert b"\r" not in path.read_bytes()
    fields = [line.split(";") for line in lines[1:]]
    assert all(len(row) == 5 for row in fields)
    assert all(re.fullmatch(r"\d{2}-\d{2}-\d{4}", row[2]) for row in fields)
    assert all(re.fullmatch(r"(\d{2}-\d{2}-\d{4})?", row[3]) for row in fields)
    assert all(re.fullmatch(r"\d+,\d{2}", row[4]) for row in fields)
    original = generate_subscriptions(first_month="2024-01", seed=3)
    assert sum(row[3] == "" for row in fields) == original["einddatum"].isna().sum() > 0
    back = pd.read_csv(path, sep=";", decimal=",", dtype={"einddatum": str})
    np.testing.assert_allclose(back["prijs_per_periode"], original["prijs_per_periode"])
    end = pd.to_datetime(back["einddatum"], format="%d-%m-%Y")
    pd.testing.assert_series_equal(end, original["einddatum"], check_names=False)


def test_committed_file_matches_the_generator(tmp_path: Path) -> None:
    """Regenerate with: python -m clvreport.demo_subscriptions --out <COMMITTED>"""
    out = tmp_path / "abonnementen.csv"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes() == COMMITTED.read_bytes()
    assert COMMITTED.stat().st_size < 1_000_000


def test_example_client_config() -> None:
    folder, cfg = load_client("abonnement", data_dir=EXAMPLES)
    assert cfg.name == "Verse Week B.V."
    assert cfg.business == "subscription"
    sub = cfg.subscription
    assert (sub.start, sub.end, sub.period) == ("startdatum", "einddatum", "month")
    assert (sub.plan, sub.price) == ("abonnement", "prijs_per_periode")
    assert (cfg.language, cfg.currency) == ("nl", "EUR")
    assert 0 < cfg.gross_margin < 1
    assert str(cfg.as_of) == "2024-12-31"
    columns = cfg.data.columns
    assert (columns.date, columns.amount) == (sub.start, sub.price)
    with (folder / cfg.data.sources[0]).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=cfg.data.csv.delimiter)
        header = next(reader)
        row = dict(zip(header, next(reader), strict=True))
    mapped = {name for name in columns.model_dump().values() if name is not None}
    assert mapped | {sub.start, sub.end, sub.plan, sub.price} <= set(header)
    assert pd.to_datetime(row[sub.start], format=cfg.data.csv.date_format)
    assert re.fullmatch(r"\d+,\d{2}", row[sub.price])
    brand = load_brand(folder, cfg.brand)
    assert brand.name == "Verse Week"
    assert brand.logo is not None and brand.logo.is_file()


BASE = """\
name: Voorbeeld B.V.
data:
  sources: contracten.csv
  columns: {customer_id: klant, date: start, amount: prijs}
"""


def test_business_defaults_keep_existing_clients_valid(tmp_path: Path) -> None:
    path = tmp_path / "client.yml"
    path.write_text(BASE, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.business == "transactions"
    assert cfg.discrete.period == "year"
    assert (cfg.subscription.start, cfg.subscription.end) == (None, None)
    assert cfg.subscription.period == "month"
    assert load_config(ROOT / "data" / "demo" / "client.yml").business == "transactions"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "business: subscription\n",
            "business: subscription needs subscription.start and subscription.end",
        ),
        (
            "business: subscription\nsubscription: {start: start}\n",
            "business: subscription needs subscription.end:",
        ),
        (
            "business: subscription\nsubscription: {start: start, end: Start}\n",
            "subscription.start and subscription.end both name the column 'start'",
        ),
        (
            "business: subscription\nsubscription: {start: start, end: eind, period: week}\n",
            "subscription.period: Input should be 'month', 'quarter' or 'year'",
        ),
        ("business: donors\n", "business: Input should be 'transactions', 'discrete'"),
        ("discrete: {period: week}\n", "discrete.period: Input should be 'year'"),
        ("discrete: {periode: year}\n", "discrete.periode: unknown key; did you mean 'period'?"),
    ],
)
def test_business_keys_are_validated(tmp_path: Path, extra: str, expected: str) -> None:
    path = tmp_path / "client.yml"
    path.write_text(BASE + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_subscription_config_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "client.yml"
    path.write_text(
        BASE + "business: subscription\nsubscription: {start: start, end: eind, period: year}\n",
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert (cfg.subscription.start, cfg.subscription.end) == ("start", "eind")
    assert cfg.subscription.period == "year"
    assert cfg.subscription.plan is None and cfg.subscription.price is None
