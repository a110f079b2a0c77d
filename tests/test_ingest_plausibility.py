"""Implausible data is flagged or excluded and counted, never accepted silently."""

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from clvreport.config import ClientConfig, ColumnMapping, DataPolicies, ExcelOptions
from clvreport.errors import DataError
from clvreport.ingest import FLAG_MESSAGES, DataQuality, load_transactions, read_transactions
from clvreport.ingest import transactions as transactions_module

SIMPLE = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
WITH_ORDER = ColumnMapping(customer_id="klant", date="datum", amount="bedrag", order_id="order")


def write(path: Path, rows: list[str], header: str = "klant,datum,bedrag") -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def regular(n: int = 30) -> list[str]:
    """``n`` customers with two ordinary purchases each (10..99) in 2024."""
    return [f"C{i},2024-0{1 + i % 6}-1{i % 9},{10 + (i * 37) % 90}" for i in range(n)] + [
        f"C{i},2024-07-0{1 + i % 9},{12 + (i * 13) % 80}" for i in range(n)
    ]


def flags(tx) -> dict[str, int]:
    return dict(tx.quality.flagged)


def excluded(tx) -> dict[str, int]:
    return dict(tx.quality.excluded)


def balanced(tx) -> bool:
    q = tx.quality
    return q.rows_read == q.rows_kept + q.excluded_rows


# --- future dates and the as-of date ------------------------------------------------------


def test_future_row_does_not_move_the_report_date(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-05,10", "B,2024-02-01,20", "A,2099-12-31,30"])
    with read_transactions(path, SIMPLE) as tx:
        assert tx.as_of == tx.last_date == dt.date(2024, 2, 1)
        assert excluded(tx)["future_date"] == 1
        assert excluded(tx)["after_as_of"] == 0
        assert balanced(tx)
        assert "as_of_after_data" not in flags(tx)


def test_rows_after_today_are_future(tmp_path, monkeypatch):
    monkeypatch.setattr(transactions_module, "_today", lambda: dt.date(2024, 1, 20))
    path = write(
        tmp_path / "a.csv",
        ["A,2024-01-05,10", "B,2024-01-20,20", "A,2024-01-21,30", "B,2024-03-01,5"],
    )
    with read_transactions(path, SIMPLE) as tx:
        assert tx.as_of == dt.date(2024, 1, 20)
        assert excluded(tx)["future_date"] == 2


def test_explicit_as_of_excludes_as_after_as_of(tmp_path):
    rows = ["A,2024-01-05,10", "B,2024-01-06,20", "B,2024-02-01,20", "A,2099-12-31,30"]
    path = write(tmp_path / "a.csv", rows)
    with read_transactions(path, SIMPLE, as_of="2024-01-31") as tx:
        assert excluded(tx)["after_as_of"] == 2
        assert excluded(tx)["future_date"] == 0


def test_as_of_after_the_data_is_flagged(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-05,10", "B,2024-02-01,20"])
    with read_transactions(path, SIMPLE, as_of="2024-03-02") as tx:
        assert tx.as_of == dt.date(2024, 3, 2)
        assert flags(tx)["as_of_after_data"] == 30
    with read_transactions(path, SIMPLE, as_of="2024-02-01") as tx:
        assert "as_of_after_data" not in flags(tx)


# --- outliers ------------------------------------------------------------------------------


def test_outlier_flagged_by_default_and_kept(tmp_path):
    path = write(tmp_path / "a.csv", [*regular(), "C1,2024-08-01,1000000000000"])
    with read_transactions(path, SIMPLE) as tx:
        assert flags(tx)["outlier"] == 1
        assert excluded(tx)["outlier"] == 0
        total = tx.query(f"SELECT max(amount) AS m FROM {tx.table}")["m"].item()
        assert total == 1e12


def test_outlier_excluded_on_request(tmp_path):
    path = write(tmp_path / "a.csv", [*regular(), "C1,2024-08-01,1e12", "C2,2024-08-01,-1e12"])
    with read_transactions(path, SIMPLE, policies=DataPolicies(outliers="exclude")) as tx:
        assert excluded(tx)["outlier"] == 2
        assert "outlier" not in flags(tx)
        assert tx.query(f"SELECT max(abs(amount)) AS m FROM {tx.table}")["m"].item() < 1000
        assert balanced(tx)


def test_outlier_keep_is_silent(tmp_path):
    path = write(tmp_path / "a.csv", [*regular(), "C1,2024-08-01,1e12"])
    with read_transactions(path, SIMPLE, policies=DataPolicies(outliers="keep")) as tx:
        assert "outlier" not in flags(tx)
        assert excluded(tx)["outlier"] == 0


def test_big_spenders_are_not_outliers(tmp_path):
    # A skewed but real distribution: a few orders of 5,000 among orders of 10..99.
    rows = [*regular(), "C1,2024-08-01,5000", "C2,2024-08-02,7500", "C3,2024-08-03,4999"]
    with read_transactions(write(tmp_path / "a.csv", rows), SIMPLE) as tx:
        assert "outlier" not in flags(tx)


@pytest.mark.parametrize("big", [False, True])
def test_large_tables_find_the_same_outliers_in_constant_memory(tmp_path, monkeypatch, big):
    # Above a few million rows the quartiles come from a histogram of the log-amounts
    # (an exact quantile would hold every amount in memory); the rule flags the same rows.
    import clvreport.ingest.transactions as transactions

    if big:
        monkeypatch.setattr(transactions, "_OUTLIER_EXACT_MAX_ROWS", 10)
    rows = [*regular(), "C1,2024-08-01,5000", "C2,2024-08-01,1e12", "C3,2024-08-01,-1e9"]
    with read_transactions(write(tmp_path / "a.csv", rows), SIMPLE) as tx:
        assert flags(tx)["outlier"] == 2


def test_few_rows_have_no_outliers(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-01,10", "B,2024-01-02,1e12"])
    with read_transactions(path, SIMPLE) as tx:
        assert "outlier" not in flags(tx)


# --- negative net and return-only customers ---------------------------------------------


def test_negative_net_customer_flagged(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-01,10", "A,2024-01-05,-50", "B,2024-01-02,20"])
    with read_transactions(path, SIMPLE) as tx:
        assert flags(tx)["negative_net_customer"] == 1
        assert tx.quality.customers == 2
        assert tx.quality.returns_netted == 1


def test_return_only_customer_rows_are_excluded_and_counted(tmp_path):
    path = write(
        tmp_path / "a.csv",
        ["A,2024-01-01,10", "B,2024-01-02,20", "R,2024-01-03,-5", "R,2024-01-04,-7"],
    )
    with read_transactions(path, SIMPLE) as tx:
        q = tx.quality
        assert excluded(tx)["return_only_customer"] == 2
        assert flags(tx)["return_only_customer"] == 1
        assert q.rows_kept == 2 and q.returns_netted == 0
        assert balanced(tx)
        assert "R" not in tx.query(f"SELECT customer_id FROM {tx.table}")["customer_id"].tolist()


def test_only_returns_is_a_clear_error(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-01,-10", "B,2024-01-02,-20"])
    with pytest.raises(DataError, match="all 2 usable rows are returns"):
        read_transactions(path, SIMPLE)


# --- customer ids written as floats ---------------------------------------------------------


def test_integer_ids_written_as_floats_are_one_customer(tmp_path):
    path = write(
        tmp_path / "a.csv",
        [
            "100003,2024-01-01,10",
            "100003.0,2024-02-01,20",
            "00042.00,2024-01-03,5",
            "00042,2024-01-04,6",
            "7.5,2024-01-05,7",
        ],
    )
    with read_transactions(path, SIMPLE) as tx:
        ids = sorted(set(tx.query(f"SELECT customer_id FROM {tx.table}")["customer_id"]))
        assert ids == ["00042", "100003", "7.5"]
        assert tx.quality.customers == 3
        assert tx.quality.repeat_customers == 2
        assert flags(tx)["float_customer_id"] == 2


def test_normal_ids_are_not_flagged(tmp_path):
    path = write(tmp_path / "a.csv", ["A.1,2024-01-01,10", "100,2024-01-02,20"])
    with read_transactions(path, SIMPLE) as tx:
        assert "float_customer_id" not in flags(tx)


# --- duplicates and zero amounts ----------------------------------------------------------


def test_identical_rows_without_order_id_are_kept_and_flagged(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-01,10", "A,2024-01-01,10", "B,2024-01-02,20"])
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.rows_kept == 3
        assert excluded(tx)["duplicate"] == 0
        assert flags(tx)["possible_duplicate"] == 1


def test_identical_rows_with_order_id_are_dropped(tmp_path):
    rows = ["1,A,2024-01-01,10", "1,A,2024-01-01,10", "2,A,2024-01-01,10", "3,B,2024-01-02,20"]
    path = write(tmp_path / "a.csv", rows, header="order,klant,datum,bedrag")
    with read_transactions(path, WITH_ORDER) as tx:
        assert tx.quality.rows_kept == 3
        assert excluded(tx)["duplicate"] == 1
        assert "possible_duplicate" not in flags(tx)
    with read_transactions(path, WITH_ORDER, policies=DataPolicies(duplicates="keep")) as tx:
        assert tx.quality.rows_kept == 4
        assert flags(tx)["possible_duplicate"] == 1


def test_duplicates_drop_without_order_id(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-01,10", "A,2024-01-01,10", "B,2024-01-02,20"])
    with read_transactions(path, SIMPLE, policies=DataPolicies(duplicates="drop")) as tx:
        assert excluded(tx)["duplicate"] == 1
        assert "possible_duplicate" not in flags(tx)


def test_zero_amounts_are_purchases_by_default_and_listed(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2024-01-01,0", "A,2024-01-05,10", "B,2024-01-02,20"])
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.rows_kept == 3
        assert tx.quality.repeat_customers == 1
        assert flags(tx)["zero_amount_order"] == 1
    with read_transactions(path, SIMPLE, policies=DataPolicies(zero_amounts="drop")) as tx:
        assert excluded(tx)["zero_amount"] == 1
        assert "zero_amount_order" not in flags(tx)


# --- Excel sheets -----------------------------------------------------------------------------


def workbook(path: Path, sheets: dict[str, list[tuple]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


HEADER = ("klant", "datum", "bedrag")
SHEET_2023 = [HEADER, ("A", dt.date(2023, 1, 1), 10.0), ("B", dt.date(2023, 2, 1), 20.0)]
SHEET_2024 = [HEADER, ("A", dt.date(2024, 1, 1), 30.0), ("C", dt.date(2024, 2, 1), 40.0)]
COVER = [("Export of the webshop",), ("made on", dt.date(2024, 3, 1))]


def test_further_sheets_with_the_same_columns_are_flagged(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"2023": SHEET_2023, "2024": SHEET_2024})
    with read_transactions(path, SIMPLE) as tx:
        assert tx.quality.rows_read == 2
        assert flags(tx)["unread_sheets"] == 1


def test_excel_sheet_all_reads_every_data_sheet(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"Cover": COVER, "2023": SHEET_2023, "2024": SHEET_2024})
    with read_transactions(path, SIMPLE, excel=ExcelOptions(sheet="all")) as tx:
        assert tx.quality.rows_read == 4
        assert tx.quality.customers == 3
        assert "unread_sheets" not in flags(tx)


def test_excel_sheet_all_with_columns_in_another_order(tmp_path):
    other = [("Bedrag", "Klant", "Datum"), (30.0, "A", dt.date(2024, 1, 1))]
    path = workbook(tmp_path / "a.xlsx", {"2023": SHEET_2023, "2024": other})
    with read_transactions(path, SIMPLE, excel=ExcelOptions(sheet="all")) as tx:
        rows = tx.query(f"SELECT * FROM {tx.table} ORDER BY order_date")
        assert rows["customer_id"].tolist() == ["A", "B", "A"]
        assert rows["amount"].tolist() == [10.0, 20.0, 30.0]


@pytest.mark.parametrize("sheet", ["2024", 1, " 2024 "])
def test_excel_sheet_by_name_or_position(tmp_path, sheet):
    path = workbook(tmp_path / "a.xlsx", {"2023": SHEET_2023, "2024": SHEET_2024})
    with read_transactions(path, SIMPLE, excel=ExcelOptions(sheet=sheet)) as tx:
        assert tx.first_date == dt.date(2024, 1, 1)


def test_cover_sheet_first_names_the_sheets(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"Cover": COVER, "Data": SHEET_2024})
    with pytest.raises(DataError) as info:
        read_transactions(path, SIMPLE)
    message = str(info.value)
    assert "first sheet ('Cover') does not hold the mapped columns" in message
    assert "'Cover', 'Data'" in message
    assert "data.excel.sheet: 'Data'" in message


def test_unknown_sheet_name_and_position(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"Orders": SHEET_2024, "Notes": COVER})
    with pytest.raises(DataError, match="no sheet 'Order'; did you mean 'Orders'"):
        read_transactions(path, SIMPLE, excel=ExcelOptions(sheet="Order"))
    with pytest.raises(DataError, match=r"5 is not a sheet position.*'Orders', 'Notes'"):
        read_transactions(path, SIMPLE, excel=ExcelOptions(sheet=5))


def test_chosen_sheet_without_the_columns_names_the_sheet(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"Orders": SHEET_2024, "Notes": COVER})
    with pytest.raises(DataError, match="sheet 'Notes': column"):
        read_transactions(path, SIMPLE, excel=ExcelOptions(sheet="Notes"))


def test_excel_sheet_from_client_config(tmp_path):
    workbook(tmp_path / "orders.xlsx", {"Cover": COVER, "Data": SHEET_2024})
    config = ClientConfig.model_validate(
        {
            "name": "X",
            "data": {
                "sources": "orders.xlsx",
                "excel": {"sheet": "Data"},
                "columns": {"customer_id": "klant", "date": "datum", "amount": "bedrag"},
            },
        }
    )
    with load_transactions(config, tmp_path) as tx:
        assert tx.quality.rows_read == 2


def test_excel_and_outlier_options_are_validated():
    with pytest.raises(ValidationError):
        ExcelOptions(sheet=-1)
    with pytest.raises(ValidationError):
        DataPolicies(outliers="drop")


# --- the DataQuality interface --------------------------------------------------------------


def test_flag_lines_and_to_dict():
    q = DataQuality(
        10,
        10,
        (("duplicate", 0),),
        0,
        5,
        2,
        warnings=("no_repeat_customers",),
        flagged=(("outlier", 2), ("possible_duplicate", 1)),
    )
    assert q.flag_lines[0].startswith("2 outlier: ")
    assert len(q.warning_lines) == 3
    assert q.to_dict()["flagged"] == {"outlier": 2, "possible_duplicate": 1}


def test_every_flag_code_has_a_message_and_translation():
    import yaml

    i18n = Path(__file__).parents[1] / "clvreport" / "i18n"
    for language in ("nl", "en"):
        texts = yaml.safe_load((i18n / f"{language}.yml").read_text(encoding="utf-8"))
        quality = texts["data_quality"]
        assert set(FLAG_MESSAGES) <= set(quality["flags"]), language
        for code in ("future_date", "outlier", "return_only_customer"):
            assert code in quality["reasons"], (language, code)


def test_all_rows_in_the_future_is_a_clear_error(tmp_path):
    path = write(tmp_path / "a.csv", ["A,2099-01-01,10", "B,2099-01-02,20"])
    with pytest.raises(DataError, match="none of the 2 rows can be used \\(2 future date\\)"):
        read_transactions(path, SIMPLE)


# --- the demo export with hostile rows --------------------------------------------------------


def test_demo_with_implausible_rows_keeps_its_customers_and_date(tmp_path):
    import shutil

    from clvreport.config import load_client

    demo_dir, config = load_client("demo", Path(__file__).parents[1] / "data")
    text = (demo_dir / "transactions.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    # Every id of customer 100003's rows written as a float, a row in 2099, an amount of 1e12.
    lines = [line.replace(";100003;", ";100003.0;", 1) for line in lines]
    lines += [
        "999998;100003;31-12-2099;10,00;webshop;NL;afgerond",
        "999999;100004;01-06-2024;1000000000000,00;webshop;NL;afgerond",
    ]
    (tmp_path / "transactions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(demo_dir / "client.yml", tmp_path / "client.yml")
    shutil.copy(demo_dir / "campagne.csv", tmp_path / "campagne.csv")
    with load_transactions(config, demo_dir) as original:
        unchanged = original.quality
    with load_transactions(config, tmp_path) as tx:
        q = tx.quality
        # the same customers as the untouched demo (those who returned everything left out)
        assert q.customers == unchanged.customers
        assert (
            flags(tx)["fully_returned_customer"]
            == dict(unchanged.flagged)["fully_returned_customer"]
        )
        assert tx.as_of == dt.date(2024, 12, 31)
        assert excluded(tx)["future_date"] == 1
        assert flags(tx)["outlier"] == 1
        assert flags(tx)["float_customer_id"] >= 1
        assert balanced(tx)
