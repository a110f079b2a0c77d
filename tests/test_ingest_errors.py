"""Bad inputs: each ends in one DataError (or ConfigError) whose message names the problem."""

import datetime as dt
import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clvreport.config import ClientConfig, ColumnMapping, CsvOptions
from clvreport.errors import ClvReportError, ConfigError, DataError
from clvreport.ingest import load_transactions, read_transactions

SIMPLE = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
HEADER = "klant,datum,bedrag\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def fails(source, *parts: str, columns=SIMPLE, error=DataError, **kwargs) -> str:
    """Read ``source``, expect ``error``; every part must be in its text. Returns the text."""
    with pytest.raises(error) as info:
        read_transactions(source, columns, **kwargs)
    text = str(info.value)
    for part in parts:
        assert part in text, f"{part!r} not in:\n{text}"
    assert "Traceback" not in text
    return text


# --- files ----------------------------------------------------------------------------


def test_missing_file_suggests_the_closest_name(tmp_path):
    write(tmp_path / "orders_2024.csv", HEADER)
    fails(tmp_path / "orders_2042.csv", "file not found", "did you mean 'orders_2024.csv'")


def test_missing_folder(tmp_path):
    fails(tmp_path / "nope" / "orders.csv", "file not found", "does not exist")


def test_glob_matching_nothing(tmp_path):
    write(tmp_path / "orders.txt", HEADER)
    fails("exports/*.csv", "no files match 'exports/*.csv'", base_dir=tmp_path)
    fails("*.csv", "no files match '*.csv'", "orders.txt", base_dir=tmp_path)


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "exports").mkdir()
    fails(tmp_path / "exports", "is a folder", "*.csv")


def test_unknown_extension(tmp_path):
    fails(write(tmp_path / "orders.json", "{}"), "unknown file type '.json'", "data.format")


def test_old_excel_format(tmp_path):
    fails(write(tmp_path / "orders.xls", "x"), "old Excel format (.xls)", "save it as .xlsx")


def test_no_sources():
    fails([], "no transaction files given")


def test_compressed_parquet(tmp_path):
    fails(write(tmp_path / "orders.parquet.gz", "x"), "compressed parquet files are not supported")


def test_empty_file(tmp_path):
    fails(write(tmp_path / "orders.csv", ""), "orders.csv: the file is empty")


def test_blank_lines_only(tmp_path):
    fails(write(tmp_path / "orders.csv", "\n\n  \n"), "the file is empty")


def test_header_only(tmp_path):
    fails(write(tmp_path / "orders.csv", HEADER), "no data rows")


def test_broken_parquet(tmp_path):
    fails(
        write(tmp_path / "orders.parquet", "not parquet at all"), "cannot read the file as Parquet"
    )


def test_broken_excel(tmp_path):
    fails(write(tmp_path / "orders.xlsx", "not a zip"), "cannot open the Excel file")


def test_empty_excel_sheet(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Orders"
    book.save(tmp_path / "orders.xlsx")
    fails(tmp_path / "orders.xlsx", "the first sheet ('Orders') is empty")


# --- columns and layout ------------------------------------------------------------------


def test_misspelled_column_suggests_closest(tmp_path):
    path = write(tmp_path / "o.csv", "klant_nr,datum,bedrag\nA,2024-01-01,1\n")
    text = fails(
        path,
        "columns.customer_id: 'klantnr' is not a column",
        "did you mean 'klant_nr'?",
        "Columns in the file: 'klant_nr', 'datum', 'bedrag'",
        columns=ColumnMapping(customer_id="klantnr", date="datum", amount="bedrag"),
    )
    assert "o.csv" in text


def test_several_missing_columns_listed_together(tmp_path):
    path = write(tmp_path / "o.csv", "a,b,c\n1,2,3\n")
    text = fails(
        path, "columns.customer_id: 'klant'", "columns.date: 'datum'", "columns.amount: 'bedrag'"
    )
    assert text.count("is not a column") == 3


def test_header_less_file_read_with_header(tmp_path):
    path = write(tmp_path / "o.txt", "  00001 19970101 1 11.77\n  00002 19970102 1 12.00\n")
    fails(
        path,
        "'klant' is not a column",
        "Columns in the file: '00001', '19970101'",
        "the first line looks like data",
        "--no-header --names",
    )


def test_wrong_delimiter_configured(tmp_path):
    path = write(tmp_path / "o.csv", "klant;datum;bedrag\nA;2024-01-01;1\n")
    fails(
        path,
        "is not a column",
        "header holds ';'",
        "set data.csv.delimiter",
        csv=CsvOptions(delimiter=","),
    )


def test_delimiter_of_several_characters(tmp_path):
    path = write(tmp_path / "o.csv", "klant;datum;bedrag\nA;2024-01-01;1\n")
    fails(path, "delimiter ';;' must be one character", csv=CsvOptions(delimiter=";;"))


def test_row_with_too_few_fields(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\nB,2024-01-02\nC,2024-01-03,3\n")
    fails(
        path,
        "o.csv",
        "line 3 has 2 fields where 3 were expected",
        "'B,2024-01-02'",
        "delimiter ','",
    )


def test_whitespace_line_with_wrong_field_count(tmp_path):
    path = write(
        tmp_path / "o.txt",
        "1 19970101 1 9.5\n2 19970102 1 9.5\n3 19970103 1\n4 19970104 1 2.5 extra\n",
    )
    fails(
        path,
        "2 line(s) do not have 4 fields: line 3, line 4",
        columns=ColumnMapping(customer_id="column0", date="column1", amount="column3"),
        csv=CsvOptions(header=False),
    )


def test_names_do_not_match_field_count(tmp_path):
    path = write(tmp_path / "o.txt", "1 19970101 1 9.5\n")
    fails(
        path,
        "3 column names were given but line 1 has 4 fields",
        columns=ColumnMapping(customer_id="id", date="date", amount="amount"),
        csv=CsvOptions(header=False, names=("id", "date", "amount")),
    )


def test_names_with_header_must_match_header(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\n")
    fails(
        path,
        "csv.names lists 2 names but the header line has 3 fields",
        csv=CsvOptions(names=("a", "b")),
    )


# --- encodings --------------------------------------------------------------------------


def test_not_utf8_when_utf8_configured(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\nJosé,2024-01-02,2\n", "cp1252")
    fails(
        path,
        "not valid UTF-8",
        "line 3",
        "b'\\xe9",
        "data.csv.encoding: cp1252",
        csv=CsvOptions(encoding="utf-8"),
    )


def test_invalid_bytes_deep_in_a_large_file(tmp_path):
    rows = "".join(f"C{i},2024-01-01,1\n" for i in range(50_000))
    path = write(tmp_path / "o.csv", HEADER + rows + "Zoë,2024-01-02,2\n", "cp1252")
    fails(path, "line 50002", csv=CsvOptions(encoding="utf-8"))


# --- dates ------------------------------------------------------------------------------


def test_unparseable_dates_with_line_numbers(tmp_path):
    path = write(
        tmp_path / "o.csv",
        HEADER + "A,2024-01-01,1\nB,2024-13-45,1\nC,yesterday,1\nD,2024-01-04,1\n",
    )
    fails(
        path,
        "2 value(s) in column 'datum' are not dates in the format ISO (detected)",
        "line 3 '2024-13-45'",
        "line 4 'yesterday'",
        "--date-format",
    )


def test_mixed_date_formats(tmp_path):
    body = "".join(f"C{i},{d:02d}-01-2024,1\n" for i, d in enumerate(range(1, 9)))
    path = write(tmp_path / "o.csv", HEADER + body + "X,2024-01-31,1\nY,2024-02-01,1\n")
    fails(
        path,
        "mixed date formats in column 'datum'",
        "most dates use %d-%m-%Y",
        "2 look like ISO",
        "line 10 '2024-01-31'",
        "line 11 '2024-02-01'",
        "export every date in one format",
    )


def test_configured_date_format_does_not_fit(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-31,1\nB,2024-02-01,1\n")
    fails(
        path,
        "mixed date formats",
        "use %d-%m-%Y (configured)",
        "set data.csv.date_format: 'ISO'",
        csv=CsvOptions(date_format="%d-%m-%Y"),
    )


def test_missing_dates(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\nB,,1\nC,2024-01-03,1\n")
    fails(path, "1 row(s) have no date in column 'datum': line 3", "fill in the missing dates")


def test_no_known_date_format(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,Jan the 5th,1\nB,Feb the 6th,1\n")
    fails(path, "are not dates", "line 2 'Jan the 5th'", "data.csv.date_format")


# --- amounts ----------------------------------------------------------------------------


def test_unparseable_amounts_with_line_numbers(tmp_path):
    path = write(
        tmp_path / "o.csv",
        HEADER + "A,2024-01-01,12.50\nB,2024-01-02,twaalf\nC,2024-01-03,n.v.t.\n",
    )
    fails(
        path,
        "2 value(s) in column 'bedrag' are not numbers",
        "line 3 'twaalf'",
        "line 4 'n.v.t.'",
        "plain numbers",
    )


def test_decimal_comma_in_a_decimal_point_file(tmp_path):
    path = write(
        tmp_path / "o.csv", HEADER + 'A,2024-01-01,12.50\nB,2024-01-02,"7,25"\nC,2024-01-03,3.10\n'
    )
    fails(path, "line 3 '7,25'", "decimal mark '.'", "decimal comma", "--decimal ,")


def test_decimal_point_in_a_decimal_comma_file(tmp_path):
    path = write(
        tmp_path / "o.csv",
        "klant;datum;bedrag\nA;2024-01-01;12,50\nB;2024-01-02;7.25\nC;2024-01-03;3,10\n",
    )
    fails(path, "line 3 '7.25'", "decimal mark ','", "decimal point")


def test_thousands_separator_confusion(tmp_path):
    path = write(
        tmp_path / "o.csv", "klant;datum;bedrag\nA;2024-01-01;1.234,50\nB;2024-01-02;1,234.50\n"
    )
    fails(path, "'1,234.50'", "not numbers")


def test_missing_amounts(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\nB,2024-01-02,\n")
    fails(path, "1 row(s) have no value in column 'bedrag': line 3")


def test_bad_unit_price(tmp_path):
    path = write(
        tmp_path / "o.csv", "klant,datum,aantal,prijs\nA,2024-01-01,2,1.5\nB,2024-01-02,1,gratis\n"
    )
    fails(
        path,
        "column 'prijs' are not numbers",
        "line 3 'gratis'",
        columns=ColumnMapping(
            customer_id="klant", date="datum", quantity="aantal", unit_price="prijs"
        ),
    )


def test_nan_amount_in_parquet(tmp_path):
    pq.write_table(
        pa.table(
            {"klant": ["a", "b"], "datum": [dt.date(2024, 1, 1)] * 2, "bedrag": [1.0, float("nan")]}
        ),
        tmp_path / "o.parquet",
    )
    fails(tmp_path / "o.parquet", "column 'bedrag' are not numbers", "row 2")


def test_text_amount_in_excel_names_the_sheet_row(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["klant", "datum", "bedrag"])
    book.active.append(["a", dt.datetime(2024, 1, 1), 5])
    book.active.append(["b", dt.datetime(2024, 1, 2), "vijf"])
    book.save(tmp_path / "o.xlsx")
    fails(tmp_path / "o.xlsx", "row 3 'vijf'")


# --- what is left -----------------------------------------------------------------------


def test_single_customer(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\nA,2024-02-01,2\n")
    fails(path, "single customer", "columns.customer_id ('klant')")


def test_only_returns(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,-1\nB,2024-02-01,-2\n")
    fails(path, "no purchases", "returns")


def test_every_row_excluded(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + ",2024-01-01,1\n,2024-02-01,0\n")
    fails(path, "none of the 2 rows can be used", "2 missing customer id")


def test_as_of_before_all_data(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\nB,2024-02-01,2\n")
    fails(path, "none of the 2 rows can be used", "2 after as of", as_of="2023-12-31")


def test_as_of_not_a_date(tmp_path):
    path = write(tmp_path / "o.csv", HEADER + "A,2024-01-01,1\n")
    fails(path, "as-of date '31-12-2024' is not a date", "YYYY-MM-DD", as_of="31-12-2024")


def test_errors_in_several_files_are_named(tmp_path):
    write(tmp_path / "a.csv", HEADER + "A,2024-01-01,x\n")
    write(tmp_path / "b.csv", HEADER + "B,2024-01-01,y\n")
    text = fails("*.csv", "a.csv", "other files with problems: b.csv", base_dir=tmp_path)
    assert "line 2 'x'" in text


def test_spark_engine_without_java_says_what_to_install(tmp_path, monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    import clvreport.spark.engine as spark_engine

    monkeypatch.setattr(spark_engine, "java_available", lambda: False)
    config = ClientConfig.model_validate(
        {
            "name": "x",
            "engine": "spark",
            "data": {
                "sources": "o.csv",
                "columns": {"customer_id": "k", "date": "d", "amount": "a"},
            },
        }
    )
    with pytest.raises(ConfigError, match="needs a Java runtime") as info:
        load_transactions(config, tmp_path)
    assert "openjdk-17" in str(info.value.hint)


def test_every_error_is_a_clvreport_error(tmp_path):
    path = write(tmp_path / "o.csv", b"\x00\x01\x02".decode("latin-1"))
    with pytest.raises(ClvReportError):
        read_transactions(path, SIMPLE)


def test_gzip_that_is_not_gzip(tmp_path):
    path = write(tmp_path / "o.csv.gz", "plain text")
    fails(path, "cannot read the file", "gzip")
    good = tmp_path / "g.csv.gz"
    with gzip.open(good, "wb") as handle:
        handle.write(b"klant,datum,bedrag\nA,2024-01-01,1\n")
    fails(good, "single customer")
