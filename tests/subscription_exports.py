"""Subscription logs as clients export them, built from the shipped abonnement example.

Each writer takes the first ``n`` contracts of ``data/abonnement/abonnementen.csv``
and writes them in another shape: an Excel workbook whose first sheet is a
cover note (``Toelichting``) and whose second holds the contracts with real date
cells, or a Windows (cp1252) semicolon CSV with accented plan names. The
client.yml written next to it is the example's, with the file and reading
options changed. The truth is the contracts written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import yaml

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLE = DATA / "abonnement"
COVER = "Toelichting"
SHEET = "Contracten"


def example_contracts(n: int) -> pd.DataFrame:
    """The first ``n`` contracts of the abonnement example, as text."""
    frame = pd.read_csv(
        EXAMPLE / "abonnementen.csv", sep=";", dtype=str, keep_default_na=False, nrows=n
    )
    return frame


def _config(data: dict) -> dict:
    config = yaml.safe_load((EXAMPLE / "client.yml").read_text(encoding="utf-8"))
    config.pop("brand", None)
    config["data"] = {**config["data"], **data}
    return config


def _write_config(folder: Path, config: dict) -> None:
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    (folder / "client.yml").write_text(text, encoding="utf-8")


def _day(text: str) -> dt.date | None:
    return dt.datetime.strptime(text, "%d-%m-%Y").date() if text else None


def write_xlsx_with_cover(folder: Path, n: int = 800, *, sheet: str | None = SHEET) -> Path:
    """A workbook: a cover note first, the contracts (date cells, number prices) second.

    ``sheet`` is written to ``data.excel.sheet`` (``None``: left out).
    """
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    contracts = example_contracts(n)
    book = Workbook()
    cover = book.active
    cover.title = COVER
    cover.append(["Toelichting"])
    cover.append(["Export van alle abonnementen; einddatum leeg = loopt nog."])
    data = book.create_sheet(SHEET)
    data.append(list(contracts.columns))
    for row in contracts.itertuples(index=False):
        data.append(
            [
                row.klantnummer,
                row.abonnement,
                _day(row.startdatum),
                _day(row.einddatum),
                float(row.prijs_per_periode.replace(",", ".")),
            ]
        )
    path = folder / "abonnementen.xlsx"
    book.save(path)
    excel = {"sheet": sheet} if sheet is not None else {}
    config = _config({"sources": [path.name], "format": "excel", "excel": excel})
    config["data"].pop("csv")
    _write_config(folder, config)
    return path


def write_cp1252_csv(folder: Path, n: int = 800) -> Path:
    """A Windows export: cp1252, ``;``, decimal comma, plan names with accents."""
    folder.mkdir(parents=True, exist_ok=True)
    contracts = example_contracts(n)
    contracts["abonnement"] = contracts["abonnement"].map(
        {"duobox": "duobox café", "gezinsbox": "gezinsbox crème"}
    )
    path = folder / "abonnementen.csv"
    path.write_bytes(contracts.to_csv(sep=";", index=False).encode("cp1252"))
    config = _config({"sources": [path.name]})
    config["data"]["csv"] = {**config["data"]["csv"], "encoding": "auto"}
    _write_config(folder, config)
    return path
