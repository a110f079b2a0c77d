import datetime as dt
import gzip
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clvreport.config import ClientConfig, ColumnMapping, CsvOptions, DataPolicies
from clvreport.engine import DuckDBEngine
from clvreport.errors import DataError
from clvreport.ingest import EXCLUSION_REASONS, load_transactions, read_transactions

DATA = Path(__file__).parent / "data"
NL = DATA / "ingest" / "nl_export.csv"
CDNOW = DATA / "cdnow_sample.txt"
NL_COLUMNS = ColumnMapping(
    customer_id="Klantnummer",
    date="Orderdatum",
    amount="Bedrag",
    status="Status",
    channel="Kanaal",
)
SIMPLE = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
# The defaults before zero amounts and identical rows were kept (and flagged) by default.
DROPPING = DataPolicies(zero_amounts="drop", duplicates="drop")


def table(tx):
    frame = tx.query(f"SELECT * FROM {tx.table} ORDER BY customer_id, order_date, amount")
    return frame


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- a Dutch export: BOM, ';', decimal comma, dd-mm-yyyy, statuses, guests -----------------


def test_dutch_export_detected_and_counted():
    with read_transactions(NL, NL_COLUMNS, policies=DROPPING) as tx:
        q = tx.quality
        assert q.rows_read == 11
        assert dict(q.excluded) == {
            "placeholder_customer": 0,
            "missing_customer_id": 1,
            "cancelled_status": 1,
            "order_line": 0,
            "future_date": 0,
            "after_as_of": 0,
            "one_off_gift": 0,
            "zero_amount": 1,
            "return_dropped": 0,
            "outlier": 0,
            "duplicate": 1,
            "exceptional_order": 0,
            "return_only_customer": 0,
            # K002 bought 12,50 and returned it: kept nothing, carries no value
            "fully_returned_customer": 2,
        }
        assert dict(q.flagged) == {"fully_returned_customer": 1}
        assert q.rows_kept == 5 == q.rows_read - q.excluded_rows
        assert q.returns_netted == 0
        assert (q.customers, q.repeat_customers) == (3, 2)
        info = q.files[0]
        assert (info.encoding, info.delimiter, info.decimal, info.date_format) == (
            "utf-8-sig",
            "';'",
            ",",
            "%d-%m-%Y",
        )
        assert (tx.first_date, tx.last_date, tx.as_of) == (
            dt.date(2023, 1, 2),
            dt.date(2023, 3, 31),
            dt.date(2023, 3, 31),
        )
        assert tx.columns == ("customer_id", "order_date", "amount", "is_return", "channel")
        rows = table(tx)
        assert rows["amount"].tolist() == [1234.56, 99.95, 75.0, 1000.0, 10.0]
        assert not rows["is_return"].any()
        assert rows["customer_id"].tolist()[:2] == ["K001", "K001"]
        assert rows["amount"].sum() == pytest.approx(2419.51)
        assert set(rows["channel"]) == {"web", "winkel"}
        assert [c for c, _ in q.rows()] == [
            "rows_read",
            *EXCLUSION_REASONS,
            "returns_netted",
            "rows_kept",
        ]


def test_column_types_of_the_clean_table():
    with read_transactions(NL, NL_COLUMNS) as tx:
        types = tx.query(f"DESCRIBE {tx.table}").set_index("column_name")["column_type"]
        assert types.to_dict() == {
            "customer_id": "VARCHAR",
            "order_date": "DATE",
            "amount": "DOUBLE",
            "is_return": "BOOLEAN",
            "channel": "VARCHAR",
        }


def test_policies_change_the_counts():
    policies = DataPolicies(
        returns="drop", zero_amounts="keep", duplicates="keep", cancelled_statuses=()
    )
    with read_transactions(NL, NL_COLUMNS, policies=policies) as tx:
        q = tx.quality
        assert dict(q.excluded)["return_dropped"] == 1
        assert dict(q.excluded)["zero_amount"] == 0
        assert dict(q.excluded)["duplicate"] == 0
        assert dict(q.excluded)["cancelled_status"] == 0
        assert q.rows_kept == 11 - 1 - 1  # guest and return
        assert q.returns_netted == 0
        assert table(tx)["amount"].min() == 0.0


def test_as_of_excludes_later_rows():
    with read_transactions(NL, NL_COLUMNS, as_of="2023-02-28") as tx:
        assert dict(tx.quality.excluded)["after_as_of"] == 2
        assert tx.as_of == dt.date(2023, 2, 28)
        assert tx.last_date == dt.date(2023, 2, 28)


def test_case_and_space_insensitive_column_match():
    cols = ColumnMapping(customer_id=" klantnummer", date="ORDERDATUM", amount="bedrag")
    with read_transactions(NL, cols) as tx:
        assert tx.quality.rows_read == 11


def test_configured_options_equal_detected():
    csv = CsvOptions(delimiter=";", decimal=",", encoding="utf-8-sig", date_format="%d-%m-%Y")
    with read_transactions(NL, NL_COLUMNS, csv=csv) as a, read_transactions(NL, NL_COLUMNS) as b:
        assert table(a).equals(table(b))


# --- CDNOW: whitespace-separated, no header, YYYYMMDD ------------------------------------


def test_cdnow_whitespace_without_header():
    cols = ColumnMapping(customer_id="id", date="date", amount="amount")
    csv = CsvOptions(header=False, names=("id", "sample", "date", "qty", "amount"))
    with read_transactions(CDNOW, cols, csv=csv, policies=DROPPING) as tx:
        q = tx.quality
        assert q.rows_read == 6919
        assert q.files[0].delimiter == "whitespace"
        assert q.files[0].date_format == "%Y%m%d"
        assert dict(q.excluded)["zero_amount"] == 8
        assert dict(q.excluded)["duplicate"] == 21
        assert q.customers == 2349
        assert (tx.first_date, tx.last_date) == (dt.date(1997, 1, 1), dt.date(1998, 6, 30))
        first = tx.query(
            f"SELECT * FROM {tx.table} WHERE customer_id = '00004' ORDER BY order_date"
        )
        assert first["amount"].tolist() == [29.33, 29.73, 14.96, 26.48]


def test_cdnow_default_column_names_and_whitespace_option():
    cols = ColumnMapping(customer_id="column0", date="column2", amount="column4")
    csv = CsvOptions(header=False, delimiter="whitespace", date_format="%Y%m%d")
    with read_transactions(CDNOW, cols, csv=csv, policies=DataPolicies(zero_amounts="keep")) as tx:
        assert tx.quality.customers == 2357


# --- encodings ------------------------------------------------------------------------


def test_cp1252_file_is_transcoded(tmp_path):
    text = (
        "klant;datum;bedrag;land\nJosé;01-02-2024;€ 12,50;België\nZoë;03-02-2024;7,00;Nederland\n"
    )
    path = write(tmp_path / "ansi.csv", text, "cp1252")
    cols = ColumnMapping(customer_id="klant", date="datum", amount="bedrag", country="land")
    with read_transactions(path, cols) as tx:
        assert tx.quality.files[0].encoding == "cp1252"
        rows = table(tx)
        assert rows["customer_id"].tolist() == ["José", "Zoë"]
        assert rows["country"].tolist() == ["België", "Nederland"]
        assert rows["amount"].tolist() == [12.5, 7.0]


def test_latin1_bytes_undefined_in_cp1252(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"klant,datum,bedrag\nA\x81,2024-01-01,1\nB,2024-01-02,2\n")
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.files[0].encoding == "latin-1"


def test_explicit_cp1252(tmp_path):
    path = write(tmp_path / "a.csv", "klant,datum,bedrag\nA,2024-01-01,1\nB,2024-01-02,2\n")
    with read_transactions(path, SIMPLE, csv=CsvOptions(encoding="cp1252")) as tx:
        assert tx.quality.files[0].encoding == "cp1252"
        assert tx.quality.rows_kept == 2


def test_utf16_file(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("klant\tdatum\tbedrag\nA\t2024-01-01\t1\nB\t2024-01-02\t2\n".encode("utf-16"))
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.files[0].encoding == "utf-16"
        assert tx.quality.files[0].delimiter == "tab"


# --- other formats --------------------------------------------------------------------


def test_parquet_with_native_types(tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "klant": pa.array([1, 2, 2, None], pa.int64()),
                "datum": pa.array(
                    [
                        dt.datetime(2024, 1, 1, 10),
                        dt.datetime(2024, 1, 2),
                        dt.datetime(2024, 2, 2),
                        dt.datetime(2024, 2, 3),
                    ]
                ),
                "bedrag": pa.array([10.0, 20.5, -3.0, 5.0]),
            }
        ),
        path,
    )
    with read_transactions(path, SIMPLE) as tx:
        rows = table(tx)
        assert rows["customer_id"].tolist() == ["1", "2", "2"]
        assert rows["order_date"].dt.date.tolist() == [
            dt.date(2024, 1, 1),
            dt.date(2024, 1, 2),
            dt.date(2024, 2, 2),
        ]
        assert dict(tx.quality.excluded)["missing_customer_id"] == 1
        assert tx.quality.returns_netted == 1


def test_parquet_with_integer_dates(tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table({"klant": ["a", "b"], "datum": [19970101, 19970212], "bedrag": [1.0, 2.0]}), path
    )
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.files[0].date_format == "%Y%m%d"
        assert tx.last_date == dt.date(1997, 2, 12)


def test_excel_with_date_cells_and_numbers(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Klant", "Datum", "Bedrag", "Opmerking"])
    sheet.append([1001, dt.datetime(2024, 1, 5), 12.5, "x"])
    sheet.append([1002, dt.datetime(2024, 1, 6, 14, 30), 7, None])
    sheet.append([None, None, None, None])  # blank row is skipped
    sheet.append(["1001", dt.date(2024, 3, 1), "3,50", "y"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    cols = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
    with read_transactions(path, cols) as tx:
        rows = table(tx)
        assert rows["customer_id"].tolist() == ["1001", "1001", "1002"]
        assert rows["amount"].tolist() == [12.5, 3.5, 7.0]
        assert tx.quality.files[0].format == "excel"
        assert tx.quality.repeat_customers == 1


def test_glob_of_files_with_overlap(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder / "2024-01.csv", "klant,datum,bedrag\nA,2024-01-01,10\nB,2024-01-02,20\n")
    write(folder / "2024-02.csv", "klant,datum,bedrag\nB,2024-01-02,20\nA,2024-02-01,5\n")
    write(folder / "notes.txt", "not a transaction file")
    policies = DataPolicies(duplicates="drop")
    with read_transactions("exports/*.csv", SIMPLE, base_dir=tmp_path, policies=policies) as tx:
        q = tx.quality
        assert [f.path.name for f in q.files] == ["2024-01.csv", "2024-02.csv"]
        assert [f.rows for f in q.files] == [2, 2]
        assert dict(q.excluded)["duplicate"] == 1  # the overlapping row
        assert q.rows_kept == 3


def test_mixed_formats_in_one_read(tmp_path):
    csv_path = write(tmp_path / "a.csv", "klant;datum;bedrag\nA;31-01-2024;1,50\n")
    pq.write_table(
        pa.table({"klant": ["B"], "datum": [dt.date(2024, 2, 1)], "bedrag": [2.0]}),
        tmp_path / "b.parquet",
    )
    with read_transactions(["a.csv", "b.parquet"], SIMPLE, base_dir=tmp_path) as tx:
        assert table(tx)["amount"].tolist() == [1.5, 2.0]
        assert csv_path.exists()


def test_gzip_csv(tmp_path):
    raw = b"klant,datum,bedrag\nA,2024-01-01,1.25\nB,2024-01-02,2\n"
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(raw)
    with read_transactions(path, SIMPLE) as tx:
        assert table(tx)["amount"].tolist() == [1.25, 2.0]


# --- values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "decimal", "expected"),
    [
        (["1,234.56", "12.50", "-3"], "auto", [1234.56, 12.5, -3.0]),
        (["1.234,56", "12,50", "3"], "auto", [1234.56, 12.5, 3.0]),
        (["$ 1,000", "€12.5", "7 EUR"], ".", [1000.0, 12.5, 7.0]),
        (["12,50-", "1.000,00", "+4"], ",", [-12.5, 1000.0, 4.0]),
        (["1e3", ".5", "2"], ".", [1000.0, 0.5, 2.0]),
    ],
)
def test_amount_notations(tmp_path, values, decimal, expected):
    body = "".join(f'C{i};2024-01-0{i + 1};"{v}"\n' for i, v in enumerate(values))
    # A later purchase of every customer, so that a return is not a return-only customer.
    body += "".join(f"C{i};2024-02-01;1\n" for i in range(len(values)))
    path = write(tmp_path / "a.csv", "klant;datum;bedrag\n" + body)
    csv = CsvOptions(decimal=decimal)
    with read_transactions(path, SIMPLE, csv=csv, policies=DataPolicies(returns="net")) as tx:
        rows = table(tx)
        rows = rows[rows["order_date"] < pd.Timestamp("2024-02-01")]
        assert rows.sort_values("customer_id")["amount"].tolist() == expected


@pytest.mark.parametrize(
    ("dates", "fmt", "first"),
    [
        (["2024-01-31", "2024-02-01"], "ISO", dt.date(2024, 1, 31)),
        (["2024-01-31T10:00:00", "2024-02-01 09:30:00.5"], "ISO", dt.date(2024, 1, 31)),
        (["31/01/2024", "01/02/2024"], "%d/%m/%Y", dt.date(2024, 1, 31)),
        (["01/31/2024", "02/01/2024"], "%m/%d/%Y", dt.date(2024, 1, 31)),
        (["31.01.2024 10:15", "01.02.2024 08:00"], "%d.%m.%Y %H:%M", dt.date(2024, 1, 31)),
        (["20240131", "20240201"], "%Y%m%d", dt.date(2024, 1, 31)),
    ],
)
def test_date_formats_detected(tmp_path, dates, fmt, first):
    body = "".join(f"C{i},{d},1\n" for i, d in enumerate(dates))
    path = write(tmp_path / "a.csv", "klant,datum,bedrag\n" + body)
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.files[0].date_format == fmt
        assert tx.first_date == first


def test_ambiguous_day_month_prefers_day_first_and_warns(tmp_path):
    path = write(tmp_path / "a.csv", "klant,datum,bedrag\nA,01/02/2024,1\nB,03/04/2024,1\n")
    with read_transactions(path, SIMPLE) as tx:
        assert tx.first_date == dt.date(2024, 2, 1)
        assert "date_format_ambiguous" in tx.quality.warnings


def test_quantity_times_unit_price(tmp_path):
    path = write(
        tmp_path / "a.csv",
        "klant,datum,aantal,prijs\nA,2024-01-01,3,2.50\nA,2024-01-02,-1,4\nB,2024-01-03,1,1\n",
    )
    cols = ColumnMapping(customer_id="klant", date="datum", quantity="aantal", unit_price="prijs")
    with read_transactions(path, cols) as tx:
        assert table(tx)["amount"].tolist() == [7.5, -4.0, 1.0]
        assert table(tx)["is_return"].tolist() == [False, True, False]


def test_order_id_and_null_tokens(tmp_path):
    path = write(
        tmp_path / "a.csv",
        "klant,datum,bedrag,order\nA,2024-01-01,1,o1\nNULL,2024-01-01,1,o2\n"
        "n/a,2024-01-01,1,o3\nB,2024-01-02,2,\n",
    )
    cols = ColumnMapping(customer_id="klant", date="datum", amount="bedrag", order_id="order")
    with read_transactions(path, cols) as tx:
        assert dict(tx.quality.excluded)["missing_customer_id"] == 2
        rows = table(tx)
        assert rows["order_id"].tolist()[0] == "o1" and pd.isna(rows["order_id"].tolist()[1])


def test_all_single_purchase_customers_is_a_warning(tmp_path):
    path = write(
        tmp_path / "a.csv", "klant,datum,bedrag\nA,2024-01-01,1\nA,2024-01-01,2\nB,2024-01-05,3\n"
    )
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.warnings == ("no_repeat_customers",)
        assert not tx.has_repeat_customers
        assert tx.quality.customers == 2


def test_quality_to_dict_is_json_ready():
    import json

    with read_transactions(NL, NL_COLUMNS, policies=DROPPING) as tx:
        data = tx.quality.to_dict()
        assert data["excluded"]["duplicate"] == 1
        assert data["files"][0]["path"].endswith("nl_export.csv")
        json.dumps(data)


# --- engines and config -----------------------------------------------------------------


def test_shared_engine_is_not_closed(tmp_path):
    engine = DuckDBEngine()
    with read_transactions(NL, NL_COLUMNS, engine=engine) as a:
        b = read_transactions(NL, NL_COLUMNS, engine=engine, policies=DROPPING)
        assert a.table != b.table
    assert engine.query(f"SELECT count(*) AS n FROM {b.table}")["n"].item() == 5
    tables = engine.query("SELECT table_name FROM information_schema.tables")["table_name"]
    assert tables.tolist() == [b.table]  # the views and a's table are gone
    engine.close()


def test_owned_engine_cleans_up_temp_files(tmp_path):
    path = write(
        tmp_path / "ansi.csv", "klant;datum;bedrag\nJosé;01-02-2024;1\nB;01-02-2024;1\n", "cp1252"
    )
    tx = read_transactions(path, SIMPLE)
    temp = tx.engine.temp_directory
    assert any((temp / "input").iterdir())
    tx.close()
    assert not temp.exists()


def test_load_transactions_from_client_config(tmp_path):
    client = tmp_path / "acme"
    (client / "exports").mkdir(parents=True)
    shutil.copy(NL, client / "exports" / "jan.csv")
    config = ClientConfig.model_validate(
        {
            "name": "Acme",
            "as_of": "2023-03-01",
            "data": {
                "sources": ["exports/*.csv"],
                "columns": {
                    "customer_id": "Klantnummer",
                    "date": "Orderdatum",
                    "amount": "Bedrag",
                    "status": "Status",
                },
                "policies": {"zero_amounts": "keep"},
            },
        }
    )
    with load_transactions(config, client) as tx:
        assert tx.as_of == dt.date(2023, 3, 1)
        assert dict(tx.quality.excluded)["after_as_of"] == 2
        assert dict(tx.quality.excluded)["zero_amount"] == 0
    with load_transactions(config, client, as_of=dt.date(2023, 12, 31)) as tx:
        assert dict(tx.quality.excluded)["after_as_of"] == 0


def test_excel_sep_line_sets_the_delimiter(tmp_path):
    path = write(tmp_path / "a.csv", "sep=;\r\nklant;datum;bedrag\r\nA;2024-01-01;1,5\r\nB;x;2\r\n")
    with pytest.raises(DataError, match="line 4 'x'"):
        read_transactions(path, SIMPLE)
    path = write(
        tmp_path / "b.csv", "sep=;\r\nklant;datum;bedrag\r\nA;2024-01-01;1,5\r\nB;2024-01-02;2\r\n"
    )
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.files[0].delimiter == "';'"
        assert table(tx)["amount"].tolist() == [1.5, 2.0]
