"""Tests of the synthetic charity donations (clvreport.demo_donors) and its example client."""

from __future__ import annotations

import csv
import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from clvreport.brand import load_brand
from clvreport.config import load_client
from clvreport.demo_donors import (
    BGBB_PARAMS,
    COLUMNS,
    generate_donations,
    main,
    write_donations_csv,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data"
COMMITTED = EXAMPLES / "goededoel" / "donaties.csv"
AS_OF = pd.Timestamp("2024-12-31")


@pytest.fixture(scope="module")
def gifts() -> pd.DataFrame:
    return generate_donations()


@pytest.fixture(scope="module")
def giving_years(gifts: pd.DataFrame) -> pd.DataFrame:
    """One row per donor and year with a gift: ``k`` years after the acquisition year."""
    years = pd.DataFrame(
        {"donor": gifts["donateurnummer"], "year": gifts["datum"].dt.year}
    ).drop_duplicates()
    first = years.groupby("donor")["year"].transform("min")
    return years.assign(first=first, k=years["year"] - first)


def bgbb_share_giving(k: int) -> float:
    """P(a donor gives in year k after acquisition) = E[p] * E[(1 - theta)^k]."""
    a, b, g, d = (BGBB_PARAMS[name] for name in ("alpha", "beta", "gamma", "delta"))
    return a / (a + b) * float(np.exp(betaln(g, d + k) - betaln(g, d)))


def test_columns_and_types(gifts: pd.DataFrame) -> None:
    assert tuple(gifts.columns) == COLUMNS
    assert pd.api.types.is_integer_dtype(gifts["donateurnummer"])
    assert pd.api.types.is_datetime64_any_dtype(gifts["datum"])
    assert set(gifts["kanaal"]) == {"machtiging", "ideal", "acceptgiro", "collecte"}
    pattern = r"(eindejaarsactie|voorjaarsactie|collecte)-20\d\d|machtiging|algemeen"
    assert gifts["campagne"].str.fullmatch(pattern).all()
    assert gifts["datum"].is_monotonic_increasing


def test_donors_cohorts_and_dates(gifts: pd.DataFrame, giving_years: pd.DataFrame) -> None:
    assert gifts["donateurnummer"].nunique() == 8000
    assert 15_000 < len(gifts) < 35_000
    cohorts = giving_years.groupby("donor")["first"].first().value_counts().sort_index()
    assert cohorts.index.tolist() == list(range(2017, 2025))
    assert cohorts.between(600, 1400).all()
    assert cohorts.nunique() == 8  # cohorts of different sizes
    assert gifts["datum"].min() >= pd.Timestamp("2017-01-01")
    assert gifts["datum"].max() <= AS_OF
    # donor numbers are handed out in order of the first gift
    first = gifts.groupby("donateurnummer")["datum"].min()
    assert first.is_monotonic_increasing


def test_amounts(gifts: pd.DataFrame) -> None:
    amount = gifts["bedrag"]
    assert (amount > 0).all()
    assert 35 <= amount.median() <= 50
    typical = gifts.groupby("donateurnummer")["bedrag"].mean()
    assert 35 <= typical.median() <= 50
    assert 20 <= (typical >= 250).sum() <= 300  # a few large donors
    assert np.allclose(amount, amount.round(0))  # people give whole euros
    collecte = gifts["kanaal"] == "collecte"
    assert amount[collecte].median() < amount[~collecte].median()


def test_one_or_two_gifts_in_a_giving_year(gifts: pd.DataFrame) -> None:
    per_year = gifts.groupby(["donateurnummer", gifts["datum"].dt.year]).size()
    assert set(per_year) == {1, 2}
    assert 0.10 < (per_year == 2).mean() < 0.25


def test_channels_and_campaigns(gifts: pd.DataFrame) -> None:
    # Acceptgiro's were processed until 31 May 2019.
    assert gifts.loc[gifts["kanaal"] == "acceptgiro", "datum"].max() < pd.Timestamp("2019-06-01")
    # A machtiging debits the same amount on the same day of the year.
    debits = gifts[gifts["kanaal"] == "machtiging"]
    per_donor = debits.groupby("donateurnummer").agg(
        amounts=("bedrag", "nunique"),
        days=("datum", lambda d: d.dt.strftime("%m-%d").nunique()),
    )
    assert (per_donor["amounts"] == 1).all() and (per_donor["days"] == 1).all()
    assert (debits["campagne"] == "machtiging").all()
    collecte = gifts[gifts["kanaal"] == "collecte"]
    assert (collecte["datum"].dt.month == 6).all()
    # December (year-end appeal) and April (spring campaign) are the peaks, summer the dip.
    by_month = gifts.groupby(gifts["datum"].dt.month).size()
    assert by_month.idxmax() == 12
    assert by_month[4] > by_month[[1, 2, 5, 9, 10]].max()
    assert by_month[[7, 8]].max() < by_month.mean()
    december = gifts[gifts["datum"].dt.month == 12]
    assert (
        december["campagne"].str.startswith("eindejaarsactie")
        | december["kanaal"].isin(["machtiging", "collecte"])
    ).all()


def test_giving_again_follows_bgbb(giving_years: pd.DataFrame) -> None:
    donors = giving_years.groupby("donor")["first"].first()
    observed = []
    for k in range(1, 8):
        eligible = int((donors <= AS_OF.year - k).sum())  # donors with a k-th opportunity
        gave = int((giving_years["k"] == k).sum())
        share = gave / eligible
        expected = bgbb_share_giving(k)
        se = np.sqrt(expected * (1 - expected) / eligible)
        assert abs(share - expected) < 4 * se, (k, share, expected)
        observed.append(share)
    assert all(later < earlier for earlier, later in pairwise(observed))
    assert bgbb_share_giving(1) == pytest.approx(0.4985, abs=1e-4)


def test_seed_controls_the_data() -> None:
    a = generate_donations(n_donors=400, first_year=2020, seed=7)
    b = generate_donations(n_donors=400, first_year=2020, seed=7)
    c = generate_donations(n_donors=400, first_year=2020, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["bedrag"].equals(c["bedrag"])
    assert a["donateurnummer"].nunique() == 400
    assert sorted(a["datum"].dt.year.unique()) == [2020, 2021, 2022, 2023, 2024]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="n_donors"):
        generate_donations(n_donors=3)
    with pytest.raises(ValueError, match="before first_year"):
        generate_donations(first_year=2024, last_year=2023)


def test_csv_is_a_dutch_export(tmp_path: Path) -> None:
    path = write_donations_csv(tmp_path / "sub" / "d.csv", n_donors=300, seed=3)
    again = write_donations_csv(tmp_path / "again.csv", n_donors=300, seed=3)
    assert path.read_bytes() == again.read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "donateurnummer;datum;bedrag;kanaal;campagne"
    assert b"\r" not in path.read_bytes()
    fields = [line.split(";") for line in lines[1:]]
    assert all(len(row) == 5 for row in fields)
    assert all(re.fullmatch(r"\d{2}-\d{2}-\d{4}", row[1]) for row in fields)
    assert all(re.fullmatch(r"\d+,\d{2}", row[2]) for row in fields)
    back = pd.read_csv(path, sep=";", decimal=",")
    original = generate_donations(n_donors=300, seed=3)
    np.testing.assert_allclose(back["bedrag"], original["bedrag"])
    dates = pd.to_datetime(back["datum"], format="%d-%m-%Y")
    assert (dates == original["datum"]).all()


def test_committed_file_matches_the_generator(tmp_path: Path) -> None:
    """Regenerate with: python -m clvreport.demo_donors --out <COMMITTED>"""
    out = tmp_path / "donaties.csv"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes() == COMMITTED.read_bytes()
    assert COMMITTED.stat().st_size < 2_000_000


def test_example_client_config() -> None:
    folder, cfg = load_client("goededoel", data_dir=EXAMPLES)
    assert cfg.name == "Stichting Zonnestraal"
    assert (cfg.business, cfg.discrete.period) == ("discrete", "year")
    assert (cfg.language, cfg.currency, cfg.gross_margin) == ("nl", "EUR", 1.0)
    assert str(cfg.as_of) == "2024-12-31"
    assert cfg.data.sources == ("donaties.csv",)
    with (folder / cfg.data.sources[0]).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=cfg.data.csv.delimiter)
        header = next(reader)
        row = dict(zip(header, next(reader), strict=True))
    mapped = {name for name in cfg.data.columns.model_dump().values() if name is not None}
    assert mapped <= set(header)
    assert pd.to_datetime(row[cfg.data.columns.date], format=cfg.data.csv.date_format)
    assert re.fullmatch(r"\d+,\d{2}", row[cfg.data.columns.amount])
    brand = load_brand(folder, cfg.brand)
    assert brand.name == "Stichting Zonnestraal"
    assert brand.logo is not None and brand.logo.is_file()
