"""The two committed example clients: their client.yml is valid and fits their data."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from clvreport.config import list_clients, load_client, load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def test_both_examples_are_clients() -> None:
    assert {"demo", "cdnow"} <= set(list_clients(DATA))


def test_demo_config() -> None:
    cfg = load_config(DATA / "demo" / "client.yml")
    assert cfg.name == "Webwinkel De Zonnebloem B.V."
    assert (cfg.language, cfg.currency, cfg.time_unit) == ("nl", "EUR", "weeks")
    assert cfg.horizon_months == 12
    assert cfg.discount_rate == pytest.approx(0.10)
    assert cfg.gross_margin == pytest.approx(0.35)
    assert cfg.as_of is None
    assert cfg.brand == "_brand.yml"
    assert cfg.data.sources == ("transactions.csv", "campagne.csv")
    assert cfg.contacts is not None and cfg.contacts.sources == ("contacten.csv",)
    assert (cfg.data.csv.delimiter, cfg.data.csv.decimal) == (";", ",")
    assert cfg.data.csv.date_format == "%d-%m-%Y"
    assert cfg.data.columns.customer_id == "klantnummer"
    assert cfg.data.columns.amount == "bedrag"
    assert "geannuleerd" in cfg.data.policies.cancelled_statuses


def test_demo_mapping_matches_the_data() -> None:
    folder, cfg = load_client("demo", DATA)
    path = folder / cfg.data.sources[0]
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=cfg.data.csv.delimiter)
        header = next(reader)
        first = next(reader)
    mapped = {name for name in cfg.data.columns.model_dump().values() if name is not None}
    assert mapped <= set(header)
    row = dict(zip(header, first, strict=True))
    date = row[cfg.data.columns.date]
    assert re.fullmatch(r"\d{2}-\d{2}-\d{4}", date)  # matches %d-%m-%Y
    assert re.fullmatch(r"-?\d+,\d{2}", row[cfg.data.columns.amount])


def test_cdnow_config() -> None:
    cfg = load_config(DATA / "cdnow" / "client.yml")
    assert cfg.name == "CDNOW"
    assert (cfg.language, cfg.currency, cfg.time_unit) == ("nl", "USD", "weeks")
    assert cfg.gross_margin == 1.0
    assert cfg.data.sources == ("CDNOW_master.txt",)
    assert cfg.data.csv.delimiter == "whitespace"
    assert cfg.data.csv.date_format == "%Y%m%d"
    assert cfg.data.columns.quantity == "number_of_cds"
    assert cfg.data.columns.amount == "dollar_value"


def test_cdnow_master_log_is_complete() -> None:
    folder, cfg = load_client("cdnow", DATA)
    lines = (folder / cfg.data.sources[0]).read_text(encoding="ascii").splitlines()
    rows = [line.split() for line in lines]
    assert all(len(row) == 4 for row in rows)
    columns = cfg.data.columns
    # The published file has a header line naming the mapped columns.
    assert cfg.data.csv.header
    assert rows[0] == [columns.customer_id, columns.date, columns.quantity, columns.amount]
    body = rows[1:]
    assert len(body) == 69_659
    assert len({row[0] for row in body}) == 23_570
    assert min(row[1] for row in body) == "19970101"
    assert max(row[1] for row in body) == "19980630"
    assert sum(float(row[3]) for row in body) == pytest.approx(2_500_315.63)
