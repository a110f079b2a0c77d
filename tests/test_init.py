"""``clvreport init``: a new client from an export, with a client.yml that validates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clvreport.analysis import run_analysis
from clvreport.cli import app
from clvreport.config import DataPolicies, load_client
from clvreport.onboarding import guess_columns, init_client
from clvreport.validate import validate_client

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = Path(__file__).parent / "fixtures" / "exports"
DEMO = ROOT / "data" / "demo" / "transactions.csv"
CDNOW = ROOT / "data" / "cdnow" / "CDNOW_master.txt"


def run(*args: str | Path):
    return CliRunner().invoke(app, ["init", *map(str, args)])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


# export, expected csv options (None: no csv block), expected mapping, unplaced columns
CASES = {
    "demo": (
        DEMO,
        {"delimiter": ";", "decimal": ",", "encoding": "utf-8", "date_format": "%d-%m-%Y"},
        {
            "customer_id": "klantnummer",
            "date": "besteldatum",
            "amount": "bedrag",
            "order_id": "bestelnummer",
            "channel": "kanaal",
            "country": "land",
            "status": "status",
        },
        [],
    ),
    "cdnow": (
        CDNOW,
        {"delimiter": "whitespace", "decimal": ".", "encoding": "utf-8", "date_format": "%Y%m%d"},
        {
            "customer_id": "customer_id",
            "date": "date",
            "amount": "dollar_value",
            "quantity": "number_of_cds",
        },
        [],
    ),
    "dutch": (
        EXPORTS / "bestellingen_nl.csv",
        {"delimiter": ";", "decimal": ",", "encoding": "cp1252", "date_format": "%d-%m-%Y"},
        {
            "customer_id": "Klant-ID",
            "date": "Orderdatum",
            "amount": "Totaal",
            "order_id": "Ordernummer",
            "country": "Land",
        },
        ["Opmerking"],
    ),
    "us": (
        EXPORTS / "orders_us.csv",
        {"delimiter": ",", "decimal": ".", "encoding": "utf-8", "date_format": "%m/%d/%Y"},
        {
            "customer_id": "Customer ID",
            "date": "Order Date",
            "order_id": "Order ID",
            "quantity": "Quantity",
            "unit_price": "Unit Price",
            "status": "Status",
        },
        [],
    ),
    "excel": (
        EXPORTS / "orders.xlsx",
        None,
        {
            "customer_id": "Klantnummer",
            "date": "Besteldatum",
            "amount": "Bedrag",
            "channel": "Kanaal",
            "status": "Status",
        },
        ["Referentie"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_init_writes_a_client_that_validates(case: str, data_dir: Path) -> None:
    export, csv, columns, unplaced = CASES[case]
    result = run("--client", f"new-{case}", "--from", export, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    folder = data_dir / f"new-{case}"
    assert (folder / export.name).read_bytes() == export.read_bytes()
    assert {"client.yml", export.name} <= {p.name for p in folder.iterdir()}
    assert not (folder / "_brand.yml").exists() and not (folder / "logo.svg").exists()
    text = (folder / "client.yml").read_text(encoding="utf-8")
    assert "# detected — check" in text and "«CHANGE»" in text
    for column in columns.values():
        line = next(line for line in text.splitlines() if f'"{column}"' in line)
        assert "# detected — check" in line
    _, config = load_client(f"new-{case}", data_dir)
    assert config.data.sources == (export.name,)
    mapped = {k: v for k, v in config.data.columns.model_dump().items() if v is not None}
    assert mapped == columns
    if csv is not None:
        got = config.data.csv
        assert (got.delimiter, got.decimal, got.encoding, got.date_format) == tuple(csv.values())
    else:
        assert config.data.format == "excel"
        assert config.data.excel.sheet == "Bestellingen"  # the first sheet is a cover sheet
    assert validate_client(f"new-{case}", data_dir=data_dir).checks[-1][0] == "transactions"
    for name in unplaced:
        assert name in result.output and f"Not placed: {name}" in text
    assert "make report" not in result.output  # the command, with the same --data-dir
    output = " ".join(result.output.split())
    assert f"clvreport report --client new-{case} --data-dir {data_dir}" in output


@pytest.mark.parametrize("case", ["demo", "dutch", "excel"])
def test_init_client_runs_the_analysis_without_edits(case: str, data_dir: Path) -> None:
    export = CASES[case][0]
    init_client(case, [export], data_dir=data_dir)
    client_dir, config = load_client(case, data_dir)
    analysis = run_analysis(config, client_dir)
    assert analysis.model.model_name


def test_a_new_client_has_a_neutral_brand_and_validate_says_so(data_dir: Path) -> None:
    from clvreport.brand import load_brand

    init_client("acme", [EXPORTS / "orders_us.csv"], data_dir=data_dir)
    brand = load_brand(data_dir / "acme")
    assert brand.is_default and brand.logo is None and brand.header_logo is None
    checks = dict(validate_client("acme", data_dir=data_dir).checks)
    assert checks["brand"] == "default (no _brand.yml; add one for the client's colours and logo)"
    assert "#1B3A5C" not in checks["brand"]


def test_several_exports(data_dir: Path, tmp_path: Path) -> None:
    lines = DEMO.read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = tmp_path / "2022-2023.csv", tmp_path / "2024.csv"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    second.write_text(lines[0] + "".join(lines[len(lines) // 2 :]), encoding="utf-8")
    result = run("--client", "two", "--from", first, "--from", second, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    _, config = load_client("two", data_dir)
    assert config.data.sources == ("2022-2023.csv", "2024.csv")
    quality = validate_client("two", data_dir=data_dir)
    assert "22,092 rows" in quality.checks[-1][1]


def test_refuses_an_existing_client(data_dir: Path) -> None:
    assert run("--client", "acme", "--from", DEMO, "--data-dir", data_dir).exit_code == 0
    config = data_dir / "acme" / "client.yml"
    config.write_text(config.read_text() + "# my edits\n")
    before = sorted(p.name for p in (data_dir / "acme").iterdir())
    result = run("--client", "acme", "--from", CDNOW, "--data-dir", data_dir)
    assert result.exit_code == 2
    assert "client 'acme' already exists" in result.output
    assert "Traceback" not in result.output
    assert config.read_text().endswith("# my edits\n")
    assert sorted(p.name for p in (data_dir / "acme").iterdir()) == before


def test_an_existing_folder_with_the_export_in_it(data_dir: Path) -> None:
    folder = data_dir / "acme"
    folder.mkdir()
    shutil.copy(DEMO, folder / "orders.csv")
    result = run("--client", "acme", "--from", folder / "orders.csv", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    (folder / "client.yml").unlink()
    # Never overwrite a file that is in the way.
    (folder / CDNOW.name).write_text("my own notes\n")
    result = run("--client", "acme", "--from", CDNOW, "--data-dir", data_dir)
    assert result.exit_code == 2 and "already exists" in result.output
    assert not (folder / "client.yml").exists()
    assert (folder / CDNOW.name).read_text() == "my own notes\n"


@pytest.mark.parametrize("name", ["../evil", "a b", "", "-x", "x" * 65])
def test_refuses_an_invalid_name(name: str, data_dir: Path) -> None:
    result = run("--client", name, "--from", DEMO, "--data-dir", data_dir)
    assert result.exit_code == 2
    assert "is not a valid client name" in result.output
    assert list(data_dir.iterdir()) == []


def test_refuses_missing_and_unreadable_exports(data_dir: Path, tmp_path: Path) -> None:
    result = run("--client", "acme", "--from", tmp_path / "nothere.csv", "--data-dir", data_dir)
    assert result.exit_code == 2 and "file not found" in result.output
    old = tmp_path / "orders.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    result = run("--client", "acme", "--from", old, "--data-dir", data_dir)
    assert result.exit_code == 2 and ".xls" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run("--client", "acme", "--from", empty, "--data-dir", data_dir)
    assert result.exit_code == 2 and "empty" in result.output
    missing_dir = tmp_path / "nodata"
    result = run("--client", "acme", "--from", DEMO, "--data-dir", missing_dir)
    assert result.exit_code == 2 and "does not exist" in result.output
    assert list(data_dir.iterdir()) == [] and not missing_dir.exists()


def test_names_the_columns_it_could_not_place(data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "Relatie;Moment;[bold]Waarde[/];Notitie\n1;01-02-2024;12,50;x\n2;03-02-2024;7,50;y\n",
        encoding="utf-8",
    )
    result = run("--client", "acme", "--from", export, "--data-dir", data_dir)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "columns not placed: Relatie, Moment, [bold]Waarde[/], Notitie" in output
    for field in ("customer_id", "date", "amount"):
        assert f"no column found for {field}" in output
    assert "Traceback" not in result.output
    text = (data_dir / "acme" / "client.yml").read_text(encoding="utf-8")
    assert "# customer_id: «CHANGE»" in text and "# amount: «CHANGE»" in text
    assert 'extra: ["Relatie"]' in text
    assert "fill in the «CHANGE» lines" in output and "customer_id, date, amount" in output
    # once the mapping is filled in, it validates
    text = text.replace("    # customer_id: «CHANGE»", '    customer_id: "Relatie"  #')
    text = text.replace("    # date: «CHANGE»", '    date: "Moment"  #')
    text = text.replace("    # amount: «CHANGE»", '    amount: "[bold]Waarde[/]"  #')
    (data_dir / "acme" / "client.yml").write_text(text, encoding="utf-8")
    _, config = load_client("acme", data_dir)
    assert config.data.columns.amount == "[bold]Waarde[/]"
    assert config.data.csv.delimiter == ";"


def test_guess_columns_is_case_space_and_underscore_insensitive() -> None:
    assert guess_columns(["KLANT NUMMER", "Order_Date", "Omzet", "QTY", "Stuk prijs"]) == {
        "customer_id": "KLANT NUMMER",
        "date": "Order_Date",
        "amount": "Omzet",
        "quantity": "QTY",
        "unit_price": "Stuk prijs",
    }
    # a column is placed once, the better name wins
    assert guess_columns(["datum", "besteldatum", "klant"]) == {
        "customer_id": "klant",
        "date": "besteldatum",
    }


def test_a_header_less_export(data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "log.txt"
    export.write_text("1;01-02-2024;12,50\n2;03-02-2024;7,50\n", encoding="utf-8")
    result = run("--client", "acme", "--from", export, "--data-dir", data_dir)
    assert result.exit_code == 1, result.output
    text = (data_dir / "acme" / "client.yml").read_text(encoding="utf-8")
    assert "header: false" in text and 'names: ["column0", "column1", "column2"]' in text


def test_iso_dates_and_a_file_name_with_glob_characters(data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "orders [2024].csv"
    rows = [f"{i % 20},2024-0{i % 9 + 1}-1{i % 9},1{i}.5,c{i}@x.nl" for i in range(60)]
    export.write_text("Customer,Date,Revenue,Email\n" + "\n".join(rows) + "\n")
    result = run("--client", "acme", "--from", export, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    text = (data_dir / "acme" / "client.yml").read_text(encoding="utf-8")
    assert "ISO dates" in text and 'decimal: "."' in text
    assert "Email" in " ".join(result.output.split())
    _, config = load_client("acme", data_dir)
    assert config.data.csv.date_format == "auto"
    assert validate_client("acme", data_dir=data_dir).checks[-1][1].startswith("60 of 60 rows")


def test_a_partly_placed_export_says_what_is_missing(data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("klant;datum;waarde\n1;01-02-2024;12,50\n2;03-02-2024;7,50\n")
    result = run("--client", "acme", "--from", export, "--data-dir", data_dir)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "no column found for amount" in output and "columns not placed: waarde" in output
    text = (data_dir / "acme" / "client.yml").read_text(encoding="utf-8")
    assert 'customer_id: "klant"' in text and "# amount: «CHANGE»" in text


def test_an_online_retail_export_is_placed() -> None:
    # the UK online wholesaler's invoice export (TotalPrice as the line's amount)
    names = ["InvoiceNo", "StockCode", "CustomerID", "InvoiceDate", "TotalPrice", "Country"]
    assert guess_columns(names) == {
        "customer_id": "CustomerID",
        "date": "InvoiceDate",
        "amount": "TotalPrice",
        "order_id": "InvoiceNo",
        "country": "Country",
    }


def test_an_export_with_a_channel_gets_a_commented_one_off_setting(data_dir: Path) -> None:
    init_client("acme", [DEMO], data_dir=data_dir)
    config = data_dir / "acme" / "client.yml"
    text = config.read_text(encoding="utf-8")
    assert "#   one_off_channels: [nalatenschap, legaat]" in text
    assert load_client("acme", data_dir)[1].data.policies.one_off_channels == (
        DataPolicies().one_off_channels
    )
    text = text.replace("  # policies:", "  policies:").replace(
        "  #   one_off_channels", "    one_off_channels"
    )
    config.write_text(text, encoding="utf-8")
    policies = load_client("acme", data_dir)[1].data.policies
    assert policies.one_off_channels == ("nalatenschap", "legaat")
