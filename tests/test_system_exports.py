"""Bookkeeping, donor, Magento and Lightspeed exports: init → validate → analysis, no edits.

Issue 27: the exports are generated here (:mod:`system_exports`) with the
systems' column names, statuses that are not sales, credit notes (negative,
or positive with a document type), decimal commas, cp1252, legacies and
reversed direct debits; the analysis must find exactly the customers,
purchases and revenue the generator knows. The only edit allowed is the
currency of an export that has no currency column (none here: EUR is the
default).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from system_exports import (
    INVOICE_SYSTEMS,
    donor_export,
    invoice_export,
    lightspeed_export,
    magento_export,
)
from typer.testing import CliRunner

from clvreport.analysis import run_analysis
from clvreport.cli import app
from clvreport.config import ColumnMapping, DataPolicies, load_client
from clvreport.ingest import read_transactions
from clvreport.ingest.presets import detect_source
from clvreport.validate import validate_client


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def _init(export: Path, client: str, data_dir: Path) -> dict:
    result = CliRunner().invoke(
        app, ["init", "--client", client, "--from", str(export), "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    text = (data_dir / client / "client.yml").read_text(encoding="utf-8")
    assert "«CHANGE» column" not in text and "# customer_id: «CHANGE»" not in text
    return yaml.safe_load(text)


def _analysis(client: str, data_dir: Path, truth):
    """The analysis, after asserting its customers, purchases and revenue equal the truth."""
    client_dir, config = load_client(client, data_dir)
    analysis = run_analysis(config, client_dir)
    customers = analysis.customers
    assert len(customers) == truth.customers
    assert int(customers["n_purchases"].sum()) == truth.purchases
    assert float(customers["revenue"].sum()) == pytest.approx(truth.revenue, abs=0.005)
    return analysis


def _statuses_listed(client: str, data_dir: Path, truth) -> str:
    statuses = dict(validate_client(client, data_dir=data_dir).checks)["statuses"]
    for value, rows in truth.statuses.items():
        assert f"'{value}': {rows:,} rows" in statuses
    return statuses


@pytest.mark.parametrize("system", list(INVOICE_SYSTEMS))
def test_invoice_export_from_init_to_analysis(system: str, tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / f"{system}-facturen.csv"
    truth = invoice_export(export, system)
    raw = _init(export, "bureau", data_dir)
    layout = INVOICE_SYSTEMS[system]
    data = raw["data"]
    assert data["source"] == system
    assert raw["language"] == "nl" and raw["currency"] == "EUR"
    assert data["csv"]["delimiter"] == ";" and data["csv"]["decimal"] == ","
    assert data["csv"]["encoding"] == ("cp1252" if layout.encoding == "cp1252" else "utf-8")
    assert data["columns"]["amount"] == layout.excl  # revenue excl. btw, the preset's choice
    assert data["columns"]["customer_id"] == layout.customer
    assert data["columns"]["order_id"] == layout.number
    if layout.kind:
        assert data["columns"]["document_type"] == layout.kind
    assert "creditnota" in data["policies"]["credit_notes"]
    text = (data_dir / "bureau" / "client.yml").read_text(encoding="utf-8")
    assert "# Revenue is the amount excl. btw, the preset's choice" in text
    assert f'map "{layout.incl}" instead' in text.replace("\n    # ", " ")
    if layout.status:
        statuses = _statuses_listed("bureau", data_dir, truth)
        assert "excluded (not a purchase)" in statuses
    analysis = _analysis("bureau", data_dir, truth)
    netted = analysis.quality.returns_netted
    assert netted > 0  # the credit notes of the customers who kept something
    checks = dict(validate_client("bureau", data_dir=data_dir).checks)
    assert checks["returns"].startswith(f"{netted:,} rows (negative amounts or credit notes)")


def test_exact_credit_notes_count_negative_by_their_type(tmp_path: Path) -> None:
    export = tmp_path / "facturen.csv"
    export.write_text(
        "Factuurnummer;Factuurdatum;Relatiecode;Type;Bedrag excl. btw\n"
        "1;03-01-2024;R1;Verkoopfactuur;1.200,00\n2;10-01-2024;R1;Creditnota;200,00\n"
        "3;05-01-2024;R2;Verkoopfactuur;50,00\n4;20-02-2024;R2;Verkoopfactuur;70,00\n"
        "5;21-02-2024;R2;CREDITNOTA;-20,00\n",
        encoding="cp1252",
    )
    columns = ColumnMapping(
        customer_id="Relatiecode",
        date="Factuurdatum",
        amount="Bedrag excl. btw",
        order_id="Factuurnummer",
        document_type="Type",
    )
    with read_transactions(export, columns) as tx:
        frame = tx.query(
            f"SELECT customer_id, sum(amount) AS net, count_if(NOT is_return) AS n "
            f"FROM {tx.table} GROUP BY customer_id ORDER BY customer_id"
        )
    expected = {"customer_id": ["R1", "R2"], "net": [1000.0, 100.0], "n": [1, 2]}
    assert frame.to_dict("list") == expected
    plain = DataPolicies(credit_notes=[])
    with read_transactions(export, columns, policies=plain) as tx:
        total = tx.query(f"SELECT sum(amount) AS s FROM {tx.table}")["s"].item()
    assert total == 1500.0  # without credit-note types, a positive credit note is a sale


def test_donor_export_is_discrete_with_legacies_apart(tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / "giften.csv"
    truth = donor_export(export)
    raw = _init(export, "stichting", data_dir)
    assert raw["business"] == "discrete"
    assert raw["data"]["source"] == "donor_crm"
    assert raw["data"]["columns"]["channel"] == "Soort gift"
    assert "nalatenschap" in raw["data"]["policies"]["one_off_channels"]
    assert "gestorneerd" in raw["data"]["policies"]["cancelled_statuses"]
    text = (data_dir / "stichting" / "client.yml").read_text(encoding="utf-8")
    assert "# one_off_channels: [nalatenschap]" not in text  # the preset's, not a comment
    _statuses_listed("stichting", data_dir, truth)
    analysis = _analysis("stichting", data_dir, truth)
    quality = analysis.quality
    assert truth.one_off_rows > 0
    assert quality.one_off_rows == truth.one_off_rows
    assert quality.one_off_amount == pytest.approx(truth.one_off_amount, abs=0.005)
    assert {value for value, _, _ in quality.one_off} == {"Nalatenschap"}


def test_magento_order_grid_from_init_to_analysis(tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / "export.csv"
    truth = magento_export(export)
    raw = _init(export, "magazijn", data_dir)
    data = raw["data"]
    assert data["source"] == "magento"
    assert data["columns"]["customer_id"] == "Customer Email"
    assert data["columns"]["amount"] == "Grand Total (Base)"
    assert data["columns"]["refunded"] == "Total Refunded"
    assert data["columns"]["date"] == "Purchase Date"
    assert data["csv"]["date_format"] == "%b %d, %Y %I:%M:%S %p"
    assert raw["language"] == "en"
    statuses = _statuses_listed("magazijn", data_dir, truth)
    assert "'Closed'" in statuses
    _analysis("magazijn", data_dir, truth)


def test_lightspeed_export_from_init_to_analysis(tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / "orders.csv"
    truth = lightspeed_export(export)
    raw = _init(export, "lichtwinkel", data_dir)
    data = raw["data"]
    assert data["source"] == "lightspeed"
    assert data["columns"]["status"] == "Payment status"
    assert data["columns"]["amount"] == "Grand total"
    assert data["columns"]["customer_id"] == "Customer - Email Address"
    _statuses_listed("lichtwinkel", data_dir, truth)
    _analysis("lichtwinkel", data_dir, truth)


@pytest.mark.parametrize(
    ("names", "source"),
    [
        (["Factuurnummer", "Factuurdatum", "Relatiecode", "Bedrag excl. btw"], "exact_online"),
        (["InvoiceNumber", "InvoiceDate", "OrderedBy", "AmountFCExclVat"], "exact_online"),
        (["Factuurnummer", "Factuurdatum", "Klantnummer", "Totaal excl. btw"], "moneybird"),
        (["Factuurnummer", "Relatiecode", "Datum", "TotaalExclBTW"], "eboekhouden"),
        (["Relatienummer", "Datum gift", "Bedrag", "Soort gift"], "donor_crm"),
        (["Donor ID", "Gift date", "Gift amount"], "donor_crm"),
        (["ID", "Purchase Date", "Bill-to Name", "Grand Total (Purchased)", "Status"], "magento"),
        (["Order number", "Date", "Payment status", "Customer email", "Grand total"], "lightspeed"),
        (["Relatienummer", "Datum", "Bedrag"], None),
    ],
)  # fmt: skip
def test_exports_recognised_by_their_headers(names: list[str], source: str | None) -> None:
    assert detect_source(names) == source


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            ["Relatienummer", "Naam", "Datum", "Factuurdatum", "Totaal excl. btw",
             "Totaal incl. btw", "Status"],
            {"customer_id": "Relatienummer", "date": "Factuurdatum",
             "amount": "Totaal excl. btw", "status": "Status"},
        ),
        (
            ["Debiteurnummer", "Debiteur", "Boekdatum", "Factuurdatum", "Bedrag excl. BTW",
             "Bedrag incl. BTW", "Soort factuur"],
            {"customer_id": "Debiteurnummer", "date": "Factuurdatum",
             "amount": "Bedrag excl. BTW", "document_type": "Soort factuur"},
        ),
        (
            ["Relatiecode", "Klant", "Datum", "Omschrijving", "Bedrag"],
            {"customer_id": "Relatiecode", "date": "Datum", "amount": "Bedrag"},
        ),
    ],
)  # fmt: skip
def test_dutch_headers_without_a_preset(names: list[str], expected: dict[str, str]) -> None:
    """The invoice date before a generic Datum, the amount excl. btw before incl., the
    relation number before a name column (Klant, Debiteur)."""
    from clvreport.onboarding import guess_columns

    assert detect_source(names) is None
    assert guess_columns(names) == expected
