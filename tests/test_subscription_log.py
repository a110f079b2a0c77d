"""The subscription log is read by the common ingest: sheets, encodings, policies, its file.

Every export shape (a workbook with a cover sheet, a cp1252 CSV) must give the
same subscriptions as the plain CSV it was made from; the client's
``data.policies`` apply to the client's own rows, and the data-quality counts
name the client's file and its rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from clvreport.analysis import run_analysis
from clvreport.config import load_client
from clvreport.errors import DataError
from clvreport.subscription_log import contract_mapping, load_subscriptions, read_contracts
from tests.subscription_exports import (
    COVER,
    EXAMPLE,
    SHEET,
    example_contracts,
    write_cp1252_csv,
    write_xlsx_with_cover,
)

N = 800
COMPARED = ["customer_id", "spell", "cohort", "start", "end", "renewals", "active", "price"]


def _plain_csv(folder: Path, rows: list[str] | None = None, n: int = N) -> Path:
    """The example's first ``n`` contracts as the example writes them, plus ``rows``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (EXAMPLE / "abonnementen.csv").read_text(encoding="utf-8").splitlines()[: n + 1]
    (folder / "abonnementen.csv").write_text("\n".join([*lines, *(rows or [])]) + "\n")
    config = yaml.safe_load((EXAMPLE / "client.yml").read_text(encoding="utf-8"))
    config.pop("brand", None)
    (folder / "client.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "abonnementen.csv"


def _read(folder: Path, as_of: dt.date | None = None) -> pd.DataFrame:
    client_dir, config = load_client(folder.name, folder.parent)
    return read_contracts(config, client_dir, as_of)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("logs") / "plain"
    _plain_csv(folder)
    return _read(folder)


def test_the_mapping_reads_start_price_end_and_plan():
    _, config = load_client("abonnement", EXAMPLE.parent)
    mapping = contract_mapping(config)
    assert (mapping.customer_id, mapping.date, mapping.amount) == (
        "klantnummer",
        "startdatum",
        "prijs_per_periode",
    )
    assert mapping.extra == ("einddatum", "abonnement")


def test_plain_csv_by_hand(plain):
    raw = example_contracts(N)
    assert len(plain) == N and set(plain["customer_id"]) == set(raw["klantnummer"])
    by_id = plain.set_index("customer_id")
    # 500001: 01-01-2021 to 01-02-2021, ends on its first renewal date: no renewal
    assert by_id.loc["500001", ["renewals", "active"]].tolist() == [0, False]
    # 500002: to 01-03-2021: renewed once; 500003: running at 2024-12-31 (47 renewals)
    assert by_id.loc["500002", "renewals"] == 1
    assert by_id.loc["500003", ["renewals", "active"]].tolist() == [47, True]
    prices = raw.set_index("klantnummer")["prijs_per_periode"].str.replace(",", ".")
    np.testing.assert_allclose(by_id["price"], prices.astype(float).loc[by_id.index])
    assert plain.attrs["as_of"] == "2024-12-31"


def test_xlsx_with_a_cover_sheet_reads_the_named_sheet(tmp_path, plain):
    path = write_xlsx_with_cover(tmp_path / "xlsx")
    contracts = _read(tmp_path / "xlsx")
    pd.testing.assert_frame_equal(
        contracts[COMPARED].reset_index(drop=True), plain[COMPARED].reset_index(drop=True)
    )
    assert contracts["plan"].tolist() == plain["plan"].tolist()
    quality = contracts.attrs["quality"]
    assert [f.path for f in quality.files] == [path.resolve()]
    assert (quality.rows_read, quality.rows_kept, quality.excluded_rows) == (N, N, 0)


def test_xlsx_with_a_cover_sheet_and_no_sheet_set_names_the_sheet_to_set(tmp_path):
    write_xlsx_with_cover(tmp_path / "xlsx", sheet=None)
    with pytest.raises(DataError) as caught:
        _read(tmp_path / "xlsx")
    message = str(caught.value)
    assert f"the first sheet ('{COVER}') does not hold the mapped columns" in message
    assert f"data.excel.sheet: '{SHEET}'" in message


def test_cp1252_semicolon_csv(tmp_path, plain):
    write_cp1252_csv(tmp_path / "win")
    contracts = _read(tmp_path / "win")
    pd.testing.assert_frame_equal(
        contracts[COMPARED].reset_index(drop=True), plain[COMPARED].reset_index(drop=True)
    )
    expected = plain["plan"].map({"duobox": "duobox café", "gezinsbox": "gezinsbox crème"})
    assert contracts["plan"].tolist() == expected.tolist()
    assert contracts.attrs["quality"].files[0].encoding == "cp1252"


def test_policies_apply_to_the_clients_rows(tmp_path, plain):
    raw = (EXAMPLE / "abonnementen.csv").read_text(encoding="utf-8").splitlines()
    extra = [
        raw[1],  # the first contract exported twice: duplicates: drop
        ";duobox;01-03-2022;;159,95",  # no customer number: missing_customer: exclude
        "599999;duobox;01-01-2025;;159,95",  # starts after as_of
    ]
    _plain_csv(tmp_path / "policies", extra)
    contracts = _read(tmp_path / "policies")
    quality = contracts.attrs["quality"]
    excluded = dict(quality.excluded)
    assert quality.rows_read == N + 3
    assert (excluded["duplicate"], excluded["missing_customer_id"]) == (1, 1)
    assert excluded["after_as_of"] == 1
    assert quality.rows_kept == N == len(contracts)
    assert quality.customers == N
    pd.testing.assert_frame_equal(contracts[COMPARED], plain[COMPARED])


def test_no_shop_warnings_on_contracts(plain):
    quality = plain.attrs["quality"]
    assert "no_repeat_customers" not in quality.warnings
    assert "as_of_after_data" not in dict(quality.flagged)
    # subscribers who paid more than once: renewed at least once
    assert quality.repeat_customers == int((plain["renewals"] > 0).sum())


def test_an_unreadable_end_date_names_the_customer_and_column(tmp_path):
    _plain_csv(tmp_path / "bad", ["599998;duobox;01-03-2022;31-02-2023;159,95"])
    with pytest.raises(DataError) as caught:
        _read(tmp_path / "bad")
    assert "customer 599998: cannot read '31-02-2023' in column 'einddatum'" in str(caught.value)


def test_the_payments_are_derived_in_the_engine(tmp_path):
    write_xlsx_with_cover(tmp_path / "xlsx", n=200)
    client_dir, config = load_client("xlsx", tmp_path)
    contracts, payments = load_subscriptions(config, client_dir)
    with payments:
        table = payments.query(
            f"SELECT customer_id, count(*) AS n, sum(amount) AS paid, min(channel) AS plan "
            f"FROM {payments.table} GROUP BY customer_id"
        ).set_index("customer_id")
        assert payments.as_of == dt.date(2024, 12, 31)
        assert payments.quality.files[0].path.name == "abonnementen.xlsx"
    by_id = contracts.set_index("customer_id")
    np.testing.assert_array_equal(table.loc[by_id.index, "n"], by_id["renewals"] + 1)
    np.testing.assert_allclose(
        table.loc[by_id.index, "paid"], (by_id["renewals"] + 1) * by_id["price"]
    )
    assert (table.loc[by_id.index, "plan"] == by_id["plan"]).all()


def test_the_report_on_an_xlsx_log_with_a_cover_counts_the_clients_rows(tmp_path):
    path = write_xlsx_with_cover(tmp_path / "xlsx")
    client_dir, config = load_client("xlsx", tmp_path)
    analysis = run_analysis(config, client_dir)
    assert [f.path for f in analysis.quality.files] == [path.resolve()]
    assert analysis.quality.rows_read == N == len(analysis.subscribers.contracts)
    assert analysis.as_of == dt.date(2024, 12, 31)
    assert analysis.model.usable


def test_the_clients_extra_columns_reach_the_customer_table(tmp_path):
    folder = tmp_path / "extra"
    folder.mkdir()
    raw = example_contracts(200)
    raw["email"] = [f"klant{i}@example.nl" for i in raw["klantnummer"]]
    raw.to_csv(folder / "abonnementen.csv", sep=";", index=False)
    config = yaml.safe_load((EXAMPLE / "client.yml").read_text(encoding="utf-8"))
    config.pop("brand", None)
    config["data"]["columns"]["extra"] = ["email", "abonnement"]
    (folder / "client.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    client_dir, loaded = load_client("extra", tmp_path)
    assert contract_mapping(loaded).extra == ("email", "abonnement", "einddatum")
    contracts, payments = load_subscriptions(loaded, client_dir)
    with payments:
        found = payments.customer_attributes().set_index("customer_id")
    assert list(found.columns) == ["email", "abonnement"]
    expected = raw.set_index("klantnummer")
    assert (found["email"] == expected.loc[found.index, "email"]).all()
    assert (found["abonnement"] == expected.loc[found.index, "abonnement"]).all()
    assert contracts["plan"].tolist() == _plans(contracts, expected)


def _plans(contracts: pd.DataFrame, raw: pd.DataFrame) -> list[str]:
    return raw.loc[contracts["customer_id"], "abonnement"].tolist()
